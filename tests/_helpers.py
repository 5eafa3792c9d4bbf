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


def long_double_policy_value(m, pi) -> np.ndarray:
    """``v^pi`` of a deterministic ``pi`` in long double (x87 80-bit on x86-64, ``u ~ 5e-20``).

    A float64 LU solve refined with residuals ``r - (I - gamma P_pi) v`` computed in long double
    (the stored ``P``, ``R`` and ``gamma`` are exact in long double): each round gains the float64
    solve's ~1e-16 / (1 - gamma) relative accuracy, so a few rounds reach long-double accuracy. The
    reference the certified bounds are tested against, independent of every ``mdp`` kernel.
    """
    ld = np.longdouble
    S = m.n_states
    pi = np.asarray(pi)
    P_pi = np.asarray(m.dense_P(), dtype=ld)[np.arange(S), pi]
    r = np.asarray(m.R, dtype=ld)[np.arange(S), pi]
    g = ld(m.gamma)
    A64 = np.eye(S) - m.gamma * P_pi.astype(np.float64)
    v = np.linalg.solve(A64, r.astype(np.float64)).astype(ld)
    for _ in range(8):
        res = r - (v - g * (P_pi @ v))
        v = v + np.linalg.solve(A64, res.astype(np.float64)).astype(ld)
    return v


def long_double_optimum(m):
    """``(v*, pi*)`` in long double: Howard PI with :func:`long_double_policy_value` evaluations.

    Switches only on a long-double ``q`` gain above ``1e-17`` of the scale (``max(|v|, |R|)``; ties
    stay put), so it ends at an optimal policy up to long-double round-off.
    """
    ld = np.longdouble
    P = np.asarray(m.dense_P(), dtype=ld)
    R = np.asarray(m.R, dtype=ld)
    g = ld(m.gamma)
    S = m.n_states
    pi = np.zeros(S, dtype=np.int64)
    for _ in range(1000):
        v = long_double_policy_value(m, pi)
        q = R + g * np.einsum("sat,t->sa", P, v)
        cur = q[np.arange(S), pi]
        # a relative threshold: an absolute one (1e-17 (1 + |v|)) stopped at a suboptimal policy when
        # |v*| << 1 (found by a review: v* ~ 1e-11)
        scale = max(np.abs(v).max(), np.abs(R).max(), ld(1e-300))
        better = q.max(axis=1) > cur + ld(1e-17) * scale
        if not better.any():
            return v, pi
        pi = np.where(better, q.argmax(axis=1), pi)
    raise AssertionError("long-double policy iteration did not stabilise")


def long_double_finite_horizon(m, H, terminal=None, pi=None):
    """Backward induction in long double: ``v*_t`` ``(H + 1, S)``, or ``v^pi_t`` for a given
    non-stationary ``pi`` ``(H, S)``. Independent of every ``mdp`` kernel; its own round-off is
    ~2^-11 of float64's."""
    ld = np.longdouble
    P = np.asarray(m.dense_P(), dtype=ld)
    R = np.asarray(m.R, dtype=ld)
    g = ld(m.gamma)
    S = m.n_states
    v = np.zeros((H + 1, S), dtype=ld)
    if terminal is not None:
        v[H] = np.asarray(terminal, dtype=np.float64).astype(ld)
    for t in range(H - 1, -1, -1):
        q = R + g * np.einsum("sat,t->sa", P, v[t + 1])
        v[t] = q.max(axis=1) if pi is None else q[np.arange(S), pi[t]]
    return v
