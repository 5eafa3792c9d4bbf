"""Population-varying games and latent policy sets: MRA (Zhang et al. 2021/2023; ``docs/papers/mra.md``).

The game family is the digest's symmetric ``n``-player **capacity game** (a reconstruction; the paper's
benchmarks are not reproduced): every player picks resource A or B; A pays 1 if at most ``capacity``
players (the player included) pick A and 0 otherwise, B pays ``outside``. In a symmetric mixed profile
where everyone picks A with probability ``p``,

``u_A(p; n) = P(Binomial(n - 1, p) <= capacity - 1)``,  ``u_B = outside``,

``Expl_n(p) = max(u_A, u_B) - (p u_A + (1 - p) u_B) = (1 - p)(u_A - b)^+ + p (b - u_A)^+``

(a player's best-response gain against ``p``), and the symmetric equilibrium ``p*(n)`` solves
``u_A(p; n) = b`` (``p* = 1`` when ``n <= capacity``). ``du_A/dp = -(n - 1) C(n - 2, c - 1) p^{c-1}
(1 - p)^{n - 1 - c}`` (the binomial CDF's derivative).

A policy set is ``K`` latent modes ``p_1..p_K``. :func:`train_latent_modes` is the digest's alternating
scheme (reconstruction): assign the training populations to modes (one-to-one when ``K`` suffices, else
each to its lowest-exploitability mode), move each mode
by exploitability descent on its assigned games plus a repulsion between modes (the mutual-information
surrogate that keeps modes distinct), repeat. :func:`adapt_mode` is the few-shot step: first-order
exploitability descent from a starting mode.
"""

from __future__ import annotations

import math

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_real, check_rng, check_tol

__all__ = [
    "AdaptResult",
    "LatentModesResult",
    "adapt_mode",
    "best_mode_exploitability",
    "capacity_equilibrium",
    "capacity_exploitability",
    "capacity_payoff",
    "capacity_payoff_grad",
    "exploitability_grad",
    "lipschitz_constant",
    "minimax_policy",
    "reference_capacity_payoff",
    "ring_capacity_exploitability",
    "ring_capacity_returns",
    "train_latent_modes",
]


def _n(n, name="n"):
    return check_positive_int(n, name)


def _params(capacity, outside):
    c = check_positive_int(capacity, "capacity")
    b = check_real(outside, "outside", "(0, 1)")
    return c, b


def _p(p, name="p"):
    a = as_float_array(p, name, allow_bool=False).reshape(np.shape(p))
    if a.size and (a.min() < 0 or a.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1] (a probability of picking A)")
    return a


def _uA(p, n, c):
    m = n - 1
    out = 0.0 * p
    for k in range(min(c - 1, m) + 1):
        out = out + math.comb(m, k) * p**k * (1 - p) ** (m - k)
    return out


def _duA(p, n, c):
    m, k = n - 1, c - 1
    if k >= m:
        return 0.0 * p
    return -m * math.comb(m - 1, k) * p**k * (1 - p) ** (m - 1 - k)


def _expl(p, n, c, b):
    u = _uA(p, n, c)
    return np.maximum(u, b) - (p * u + (1 - p) * b)


def _expl_grad(p, n, c, b):
    u, du = _uA(p, n, c), _duA(p, n, c)
    hi = -(u - b) + (1 - p) * du
    lo = (b - u) - p * du
    return np.where(u > b, hi, np.where(u < b, lo, 0.5 * (hi + lo)))


def capacity_payoff(p, n: int, *, capacity: int = 2, outside: float = 0.4) -> np.ndarray:
    """``u_A(p; n) = P(Binomial(n - 1, p) <= capacity - 1)`` by the explicit binomial sum (``docs/papers/mra.md``)."""
    p = _p(p)
    n = _n(n)
    c, _ = _params(capacity, outside)
    m = n - 1
    out = np.zeros_like(p)
    for k in range(min(c - 1, m) + 1):
        out += math.comb(m, k) * p**k * (1 - p) ** (m - k)
    return out


def reference_capacity_payoff(p, n: int, *, capacity: int = 2, outside: float = 0.4) -> np.ndarray:
    """Twin of :func:`capacity_payoff` through the regularised incomplete beta function,
    ``P(Bin(m, p) <= k) = I_{1-p}(m - k, k + 1)`` (``scipy.special.betainc``)."""
    from scipy.special import betainc

    p = _p(p)
    n = _n(n)
    c, _ = _params(capacity, outside)
    m, k = n - 1, c - 1
    if k >= m:
        return np.ones_like(p)
    return betainc(m - k, k + 1, 1 - p)


