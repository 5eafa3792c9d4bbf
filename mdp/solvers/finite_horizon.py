"""Finite-horizon backward induction (Bellman 1957; Puterman 1994, Sec. 4.5).

``v_H = terminal``, ``v_t = max_a R + gamma P v_{t+1}`` for ``t = H-1, ..., 0``; the optimal policy
is non-stationary, ``pi[t]`` greedy w.r.t. ``v_{t+1}``. Exact (no stopping rule); ``gamma = 1`` is
allowed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from mdp._validation import check_positive_int
from mdp.solvers import _bellman as K
from mdp.solvers._core import check_v, frozen, require_mdp

__all__ = ["FiniteHorizonResult", "finite_horizon", "reference_finite_horizon"]


@dataclass(frozen=True)
class FiniteHorizonResult:
    """``v[t]`` ``(H+1, S)`` optimal values-to-go, ``pi[t]`` ``(H, S)`` actions, ``q[t]`` ``(H, S, A)``."""

    v: np.ndarray
    pi: np.ndarray
    q: np.ndarray
    horizon: int

    def __post_init__(self):
        for name in ("v", "pi", "q"):
            frozen(getattr(self, name))


@njit(cache=True)
def _greedy_rows(q, v, pi):
    """``pi[s] = first argmax_a q[s, a]``, ``v[s] = q[s, pi[s]]``."""
    for s in range(q.shape[0]):
        arg = 0
        for a in range(1, q.shape[1]):
            if q[s, a] > q[s, arg]:
                arg = a
        pi[s] = arg
        v[s] = q[s, arg]


# The loop over stages stays in Python (H calls of the parallel q-kernel): a cached non-parallel
# njit function that calls a cached parallel one from another module segfaults when numba loads it
# back from its on-disk cache (second process), so no jitted function here calls ``K.*``.
def _backward_dense(P, R, gamma, v, pi, q):
    for t in range(pi.shape[0] - 1, -1, -1):
        K.q_dense(P, R, gamma, v[t + 1], q[t])
        _greedy_rows(q[t], v[t], pi[t])


def _backward_sparse(indptr, indices, data, R, gamma, v, pi, q):
    for t in range(pi.shape[0] - 1, -1, -1):
        K.q_sparse(indptr, indices, data, R, gamma, v[t + 1], q[t])
        _greedy_rows(q[t], v[t], pi[t])


def reference_finite_horizon(P, R, gamma, horizon, terminal=None):
    """Plain numpy backward induction; returns ``(v, pi)``."""
    S = R.shape[0]
    v = np.zeros((horizon + 1, S))
    if terminal is not None:
        v[horizon] = terminal
    pi = np.zeros((horizon, S), dtype=np.int64)
    for t in range(horizon - 1, -1, -1):
        q = R + gamma * P @ v[t + 1]
        v[t], pi[t] = q.max(axis=1), q.argmax(axis=1)
    return v, pi


def finite_horizon(m, horizon: int, *, terminal=None) -> FiniteHorizonResult:
    """Solve the ``horizon``-step problem exactly by backward induction.

    Parameters
    ----------
    m : TabularMDP
        Model with ``gamma`` in ``[0, 1]`` (``gamma = 1``: undiscounted total reward).
    horizon : int
        Number of decisions ``H >= 1``.
    terminal : array_like, shape (S,), optional
        Terminal values ``v_H`` (default zeros).

    Returns
    -------
    FiniteHorizonResult
        ``v`` of shape ``(H + 1, S)``, ``pi`` ``(H, S)`` and ``q`` ``(H, S, A)``.
    """
    m = require_mdp(m, discounted=False)
    H = check_positive_int(horizon, "horizon")
    S, A = m.n_states, m.n_actions
    v = np.zeros((H + 1, S))
    if terminal is not None:
        v[H] = check_v(terminal, m, "terminal")
    pi = np.zeros((H, S), dtype=np.int64)
    q = np.empty((H, S, A))
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        _backward_sparse(indptr, indices, data, m.R, m.gamma, v, pi, q)
    else:
        _backward_dense(m.P, m.R, m.gamma, v, pi, q)
    return FiniteHorizonResult(v=v, pi=pi, q=q, horizon=H)
