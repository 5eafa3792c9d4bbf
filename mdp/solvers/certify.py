"""A-posteriori certificates: bounds on ``v*`` and on a policy's loss from one Bellman sweep.

For any ``v`` (from any solver, ours or a peer library's), one application of the Bellman
optimality operator ``T`` brackets the optimal value (Puterman 1994, Thm 6.6.3, the
MacQueen/Porteus bounds): with ``D = T v - v``,

    T v + gamma / (1 - gamma) * min(D)  <=  v*  <=  T v + gamma / (1 - gamma) * max(D).

The same argument for ``T_pi`` brackets ``v^pi``, so for any deterministic ``pi`` the loss
``v* - v^pi`` is bounded by the gap between the upper bound on ``v*`` and the lower bound on ``v^pi``;
for ``pi`` greedy with respect to ``v`` that gap is ``gamma / (1 - gamma) * span(D)``.

The sweep itself is computed in float64: ``T v`` and ``D`` carry round-off, bounded by
:func:`mdp.solvers._core.backup_rounding` (worst case ``(n + 2) u (max|R| + gamma ||v||)`` for rows of
``n`` entries, Higham 2002, Eq. 3.5), and every bound is widened by it, so the certificate holds for
the exact optimum of the stored model, not only for the rounded operator. ``certify`` evaluates the
sweep re-centred on the mid-range ``c`` of ``v`` (``T v = c + T_c (v - c)``,
``mdp.solvers._core.recentred_sweep``), which replaces ``||v||`` by ``span(v) / 2`` there.

Rows of ``P`` are stochastic only up to the model's ``atol`` and its storage precision (float32);
the bounds use the stored row-sum range (``TabularMDP.row_sum_range``) so they stay valid for the
operator the kernels actually apply (see :func:`mdp.solvers._core.macqueen_bounds`).
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import check_policy
from mdp.solvers._core import (
    UNDERFLOW,
    UNIT_ROUNDOFF,
    VALUE_LIMIT,
    check_v,
    contraction,
    difference_rounding,
    iterate_rounding,
    macqueen_bounds,
    recentred_sweep,
    require_mdp,
)

__all__ = ["Certificate", "certify", "round_off_floor", "attainable_tol", "reference_certify"]


@result
class Certificate:
    """Bounds certified by one Bellman sweep from ``v``.

    Attributes
    ----------
    lower, upper : ndarray, shape (S,)
        ``lower <= v* <= upper`` componentwise.
    v : ndarray, shape (S,)
        Midpoint ``(lower + upper) / 2``, the best point estimate of ``v*`` from this sweep.
    error_bound : float
        ``||v - v*||_inf <= error_bound = gamma / (1 - gamma) * span(T v_in - v_in) / 2`` plus the
        round-off terms (see ``round_off``).
    input_error_bound : float
        ``||v_in - v*||_inf <= ||T v_in - v_in||_inf / (1 - gamma)`` (for the unmodified input) plus
        the round-off terms.
    pi : ndarray of int64, shape (S,)
        The policy certified: greedy with respect to ``v_in`` unless one was passed.
    policy_error_bound : float
        ``||v* - v^pi||_inf <= policy_error_bound``.
    q : ndarray, shape (S, A)
        ``R + gamma * P @ v_in``.
    residual : float
        ``||T v_in - v_in||_inf`` as computed.
    round_off : float
        The part of the bounds that covers floating-point round-off: a bound on the error of the
        computed ``T v_in - v_in``, divided by ``1 - gamma``. The sweep is re-centred on the
        mid-range of ``v_in`` (``mdp.solvers._core.recentred_sweep``), so this scales with
        ``span(v_in)`` rather than ``||v_in||``. No certificate from this sweep can be tighter than it.
    """

    lower: np.ndarray
    upper: np.ndarray
    v: np.ndarray
    error_bound: float
    input_error_bound: float
    pi: np.ndarray
    policy_error_bound: float
    q: np.ndarray
    residual: float
    round_off: float


def certify(m, v, pi=None) -> Certificate:
    """Certify a value function (and a policy) for a discounted MDP with one Bellman sweep.

    Parameters
    ----------
    m : TabularMDP
        Discounted model (``gamma < 1``), dense or sparse.
    v : array_like, shape (S,)
        Any value estimate.
    pi : array_like of int, shape (S,), optional
        Deterministic policy to certify; default the greedy policy with respect to ``v``.

    Returns
    -------
    Certificate
        Componentwise bounds on ``v*`` (Puterman 1994, Thm 6.6.3), the error of ``v`` and of the
        midpoint, and a bound on the loss of ``pi``.

    Examples
    --------
    >>> import numpy as np, mdp
    >>> m = mdp.generators.forest(gamma=0.96)
    >>> c = mdp.certify(m, np.zeros(3))
    >>> bool(np.all(c.lower <= c.upper))
    True
    """
    m = require_mdp(m)
    v = check_v(v, m)
    v_abs = float(np.abs(v).max())
    if not v_abs <= VALUE_LIMIT:
        raise ValueError(
            f"v has entries up to {v_abs:.3g} in absolute value, beyond the {VALUE_LIMIT:g} that "
            "float64 certificates can represent with room for their sums; rescale R and v"
        )
    # the sweep at v, re-centred on the mid-range of v so that its round-off scales with span(v)
    sw = recentred_sweep(m, v)
    c0, d, err_tv, err_d = sw.c, sw.d, sw.err_tv, sw.err_d
    lower, upper = _shift_back(c0, *macqueen_bounds(m, sw.tv, d, err_tv, err_d))
    pi_greedy = sw.pi
    if pi is None:
        pi = pi_greedy
        lower_pi = lower
    else:
        pi = np.array(check_policy(pi, m.n_states, m.n_actions))  # own copy: the certificate freezes it
        if pi.ndim != 1:
            raise ValueError("pi must be a deterministic policy of shape (S,) to be certified")
        tpv = sw.q[np.arange(m.n_states), pi]  # T_pi in the re-centred frame (same rounding bound)
        dp = tpv - sw.u
        lower_pi, _ = _shift_back(
            c0, *macqueen_bounds(m, tpv, dp, err_tv, difference_rounding(err_tv, float(np.abs(dp).max())))
        )
    residual = float(np.abs(d).max())
    c = contraction(m)
    u4 = 4.0 * UNIT_ROUNDOFF
    big = float(max(np.abs(lower).max(), np.abs(upper).max()))
    mid = 0.5 * (lower + upper)
    return Certificate(
        lower=lower,
        upper=upper,
        v=mid,
        # the subtraction, the halving and the midpoint itself round: a few ulps of the bounds
        error_bound=float(0.5 * (upper - lower).max() + u4 * big + 4.0 * UNDERFLOW),
        # v~ = u + c is what the sweep certifies; v is within v_err of it
        input_error_bound=(residual + err_d) / (1.0 - c) * (1.0 + u4) + sw.v_err + 4.0 * UNDERFLOW,
        pi=pi,
        policy_error_bound=float(
            max(0.0, (upper - lower_pi).max()) + u4 * max(big, float(np.abs(lower_pi).max())) + 4.0 * UNDERFLOW
        ),
        q=sw.q + c0,  # Q(v~), rounded once more
        residual=residual,
        round_off=err_d / (1.0 - c),
    )


def _shift_back(c: float, lower: np.ndarray, upper: np.ndarray):
    """``(c + lower, c + upper)`` widened by the rounding of the additions (a bracket on ``v*``
    from one on ``v* - c``)."""
    lo, hi = c + lower, c + upper
    pad = 2.0 * UNIT_ROUNDOFF * (np.abs(lo) + np.abs(hi)) + 2.0 * UNDERFLOW
    return lo - pad, hi + pad


def round_off_floor(m) -> float:
    """A priori float64 round-off floor of ``m``'s plain Bellman sweep: a ``tol`` every solver certifies.

    ``backup_rounding(m, V) / (1 - gamma)`` at ``V = max|R| / (1 - gamma)``, a bound on every
    ``||v||`` the solvers meet on the way to ``v*`` (``||T v|| <= max|R| + gamma ||v||``); with rows
    of ``n`` entries it is about ``(n + 2) u max|R| / (1 - gamma)^2``, ``u = 1.1e-16``. A plain sweep
    at ``v ~ v*`` has at most this round-off. ``mdp.certify``, and ``mdp.solve`` once ``tol`` lies below
    it, re-centre the sweep on the mid-range of ``v`` (``mdp.solvers._core.recentred_sweep``), whose
    round-off scales with ``span(v)``: on fast-mixing models they certify 76-774x below this floor
    (``Certificate.round_off`` says how far at a given ``v``); the other solvers stop at it, with
    ``converged=False`` and a warning. To ask for "as exact as float64 allows" without one, pass
    ``tol=mdp.attainable_tol(m, tol)``.

    Examples
    --------
    >>> import numpy as np, mdp
    >>> m = mdp.TabularMDP(np.ones((1, 1, 1)), np.array([[3.3]]), 0.999)
    >>> 1e-9 < mdp.round_off_floor(m) < 2e-9   # so solve(m, tol=1e-12) cannot be certified
    True
    """
    m = require_mdp(m)
    return iterate_rounding(m) / (1.0 - contraction(m))


def attainable_tol(m, tol: float) -> float:
    """``max(tol, 4 * round_off_floor(m))``: ``tol``, or an accuracy every solver certifies on ``m``
    without a floor warning where ``tol`` lies below the plain sweep's float64 round-off floor."""
    return max(float(tol), 4.0 * round_off_floor(m))


def reference_certify(P: np.ndarray, R: np.ndarray, gamma: float, v: np.ndarray):
    """Plain-numpy twin: ``(lower, upper)`` bounds on ``v*`` from one sweep (dense ``P``).

    Uses the row-sum range of ``P`` exactly as given (1 for exactly stochastic rows).
    """
    q = R + gamma * np.einsum("sat,t->sa", P, v)
    tv = q.max(axis=1)
    d = tv - v
    sums = P.sum(axis=2)
    k = {s_: gamma * s_ / (1 - gamma * s_) for s_ in (sums.min(), sums.max())}
    lower = tv + (k[sums.max()] if d.min() < 0 else k[sums.min()]) * d.min()
    upper = tv + (k[sums.max()] if d.max() > 0 else k[sums.min()]) * d.max()
    return lower, upper
