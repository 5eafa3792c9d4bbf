"""Maximum likelihood over finite POMDP classes: single-task, joint multi-task (factored) and per-task.

Project page ``docs/papers/multitask_psr.md`` (UMT-PSR, Huang et al., ICLR 2024, arXiv 2310.13550).

**Factored classes** (the notes' MT2 example, "shared emission, task-specific transitions"): ``M_O``
candidate emission matrices ``E_i``, ``M_T`` candidate transition arrays ``T_j``, a known start
distribution. A single task's class is ``P_n = {(E_i, T_j)}`` (``M_O M_T`` members); the joint class of
``N`` tasks shares the emission, ``P_joint = {(E_i, T_{j_1}, ..., T_{j_N})}``, ``M_O M_T^N`` members
against ``(M_O M_T)^N`` for the product of single-task classes.

**Joint MLE** maximises ``sum_n L_n(i, j_n)`` over ``P_joint``, ``L_n(i, j)`` the log-likelihood of task
``n``'s data under ``(E_i, T_j)`` (:func:`likelihood_table`, the forward kernel). Given ``i`` the tasks
decouple, so the maximiser is found by *profiling*:

    i_hat = argmax_i sum_n max_j L_n(i, j),    j_hat_n = argmax_j L_n(i_hat, j),

``O(N M_O M_T)`` work (:func:`joint_mle`, numba) instead of the ``O(N M_O M_T^N)`` of enumerating the
joint class (:func:`reference_joint_mle`, the brute-force twin). **Per-task MLE** maximises each
``L_n`` over its own ``M_O M_T`` pairs (:func:`per_task_mle`). Ties go to the smallest index in both.

**Finite-class MLE guarantee** (claim MT1; derived here from the standard argument, e.g. Zhang 2006,
Geer 2000): for a realisable finite class ``Theta`` and ``n`` i.i.d. trajectories from a fixed policy,
Markov's inequality on ``E exp((1/2) sum log(P_theta / P*)) = BC(theta)^n`` (``BC`` the Bhattacharyya
coefficient) and a union bound give, with probability ``>= 1 - delta``, for the MLE
``BC(theta_hat) >= (delta / |Theta|)^(1/n)``; with ``TV <= sqrt(1 - BC^2)``,

    TV(P_theta_hat, P*)^2 <= 1 - (delta / |Theta|)^(2/n) <= 2 log(|Theta| / delta) / n,

the right-hand side being the notes' form (:func:`mle_tv_bound` returns both).

**Optimistic exploration** (claim MT4): :func:`optimistic_sequence` returns the open-loop action
sequence on which two members of a confidence set disagree most in TV, the notes' rule
``argmax_pi max_{theta, theta'} TV(P_theta^pi, P_theta'^pi)`` restricted to open-loop policies (TV is
linear in the mixture over sequences, so a point mass attains the maximum).
"""

from __future__ import annotations

import itertools

import numpy as np
from numba import njit

from mdp._common import result
from mdp._validation import as_float_array, check_open_unit, check_positive_int, check_real
from mdp.pomdp.model import (
    POMDP,
    ModelClass,
    _check_stochastic,
    _validate_parts,
    action_sequences,
    check_trajectories,
    log_likelihoods,
    tv_per_sequence,
)

__all__ = [
    "FactoredClass",
    "JointMLEResult",
    "MLEResult",
    "OptimisticResult",
    "likelihood_table",
    "joint_mle",
    "reference_joint_mle",
    "per_task_mle",
    "mle",
    "confidence_set",
    "mle_tv_bound",
    "optimistic_sequence",
    "joint_class_size",
    "enumerate_joint_class",
]


