"""``mdp.solve``: a fast method with a certified ``tol``-accurate answer.

Runs modified policy iteration with MacQueen span bounds (Puterman 1994, Sec. 6.5-6.6): each
outer step costs one full Bellman sweep plus ``k`` cheap sweeps over the ``S`` rows of the current
policy, and the stopping rule certifies ``||v - v*||_inf <= tol`` (see
:mod:`mdp.solvers.modified_policy_iteration`).
"""
from __future__ import annotations

from mdp._validation import check_positive_int, check_tol
from mdp.solvers._core import SolverResult, require_mdp
from mdp.solvers.modified_policy_iteration import modified_policy_iteration

__all__ = ["solve"]


def solve(m, tol: float = 1e-8, *, max_iter: int = 10_000) -> SolverResult:
    """Solve a discounted MDP to a certified accuracy ``tol``.

    Parameters
    ----------
    m : TabularMDP
        Discounted model, dense or sparse.
    tol : float, default 1e-8
        Certified bound on ``||v - v*||_inf`` of the returned ``v``.
    max_iter : int, default 10000
        Budget of improvement sweeps.

    Returns
    -------
    SolverResult
        ``result.error_bound <= tol`` whenever ``result.converged``; ``method`` names what ran.

    Examples
    --------
    >>> import numpy as np, mdp
    >>> m = mdp.generators.random_mdp(50, 4, rng=np.random.default_rng(0), gamma=0.99)
    >>> res = mdp.solve(m, tol=1e-8)
    >>> res.converged and res.error_bound <= 1e-8
    True
    """
    m = require_mdp(m)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    return modified_policy_iteration(m, tol=tol, max_iter=max_iter, k=20)
