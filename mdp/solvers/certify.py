"""A-posteriori certificates: bounds on ``v*`` and on a policy's loss from one Bellman sweep.

For any ``v`` (from any solver, ours or a peer library's), one application of the Bellman
optimality operator ``T`` brackets the optimal value (Puterman 1994, Thm 6.6.3, the
MacQueen/Porteus bounds): with ``D = T v - v``,

    T v + gamma / (1 - gamma) * min(D)  <=  v*  <=  T v + gamma / (1 - gamma) * max(D).

The same argument for ``T_pi`` brackets ``v^pi``, so for any deterministic ``pi`` the loss
``v* - v^pi`` is bounded by the gap between the upper bound on ``v*`` and the lower bound on ``v^pi``;
for ``pi`` greedy with respect to ``v`` that gap is ``gamma / (1 - gamma) * span(D)``.

The sweep itself is computed in float64: ``T v`` and ``D`` carry round-off, bounded a priori by
:func:`mdp.solvers._core.backup_rounding` (worst case ``(n + 2) u (max|R| + gamma ||v||)`` for rows of
``n`` entries, Higham 2002, Eq. 3.5), and every bound is widened by it, so the certificate holds for
the exact optimum of the stored model, not only for the rounded operator.

Rows of ``P`` are stochastic only up to the model's ``atol`` and its storage precision (float32);
the bounds use the stored row-sum range (``TabularMDP.row_sum_range``) so they stay valid for the
operator the kernels actually apply (see :func:`mdp.solvers._core.macqueen_bounds`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mdp._validation import check_policy
from mdp.solvers._core import (
    UNIT_ROUNDOFF,
    backup_rounding,
    check_v,
    iterate_rounding,
    contraction,
    difference_rounding,
    frozen,
    macqueen_bounds,
    policy_backup,
    q_values,
    require_mdp,
)

__all__ = ["Certificate", "certify", "round_off_floor", "attainable_tol", "reference_certify"]


@dataclass(frozen=True)
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
        computed ``T v_in - v_in`` (:func:`mdp.solvers._core.backup_rounding`), divided by
        ``1 - gamma``. No certificate from this sweep can be tighter than it; a tolerance below it
        cannot be certified in float64 (rescale ``R``, or use fewer states per row).
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

    def __post_init__(self):
        for name in ("lower", "upper", "v", "pi", "q"):
            frozen(getattr(self, name))


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
    q = q_values(m, v)
    pi_greedy = np.argmax(q, axis=1).astype(np.int64)
    tv = q[np.arange(m.n_states), pi_greedy]
    d = tv - v
    # T v and D = T v - v as computed differ from the exact ones by at most err_tv and err_d
    err_tv = backup_rounding(m, float(np.abs(v).max()))
    err_d = difference_rounding(err_tv, float(np.abs(d).max()))
    lower, upper = macqueen_bounds(m, tv, d, err_tv, err_d)
    if pi is None:
        pi = pi_greedy
        lower_pi = lower
    else:
        pi = np.array(check_policy(pi, m.n_states, m.n_actions))  # own copy: the certificate freezes it
        if pi.ndim != 1:
            raise ValueError("pi must be a deterministic policy of shape (S,) to be certified")
        tpv = policy_backup(m, pi, v)
        dp = tpv - v
        lower_pi, _ = macqueen_bounds(m, tpv, dp, err_tv, difference_rounding(err_tv, float(np.abs(dp).max())))
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
        error_bound=float(0.5 * (upper - lower).max() + u4 * big),
        input_error_bound=(residual + err_d) / (1.0 - c) * (1.0 + u4),
        pi=pi,
        policy_error_bound=float(max(0.0, (upper - lower_pi).max()) + u4 * max(big, float(np.abs(lower_pi).max()))),
        q=q,
        residual=residual,
        round_off=err_d / (1.0 - c),
    )


def round_off_floor(m) -> float:
    """A priori float64 round-off floor of ``m``: the smallest ``tol`` its certificates can reach.

    ``backup_rounding(m, V) / (1 - gamma)`` at ``V = max|R| / (1 - gamma)``, a bound on every
    ``||v||`` the solvers meet on the way to ``v*`` (``||T v|| <= max|R| + gamma ||v||``); with rows
    of ``n`` entries it is about ``(n + 2) u max|R| / (1 - gamma)^2``, ``u = 1.1e-16``. A certificate
    at ``v ~ v*`` (:attr:`Certificate.round_off`) is at most this; solvers asked for a smaller
    ``tol`` end with ``converged=False`` and a warning. To ask for "as exact as float64 allows"
    without one, pass ``tol=mdp.attainable_tol(m, tol)``.

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
    """``max(tol, 4 * round_off_floor(m))``: ``tol``, or the tightest accuracy the solvers can
    certify on ``m`` without a floor warning where ``tol`` lies below the float64 round-off floor."""
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
