"""Exact finite-swarm objective and gradient of a two-state Dec-POMFC model (``docs/papers/dec_pomfc.md`` D6).

With open-loop shared rules every agent acts independently given its own state and the current empirical
distribution ``mu^N_t``, so the ``N``-agent system's counts form a finite Markov chain. With two states
the chain lives on ``n_0 in {0..N}`` (agents in state 0): from ``n = (n_0, n_1)`` each agent in state ``x``
moves to state 0 with probability

``a_x(n) = sum_y O(y | x, mu) sum_u h_t(u | y) P(0 | x, u, mu)``, ``mu = n / N``

(kernels mixed at the empirical ``mu``, as :func:`marl.mean_field.swarm_simulate` does), hence
``m_0 ~ Bin(n_0, a_0) * Bin(n_1, a_1)`` (a convolution). The initial counts are ``Bin(N, mu_0(0))``
(agents drawn i.i.d. from ``mu_0``). ``J_N = E[sum_{t=1}^{H} r(mu^N_t)]`` is the forward propagation of the
count distribution; the gradient is **differentiated through the propagation** (no finite differences):
with ``V_{t+1}`` the expected reward-to-go from the counts at ``t + 1`` and
``d/da Bin(n, a)(k) = n [Bin(n - 1, a)(k - 1) - Bin(n - 1, a)(k)]``,

``dE[V(m_0) | n] / da_x = n_x E[V(M' + 1) - V(M')]``, ``M' ~ Bin(n_x - 1, a_x) * Bin(n_other, a_other)``,

``da_x / dh_t(u | y) = O(y | x, mu) P(0 | x, u, mu)`` and the softmax Jacobian to ``theta``. Cost
``O(H N^2)``; exact up to rounding for ``N`` in the hundreds. ``reference_exact_swarm_objective``
enumerates every joint state sequence of the ``N`` agents (any number of states, tiny ``N``).
"""

from __future__ import annotations

import itertools

import numpy as np

from marl.mean_field.model import MeanFieldModel, check_rules, require_model
from mdp._validation import check_positive_int

__all__ = ["exact_swarm_gradient", "exact_swarm_objective", "reference_exact_swarm_objective"]


def _binom(n, a):
    from scipy.stats import binom

    return binom.pmf(np.arange(n + 1), n, a) if n > 0 else np.ones(1)


def _require_two_states(model):
    if model.n_states != 2:
        raise ValueError(
            f"model must have 2 states for the exact count chain (the chain of X states has C(N + X - 1, X - 1) "
            f"count vectors; use reference_exact_swarm_objective for tiny N), got X = {model.n_states}"
        )


def _mixed(model, n0, N):
    mu = np.array([n0 / N, 1.0 - n0 / N])
    return np.einsum("z,zxuy->xuy", mu, model.P), np.einsum("z,zxy->xy", mu, model.O)


def _rewards(model, N):
    m0 = np.arange(N + 1) / N
    mus = np.stack([m0, 1.0 - m0], axis=1)
    return mus @ model.reward - model.target_weight * np.abs(mus - model.target).sum(axis=1)


def _propagate(model, h, N, want_grad):
    """Forward count distributions, transition rows and (optionally) the gradient w.r.t. the rules."""
    H = model.horizon
    rows = np.empty((H, N + 1, N + 1))  # rows[t, n0, m0] = Pr(m0 at t + 1 | n0 at t)
    parts = []  # per (t, n0): (Om, Pm0, a) for the gradient
    for t in range(H):
        pt = []
        for n0 in range(N + 1):
            Pm, Om = _mixed(model, n0, N)
            a = np.einsum("xy,yu,xu->x", Om, h[t], Pm[:, :, 0])
            # Bin(n0, a0) * Bin(n1, a1) over m0
            rows[t, n0] = np.convolve(_binom(n0, a[0]), _binom(N - n0, a[1]))
            pt.append((Om, Pm[:, :, 0], a))
        parts.append(pt)
    p = [_binom(N, model.mu0[0])]
    for t in range(H):
        p.append(p[t] @ rows[t])
    r = _rewards(model, N)
    J = float(sum(p[t] @ r for t in range(1, H + 1)))
    if not want_grad:
        return J, None
    V = r.copy()  # V_{t+1}: reward-to-go from the counts at t + 1 (starting with t + 1 = H)
    grad = np.zeros(h.shape)
    for t in range(H - 1, -1, -1):
        dV = np.diff(V)  # V(k + 1) - V(k), k = 0..N-1
        for n0 in range(N + 1):
            if p[t][n0] == 0.0:
                continue
            Om, P0, a = parts[t][n0]
            counts = (n0, N - n0)
            g_a = np.zeros(2)
            for x in range(2):
                if counts[x] == 0:
                    continue
                law = np.convolve(_binom(counts[x] - 1, a[x]), _binom(counts[1 - x], a[1 - x]))
                g_a[x] = counts[x] * (law @ dV)
            grad[t] += p[t][n0] * np.einsum("x,xy,xu->yu", g_a, Om, P0)
        V = r + rows[t] @ V if t > 0 else V
    return J, grad


