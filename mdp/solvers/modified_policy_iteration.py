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

from mdp._common import ConvergenceWarning
from mdp._validation import check_positive_int, check_tol
from mdp.solvers._core import (
    UNDERFLOW,
    UNIT_ROUNDOFF,
    SolverResult,
    backup_rounding,
    bellman_operator,
    check_v,
    contraction,
    difference_rounding,
    macqueen_bounds,
    policy_backup,
    require_mdp,
)
from mdp.solvers.certify import certify

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
        ``error_bound`` = half the bracket width (widened for round-off as in :func:`mdp.certify`),
        ``residuals[t]`` = ``span(T v_t - v_t)``. A ``tol`` below the model's float64 round-off floor
        ends with ``converged=False``, a :class:`ConvergenceWarning` and the best bound reached.
    """
    m = require_mdp(m)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    k = check_positive_int(k, "k", minimum=0)
    v = np.zeros(m.n_states) if v0 is None else check_v(v0, m, "v0")
    c = contraction(m)
    tv = np.empty(m.n_states)
    pi = np.empty(m.n_states, dtype=np.int64)
    u2 = np.empty(m.n_states)
    spans = []
    converged = floor_hit = False
    for _ in range(max_iter):
        bellman_operator(m, v, tv, pi)
        d = tv - v
        spans.append(d.max() - d.min())
        # Thm 6.6.3 with the stored row-sum range, widened by the round-off of the computed sweep
        err_tv = backup_rounding(m, float(np.abs(v).max()))
        err_d = difference_rounding(err_tv, float(np.abs(d).max()))
        lower, upper = macqueen_bounds(m, tv, d, err_tv, err_d)
        # half the bracket, plus the round-off of the midpoint taken below
        half = (
            float(0.5 * (upper - lower).max())
            + 4 * UNIT_ROUNDOFF * float(np.abs(upper).max() + np.abs(lower).max())
            + 4 * UNDERFLOW
        )
        floor = err_d / (1.0 - c)  # the half-width at span(D) = 0: no check goes below it
        if half <= tol or (floor > tol and (half <= 1.25 * floor or (len(spans) > 1 and spans[-1] >= spans[-2]))):
            converged = half <= tol
            floor_hit = not converged
            v = 0.5 * (lower + upper)
            break
        u = tv.copy()
        for _ in range(k):
            policy_backup(m, pi, u, u2)
            u, u2 = u2, u
        v = u
    if floor_hit:
        warnings.warn(
            f"modified_policy_iteration: tol={tol:g} is below the float64 round-off floor {floor:.3g} "
            f"of this model (see mdp.certify); certified error bound {half:.3g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    elif not converged:
        warnings.warn(
            f"modified_policy_iteration stopped at max_iter={max_iter} before tol={tol:g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    cert = certify(m, v)
    error_bound = half if (converged or floor_hit) else np.inf
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
