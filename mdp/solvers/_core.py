"""Shared pieces of the solvers: the result type and dense/sparse dispatch of the backups."""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from mdp._common.numerics import UNDERFLOW, UNIT_ROUNDOFF, VALUE_LIMIT
from mdp._common.results import Deferred, frozen
from mdp._common.results import DeferrableArray as _DeferrableArray
from mdp._validation import as_float_array, check_gamma
from mdp.model import TabularMDP
from mdp.solvers import _bellman as K

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

@dataclass(frozen=True)
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

    def __post_init__(self):
        for name in ("v", "pi", "residuals"):
            frozen(getattr(self, name))

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


def require_mdp(m, name: str = "m", *, discounted: bool = True) -> TabularMDP:
    """Check that ``m`` is a :class:`TabularMDP` (with ``gamma < 1`` when ``discounted``)."""
    if not isinstance(m, TabularMDP):
        raise TypeError(f"{name} must be an mdp.TabularMDP, got {type(m).__name__}")
    if discounted:
        check_gamma(m.gamma, f"{name}.gamma")
        scale = m.r_max / (1.0 - m.gamma)
        if not scale <= VALUE_LIMIT:
            raise ValueError(
                f"{name}: values can reach max|R| / (1 - gamma) = {m.r_max:.3g} / (1 - {m.gamma!r}) = {scale:.3g}, "
                f"beyond the {VALUE_LIMIT:g} that float64 solvers can represent with room for their sums; "
                "rescale R (the optimal policy is unchanged by a positive factor) or lower gamma"
            )
    return m


def check_v(v, m: TabularMDP, name: str = "v") -> np.ndarray:
    """Validate a value vector for ``m``: finite float64 of shape ``(S,)`` (a fresh copy)."""
    arr = as_float_array(v, name, ndim=1)
    if arr.shape != (m.n_states,):
        raise ValueError(f"{name} must have shape ({m.n_states},), got {arr.shape}")
    return arr.copy()


def q_values(m: TabularMDP, v: np.ndarray, R: np.ndarray | None = None) -> np.ndarray:
    """``Q = R + gamma * P @ v`` of shape ``(S, A)`` (kernel dispatch, no validation); ``R`` defaults
    to the model's rewards."""
    R = m.R if R is None else R
    q = np.empty((m.n_states, m.n_actions))
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        K.q_sparse(indptr, indices, data, R, m.gamma, v, q)
    else:
        K.q_dense(m.P, R, m.gamma, v, q)
    return q


def bellman_operator(m: TabularMDP, v: np.ndarray, out=None, pi_out=None):
    """``(T v, greedy policy)`` (kernel dispatch, no validation)."""
    out = np.empty(m.n_states) if out is None else out
    pi_out = np.empty(m.n_states, dtype=np.int64) if pi_out is None else pi_out
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        K.bellman_sparse(indptr, indices, data, m.R, m.gamma, v, out, pi_out)
    else:
        K.bellman_dense(m.P, m.R, m.gamma, v, out, pi_out)
    return out, pi_out


def policy_backup(m: TabularMDP, pi: np.ndarray, v: np.ndarray, out=None) -> np.ndarray:
    """``T_pi v`` for a deterministic policy (kernel dispatch, no validation)."""
    out = np.empty(m.n_states) if out is None else out
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        K.policy_backup_sparse(indptr, indices, data, m.R, m.gamma, pi, v, out)
    else:
        K.policy_backup_dense(m.P, m.R, m.gamma, pi, v, out)
    return out


def contraction(m: TabularMDP) -> float:
    """``m.contraction`` (``gamma`` times the largest stored row sum), checked to be ``< 1``."""
    c = m.contraction
    if not c < 1.0:
        raise ValueError(
            f"gamma * max row sum of P = {c!r} >= 1: the rows of P exceed 1 by more than the discount "
            "leaves room for; renormalise P or lower gamma"
        )
    return c


