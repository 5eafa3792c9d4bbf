"""Shared pieces of the solvers: the result type and dense/sparse dispatch of the backups."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mdp._validation import as_float_array, check_gamma
from mdp.model import TabularMDP
from mdp.solvers import _bellman as K

__all__ = [
    "SolverResult",
    "require_mdp",
    "check_v",
    "q_values",
    "bellman_operator",
    "policy_backup",
    "frozen",
]


def frozen(x: np.ndarray) -> np.ndarray:
    """Return ``x`` made read-only (results are immutable)."""
    x = np.asarray(x)
    x.setflags(write=False)
    return x


@dataclass(frozen=True)
class SolverResult:
    """Result of an exact or iterative MDP solver.

    Attributes
    ----------
    v : ndarray, shape (S,)
        Value estimate.
    pi : ndarray of int64, shape (S,)
        Deterministic policy (greedy with respect to the values the solver ended with).
    q : ndarray, shape (S, A)
        ``R + gamma * P @ v``.
    n_iter : int
        Iterations done (sweeps for value iteration, improvements for policy iteration).
    error_bound : float
        Certified bound on ``||v - v*||_inf`` (the derivation is given by each solver).
    policy_error_bound : float
        Certified bound on ``||v* - v^pi||_inf`` (how suboptimal ``pi`` can be).
    converged : bool
        Whether the requested ``tol`` was met within ``max_iter``.
    method : str
        Name of the algorithm and variant.
    residuals : ndarray
        Per-iteration ``||T v_t - v_t||_inf`` (or the solver's own progress measure).
    """

    v: np.ndarray
    pi: np.ndarray
    q: np.ndarray
    n_iter: int
    error_bound: float
    policy_error_bound: float
    converged: bool
    method: str
    residuals: np.ndarray = field(repr=False)

    def __post_init__(self):
        for name in ("v", "pi", "q", "residuals"):
            frozen(getattr(self, name))


def require_mdp(m, name: str = "m", *, discounted: bool = True) -> TabularMDP:
    """Check that ``m`` is a :class:`TabularMDP` (with ``gamma < 1`` when ``discounted``)."""
    if not isinstance(m, TabularMDP):
        raise TypeError(f"{name} must be an mdp.TabularMDP, got {type(m).__name__}")
    if discounted:
        check_gamma(m.gamma, f"{name}.gamma")
    return m


def check_v(v, m: TabularMDP, name: str = "v") -> np.ndarray:
    """Validate a value vector for ``m``: finite float64 of shape ``(S,)`` (a fresh copy)."""
    arr = as_float_array(v, name, ndim=1)
    if arr.shape != (m.n_states,):
        raise ValueError(f"{name} must have shape ({m.n_states},), got {arr.shape}")
    return arr.copy()


def q_values(m: TabularMDP, v: np.ndarray) -> np.ndarray:
    """``Q = R + gamma * P @ v`` of shape ``(S, A)`` (kernel dispatch, no validation)."""
    q = np.empty((m.n_states, m.n_actions))
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        K.q_sparse(indptr, indices, data, m.R, m.gamma, v, q)
    else:
        K.q_dense(m.P, m.R, m.gamma, v, q)
    return q


def bellman_operator(m: TabularMDP, v: np.ndarray, out=None, pi_out=None):
    """``(T v, greedy policy)`` (kernel dispatch, no validation)."""
    out = np.empty(m.n_states) if out is None else out
    pi_out = np.empty(m.n_states, dtype=np.int64) if pi_out is None else pi_out
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        K.bellman_sparse(indptr, indices, data, m.R, m.gamma, v, out, pi_out)
    else:
        K.bellman_dense(m.P, m.R, m.gamma, v, out, pi_out)
    return out, pi_out


def policy_backup(m: TabularMDP, pi: np.ndarray, v: np.ndarray, out=None) -> np.ndarray:
    """``T_pi v`` for a deterministic policy (kernel dispatch, no validation)."""
    out = np.empty(m.n_states) if out is None else out
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        K.policy_backup_sparse(indptr, indices, data, m.R, m.gamma, pi, v, out)
    else:
        K.policy_backup_dense(m.P, m.R, m.gamma, pi, v, out)
    return out
