"""The AG5 bound on the loss of the grouped learner: approximation + estimation + computation."""

from __future__ import annotations

import math

import numpy as np

from mdp._common import result
from mdp._validation import check_mdp as require_mdp
from mdp._validation import check_positive_int, check_real
from mdp.abstraction.grouping.base import (
    _check_delta,
    _check_nonneg_int,
    _check_reward_noise,
    _require_grouping,
)
from mdp.abstraction.grouping.lifted import grouping_errors

__all__ = ["GroupingLossBound", "grouping_loss_bound"]


@result
class GroupingLossBound:
    """The three-term loss bound of AG5 and its ingredients.

    Attributes
    ----------
    approximation : float
        ``B(g) = (eps_R + gamma eps_P span / (2 (1 - gamma))) / (1 - gamma)`` (AG2).
    estimation : float
        ``2 (e_R + gamma e_P span / (2 (1 - gamma))) / (1 - gamma)`` (AG3), holding w.p. ``1 - delta``.
    computation : float
        ``2 gamma^{T+1} max|R| / (1 - gamma)^2`` (AG4).
    total : float
        The sum: with probability ``>= 1 - delta``, ``||V*_M - V^{pi_hat o mu}_M||_inf <= total`` (AG5).
    eps_P, eps_R : float
        Grouping errors used (exact or plug-in).
    e_P, e_R : float
        Weissman L1 radius ``sqrt(2 (S ln 2 + ln(2 S G / delta)) / N)`` and Hoeffding radius
        ``w sqrt(ln(4 S G / delta) / (2 N))`` with ``w`` the width of the observed rewards
        (``span``, or 1 for Bernoulli observations).
    n_groups, N, T : int
    delta, gamma, reward_span, reward_max : float
        ``span = max R - min R``; ``reward_max`` bounds ``max |Rhat|`` (``max |R|``, or 1 for
        Bernoulli observations), the reward scale of the computation term.
    trivial : float
        ``span / (1 - gamma)``: no policy loses more (the bound may exceed it at small ``N``).
    """

    approximation: float
    estimation: float
    computation: float
    total: float
    eps_P: float
    eps_R: float
    e_P: float
    e_R: float
    n_groups: int
    N: int
    T: int
    delta: float
    gamma: float
    reward_span: float
    reward_max: float
    trivial: float