def backup_rounding(m: TabularMDP, v_max: float, extra_terms: int = 0, r_max: float | None = None) -> float:
    """Bound on the float64 round-off of every computed backup ``q(s, a) = R[s, a] + gamma P[s, a] . v``.

    The kernels accumulate the dot product of a stored row (``n <= m.max_row_length`` entries,
    float32 entries converted exactly) with ``v`` in float64, in an order the compiler may change
    (reassociation, fused multiply-add). In any order (Higham 2002, *Accuracy and Stability of
    Numerical Algorithms*, Sec. 3.1, Eq. 3.5) the error is at most ``gamma_n sum_j |P_j v_j|`` with
    ``gamma_n = n u / (1 - n u)``; the product by ``gamma`` and the addition of ``R`` add two more
    roundings, so with ``P >= 0`` and row sums ``<= sigma_max``::

        |fl(q) - q| <= gamma_{n + 2} (max|R| + gamma sigma_max ||v||_inf).

    ``max_a`` of the computed ``q`` is then within the same bound of ``max_a q``. ``extra_terms``
    adds roundings (``A`` for a stochastic policy's average over actions); ``r_max`` replaces
    ``max|R|`` for a sweep with other rewards (the re-centred ones). This is a worst case:
    observed errors are usually near ``sqrt(n) u`` times the scale.
    """
    # plus one UNDERFLOW per product that may underflow (the n products and the one by gamma)
    n = m.max_row_length + 2 + int(extra_terms)
    r_max = m.r_max if r_max is None else float(r_max)
    return _gamma_n(m, extra_terms) * (r_max + m.contraction * float(v_max)) + n * UNDERFLOW


def _gamma_n(m: TabularMDP, extra_terms: int = 0) -> float:
    n = m.max_row_length + 2 + int(extra_terms)
    return n * UNIT_ROUNDOFF / (1.0 - n * UNIT_ROUNDOFF)


@dataclass(frozen=True)
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
    err_r = (u * (abs(p) + float(np.abs(a).max()) + 2.0 * float(np.abs(b).max()) + float(np.abs(r).max()))
             + abs(c) * err_w + abs(gc) * err_tau) * (1.0 + 8.0 * u) + 3.0 * UNDERFLOW  # 3 products
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
    if c != 0.0 and (backup_rounding(m, float(np.abs(v).max()))
                     <= backup_rounding(m, float(np.abs(u_vec).max()), r_max=float(np.abs(r).max())) + err_r):
        c, u_vec, r, err_r = 0.0, v.copy(), m.R, 0.0  # the plain sweep is no worse
    q = q_values(m, u_vec, r)
    pi = np.argmax(q, axis=1).astype(np.int64)
    tv = q[np.arange(m.n_states), pi]
    d = tv - u_vec
    u_max = float(np.abs(u_vec).max())
    err_tv = backup_rounding(m, u_max, r_max=float(np.abs(r).max())) + err_r
    err_d = difference_rounding(err_tv, float(np.abs(d).max()))
    v_err = 0.0 if c == 0.0 else UNIT_ROUNDOFF * u_max * (1.0 + 2.0 * UNIT_ROUNDOFF)
    return RecentredSweep(c=c, u=u_vec, r=r, q=q, tv=tv, pi=pi, d=d, err_tv=float(err_tv), err_d=float(err_d),
                          v_err=v_err)


def iterate_rounding(m: TabularMDP, v0_max: float = 0.0, extra_terms: int = 0) -> float:
    """:func:`backup_rounding` at an a priori bound on the iterates of a contraction started at ``v0``.

    ``||T v|| <= max|R| + c ||v||`` (``c`` the contraction factor), so every iterate stays below
    ``max(||v0||, max|R| / (1 - c))`` (widened by 1e-6 for the iterates' own round-off).
    """
    c = contraction(m)
    return backup_rounding(m, max(float(v0_max), m.r_max / (1.0 - c)) * (1.0 + 1e-6), extra_terms)


