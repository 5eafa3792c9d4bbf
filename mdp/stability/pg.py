"""Exact tabular softmax policy gradient ascent (the policy-gradient learner of the policy-cliff lab).

Policy ``pi_theta(a|s) = softmax(theta[s])``; objective ``J(theta) = rho^T V^{pi_theta}`` of a
dense discounted model. The exact gradient (Agarwal, Kakade, Lee & Mahajan 2021, *On the theory
of policy gradient methods*, JMLR 22, Lemma C.1 / Eq. 12) is

    dJ / dtheta[s, a] = d_rho(s) pi(a|s) A^pi(s, a),      d_rho = rho^T (I - gamma P_pi)^{-1},

(the unnormalised discounted occupancy), computed with one linear solve per step in a numba
kernel; the ascent is ``theta <- theta + lr * grad`` for a fixed number of steps. Used in
``docs/papers/policy_cliff.md`` to show which tied optimum gradient ascent selects.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._common import result
from mdp._validation import as_float_array, check_mdp, check_positive_int, check_real

__all__ = ["SoftmaxPGResult", "softmax_pg", "reference_softmax_pg_gradient"]


@result
class SoftmaxPGResult:
    """Result of :func:`softmax_pg`.

    Attributes
    ----------
    theta : ndarray, shape (S, A)
        Final logits.
    pi : ndarray, shape (S, A)
        ``softmax(theta)`` row-wise.
    values : ndarray, shape (n_iter + 1,)
        ``J(theta_t)`` before each step and after the last.
    grad_norms : ndarray, shape (n_iter,)
        ``||grad J(theta_t)||_2``.
    n_iter : int
        Steps done.
    """

    theta: np.ndarray
    pi: np.ndarray
    values: np.ndarray
    grad_norms: np.ndarray
    n_iter: int


@njit(cache=True)
def _softmax_rows(theta, pi):
    S, A = theta.shape
    for s in range(S):
        m = theta[s, 0]
        for a in range(1, A):
            m = max(m, theta[s, a])
        z = 0.0
        for a in range(A):
            pi[s, a] = np.exp(theta[s, a] - m)
            z += pi[s, a]
        for a in range(A):
            pi[s, a] /= z


@njit(cache=True)
def _gradient(P, R, gamma, rho, theta, pi, grad):
    """Fills ``pi`` and ``grad``; returns ``J``."""
    S, A = R.shape
    _softmax_rows(theta, pi)
    M = np.eye(S)
    r = np.zeros(S)
    for s in range(S):
        for a in range(A):
            r[s] += pi[s, a] * R[s, a]
            for t in range(S):
                M[s, t] -= gamma * pi[s, a] * P[s, a, t]
    v = np.linalg.solve(M, r)
    d = np.linalg.solve(M.T.copy(), rho)
    J = 0.0
    for s in range(S):
        J += rho[s] * v[s]
        for a in range(A):
            qa = R[s, a]
            for t in range(S):
                qa += gamma * P[s, a, t] * v[t]
            grad[s, a] = d[s] * pi[s, a] * (qa - v[s])
    return J


@njit(cache=True)
def _ascent(P, R, gamma, rho, theta, lr, n_steps, values, gnorms):
    S, A = R.shape
    pi = np.empty((S, A))
    grad = np.empty((S, A))
    for t in range(n_steps):
        values[t] = _gradient(P, R, gamma, rho, theta, pi, grad)
        g2 = 0.0
        for s in range(S):
            for a in range(A):
                g2 += grad[s, a] * grad[s, a]
                theta[s, a] += lr * grad[s, a]
        gnorms[t] = np.sqrt(g2)
    values[n_steps] = _gradient(P, R, gamma, rho, theta, pi, grad)
    return pi


def reference_softmax_pg_gradient(P, R, gamma, rho, theta):
    """Numpy twin of the exact gradient: ``(J, grad (S, A))``."""
    P = np.asarray(P, dtype=np.float64)
    z = theta - theta.max(axis=1, keepdims=True)
    pi = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    S = R.shape[0]
    P_pi = np.einsum("sa,sat->st", pi, P)
    v = np.linalg.solve(np.eye(S) - gamma * P_pi, (pi * R).sum(axis=1))
    d = np.linalg.solve((np.eye(S) - gamma * P_pi).T, rho)
    q = R + gamma * P @ v
    return float(rho @ v), d[:, None] * pi * (q - v[:, None])


def softmax_pg(m, theta0, *, rho=None, lr: float = 1.0, n_steps: int = 1000) -> SoftmaxPGResult:
    """Exact-gradient ascent of ``rho^T V^{softmax(theta)}`` from ``theta0`` (module docstring).

    Parameters
    ----------
    m : TabularMDP
        Dense discounted model.
    theta0 : array_like, shape (S, A)
        Initial logits (random initialisations are drawn by the caller).
    rho : array_like, shape (S,), optional
        Start distribution (default uniform).
    lr : float, default 1.0
        Step size ``> 0``.
    n_steps : int, default 1000
        Number of ascent steps.

    Returns
    -------
    SoftmaxPGResult

    Raises
    ------
    TypeError, ValueError
        For a non-MDP or sparse ``m``, ``theta0``/``rho`` of the wrong shape, ``lr <= 0``.
    """
    m = check_mdp(m)
    if m.is_sparse:
        raise ValueError("softmax_pg needs a dense model (m.to_dense())")
    S, A = m.n_states, m.n_actions
    theta = as_float_array(theta0, "theta0", ndim=2).copy()
    if theta.shape != (S, A):
        raise ValueError(f"theta0 must have shape ({S}, {A}), got {theta.shape}")
    if rho is None:
        rho = np.full(S, 1.0 / S)
    else:
        rho = as_float_array(rho, "rho", ndim=1)
        if rho.shape != (S,) or np.any(rho < 0) or abs(rho.sum() - 1.0) > 1e-8:
            raise ValueError(f"rho must be a probability vector of shape ({S},)")
    lr = check_real(lr, "lr", "(0, inf)")
    n_steps = check_positive_int(n_steps, "n_steps")
    values = np.empty(n_steps + 1)
    gnorms = np.empty(n_steps)
    P = np.ascontiguousarray(m.P, dtype=np.float64)
    pi = _ascent(P, m.R, m.gamma, np.ascontiguousarray(rho), theta, lr, n_steps, values, gnorms)
    return SoftmaxPGResult(theta=theta, pi=pi, values=values, grad_norms=gnorms, n_iter=n_steps)
