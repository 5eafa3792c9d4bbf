"""Simplex policy iteration: switch only the state with the largest advantage (Dantzig's rule).

Each iteration evaluates ``v^{pi_t}`` exactly, computes the advantages
``adv(s, a) = Q^{pi_t}(s, a) - v^{pi_t}(s)`` and, if the largest one exceeds a round-off margin,
switches that single state to that action (ties: smallest state, then smallest action). It is the
simplex method with Dantzig's pivoting rule on the dual LP of the MDP (Ye 2011) and terminates in
``O(n m / (1 - gamma) * log(1 / (1 - gamma)))`` iterations (Scherrer 2016, Math. Oper. Res. 41(3);
``n`` states, ``m`` state-action pairs). Since a state changes action only when it is switched,
the number of switches is at least the number of states whose initial action is not optimal (F7).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._validation import check_positive_int, check_tol
from mdp.solvers._core import SolverResult, require_mdp
from mdp.solvers.policy_iteration import run_policy_iteration

__all__ = ["simplex_policy_iteration", "reference_simplex_policy_iteration"]


@njit(cache=True)
def _dantzig_switch(q, v, pi, rtol):
    """Switch the pair with the largest advantage in place; returns that advantage (0 if none switched)."""
    S, A = q.shape
    best_adv = 0.0
    best_s = -1
    best_a = -1
    for s in range(S):
        margin = rtol * max(1.0, abs(v[s]))
        for a in range(A):
            adv = q[s, a] - v[s]
            if adv > margin and adv > best_adv:
                best_adv = adv
                best_s = s
                best_a = a
    if best_s < 0:
        return 0.0
    pi[best_s] = best_a
    return best_adv


def reference_simplex_policy_iteration(P, R, gamma, pi0=None, rtol=1e-12, max_iter=100_000):
    """Plain-numpy Simplex-PI on dense ``P``; returns ``(v, pi, n_iter)`` (``n_iter`` evaluations)."""
    P = np.asarray(P, dtype=np.float64)
    S, A = R.shape
    pi = np.zeros(S, dtype=np.int64) if pi0 is None else np.array(pi0, dtype=np.int64)
    for it in range(1, max_iter + 1):
        v = np.linalg.solve(np.eye(S) - gamma * P[np.arange(S), pi], R[np.arange(S), pi])
        adv = R + gamma * P @ v - v[:, None]
        adv[adv <= rtol * np.maximum(1.0, np.abs(v))[:, None]] = 0.0
        if not adv.any():
            return v, pi, it
        s, a = np.unravel_index(int(np.argmax(adv)), adv.shape)
        pi[s] = a
    return v, pi, max_iter


def simplex_policy_iteration(m, *, max_iter: int = 100_000, pi0=None, rtol: float = 1e-12) -> SolverResult:
    """Solve a discounted MDP by Simplex policy iteration (one switch per iteration).

    Parameters
    ----------
    m : TabularMDP
        Discounted model, dense or sparse.
    max_iter : int, default 100000
        Budget of evaluations.
    pi0 : array_like of int, shape (S,), optional
        Initial deterministic policy (default all zeros).
    rtol : float, default 1e-12
        A pair is improving only if its advantage exceeds ``rtol * max(1, |v(s)|)``.

    Returns
    -------
    SolverResult
        ``n_iter`` = number of exact evaluations (switches + 1 when converged),
        ``residuals[t]`` = the advantage of the pair switched at iteration ``t`` (0 at the last).

    Examples
    --------
    >>> import mdp
    >>> res = mdp.simplex_policy_iteration(mdp.generators.forest(gamma=0.96))
    >>> res.pi.tolist(), [round(float(x), 4) for x in res.v]
    ([0, 0, 0], [74.6496, 78.1056, 82.1056])
    """
    m = require_mdp(m)
    max_iter = check_positive_int(max_iter, "max_iter")
    rtol = check_tol(rtol, "rtol", allow_zero=True)
    return run_policy_iteration(
        m,
        pi0,
        lambda q, v, pi: _dantzig_switch(q, v, pi, rtol),
        max_iter,
        "simplex_policy_iteration",
        "policy_iteration[simplex]",
    )
