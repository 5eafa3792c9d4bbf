"""Baselines for multi-agent inverse RL: behaviour cloning and an adversarial tabular max-ent MA-IRL.

* :func:`behaviour_cloning` -- per-agent empirical action frequencies per state (no reward).
* :func:`adversarial_irl` -- an MA-AIRL-style adversarial maximum-entropy IRL, tabular and
  model-based (it uses the game's dynamics ``P``): each agent has a state-own-action reward table
  ``theta_i(s, a_i)``; every round, each agent's policy is its soft best response to ``theta_i``
  against the other agent's *current* policy (one :func:`mdp.soft_value_iteration` each, counted in
  ``n_inner_solves``), and ``theta_i`` moves along the max-ent IRL gradient
  ``rho_E,i(s, a_i) - rho_pi,i(s, a_i)`` (expert minus learner discounted occupancy; Ziebart et al.
  2008; Yu, Song & Ermon 2019, MA-AIRL, whose discriminator-generator game it replaces by its exact
  tabular limit) with Adam steps. This is a reconstruction, not MA-AIRL's code (``docs/papers/mamql.md``).

Independent single-agent IQ-Learn is not a separate function: in this tabular, offline setting it is
the same estimator as :func:`marl.irl.mamql` (each agent's data already marginalise the other's
actions), as ``docs/papers/mamql.md`` explains.
"""

from __future__ import annotations

import warnings

import numpy as np

from marl.irl.equilibrium import (
    Occupancy,
    check_mu0,
    induced_mdp,
    occupancy_measure,
    require_game,
)
from marl.irl.inverse import check_demonstrations, check_occupancy
from mdp._common import ConvergenceWarning, result
from mdp._validation import check_positive_int, check_real
from mdp.model import TabularMDP
from mdp.solvers.soft_value_iteration import check_lam, soft_value_iteration

__all__ = ["AdversarialIRLResult", "BehaviourCloning", "adversarial_irl", "behaviour_cloning", "expert_marginals"]


def expert_marginals(game, data):
    """``(rho_0 (S, A1), rho_1 (S, A2))``: the data's per-agent discounted state-action distributions
    (exact for an occupancy, ``gamma^t``-weighted frequencies for demonstrations)."""
    S, (A1, A2) = game.n_states, game.n_actions
    if isinstance(data, Occupancy) or (isinstance(data, np.ndarray) and data.ndim == 3):
        rho = check_occupancy(data, game)
        return rho.sum(axis=2), rho.sum(axis=1)
    states, actions = check_demonstrations(data, game)
    n, H = actions.shape[:2]
    w = np.broadcast_to(game.gamma ** np.arange(H), (n, H)).ravel()
    s = states[:, :-1].ravel()
    out = []
    for i, A in enumerate((A1, A2)):
        r = np.zeros((S, A))
        np.add.at(r, (s, actions[:, :, i].ravel()), w)
        out.append(r / r.sum())
    return out[0], out[1]


@result
class BehaviourCloning:
    """Per-agent empirical policies.

    Attributes
    ----------
    policies : tuple (ndarray (S, A1), ndarray (S, A2))
        Action frequencies per state (uniform where a state was never visited).
    support : tuple (bool ndarray (S, A1), bool ndarray (S, A2))
        Visited state-action pairs.
    """

    policies: tuple
    support: tuple


def behaviour_cloning(game, data) -> BehaviourCloning:
    """Behaviour cloning: ``pi_i(a|s) = rho_i(s, a) / rho_i(s)`` from demonstrations or an occupancy."""
    game = require_game(game)
    pis, sups = [], []
    for r in expert_marginals(game, data):
        tot = r.sum(axis=1, keepdims=True)
        pis.append(np.where(tot > 0, r / np.where(tot > 0, tot, 1.0), 1.0 / r.shape[1]))
        sups.append(r > 0)
    return BehaviourCloning(policies=tuple(pis), support=tuple(sups))


