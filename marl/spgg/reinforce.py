"""Independent REINFORCE learners in a sequential public-goods game (``docs/papers/mac_spgg.md``, lab (b)).

Each agent ``i`` has its own tabular softmax policy ``pi_i(a | k)`` over the grid levels ``a``, where the
context ``k = sum_{j<i} a_j`` is the sum of its predecessors' grid indices (the "full observation"
mode of the paper reduced to the statistic the payoff depends on; for a uniform grid it is the prefix
sum of efforts, which determines the subgame, so the exact SPNE strategy is a function of it). Agent
``i`` uses contexts ``0..i (G - 1)``; the logits are stored in one padded array ``theta`` ``(N, K, G)``,
``K = (N - 1)(G - 1) + 1``.

One update: ``batch`` episodes are played in order (agent ``i`` draws its level by inverse CDF from the
uniform ``U[t, b, i]``), each agent receives its own payoff ``u_i`` of :func:`marl.spgg.spgg_payoffs`, and
ascends its REINFORCE gradient with the batch-mean payoff as baseline:
``theta_i[k] += lr / batch * sum_b (u_i^b - mean_b u_i) (e_{a_i^b} - pi_i(. | k_i^b))``. The agents are
independent: no agent's update uses another's policy or payoff (the paper trains each agent's policy with
PPO on ``u_i``; REINFORCE is the plain policy-gradient special case).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from marl.spgg.model import SPGGame, _profile_payoffs, require_game
from mdp._common import result
from mdp._common.sampling import draw_vector
from mdp._validation import as_float_array, check_positive_int, check_real, check_rng

__all__ = ["SPGGLearnResult", "reference_spgg_reinforce", "spgg_reinforce"]


@result
class SPGGLearnResult:
    """Training trace of independent REINFORCE learners.

    Attributes
    ----------
    theta : ndarray, shape (N, K, G)
        Final logits (agent ``i`` uses contexts ``0..i (G - 1)``).
    pi : ndarray, shape (N, K, G)
        ``softmax(theta)`` over the last axis.
    effort : ndarray, shape (n_updates, N)
        Batch-mean effort of each agent at each update.
    payoff : ndarray, shape (n_updates, N)
        Batch-mean payoff of each agent.
    total : ndarray, shape (n_updates,)
        Batch-mean public good ``T = sum_i q_i``.
    penalised : ndarray, shape (n_updates,)
        Fraction of the batch's episodes with ``T < B``.
    greedy_path : ndarray, shape (N,)
        Efforts on the path of the agents' most likely levels after training.
    """

    theta: np.ndarray
    pi: np.ndarray
    effort: np.ndarray
    payoff: np.ndarray
    total: np.ndarray
    penalised: np.ndarray
    greedy_path: np.ndarray


@njit(cache=True)
def _train(grid, params, theta, U, lr, effort, payoff, total, penalised):
    n_upd, batch, n = U.shape
    G = grid.shape[0]
    acts = np.empty((batch, n), dtype=np.int64)
    ctxs = np.empty((batch, n), dtype=np.int64)
    us = np.empty((batch, n))
    q = np.empty(n)
    u = np.empty(n)
    p = np.empty(G)
    grad = np.zeros_like(theta)
    B = params[3]
    for t in range(n_upd):
        for b in range(batch):
            k = 0
            for i in range(n):
                m = theta[i, k, 0]
                for a in range(1, G):
                    if theta[i, k, a] > m:
                        m = theta[i, k, a]
                c = 0.0
                for a in range(G):
                    c += np.exp(theta[i, k, a] - m)
                    p[a] = c
                x = U[t, b, i] * c
                a_sel = G - 1
                for a in range(G):
                    if p[a] > x:
                        a_sel = a
                        break
                acts[b, i] = a_sel
                ctxs[b, i] = k
                q[i] = grid[a_sel]
                k += a_sel
            _profile_payoffs(q, params, u)
            tot = 0.0
            for i in range(n):
                us[b, i] = u[i]
                tot += q[i]
            total[t] += tot / batch
            if tot < B - 1e-9:
                penalised[t] += 1.0 / batch
            for i in range(n):
                effort[t, i] += q[i] / batch
                payoff[t, i] += u[i] / batch
        grad[:] = 0.0
        for i in range(n):
            base = payoff[t, i]
            for b in range(batch):
                adv = us[b, i] - base
                if adv == 0.0:
                    continue
                k = ctxs[b, i]
                m = theta[i, k, 0]
                for a in range(1, G):
                    if theta[i, k, a] > m:
                        m = theta[i, k, a]
                z = 0.0
                for a in range(G):
                    p[a] = np.exp(theta[i, k, a] - m)
                    z += p[a]
                for a in range(G):
                    grad[i, k, a] -= adv * p[a] / z
                grad[i, k, acts[b, i]] += adv
        for i in range(n):
            for k in range(theta.shape[1]):
                for a in range(G):
                    theta[i, k, a] += lr * grad[i, k, a] / batch


def _softmax(theta):
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _greedy_path(game, theta):
    k, path = 0, []
    for i in range(game.n_agents):
        a = int(np.argmax(theta[i, k]))
        path.append(game.grid[a])
        k += a
    return np.asarray(path)


def _prepare(game, n_updates, batch, lr, theta0, rng):
    game = require_game(game)
    n_updates = check_positive_int(n_updates, "n_updates")
    batch = check_positive_int(batch, "batch", minimum=2)
    lr = check_real(lr, "lr", "(0, inf)")
    rng = check_rng(rng)
    n, G = game.n_agents, game.n_levels
    K = (n - 1) * (G - 1) + 1
    if theta0 is None:
        theta = np.zeros((n, K, G))
    else:
        theta = as_float_array(theta0, "theta0", ndim=3, allow_bool=False).copy()
        if theta.shape != (n, K, G):
            raise ValueError(f"theta0 must have shape (N, K, G) = {(n, K, G)}, got {theta.shape}")
    U = rng.random((n_updates, batch, n))
    return game, theta, U, lr


def _result(game, theta, effort, payoff, total, pen):
    return SPGGLearnResult(theta, _softmax(theta), effort, payoff, total, pen, _greedy_path(game, theta))


def spgg_reinforce(
    game: SPGGame, *, n_updates: int = 500, batch: int = 32, lr: float = 1.0, theta0=None, rng
) -> SPGGLearnResult:
    """Train independent tabular REINFORCE learners on a sequential public-goods game.

    ``docs/papers/mac_spgg.md``, lab (b): free riding under the classic payoff, full effort under the
    redesigned one (Liang et al. 2025 train each agent with PPO on its own payoff).

    Parameters
    ----------
    game : SPGGame
    n_updates : int, default 500
        Policy-gradient steps.
    batch : int, default 32
        Episodes per step (``>= 2``; the batch mean is the baseline).
    lr : float, default 1.0
        Step size.
    theta0 : array_like, shape (N, K, G), optional
        Initial logits (default zeros: uniform policies).
    rng : numpy.random.Generator
        Source of the episodes' uniforms.

    Returns
    -------
    SPGGLearnResult
    """
    game, theta, U, lr = _prepare(game, n_updates, batch, lr, theta0, rng)
    n_upd, n = U.shape[0], game.n_agents
    effort, payoff = np.zeros((n_upd, n)), np.zeros((n_upd, n))
    total, pen = np.zeros(n_upd), np.zeros(n_upd)
    _train(game.grid, game.params(), theta, U, lr, effort, payoff, total, pen)
    return _result(game, theta, effort, payoff, total, pen)


def reference_spgg_reinforce(
    game: SPGGame, *, n_updates: int = 500, batch: int = 32, lr: float = 1.0, theta0=None, rng
) -> SPGGLearnResult:
    """Plain-numpy twin of :func:`spgg_reinforce` (same uniforms, same draws: the results agree)."""
    from marl.spgg.model import reference_spgg_payoffs

    game, theta, U, lr = _prepare(game, n_updates, batch, lr, theta0, rng)
    n_upd, batch, n = U.shape
    grid = game.grid
    effort, payoff = np.zeros((n_upd, n)), np.zeros((n_upd, n))
    total, pen = np.zeros(n_upd), np.zeros(n_upd)
    for t in range(n_upd):
        acts = np.zeros((batch, n), dtype=np.int64)
        ctxs = np.zeros((batch, n), dtype=np.int64)
        for b in range(batch):
            k = 0
            for i in range(n):
                acts[b, i] = draw_vector(_softmax(theta[i, k]), U[t, b, i])
                ctxs[b, i] = k
                k += acts[b, i]
        q = grid[acts]
        u = reference_spgg_payoffs(game, q)
        effort[t], payoff[t] = q.mean(axis=0), u.mean(axis=0)
        total[t] = q.sum(axis=1).mean()
        pen[t] = np.mean(q.sum(axis=1) < game.threshold - 1e-9)
        grad = np.zeros_like(theta)
        adv = u - payoff[t]
        for b in range(batch):
            for i in range(n):
                k = ctxs[b, i]
                g = -_softmax(theta[i, k])
                g[acts[b, i]] += 1.0
                grad[i, k] += adv[b, i] * g
        theta += lr * grad / batch
    return _result(game, theta, effort, payoff, total, pen)