class FactoredClass:
    """Shared-emission, task-specific-transition model class (module docstring).

    Parameters
    ----------
    emissions : array_like, shape (M_O, S, O)
        Candidate emission matrices (rows stochastic).
    transitions : array_like, shape (M_T, A, S, S)
        Candidate transition arrays (rows stochastic).
    rho0 : array_like, shape (S,)
        Known start distribution.
    horizon : int

    Attributes
    ----------
    emissions : ndarray, shape (M_O, S, O)
    transitions : ndarray, shape (M_T, A, S, S)
    rho0 : ndarray, shape (S,)
    horizon : int
    n_emissions, n_transitions : int
        ``M_O``, ``M_T``.
    """

    def __init__(self, emissions, transitions, rho0, horizon):
        Es = as_float_array(emissions, "emissions", ndim=3)
        Ts = as_float_array(transitions, "transitions", ndim=4)
        if Es.shape[0] == 0:
            raise ValueError("emissions is an empty class (M_O = 0); a factored class needs at least one emission")
        if Ts.shape[0] == 0:
            raise ValueError("transitions is an empty class (M_T = 0); a factored class needs at least one transition")
        if Ts.shape[2] != Ts.shape[3] or Es.shape[1] != Ts.shape[2]:
            raise ValueError(
                f"emissions (M_O, S, O) and transitions (M_T, A, S, S) must share S, got {Es.shape} and {Ts.shape}"
            )
        _check_stochastic(Es, "emissions", "rows emissions[i, s, :]")
        _check_stochastic(Ts, "transitions", "rows transitions[j, a, s, :]")
        _validate_parts(Ts[0], Es[0], rho0, horizon)
        self.emissions = Es
        self.transitions = Ts
        self.rho0 = as_float_array(rho0, "rho0", ndim=1)
        self.horizon = int(horizon)
        for arr in (self.emissions, self.transitions, self.rho0):
            arr.setflags(write=False)

    @property
    def n_emissions(self) -> int:
        """``M_O``."""
        return self.emissions.shape[0]

    @property
    def n_transitions(self) -> int:
        """``M_T``."""
        return self.transitions.shape[0]

    def model(self, i: int, j: int) -> POMDP:
        """The member ``(E_i, T_j)``."""
        return POMDP(self.transitions[j], self.emissions[i], self.rho0, self.horizon)

    def members(self) -> ModelClass:
        """All ``M_O M_T`` pairs as a :class:`ModelClass` (member ``i M_T + j`` is ``(E_i, T_j)``)."""
        return ModelClass([self.model(i, j) for i in range(self.n_emissions) for j in range(self.n_transitions)])

    def __repr__(self) -> str:
        return f"FactoredClass(M_O={self.n_emissions}, M_T={self.n_transitions}, H={self.horizon})"


@result
class JointMLEResult:
    """A multi-task maximum-likelihood estimate in a factored class.

    Attributes
    ----------
    emissions : ndarray, shape (N,)
        Emission index of each task's estimate (all equal for the joint MLE).
    transitions : ndarray, shape (N,)
        Transition index of each task's estimate.
    loglik : float
        Total log-likelihood of all tasks' data at the estimate.
    n_evaluated : int
        Candidate combinations scored (profiling: ``M_O``; brute force: ``M_O M_T^N``; per task: ``N M_O M_T``).
    """

    emissions: np.ndarray
    transitions: np.ndarray
    loglik: float
    n_evaluated: int


@result
class MLEResult:
    """Maximum likelihood over a finite class.

    Attributes
    ----------
    index : int
        The maximiser (smallest index among ties).
    loglik : ndarray, shape (K,)
        Total log-likelihood of the data under every member.
    """

    index: int
    loglik: np.ndarray


@result
class OptimisticResult:
    """The most informative open-loop action sequence for a set of models.

    Attributes
    ----------
    sequence : int
        Row-major index of the chosen action sequence.
    actions : ndarray, shape (H,)
    tv : ndarray, shape (A^H,)
        ``max_{theta, theta'} TV(P_theta(. || a), P_theta'(. || a))`` for every sequence ``a``.
    pair : tuple of int
        The two members that attain the maximum on the chosen sequence.
    """

    sequence: int
    actions: np.ndarray
    tv: np.ndarray
    pair: tuple


def _require_factored(fclass):
    if not isinstance(fclass, FactoredClass):
        raise TypeError(f"fclass must be an mdp.pomdp.FactoredClass, got {type(fclass).__name__}")
    return fclass


