"""Plain-numpy ground truth shared by the solver tests (no numba, no certificates)."""
from __future__ import annotations

import numpy as np

from mdp.solvers.policy_iteration import reference_policy_iteration


def exact_optimum(m):
    """``(v*, pi*)`` by plain-numpy Howard PI on the dense form of ``m`` (float64 arithmetic)."""
    P = np.asarray(m.dense_P(), dtype=np.float64)
    v, pi, _ = reference_policy_iteration(P, m.R, m.gamma)
    return v, pi


def exact_policy_value(m, pi):
    """``v^pi`` for a deterministic ``(S,)`` or stochastic ``(S, A)`` policy, by ``np.linalg.solve``."""
    P = np.asarray(m.dense_P(), dtype=np.float64)
    S, A = m.n_states, m.n_actions
    pi = np.asarray(pi)
    if pi.ndim == 1:
        pi = np.eye(A)[pi]
    P_pi = np.einsum("sa,sat->st", pi, P)
    r_pi = np.einsum("sa,sa->s", pi, m.R)
    return np.linalg.solve(np.eye(S) - m.gamma * P_pi, r_pi)


def roundoff(v_star) -> float:
    """Absolute slack for floating-point error in a linear solve of size <= 10^3, gamma <= 0.99."""
    return 1e-10 * (1.0 + float(np.abs(v_star).max()))


def assert_greedy_ties(q, pi_a, pi_b, atol):
    """Two greedy policies may differ only where the ``q`` values of their actions tie (within ``atol``)."""
    q = np.asarray(q)
    idx = np.arange(q.shape[0])
    diff = np.flatnonzero(np.asarray(pi_a) != np.asarray(pi_b))
    gap = np.abs(q[idx, pi_a] - q[idx, pi_b])[diff]
    assert np.all(gap <= atol), f"policies differ at states {diff.tolist()} by q-gaps {gap.tolist()}"
