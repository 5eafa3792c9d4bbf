"""A-posteriori certificates: bounds on ``v*`` and on a policy's loss from one Bellman sweep.

For any ``v`` (from any solver, ours or a peer library's), one application of the Bellman
optimality operator ``T`` brackets the optimal value (Puterman 1994, Thm 6.6.3, the
MacQueen/Porteus bounds): with ``D = T v - v``,

    T v + gamma / (1 - gamma) * min(D)  <=  v*  <=  T v + gamma / (1 - gamma) * max(D).

The same argument for ``T_pi`` brackets ``v^pi``, so for any deterministic ``pi`` the loss
``v* - v^pi`` is bounded by the gap between the upper bound on ``v*`` and the lower bound on ``v^pi``;
for ``pi`` greedy with respect to ``v`` that gap is ``gamma / (1 - gamma) * span(D)``.

Rows of ``P`` are stochastic only up to the model's ``atol`` and its storage precision (float32);
the bounds use the stored row-sum range (``TabularMDP.row_sum_range``) so they stay valid for the
operator the kernels actually apply (see :func:`mdp.solvers._core.macqueen_bounds`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mdp._validation import check_policy
from mdp.solvers._core import check_v, contraction, frozen, macqueen_bounds, policy_backup, q_values, require_mdp

__all__ = ["Certificate", "certify", "reference_certify"]


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
        ``||v - v*||_inf <= error_bound = gamma / (1 - gamma) * span(T v_in - v_in) / 2``.
    input_error_bound : float
        ``||v_in - v*||_inf <= ||T v_in - v_in||_inf / (1 - gamma)`` (for the unmodified input).
    pi : ndarray of int64, shape (S,)
        The policy certified: greedy with respect to ``v_in`` unless one was passed.
    policy_error_bound : float
        ``||v* - v^pi||_inf <= policy_error_bound``.
    q : ndarray, shape (S, A)
        ``R + gamma * P @ v_in``.
    residual : float
        ``||T v_in - v_in||_inf``.
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
    lower, upper = macqueen_bounds(m, tv, d)
    if pi is None:
        pi = pi_greedy
        lower_pi = lower
    else:
        pi = np.array(check_policy(pi, m.n_states, m.n_actions))  # own copy: the certificate freezes it
        if pi.ndim != 1:
            raise ValueError("pi must be a deterministic policy of shape (S,) to be certified")
        tpv = policy_backup(m, pi, v)
        lower_pi, _ = macqueen_bounds(m, tpv, tpv - v)
    residual = float(np.abs(d).max())
    return Certificate(
        lower=lower,
        upper=upper,
        v=0.5 * (lower + upper),
        error_bound=float(0.5 * (upper - lower).max()),
        input_error_bound=residual / (1.0 - contraction(m)),
        pi=pi,
        policy_error_bound=float(max(0.0, (upper - lower_pi).max())),
        q=q,
        residual=residual,
    )


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
