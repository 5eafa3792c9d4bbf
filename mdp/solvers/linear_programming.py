"""The primal linear program of a discounted MDP (d'Epenoux 1963; Puterman 1994, Sec. 6.9).

    minimise    sum_s v(s)
    subject to  v(s) >= R(s, a) + gamma * sum_s' P(s, a, s') v(s')    for all (s, a).

Its unique solution is ``v*``. Solved by scipy's HiGHS (default; the constraint matrix is built
sparse, ``gamma P - E`` with ``E[(s, a), s] = 1``) or by cvxpy. The LP's feasibility tolerance
limits the accuracy of its ``v``; with ``polish=True`` (default) the greedy policy of the LP
solution is evaluated exactly, which gives ``v*`` to round-off when the LP identified an optimal
policy, and otherwise Howard policy iteration warm-started there finishes the job (a crossover,
usually zero or one improvement). Either way the reported bounds come from :func:`mdp.certify`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from mdp._common.deprecation import migrate_signature
from mdp.solvers._core import SolverResult, q_values, require_mdp
from mdp.solvers.certify import certify

# HiGHS reads any bound or right-hand side of magnitude >= 1e20 as infinite (its `infinite_bound`
# option), and R is the LP's right-hand side.
_HIGHS_INF = 1e20

__all__ = ["linear_programming", "lp_matrices"]


def lp_matrices(m):
    """``(A_ub, b_ub)`` with ``A_ub v <= b_ub`` encoding ``v >= R + gamma P v`` (sparse CSR)."""
    S, A = m.n_states, m.n_actions
    P = m.P.astype(np.float64) if m.is_sparse else sp.csr_matrix(np.asarray(m.P, np.float64).reshape(S * A, S))
    E = sp.csr_matrix((np.ones(S * A), (np.arange(S * A), np.repeat(np.arange(S), A))), shape=(S * A, S))
    return (m.gamma * P - E).tocsr(), -m.R.ravel()


@migrate_signature(renamed={"backend": "method"})
def linear_programming(m, *, method: str = "highs", polish: bool = True) -> SolverResult:
    """Solve a discounted MDP by linear programming.

    Parameters
    ----------
    m : TabularMDP
        Discounted model, dense or sparse.
    method : {"highs", "cvxpy"}
        ``scipy.optimize.linprog(method="highs")`` or a cvxpy problem with its default solver.
    polish : bool, default True
        Replace the LP values by exact policy iteration warm-started at the LP's greedy policy.

    Returns
    -------
    SolverResult
        ``n_iter`` = simplex/IPM iterations reported by HiGHS (0 for cvxpy), bounds from
        :func:`mdp.certify`; when polished, ``residuals`` are the crossover's per-iteration switch
        counts, otherwise ``[||T v - v||_inf]``.
    """
    m = require_mdp(m)
    if method not in ("highs", "cvxpy"):
        raise ValueError(f"method must be 'highs' or 'cvxpy', got {method!r}")
    backend = method
    if not isinstance(polish, (bool, np.bool_)):
        raise TypeError(f"polish must be a bool, got {type(polish).__name__}")
    if backend == "highs" and not m.r_max < _HIGHS_INF:
        raise ValueError(
            f"m.R: max|R| = {m.r_max:.3g} reaches HiGHS's infinite bound {_HIGHS_INF:g} (it would read those "
            "rewards as infinite); rescale R (the optimal policy is unchanged by a positive factor) or use mdp.solve"
        )
    A_ub, b_ub = lp_matrices(m)
    S = m.n_states
    if backend == "highs":
        from scipy.optimize import linprog

        res = linprog(np.ones(S), A_ub=A_ub, b_ub=b_ub, bounds=(None, None), method="highs")
        if res.status != 0:
            raise RuntimeError(f"HiGHS failed on the MDP linear program: {res.message}")
        v, n_iter = np.asarray(res.x, dtype=np.float64), int(getattr(res, "nit", 0))
    else:
        import cvxpy as cp

        x = cp.Variable(S)
        prob = cp.Problem(cp.Minimize(cp.sum(x)), [A_ub @ x <= b_ub])
        prob.solve()
        if prob.status not in ("optimal", "optimal_inaccurate") or x.value is None:
            raise RuntimeError(f"cvxpy failed on the MDP linear program: status {prob.status}")
        v, n_iter = np.asarray(x.value, dtype=np.float64), 0
    label = f"linear_programming[{backend}{', polished' if polish else ''}]"
    if polish:
        # crossover: Howard PI warm-started at the LP's greedy policy (usually stable at once); its
        # result is already certified, so it is returned as is (residuals: its switch counts)
        from mdp.solvers.policy_iteration import policy_iteration

        pi_lp = np.argmax(q_values(m, v), axis=1).astype(np.int64)
        return replace(policy_iteration(m, pi0=pi_lp), n_iter=n_iter, method=label)
    cert = certify(m, v)
    return SolverResult(
        v=v,
        pi=cert.pi,
        q=cert.q,
        n_iter=n_iter,
        error_bound=cert.input_error_bound,
        policy_error_bound=cert.policy_error_bound,
        converged=True,
        method=label,
        residuals=np.asarray([cert.residual]),
    )