def f3_threshold(tol: float, c: float, err: float) -> float:
    """Residual ``||v_{t+1} - v_t||`` at which :func:`f3_bound` is ``<= tol`` (F3 with round-off).

    At least ``err``: when ``tol`` is below the round-off floor the loop stops at the noise level
    (and reports ``converged=False``). ``(1 - 1e-12)`` leaves room for the ``(1 + 4u)`` of the bound.
    """
    if c <= 0:
        return np.inf  # gamma = 0: one sweep gives the fixed point (up to round-off)
    return max((tol * (1.0 - c) - err) / c * (1.0 - 1e-12), err)


def f3_bound(c: float, diff: float, err: float) -> float:
    """``||v_{t+1} - v*|| <= (c ||v_{t+1} - v_t|| + err) / (1 - c)`` for ``v_{t+1} = fl(T v_t)``.

    ``T`` a ``c``-contraction, ``err`` a bound on the round-off of one computed sweep: the exact
    ``T v_t`` is within ``c ||v_t - v*||`` of ``v*`` and ``v_{t+1}`` within ``err`` of it (F3,
    Puterman 1994 Thm 6.3.1, plus the round-off term); ``diff`` as computed, hence the ``(1 + 4u)``.
    """
    return (c * diff * (1.0 + 4.0 * UNIT_ROUNDOFF) + err + UNDERFLOW) / (1.0 - c)


def difference_rounding(backup_err: float, d_abs_max: float) -> float:
    """Bound on ``|fl(fl(T v) - v) - (T v - v)|`` given the backup bound and ``max |fl(T v) - v|``.

    ``fl(x - v) = (x - v)(1 + e)`` and ``x = T v + err``: the error is at most
    ``err + u |x - v| <= err + 2 u max|d|`` (the computed ``d`` is within a factor ``1 + u`` of ``x - v``).
    """
    return float(backup_err) + 2.0 * UNIT_ROUNDOFF * float(d_abs_max)


def macqueen_bounds(m: TabularMDP, tv: np.ndarray, d: np.ndarray, err_tv: float = 0.0, err_d: float = 0.0):
    """Componentwise ``(lower, upper)`` bounds on the fixed point from ``tv = T v`` and ``d = T v - v``.

    Puterman (1994), Thm 6.6.3, generalised to rows summing to ``sigma in [sigma_min, sigma_max]``
    (float32 storage, ``atol``): with ``k(s) = gamma s / (1 - gamma s)``, the upper bound shifts by
    ``k(sigma_max) max(d)`` when ``max(d) > 0`` and by ``k(sigma_min) max(d)`` otherwise (mirrored for
    the lower bound), because ``T(x + c 1) - T x`` lies between ``gamma sigma_min c`` and
    ``gamma sigma_max c`` for ``c >= 0`` (reversed for ``c < 0``). Exactly stochastic rows give the
    textbook ``gamma / (1 - gamma)``.

    ``tv`` and ``d`` as computed in floating point: ``err_tv`` and ``err_d`` bound their distance
    from the exact ``T v`` and ``T v - v`` (:func:`backup_rounding`, :func:`difference_rounding`),
    and the bracket is widened by them (``tv - err_tv + k (min d - err_d)`` and the mirror) and by
    a few ulps for its own evaluation, so it holds for the exact fixed point of the stored model.
    """
    g = m.gamma
    lo_sum, hi_sum = m.row_sum_range
    contraction(m)
    k_hi = g * hi_sum / (1.0 - g * hi_sum)
    k_lo = g * lo_sum / (1.0 - g * lo_sum)
    dmin, dmax = float(d.min()) - err_d, float(d.max()) + err_d
    shift_lo = (k_hi if dmin < 0 else k_lo) * dmin - err_tv
    shift_hi = (k_hi if dmax > 0 else k_lo) * dmax + err_tv
    # the product, the subtraction and the final addition each round (relative u)
    pad = 4.0 * UNIT_ROUNDOFF * (float(np.abs(tv).max()) + max(abs(shift_lo), abs(shift_hi))) + 4.0 * UNDERFLOW
    lower = tv + (shift_lo - pad)
    upper = tv + (shift_hi + pad)
    return lower, upper