def grouping_loss_bound(
    m, grouping, N, T, *, delta: float = 0.05, eps_P=None, eps_R=None, reward_noise: str = "none"
) -> GroupingLossBound:
    """The AG5 bound on the loss of :func:`grouped_learner`: approximation + estimation + computation.

    With probability at least ``1 - delta`` over the samples,

        V*_M - V^{pi_hat o mu}_M <= B(g) + 2 (e_R + gamma e_P c) / (1 - gamma) + 2 gamma^{T+1} r / (1 - gamma)^2

    componentwise, with ``c = span / (2 (1 - gamma))``, ``span = max R - min R`` and ``r = max |R|``
    (``docs/papers/action_grouping.md`` AG5; same structure as Li, Ju & Shroff 2024, Thm 1; constants derived
    here). Derivation: write ``M_hat`` for the empirical lifted model, ``pi_g*``, ``pi_inf`` for the
    optima of ``M_g``, ``M_hat``, and ``d(pi) = ||V^pi_{M_g} - V^pi_{M_hat}||_inf``. Then

    * ``V*_M - V*_{M_g} <= B(g)``: ``V*_{M_g}`` is the optimal value of ``M~`` with
      ``P~(.|s,a) = Pbar_{g(a)}(.|s)``, ``R~(s,a) = Rbar_{g(a)}(s)``, so
      ``V*_M - V*_{M_g} <= V^{pi*}_M - V^{pi*}_{M~}``, bounded by the simulation lemma (foundations
      F9) with ``|(p - q) V| <= ||p - q||_1 span(V) / 2`` and ``span(V) <= span / (1 - gamma)``;
    * ``V*_{M_g} - V^{pi_hat}_{M_g} <= 2 sup_pi d(pi) + ||V*_{M_hat} - V^{pi_hat}_{M_hat}||`` (F10),
      where ``sup_pi d(pi) <= (e_R + gamma e_P c) / (1 - gamma)`` (F8 written with ``V^pi_{M_g}``,
      whose span is at most ``span / (1 - gamma)``, so this holds for any observed rewards) on the event
      ``max_{s,i} ||Phat - Pbar||_1 <= e_P`` and ``max |Rhat - Rbar| <= e_R``, which has probability
      ``>= 1 - delta``: Weissman et al. (2003) gives ``P(||p_hat - p||_1 >= e) <= (2^S - 2) exp(-N e^2 / 2)``
      and Hoeffding ``P(|r_hat - r| >= t) <= 2 exp(-2 N t^2 / span^2)``, each set to
      ``delta / (2 S G)`` and united over the ``2 S G`` events;
    * ``V*_{M_hat} - V^{pi_hat}_{M_hat} <= 2 gamma ||V_T - V*_{M_hat}|| / (1 - gamma)`` (F4) and
      ``||V_T - V*_{M_hat}|| <= gamma^T ||V*_{M_hat}|| <= gamma^T r / (1 - gamma)`` (F2, ``V_0 = 0``;
      ``r`` bounds ``max |Rhat|``: ``max |R|``, or 1 for Bernoulli observations);
    * ``V^{pi_hat o mu}_M = V^{pi_hat}_{M_g}`` (AG1).

    Parameters
    ----------
    m : TabularMDP
        The true model (its ``gamma``, ``R`` and, unless given, the exact ``eps_P, eps_R``).
    grouping : ActionGrouping or array_like of int
    N : int
        Samples per state-group pair, ``>= 1``.
    T : int
        Value-iteration sweeps, ``>= 0``.
    delta : float, default 0.05
        Failure probability in ``(0, 1)``.
    eps_P, eps_R : float, optional
        Plug-in grouping errors (e.g. from a pilot sample); default: exact, :func:`grouping_errors`.
    reward_noise : {"none", "bernoulli"}, default "none"
        How :func:`grouped_learner` observes rewards: the observed rewards range over an interval
        of width ``span`` (``"none"``: they are values ``R(s, a)``) or ``1`` (``"bernoulli"``), the
        width that enters Hoeffding's ``e_R``.

    Returns
    -------
    GroupingLossBound
    """
    m = require_mdp(m)
    grouping = _require_grouping(grouping, m)
    N = check_positive_int(N, "N")
    T = _check_nonneg_int(T, "T")
    delta = _check_delta(delta)
    if eps_P is None or eps_R is None:
        exact = grouping_errors(m, grouping)
        eps_P = exact.eps_P if eps_P is None else eps_P
        eps_R = exact.eps_R if eps_R is None else eps_R
    eps_P = _check_eps(eps_P, "eps_P")
    eps_R = _check_eps(eps_R, "eps_R")
    reward_noise = _check_reward_noise(reward_noise, m)
    return _bound(
        m.n_states,
        grouping.n_groups,
        m.gamma,
        float(m.R.max() - m.R.min()),
        float(np.abs(m.R).max()),
        eps_P,
        eps_R,
        N,
        T,
        delta,
        1.0 if reward_noise == "bernoulli" else None,
    )


def _check_eps(x, name: str) -> float:
    return check_real(x, name, "[0, inf)")


def _bound(S, G, gamma, span, rmax, eps_P, eps_R, N, T, delta, obs_width=None) -> GroupingLossBound:
    c = span / (2.0 * (1.0 - gamma))
    approx = (eps_R + gamma * eps_P * c) / (1.0 - gamma)
    e_P = math.sqrt(2.0 * (S * math.log(2.0) + math.log(2.0 * S * G / delta)) / N)
    width = span if obs_width is None else obs_width
    e_R = width * math.sqrt(math.log(4.0 * S * G / delta) / (2.0 * N))
    if obs_width is not None:  # Bernoulli observations: the empirical rewards lie in [0, 1]
        rmax = max(rmax, 1.0)
    est = 2.0 * (e_R + gamma * e_P * c) / (1.0 - gamma)
    comp = 2.0 * gamma ** (T + 1) * rmax / (1.0 - gamma) ** 2
    return GroupingLossBound(
        approximation=approx,
        estimation=est,
        computation=comp,
        total=approx + est + comp,
        eps_P=eps_P,
        eps_R=eps_R,
        e_P=e_P,
        e_R=e_R,
        n_groups=int(G),
        N=int(N),
        T=int(T),
        delta=delta,
        gamma=float(gamma),
        reward_span=span,
        reward_max=rmax,
        trivial=span / (1.0 - gamma),
    )
