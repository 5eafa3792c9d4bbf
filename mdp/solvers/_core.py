"""Shared pieces of the solvers: the result type and dense/sparse dispatch of the backups."""

from __future__ import annotations

from dataclasses import field, fields

import numpy as np

from mdp._common import result
from mdp._common.backups import bellman_operator, check_v, policy_backup, q_values
from mdp._common.numerics import UNDERFLOW, UNIT_ROUNDOFF, VALUE_LIMIT
from mdp._common.results import DeferrableArray as _DeferrableArray
from mdp._common.results import Deferred, frozen
from mdp._common.roundoff import (
    backup_rounding,
    contraction,
    difference_rounding,
    f3_bound,
    f3_threshold,
    iterate_rounding,
    macqueen_bounds,
    macqueen_shifts,
)
from mdp._validation import check_mdp as require_mdp
from mdp.model import TabularMDP

__all__ = [
    "SolverResult",
    "Deferred",
    "require_mdp",
    "check_v",
    "q_values",
    "bellman_operator",
    "policy_backup",
    "frozen",
    "contraction",
    "macqueen_bounds",
    "macqueen_shifts",
    "UNIT_ROUNDOFF",
    "UNDERFLOW",
    "backup_rounding",
    "difference_rounding",
    "iterate_rounding",
    "f3_threshold",
    "f3_bound",
    "VALUE_LIMIT",
    "RecentredSweep",
    "recentred_sweep",
]


@result
class SolverResult:
    """Result of an exact or iterative MDP solver.

    Attributes
    ----------
    v : ndarray, shape (S,)
        Value estimate.
    pi : ndarray of int64, shape (S,)
        Deterministic policy (greedy with respect to the values the solver ended with).
    q : ndarray, shape (S, A)
        ``R + gamma * P @ v``. A solver may defer it (``mdp.solve`` on dense models: one sweep
        over ``P`` on first access, then kept; until then the result references the model).
    n_iter : int
        Iterations done (sweeps for value iteration, improvements for policy iteration).
    error_bound : float
        Certified bound on ``||v - v*||_inf`` (the derivation is given by each solver).
    policy_error_bound : float
        Certified bound on ``||v* - v^pi||_inf`` (how suboptimal ``pi`` can be).
    converged : bool
        Whether the requested ``tol`` was met within ``max_iter``.
    method : str
        Name of the algorithm and variant.
    residuals : ndarray
        Per-iteration ``||T v_t - v_t||_inf`` (or the solver's own progress measure).
    """

    v: np.ndarray
    pi: np.ndarray
    q: np.ndarray = _DeferrableArray()
    n_iter: int
    error_bound: float
    policy_error_bound: float
    converged: bool
    method: str
    residuals: np.ndarray = field(repr=False)

    def __getstate__(self):
        # a deferred q holds a closure over the model: pickle (and copy) the computed array instead
        self.q  # noqa: B018 - forces the deferred field
        return dict(self.__dict__)

    def __setstate__(self, state):
        state = dict(state)
        if "q" in state:  # pickled before q became a deferrable field (2026-11-26)
            state["_q_value"] = state.pop("q")
        for val in state.values():
            if isinstance(val, np.ndarray):
                frozen(val)  # unpickled arrays come back writable
        self.__dict__.update(state)

    def __repr__(self):
        # shows a deferred q as such instead of computing it (that costs a sweep over P)
        parts = []
        for f in fields(self):
            if not f.repr:
                continue
            val = self.__dict__.get("_q_value") if f.name == "q" else getattr(self, f.name)
            parts.append(f"{f.name}=" + ("<computed on first access>" if isinstance(val, Deferred) else repr(val)))
        return f"{type(self).__name__}({', '.join(parts)})"


@result
class RecentredSweep:
    """One Bellman sweep at ``v`` evaluated as ``c + T_c (v - c)`` (see :func:`recentred_sweep`).

    ``u = fl(v - c)``; the sweep is exact for ``v~ = u + c`` (within ``v_err`` of ``v``). ``r`` is the
    re-centred reward ``R - (1 - gamma) c + gamma c (sigma - 1)`` as computed (``R`` itself when ``c = 0``), ``q = fl(r + gamma P u)`` (``q + c`` is
    ``Q(v~)``), ``tv = max_a q`` and ``pi`` its first maximiser, ``d = fl(tv - u)`` (``T v~ - v~``).
    ``err_tv`` bounds ``|tv - T_c u|`` (and every ``q`` entry's error), ``err_d`` the error of ``d``.
    """

    c: float
    u: np.ndarray
    r: np.ndarray
    q: np.ndarray
    tv: np.ndarray
    pi: np.ndarray
    d: np.ndarray
    err_tv: float
    err_d: float
    v_err: float


