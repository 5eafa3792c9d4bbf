"""Soft (entropy-regularised) value iteration and soft policy evaluation.

With inverse temperature ``lam > 0`` the soft Bellman operator of an MDP is

    (T_lam v)(s) = (1 / lam) log sum_a exp(lam q_v(s, a)),      q_v = R + gamma P v,

the Bellman operator of the objective ``E sum_t gamma^t (r_t + H(pi(.|s_t)) / lam)`` (Ziebart 2010,
*Modeling purposeful adaptive behavior with the principle of maximum causal entropy*, Ch. 6;
Haarnoja et al. 2017, Eq. 2-4). ``x -> (1/lam) logsumexp(lam x)`` is monotone and commutes with
adding a constant, so (as for the hard max, Puterman 1994 Thm 6.3.4 / foundations F1) ``T_lam``
is a ``gamma``-contraction in the sup norm and the F3 stopping rule applies verbatim:

    ||v_{t+1} - v*||_inf <= (gamma ||v_{t+1} - v_t||_inf + err) / (1 - gamma),

with ``err`` a bound on the float64 round-off of one computed sweep: the backup's
(:func:`mdp.solvers._core.backup_rounding`; log-sum-exp is 1-Lipschitz in the sup norm, so it
carries the backup's error through unchanged) plus the log-sum-exp's own (:func:`lse_rounding`).
The fixed point's soft-optimal policy is ``pi = softmax(lam q)``. The log-sum-exp subtracts the
row maximum first, so no ``exp`` overflows at any ``lam``.

Used by :mod:`marl.irl` (marginal soft critics, logit equilibria, MAMQL); see
``docs/papers/mamql.md``.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numba import njit

from mdp._common import ConvergenceWarning, result
from mdp._common import bellman as K
from mdp._common.numerics import UNDERFLOW, UNIT_ROUNDOFF, VALUE_LIMIT
from mdp._validation import check_policy, check_positive_int, check_real, check_tol
from mdp.model import TabularMDP
from mdp.solvers._core import (
    backup_rounding,
    check_v,
    contraction,
    f3_bound,
    f3_threshold,
    q_values,
    require_mdp,
)

__all__ = [
    "SoftPolicyEvaluationResult",
    "SoftSolverResult",
    "check_lam",
    "lse_rounding",
    "reference_soft_sweep",
    "reference_soft_value_iteration",
    "soft_bellman_operator",
    "soft_policy_evaluation",
    "soft_value_iteration",
    "softmax_policy",
]


def check_lam(lam, name: str = "lam") -> float:
    """Return the inverse temperature ``lam`` as a positive finite float."""
    return check_real(lam, f"{name} (inverse temperature)", "(0, inf)")


def softmax_policy(q: np.ndarray, lam: float) -> np.ndarray:
    """``pi(a|s) = exp(lam q(s, a)) / sum_b exp(lam q(s, b))`` row-wise, computed stably."""
    z = lam * (q - q.max(axis=1, keepdims=True))
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@result
class SoftSolverResult:
    """Result of :func:`soft_value_iteration`.

    Attributes
    ----------
    v : ndarray, shape (S,)
        Soft value estimate (the last iterate).
    q : ndarray, shape (S, A)
        ``R + gamma P v``.
    pi : ndarray, shape (S, A)
        Soft-optimal (Boltzmann) policy ``softmax(lam q)``.
    lam : float
        Inverse temperature.
    n_iter : int
        Sweeps done.
    error_bound : float
        Certified ``||v - v*_lam||_inf`` (F3 with the sweep's round-off).
    converged : bool
        Whether ``error_bound <= tol``.
    method : str
    residuals : ndarray, shape (n_iter,)
        ``||v_{t+1} - v_t||_inf`` per sweep.
    """

    v: np.ndarray
    q: np.ndarray
    pi: np.ndarray
    lam: float
    n_iter: int
    error_bound: float
    converged: bool
    method: str
    residuals: np.ndarray


@result
class SoftPolicyEvaluationResult:
    """Result of :func:`soft_policy_evaluation`.

    Attributes
    ----------
    v : ndarray, shape (S,)
        ``v^pi_lam = r_pi + H(pi) / lam + gamma P_pi v^pi_lam``.
    q : ndarray, shape (S, A)
        ``R + gamma P v`` (the soft Q of ``pi``).
    error_bound : float
        Certified ``||v - v^pi_lam||_inf``.
    """

    v: np.ndarray
    q: np.ndarray
    error_bound: float


# ---------------------------------------------------------------------- kernels
@njit(inline="always", fastmath=K._FM)
def _lse_row(q, s, lam):
    """``(1/lam) log sum_a exp(lam q[s, a])`` with the row maximum taken out first."""
    A = q.shape[1]
    m = q[s, 0]
    for a in range(1, A):
        m = max(m, q[s, a])
    acc = 0.0
    for a in range(A):
        acc += math.exp(lam * (q[s, a] - m))
    return m + math.log(acc) / lam


@njit(cache=True, fastmath=K._FM)
def _soft_sweep_dense(P, R, gamma, lam, v, q, v_out):
    S, A = R.shape
    for s in range(S):
        for a in range(A):
            q[s, a] = R[s, a] + gamma * K._dot_dense(P, s, a, v)
        v_out[s] = _lse_row(q, s, lam)


@njit(cache=True, fastmath=K._FM)
def _soft_sweep_sparse(indptr, indices, data, R, gamma, lam, v, q, v_out):
    S, A = R.shape
    for s in range(S):
        for a in range(A):
            q[s, a] = R[s, a] + gamma * K._dot_csr(indptr, indices, data, s * A + a, v)
        v_out[s] = _lse_row(q, s, lam)


@njit(cache=True, fastmath=K._FM)
def _soft_vi_dense(P, R, gamma, lam, v, thresh, max_iter, residuals):
    S, A = R.shape
    q = np.empty((S, A))
    v_new = np.empty(S)
    for it in range(max_iter):
        _soft_sweep_dense(P, R, gamma, lam, v, q, v_new)
        diff = 0.0
        for s in range(S):
            d = abs(v_new[s] - v[s])
            diff = max(diff, d)
            v[s] = v_new[s]
        residuals[it] = diff
        if diff <= thresh:
            return it + 1
    return max_iter


@njit(cache=True, fastmath=K._FM)
def _soft_vi_sparse(indptr, indices, data, R, gamma, lam, v, thresh, max_iter, residuals):
    S, A = R.shape
    q = np.empty((S, A))
    v_new = np.empty(S)
    for it in range(max_iter):
        _soft_sweep_sparse(indptr, indices, data, R, gamma, lam, v, q, v_new)
        diff = 0.0
        for s in range(S):
            d = abs(v_new[s] - v[s])
            diff = max(diff, d)
            v[s] = v_new[s]
        residuals[it] = diff
        if diff <= thresh:
            return it + 1
    return max_iter


# ---------------------------------------------------------------------- numpy twins
def reference_soft_sweep(P, R, gamma, lam, v):
    """Plain numpy/scipy: ``(q, T_lam v)`` for dense ``P`` with :func:`scipy.special.logsumexp`."""
    from scipy.special import logsumexp

    q = R + gamma * np.einsum("sat,t->sa", np.asarray(P, dtype=np.float64), v)
    return q, logsumexp(lam * q, axis=1) / lam


def reference_soft_value_iteration(P, R, gamma, lam, tol, max_iter, v0=None):
    """Plain numpy soft value iteration with the F3 stopping rule; returns ``(v, n_iter)``."""
    v = np.zeros(R.shape[0]) if v0 is None else np.array(v0, dtype=np.float64)
    thresh = tol * (1 - gamma) / gamma if gamma > 0 else np.inf
    for it in range(max_iter):
        _, v_new = reference_soft_sweep(P, R, gamma, lam, v)
        diff = np.abs(v_new - v).max()
        v = v_new
        if diff <= thresh:
            return v, it + 1
    return v, max_iter


# ---------------------------------------------------------------------- round-off
def lse_rounding(n_actions: int, lam: float, v_max: float) -> float:
    """Bound on the float64 round-off of ``m + log(sum_a exp(lam (q_a - m))) / lam`` beyond the error
    already in ``q`` (``v_max`` bounds ``|m|`` and the result).

    With ``libm``'s ``exp`` and ``log`` within 2 ulps (``2u`` relative; glibc documents < 1 ulp for
    both), ``x_a = fl(lam fl(q_a - m))`` is within ``2u|x_a|`` of ``lam (q_a - m) <= 0``, so each
    computed ``exp`` is within ``2u (|x_a| + 1) e^{x_a} <= 2u (1/e + e^{x_a})`` of the exact one
    (``|x| e^x <= 1/e`` for ``x <= 0``); the ``A``-term sum adds ``(A - 1) u`` relative (Higham 2002,
    Eq. 3.5), and the sum is ``>= 1`` (the maximum's term is 1), so its relative error is at most
    ``(2A/e + 2 + A - 1) u <= (3 A + 2) u``; ``log`` adds ``2u log A``, the division by ``lam`` and
    the addition of ``m`` one rounding each.
    """
    A = int(n_actions)
    u = UNIT_ROUNDOFF
    rel = (3.0 * A + 2.0) * u * (1.0 + 1e-6)
    return (
        (rel + 2.0 * u * math.log(max(A, 1)) + 2.0 * u) / lam * (1.0 + 4.0 * u) + 3.0 * u * float(v_max) + 4 * UNDERFLOW
    )


def _sweep_rounding(m: TabularMDP, lam: float, v_max: float) -> float:
    """Round-off of one computed soft sweep at iterates bounded by ``v_max``."""
    return backup_rounding(m, v_max) + lse_rounding(
        m.n_actions, lam, m.r_max + m.contraction * v_max + math.log(m.n_actions) / lam
    )


def _value_scale(m: TabularMDP, lam: float) -> float:
    """A priori bound on ``||v*_lam||``: ``|T_lam v| <= max|R| + log(A)/lam + c ||v||``."""
    c = contraction(m)
    return (m.r_max + math.log(m.n_actions) / lam) / (1.0 - c)


def soft_bellman_operator(m, v, lam):
    """``(q, T_lam v)``: ``q = R + gamma P v`` ``(S, A)`` and ``(1/lam) logsumexp(lam q)`` ``(S,)``."""
    m = require_mdp(m)
    lam = check_lam(lam)
    v = check_v(v, m)
    q = np.empty((m.n_states, m.n_actions))
    out = np.empty(m.n_states)
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        _soft_sweep_sparse(indptr, indices, data, m.R, m.gamma, lam, v, q, out)
    else:
        _soft_sweep_dense(m.P, m.R, m.gamma, lam, v, q, out)
    return q, out


def _require_scale(m: TabularMDP, lam: float) -> None:
    scale = _value_scale(m, lam)
    if not scale <= VALUE_LIMIT:
        raise ValueError(
            f"lam = {lam:g} is so small that soft values reach (max|R| + log(A)/lam) / (1 - gamma) "
            f"= {scale:.3g}, beyond {VALUE_LIMIT:g}; raise lam"
        )


_CHUNK = 1 << 16


def soft_value_iteration(m, lam, *, tol: float = 1e-10, max_iter: int = 10_000, v0=None) -> SoftSolverResult:
    """Solve the entropy-regularised MDP ``max_pi E sum_t gamma^t (r_t + H(pi(.|s_t)) / lam)``.

    Jacobi iteration of the soft Bellman operator ``T_lam`` (module docstring), a numba kernel
    with a max-shifted log-sum-exp, on dense or CSR models. ``T_lam`` is a ``gamma``-contraction,
    so the loop stops on the F3 certificate with the sweep's round-off
    (``(c ||v_{t+1} - v_t|| + err) / (1 - c) <= tol``, ``c`` the contraction factor of the stored
    model, ``mdp.solvers._core.f3_bound``).

    Parameters
    ----------
    m : TabularMDP
        Discounted model, dense ``(S, A, S)`` or CSR ``(S * A, S)``.
    lam : float
        Inverse temperature ``> 0`` (``lam -> inf`` recovers :func:`mdp.value_iteration`).
    tol : float, default 1e-10
        Certified accuracy of ``v``.
    max_iter : int, default 10000
    v0 : array_like (S,), optional
        Warm start (default zeros).

    Returns
    -------
    SoftSolverResult
        ``v``, ``q = R + gamma P v``, ``pi = softmax(lam q)``, ``error_bound`` (certified), ...

    Raises
    ------
    TypeError, ValueError
        For a non-MDP ``m``, ``lam <= 0`` or non-finite, bad ``tol``/``max_iter``/``v0``.

    Examples
    --------
    >>> import mdp
    >>> res = mdp.soft_value_iteration(mdp.generators.forest(gamma=0.9), lam=10.0)
    >>> bool(res.converged), res.pi.shape
    (True, (3, 2))
    """
    m = require_mdp(m)
    lam = check_lam(lam)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    _require_scale(m, lam)
    v = np.zeros(m.n_states) if v0 is None else check_v(v0, m, "v0")
    c = contraction(m)
    g = m.gamma
    v_bound = max(float(np.abs(v).max()), _value_scale(m, lam)) * (1.0 + 1e-6)
    thresh = f3_threshold(tol, c, _sweep_rounding(m, lam, v_bound))
    chunks, n = [], 0
    while n < max_iter:
        buf = np.zeros(min(max_iter - n, _CHUNK))
        if m.is_sparse:
            indptr, indices, data = m.csr_arrays()
            done = _soft_vi_sparse(indptr, indices, data, m.R, g, lam, v, thresh, buf.size, buf)
        else:
            done = _soft_vi_dense(m.P, m.R, g, lam, v, thresh, buf.size, buf)
        chunks.append(buf[:done])
        n += done
        if buf[done - 1] <= thresh:
            break
    residuals = np.concatenate(chunks)
    err = _sweep_rounding(m, lam, float(np.abs(v).max()) + residuals[-1])
    error_bound = f3_bound(c, residuals[-1], err)
    converged = bool(residuals[-1] <= thresh and error_bound <= tol)
    if not converged:
        why = (
            f"tol={tol:g} is below the float64 round-off floor {err / (1 - c):.3g} of this model"
            if residuals[-1] <= thresh
            else f"it stopped at max_iter={max_iter}"
        )
        warnings.warn(
            f"soft_value_iteration did not certify tol: {why}; certified error bound {error_bound:.3g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    q = q_values(m, v)
    return SoftSolverResult(
        v=v,
        q=q,
        pi=softmax_policy(q, lam),
        lam=lam,
        n_iter=int(n),
        error_bound=float(error_bound),
        converged=converged,
        method="soft_value_iteration",
        residuals=residuals,
    )


def soft_policy_evaluation(m, pi, lam) -> SoftPolicyEvaluationResult:
    """Entropy-regularised value of a stochastic policy: ``v = r_pi + H(pi)/lam + gamma P_pi v``.

    ``H(pi)(s) = -sum_a pi(a|s) log pi(a|s)`` (``0 log 0 = 0``). Solved exactly by
    :func:`mdp.policy_evaluation` on the model with rewards ``R - log(pi) / lam`` (set to ``R``
    where ``pi = 0``, which carries no weight), whose certified ``error_bound`` is returned.

    Parameters
    ----------
    m : TabularMDP
    pi : array_like, shape (S, A)
        Stochastic policy (or ``(S,)`` integer actions: zero entropy).
    lam : float
        Inverse temperature ``> 0``.

    Returns
    -------
    SoftPolicyEvaluationResult
        ``v`` ``(S,)``, ``q = R + gamma P v`` ``(S, A)``, ``error_bound``.
    """
    from mdp.solvers.policy_evaluation import policy_evaluation

    m = require_mdp(m)
    lam = check_lam(lam)
    pi = check_policy(pi, m.n_states, m.n_actions)
    if pi.ndim == 1:
        pi_full = np.zeros((m.n_states, m.n_actions))
        pi_full[np.arange(m.n_states), pi] = 1.0
        pi = pi_full
    with np.errstate(divide="ignore"):
        logp = np.where(pi > 0, np.log(np.where(pi > 0, pi, 1.0)), 0.0)
    R_ent = m.R - logp / lam
    shifted = TabularMDP(
        m.P, R_ent, m.gamma, atol=max(m.row_sum_range[1] - 1.0, 1.0 - m.row_sum_range[0], 1e-12) + 1e-12, dtype=m.dtype
    )
    pe = policy_evaluation(shifted, pi)
    v = np.array(pe.v)
    return SoftPolicyEvaluationResult(v=v, q=q_values(m, v), error_bound=float(pe.error_bound))
