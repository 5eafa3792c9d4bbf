"""Tabular critics trained on a transition buffer: plain Q, the RAVL min-ensemble, a MOPO-style penalty.

Synchronous updates over the *stored* transitions only (``docs/papers/edge_of_reach.md``, "pitfalls":
never over all states, or the edge-of-reach effect cannot be seen). With ``N`` critics ``Q_j`` and the
buffer's empirical ``(r, s')`` per pair ``(s, a)``, one sweep is

    y(s, a)   = mean_buffer[ r - u(s, a) + gamma V(s') ],
    V(s')     = min_j Q_j(s', a'),  a' = argmax_a min_j Q_j(s', a)   (greedy; or E_{a' ~ pi} with a given pi),
    Q_j(s, a) <- (1 - lr) Q_j(s, a) + lr y(s, a)          for every pair in the buffer,

i.e. RAVL's tabular counterpart (Sims et al. 2024, arXiv 2402.12527; target ``min_j Qbar_j(s', a')``,
actor maximising ``min_j Q_j``; official code ``agent_training/agent.py``), ``N = 1`` being plain
Q-iteration and ``u`` a MOPO-style reward penalty (Yu et al. 2020, *MOPO*, Eq. 9: ``r - lambda u``).
Pairs outside the buffer keep their values: on edge-of-reach states, their initialisation.

:func:`min_normal_mean` is the exact mean of the minimum of ``N`` i.i.d. normals (order statistic,
numerical integration), the pessimism an i.i.d.-initialised ensemble has at a never-updated state.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._common import result
from mdp._validation import as_float_array, check_gamma, check_policy, check_positive_int, check_real

__all__ = [
    "BufferQResult",
    "buffer_q_iteration",
    "reference_buffer_q_iteration",
    "min_normal_mean",
    "reference_min_normal_mean",
    "mopo_penalty",
]


@result
class BufferQResult:
    """Result of :func:`buffer_q_iteration`.

    Attributes
    ----------
    q : ndarray, shape (N, S, A)
        The critics after the sweeps.
    q_min : ndarray, shape (S, A)
        ``min_j q[j]``.
    pi : ndarray of int64, shape (S,)
        Greedy policy of ``q_min``.
    updated : ndarray of bool, shape (S, A)
        Pairs present in the buffer (the only ones changed).
    n_iter : int
        Sweeps done.
    residuals : ndarray, shape (n_iter,)
        ``max |Q_new - Q_old|`` per sweep.
    """

    q: np.ndarray
    q_min: np.ndarray
    pi: np.ndarray
    updated: np.ndarray
    n_iter: int
    residuals: np.ndarray


def _aggregate(data, S, A, penalty):
    """Pairs of the buffer in CSR form: ``pairs (P,)``, ``rbar (P,)``, ``indptr``, ``nxt``, ``w``."""
    pid = data.states * A + data.actions
    order = np.argsort(pid, kind="stable")
    pid_s = pid[order]
    pairs, start, counts = np.unique(pid_s, return_index=True, return_counts=True)
    r = data.rewards[order]
    if penalty is not None:
        r = r - penalty.reshape(-1)[pid_s]
    rbar = np.add.reduceat(r, start) / counts
    indptr = np.append(start, len(pid_s)).astype(np.int64)
    nxt = np.ascontiguousarray(data.next_states[order], dtype=np.int64)
    w = 1.0 / np.repeat(counts, counts).astype(np.float64)
    return pairs.astype(np.int64), rbar, indptr, nxt, w


@njit(cache=True)
def _sweeps(q, pairs, rbar, indptr, nxt, w, gamma, lr, pi, use_pi, n_sweeps, residuals):
    N, S, A = q.shape
    V = np.empty(S)
    y = np.empty(pairs.shape[0])
    for it in range(n_sweeps):
        for s in range(S):
            best = -np.inf
            acc = 0.0
            for a in range(A):
                m = q[0, s, a]
                for j in range(1, N):
                    m = min(m, q[j, s, a])
                if use_pi:
                    acc += pi[s, a] * m
                elif m > best:
                    best = m
            V[s] = acc if use_pi else best
        for p in range(pairs.shape[0]):
            t = 0.0
            for i in range(indptr[p], indptr[p + 1]):
                t += w[i] * V[nxt[i]]
            y[p] = rbar[p] + gamma * t
        diff = 0.0
        for p in range(pairs.shape[0]):
            s = pairs[p] // A
            a = pairs[p] % A
            for j in range(N):
                new = (1.0 - lr) * q[j, s, a] + lr * y[p]
                diff = max(diff, abs(new - q[j, s, a]))
                q[j, s, a] = new
        residuals[it] = diff


def _check_inputs(data, q0, gamma, penalty, pi):
    from mdp.offline.data import Transitions

    if not isinstance(data, Transitions):
        raise TypeError(f"data must be Transitions, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data is empty: there is nothing to update the critics on")
    S, A = data.n_states, data.n_actions
    q = as_float_array(q0, "q0").copy()
    if q.ndim == 2:
        q = q[None]
    if q.ndim != 3 or q.shape[1:] != (S, A) or q.shape[0] < 1:
        raise ValueError(f"q0 must have shape (N, {S}, {A}) or ({S}, {A}), got {np.shape(q0)}")
    gamma = check_gamma(gamma)
    if penalty is not None:
        penalty = as_float_array(penalty, "penalty")
        if penalty.shape != (S, A):
            raise ValueError(f"penalty must have shape ({S}, {A}), got {penalty.shape}")
    if pi is not None:
        pi = check_policy(pi, S, A)
        if pi.ndim == 1:
            pi = np.eye(A)[pi]
    return q, gamma, penalty, pi


def buffer_q_iteration(
    data, q0, gamma, *, n_sweeps: int = 200, lr: float = 1.0, penalty=None, pi=None
) -> BufferQResult:
    """Synchronous critic updates on the buffer's transitions (module docstring).

    Parameters
    ----------
    data : Transitions
        The (mixed) buffer.
    q0 : array_like, shape (N, S, A) or (S, A)
        Initial critics (``N`` ensemble members; ``(S, A)`` is one critic).
    gamma : float
    n_sweeps : int, default 200
    lr : float in (0, 1], default 1
        Step of each synchronous update (1: replace by the target).
    penalty : array_like, shape (S, A), optional
        Reward penalty ``u`` (MOPO-style; :func:`mopo_penalty`).
    pi : array_like, optional
        Evaluate this policy (targets ``E_{a' ~ pi} min_j Q_j(s', a')``) instead of the greedy one.

    Returns
    -------
    BufferQResult
    """
    q, gamma, penalty, pi = _check_inputs(data, q0, gamma, penalty, pi)
    n_sweeps = check_positive_int(n_sweeps, "n_sweeps")
    lr = check_real(lr, "lr", "(0, 1]")
    S, A = data.n_states, data.n_actions
    pairs, rbar, indptr, nxt, w = _aggregate(data, S, A, penalty)
    residuals = np.empty(n_sweeps)
    use_pi = pi is not None
    pim = pi if use_pi else np.zeros((S, A))
    _sweeps(q, pairs, rbar, indptr, nxt, w, gamma, lr, pim, use_pi, n_sweeps, residuals)
    updated = np.zeros(S * A, dtype=bool)
    updated[pairs] = True
    q_min = q.min(axis=0)
    return BufferQResult(
        q=q,
        q_min=q_min,
        pi=np.argmax(q_min, axis=1).astype(np.int64),
        updated=updated.reshape(S, A),
        n_iter=n_sweeps,
        residuals=residuals,
    )


def reference_buffer_q_iteration(data, q0, gamma, n_sweeps, lr=1.0, penalty=None, pi=None):
    """Plain numpy twin (transition by transition); returns the critics ``(N, S, A)``."""
    q = np.array(q0, dtype=np.float64)
    if q.ndim == 2:
        q = q[None]
    S, A = data.n_states, data.n_actions
    pen = np.zeros((S, A)) if penalty is None else np.asarray(penalty, dtype=np.float64)
    pairs = sorted(set(zip(data.states.tolist(), data.actions.tolist())))
    for _ in range(n_sweeps):
        qm = q.min(axis=0)
        V = qm.max(axis=1) if pi is None else (np.asarray(pi) * qm).sum(axis=1)
        tot = {p: [0.0, 0] for p in pairs}
        for s, a, r, s2 in zip(data.states, data.actions, data.rewards, data.next_states):
            tot[(s, a)][0] += r - pen[s, a] + gamma * V[s2]
            tot[(s, a)][1] += 1
        for (s, a), (acc, c) in tot.items():
            q[:, s, a] = (1 - lr) * q[:, s, a] + lr * acc / c
    return q


def min_normal_mean(n: int, *, mu: float = 0.0, sigma: float = 1.0) -> float:
    """Exact ``E[min(X_1, ..., X_n)]`` for i.i.d. ``X_i ~ N(mu, sigma^2)``.

    ``E[min] = mu + sigma int x n phi(x) (1 - Phi(x))^{n-1} dx`` (density of the smallest order
    statistic; David & Nagaraja 2003, *Order Statistics*, Eq. 2.1.5), integrated with
    :func:`scipy.integrate.quad` to ~1e-12. For ``n = 2`` it is ``mu - sigma / sqrt(pi)``. The
    asymptotic ``mu - sigma sqrt(2 ln n)`` is far off at small ``n`` (``-2.15`` against ``-1.539`` at
    ``n = 10``).
    """
    from scipy.integrate import quad
    from scipy.stats import norm

    n = check_positive_int(n, "n")
    mu = check_real(mu, "mu")
    sigma = check_real(sigma, "sigma", "[0, inf)")
    val, _ = quad(lambda x: x * n * norm.pdf(x) * norm.sf(x) ** (n - 1), -np.inf, np.inf, epsabs=1e-13, epsrel=1e-12)
    return mu + sigma * val


def reference_min_normal_mean(n: int) -> float:
    """Twin of :func:`min_normal_mean` for ``N(0, 1)``, by the tail formula
    ``E[min] = int_0^inf P(min > x) dx - int_0^inf P(min < -x) dx`` with
    ``P(min > x) = (1 - Phi(x))^n``, trapezoid rule on ``[0, 12]``."""
    from scipy.stats import norm

    x = np.linspace(0.0, 12.0, 200_001)
    above = norm.sf(x) ** n  # P(min > x), x >= 0
    below = 1.0 - norm.sf(-x) ** n  # P(min < -x)
    return float(np.trapezoid(above, x) - np.trapezoid(below, x))


def mopo_penalty(models, *, lam: float = 1.0) -> np.ndarray:
    """MOPO-style uncertainty penalty of a model ensemble: ``lam max_j ||P_j(s, a) - Pbar(s, a)||_1``
    (the tabular analogue of MOPO's ``max_j ||Sigma_j(s, a)||``; reconstruction). Zero when every
    member is the true model. Returns ``(S, A)``."""
    from mdp.model import TabularMDP

    models = list(models)
    if not models or not all(isinstance(x, TabularMDP) for x in models):
        raise TypeError("models must be a non-empty sequence of TabularMDP")
    lam = check_real(lam, "lam", "[0, inf)")
    Ps = np.stack([x.dense_P() for x in models])
    if any(x.R.shape != models[0].R.shape for x in models):
        raise ValueError("all models must have the same number of states and actions")
    dev = np.abs(Ps - Ps.mean(axis=0)).sum(axis=3).max(axis=0)
    return lam * dev