def capacity_payoff_grad(p, n: int, *, capacity: int = 2, outside: float = 0.4) -> np.ndarray:
    """``du_A/dp = -(n - 1) C(n - 2, c - 1) p^{c - 1} (1 - p)^{n - 1 - c}`` (0 when ``n <= c``)."""
    p = _p(p)
    n = _n(n)
    c, _ = _params(capacity, outside)
    m, k = n - 1, c - 1
    if k >= m:
        return np.zeros_like(p)
    return -m * math.comb(m - 1, k) * p**k * (1 - p) ** (m - 1 - k)


def capacity_exploitability(p, n: int, *, capacity: int = 2, outside: float = 0.4) -> np.ndarray:
    """``Expl_n(p) = max(u_A, b) - (p u_A + (1 - p) b)`` of the symmetric profile ``p``."""
    uA = capacity_payoff(p, n, capacity=capacity, outside=outside)
    p = np.asarray(p, dtype=np.float64)
    b = float(outside)
    return np.maximum(uA, b) - (p * uA + (1 - p) * b)


def exploitability_grad(p, n: int, *, capacity: int = 2, outside: float = 0.4) -> np.ndarray:
    """``dExpl_n/dp``: ``-(u_A - b) + (1 - p) u_A'`` where ``u_A > b``, ``(b - u_A) - p u_A'`` where ``u_A < b``
    (the average of the two at ``u_A = b``)."""
    uA = capacity_payoff(p, n, capacity=capacity, outside=outside)
    du = capacity_payoff_grad(p, n, capacity=capacity, outside=outside)
    p = np.asarray(p, dtype=np.float64)
    b = float(outside)
    hi = -(uA - b) + (1 - p) * du
    lo = (b - uA) - p * du
    return np.where(uA > b, hi, np.where(uA < b, lo, 0.5 * (hi + lo)))


def capacity_equilibrium(n: int, *, capacity: int = 2, outside: float = 0.4, tol: float = 1e-13) -> float:
    """The symmetric equilibrium ``p*(n)``: the root of ``u_A(p; n) = outside`` by bisection (1 if ``n <= capacity``)."""
    n = _n(n)
    c, b = _params(capacity, outside)
    tol = check_tol(tol)
    if n <= c:
        return 1.0
    lo, hi = 0.0, 1.0  # u_A(0) = 1 > b > 0 = u_A(1)
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if capacity_payoff(mid, n, capacity=c, outside=b) > b:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _ns(ns, name="ns"):
    a = np.asarray(ns)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence of population sizes")
    return tuple(_n(int(x) if isinstance(x, (np.integer,)) else x, f"{name} entries") for x in a.tolist())


def minimax_policy(ns, *, capacity: int = 2, outside: float = 0.4, grid_size: int = 200_001):
    """``(p, value)``: ``argmin_p max_{n in ns} Expl_n(p)`` on a uniform grid of ``grid_size`` points
    (the best single policy shared across the populations; MR1)."""
    ns = _ns(ns)
    grid_size = check_positive_int(grid_size, "grid_size", minimum=2)
    g = np.linspace(0, 1, grid_size)
    worst = np.max([capacity_exploitability(g, n, capacity=capacity, outside=outside) for n in ns], axis=0)
    k = int(np.argmin(worst))
    return float(g[k]), float(worst[k])


def best_mode_exploitability(modes, ns, *, capacity: int = 2, outside: float = 0.4) -> np.ndarray:
    """``min_z Expl_n(p_z)`` for each ``n`` in ``ns`` (zero-shot: the best existing mode)."""
    modes = _p(np.atleast_1d(modes), "modes")
    ns = _ns(ns)
    return np.array([capacity_exploitability(modes, n, capacity=capacity, outside=outside).min() for n in ns])


def lipschitz_constant(n: int, *, capacity: int = 2, outside: float = 0.4, grid_size: int = 100_001) -> float:
    """``L_n = max_p max(|u_A - b| + |u_A'|)``, a Lipschitz constant of ``Expl_n`` (derived in
    ``docs/papers/mra.md``, MR2), maximised on a grid (the maximand is smooth; the grid error is
    ``O(1/grid_size)``, far below the bounds' slack)."""
    g = np.linspace(0, 1, check_positive_int(grid_size, "grid_size", minimum=2))
    uA = capacity_payoff(g, n, capacity=capacity, outside=outside)
    du = capacity_payoff_grad(g, n, capacity=capacity, outside=outside)
    return float(np.max(np.abs(uA - outside) + np.abs(du)))


