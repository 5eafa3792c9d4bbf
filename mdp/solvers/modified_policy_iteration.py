"""Modified policy iteration with span-seminorm (MacQueen) bounds (Puterman & Shin 1978;
Puterman 1994, Sec. 6.5 and Thm 6.6.3).

Each outer step does one Bellman sweep ``u = T v`` (greedy ``pi``) and then ``k`` partial
evaluation sweeps ``u <- T_pi u``. It stops when the MacQueen bracket from the improvement sweep,

    T v + gamma/(1-gamma) min(T v - v) <= v* <= T v + gamma/(1-gamma) max(T v - v),

is narrower than ``2 tol``, and returns its midpoint, so ``||v - v*||_inf <= tol`` is certified.
``k = 0`` is value iteration with the same bounds; ``k -> inf`` approaches policy iteration.
"""
from __future__ import annotations

import warnings

import numpy as np

from mdp._validation import check_positive_int, check_tol
from mdp.solvers._core import SolverResult, bellman_operator, check_v, macqueen_bounds, policy_backup, require_mdp
from mdp.solvers.certify import certify
from mdp.solvers.value_iteration import ConvergenceWarning

__all__ = ["modified_policy_iteration", "reference_modified_policy_iteration"]


def reference_modified_policy_iteration(P, R, gamma, k=20, tol=1e-8, max_iter=10_000):
    """Plain-numpy MPI with the span stopping rule; returns ``(v, pi, n_iter)``."""
    S = R.shape[0]
    v = np.zeros(S)
    c = gamma / (1 - gamma)
    for it in range(1, max_iter + 1):
        q = R + gamma * P @ v
        tv, pi = q.max(axis=1), q.argmax(axis=1)
        d = tv - v
        if c * (d.max() - d.min()) / 2 <= tol:
            return tv + c * (d.max() + d.min()) / 2, pi, it
        u = tv
        P_pi, r_pi = P[np.arange(S), pi], R[np.arange(S), pi]
        for _ in range(k):
            u = r_pi + gamma * P_pi @ u
        v = u
    return v, pi, max_iter


def modified_policy_iteration(m, *, tol: float = 1e-8, max_iter: int = 10_000, k: int = 20, v0=None) -> SolverResult:
    """Solve a discounted MDP by modified policy iteration with certified span bounds.

    Parameters
    ----------
    m : TabularMDP
        Discounted model, dense or sparse.
    tol : float, default 1e-8
        Certified target on ``||v - v*||_inf``.
    max_iter : int, default 10000
        Budget of outer (improvement) steps.
    k : int, default 20
        Partial-evaluation sweeps per outer step (``T_pi`` applications, each reading only the
        ``S`` rows ``P[s, pi(s), :]``).
    v0 : array_like, shape (S,), optional
        Start (default zeros).

    Returns
    -------
    SolverResult
        ``v`` the midpoint of the final MacQueen bracket, ``pi`` greedy w.r.t. the last iterate,
        ``error_bound`` = half the bracket width, ``residuals[t]`` = ``span(T v_t - v_t)``.
    """
    m = require_mdp(m)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    k = check_positive_int(k, "k", minimum=0)
    v = np.zeros(m.n_states) if v0 is None else check_v(v0, m, "v0")
    tv = np.empty(m.n_states)
    pi = np.empty(m.n_states, dtype=np.int64)
    u2 = np.empty(m.n_states)
    spans = []
    converged = False
    for _ in range(max_iter):
        bellman_operator(m, v, tv, pi)
        d = tv - v
        spans.append(d.max() - d.min())
        lower, upper = macqueen_bounds(m, tv, d)  # Thm 6.6.3 with the stored row-sum range
        width = float((upper - lower).max())
        if width / 2 <= tol:
            converged = True
            v = 0.5 * (lower + upper)
            break
        u = tv.copy()
        for _ in range(k):
            policy_backup(m, pi, u, u2)
            u, u2 = u2, u
        v = u
    if not converged:
        warnings.warn(f"modified_policy_iteration stopped at max_iter={max_iter} before tol={tol:g}",
                      ConvergenceWarning, stacklevel=2)
    cert = certify(m, v)
    error_bound = width / 2 if converged else cert.input_error_bound
    return SolverResult(
        v=v,
        pi=cert.pi,
        q=cert.q,
        n_iter=len(spans),
        error_bound=float(min(error_bound, cert.input_error_bound)),
        policy_error_bound=cert.policy_error_bound,
        converged=converged,
        method=f"modified_policy_iteration[k={k}]",
        residuals=np.asarray(spans),
    )
