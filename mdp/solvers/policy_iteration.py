"""Howard's policy iteration with exact evaluation (Howard 1960; Puterman 1994, Sec. 6.4).

Evaluate ``v^{pi_t} = (I - gamma P_pi)^{-1} r_pi`` exactly (LAPACK for dense, SuperLU for sparse),
then switch every state whose best action beats the current one by more than a round-off margin
(ties keep the current action, which guarantees termination). Values are monotone (F5) and the
iteration count is at most ``O(m / (1 - gamma) * log(1 / (1 - gamma)))`` (Scherrer 2016; F7).
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit

from mdp._common import ConvergenceWarning, result
from mdp._common.linear import solve_policy_system
from mdp._validation import as_float_array, check_policy, check_positive_int, check_tol
from mdp.solvers._core import SolverResult, q_values, require_mdp
from mdp.solvers.certify import certify

__all__ = [
    "policy_iteration",
    "improve_policy",
    "PolicyImprovement",
    "reference_policy_iteration",
    "evaluate_deterministic",
    "run_policy_iteration",
]


@njit(cache=True)
def _improve(q, pi, margin):
    """Howard improvement in place: switch ``s`` only if ``max_a q[s, a] > q[s, pi[s]] + margin[s]``.

    Returns the number of states switched.
    """
    S, A = q.shape
    changed = 0
    for s in range(S):
        cur = q[s, pi[s]]
        best = cur
        arg = pi[s]
        for a in range(A):
            if q[s, a] > best:
                best = q[s, a]
                arg = a
        if arg != pi[s] and best > cur + margin[s]:
            pi[s] = arg
            changed += 1
    return changed


@result
class PolicyImprovement:
    """Result of one Howard improvement step (:func:`improve_policy`).

    Attributes
    ----------
    pi : ndarray of int64, shape (S,)
        The improved deterministic policy.
    n_changed : int
        Number of states whose action changed.
    """

    pi: np.ndarray
    n_changed: int


def improve_policy(q, pi, *, rtol: float = 1e-12) -> PolicyImprovement:
    """Howard's policy improvement step, exactly as :func:`mdp.policy_iteration` takes it.

    State ``s`` switches to ``argmax_a q[s, a]`` (the first maximiser) only if
    ``max_a q[s, a] > q[s, pi[s]] + rtol * max(1, |q[s, pi[s]]|)``: ties and round-off-sized gains
    keep the current action, which is what makes policy iteration terminate (Puterman 1994,
    Sec. 6.4.2).

    Parameters
    ----------
    q : array_like, shape (S, A)
        Action values (typically ``q^pi`` of the policy being improved).
    pi : array_like of int, shape (S,)
        Current deterministic policy; not modified.
    rtol : float, keyword-only
        Relative margin a new action must beat the current one by (``>= 0``).

    Returns
    -------
    PolicyImprovement
        The new policy and how many states changed (0: ``pi`` is greedy for ``q`` up to the margin).

    Examples
    --------
    >>> import numpy as np
    >>> r = improve_policy(np.array([[0.0, 1.0], [2.0, 1.0]]), np.array([0, 0]))
    >>> r.pi.tolist(), r.n_changed
    ([1, 0], 1)
    """
    q = as_float_array(q, "q", ndim=2)
    S, A = q.shape
    new = check_policy(pi, S, A, "pi")
    if new.ndim != 1:
        raise ValueError(f"pi must be a deterministic policy of shape ({S},), got shape {new.shape}")
    rtol = check_tol(rtol, "rtol", allow_zero=True)
    new = new.copy()
    margin = rtol * np.maximum(1.0, np.abs(q[np.arange(S), new]))
    n = _improve(q, new, margin)
    return PolicyImprovement(new, int(n))


def evaluate_deterministic(m, pi: np.ndarray) -> np.ndarray:
    """``v^pi`` for a deterministic ``pi`` by one linear solve (no validation)."""
    return solve_policy_system(m.policy_matrix(pi), m.gamma, m.R[np.arange(m.n_states), pi])


def reference_policy_iteration(P, R, gamma, max_iter=10_000):
    """Plain-numpy Howard PI on dense ``P``; returns ``(v, pi, n_iter)``."""
    S, A = R.shape
    pi = np.zeros(S, dtype=np.int64)
    for it in range(1, max_iter + 1):
        P_pi = P[np.arange(S), pi]
        v = np.linalg.solve(np.eye(S) - gamma * P_pi, R[np.arange(S), pi])
        q = R + gamma * P @ v
        cur = q[np.arange(S), pi]
        better = q.max(axis=1) > cur + 1e-12 * np.maximum(1.0, np.abs(cur))
        if not better.any():
            return v, pi, it
        pi = np.where(better, q.argmax(axis=1), pi)
    return v, pi, max_iter


def policy_iteration(m, *, max_iter: int = 10_000, pi0=None, rtol: float = 1e-12) -> SolverResult:
    """Solve a discounted MDP by Howard's policy iteration with exact evaluation.

    Parameters
    ----------
    m : TabularMDP
        Discounted model, dense ``(S, A, S)`` or sparse ``(S * A, S)``.
    max_iter : int, default 10000
        Budget of improvement steps.
    pi0 : array_like of int, shape (S,), optional
        Initial deterministic policy (default all zeros).
    rtol : float, default 1e-12
        Round-off margin: a state switches only if its best ``q`` beats the current action's by
        more than ``rtol * max(1, |q|)`` (keeps exact ties and round-off from cycling).

    Returns
    -------
    SolverResult
        ``v = v^pi`` for the final policy, ``n_iter`` evaluations, ``error_bound`` and
        ``policy_error_bound`` from :func:`mdp.certify` (round-off level), ``residuals[t]`` = number
        of states switched at iteration ``t``.

    Examples
    --------
    >>> import mdp
    >>> res = mdp.policy_iteration(mdp.generators.forest(gamma=0.96))
    >>> res.pi.tolist(), [round(float(x), 4) for x in res.v]
    ([0, 0, 0], [74.6496, 78.1056, 82.1056])
    """
    m = require_mdp(m)
    max_iter = check_positive_int(max_iter, "max_iter")
    rtol = check_tol(rtol, "rtol", allow_zero=True)
    S = m.n_states

    def howard(q, v, pi):
        margin = rtol * np.maximum(1.0, np.abs(q[np.arange(S), pi]))
        return _improve(q, pi, margin)

    return run_policy_iteration(m, pi0, howard, max_iter, "policy_iteration", "policy_iteration[howard]")


def run_policy_iteration(m, pi0, improve, max_iter: int, caller: str, method: str) -> SolverResult:
    """Shared loop of the policy-iteration family: exact evaluation, ``improve`` in place, certify.

    ``improve(q, v, pi)`` switches actions of ``pi`` in place and returns a progress measure that is
    0 exactly when ``pi`` is stable (recorded in ``residuals``). ``pi0`` is validated here; ``caller``
    names the public function in warnings, ``method`` goes into the result.
    """
    S = m.n_states
    pi = np.zeros(S, dtype=np.int64) if pi0 is None else check_policy(pi0, S, m.n_actions, "pi0").copy()
    if pi.ndim != 1:
        raise ValueError("pi0 must be a deterministic policy of shape (S,)")
    progress = []
    converged = False
    for _ in range(max_iter):
        v = evaluate_deterministic(m, pi)
        progress.append(improve(q_values(m, v), v, pi))
        if progress[-1] == 0:
            converged = True
            break
    if not converged:
        v = evaluate_deterministic(m, pi)
        warnings.warn(
            f"{caller} stopped at max_iter={max_iter} before the policy was stable", ConvergenceWarning, stacklevel=3
        )
    cert = certify(m, v, pi)
    return SolverResult(
        v=v,
        pi=pi,
        q=cert.q,
        n_iter=len(progress),
        error_bound=cert.input_error_bound,
        policy_error_bound=cert.policy_error_bound,
        converged=converged,
        method=method,
        residuals=np.asarray(progress, dtype=np.float64),
    )
