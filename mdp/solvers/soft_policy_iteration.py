"""Soft (entropy-regularised) policy iteration.

Policy iteration for the objective ``E sum_t gamma^t (r_t + H(pi(.|s_t)) / lam)`` of
:mod:`mdp.solvers.soft_value_iteration`: evaluate the stochastic policy exactly,

    v_k = r_{pi_k} + H(pi_k) / lam + gamma P_{pi_k} v_k          (:func:`soft_policy_evaluation`),

then improve to the Boltzmann policy of its soft Q, ``pi_{k+1} = softmax(lam (R + gamma P v_k))``
(Haarnoja et al. 2018, *Soft Actor-Critic*, Lemma 2 (soft policy improvement) and Thm 1; Ziebart
2010, Ch. 6). ``v_{k+1} >= v_k`` componentwise and the iterates converge to ``v*_lam``. The soft
Bellman sweep is the numba kernel of :func:`mdp.soft_value_iteration` (one kernel, shared); the
stopping rule is the F3 certificate of that sweep: with ``w = T_lam v_k`` computed,

    ||w - v*_lam||_inf <= (gamma ||w - v_k||_inf + err) / (1 - gamma),

``err`` the sweep's float64 round-off. The returned ``v`` is ``w``. Used by :mod:`mdp.stability`
(``docs/papers/policy_cliff.md``).
"""

from __future__ import annotations

import warnings

import numpy as np

from mdp._common import ConvergenceWarning
from mdp._common.roundoff import contraction, f3_bound
from mdp._validation import check_policy, check_positive_int, check_tol
from mdp.solvers._core import require_mdp
from mdp.solvers.soft_value_iteration import (
    SoftSolverResult,
    _require_scale,
    _sweep_rounding,
    check_lam,
    soft_bellman_operator,
    soft_policy_evaluation,
    softmax_policy,
)

__all__ = ["soft_policy_iteration", "reference_soft_policy_iteration"]


def reference_soft_policy_iteration(P, R, gamma, lam, tol, max_iter):
    """Plain numpy soft policy iteration on dense ``P`` (linear solves, scipy ``logsumexp``);
    returns ``(v, pi, n_iter)`` with ``v`` the last soft backup."""
    from scipy.special import logsumexp

    P = np.asarray(P, dtype=np.float64)
    S, A = R.shape
    pi = np.full((S, A), 1.0 / A)
    v = np.zeros(S)
    for it in range(max_iter):
        with np.errstate(divide="ignore"):
            logp = np.where(pi > 0, np.log(np.where(pi > 0, pi, 1.0)), 0.0)
        r_pi = (pi * (R - logp / lam)).sum(axis=1)
        P_pi = np.einsum("sa,sat->st", pi, P)
        v_pi = np.linalg.solve(np.eye(S) - gamma * P_pi, r_pi)
        q = R + gamma * np.einsum("sat,t->sa", P, v_pi)
        v = logsumexp(lam * q, axis=1) / lam
        pi = np.exp(lam * q - (lam * v)[:, None])
        pi /= pi.sum(axis=1, keepdims=True)
        if gamma * np.abs(v - v_pi).max() / (1 - gamma) <= tol:
            return v, pi, it + 1
    return v, pi, max_iter


def soft_policy_iteration(m, lam, *, tol: float = 1e-10, max_iter: int = 10_000, pi0=None) -> SoftSolverResult:
    """Solve the entropy-regularised MDP by soft policy iteration.

    Parameters
    ----------
    m : TabularMDP
        Discounted model, dense or CSR.
    lam : float
        Inverse temperature ``> 0`` (the temperature is ``tau = 1 / lam``).
    tol : float, default 1e-10
        Certified accuracy of ``v``.
    max_iter : int, default 10000
        Budget of evaluation-improvement rounds.
    pi0 : array_like, shape (S, A), optional
        Initial stochastic policy (default uniform).

    Returns
    -------
    SoftSolverResult
        ``v`` (the last soft backup), ``q = R + gamma P v``, ``pi = softmax(lam q)``,
        ``error_bound`` (certified ``||v - v*_lam||_inf``), ``residuals`` (``||T_lam v_k - v_k||_inf``
        per round), ``method = "soft_policy_iteration"``.

    Raises
    ------
    TypeError, ValueError
        For a non-MDP ``m``, ``lam <= 0``, bad ``tol``, ``max_iter`` or ``pi0``.

    Examples
    --------
    >>> import mdp
    >>> from mdp.solvers.soft_policy_iteration import soft_policy_iteration
    >>> res = soft_policy_iteration(mdp.generators.forest(gamma=0.9), lam=10.0)
    >>> bool(res.converged), res.n_iter < 20
    (True, True)
    """
    m = require_mdp(m)
    lam = check_lam(lam)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    _require_scale(m, lam)
    S, A = m.n_states, m.n_actions
    if pi0 is None:
        pi = np.full((S, A), 1.0 / A)
    else:
        pi = check_policy(pi0, S, A, "pi0")
        if pi.ndim == 1:
            raise ValueError("pi0 must be a stochastic policy of shape (S, A) (soft policies have full support)")
    c = contraction(m)
    residuals = []
    converged = False
    bound = np.inf
    for _ in range(max_iter):
        v_pi = soft_policy_evaluation(m, pi, lam).v
        q, w = soft_bellman_operator(m, v_pi, lam)
        diff = float(np.abs(w - v_pi).max())
        residuals.append(diff)
        err = _sweep_rounding(m, lam, float(np.abs(w).max()) + diff)
        bound = f3_bound(c, diff, err)
        pi = softmax_policy(q, lam)
        if bound <= tol:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"soft_policy_iteration did not certify tol={tol:g} within max_iter={max_iter}; "
            f"certified error bound {bound:.3g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    from mdp._common.backups import q_values

    q = q_values(m, w)
    return SoftSolverResult(
        v=w,
        q=q,
        pi=softmax_policy(q, lam),
        lam=lam,
        n_iter=len(residuals),
        error_bound=float(bound),
        converged=converged,
        method="soft_policy_iteration",
        residuals=np.asarray(residuals),
    )