@result
class LatentModesResult:
    """Latent modes after alternating training.

    Attributes
    ----------
    modes : ndarray, shape (K,)
        ``p_z``.
    assignment : ndarray, shape (len(train_ns),)
        The mode serving each training population.
    train_exploitability : ndarray, shape (len(train_ns),)
        ``Expl_n(p_{assignment(n)})``.
    trace : ndarray, shape (n_iter,)
        Largest training exploitability at each iteration.
    n_iter : int
    """

    modes: np.ndarray
    assignment: np.ndarray
    train_exploitability: np.ndarray
    trace: np.ndarray
    n_iter: int


def _assign(E):
    """Game-specific step: with at least as many modes as games, a one-to-one assignment of least total
    exploitability (``scipy.optimize.linear_sum_assignment``; the constraint that every game gets a mode of
    its own); otherwise each game to its lowest-exploitability mode."""
    G, K = E.shape
    if K >= G:
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(E)
        out = np.empty(G, dtype=np.int64)
        out[rows] = cols
        return out
    return np.argmin(E, axis=1)


def train_latent_modes(
    train_ns,
    n_modes: int,
    *,
    capacity: int = 2,
    outside: float = 0.4,
    steps: int = 2000,
    lr: float = 0.02,
    repulsion: float = 1e-3,
    width: float = 0.05,
    rng,
) -> LatentModesResult:
    """Train ``n_modes`` latent modes on ``train_ns`` by the alternating scheme (``docs/papers/mra.md`` MR3).

    Modes start at ``rng.uniform(0, 1)``. Each iteration: (1) game-specific step: with ``K >= len(train_ns)`` a
    one-to-one assignment of least total exploitability, otherwise every population to its
    lowest-exploitability mode; (2) game-common step: every mode moves by
    ``-lr_k * (mean gradient of Expl over its games + repulsion gradient)``, the repulsion being
    ``repulsion * sum_{z'} exp(-(p_z - p_z')^2 / (2 width^2))`` (keeps modes apart; unassigned modes only
    feel it), with ``lr_k = lr / sqrt(1 + k / 100)`` (subgradient steps need a decaying size at the
    equilibrium's kink); modes are clipped to ``[0, 1]``.

    Returns
    -------
    LatentModesResult
    """
    ns = _ns(train_ns, "train_ns")
    K = check_positive_int(n_modes, "n_modes")
    c, b = _params(capacity, outside)
    steps = check_positive_int(steps, "steps")
    lr = check_real(lr, "lr", "(0, inf)")
    repulsion = check_real(repulsion, "repulsion", "[0, inf)")
    width = check_real(width, "width", "(0, inf)")
    rng = check_rng(rng)
    p = np.sort(rng.uniform(0, 1, size=K))
    trace = np.empty(steps)
    for k in range(steps):
        E = np.array([_expl(p, n, c, b) for n in ns])  # (G, K)
        assign = _assign(E)
        trace[k] = E[np.arange(len(ns)), assign].max()
        g = np.zeros(K)
        for z in range(K):
            games = [n for n, a in zip(ns, assign) if a == z]
            if games:
                g[z] = np.mean([_expl_grad(p[z], n, c, b) for n in games])
        d = p[:, None] - p[None, :]
        g += repulsion * np.sum(-d / width**2 * np.exp(-(d**2) / (2 * width**2)), axis=1)
        p = np.clip(p - lr / np.sqrt(1 + k / 100) * g, 0.0, 1.0)
    E = np.array([capacity_exploitability(p, n, capacity=c, outside=b) for n in ns])
    assign = _assign(E)
    return LatentModesResult(p, assign, E[np.arange(len(ns)), assign], trace, steps)


@result
class AdaptResult:
    """Few-shot adaptation by first-order exploitability descent.

    Attributes
    ----------
    p : ndarray, shape (steps + 1,)
        The policy after each step (``p[0]`` the start).
    exploitability : ndarray, shape (steps + 1,)
    steps_to_tol : int
        First step with ``Expl_n < tol`` (``-1`` if never).
    """

    p: np.ndarray
    exploitability: np.ndarray
    steps_to_tol: int