def _recentred_rewards(m: TabularMDP, c: float):
    """``(r, err_r)``: ``r`` the computed ``R - (1 - gamma) c + gamma c tau`` (``tau = sigma - 1``, the
    row-sum defects), ``err_r`` a bound on ``|r - (R - c + gamma c sigma)|`` over all entries.

    ``1 - gamma`` is exact for ``gamma >= 1/2`` (Sterbenz) and rounds once otherwise; the product
    ``(1 - gamma) c``, the subtraction from ``R``, ``gamma c``, its product with ``tau`` and the final
    addition round once each (relative ``u``; the ``(1 + 8u)`` covers the second-order terms), and
    ``tau`` is within ``err_tau`` of the exact defect. No term is ``u |c|``: ``(1 - gamma) c`` is of
    the size of ``R`` near ``v*`` and ``tau`` is ``O(atol)``.
    """
    if c == 0.0:
        return m.R, 0.0
    u = UNIT_ROUNDOFF
    g = m.gamma
    tau, err_tau = m.row_sum_defects()
    w = 1.0 - g
    err_w = 0.0 if g >= 0.5 else u * w
    p = w * c
    a = m.R - p
    gc = g * c
    b = gc * tau
    r = a + b
    err_r = (
        u * (abs(p) + float(np.abs(a).max()) + 2.0 * float(np.abs(b).max()) + float(np.abs(r).max()))
        + abs(c) * err_w
        + abs(gc) * err_tau
    ) * (1.0 + 8.0 * u) + 3.0 * UNDERFLOW  # 3 products
    return r, float(err_r)


def recentred_sweep(m: TabularMDP, v: np.ndarray) -> RecentredSweep:
    """A Bellman sweep at ``v`` whose round-off scales with ``span(v)``, not ``||v||``.

    With ``sigma = P 1`` the stored row sums, ``T v = c + T_c (v - c)`` for the operator ``T_c`` of the
    same ``P`` with rewards ``R_c = R - (1 - gamma) c + gamma c (sigma - 1)`` (``T_c`` has fixed point
    ``v* - c``, so the MacQueen bracket from a ``T_c`` sweep at ``u = v - c`` brackets ``v* - c``). With
    ``c`` the mid-range of ``v``, ``||u|| = span(v) / 2`` and the worst-case round-off of the sweep
    (:func:`backup_rounding`, Higham 2002, Eq. 3.5) is ``gamma_{n+2} (max|R_c| + gamma sigma span(v) / 2)``
    plus a few ulps of ``R_c`` for forming it (:func:`_recentred_rewards`), instead of
    ``gamma_{n+2} (max|R| + gamma sigma ||v||)``: near ``v*`` of a fast-mixing model
    (``span(v*) << ||v*||``) this is orders of magnitude smaller. ``sigma - 1`` comes from
    :meth:`TabularMDP.row_sum_defects` (one pass over ``P``, kept), whose error is part of the bound.
    When the a-priori bound of the plain sweep is no larger (``gamma`` near 0, ``span(v) ~ ||v||``),
    ``c = 0`` and this is the plain sweep.
    """
    c = 0.5 * float(v.max()) + 0.5 * float(v.min())  # halves first: no overflow near 1e308
    r, err_r = _recentred_rewards(m, c)
    u_vec = v - c
    if c != 0.0 and (
        backup_rounding(m, float(np.abs(v).max()))
        <= backup_rounding(m, float(np.abs(u_vec).max()), r_max=float(np.abs(r).max())) + err_r
    ):
        c, u_vec, r, err_r = 0.0, v.copy(), m.R, 0.0  # the plain sweep is no worse
    q = q_values(m, u_vec, r)
    pi = np.argmax(q, axis=1).astype(np.int64)
    tv = q[np.arange(m.n_states), pi]
    d = tv - u_vec
    u_max = float(np.abs(u_vec).max())
    err_tv = backup_rounding(m, u_max, r_max=float(np.abs(r).max())) + err_r
    err_d = difference_rounding(err_tv, float(np.abs(d).max()))
    v_err = 0.0 if c == 0.0 else UNIT_ROUNDOFF * u_max * (1.0 + 2.0 * UNIT_ROUNDOFF)
    return RecentredSweep(
        c=c, u=u_vec, r=r, q=q, tv=tv, pi=pi, d=d, err_tv=float(err_tv), err_d=float(err_d), v_err=v_err
    )
