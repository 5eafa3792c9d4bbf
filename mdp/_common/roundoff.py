"""Float64 round-off bounds of the certificates: the error of a computed Bellman backup and of the
MacQueen bracket built from it (Higham 2002, Eq. 3.5; Puterman 1994, Thm 6.6.3).

Model-agnostic: every function reads only ``m.gamma``, ``m.contraction``, ``m.r_max``,
``m.max_row_length`` and ``m.row_sum_range``, which :class:`mdp.TabularMDP` and
:class:`marl.MarkovGame` both provide. Shared by the solvers of ``mdp`` and ``marl``.
"""

from __future__ import annotations

import numpy as np

from mdp._common.numerics import UNDERFLOW, UNIT_ROUNDOFF

__all__ = [
    "contraction",
    "backup_rounding",
    "iterate_rounding",
    "f3_threshold",
    "f3_bound",
    "difference_rounding",
    "macqueen_bounds",
    "macqueen_shifts",
]


def contraction(m) -> float:
    """``m.contraction`` (``gamma`` times the largest stored row sum), checked to be ``< 1``."""
    c = m.contraction
    if not c < 1.0:
        raise ValueError(
            f"gamma * max row sum of P = {c!r} >= 1: the rows of P exceed 1 by more than the discount "
            "leaves room for; renormalise P or lower gamma"
        )
    return c


def backup_rounding(m, v_max: float, extra_terms: int = 0, r_max: float | None = None) -> float:
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


def _gamma_n(m, extra_terms: int = 0) -> float:
    n = m.max_row_length + 2 + int(extra_terms)
    return n * UNIT_ROUNDOFF / (1.0 - n * UNIT_ROUNDOFF)


def iterate_rounding(m, v0_max: float = 0.0, extra_terms: int = 0) -> float:
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


def macqueen_bounds(m, tv: np.ndarray, d: np.ndarray, err_tv: float = 0.0, err_d: float = 0.0):
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
    shift_lo, shift_hi = macqueen_shifts(m, tv, d, err_tv, err_d)
    return tv + shift_lo, tv + shift_hi


def macqueen_shifts(m, tv: np.ndarray, d: np.ndarray, err_tv: float = 0.0, err_d: float = 0.0):
    """The two constants of :func:`macqueen_bounds`: ``lower = tv + lo`` and ``upper = tv + hi``
    (padding included), for callers that need only a statistic of the bounds, not the arrays."""
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
    return shift_lo - pad, shift_hi + pad
