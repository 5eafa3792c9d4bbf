"""Small finite-horizon POMDPs, exact trajectory probabilities and the forward-algorithm likelihood.

Project page ``docs/papers/multitask_psr.md`` (UMT-PSR, Huang, Cheng, Yang, Tan & Liang, ICLR 2024,
arXiv 2310.13550). A :class:`POMDP` has ``S`` hidden states, ``A`` actions, ``O`` observations, a
stationary transition array ``T[a, s, s']``, an emission matrix ``E[s, o]``, a start distribution
``rho0`` and a horizon ``H`` (the number of actions). An episode is

    tau = (o_0, a_1, o_1, a_2, ..., a_H, o_H),   s_0 ~ rho0,  o_h ~ E[s_h],  s_h ~ T[a_h, s_{h-1}],

so it has ``H + 1`` observations and ``H`` actions, and there are ``A^H`` open-loop action sequences
(the notes' count ``|A|^H``). Its probability with the actions "intervened" (the policy's own factor
removed, the quantity a model assigns; notes, Definitions) is given by the forward algorithm

    alpha_0(s) = rho0(s) E[s, o_0],   alpha_h(s') = sum_s alpha_{h-1}(s) T[a_h, s, s'] E[s', o_h],
    P(o_{0:H} || a_{1:H}) = sum_s alpha_H(s),

run here in scaled form (each ``alpha_h`` normalised, the logs of the normalisers summed), which is
what keeps whole-trajectory log-likelihoods free of underflow (notes, pitfalls).
:func:`log_likelihoods` is the numba kernel, over many models and trajectories at once;
:func:`reference_log_likelihoods` its plain-numpy twin.

Index conventions used throughout ``mdp.pomdp``: an action sequence ``(a_1, ..., a_H)`` has the
row-major index ``sum_h a_h A^(H-h)``; an observation sequence ``(o_0, ..., o_H)`` likewise in base ``O``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._validation import as_float_array, check_positive_int, check_rng

__all__ = [
    "POMDP",
    "ModelClass",
    "random_pomdp",
    "check_trajectories",
    "check_sequence_policy",
    "sample_trajectories",
    "log_likelihoods",
    "reference_log_likelihoods",
    "trajectory_probabilities",
    "tv_per_sequence",
    "tv_distance",
    "action_sequences",
]

_ROW_TOL = 1e-9
_MAX_TABLE = 5_000_000


def _check_stochastic(arr, name, axis_desc):
    if arr.size and arr.min() < 0:
        idx = tuple(int(i) for i in np.argwhere(arr < 0)[0])
        raise ValueError(f"{name} must be nonnegative (a stochastic array); {name}{list(idx)} = {arr[idx]}")
    sums = arr.sum(axis=-1)
    bad = np.abs(sums - 1.0) > _ROW_TOL
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name} must be stochastic ({axis_desc} sum to 1): {name}[{', '.join(map(str, idx))}, :] "
            f"sums to {sums[idx]!r}"
        )


def _validate_parts(T, E, rho0, horizon, prefix=""):
    T = as_float_array(T, f"{prefix}T", ndim=3)
    E = as_float_array(E, f"{prefix}E", ndim=2)
    rho0 = as_float_array(rho0, f"{prefix}rho0", ndim=1)
    A, S, S2 = T.shape
    if A < 1 or S < 1 or S2 != S:
        raise ValueError(f"{prefix}T must have shape (A, S, S) with A, S >= 1, got {T.shape}")
    if E.shape[0] != S or E.shape[1] < 1:
        raise ValueError(f"{prefix}E must have shape (S, O) = ({S}, O >= 1), got {E.shape}")
    if rho0.shape != (S,):
        raise ValueError(f"{prefix}rho0 must have shape ({S},), got {rho0.shape}")
    _check_stochastic(T, f"{prefix}T", "rows T[a, s, :]")
    _check_stochastic(E, f"{prefix}E", "rows E[s, :]")
    if rho0.min() < 0 or abs(rho0.sum() - 1.0) > _ROW_TOL:
        raise ValueError(
            f"{prefix}rho0 must be stochastic (a probability vector: nonnegative, sum 1), got sum {rho0.sum()!r} "
            f"and minimum {rho0.min()!r}"
        )
    H = check_positive_int(horizon, "horizon")
    return T, E, rho0, H


class POMDP:
    """A finite-horizon POMDP ``(T, E, rho0, H)`` (module docstring).

    Parameters
    ----------
    T : array_like, shape (A, S, S)
        ``T[a, s, s']``: probability of moving from ``s`` to ``s'`` under ``a``. Rows must be
        nonnegative and sum to 1 (within 1e-9).
    E : array_like, shape (S, O)
        ``E[s, o]``: probability of observing ``o`` in state ``s`` (rows stochastic).
    rho0 : array_like, shape (S,)
        Start distribution.
    horizon : int
        ``H``, the number of actions per episode (``H + 1`` observations).

    Attributes
    ----------
    T : ndarray, shape (A, S, S)
    E : ndarray, shape (S, O)
    rho0 : ndarray, shape (S,)
    horizon, n_states, n_actions, n_obs : int
        ``H``, ``S``, ``A``, ``O``.
    """

    def __init__(self, T, E, rho0, horizon):
        T, E, rho0, H = _validate_parts(T, E, rho0, horizon)
        self.T, self.E, self.rho0 = T, E, rho0
        self._H = H
        for arr in (self.T, self.E, self.rho0):
            arr.setflags(write=False)

    @property
    def horizon(self) -> int:
        """``H``, actions per episode."""
        return self._H

    @property
    def n_states(self) -> int:
        """``S``, hidden states."""
        return self.T.shape[1]

    @property
    def n_actions(self) -> int:
        """``A``, actions."""
        return self.T.shape[0]

    @property
    def n_obs(self) -> int:
        """``O``, observations."""
        return self.E.shape[1]

    def __repr__(self) -> str:
        return f"POMDP(S={self.n_states}, A={self.n_actions}, O={self.n_obs}, H={self.horizon})"


class ModelClass:
    """A finite class of POMDPs with the same shapes, stacked (``K`` members).

    Parameters
    ----------
    models : sequence of POMDP
        At least one model; every member must share ``(S, A, O, H)``.

    Attributes
    ----------
    T : ndarray, shape (K, A, S, S)
    E : ndarray, shape (K, S, O)
    rho0 : ndarray, shape (K, S)
    horizon : int
    size : int
        ``K``.
    """

    def __init__(self, models):
        if isinstance(models, POMDP) or not hasattr(models, "__len__"):
            raise TypeError("models must be a sequence of mdp.pomdp.POMDP")
        models = list(models)
        if not models:
            raise ValueError("models is an empty model class (K = 0); a finite class needs at least one model")
        for k, m in enumerate(models):
            if not isinstance(m, POMDP):
                raise TypeError(f"models[{k}] must be an mdp.pomdp.POMDP, got {type(m).__name__}")
        shape = (models[0].n_states, models[0].n_actions, models[0].n_obs, models[0].horizon)
        for k, m in enumerate(models):
            if (m.n_states, m.n_actions, m.n_obs, m.horizon) != shape:
                raise ValueError(
                    f"models[{k}] has (S, A, O, H) = {m.n_states, m.n_actions, m.n_obs, m.horizon}, not {shape}"
                )
        self.T = np.ascontiguousarray(np.stack([m.T for m in models]))
        self.E = np.ascontiguousarray(np.stack([m.E for m in models]))
        self.rho0 = np.ascontiguousarray(np.stack([m.rho0 for m in models]))
        self.horizon = shape[3]
        for arr in (self.T, self.E, self.rho0):
            arr.setflags(write=False)

    @property
    def size(self) -> int:
        """``K``, the number of members."""
        return self.T.shape[0]

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, k) -> POMDP:
        return POMDP(self.T[k], self.E[k], self.rho0[k], self.horizon)

    def __repr__(self) -> str:
        K, A, S, _ = self.T.shape
        return f"ModelClass(K={K}, S={S}, A={A}, O={self.E.shape[2]}, H={self.horizon})"


def random_pomdp(S, A, O, H, *, rng, concentration: float = 1.0, start="uniform") -> POMDP:
    """Random POMDP: rows of ``T`` and ``E`` drawn from ``Dirichlet(concentration)``.

    ``start="uniform"`` (default) or ``"random"`` (``rho0 ~ Dirichlet(1)``).
    """
    S, A, O, H = (check_positive_int(x, n) for x, n in ((S, "S"), (A, "A"), (O, "O"), (H, "H")))
    rng = check_rng(rng)
    if not (isinstance(concentration, (int, float, np.floating)) and concentration > 0):
        raise ValueError(f"concentration must be > 0, got {concentration!r}")
    T = rng.dirichlet(np.full(S, float(concentration)), size=(A, S))
    E = rng.dirichlet(np.full(O, float(concentration)), size=S)
    if start == "uniform":
        rho0 = np.full(S, 1.0 / S)
    elif start == "random":
        rho0 = rng.dirichlet(np.ones(S))
    else:
        raise ValueError(f"start must be 'uniform' or 'random', got {start!r}")
    return POMDP(T / T.sum(-1, keepdims=True), E / E.sum(-1, keepdims=True), rho0 / rho0.sum(), H)


def _as_int(x, name, ndim):
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an integer array, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating) and arr.size:
        if not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
            raise TypeError(f"{name} must hold integers, got non-integral values")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_trajectories(obs, acts, n_obs: int, n_actions: int, horizon: int | None = None):
    """Validate a batch ``obs`` ``(n, L + 1)`` in ``[0, O)`` and ``acts`` ``(n, L)`` in ``[0, A)``.

    ``horizon`` (when given) requires ``L = H``. Returns int64 copies.
    """
    obs = _as_int(obs, "obs", 2)
    acts = _as_int(acts, "acts", 2)
    if obs.shape[1] < 1 or acts.shape != (obs.shape[0], obs.shape[1] - 1):
        raise ValueError(
            f"obs must have shape (n, L + 1) and acts (n, L) with L >= 0, got {obs.shape} and {acts.shape}"
        )
    if horizon is not None and acts.shape[1] != horizon:
        raise ValueError(f"trajectories must have H = {horizon} actions, got {acts.shape[1]}")
    if obs.size and (obs.min() < 0 or obs.max() >= n_obs):
        raise ValueError(f"obs must be observations in [0, {n_obs}), got values in [{obs.min()}, {obs.max()}]")
    if acts.size and (acts.min() < 0 or acts.max() >= n_actions):
        raise ValueError(f"acts must be actions in [0, {n_actions}), got values in [{acts.min()}, {acts.max()}]")
    return obs, acts


def action_sequences(A: int, H: int) -> np.ndarray:
    """All ``A^H`` open-loop action sequences, row-major: ``(A^H, H)`` int64."""
    A = check_positive_int(A, "A")
    H = check_positive_int(H, "H", minimum=0)
    if A**H > _MAX_TABLE:
        raise ValueError(f"A^H = {A**H} action sequences is too many to enumerate (limit {_MAX_TABLE})")
    if H == 0:
        return np.zeros((1, 0), dtype=np.int64)
    return np.ascontiguousarray(np.indices((A,) * H).reshape(H, -1).T, dtype=np.int64)


def check_sequence_policy(policy, A: int, H: int) -> np.ndarray:
    """A distribution over the ``A^H`` open-loop action sequences (``None``: uniform)."""
    n = A**H
    if policy is None:
        return np.full(n, 1.0 / n)
    p = as_float_array(policy, "policy", ndim=1)
    if p.shape != (n,):
        raise ValueError(f"policy must be a distribution over the A^H = {n} action sequences, got shape {p.shape}")
    if p.min() < 0 or abs(p.sum() - 1.0) > _ROW_TOL:
        raise ValueError(f"policy must be a probability vector (nonnegative, sum 1), sums to {p.sum()!r}")
    return p


def _require_pomdp(model, name="model"):
    if not isinstance(model, POMDP):
        raise TypeError(f"{name} must be an mdp.pomdp.POMDP, got {type(model).__name__}")
    return model


def sample_trajectories(model, n, *, rng, policy=None):
    """``n`` episodes of ``model`` under an open-loop policy: ``(obs (n, H + 1), acts (n, H))``.

    Parameters
    ----------
    model : POMDP
    n : int
        Number of episodes (>= 1).
    rng : numpy.random.Generator
    policy : array_like, shape (A^H,), optional
        Distribution over the open-loop action sequences (row-major index); default uniform, which
        is the same as uniformly random actions at every step.

    Returns
    -------
    obs : ndarray, shape (n, H + 1)
    acts : ndarray, shape (n, H)
    """
    model = _require_pomdp(model)
    n = check_positive_int(n, "n")
    rng = check_rng(rng)
    A, H = model.n_actions, model.horizon
    if policy is None:
        acts = rng.integers(0, A, size=(n, H))
    else:
        p = check_sequence_policy(policy, A, H)
        seq = np.minimum(np.searchsorted(np.cumsum(p), rng.random(n) * p.sum(), side="right"), p.size - 1)
        acts = action_sequences(A, H)[seq]
    S = model.n_states
    Tc = np.cumsum(model.T, axis=2).reshape(A * S, S)
    Ec = np.cumsum(model.E, axis=1)
    rc = np.cumsum(model.rho0)

    def draw(cdf_rows, u):
        return np.minimum((cdf_rows <= (u * cdf_rows[:, -1])[:, None]).sum(axis=1), cdf_rows.shape[1] - 1)

    obs = np.empty((n, H + 1), dtype=np.int64)
    s = np.minimum(np.searchsorted(rc, rng.random(n) * rc[-1], side="right"), S - 1)
    obs[:, 0] = draw(Ec[s], rng.random(n))
    for h in range(1, H + 1):
        s = draw(Tc[acts[:, h - 1] * S + s], rng.random(n))
        obs[:, h] = draw(Ec[s], rng.random(n))
    return obs, np.ascontiguousarray(acts, dtype=np.int64)


@njit(cache=True)
def _loglik_kernel(T, E, rho0, obs, acts, out):
    """``out[k, i] = log P_k(obs[i] || acts[i])`` by the scaled forward algorithm (-inf if 0)."""
    K = T.shape[0]
    S = rho0.shape[1]
    n, L1 = obs.shape
    alpha = np.empty(S)
    nxt = np.empty(S)
    for k in range(K):
        for i in range(n):
            o = obs[i, 0]
            c = 0.0
            for s in range(S):
                alpha[s] = rho0[k, s] * E[k, s, o]
                c += alpha[s]
            if c <= 0.0:
                out[k, i] = -np.inf
                continue
            ll = np.log(c)
            for s in range(S):
                alpha[s] /= c
            for h in range(1, L1):
                a = acts[i, h - 1]
                o = obs[i, h]
                c = 0.0
                for s2 in range(S):
                    acc = 0.0
                    for s in range(S):
                        acc += alpha[s] * T[k, a, s, s2]
                    nxt[s2] = acc * E[k, s2, o]
                    c += nxt[s2]
                if c <= 0.0:
                    ll = -np.inf
                    break
                ll += np.log(c)
                for s in range(S):
                    alpha[s] = nxt[s] / c
            out[k, i] = ll
    return out


def _class_arrays(models):
    if isinstance(models, POMDP):
        return models.T[None], models.E[None], models.rho0[None], models.horizon
    if isinstance(models, ModelClass):
        return models.T, models.E, models.rho0, models.horizon
    raise TypeError(f"models must be an mdp.pomdp.POMDP or ModelClass, got {type(models).__name__}")


def log_likelihoods(models, obs, acts) -> np.ndarray:
    """Exact log-likelihoods ``log P_k(o || a)`` of every trajectory under every model.

    The scaled forward algorithm (module docstring; Rabiner 1989, Sec. III.A, with actions), a numba
    kernel. Trajectories may be shorter than the horizon (prefixes: the probability of their
    observations).

    Parameters
    ----------
    models : POMDP or ModelClass
    obs : array_like, shape (n, L + 1)
    acts : array_like, shape (n, L)
        ``L <= H``.

    Returns
    -------
    ndarray, shape (K, n)
        ``-inf`` where a trajectory has probability 0 under a model.
    """
    T, E, rho0, H = _class_arrays(models)
    obs, acts = check_trajectories(obs, acts, E.shape[2], T.shape[1])
    if acts.shape[1] > H:
        raise ValueError(f"trajectories may have at most H = {H} actions, got {acts.shape[1]}")
    out = np.empty((T.shape[0], obs.shape[0]))
    return _loglik_kernel(T, E, rho0, obs, acts, out)


def reference_log_likelihoods(T, E, rho0, obs, acts) -> np.ndarray:
    """Plain-numpy twin of the forward kernel: ``T`` ``(K, A, S, S)``, ``E`` ``(K, S, O)``, ``rho0`` ``(K, S)``."""
    K = T.shape[0]
    out = np.empty((K, obs.shape[0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(K):
            alpha = rho0[k][None, :] * E[k][:, obs[:, 0]].T  # (n, S)
            c = alpha.sum(axis=1)
            ll = np.log(c)
            alpha = alpha / c[:, None]
            for h in range(1, obs.shape[1]):
                nxt = np.einsum("ns,nst->nt", alpha, T[k][acts[:, h - 1]]) * E[k][:, obs[:, h]].T
                c = nxt.sum(axis=1)
                ll = ll + np.log(c)
                alpha = nxt / c[:, None]
            out[k] = np.where(np.isnan(ll), -np.inf, ll)
    return out


def trajectory_probabilities(model) -> np.ndarray:
    """``P[a_seq, o_seq] = P(o_{0:H} || a_{1:H})`` for every action and observation sequence.

    Exact, by expanding the forward recursion over all sequences: shape ``(A^H, O^(H+1))``, each row
    a distribution (row-major indices, module docstring); for a :class:`ModelClass`, one table per
    member, ``(K, A^H, O^(H+1))``. Refuses tables above 5e6 entries per member.
    """
    if isinstance(model, ModelClass):
        T, E, rho0, H = model.T, model.E, model.rho0, model.horizon
    else:
        model = _require_pomdp(model)
        T, E, rho0, H = model.T[None], model.E[None], model.rho0[None], model.horizon
    K, A, S, _ = T.shape
    O = E.shape[2]
    if A**H * O ** (H + 1) * S > _MAX_TABLE:
        raise ValueError(f"the table would have A^H O^(H+1) S = {A**H * O ** (H + 1) * S} entries (limit {_MAX_TABLE})")
    alpha = (rho0[:, :, None] * E).transpose(0, 2, 1)[:, None, :, :]  # (K, 1 action seq, O obs seqs, S)
    for _ in range(H):
        # new[k, aq, a, oq, o, s'] = sum_s alpha[k, aq, oq, s] T[k, a, s, s'] E[k, s', o]
        nxt = np.einsum("kpqs,kast,kto->kpaqot", alpha, T, E)
        K_, P_, A_, Q_, O_, S_ = nxt.shape
        alpha = nxt.reshape(K_, P_ * A_, Q_ * O_, S_)
    out = alpha.sum(axis=3)
    return out if isinstance(model, ModelClass) else out[0]


def tv_per_sequence(model, other) -> np.ndarray:
    """``TV(P(. || a), P'(. || a))`` for each action sequence ``a``: ``(A^H,)`` (half L1)."""
    model = _require_pomdp(model)
    other = _require_pomdp(other, "other")
    shp = (model.n_states, model.n_actions, model.n_obs, model.horizon)
    if (other.n_actions, other.n_obs, other.horizon) != shp[1:]:
        raise ValueError("model and other must share (A, O, H)")
    return 0.5 * np.abs(trajectory_probabilities(model) - trajectory_probabilities(other)).sum(axis=1)


def tv_distance(model, other, *, policy=None) -> float:
    """Total variation between the trajectory distributions of two models under an open-loop policy.

    ``TV = (1/2) sum_a pi(a) sum_o |P(o || a) - P'(o || a)|`` (the policy's factor is common to both);
    ``policy`` ``(A^H,)`` defaults to uniform.
    """
    tv = tv_per_sequence(model, other)
    p = check_sequence_policy(policy, model.n_actions, model.horizon)
    return float(p @ tv)
