"""Transition buffers: offline datasets from a behaviour policy and truncated ``k``-step model rollouts.

Both are :class:`Transitions` ``(s, a, r, s', t)`` with ``t`` the step within the episode or rollout.
A dataset is ``n_episodes`` episodes of ``horizon`` steps of a behaviour policy in the true MDP;
a model rollout starts at a dataset state and takes ``k`` steps of a rollout policy in a model (the
true MDP, or one estimated from the data, :func:`estimate_model`), as in MBPO/MOPO-style offline
model-based RL (Sims, Lu, Foerster & Teh 2024, *The Edge-of-Reach Problem in Offline Model-Based
RL*, arXiv 2402.12527, Sec. 3; ``docs/papers/edge_of_reach.md``). Both samplers are one numba kernel
fed with pre-drawn uniforms (inverse-CDF draws, :func:`mdp._common.sampling.draw_csr`), with a plain
Python twin that consumes the same uniforms and agrees bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._common import result
from mdp._common.sampling import cumulative_rows, draw_csr
from mdp._validation import as_float_array, check_mdp, check_policy, check_positive_int, check_rng

__all__ = [
    "Transitions",
    "collect_dataset",
    "model_rollouts",
    "reference_rollouts",
    "estimate_model",
    "concatenate",
]


@result
class Transitions:
    """A transition buffer.

    Attributes
    ----------
    states, actions, next_states : ndarray of int64, shape (n,)
    rewards : ndarray, shape (n,)
    steps : ndarray of int64, shape (n,)
        Step ``t`` of each transition within its episode / rollout (0-based).
    n_states, n_actions : int
    """

    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_states: np.ndarray
    steps: np.ndarray
    n_states: int
    n_actions: int

    def __len__(self) -> int:
        return int(self.states.shape[0])


def _policy_cdf(pi, S, A):
    pi = check_policy(pi, S, A)
    if pi.ndim == 1:
        full = np.zeros((S, A))
        full[np.arange(S), pi] = 1.0
        pi = full
    return np.ascontiguousarray(np.cumsum(pi, axis=1))


@njit(cache=True)
def _rollouts(indptr, indices, cdf, R, pi_cdf, starts, k, u_a, u_s, out_s, out_a, out_r, out_n, out_t):
    A = pi_cdf.shape[1]
    i = 0
    for b in range(starts.shape[0]):
        s = starts[b]
        for t in range(k):
            x = u_a[b, t] * pi_cdf[s, A - 1]
            a = 0
            while a < A - 1 and pi_cdf[s, a] <= x:
                a += 1
            s2 = draw_csr(indptr, indices, cdf, s * A + a, u_s[b, t])
            out_s[i] = s
            out_a[i] = a
            out_r[i] = R[s, a]
            out_n[i] = s2
            out_t[i] = t
            i += 1
            s = s2


def reference_rollouts(m, pi, starts, k, u_a, u_s):
    """Plain twin of the rollout kernel (same uniforms): ``(s, a, r, s', t)`` arrays."""
    S, A = m.n_states, m.n_actions
    pc = np.cumsum(check_policy(pi, S, A) if np.ndim(pi) == 2 else np.eye(A)[np.asarray(pi)], axis=1)
    P = m.dense_P()
    out = []
    for b, s in enumerate(starts):
        s = int(s)
        for t in range(k):
            a = int(min(np.searchsorted(pc[s], u_a[b, t] * pc[s, -1], side="right"), A - 1))
            c = np.cumsum(P[s, a])
            s2 = int(min(np.searchsorted(c, u_s[b, t] * c[-1], side="right"), S - 1))
            out.append((s, a, m.R[s, a], s2, t))
            s = s2
    arr = np.array(out, dtype=object).reshape(-1, 5)
    return tuple(np.asarray(arr[:, j], dtype=float if j == 2 else np.int64) for j in range(5))


def _run(m, pi, starts, k, rng):
    S, A = m.n_states, m.n_actions
    pi_cdf = _policy_cdf(pi, S, A)
    indptr, indices, cdf = cumulative_rows(m)
    n = starts.shape[0] * k
    u_a = rng.random((starts.shape[0], k))
    u_s = rng.random((starts.shape[0], k))
    out_s, out_a, out_n, out_t = (np.empty(n, dtype=np.int64) for _ in range(4))
    out_r = np.empty(n)
    _rollouts(indptr, indices, cdf, m.R, pi_cdf, starts, k, u_a, u_s, out_s, out_a, out_r, out_n, out_t)
    return Transitions(
        states=out_s, actions=out_a, rewards=out_r, next_states=out_n, steps=out_t, n_states=S, n_actions=A
    )


def _check_k(k, name="k"):
    return check_positive_int(k, f"{name} (rollout length)")


def _check_starts(starts, S, name="starts"):
    arr = np.asarray(starts)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d array of start states (an empty dataset has none)")
    if not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold integer states, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= S:
        raise ValueError(f"{name} must lie in [0, {S}), got {arr.min()}..{arr.max()}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def collect_dataset(m, pi_b, *, n_episodes: int, horizon: int, start, rng) -> Transitions:
    """Offline dataset: ``n_episodes`` episodes of ``horizon`` steps of the behaviour policy ``pi_b``.

    Parameters
    ----------
    m : TabularMDP
        The true environment.
    pi_b : array_like
        Behaviour policy, ``(S,)`` actions or ``(S, A)`` rows.
    n_episodes, horizon : int
        ``>= 1``.
    start : int or array_like of int
        Start state, or states to start from (one drawn uniformly per episode).
    rng : numpy.random.Generator

    Returns
    -------
    Transitions
        ``n_episodes * horizon`` transitions.
    """
    m = check_mdp(m, discounted=False)
    rng = check_rng(rng)
    n = check_positive_int(n_episodes, "n_episodes")
    H = check_positive_int(horizon, "horizon")
    pool = _check_starts(np.atleast_1d(np.asarray(start)), m.n_states, "start")
    starts = pool[rng.integers(0, pool.size, size=n)]
    return _run(m, pi_b, starts, H, rng)


def model_rollouts(m, pi, starts, k, *, n_rollouts: int, rng) -> Transitions:
    """``n_rollouts`` truncated ``k``-step rollouts of ``pi`` in the model ``m`` from dataset states.

    Parameters
    ----------
    m : TabularMDP
        The model rolled out in (the true MDP or :func:`estimate_model`).
    pi : array_like
        Rollout policy, ``(S,)`` actions or ``(S, A)`` rows.
    starts : array_like of int
        The dataset states ``D_0``; each rollout starts at one drawn uniformly.
    k : int
        Rollout length, ``>= 1``.
    n_rollouts : int
    rng : numpy.random.Generator

    Returns
    -------
    Transitions
        ``n_rollouts * k`` transitions, ``steps`` in ``0..k-1``.

    Raises
    ------
    TypeError, ValueError
        For ``k < 1``, empty ``starts`` (an empty dataset), states out of range, a bad policy.
    """
    m = check_mdp(m, discounted=False)
    rng = check_rng(rng)
    k = _check_k(k)
    n = check_positive_int(n_rollouts, "n_rollouts")
    pool = _check_starts(starts, m.n_states)
    return _run(m, pi, pool[rng.integers(0, pool.size, size=n)], k, rng)


def concatenate(*buffers: Transitions) -> Transitions:
    """One buffer holding the transitions of all ``buffers`` (same ``S`` and ``A``)."""
    if not buffers or not all(isinstance(b, Transitions) for b in buffers):
        raise TypeError("concatenate needs one or more Transitions")
    S, A = buffers[0].n_states, buffers[0].n_actions
    if any((b.n_states, b.n_actions) != (S, A) for b in buffers):
        raise ValueError("all buffers must have the same n_states and n_actions")
    cat = {f: np.concatenate([getattr(b, f) for b in buffers]) for f in ("states", "actions", "rewards", "next_states")}
    return Transitions(**cat, steps=np.concatenate([b.steps for b in buffers]), n_states=S, n_actions=A)


def estimate_model(data: Transitions, gamma: float):
    """Maximum-likelihood tabular model of ``data``: empirical ``P(s'|s, a)`` and mean reward; a pair
    that never occurs is a self-loop with reward 0. Returns ``(TabularMDP, counts (S, A))``."""
    from mdp.model import TabularMDP

    if not isinstance(data, Transitions):
        raise TypeError(f"data must be Transitions, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data is empty: an empty dataset defines no model")
    S, A = data.n_states, data.n_actions
    counts = np.zeros((S, A))
    np.add.at(counts, (data.states, data.actions), 1.0)
    P = np.zeros((S, A, S))
    np.add.at(P, (data.states, data.actions, data.next_states), 1.0)
    R = np.zeros((S, A))
    np.add.at(R, (data.states, data.actions), data.rewards)
    seen = counts > 0
    P[seen] /= counts[seen][:, None]
    R[seen] /= counts[seen]
    s_idx, a_idx = np.nonzero(~seen)
    P[s_idx, a_idx, s_idx] = 1.0
    return TabularMDP(P, as_float_array(R, "R"), gamma), counts
