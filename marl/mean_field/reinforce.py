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

__all__ = ["SwarmLearnResult", "reference_swarm_reinforce", "swarm_reinforce"]


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
    for b in range(B):
        R[b] = _episode(P, O, hc, mu0c, N, U[b], False, w, target, kappa, mu_buf, states, counts, obs[b], acts[b])
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
