"""Policy evaluation: ``v^pi = (I - gamma P_pi)^{-1} r_pi``, exactly or iteratively.

Exact: one LAPACK (dense) or SuperLU (sparse) solve. Iterative: ``v <- T_pi v`` until
``gamma / (1 - gamma) * ||v_{t+1} - v_t||_inf <= tol`` (``T_pi`` is a ``gamma``-contraction, so
the F3 argument applies), which certifies ``||v - v^pi||_inf <= tol``.
Deterministic ``pi`` is ``(S,)`` integer actions; stochastic ``pi`` is ``(S, A)`` rows.
"""

from __future__ import annotations

import warnings

import numpy as np

from mdp._common import ConvergenceWarning, result
from mdp._common.linear import solve_policy_system
from mdp._validation import check_policy, check_positive_int, check_tol
from mdp.solvers._core import (
    UNIT_ROUNDOFF,
    backup_rounding,
    check_v,
    contraction,
    difference_rounding,
    f3_bound,
    f3_threshold,
    iterate_rounding,
    policy_backup,
    q_values,
    require_mdp,
)

__all__ = ["PolicyEvaluationResult", "policy_evaluation", "reference_policy_evaluation"]


@result
class PolicyEvaluationResult:
    """``v = v^pi`` ``(S,)``, ``q = Q^pi`` ``(S, A)``, iterations, certified ``error_bound``."""

    v: np.ndarray
    q: np.ndarray
    n_iter: int
    error_bound: float
    converged: bool
    method: str


def reference_policy_evaluation(P, R, gamma, pi):
    """Plain numpy: ``v^pi`` for dense ``P`` and a stochastic ``pi`` ``(S, A)``."""
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = np.einsum("sa,sa->s", pi, R)
    return np.linalg.solve(np.eye(R.shape[0]) - gamma * P_pi, r_pi)


def policy_evaluation(
    m, pi, *, method: str = "exact", tol: float = 1e-10, max_iter: int = 100_000, v0=None
) -> PolicyEvaluationResult:
    """Evaluate a deterministic or stochastic policy.

    Parameters
    ----------
    m : TabularMDP
        Discounted model.
    pi : array_like
        ``(S,)`` integer actions or ``(S, A)`` action probabilities.
    method : {"exact", "iterative"}
    tol : float, default 1e-10
        Iterative only: certified bound on ``||v - v^pi||_inf``.
    max_iter : int, default 100000
        Iterative only.
    v0 : array_like, shape (S,), optional
        Iterative only: start (default zeros).

    Returns
    -------
    PolicyEvaluationResult
        ``error_bound`` is ``||T_pi v - v||_inf / (1 - gamma)`` for the exact solve (round-off level)
        and the F3 bound for the iterative one, each widened by the round-off of the computed
        backup (``mdp.solvers._core.backup_rounding``), so it holds for the exact ``v^pi``.
    """
    m = require_mdp(m)
    pi = check_policy(pi, m.n_states, m.n_actions)
    if method not in ("exact", "iterative"):
        raise ValueError(f"method must be 'exact' or 'iterative', got {method!r}")
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    g = m.gamma
    S = m.n_states
    stochastic = pi.ndim == 2

    def backup(v, out):
        if stochastic:
            out[:] = np.einsum("sa,sa->s", pi, q_values(m, v))
        else:
            policy_backup(m, pi, v, out)
        return out

    c = contraction(m)
    # round-off of one computed backup (a stochastic pi also averages A values of q)
    extra = m.n_actions if stochastic else 0
    if method == "exact":
        v = solve_policy_system(m.policy_matrix(pi), g, m.policy_reward(pi))
        n_iter, converged = 1, True
        res = float(np.abs(backup(v, np.empty(S)) - v).max())
        err = difference_rounding(backup_rounding(m, float(np.abs(v).max()), extra), res)
        error_bound = (res + err) / (1 - c) * (1 + 4 * UNIT_ROUNDOFF)
    else:
        v = np.zeros(S) if v0 is None else check_v(v0, m, "v0")
        u = np.empty(S)
        # ||v_{t+1} - v^pi|| <= (c ||v_{t+1} - v_t|| + err) / (1 - c), err the round-off of a sweep
        # at the iterates' size (below max(||v0||, max|R| / (1 - c)))
        thresh = f3_threshold(tol, c, iterate_rounding(m, float(np.abs(v).max()), extra))
        converged = False
        diff = np.inf
        for n_iter in range(1, max_iter + 1):
            backup(v, u)
            diff = float(np.abs(u - v).max())
            v, u = u, v
            if diff <= thresh:
                converged = True
                break
        err = backup_rounding(m, float(np.abs(v).max()) + diff, extra)
        error_bound = f3_bound(c, diff, err)
        if converged and error_bound > tol:
            converged = False
            warnings.warn(
                f"policy_evaluation: tol={tol:g} is below the float64 round-off floor "
                f"{err / (1 - c):.3g} of this model; certified error bound {error_bound:.3g}",
                ConvergenceWarning,
                stacklevel=2,
            )
        elif not converged:
            warnings.warn(
                f"policy_evaluation stopped at max_iter={max_iter} with bound {error_bound:.3g} > tol={tol:g}",
                ConvergenceWarning,
                stacklevel=2,
            )
    return PolicyEvaluationResult(
        v=v,
        q=q_values(m, v),
        n_iter=int(n_iter),
        error_bound=float(error_bound),
        converged=converged,
        method=f"policy_evaluation[{method}]",
    )