@result
class AdversarialIRLResult:
    """Result of :func:`adversarial_irl`.

    Attributes
    ----------
    rewards : tuple (ndarray (S, A1), ndarray (S, A2))
        Learned reward tables ``theta_i``.
    policies : tuple (ndarray (S, A1), ndarray (S, A2))
        The learner's final profile (soft best responses to ``theta``).
    n_iter : int
        Rounds done.
    n_inner_solves : int
        Soft value iterations run (two per round).
    history : tuple of (int, tuple, tuple)
        ``(n_inner_solves, rewards, policies)`` snapshots every ``record_every`` rounds.
    residuals : ndarray (n_iter,)
        ``max_i ||rho_E,i - rho_pi,i||_1`` per round (occupancy mismatch).
    """

    rewards: tuple
    policies: tuple
    n_iter: int
    n_inner_solves: int
    history: tuple
    residuals: np.ndarray


def adversarial_irl(
    game, data, lam, mu0=None, *, n_iter: int = 300, lr: float = 0.05, record_every: int = 0
) -> AdversarialIRLResult:
    """Adversarial tabular max-ent multi-agent IRL (module docstring); counts its inner soft-VI solves.

    Parameters
    ----------
    game : MarkovGame
        Dynamics used by the inner solves (model-based).
    data : Demonstrations, (states, actions), Occupancy or ndarray (S, A1, A2)
    lam : float > 0
    mu0 : array_like (S,), optional
        Start distribution of the learner's occupancy (default uniform; pass the experts').
    n_iter : int, default 300
        Rounds (each: two soft value iterations and one occupancy solve).
    lr : float, default 0.05
        Adam step size on the reward tables.
    record_every : int, default 0
        Keep a snapshot every this many rounds (0: none).
    """
    game = require_game(game)
    lam = check_lam(lam)
    n_iter = check_positive_int(n_iter, "n_iter")
    check_real(lr, "lr", "(0, inf)")
    record_every = check_positive_int(record_every, "record_every", minimum=0)
    mu = check_mu0(mu0, game.n_states)
    rho_e = expert_marginals(game, data)
    S, A = game.n_states, game.n_actions
    theta = [np.zeros((S, A[0])), np.zeros((S, A[1]))]
    m1, m2 = [np.zeros_like(t) for t in theta], [np.zeros_like(t) for t in theta]
    pol = [np.full((S, A[0]), 1.0 / A[0]), np.full((S, A[1]), 1.0 / A[1])]
    vs = [None, None]
    history, residuals = [], []
    n_inner = 0
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, n_iter + 1):
        new = []
        for i in (0, 1):
            m = induced_mdp(game, i, pol[1 - i])
            mi = TabularMDP(m.P, theta[i], game.gamma, atol=1e-8)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = soft_value_iteration(mi, lam, tol=1e-9, v0=vs[i])
            vs[i] = np.array(res.v)
            new.append(np.array(res.pi))
            n_inner += 1
        pol = new
        rho = occupancy_measure(game, tuple(pol), mu).rho
        rho_l = (rho.sum(axis=2), rho.sum(axis=1))
        residuals.append(max(float(np.abs(rho_e[i] - rho_l[i]).sum()) for i in (0, 1)))
        for i in (0, 1):
            g = rho_e[i] - rho_l[i]  # ascent direction of the max-ent log-likelihood
            m1[i] = b1 * m1[i] + (1 - b1) * g
            m2[i] = b2 * m2[i] + (1 - b2) * g * g
            theta[i] = theta[i] + lr * (m1[i] / (1 - b1**t)) / (np.sqrt(m2[i] / (1 - b2**t)) + eps)
        if record_every and t % record_every == 0:
            history.append((n_inner, tuple(x.copy() for x in theta), tuple(x.copy() for x in pol)))
    return AdversarialIRLResult(
        rewards=tuple(theta),
        policies=tuple(pol),
        n_iter=n_iter,
        n_inner_solves=n_inner,
        history=tuple(history),
        residuals=np.array(residuals),
    )