def likelihood_table(fclass, data) -> np.ndarray:
    """``L[n, i, j]``: log-likelihood of task ``n``'s data under ``(E_i, T_j)`` (forward kernel).

    Parameters
    ----------
    fclass : FactoredClass
    data : sequence of (obs, acts)
        One batch per task (``obs`` ``(n_t, H + 1)``, ``acts`` ``(n_t, H)``; sizes may differ).

    Returns
    -------
    ndarray, shape (N, M_O, M_T)
    """
    fclass = _require_factored(fclass)
    if isinstance(data, tuple) and len(data) == 2 and np.asarray(data[0]).ndim == 2:
        raise TypeError("data must be a sequence of (obs, acts) batches, one per task; wrap a single task in a list")
    if not hasattr(data, "__len__") or len(data) == 0:
        raise ValueError("data must hold at least one task's (obs, acts) batch")
    mc = fclass.members()
    M_O, M_T = fclass.n_emissions, fclass.n_transitions
    out = np.empty((len(data), M_O, M_T))
    for n, batch in enumerate(data):
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"data[{n}] must be a pair (obs, acts)")
        obs, acts = check_trajectories(batch[0], batch[1], fclass.emissions.shape[2], fclass.transitions.shape[1])
        if acts.shape[1] != fclass.horizon:
            raise ValueError(f"data[{n}] must hold whole episodes of H = {fclass.horizon} actions, got {acts.shape[1]}")
        ll = log_likelihoods(mc, obs, acts)
        out[n] = ll.sum(axis=1).reshape(M_O, M_T)
    return out


def _check_table(table):
    L = np.asarray(table, dtype=np.float64) if not isinstance(table, (str, bytes)) else None
    if L is None or L.ndim != 3:
        raise ValueError("table must be a log-likelihood table of shape (N, M_O, M_T)")
    if 0 in L.shape:
        raise ValueError(f"table describes an empty class or no task, shape {L.shape}")
    if np.any(np.isnan(L)) or np.any(L == np.inf):
        raise ValueError("table must hold log-likelihoods (finite or -inf)")
    return np.ascontiguousarray(L)


@njit(cache=True)
def _profile_kernel(L, j_best):
    N, M_O, M_T = L.shape
    best_i = 0
    best = -np.inf
    for i in range(M_O):
        tot = 0.0
        for n in range(N):
            m = L[n, i, 0]
            for j in range(1, M_T):
                if L[n, i, j] > m:
                    m = L[n, i, j]
            tot += m
        if i == 0 or tot > best:
            best = tot
            best_i = i
    for n in range(N):
        jb = 0
        for j in range(1, M_T):
            if L[n, best_i, j] > L[n, best_i, jb]:
                jb = j
        j_best[n] = jb
    return best_i, best


def joint_mle(table) -> JointMLEResult:
    """Joint MLE over ``P_joint`` (shared emission) by profiling (module docstring; numba).

    Parameters
    ----------
    table : array_like, shape (N, M_O, M_T)
        :func:`likelihood_table`'s output.

    Returns
    -------
    JointMLEResult
    """
    L = _check_table(table)
    N, M_O, _ = L.shape
    j = np.empty(N, dtype=np.int64)
    i, best = _profile_kernel(L, j)
    return JointMLEResult(emissions=np.full(N, i, dtype=np.int64), transitions=j, loglik=float(best), n_evaluated=M_O)