def exact_swarm_objective(model: MeanFieldModel, h, n_agents: int) -> float:
    """``J_N(h) = E[sum_{t=1}^{H} r(mu^N_t)]`` of the ``N``-agent swarm, computed exactly by propagating the
    distribution of the counts (two-state models; ``docs/papers/dec_pomfc.md`` D6).

    Parameters
    ----------
    model : MeanFieldModel
        Two states (``mu``-dependent kernels allowed: they are mixed at the empirical ``mu^N_t``).
    h : array_like, shape (H, Y, U)
        Shared open-loop decision rules.
    n_agents : int
        ``N >= 1``; initial states i.i.d. from ``mu_0``.

    Returns
    -------
    float
    """
    model = require_model(model)
    _require_two_states(model)
    h = check_rules(h, model)
    N = check_positive_int(n_agents, "n_agents")
    return _propagate(model, h, N, False)[0]


def exact_swarm_gradient(model: MeanFieldModel, theta, n_agents: int):
    """``(J_N, dJ_N/dtheta)`` for softmax rules ``h_t = softmax(theta_t)`` in the ``N``-agent swarm, exact:
    reverse pass through the count propagation (module docstring; ``docs/papers/dec_pomfc.md`` D6). The
    finite-``N`` counterpart of :func:`marl.mean_field.mf_gradient`.

    Returns
    -------
    tuple of (float, ndarray of shape (H, Y, U))
    """
    from marl.mean_field.optimize import _dlogits, _softmax, _theta

    model = require_model(model)
    _require_two_states(model)
    theta = _theta(theta, model)
    N = check_positive_int(n_agents, "n_agents")
    h = _softmax(theta)
    J, g_h = _propagate(model, h, N, True)
    return J, _dlogits(h, g_h)


def reference_exact_swarm_objective(model: MeanFieldModel, h, n_agents: int) -> float:
    """Plain twin of :func:`exact_swarm_objective` for any number of states: sums over every joint state
    sequence of the ``N`` agents (``X^{N (H + 1)}`` terms; tiny ``N`` only), with kernels mixed at the
    empirical distribution of each joint state."""
    model = require_model(model)
    h = check_rules(h, model)
    N = check_positive_int(n_agents, "n_agents")
    X, H = model.n_states, model.horizon
    if X ** (N * (H + 1)) > 2_000_000:
        raise ValueError(f"reference_exact_swarm_objective enumerates X^(N (H + 1)) = {X ** (N * (H + 1))} > 2e6 terms")
    joint = list(itertools.product(range(X), repeat=N))
    mus = [np.bincount(s, minlength=X) / N for s in joint]
    # per-joint-state transition matrix over joint states at each step
    total = 0.0
    prob = np.array([np.prod(model.mu0[list(s)]) for s in joint])
    for t in range(H):
        T = np.empty((len(joint), len(joint)))
        for i, s in enumerate(joint):
            Pm = np.einsum("z,zxuy->xuy", mus[i], model.P)
            Om = np.einsum("z,zxy->xy", mus[i], model.O)
            K = np.einsum("xy,yu,xuv->xv", Om, h[t], Pm)  # K[x, x'] per agent
            for j, s2 in enumerate(joint):
                T[i, j] = np.prod([K[s[k], s2[k]] for k in range(N)])
        prob = prob @ T
        total += sum(prob[j] * model.r(mus[j]) for j in range(len(joint)))
    return float(total)
