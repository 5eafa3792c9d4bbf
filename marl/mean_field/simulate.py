"""Finite-``N`` swarm simulation of a Dec-POMFC model (``docs/papers/dec_pomfc.md``, D1, D2).

Every step: the empirical distribution ``mu^N_t`` (histogram of the ``N`` states) fixes the mixed
kernels ``O(. | x, mu^N_t)`` and ``P(. | x, u, mu^N_t)``; each agent draws its observation, its action
from its decision rule and its next state by inverse CDF (the first index whose cumulative weight
exceeds ``u`` times the row total, the rule of :func:`mdp._common.draw_rows`). The episode's return is
``sum_{t=1}^{H} r(mu^N_t)``; initial states are i.i.d. from ``mu_0``.

Agents can share one rule sequence (``h`` ``(H, Y, U)``, the Dec-POMFC execution) or hold their own
(``h`` ``(n_policies, H, Y, U)``: agent ``j`` uses policy ``j mod n_policies``, the independent learners).

Two kernels share the per-agent step: :func:`swarm_simulate` draws inside numba (seeded from the
caller's Generator, one stream per call; with a shared rule the next states come from Walker alias
tables and a splitmix64 stream, O(1) per agent: fast enough for ``N = 10^6``), and the uniforms-in kernel
(:func:`swarm_simulate_uniforms`) consumes the caller's uniforms ``(n_episodes, H + 1, N, 3)`` so that
it and its numpy twin :func:`reference_swarm_simulate` agree draw for draw.

With one shared rule sequence and no per-agent record, an agent's next state is drawn in one draw from
its exact conditional law ``Q_t(x, x') = sum_{y, u} O(y | x, mu) h_t(u | y) P(x' | x, u, mu)`` (observation
and action marginalised; the empirical distributions have the same law as with three draws); the
uniform used is ``U[:, t + 1, :, 0]``. Per-agent rules draw ``y``, ``u``, ``x'`` with ``U[:, t + 1, :, 0:3]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from marl.mean_field.model import MeanFieldModel, _mix, check_rules, require_model
from mdp._common import draw_rows, result
from mdp._validation import as_float_array, check_positive_int, check_rng

__all__ = ["SwarmResult", "reference_swarm_simulate", "swarm_simulate", "swarm_simulate_uniforms"]


@result
class SwarmResult:
    """Finite-swarm episodes.

    Attributes
    ----------
    returns : ndarray, shape (n_episodes,)
        ``sum_{t=1}^{H} r(mu^N_t)`` per episode.
    mu : ndarray, shape (n_episodes, H + 1, X)
        Empirical distributions ``mu^N_t``.
    n_agents : int
    """

    returns: np.ndarray
    mu: np.ndarray
    n_agents: int


@njit(cache=True)
def _search(c, x):
    n = c.shape[0]
    for j in range(n):
        if c[j] > x:
            return j
    return n - 1


@njit(cache=True)
def _splitmix(state):
    """Next double in [0, 1) of the splitmix64 generator whose 64-bit state is ``state[0]``."""
    state[0] += np.uint64(0x9E3779B97F4A7C15)
    z = state[0]
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def _alias_rows(Q, prob, alias, small, large, p):
    """Walker/Vose alias tables of the rows of ``Q`` (row sums need not be 1)."""
    X, n = Q.shape
    for x in range(X):
        tot = 0.0
        for i in range(n):
            tot += Q[x, i]
        ns = 0
        nl = 0
        for i in range(n):
            p[i] = Q[x, i] * n / tot
            if p[i] < 1.0:
                small[ns] = i
                ns += 1
            else:
                large[nl] = i
                nl += 1
        while ns > 0 and nl > 0:
            ns -= 1
            sm = small[ns]
            nl -= 1
            lg = large[nl]
            prob[x, sm] = p[sm]
            alias[x, sm] = lg
            p[lg] = p[lg] + p[sm] - 1.0
            if p[lg] < 1.0:
                small[ns] = lg
                ns += 1
            else:
                large[nl] = lg
                nl += 1
        while nl > 0:
            nl -= 1
            prob[x, large[nl]] = 1.0
            alias[x, large[nl]] = large[nl]
        while ns > 0:  # round-off leftovers
            ns -= 1
            prob[x, small[ns]] = 1.0
            alias[x, small[ns]] = small[ns]


@njit(cache=True)
def _prepare_step(counts, N, P, O, Pm, Om, Pc, Oc, mu):
    X = P.shape[0]
    for x in range(X):
        mu[x] = counts[x] / N
    _mix(mu, P, O, Pm, Om)
    for x in range(X):
        s = 0.0
        for y in range(Om.shape[1]):
            s += Om[x, y]
            Oc[x, y] = s
        for u in range(Pm.shape[1]):
            s = 0.0
            for xp in range(X):
                s += Pm[x, u, xp]
                Pc[x, u, xp] = s


@njit(cache=True)
def _cum_rules(h, hc):
    for p in range(h.shape[0]):
        for t in range(h.shape[1]):
            for y in range(h.shape[2]):
                s = 0.0
                for u in range(h.shape[3]):
                    s += h[p, t, y, u]
                    hc[p, t, y, u] = s


@njit(cache=True)
def _hc_diff(hc, t, y, a):
    return hc[0, t, y, a] - (hc[0, t, y, a - 1] if a > 0 else 0.0)


@njit(cache=True)
def _reward(mu, w, target, kappa):
    r = 0.0
    for x in range(mu.shape[0]):
        r += w[x] * mu[x] - kappa * abs(mu[x] - target[x])
    return r


@njit(cache=True)
def _episode(P, O, hc, mu0c, N, U, internal, w, target, kappa, mu_out, states, counts, obs, acts, rs):
    """One episode; ``U`` ``(H + 1, N, 3)`` uniforms unless ``internal`` (numba's generator).
    ``obs``/``acts`` ``(H, N)`` record the draws when they have ``N`` columns. Returns the return."""
    X, Uact, Y = P.shape[0], P.shape[2], O.shape[2]
    H = hc.shape[1]
    n_pol = hc.shape[0]
    Pm = np.empty((X, Uact, X))
    Om = np.empty((X, Y))
    Pc = np.empty((X, Uact, X))
    Oc = np.empty((X, Y))
    record = obs.shape[1] == N
    counts[:] = 0
    for j in range(N):
        v = np.random.random() if internal else U[0, j, 0]
        x = _search(mu0c, v * mu0c[X - 1])
        states[j] = x
        counts[x] += 1
    ret = 0.0
    fast = n_pol == 1 and not record
    Qc = np.empty((X, X))
    Qd = np.empty((X, X))
    prob = np.empty((X, X))
    alias = np.empty((X, X), dtype=np.int64)
    sm_buf = np.empty(X, dtype=np.int64)
    lg_buf = np.empty(X, dtype=np.int64)
    p_buf = np.empty(X)
    for t in range(H):
        _prepare_step(counts, N, P, O, Pm, Om, Pc, Oc, mu_out[t])
        counts[:] = 0
        if fast:
            # shared rule, nothing recorded: draw x' from its exact law sum_{y,u} O h P (one draw per agent)
            for x in range(X):
                s = 0.0
                for xp in range(X):
                    q = 0.0
                    for a in range(Uact):
                        k = 0.0
                        for y in range(Y):
                            k += (Oc[x, y] - (Oc[x, y - 1] if y > 0 else 0.0)) * _hc_diff(hc, t, y, a)
                        q += k * (Pc[x, a, xp] - (Pc[x, a, xp - 1] if xp > 0 else 0.0))
                    s += q
                    Qc[x, xp] = s
                    Qd[x, xp] = q
            if internal:
                # O(1) alias draws from a splitmix64 stream (same law as the inverse-CDF draw)
                _alias_rows(Qd, prob, alias, sm_buf, lg_buf, p_buf)
                for j in range(N):
                    v = _splitmix(rs) * X
                    i = int(v)
                    if i >= X:
                        i = X - 1
                    x = states[j]
                    xn = i if v - i < prob[x, i] else alias[x, i]
                    states[j] = xn
                    counts[xn] += 1
            else:
                for j in range(N):
                    x = states[j]
                    xn = _search(Qc[x], U[t + 1, j, 0] * Qc[x, X - 1])
                    states[j] = xn
                    counts[xn] += 1
            for x in range(X):
                mu_out[t + 1, x] = counts[x] / N
            ret += _reward(mu_out[t + 1], w, target, kappa)
            continue
        for j in range(N):
            x = states[j]
            if internal:
                u1, u2, u3 = np.random.random(), np.random.random(), np.random.random()
            else:
                u1, u2, u3 = U[t + 1, j, 0], U[t + 1, j, 1], U[t + 1, j, 2]
            y = _search(Oc[x], u1 * Oc[x, Y - 1])
            p = j % n_pol
            a = _search(hc[p, t, y], u2 * hc[p, t, y, Uact - 1])
            xn = _search(Pc[x, a], u3 * Pc[x, a, X - 1])
            if record:
                obs[t, j] = y
                acts[t, j] = a
            states[j] = xn
            counts[xn] += 1
        for x in range(X):
            mu_out[t + 1, x] = counts[x] / N
        ret += _reward(mu_out[t + 1], w, target, kappa)
    return ret


@njit(cache=True)
def _simulate_internal(P, O, hc, mu0c, N, n_ep, seed, w, target, kappa, mu_out, ret_out):
    np.random.seed(seed)
    rs = np.empty(1, dtype=np.uint64)
    rs[0] = np.uint64(seed) * np.uint64(2654435761) + np.uint64(1)
    states = np.empty(N, dtype=np.int64)
    counts = np.zeros(P.shape[0], dtype=np.int64)
    dummyU = np.empty((1, 1, 3))
    dummy = np.empty((1, 1), dtype=np.int64)
    for e in range(n_ep):
        ret_out[e] = _episode(
            P, O, hc, mu0c, N, dummyU, True, w, target, kappa, mu_out[e], states, counts, dummy, dummy, rs
        )


@njit(cache=True)
def _simulate_given(P, O, hc, mu0c, N, U, w, target, kappa, mu_out, ret_out):
    states = np.empty(N, dtype=np.int64)
    counts = np.zeros(P.shape[0], dtype=np.int64)
    dummy = np.empty((1, 1), dtype=np.int64)
    rs = np.zeros(1, dtype=np.uint64)
    for e in range(U.shape[0]):
        ret_out[e] = _episode(
            P, O, hc, mu0c, N, U[e], False, w, target, kappa, mu_out[e], states, counts, dummy, dummy, rs
        )


def _rules4(h, model):
    a = as_float_array(h, "h", allow_bool=False)
    if a.ndim == 3:
        return check_rules(a, model)[None]
    if a.ndim == 4:
        for p in range(a.shape[0]):
            check_rules(a[p], model, f"h[{p}]")
        return a
    raise ValueError(f"h must have shape (H, Y, U) or (n_policies, H, Y, U), got {a.shape}")


def _setup(model, h, n_agents, n_episodes):
    model = require_model(model)
    h = _rules4(h, model)
    N = check_positive_int(n_agents, "n_agents")
    n_ep = check_positive_int(n_episodes, "n_episodes")
    hc = np.empty_like(h)
    _cum_rules(h, hc)
    return model, h, hc, N, n_ep


def swarm_simulate(model: MeanFieldModel, h, n_agents: int, *, n_episodes: int = 1, rng) -> SwarmResult:
    """Simulate ``n_episodes`` episodes of ``n_agents`` agents executing the decision rules ``h``.

    ``docs/papers/dec_pomfc.md`` D1, D2 (Cui et al. 2024: finite-swarm execution of the mean-field
    policy). Draws inside numba from a seed taken from ``rng``.

    Parameters
    ----------
    model : MeanFieldModel
    h : array_like, shape (H, Y, U) or (n_policies, H, Y, U)
        Shared rule sequence, or per-agent sequences (agent ``j`` uses ``j mod n_policies``).
    n_agents : int
        ``N >= 1``.
    n_episodes : int, default 1
    rng : numpy.random.Generator

    Returns
    -------
    SwarmResult
    """
    model, h, hc, N, n_ep = _setup(model, h, n_agents, n_episodes)
    rng = check_rng(rng)
    mu = np.empty((n_ep, model.horizon + 1, model.n_states))
    ret = np.empty(n_ep)
    _simulate_internal(
        model.P,
        model.O,
        hc,
        np.cumsum(model.mu0),
        N,
        n_ep,
        int(rng.integers(2**31 - 1)),
        model.reward,
        model.target,
        model.target_weight,
        mu,
        ret,
    )
    return SwarmResult(ret, mu, N)


def _uniforms(U, model, N, n_ep):
    U = as_float_array(U, "U", ndim=4, allow_bool=False)
    if U.shape[1:] != (model.horizon + 1, N, 3):
        raise ValueError(
            f"U must have shape (n_episodes, H + 1, N, 3) = (*, {model.horizon + 1}, {N}, 3), got {U.shape}"
        )
    if U.size and (U.min() < 0 or U.max() >= 1):
        raise ValueError("U must hold uniforms in [0, 1)")
    return U


def swarm_simulate_uniforms(model: MeanFieldModel, h, U) -> SwarmResult:
    """:func:`swarm_simulate` on the caller's uniforms ``U`` ``(n_episodes, H + 1, N, 3)`` (``U[:, 0, :, 0]``
    draws the initial states; ``U[:, t + 1, :, k]`` the observation, action and next state of step ``t``)."""
    model = require_model(model)
    U = np.asarray(U)
    n_ep, N = (U.shape[0], U.shape[2]) if U.ndim == 4 else (1, 1)
    model, h, hc, N, n_ep = _setup(model, h, N, n_ep)
    U = _uniforms(U, model, N, n_ep)
    mu = np.empty((n_ep, model.horizon + 1, model.n_states))
    ret = np.empty(n_ep)
    _simulate_given(
        model.P, model.O, hc, np.cumsum(model.mu0), N, U, model.reward, model.target, model.target_weight, mu, ret
    )
    return SwarmResult(ret, mu, N)


def reference_swarm_simulate(
    model: MeanFieldModel, h, U=None, *, n_agents=None, n_episodes: int = 1, rng=None
) -> SwarmResult:
    """Vectorised numpy twin: with ``U`` it equals :func:`swarm_simulate_uniforms` draw for draw; without,
    it draws ``U`` step by step from ``rng`` (the numpy peer of the benchmark)."""
    model = require_model(model)
    h = _rules4(h, model)
    X, H, Y, Ua = model.n_states, model.horizon, model.n_obs, model.n_actions
    if U is None:
        N = check_positive_int(n_agents, "n_agents")
        n_ep = check_positive_int(n_episodes, "n_episodes")
        rng = check_rng(rng)
    else:
        U = _uniforms(U, model, np.asarray(U).shape[2], np.asarray(U).shape[0])
        n_ep, N = U.shape[0], U.shape[2]
    n_pol = h.shape[0]
    hcdf = np.cumsum(h, axis=-1).reshape(n_pol * H * Y, Ua)
    mu0c = np.cumsum(model.mu0)[None, :]
    pol = np.arange(N) % n_pol
    mus = np.empty((n_ep, H + 1, X))
    rets = np.zeros(n_ep)
    for e in range(n_ep):
        u0 = U[e, 0, :, 0] if U is not None else rng.random(N)
        x = draw_rows(mu0c, np.zeros(N, dtype=np.int64), u0)
        for t in range(H):
            mu = np.bincount(x, minlength=X) / N
            mus[e, t] = mu
            Pm = np.einsum("z,zxuy->xuy", mu, model.P).reshape(X * Ua, X)
            Om = np.einsum("z,zxy->xy", mu, model.O)
            if n_pol == 1:
                K = np.einsum("xy,yu->xu", Om, h[0, t])
                Q = np.einsum("xu,xuv->xv", K, Pm.reshape(X, Ua, X))
                v = U[e, t + 1, :, 0] if U is not None else rng.random(N)
                x = draw_rows(np.cumsum(Q, axis=1), x, v)
                continue
            uu = U[e, t + 1] if U is not None else rng.random((N, 3))
            y = draw_rows(np.cumsum(Om, axis=1), x, uu[:, 0])
            a = draw_rows(hcdf, (pol * H + t) * Y + y, uu[:, 1])
            x = draw_rows(np.cumsum(Pm, axis=1), x * Ua + a, uu[:, 2])
        mus[e, H] = np.bincount(x, minlength=X) / N
        rets[e] = sum(model.r(m) for m in mus[e, 1:])
    return SwarmResult(rets, mus, N)
