"""Finite-horizon backward induction (Bellman 1957; Puterman 1994, Sec. 4.5).

``v_H = terminal``, ``v_t = max_a R + gamma P v_{t+1}`` for ``t = H-1, ..., 0``; the optimal policy
is non-stationary, ``pi[t]`` greedy w.r.t. ``v_{t+1}``. Exact (no stopping rule); ``gamma = 1`` is
allowed.

What float64 costs is bounded and reported, stage by stage. With ``rho_t`` the round-off bound of
one computed backup at ``||v_{t+1}||`` (:func:`mdp.solvers._core.backup_rounding`, Higham 2002,
Eq. 3.5) and ``c = gamma * max row sum`` (``P >= 0``, so ``||P d|| <= max row sum * ||d||``)::

    e_H = 0,   e_t = rho_t + c e_{t+1}                       (||v[t] - v*_t||, and every q[t])
    l_H = 0,   l_t = 2 e_t + c l_{t+1}                       (||v*_t - v^pi_t||)

The first: the computed ``q[t]`` is within ``rho_t`` of ``R + gamma P v[t+1]``, which is within
``c e_{t+1}`` of the exact ``R + gamma P v*_{t+1}``, and ``max_a`` is 1-Lipschitz. The second: ``pi[t]``
maximises the computed ``q[t]``, so its exact ``q`` at ``v*_{t+1}`` is within ``2 e_t`` of the best,
and the rest of the loss is ``gamma P_pi (v*_{t+1} - v^pi_{t+1})``. Each step is rounded up by
``(1 + 4u)`` so the recursions' own float64 arithmetic cannot make them smaller.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._common import bellman as K
from mdp._common import result
from mdp._validation import check_positive_int
from mdp.solvers._core import UNIT_ROUNDOFF, VALUE_LIMIT, backup_rounding, check_v, require_mdp

__all__ = ["FiniteHorizonResult", "finite_horizon", "reference_finite_horizon"]


@result
class FiniteHorizonResult:
    """Backward induction's answer, with certified round-off bounds per stage.

    Attributes
    ----------
    v : ndarray, shape (H + 1, S)
        Optimal values-to-go ``v[t]`` with ``H - t`` decisions left (``v[H]`` the terminal values).
    pi : ndarray, shape (H, S)
        Optimal non-stationary policy: ``pi[t]`` is greedy with respect to ``v[t + 1]``.
    q : ndarray, shape (H, S, A)
        ``q[t] = R + gamma P v[t + 1]``.
    horizon : int
        ``H``.
    n_iter : int
        Backups done (``H``).
    error_bounds : ndarray, shape (H + 1,)
        Certified ``||v[t] - v*_t||_inf`` (float64 round-off only; it also bounds ``q[t]``'s error).
    policy_error_bounds : ndarray, shape (H + 1,)
        Certified ``||v*_t - v^pi_t||_inf``: how much ``pi`` from stage ``t`` on can lose.
    error_bound, policy_error_bound : float
        The largest of each over the stages.
    """

    v: np.ndarray
    pi: np.ndarray
    q: np.ndarray
    horizon: int
    n_iter: int
    error_bounds: np.ndarray
    policy_error_bounds: np.ndarray
    error_bound: float
    policy_error_bound: float


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


def _value_scale(m, H: int, terminal_max: float) -> float:
    """A priori bound on every ``||v_t||``: ``c^H ||v_H|| + max|R| (1 + c + ... + c^(H-1))``."""
    c = m.contraction
    with np.errstate(over="ignore"):
        cH = float(np.power(np.float64(c), H))  # inf, not OverflowError, when c > 1 and H is huge
    geo = float(H) if c == 1.0 else (cH - 1.0) / (c - 1.0)  # the geometric sum, for c < 1 and c > 1
    scale = 0.0
    if terminal_max > 0.0:
        scale += cH * terminal_max
    if m.r_max > 0.0:
        scale += m.r_max * geo
    return scale


def round_off_bounds(m, v: np.ndarray):
    """``(e, l)``, shapes ``(H + 1,)``: the module docstring's recursions for computed values ``v``."""
    H = v.shape[0] - 1
    c = m.contraction
    up = 1.0 + 4.0 * UNIT_ROUNDOFF
    e = np.zeros(H + 1)
    pol = np.zeros(H + 1)
    v_max = np.abs(v).max(axis=1)
    for t in range(H - 1, -1, -1):
        e[t] = (backup_rounding(m, v_max[t + 1]) + c * e[t + 1]) * up
        pol[t] = (2.0 * e[t] + c * pol[t + 1]) * up
    return e, pol


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
        ``v`` of shape ``(H + 1, S)``, ``pi`` ``(H, S)`` and ``q`` ``(H, S, A)``, with certified
        bounds on their float64 round-off per stage (``error_bounds``, ``policy_error_bounds``;
        derivation in the module docstring).

    Raises
    ------
    ValueError
        When the values could exceed ``1e300`` (``max|R|``, ``gamma``, ``horizon`` and ``terminal``
        bound them a priori), before any work is done.
    """
    m = require_mdp(m, discounted=False)
    H = check_positive_int(horizon, "horizon")
    S, A = m.n_states, m.n_actions
    v_H = np.zeros(S) if terminal is None else check_v(terminal, m, "terminal")
    t_max = float(np.abs(v_H).max())
    scale = _value_scale(m, H, t_max)
    if not scale <= VALUE_LIMIT:  # checked before the (H + 1, S) arrays are allocated
        raise ValueError(
            f"m, horizon, terminal: values-to-go can reach {scale:.3g} (max|R| = {m.r_max:.3g}, "
            f"gamma * max row sum = {m.contraction!r}, horizon = {H}, max|terminal| = {t_max:.3g}), "
            f"beyond the {VALUE_LIMIT:g} that float64 backward induction can represent with room for its sums; "
            "rescale R and terminal or shorten the horizon"
        )
    v = np.zeros((H + 1, S))
    v[H] = v_H
    pi = np.zeros((H, S), dtype=np.int64)
    q = np.empty((H, S, A))
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        _backward_sparse(indptr, indices, data, m.R, m.gamma, v, pi, q)
    else:
        _backward_dense(m.P, m.R, m.gamma, v, pi, q)
    e, pol = round_off_bounds(m, v)
    return FiniteHorizonResult(
        v=v,
        pi=pi,
        q=q,
        horizon=H,
        n_iter=H,
        error_bounds=e,
        policy_error_bounds=pol,
        error_bound=float(e.max()),
        policy_error_bound=float(pol.max()),
    )
