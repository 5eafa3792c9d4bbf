"""The soft-optimal policy at temperature ``tau`` with its certified error, stability and price.

``pi_tau(a|s) = exp((Q_tau(s, a) - V_tau(s)) / tau)`` with ``Q_tau = R + gamma P V_tau`` and
``V_tau = tau log sum_a exp(Q_tau / tau)`` (Xu 2025, arXiv 2507.20150; ``docs/papers/policy_cliff.md``,
"Formal setting", PC5, PC6). Computed by :func:`mdp.soft_value_iteration` or
:func:`mdp.soft_policy_iteration` at inverse temperature ``lam = 1 / tau`` (one shared kernel).

Certified quantities (derived on the project's page):

* ``error_bound``: ``||V - V_tau||_inf`` from the solver;
* ``policy_error_bound``: ``max_s ||pi(.|s) - pi_tau(.|s)||_1 <= gamma error_bound / tau``. The
  softmax's Jacobian ``diag(p) - p p^T`` maps a logit change ``dx`` to
  ``||dp||_1 = E_p|dx - E_p dx| <= sqrt(Var_p dx) <= span(dx) / 2``; integrated along the segment
  between two logit vectors this gives ``||p(x) - p(x')||_1 <= span(x - x') / 2 <= ||x - x'||_inf``,
  and the logits ``q / tau`` are within ``gamma error_bound / tau`` of the exact ones;
* ``lipschitz = 1 / (tau (1 - gamma))``: PC5, ``max_s ||pi_tau(R) - pi_tau(R')||_1 <= lipschitz |R - R'|_inf``
  (the soft Bellman operator is a ``gamma``-contraction, so ``|Q_tau(R) - Q_tau(R')| <= |R - R'| / (1 - gamma)``);
* ``price_bound = tau log(A) / (1 - gamma)``: PC6, ``V*_R - V^{pi_tau}_R <= price_bound`` (the
  entropy bonus is at most ``tau log A`` per step).
"""

from __future__ import annotations

import math

import numpy as np

from mdp._common import result
from mdp._validation import check_mdp, check_policy, check_positive_int, check_real, check_tol

__all__ = ["SoftOptimalResult", "check_tau", "soft_optimal_policy", "policy_tv"]

_SOLVERS = ("value_iteration", "policy_iteration")


def check_tau(tau, name: str = "tau") -> float:
    """Return the temperature ``tau`` as a positive finite float (``TypeError``/``ValueError`` otherwise)."""
    return check_real(tau, f"{name} (temperature)", "(0, inf)")


@result
class SoftOptimalResult:
    """Result of :func:`soft_optimal_policy`.

    Attributes
    ----------
    pi : ndarray, shape (S, A)
        Soft-optimal policy ``pi_tau``.
    q : ndarray, shape (S, A)
        ``Q_tau`` as computed.
    v : ndarray, shape (S,)
        ``V_tau`` as computed.
    tau : float
        Temperature.
    error_bound : float
        Certified ``||v - V_tau||_inf``.
    policy_error_bound : float
        Certified ``max_s ||pi(.|s) - pi_tau(.|s)||_1``.
    lipschitz : float
        PC5 constant ``1 / (tau (1 - gamma))`` of ``R -> pi_tau`` (sup norm to per-state L1).
    price_bound : float
        PC6 bound ``tau log(A) / (1 - gamma)`` on ``V* - V^{pi_tau}``.
    n_iter : int
        Sweeps (value iteration) or rounds (policy iteration).
    converged : bool
    method : str
    """

    pi: np.ndarray
    q: np.ndarray
    v: np.ndarray
    tau: float
    error_bound: float
    policy_error_bound: float
    lipschitz: float
    price_bound: float
    n_iter: int
    converged: bool
    method: str


def soft_optimal_policy(
    m, tau, *, method: str = "policy_iteration", tol: float = 1e-10, max_iter: int = 10_000
) -> SoftOptimalResult:
    """Soft-optimal policy ``pi_tau`` of ``m`` at temperature ``tau`` with certified error (module docstring).

    Parameters
    ----------
    m : TabularMDP
        Discounted model.
    tau : float
        Temperature ``> 0`` (``tau -> 0`` recovers the hard optimum, uniform over tied actions).
    method : {"policy_iteration", "value_iteration"}
        :func:`mdp.soft_policy_iteration` (few rounds, each a linear solve) or
        :func:`mdp.soft_value_iteration` (sweeps; many when ``gamma`` is close to 1).
    tol : float, default 1e-10
        Certified accuracy of ``v``.
    max_iter : int, default 10000

    Returns
    -------
    SoftOptimalResult

    Raises
    ------
    TypeError, ValueError
        For a non-MDP ``m``, ``tau <= 0`` or non-finite, an unknown ``method``.

    Examples
    --------
    >>> import numpy as np, mdp
    >>> from mdp.stability import soft_optimal_policy
    >>> bandit = mdp.TabularMDP(np.ones((1, 3, 1)), [[1.0, 1.0, 0.0]], 0.0)
    >>> np.round(soft_optimal_policy(bandit, 0.01).pi, 6).tolist()
    [[0.5, 0.5, 0.0]]
    """
    import mdp

    m = check_mdp(m)
    tau = check_tau(tau)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    if method not in _SOLVERS:
        raise ValueError(f"method must be one of {_SOLVERS}, got {method!r}")
    lam = 1.0 / tau
    if method == "value_iteration":
        r = mdp.soft_value_iteration(m, lam, tol=tol, max_iter=max_iter)
    else:
        r = mdp.soft_policy_iteration(m, lam, tol=tol, max_iter=max_iter)
    g = m.gamma
    pol_err = g * r.error_bound / tau + 8 * np.finfo(float).eps * m.n_actions
    return SoftOptimalResult(
        pi=np.array(r.pi),
        q=np.array(r.q),
        v=np.array(r.v),
        tau=tau,
        error_bound=float(r.error_bound),
        policy_error_bound=float(min(pol_err, 2.0)),
        lipschitz=1.0 / (tau * (1.0 - g)),
        price_bound=tau * math.log(m.n_actions) / (1.0 - g),
        n_iter=int(r.n_iter),
        converged=bool(r.converged),
        method=f"soft_{method}",
    )


def policy_tv(pi1, pi2, n_actions: int | None = None) -> np.ndarray:
    """Per-state total variation ``0.5 ||pi1(.|s) - pi2(.|s)||_1``, shape ``(S,)``.

    Each policy is ``(S,)`` integer actions (then ``n_actions`` is needed unless the other is
    ``(S, A)``) or ``(S, A)`` rows.
    """
    a1, a2 = np.asarray(pi1), np.asarray(pi2)
    S = a1.shape[0]
    A = n_actions if n_actions is not None else next((x.shape[1] for x in (a1, a2) if x.ndim == 2), None)
    if A is None:
        raise ValueError("n_actions is needed when both policies are (S,) integer actions")
    A = check_positive_int(A, "n_actions")
    if a2.shape[0] != S:
        raise ValueError(f"pi1 and pi2 must cover the same states, got {a1.shape} and {a2.shape}")
    rows = []
    for p, name in ((a1, "pi1"), (a2, "pi2")):
        p = check_policy(p, S, A, name)
        if p.ndim == 1:
            full = np.zeros((S, A))
            full[np.arange(S), p] = 1.0
            p = full
        rows.append(p)
    return 0.5 * np.abs(rows[0] - rows[1]).sum(axis=1)
