"""Independent tabular REINFORCE learners in a finite swarm (``docs/papers/dec_pomfc.md``, method (b)).

``N`` agents, each with its own softmax decision rules ``theta_i`` ``(H, Y, U)`` over its own observations,
all receiving the shared return ``R = sum_{t=1}^{H} r(mu^N_t)``. One update plays ``batch`` episodes of the
``N``-agent system (:mod:`marl.mean_field.simulate`'s per-agent step, observations and actions recorded)
and moves every agent along its own REINFORCE estimate with the batch-mean return as baseline:
``theta_i[t, y_t^i] += lr / batch * sum_b (R_b - mean R) (e_{u_t^i} - pi_i(. | t, y_t^i))``. No agent sees the
mean field, the others' policies or a per-agent credit: this is the independent-learner baseline of the
digest, not the paper's method.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from marl.mean_field.model import MeanFieldModel, require_model
from marl.mean_field.simulate import _cum_rules, _episode
from mdp._common import draw_rows, result
from mdp._validation import check_positive_int, check_real, check_rng

__all__ = ["SwarmLearnResult", "SwarmGradient", "reference_swarm_reinforce", "swarm_policy_gradient", "swarm_reinforce"]


@result
class SwarmLearnResult:
    """Independent learners after training.

    Attributes
    ----------
    theta : ndarray, shape (N, H, Y, U)
        Each agent's logits.
    h : ndarray, shape (N, H, Y, U)
        Each agent's decision rules (``softmax(theta)``).
    returns : ndarray, shape (n_updates,)
        Batch-mean return at every update.
    """

    theta: np.ndarray
    h: np.ndarray
    returns: np.ndarray


@njit(cache=True)
def _softmax4(theta, h):
    for i in range(theta.shape[0]):
        for t in range(theta.shape[1]):
            for y in range(theta.shape[2]):
                m = theta[i, t, y, 0]
                for u in range(1, theta.shape[3]):
                    m = max(m, theta[i, t, y, u])
                s = 0.0
                for u in range(theta.shape[3]):
                    h[i, t, y, u] = np.exp(theta[i, t, y, u] - m)
                    s += h[i, t, y, u]
                for u in range(theta.shape[3]):
                    h[i, t, y, u] /= s


@njit(cache=True)
def _update(P, O, theta, mu0c, U, lr, w, target, kappa, mu_buf):
    N, H, Y, Ua = theta.shape
    B = U.shape[0]
    h = np.empty_like(theta)
    _softmax4(theta, h)
    hc = np.empty_like(h)
    _cum_rules(h, hc)
    states = np.empty(N, dtype=np.int64)
    counts = np.zeros(P.shape[0], dtype=np.int64)
    obs = np.empty((B, H, N), dtype=np.int64)
    acts = np.empty((B, H, N), dtype=np.int64)
    R = np.empty(B)
    rs = np.zeros(1, dtype=np.uint64)
    for b in range(B):
        R[b] = _episode(P, O, hc, mu0c, N, U[b], False, w, target, kappa, mu_buf, states, counts, obs[b], acts[b], rs)
    base = R.mean()
    for b in range(B):
        adv = (R[b] - base) * lr / B
        if adv == 0.0:
            continue
        for t in range(H):
            for i in range(N):
                y = obs[b, t, i]
                for u in range(Ua):
                    theta[i, t, y, u] -= adv * h[i, t, y, u]
                theta[i, t, y, acts[b, t, i]] += adv
    return base


def _prepare(model, n_agents, n_updates, batch, lr, rng):
    model = require_model(model)
    N = check_positive_int(n_agents, "n_agents")
    n_updates = check_positive_int(n_updates, "n_updates")
    batch = check_positive_int(batch, "batch", minimum=2)
    lr = check_real(lr, "lr", "(0, inf)")
    rng = check_rng(rng)
    return model, N, n_updates, batch, lr, rng


def _softmax(theta):
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def swarm_reinforce(
    model: MeanFieldModel, n_agents: int, *, n_updates: int = 300, batch: int = 16, lr: float = 0.5, rng
) -> SwarmLearnResult:
    """Train ``n_agents`` independent tabular REINFORCE learners on the shared swarm return.

    ``docs/papers/dec_pomfc.md``, method (b) (the independent-learner baseline).

    Parameters
    ----------
    model : MeanFieldModel
    n_agents : int
    n_updates : int, default 300
    batch : int, default 16
        Episodes per update (``>= 2``).
    lr : float, default 0.5
    rng : numpy.random.Generator

    Returns
    -------
    SwarmLearnResult
    """
    model, N, n_updates, batch, lr, rng = _prepare(model, n_agents, n_updates, batch, lr, rng)
    theta = np.zeros((N, model.horizon, model.n_obs, model.n_actions))
    mu0c = np.cumsum(model.mu0)
    mu_buf = np.empty((model.horizon + 1, model.n_states))
    rets = np.empty(n_updates)
    for k in range(n_updates):
        U = rng.random((batch, model.horizon + 1, N, 3))
        rets[k] = _update(model.P, model.O, theta, mu0c, U, lr, model.reward, model.target, model.target_weight, mu_buf)
    return SwarmLearnResult(theta, _softmax(theta), rets)


def reference_swarm_reinforce(
    model: MeanFieldModel, n_agents: int, *, n_updates: int = 300, batch: int = 16, lr: float = 0.5, rng
) -> SwarmLearnResult:
    """Plain-numpy twin of :func:`swarm_reinforce` (same uniforms, same draws)."""
    model, N, n_updates, batch, lr, rng = _prepare(model, n_agents, n_updates, batch, lr, rng)
    X, H, Y, Ua = model.n_states, model.horizon, model.n_obs, model.n_actions
    theta = np.zeros((N, H, Y, Ua))
    rets = np.empty(n_updates)
    mu0c = np.cumsum(model.mu0)[None]
    for k in range(n_updates):
        U = rng.random((batch, H + 1, N, 3))
        h = _softmax(theta)
        hcdf = np.cumsum(h, axis=-1).reshape(N * H * Y, Ua)
        R = np.zeros(batch)
        obs = np.zeros((batch, H, N), dtype=np.int64)
        acts = np.zeros((batch, H, N), dtype=np.int64)
        for b in range(batch):
            x = draw_rows(mu0c, np.zeros(N, dtype=np.int64), U[b, 0, :, 0])
            for t in range(H):
                mu = np.bincount(x, minlength=X) / N
                Pm = np.einsum("z,zxuy->xuy", mu, model.P).reshape(X * Ua, X)
                Om = np.einsum("z,zxy->xy", mu, model.O)
                obs[b, t] = draw_rows(np.cumsum(Om, axis=1), x, U[b, t + 1, :, 0])
                acts[b, t] = draw_rows(hcdf, (np.arange(N) * H + t) * Y + obs[b, t], U[b, t + 1, :, 1])
                x = draw_rows(np.cumsum(Pm, axis=1), x * Ua + acts[b, t], U[b, t + 1, :, 2])
                R[b] += model.r(np.bincount(x, minlength=X) / N)
        rets[k] = R.mean()
        adv = (R - R.mean()) * lr / batch
        for b in range(batch):
            for t in range(H):
                i, y = np.arange(N), obs[b, t]
                g = -h[i, t, y]
                g[np.arange(N), acts[b, t]] += 1.0
                np.add.at(theta, (i, t, y), adv[b] * g)
    return SwarmLearnResult(theta, _softmax(theta), rets)


@result
class SwarmGradient:
    """Monte-Carlo policy gradient of shared softmax rules in the ``N``-agent system.

    Attributes
    ----------
    grad : ndarray, shape (H, Y, U)
        ``mean_b (R_b - mean R) sum_{i, t} (e_{u_t^i} - h_t(. | y_t^i))`` placed at ``[t, y_t^i]``.
    stderr : ndarray, shape (H, Y, U)
        Standard error of each entry over the episodes.
    mean_return : float
    n_agents : int
    """

    grad: np.ndarray
    stderr: np.ndarray
    mean_return: float
    n_agents: int


@njit(cache=True)
def _pg_samples(P, O, h, hc, mu0c, N, n_ep, seed, w, target, kappa, R, S):
    np.random.seed(seed)
    H, Ua = h.shape[1], h.shape[3]
    states = np.empty(N, dtype=np.int64)
    counts = np.zeros(P.shape[0], dtype=np.int64)
    obs = np.empty((H, N), dtype=np.int64)
    acts = np.empty((H, N), dtype=np.int64)
    mu_buf = np.empty((H + 1, P.shape[0]))
    dummyU = np.empty((1, 1, 3))
    rs = np.zeros(1, dtype=np.uint64)
    for e in range(n_ep):
        R[e] = _episode(P, O, hc, mu0c, N, dummyU, True, w, target, kappa, mu_buf, states, counts, obs, acts, rs)
        for t in range(H):
            for i in range(N):
                y = obs[t, i]
                for u in range(Ua):
                    S[e, t, y, u] -= h[0, t, y, u]
                S[e, t, y, acts[t, i]] += 1.0


def swarm_policy_gradient(model: MeanFieldModel, theta, n_agents: int, *, n_episodes: int = 1000, rng) -> SwarmGradient:
    """Score-function estimate of ``dJ^N / dtheta`` for shared softmax rules ``h_t = softmax(theta_t)`` in the
    ``N``-agent system (``docs/papers/dec_pomfc.md`` D6: it approaches the exact mean-field gradient of
    :func:`marl.mean_field.mf_gradient` as ``N`` grows). Baseline: the episodes' mean return."""
    from marl.mean_field.optimize import _theta

    model = require_model(model)
    theta = _theta(theta, model)
    N = check_positive_int(n_agents, "n_agents")
    n_ep = check_positive_int(n_episodes, "n_episodes", minimum=2)
    rng = check_rng(rng)
    h = _softmax(theta)[None]
    hc = np.cumsum(h, axis=-1)
    R = np.empty(n_ep)
    S = np.zeros((n_ep, *theta.shape))
    _pg_samples(
        model.P,
        model.O,
        h,
        hc,
        np.cumsum(model.mu0),
        N,
        n_ep,
        int(rng.integers(2**31 - 1)),
        model.reward,
        model.target,
        model.target_weight,
        R,
        S,
    )
    x = (R - R.mean())[:, None, None, None] * S
    return SwarmGradient(x.mean(axis=0), x.std(axis=0, ddof=1) / np.sqrt(n_ep), float(R.mean()), N)
