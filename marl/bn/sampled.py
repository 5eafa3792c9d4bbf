"""Sampled learning of tabular softmax BN policies: REINFORCE and a centralised actor-critic.

Both sample joint actions agent by agent in a topological order of the DAG (agent ``i`` reads its
parents' sampled actions) and use the score ``grad log pi_i(a_i | s, p) = e_{a_i} - pi_i(. | s, p)`` of
each agent's own conditional (Chen & Zhang 2023, BN policy-gradient theorem; ``docs/papers/bn_marl.md``).

* :func:`bn_reinforce`: episodes from ``s_0 ~ rho`` that end after each step with probability
  ``1 - gamma`` (so the undiscounted return of an episode has expectation ``J = rho^T V^pi``); the
  estimate ``sum_t G_t grad log pi(a_t | s_t)`` with the reward-to-go ``G_t`` is unbiased for the exact
  gradient (:func:`bn_reinforce_gradient` returns it with its standard error).
* :func:`bn_actor_critic`: one stream of transitions restarted from ``rho`` with probability
  ``1 - gamma`` after each step (so states follow the normalised discounted visitation); a
  centralised tabular critic ``Q(s, a)`` over *joint* actions learned by expected SARSA,
  ``Q(s, a) += lr_critic (r + gamma sum_a' pi(a'|s') Q(s', a') - Q(s, a))`` with ``s' ~ P(. | s, a)``,
  and the actor step ``theta_i[s, p] += lr_actor (Q(s, a) - V(s)) (e_{a_i} - pi_i(. | s, p))`` with
  ``V(s) = sum_a pi(a|s) Q(s, a)``. The pitfall of the digest: an individual-action critic cannot score
  correlated behaviour, hence the joint one.

Randomness: the caller's ``numpy.random.Generator`` is passed into the compiled loops (numba draws
from it directly); the numpy twins consume it in the same order, so both give the same numbers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from marl.bn.gradient import (
    _pack,
    _softmax_kernel,
    _unpack,
    _validated,
    bn_policy_gradient,
)
from marl.bn.model import _topological_order, conditional_policies, context_index
from mdp._common import cumulative_rows, draw_csr, result
from mdp._common import draw_vector as _np_draw
from mdp._validation import check_positive_int, check_rng, check_tol

__all__ = [
    "SampledResult",
    "bn_actor_critic",
    "bn_reinforce",
    "bn_reinforce_gradient",
    "reference_bn_actor_critic",
    "reference_bn_reinforce_gradient",
]


# ---------------------------------------------------------------------- kernels
@njit(cache=True)
def _draw_row(p, base, n, u):
    """First ``b`` with ``p[base] + ... + p[base + b] > u * total`` (as :func:`mdp._common.draw_vector`)."""
    tot = 0.0
    for b in range(n):
        tot += p[base + b]
    x = u * tot
    c = 0.0
    for b in range(n):
        c += p[base + b]
        if c > x:
            return b
    return n - 1


@njit(cache=True)
def _draw_vec(c, u):
    x = u * c[c.shape[0] - 1]
    for k in range(c.shape[0]):
        if c[k] > x:
            return k
    return c.shape[0] - 1


@njit(cache=True)
def _sample_joint(s, cond, off, K, A, par_ptr, par_idx, order, acts, rng):
    j = 0
    for k in range(order.shape[0]):
        i = order[k]
        p = 0
        for t in range(par_ptr[i], par_ptr[i + 1]):
            q = par_idx[t]
            p = p * A[q] + acts[q]
        acts[i] = _draw_row(cond, off[i] + (s * K[i] + p) * A[i], A[i], rng.random())
    for i in range(A.shape[0]):
        j = j * A[i] + acts[i]
    return j


@njit(cache=True)
def _score_add(s, acts, weight, cond, off, K, A, par_ptr, par_idx, g):
    """``g += weight * grad log pi(acts | s)`` (flat layout)."""
    for i in range(A.shape[0]):
        p = 0
        for t in range(par_ptr[i], par_ptr[i + 1]):
            q = par_idx[t]
            p = p * A[q] + acts[q]
        base = off[i] + (s * K[i] + p) * A[i]
        for b in range(A[i]):
            g[base + b] -= weight * cond[base + b]
        g[base + acts[i]] += weight


@njit(cache=True)
def _episodes(
    indptr,
    indices,
    cdf,
    R,
    gamma,
    mu_cdf,
    cond,
    off,
    K,
    A,
    par_ptr,
    par_idx,
    order,
    n_episodes,
    max_len,
    rng,
    g_sum,
    g_sq,
    ret,
):
    """``n_episodes`` REINFORCE estimates at fixed ``cond``: sums and sums of squares in ``g_sum``, ``g_sq``."""
    J = R.shape[1]
    n = A.shape[0]
    states = np.empty(max_len, dtype=np.int64)
    acts_h = np.empty((max_len, n), dtype=np.int64)
    rews = np.empty(max_len)
    acts = np.empty(n, dtype=np.int64)
    ge = np.empty_like(g_sum)
    total = 0.0
    for e in range(n_episodes):
        s = _draw_vec(mu_cdf, rng.random())
        T = 0
        while True:
            j = _sample_joint(s, cond, off, K, A, par_ptr, par_idx, order, acts, rng)
            states[T] = s
            for i in range(n):
                acts_h[T, i] = acts[i]
            rews[T] = R[s, j]
            T += 1
            if T >= max_len or rng.random() >= gamma:
                break
            s = draw_csr(indptr, indices, cdf, s * J + j, rng.random())
        ge[:] = 0.0
        G = 0.0
        for t in range(T - 1, -1, -1):
            G += rews[t]
            _score_add(states[t], acts_h[t], G, cond, off, K, A, par_ptr, par_idx, ge)
        total += G
        for k in range(ge.shape[0]):
            g_sum[k] += ge[k]
            g_sq[k] += ge[k] * ge[k]
    ret[0] = total


@njit(cache=True)
def _reinforce_loop(
    indptr,
    indices,
    cdf,
    R,
    gamma,
    mu_cdf,
    flat,
    off,
    K,
    A,
    par_ptr,
    par_idx,
    order,
    S,
    n_iter,
    batch,
    lr,
    max_len,
    rng,
    returns,
):
    cond = np.empty_like(flat)
    g_sum = np.empty_like(flat)
    g_sq = np.empty_like(flat)
    ret = np.zeros(1)
    for it in range(n_iter):
        _softmax_kernel(flat, off, K, A, S, cond)
        g_sum[:] = 0.0
        g_sq[:] = 0.0
        _episodes(
            indptr,
            indices,
            cdf,
            R,
            gamma,
            mu_cdf,
            cond,
            off,
            K,
            A,
            par_ptr,
            par_idx,
            order,
            batch,
            max_len,
            rng,
            g_sum,
            g_sq,
            ret,
        )
        returns[it] = ret[0] / batch
        for k in range(flat.shape[0]):
            flat[k] += lr * g_sum[k] / batch


@njit(cache=True)
def _row_softmax(flat, base, n, out):
    m = flat[base]
    for b in range(1, n):
        m = max(m, flat[base + b])
    tot = 0.0
    for b in range(n):
        out[b] = np.exp(flat[base + b] - m)
        tot += out[b]
    for b in range(n):
        out[b] /= tot


@njit(cache=True)
def _joint_row(s, flat, off, K, A, par_ptr, par_idx, J, row, acts, buf):
    """``row[j] = pi(j | s)`` from the logits (softmax of the needed rows on the fly)."""
    n = A.shape[0]
    for j in range(J):
        x = j
        for k in range(n - 1, -1, -1):
            acts[k] = x % A[k]
            x //= A[k]
        pr = 1.0
        for i in range(n):
            p = 0
            for t in range(par_ptr[i], par_ptr[i + 1]):
                q = par_idx[t]
                p = p * A[q] + acts[q]
            _row_softmax(flat, off[i] + (s * K[i] + p) * A[i], A[i], buf)
            pr *= buf[acts[i]]
        row[j] = pr


@njit(cache=True)
def _actor_critic_loop(
    indptr, indices, cdf, R, gamma, mu_cdf, flat, off, K, A, par_ptr, par_idx, order, n_steps, lr_a, lr_c, Q, s0, rng
):
    _S, J = R.shape
    n = A.shape[0]
    acts = np.empty(n, dtype=np.int64)
    tmp = np.empty(n, dtype=np.int64)
    amax = 0
    for i in range(n):
        amax = max(amax, A[i])
    buf = np.empty(amax)
    row = np.empty(J)
    cond_s = np.empty(amax)
    s = s0
    for t in range(n_steps):
        # sample the joint action in topological order from the current logits
        j = 0
        for k in range(order.shape[0]):
            i = order[k]
            p = 0
            for u in range(par_ptr[i], par_ptr[i + 1]):
                q = par_idx[u]
                p = p * A[q] + acts[q]
            _row_softmax(flat, off[i] + (s * K[i] + p) * A[i], A[i], buf)
            acts[i] = _draw_row(buf, 0, A[i], rng.random())
        for i in range(n):
            j = j * A[i] + acts[i]
        r = R[s, j]
        s_next = draw_csr(indptr, indices, cdf, s * J + j, rng.random())
        # critic: expected SARSA on joint actions
        _joint_row(s_next, flat, off, K, A, par_ptr, par_idx, J, row, tmp, buf)
        v_next = 0.0
        for jj in range(J):
            v_next += row[jj] * Q[s_next, jj]
        Q[s, j] += lr_c * (r + gamma * v_next - Q[s, j])
        # actor: advantage of the sampled joint action under the critic
        _joint_row(s, flat, off, K, A, par_ptr, par_idx, J, row, tmp, buf)
        v_s = 0.0
        for jj in range(J):
            v_s += row[jj] * Q[s, jj]
        adv = Q[s, j] - v_s
        for i in range(n):
            p = 0
            for u in range(par_ptr[i], par_ptr[i + 1]):
                q = par_idx[u]
                p = p * A[q] + acts[q]
            base = off[i] + (s * K[i] + p) * A[i]
            _row_softmax(flat, base, A[i], cond_s)
            for b in range(A[i]):
                flat[base + b] -= lr_a * adv * cond_s[b]
            flat[base + acts[i]] += lr_a * adv
        # next state, restarted from rho with probability 1 - gamma
        if rng.random() >= gamma:
            s = _draw_vec(mu_cdf, rng.random())
        else:
            s = s_next
    return s


# ---------------------------------------------------------------------- numpy twins
def reference_bn_reinforce_gradient(game, parents, theta, n_episodes, rng, max_len=100_000):
    """Plain-python twin of :func:`bn_reinforce_gradient` (same draws from ``rng``); returns
    ``(mean gradient tuple, standard error tuple, mean return)``."""
    conds = conditional_policies(theta)
    S, A, n = game.n_states, game.n_actions, game.n_agents
    P = game.dense_joint_P()
    R = np.asarray(game.R).reshape(S, -1)
    order = _topological_order(parents, "parents")
    mu = np.asarray(game.mu)
    g_sum = [np.zeros_like(c) for c in conds]
    g_sq = [np.zeros_like(c) for c in conds]
    tot = 0.0
    for _ in range(n_episodes):
        s = _np_draw(mu, rng.random())
        hist = []
        while True:
            a = np.zeros(n, dtype=np.int64)
            for i in order:
                p = int(context_index(parents[i], a, A))
                a[i] = _np_draw(conds[i][s, p], rng.random())
            j = int(np.ravel_multi_index(tuple(a), A))
            hist.append((s, a.copy(), R[s, j]))
            if len(hist) >= max_len or rng.random() >= game.gamma:
                break
            s = _np_draw(P[s, j], rng.random())
        ge = [np.zeros_like(c) for c in conds]
        G = 0.0
        for s_t, a_t, r_t in reversed(hist):
            G += r_t
            for i in range(n):
                p = int(context_index(parents[i], a_t, A))
                ge[i][s_t, p] -= G * conds[i][s_t, p]
                ge[i][s_t, p, a_t[i]] += G
        tot += G
        for i in range(n):
            g_sum[i] += ge[i]
            g_sq[i] += ge[i] ** 2
    mean = tuple(g / n_episodes for g in g_sum)
    se = tuple(np.sqrt(np.maximum(q / n_episodes - m**2, 0.0) / max(n_episodes - 1, 1)) for q, m in zip(g_sq, mean))
    return mean, se, tot / n_episodes


def reference_bn_actor_critic(game, parents, theta0, n_steps, lr_actor, lr_critic, rng):
    """Plain-python twin of :func:`bn_actor_critic` (same draws); returns ``(theta, Q)``."""
    theta = [np.array(t, dtype=np.float64) for t in theta0]
    S, A, n, J = game.n_states, game.n_actions, game.n_agents, game.n_joint
    P = game.dense_joint_P()
    R = np.asarray(game.R).reshape(S, -1)
    g = game.gamma
    order = _topological_order(parents, "parents")
    mu = np.asarray(game.mu)
    grid = np.stack(np.unravel_index(np.arange(J), A), axis=-1)
    Q = np.zeros((S, J))

    def sm(x):
        z = np.exp(x - x.max())
        return z / z.sum()

    def joint_row(s):
        row = np.ones(J)
        for i in range(n):
            p = context_index(parents[i], grid, A)
            row *= np.array([sm(theta[i][s, p[jj]])[grid[jj, i]] for jj in range(J)])
        return row

    s = _np_draw(mu, rng.random())
    for _ in range(n_steps):
        a = np.zeros(n, dtype=np.int64)
        for i in order:
            p = int(context_index(parents[i], a, A))
            a[i] = _np_draw(sm(theta[i][s, p]), rng.random())
        j = int(np.ravel_multi_index(tuple(a), A))
        r = R[s, j]
        s_next = _np_draw(P[s, j], rng.random())
        Q[s, j] += lr_critic * (r + g * joint_row(s_next) @ Q[s_next] - Q[s, j])
        adv = Q[s, j] - joint_row(s) @ Q[s]
        for i in range(n):
            p = int(context_index(parents[i], a, A))
            c = sm(theta[i][s, p])
            theta[i][s, p] -= lr_actor * adv * c
            theta[i][s, p, a[i]] += lr_actor * adv
        s = _np_draw(mu, rng.random()) if rng.random() >= g else s_next
    return tuple(theta), Q


# ---------------------------------------------------------------------- public
@result
class SampledResult:
    """Outcome of sampled learning of a BN policy.

    Attributes
    ----------
    theta : tuple of ndarray
        Final logits, ``theta[i]`` ``(S, K_i, A_i)``.
    pi : ndarray, shape (S, J)
        Final joint policy.
    value : float
        Exact ``J = rho^T V^pi`` of the final policy.
    values : ndarray, shape (n_checkpoints,)
        Exact ``J`` at the checkpoints.
    checkpoints : ndarray of int, shape (n_checkpoints,)
        Iterations (REINFORCE) or transitions (actor-critic) done at each checkpoint.
    returns : ndarray
        REINFORCE: the mean sampled return of each iteration's batch ``(n_iter,)``; actor-critic: empty.
    q : ndarray, shape (S, J)
        Actor-critic: the learned joint-action critic; REINFORCE: empty ``(0, 0)``.
    n_iter : int
        Iterations (REINFORCE) or transitions (actor-critic).
    """

    theta: tuple
    pi: np.ndarray
    value: float
    values: np.ndarray
    checkpoints: np.ndarray
    returns: np.ndarray
    q: np.ndarray
    n_iter: int


def _sampling_arrays(game, parents, theta):
    packed = _pack(game, parents, theta)
    indptr, indices, cdf = cumulative_rows(game.joint_mdp)
    mu_cdf = np.cumsum(np.asarray(game.mu, dtype=np.float64))
    order = np.array(_topological_order(parents, "parents"), dtype=np.int64)
    R = np.ascontiguousarray(game.joint_mdp.R, dtype=np.float64)
    return packed, (np.asarray(indptr, dtype=np.int64), np.asarray(indices, dtype=np.int64), cdf), mu_cdf, order, R


def bn_reinforce_gradient(game, parents, theta, *, n_episodes: int, rng, max_len: int = 100_000):
    """Monte-Carlo REINFORCE estimate of ``grad J`` at ``theta`` and its standard error.

    Returns ``(mean, standard_error, mean_return)`` with ``mean[i]``, ``standard_error[i]`` of shape
    ``(S, K_i, A_i)``; the estimate is unbiased for :func:`marl.bn.bn_policy_gradient` (episodes of
    geometric length, cut at ``max_len`` steps: a bias below ``gamma^max_len``).
    """
    game, parents, theta = _validated(game, parents, theta)
    n_episodes = check_positive_int(n_episodes, "n_episodes", minimum=2)
    max_len = check_positive_int(max_len, "max_len")
    rng = check_rng(rng)
    packed, (indptr, indices, cdf), mu_cdf, order, R = _sampling_arrays(game, parents, theta)
    g_sum, g_sq, ret = np.zeros_like(packed.flat), np.zeros_like(packed.flat), np.zeros(1)
    _episodes(
        indptr,
        indices,
        cdf,
        R,
        game.gamma,
        mu_cdf,
        packed.cond,
        packed.off,
        packed.K,
        packed.A,
        packed.par_ptr,
        packed.par_idx,
        order,
        n_episodes,
        max_len,
        rng,
        g_sum,
        g_sq,
        ret,
    )
    mean = g_sum / n_episodes
    se = np.sqrt(np.maximum(g_sq / n_episodes - mean**2, 0.0) / (n_episodes - 1))
    return (_unpack(mean, game, parents, packed.K), _unpack(se, game, parents, packed.K), float(ret[0] / n_episodes))


def _checkpoints(total: int, n: int) -> np.ndarray:
    return np.unique(np.linspace(0, total, n + 1).round().astype(np.int64))[1:]


def bn_reinforce(
    game,
    parents,
    theta0,
    *,
    n_iter: int,
    batch: int = 16,
    lr: float = 0.1,
    rng,
    n_checkpoints: int = 10,
    max_len: int = 100_000,
) -> SampledResult:
    """Stochastic policy-gradient ascent with the REINFORCE estimate (``batch`` episodes per step).

    Parameters
    ----------
    game : CooperativeGame
    parents : sequence of collections of int
    theta0 : sequence of arrays
        ``theta0[i]`` ``(S, K_i, A_i)``.
    n_iter : int
        Gradient steps.
    batch : int, default 16
        Episodes per step.
    lr : float, default 0.1
    rng : numpy.random.Generator
        The only source of randomness.
    n_checkpoints : int, default 10
        How often the exact ``J`` is recorded.
    max_len : int
        Episode length cap (bias below ``gamma^max_len``).

    Returns
    -------
    SampledResult
    """
    game, parents, theta = _validated(game, parents, theta0, "theta0")
    n_iter = check_positive_int(n_iter, "n_iter")
    batch = check_positive_int(batch, "batch")
    lr = check_tol(lr, "lr")
    rng = check_rng(rng)
    n_checkpoints = check_positive_int(n_checkpoints, "n_checkpoints")
    max_len = check_positive_int(max_len, "max_len")
    packed, (indptr, indices, cdf), mu_cdf, order, R = _sampling_arrays(game, parents, theta)
    flat = packed.flat.copy()
    returns = np.empty(n_iter)
    cps = _checkpoints(n_iter, n_checkpoints)
    values, done = [], 0
    for c in cps:
        _reinforce_loop(
            indptr,
            indices,
            cdf,
            R,
            game.gamma,
            mu_cdf,
            flat,
            packed.off,
            packed.K,
            packed.A,
            packed.par_ptr,
            packed.par_idx,
            order,
            game.n_states,
            int(c - done),
            batch,
            lr,
            max_len,
            rng,
            returns[done:c],
        )
        done = int(c)
        values.append(bn_policy_gradient(game, parents, _unpack(flat, game, parents, packed.K)).value)
    th = _unpack(flat, game, parents, packed.K)
    final = bn_policy_gradient(game, parents, th)
    return SampledResult(
        theta=th,
        pi=np.array(final.pi),
        value=final.value,
        values=np.array(values),
        checkpoints=cps,
        returns=returns,
        q=np.empty((0, 0)),
        n_iter=n_iter,
    )


def bn_actor_critic(
    game, parents, theta0, *, n_steps: int, lr_actor: float = 0.05, lr_critic: float = 0.2, rng, n_checkpoints: int = 10
) -> SampledResult:
    """Online actor-critic for a BN policy with a centralised joint-action tabular critic.

    See the module docstring for the updates. States follow the normalised discounted visitation
    (restarts from ``rho`` with probability ``1 - gamma``), so with an exact critic the expected actor
    step is ``lr_actor (1 - gamma)`` times the exact gradient of :func:`marl.bn.bn_policy_gradient`.

    Parameters
    ----------
    game : CooperativeGame
    parents : sequence of collections of int
    theta0 : sequence of arrays
    n_steps : int
        Transitions.
    lr_actor, lr_critic : float
        Constant step sizes (``lr_critic`` in ``(0, 1]``).
    rng : numpy.random.Generator
    n_checkpoints : int, default 10

    Returns
    -------
    SampledResult
        ``q`` is the critic; ``values`` the exact ``J`` at the checkpoints.
    """
    game, parents, theta = _validated(game, parents, theta0, "theta0")
    n_steps = check_positive_int(n_steps, "n_steps")
    lr_actor = check_tol(lr_actor, "lr_actor")
    lr_critic = check_tol(lr_critic, "lr_critic")
    if lr_critic > 1:
        raise ValueError(f"lr_critic must lie in (0, 1], got {lr_critic}")
    rng = check_rng(rng)
    n_checkpoints = check_positive_int(n_checkpoints, "n_checkpoints")
    packed, (indptr, indices, cdf), mu_cdf, order, R = _sampling_arrays(game, parents, theta)
    flat = packed.flat.copy()
    Q = np.zeros((game.n_states, game.n_joint))
    cps = _checkpoints(n_steps, n_checkpoints)
    values, done = [], 0
    s = _draw_vec(mu_cdf, rng.random())
    for c in cps:
        s = _actor_critic_loop(
            indptr,
            indices,
            cdf,
            R,
            game.gamma,
            mu_cdf,
            flat,
            packed.off,
            packed.K,
            packed.A,
            packed.par_ptr,
            packed.par_idx,
            order,
            int(c - done),
            lr_actor,
            lr_critic,
            Q,
            s,
            rng,
        )
        done = int(c)
        values.append(bn_policy_gradient(game, parents, _unpack(flat, game, parents, packed.K)).value)
    th = _unpack(flat, game, parents, packed.K)
    final = bn_policy_gradient(game, parents, th)
    return SampledResult(
        theta=th,
        pi=np.array(final.pi),
        value=final.value,
        values=np.array(values),
        checkpoints=cps,
        returns=np.empty(0),
        q=Q,
        n_iter=n_steps,
    )