def reference_joint_mle(table) -> JointMLEResult:
    """Joint MLE by enumerating all ``M_O M_T^N`` members of ``P_joint`` (brute force, numpy).

    Members are scored in lexicographic order of ``(i, j_1, ..., j_N)``; the first maximiser wins.
    """
    L = _check_table(table)
    N, M_O, M_T = L.shape
    best, arg = -np.inf, None
    tasks = np.arange(N)
    chunk = max(1, 2_000_000 // max(N, 1))
    for i in range(M_O):
        it = itertools.product(range(M_T), repeat=N)
        while True:
            js = np.array(list(itertools.islice(it, chunk)), dtype=np.int64).reshape(-1, N)
            if js.shape[0] == 0:
                break
            s = L[tasks[None, :], i, js].sum(axis=1)
            k = int(np.argmax(s))
            if arg is None or s[k] > best:
                best, arg = float(s[k]), (i, js[k].copy())
    return JointMLEResult(
        emissions=np.full(N, arg[0], dtype=np.int64), transitions=arg[1], loglik=best, n_evaluated=M_O * M_T**N
    )


def per_task_mle(table) -> JointMLEResult:
    """Separate MLE per task over its own ``M_O M_T`` pairs (the single-task baseline)."""
    L = _check_table(table)
    N, M_O, M_T = L.shape
    flat = L.reshape(N, -1)
    k = np.argmax(flat, axis=1)
    return JointMLEResult(
        emissions=(k // M_T).astype(np.int64),
        transitions=(k % M_T).astype(np.int64),
        loglik=float(flat[np.arange(N), k].sum()),
        n_evaluated=N * M_O * M_T,
    )


def mle(models, obs, acts) -> MLEResult:
    """Maximum likelihood over a finite class (``ModelClass``) from trajectories (forward kernel)."""
    if not isinstance(models, ModelClass):
        raise TypeError(f"models must be an mdp.pomdp.ModelClass, got {type(models).__name__}")
    ll = log_likelihoods(models, obs, acts).sum(axis=1)
    return MLEResult(index=int(np.argmax(ll)), loglik=ll)


def confidence_set(loglik, beta) -> np.ndarray:
    """Indices of ``{k : loglik[k] >= max loglik - beta}`` (the UMT-PSR confidence set)."""
    ll = np.asarray(loglik, dtype=np.float64)
    if ll.ndim != 1 or ll.size == 0:
        raise ValueError("loglik must be a non-empty vector (one total log-likelihood per member)")
    beta = check_real(beta, "beta", "[0, inf)")
    return np.flatnonzero(ll >= ll.max() - beta)


def mle_tv_bound(n_models, n_samples, delta) -> tuple:
    """``(sqrt(1 - (delta/K)^(2/n)), sqrt(2 log(K/delta)/n))``: MT1's derived and the notes' TV bounds."""
    K = check_positive_int(n_models, "n_models")
    n = check_positive_int(n_samples, "n_samples")
    d = check_open_unit(delta, "delta")
    return float(np.sqrt(-np.expm1(2.0 * np.log(d / K) / n))), float(np.sqrt(2.0 * np.log(K / d) / n))


def optimistic_sequence(models) -> OptimisticResult:
    """The open-loop action sequence on which two members of ``models`` disagree most (module docstring)."""
    if isinstance(models, ModelClass):
        models = [models[k] for k in range(models.size)]
    if not hasattr(models, "__len__") or len(models) == 0:
        raise ValueError("models is an empty confidence set; optimistic exploration needs at least one model")
    for k, m in enumerate(models):
        if not isinstance(m, POMDP):
            raise TypeError(f"models[{k}] must be an mdp.pomdp.POMDP, got {type(m).__name__}")
    A, H = models[0].n_actions, models[0].horizon
    best = np.zeros(A**H)
    who = np.zeros((A**H, 2), dtype=np.int64)
    for a in range(len(models)):
        for b in range(a + 1, len(models)):
            tv = tv_per_sequence(models[a], models[b])
            upd = tv > best
            best[upd] = tv[upd]
            who[upd] = (a, b)
    s = int(np.argmax(best))
    return OptimisticResult(
        sequence=s,
        actions=action_sequences(A, H)[s],
        tv=best,
        pair=(int(who[s, 0]), int(who[s, 1])),
    )


def joint_class_size(n_emissions, n_transitions, n_tasks) -> dict:
    """Sizes and log-sizes of ``P_joint`` and of the product of single-task classes (MT2)."""
    M_O = check_positive_int(n_emissions, "n_emissions")
    M_T = check_positive_int(n_transitions, "n_transitions")
    N = check_positive_int(n_tasks, "n_tasks")
    log_joint = np.log(M_O) + N * np.log(M_T)
    log_prod = N * (np.log(M_O) + np.log(M_T))
    return {
        "joint": M_O * M_T**N,
        "product": (M_O * M_T) ** N,
        "log_joint": float(log_joint),
        "log_product": float(log_prod),
        "per_task_ratio": float(log_joint / log_prod) if log_prod > 0 else 1.0,
    }


def enumerate_joint_class(fclass, n_tasks) -> np.ndarray:
    """All members ``(i, j_1, ..., j_N)`` of ``P_joint``: ``(M_O M_T^N, N + 1)`` int64 (refuses > 1e6)."""
    fclass = _require_factored(fclass)
    N = check_positive_int(n_tasks, "n_tasks")
    M_O, M_T = fclass.n_emissions, fclass.n_transitions
    if M_O * M_T**N > 1_000_000:
        raise ValueError(f"P_joint has {M_O * M_T**N} members (limit 1e6 to enumerate)")
    return np.ascontiguousarray(np.indices((M_O,) + (M_T,) * N).reshape(N + 1, -1).T, dtype=np.int64)
