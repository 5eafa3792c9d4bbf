"""Entropy-regularised two-player Markov games: induced MDPs, marginal soft critics, logit
equilibria and soft-optimal demonstrations (the experts of :mod:`marl.irl`).

With the other agent fixed at a stationary ``pi_{-i}``, agent ``i`` faces the induced MDP::

    Pbar_i(s'|s, a_i) = sum_{a_-i} pi_{-i}(a_-i|s) P(s'|s, a_i, a_-i),
    rbar_i(s, a_i)    = sum_{a_-i} pi_{-i}(a_-i|s) r_i(s, a_i, a_-i),

(:meth:`marl.MarkovGame.fixed_column_mdp` / :meth:`~marl.MarkovGame.fixed_row_mdp`). Its soft-optimal
Q function is the marginalised critic ``Qbar_i`` of MAMQL (Haynam et al. 2025, arXiv:2503.04679,
Sec. 4; ``docs/papers/mamql.md``, claim M1) and ``softmax(lam Qbar_i)`` is agent ``i``'s soft
(regularised) best response. A profile where each agent plays its soft best response is a logit
quantal-response equilibrium (McKelvey & Palfrey 1995, 1998; the entropy-regularised Nash
equilibrium; claim M2), computed here by damped simultaneous soft best responses.

Conventions: player 0 is the row player (actions ``A1``), player 1 the column player; a profile is
``(x, y)`` with ``x[s, a1]`` and ``y[s, a2]``; player ``i``'s own-action arrays are ``(S, A_i)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from marl.model import MarkovGame, check_stationary_strategy
from mdp._common import ConvergenceWarning, result
from mdp._common.sampling import draw_rows
from mdp._validation import as_float_array, check_index, check_positive_int, check_real, check_rng, check_tol
from mdp.model import TabularMDP
from mdp.solvers.soft_value_iteration import (
    check_lam,
    soft_policy_evaluation,
    soft_value_iteration,
)

__all__ = [
    "INNER_TOL",
    "Demonstrations",
    "LogitEquilibrium",
    "Occupancy",
    "check_mu0",
    "check_player",
    "check_profile",
    "induced_mdp",
    "logit_equilibrium",
    "marginal_soft_q",
    "occupancy_measure",
    "require_game",
    "sample_demonstrations",
]

#: accuracy of the inner soft value iterations (well above the round-off floor of unit-scale games)
INNER_TOL = 1e-11


def require_game(game, name: str = "game") -> MarkovGame:
    """A two-player :class:`marl.MarkovGame` (zero-sum games are read as general-sum ``(R, -R)``)."""
    if not isinstance(game, MarkovGame):
        raise TypeError(f"{name} must be a marl.MarkovGame, got {type(game).__name__}")
    return game


def check_player(i, name: str = "i") -> int:
    return check_index(i, name, 2, what="player index")


def check_profile(game: MarkovGame, policies, name: str = "policies"):
    """``(x, y)``: stationary strategies ``(S, A1)`` and ``(S, A2)`` (rows on the simplex)."""
    if isinstance(policies, np.ndarray) or not hasattr(policies, "__len__") or len(policies) != 2:
        raise TypeError(f"{name} must be a pair (x, y) of stationary strategies (S, A1), (S, A2)")
    S, (A1, A2) = game.n_states, game.n_actions
    return (
        check_stationary_strategy(policies[0], f"{name}[0]", S, A1),
        check_stationary_strategy(policies[1], f"{name}[1]", S, A2),
    )


def check_mu0(mu0, S: int, name: str = "mu0") -> np.ndarray:
    """Initial distribution: ``None`` (uniform) or a probability vector of length ``S``."""
    if mu0 is None:
        return np.full(S, 1.0 / S)
    mu = as_float_array(mu0, name, ndim=1)
    if mu.shape[0] != S:
        raise ValueError(f"{name} must have length S = {S}, got {mu.shape[0]}")
    if mu.min() < 0 or abs(mu.sum() - 1.0) > 1e-8:
        raise ValueError(f"{name} must be a probability vector (non-negative, summing to 1); sums to {mu.sum():.12g}")
    return mu


def induced_mdp(game, i, pi_other) -> TabularMDP:
    """Agent ``i``'s single-agent MDP ``(Pbar_i, rbar_i, gamma)`` when the other agent plays ``pi_other``.

    Parameters
    ----------
    game : MarkovGame
    i : {0, 1}
        The agent whose MDP it is (actions ``A_i``, reward ``r_i``).
    pi_other : array_like, shape (S, A_{1-i}) or (S,) integer actions
        The other agent's stationary strategy.

    Returns
    -------
    TabularMDP
        ``P[s, a_i, s'] = Pbar_i``, ``R[s, a_i] = rbar_i`` (dense or CSR like the game).
    """
    game = require_game(game)
    i = check_player(i)
    if i == 0:
        return game.fixed_column_mdp(_strategy(game, pi_other, 1, "pi_other"), player=0)
    return game.fixed_row_mdp(_strategy(game, pi_other, 0, "pi_other"), player=1)


def _strategy(game, pi, j, name):
    return check_stationary_strategy(pi, name, game.n_states, game.n_actions[j])


def marginal_soft_q(game, lam, i, pi_other, *, tol: float = INNER_TOL):
    """Agent ``i``'s marginalised soft critic ``(Qbar_i, Vbar_i)`` against ``pi_other``.

    ``Qbar_i`` is the soft-optimal Q of the induced MDP (:func:`induced_mdp`), computed by
    :func:`mdp.soft_value_iteration` to the certified accuracy ``tol`` on ``Vbar_i``
    (``Qbar_i = rbar_i + gamma Pbar_i Vbar_i``, ``Vbar_i = (1/lam) logsumexp(lam Qbar_i)``;
    MAMQL, Haynam et al. 2025, Sec. 4; ``docs/papers/mamql.md``, claim M1).

    Returns
    -------
    (ndarray (S, A_i), ndarray (S,))
    """
    lam = check_lam(lam)
    m = induced_mdp(game, i, pi_other)
    res = soft_value_iteration(m, lam, tol=tol)
    return np.array(res.q), np.array(res.v)


@result
class LogitEquilibrium:
    """An entropy-regularised (logit quantal-response) equilibrium of a two-player Markov game.

    Attributes
    ----------
    policies : tuple (ndarray (S, A1), ndarray (S, A2))
        The profile ``(x, y)``.
    q : tuple (ndarray (S, A1), ndarray (S, A2))
        Marginal soft critics ``Qbar_i`` of each agent against the other's policy in ``policies``.
    v : ndarray, shape (2, S)
        Soft values ``Vbar_i`` (the value of a soft best response against the other).
    lam : float
    residual : float
        Fixed-point residual ``max_i max_s ||softmax(lam Qbar_i)(.|s) - pi_i(.|s)||_1``.
    gaps : ndarray, shape (2,)
        Regularised best-response gaps ``max_s (Vbar_i^{BR} - V_i^{pi_i, lam})(s)`` against the other
        agent's policy (0 at an exact equilibrium; the entropy-regularised Nash gap).
    gap_error : float
        Certified bound on the error of the computed gaps (inner solves and evaluations).
    n_iter : int
        Damped soft best-response rounds.
    n_inner_solves : int
        Soft value iterations run (two per round, plus two for the certificate).
    residuals : ndarray, shape (n_iter,)
        Residual per round.
    converged : bool
        Whether ``residual <= tol``.
    method : str
    """

    policies: tuple
    q: tuple
    v: np.ndarray
    lam: float
    residual: float
    gaps: np.ndarray
    gap_error: float
    n_iter: int
    n_inner_solves: int
    residuals: np.ndarray
    converged: bool
    method: str


def _soft_br(game, lam, i, pi_other, v0):
    m = induced_mdp(game, i, pi_other)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        res = soft_value_iteration(m, lam, tol=INNER_TOL, v0=v0)
    return m, res


def logit_equilibrium(
    game, lam, *, damping: float = 0.5, tol: float = 1e-10, max_iter: int = 10_000, policies0=None
) -> LogitEquilibrium:
    """Entropy-regularised Nash (logit QRE) equilibrium by damped soft best responses.

    Each round computes both agents' soft best responses ``softmax(lam Qbar_i)`` against the other's
    current policy (:func:`marl.irl.marginal_soft_q`, warm-started soft value iteration) and moves every
    policy a fraction ``damping`` towards its response: ``pi_i <- (1 - eta) pi_i + eta BR_i``
    (Haynam et al. 2025; ``docs/papers/mamql.md`` claim M2). The fixed point is a logit equilibrium (McKelvey & Palfrey
    1998, agent QRE); convergence is not guaranteed for every game and ``lam`` (large ``lam``
    approaches Nash equilibria, which damped best responses may cycle around), so the result is
    certified, not assumed: ``residual`` and each agent's regularised best-response gap.

    Parameters
    ----------
    game : MarkovGame
        Two players, general- or zero-sum.
    lam : float
        Inverse temperature ``> 0``.
    damping : float in (0, 1], default 0.5
    tol : float, default 1e-10
        Stop when the residual is ``<= tol``.
    max_iter : int, default 10000
        Budget of rounds (a :class:`mdp.ConvergenceWarning` when it runs out).
    policies0 : pair of arrays, optional
        Starting profile (default uniform).

    Returns
    -------
    LogitEquilibrium
    """
    game = require_game(game)
    lam = check_lam(lam)
    eta = check_real(damping, "damping", "(0, 1]")
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    S, (A1, A2) = game.n_states, game.n_actions
    if policies0 is None:
        x, y = np.full((S, A1), 1.0 / A1), np.full((S, A2), 1.0 / A2)
    else:
        x, y = check_profile(game, policies0, "policies0")
    v0 = v1 = None
    residuals = []
    n_inner = 0
    converged = False
    for _ in range(max_iter):
        _, r0 = _soft_br(game, lam, 0, y, v0)
        _, r1 = _soft_br(game, lam, 1, x, v1)
        n_inner += 2
        v0, v1 = np.array(r0.v), np.array(r1.v)
        res = max(float(np.abs(r0.pi - x).sum(axis=1).max()), float(np.abs(r1.pi - y).sum(axis=1).max()))
        residuals.append(res)
        if res <= tol:
            converged = True
            break
        x = (1.0 - eta) * x + eta * r0.pi
        y = (1.0 - eta) * y + eta * r1.pi
    # certificate at the returned profile (x, y)
    m0, r0 = _soft_br(game, lam, 0, y, v0)
    m1, r1 = _soft_br(game, lam, 1, x, v1)
    n_inner += 2
    e0 = soft_policy_evaluation(m0, x, lam)
    e1 = soft_policy_evaluation(m1, y, lam)
    gaps = np.array([float((r0.v - e0.v).max()), float((r1.v - e1.v).max())])
    gap_error = max(r0.error_bound + e0.error_bound, r1.error_bound + e1.error_bound)
    residual = max(float(np.abs(r0.pi - x).sum(axis=1).max()), float(np.abs(r1.pi - y).sum(axis=1).max()))
    if not converged:
        warnings.warn(
            f"logit_equilibrium stopped at max_iter={max_iter} with residual {residual:.3g} > tol={tol:g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return LogitEquilibrium(
        policies=(x, y),
        q=(np.array(r0.q), np.array(r1.q)),
        v=np.stack([r0.v, r1.v]),
        lam=lam,
        residual=residual,
        gaps=gaps,
        gap_error=float(gap_error),
        n_iter=len(residuals),
        n_inner_solves=n_inner,
        residuals=np.array(residuals),
        converged=converged,
        method=f"damped-soft-best-response[eta={damping:g}]",
    )


# ---------------------------------------------------------------------- expert data
@result
class Occupancy:
    """Normalised discounted occupancy of a profile: ``rho(s, a1, a2) = (1 - gamma) sum_t gamma^t Pr(s_t, a1_t, a2_t)``.

    Attributes
    ----------
    rho : ndarray, shape (S, A1, A2)
        A probability distribution over state-joint-action triples.
    mu0 : ndarray, shape (S,)
        Initial distribution it was computed from.
    """

    rho: np.ndarray
    mu0: np.ndarray


def occupancy_measure(game, policies, mu0=None) -> Occupancy:
    """Exact normalised discounted occupancy ``rho(s, a1, a2)`` of the profile ``(x, y)`` from ``mu0``.

    ``d = (1 - gamma) mu0^T (I - gamma P_xy)^{-1}`` (one linear solve) and
    ``rho(s, a1, a2) = d(s) x(s, a1) y(s, a2)``.
    """
    game = require_game(game)
    x, y = check_profile(game, policies)
    mu = check_mu0(mu0, game.n_states)
    P_xy, _ = game.pair_chain(x, y)
    S, g = game.n_states, game.gamma
    if sp.issparse(P_xy):
        d = spla.spsolve((sp.identity(S, format="csc") - g * P_xy.T).tocsc(), mu)
    else:
        d = np.linalg.solve(np.eye(S) - g * P_xy.T, mu)
    d = np.clip((1.0 - g) * np.asarray(d, dtype=np.float64), 0.0, None)
    d = d / d.sum()
    rho = d[:, None, None] * x[:, :, None] * y[:, None, :]
    return Occupancy(rho=rho, mu0=mu)


@result
class Demonstrations:
    """Sampled joint trajectories of a two-player game.

    Attributes
    ----------
    states : ndarray of int64, shape (n, H + 1)
        ``states[k, t]`` is ``s_t`` of trajectory ``k``.
    actions : ndarray of int64, shape (n, H, 2)
        ``actions[k, t] = (a1_t, a2_t)``.
    """

    states: np.ndarray
    actions: np.ndarray


def sample_demonstrations(game, policies, mu0=None, *, n_trajectories: int, horizon: int, rng) -> Demonstrations:
    """Roll out the profile ``(x, y)`` ``n_trajectories`` times for ``horizon`` steps from ``s_0 ~ mu0``.

    Inverse-CDF draws (``mdp._common.sampling.draw_rows``) from ``rng`` only.
    """
    game = require_game(game)
    x, y = check_profile(game, policies)
    mu = check_mu0(mu0, game.n_states)
    n = check_positive_int(n_trajectories, "n_trajectories")
    H = check_positive_int(horizon, "horizon")
    rng = check_rng(rng)
    S, (A1, A2) = game.n_states, game.n_actions
    cx, cy = np.cumsum(x, axis=1), np.cumsum(y, axis=1)
    cP = np.cumsum(game.dense_P().reshape(S * A1 * A2, S), axis=1)
    states = np.empty((n, H + 1), dtype=np.int64)
    actions = np.empty((n, H, 2), dtype=np.int64)
    states[:, 0] = draw_rows(np.cumsum(mu)[None, :], np.zeros(n, dtype=np.int64), rng.random(n))
    for t in range(H):
        s = states[:, t]
        a1 = draw_rows(cx, s, rng.random(n))
        a2 = draw_rows(cy, s, rng.random(n))
        actions[:, t, 0], actions[:, t, 1] = a1, a2
        states[:, t + 1] = draw_rows(cP, (s * A1 + a1) * A2 + a2, rng.random(n))
    return Demonstrations(states=states, actions=actions)