def adapt_mode(
    p0: float, n: int, *, capacity: int = 2, outside: float = 0.4, steps: int = 50, lr: float = 0.5, tol: float = 1e-3
) -> AdaptResult:
    """Adapt a policy to population ``n`` by exploitability descent with backtracking (first-order; MR4).

    Each step tries ``p - s g`` with ``s = lr, lr/2, ...`` (``g = dExpl_n/dp``) and keeps the first
    that lowers ``Expl_n`` (at most 40 halvings; otherwise it stays).
    """
    p0 = float(check_real(p0, "p0", "[0, 1]"))
    n = _n(n)
    c, b = _params(capacity, outside)
    steps = check_positive_int(steps, "steps")
    lr = check_real(lr, "lr", "(0, inf)")
    tol = check_tol(tol)

    def E(x):
        return float(_expl(x, n, c, b))

    ps, es = [p0], [E(p0)]
    p = p0
    for _ in range(steps):
        g = float(_expl_grad(p, n, c, b))
        s, cur = lr, es[-1]
        for _ in range(40):
            q = min(1.0, max(0.0, p - s * g))
            if E(q) < cur:
                p = q
                break
            s /= 2
        ps.append(p)
        es.append(E(p))
    es = np.asarray(es)
    hit = np.flatnonzero(es < tol)
    return AdaptResult(np.asarray(ps), es, int(hit[0]) if hit.size else -1)


def _ring_returns(p_devs, p, n, cells, capacity, horizon, U0, U):
    """Mean per-step reward of agent 0 for each deviation ``p_devs`` (others ``p``), common random numbers."""
    E = U.shape[0]
    out = np.empty(len(p_devs))
    start = (U0 * cells).astype(np.int64)
    for k, pd in enumerate(p_devs):
        probs = np.full(n, p)
        probs[0] = pd
        pos = start.copy()
        total = np.zeros(E)
        for t in range(horizon):
            counts = np.stack([(pos == x).sum(axis=1) for x in range(cells)], axis=1)  # (E, cells)
            crowded = np.take_along_axis(counts, pos, axis=1) > capacity
            move = crowded & (U[:, t, :] < probs[None, :])
            pos = (pos + move) % cells
            counts = np.stack([(pos == x).sum(axis=1) for x in range(cells)], axis=1)
            total += (np.take_along_axis(counts, pos[:, :1], axis=1)[:, 0] <= capacity).astype(np.float64)
        out[k] = total.mean() / horizon
    return out


def ring_capacity_returns(
    p_dev, p, n: int, *, cells: int = 3, capacity: int = 2, horizon: int = 5, n_episodes: int = 2000, rng
) -> float:
    """Monte-Carlo return of one agent in the Markov capacity game on a ring (``docs/papers/mra.md``, Markov version).

    ``n`` agents start uniformly on ``cells`` cells of a ring; at each of ``horizon`` steps an agent whose
    cell holds more than ``capacity`` agents moves to the next cell with probability ``p`` (agent 0 with
    ``p_dev``), others stay; after the moves an agent earns 1 if its cell holds at most ``capacity`` agents.
    Returns agent 0's mean reward per step over ``n_episodes`` episodes.
    """
    n = _n(n)
    rng = check_rng(rng)
    cells = check_positive_int(cells, "cells", minimum=2)
    capacity = check_positive_int(capacity, "capacity")
    horizon = check_positive_int(horizon, "horizon")
    E = check_positive_int(n_episodes, "n_episodes")
    pd_, p_ = float(check_real(p_dev, "p_dev", "[0, 1]")), float(check_real(p, "p", "[0, 1]"))
    U0, U = rng.random((E, n)), rng.random((E, horizon, n))
    return float(_ring_returns([pd_], p_, n, cells, capacity, horizon, U0, U)[0])


def ring_capacity_exploitability(
    p, n: int, *, cells: int = 3, capacity: int = 2, horizon: int = 5, n_episodes: int = 2000, grid_size: int = 11, rng
) -> float:
    """``max_{p'} V(p'; p) - V(p; p)`` over a grid of ``grid_size`` deviations ``p'`` (Monte Carlo with common
    random numbers across the deviations; the Markov version of :func:`capacity_exploitability`)."""
    n = _n(n)
    rng = check_rng(rng)
    cells = check_positive_int(cells, "cells", minimum=2)
    capacity = check_positive_int(capacity, "capacity")
    horizon = check_positive_int(horizon, "horizon")
    E = check_positive_int(n_episodes, "n_episodes")
    grid_size = check_positive_int(grid_size, "grid_size", minimum=2)
    p = float(check_real(p, "p", "[0, 1]"))
    U0, U = rng.random((E, n)), rng.random((E, horizon, n))
    devs = np.r_[p, np.linspace(0, 1, grid_size)]
    v = _ring_returns(devs, p, n, cells, capacity, horizon, U0, U)
    return float(max(0.0, v[1:].max() - v[0]))
