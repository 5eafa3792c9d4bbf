"""SubPO: policy gradient for submodular rewards over visited states (``docs/papers/subrl.md``).

Time-indexed softmax policy ``pi(a | s, h) = softmax(theta[h, s])``; objective
``J(theta) = E[F({s_0, ..., s_H})]`` (Prajapat et al. 2024, arXiv 2307.13372). ``F(tau)`` telescopes
into marginal gains ``g_0 = F({s_0})``, ``g_{h+1} = F(tau_{0:h+1}) - F(tau_{0:h})``; the REINFORCE
gradient with the credit

* ``"reward_to_go"``: ``G_h = sum_{j >= h} g_{j+1} = F(tau) - F(tau_{0:h})`` (unbiased for ``grad J``,
  ``F(tau_{0:h})`` being a valid baseline), or
* ``"greedy"``: ``G_h = g_{h+1}`` (the immediate marginal gain: the official finite-grid script's
  credit, biased, the policy-gradient analogue of the greedy algorithm), or
* ``"additive"``: the modular baseline ``G_h = sum_{j >= h} F({s_{j+1}})`` (coverage counted with
  multiplicity: standard RL with reward ``F({s'})``),

minus the batch mean per step. Rollouts are one numba kernel (pre-drawn uniforms, inverse-CDF
draws); marginal gains of coverage and facility-location functions are numba kernels too (a
covered-item mask per rollout, O(H) per rollout), a user's function is evaluated in Python.
:func:`exact_objective` and :func:`exact_gradient` enumerate trajectories (tiny instances);
:func:`best_markov_value` and :func:`best_history_value` brute-force the optimal policies.
"""

from __future__ import annotations

import itertools

import numpy as np
from numba import njit

from mdp._common import result
from mdp._common.sampling import cumulative_rows, draw_csr
from mdp._validation import as_float_array, check_index, check_mdp, check_positive_int, check_real, check_rng
from mdp.submodular.functions import CoverageFunction, FacilityLocation

__all__ = [
    "SubPOResult",
    "rollouts",
    "reference_rollouts",
    "marginal_gains",
    "credits",
    "subpo",
    "greedy_oracle",
    "exact_objective",
    "exact_gradient",
    "best_markov_value",
    "best_history_value",
]

_CREDITS = ("reward_to_go", "greedy", "additive")


@result
class SubPOResult:
    """Result of :func:`subpo`.

    Attributes
    ----------
    theta : ndarray, shape (H, S, A)
        Final logits.
    values : ndarray, shape (n_epochs,)
        Mean ``F(tau)`` of each epoch's batch (before its update).
    credit : str
    n_iter : int
        Epochs done.
    """

    theta: np.ndarray
    values: np.ndarray
    credit: str
    n_iter: int


# ----------------------------------------------------------------------------- rollouts
@njit(cache=True)
def _rollouts(indptr, indices, cdf, theta, start, u_a, u_s, states, actions):
    H, S, A = theta.shape
    p = np.empty(A)
    for b in range(states.shape[0]):
        s = start
        states[b, 0] = s
        for h in range(H):
            m = theta[h, s, 0]
            for a in range(1, A):
                m = max(m, theta[h, s, a])
            z = 0.0
            for a in range(A):
                p[a] = np.exp(theta[h, s, a] - m)
                z += p[a]
            x = u_a[b, h] * z
            acc = 0.0
            a = A - 1
            for j in range(A):
                acc += p[j]
                if acc > x:
                    a = j
                    break
            s = draw_csr(indptr, indices, cdf, s * A + a, u_s[b, h])
            actions[b, h] = a
            states[b, h + 1] = s


def _check_theta(theta, m, horizon=None):
    th = as_float_array(theta, "theta", ndim=3)
    if th.shape[1:] != (m.n_states, m.n_actions) or (horizon is not None and th.shape[0] != horizon):
        raise ValueError(f"theta must have shape (H, {m.n_states}, {m.n_actions}), got {th.shape}")
    return np.ascontiguousarray(th)


def rollouts(m, theta, start: int, *, n_rollouts: int, rng):
    """``n_rollouts`` trajectories of the time-indexed softmax policy ``theta`` ``(H, S, A)`` from ``start``.

    Returns ``(states (B, H + 1), actions (B, H))`` int64.
    """
    m = check_mdp(m, discounted=False)
    theta = _check_theta(theta, m)
    rng = check_rng(rng)
    B = check_positive_int(n_rollouts, "n_rollouts")
    start = _check_start(start, m)
    H = theta.shape[0]
    u_a, u_s = rng.random((B, H)), rng.random((B, H))
    return _run(m, theta, start, u_a, u_s)


def _run(m, theta, start, u_a, u_s):
    indptr, indices, cdf = cumulative_rows(m)
    B, H = u_a.shape
    states = np.empty((B, H + 1), dtype=np.int64)
    actions = np.empty((B, H), dtype=np.int64)
    _rollouts(indptr, indices, cdf, theta, start, u_a, u_s, states, actions)
    return states, actions


def _check_start(start, m):
    return check_index(start, "start", m.n_states, what="state")


def reference_rollouts(m, theta, start, u_a, u_s):
    """Plain numpy twin of the rollout kernel (same uniforms)."""
    H = theta.shape[0]
    B = u_a.shape[0]
    P = m.dense_P()
    states = np.empty((B, H + 1), dtype=np.int64)
    actions = np.empty((B, H), dtype=np.int64)
    for b in range(B):
        s = start
        states[b, 0] = s
        for h in range(H):
            p = np.exp(theta[h, s] - theta[h, s].max())
            c = np.cumsum(p)
            a = int(min(np.searchsorted(c, u_a[b, h] * c[-1], side="right"), len(p) - 1))
            cs = np.cumsum(P[s, a])
            s = int(min(np.searchsorted(cs, u_s[b, h] * cs[-1], side="right"), len(cs) - 1))
            actions[b, h] = a
            states[b, h + 1] = s
    return states, actions


# ----------------------------------------------------------------------------- gains
@njit(cache=True)
def _coverage_gains(states, ptr, items, weights, n_items, gains):
    B, L = states.shape
    covered = np.zeros(n_items, dtype=np.bool_)
    for b in range(B):
        covered[:] = False
        for h in range(L):
            s = states[b, h]
            g = 0.0
            for k in range(ptr[s], ptr[s + 1]):
                u = items[k]
                if not covered[u]:
                    covered[u] = True
                    g += weights[u]
            gains[b, h] = g


@njit(cache=True)
def _facility_gains(states, sim, gains):
    B, L = states.shape
    n = sim.shape[0]
    best = np.zeros(n)
    for b in range(B):
        best[:] = 0.0
        for h in range(L):
            s = states[b, h]
            g = 0.0
            for i in range(n):
                if sim[i, s] > best[i]:
                    g += sim[i, s] - best[i]
                    best[i] = sim[i, s]
            gains[b, h] = g


def marginal_gains(f, states) -> np.ndarray:
    """``gains[b, 0] = F({s_0})``, ``gains[b, h] = F(s_0..s_h) - F(s_0..s_{h-1})``, shape ``(B, H + 1)``;
    ``gains.sum(axis=1) = F(tau)`` (telescoping)."""
    states = np.ascontiguousarray(np.atleast_2d(np.asarray(states, dtype=np.int64)))
    if states.size and (states.min() < 0 or states.max() >= f.n_ground):
        raise ValueError(f"states must be ground elements in [0, {f.n_ground})")
    gains = np.empty(states.shape)
    if isinstance(f, CoverageFunction):
        ptr, items = f._csr
        _coverage_gains(states, ptr, items, f.weights, f.cover.shape[1], gains)
    elif isinstance(f, FacilityLocation):
        _facility_gains(states, np.ascontiguousarray(f.sim), gains)
    elif hasattr(f, "value"):
        for b in range(states.shape[0]):
            prev = 0.0
            for h in range(states.shape[1]):
                cur = f.value(states[b, : h + 1])
                gains[b, h] = cur - prev
                prev = cur
    else:
        raise TypeError(f"f must be a CoverageFunction, FacilityLocation or UserFunction, got {type(f).__name__}")
    return gains


def credits(f, states, credit: str) -> np.ndarray:
    """Per-step credits ``G[b, h]`` ``(B, H)`` of the module docstring."""
    if credit not in _CREDITS:
        raise ValueError(f"credit must be one of {_CREDITS}, got {credit!r}")
    if credit == "additive":
        single = np.array([f.value([v]) for v in range(f.n_ground)])
        r = single[np.asarray(states)[:, 1:]]
        return np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    g = marginal_gains(f, states)[:, 1:]
    if credit == "greedy":
        return g
    return np.cumsum(g[:, ::-1], axis=1)[:, ::-1]


def _score_update(theta, states, actions, G):
    """``mean_b sum_h (G - mean_b G)[b, h] (e_{a_h} - pi(.|s_h, h))`` as an ``(H, S, A)`` array."""
    H, S, A = theta.shape
    B = states.shape[0]
    adv = G - G.mean(axis=0, keepdims=True)
    z = theta - theta.max(axis=2, keepdims=True)
    pi = np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)
    grad = np.zeros_like(theta)
    hh = np.broadcast_to(np.arange(H), (B, H))
    ss = states[:, :-1]
    np.add.at(grad, (hh, ss, actions), adv)
    np.add.at(grad, (hh, ss), -adv[..., None] * pi[hh, ss])
    return grad / B


def subpo(
    m,
    f,
    *,
    horizon: int,
    start: int,
    rng,
    credit: str = "reward_to_go",
    n_epochs: int = 300,
    batch: int = 256,
    lr: float = 1.0,
    theta0=None,
) -> SubPOResult:
    """SubPO with a tabular time-indexed softmax policy (module docstring).

    Parameters
    ----------
    m : TabularMDP
        Transitions (its rewards are ignored).
    f : CoverageFunction, FacilityLocation or UserFunction
        Over the states of ``m``.
    horizon : int
        ``H`` steps (``H + 1`` visited states).
    start : int
    rng : numpy.random.Generator
    credit : {"reward_to_go", "greedy", "additive"}
    n_epochs, batch : int
    lr : float
        Step on credits normalised by ``F(all states)``.
    theta0 : array_like (H, S, A), optional
        Initial logits (default zeros: uniform).

    Returns
    -------
    SubPOResult
    """
    m = check_mdp(m, discounted=False)
    if f.n_ground != m.n_states:
        raise ValueError(f"f is over {f.n_ground} ground elements but the MDP has {m.n_states} states")
    H = check_positive_int(horizon, "horizon")
    start = _check_start(start, m)
    rng = check_rng(rng)
    if credit not in _CREDITS:
        raise ValueError(f"credit must be one of {_CREDITS}, got {credit!r}")
    E = check_positive_int(n_epochs, "n_epochs")
    B = check_positive_int(batch, "batch")
    lr = check_real(lr, "lr", "(0, inf)")
    theta = np.zeros((H, m.n_states, m.n_actions)) if theta0 is None else _check_theta(theta0, m, H).copy()
    scale = max(f.value(range(f.n_ground)), 1e-300)
    values = np.empty(E)
    for e in range(E):
        states, actions = _run(m, theta, start, rng.random((B, H)), rng.random((B, H)))
        gains = marginal_gains(f, states)
        values[e] = gains.sum(axis=1).mean()
        G = credits(f, states, credit) / scale
        theta += lr * _score_update(theta, states, actions, G)
    return SubPOResult(theta=theta, values=values, credit=credit, n_iter=E)


def greedy_oracle(m, f, *, horizon: int, start: int, rng, n_rollouts: int = 1) -> np.ndarray:
    """The lookahead-1 greedy agent that knows ``F``: at each step the action with the largest expected
    marginal gain given the states visited so far; returns ``F(tau)`` of ``n_rollouts`` runs."""
    m = check_mdp(m, discounted=False)
    H = check_positive_int(horizon, "horizon")
    start = _check_start(start, m)
    rng = check_rng(rng)
    P = m.dense_P()
    out = np.empty(check_positive_int(n_rollouts, "n_rollouts"))
    for b in range(out.size):
        visited = [start]
        s = start
        base = f.value(visited)
        for _ in range(H):
            gain = np.array(
                [
                    sum(P[s, a, t] * (f.value(visited + [t]) - base) for t in np.flatnonzero(P[s, a]))
                    for a in range(m.n_actions)
                ]
            )
            a = int(np.argmax(gain))
            s = int(rng.choice(m.n_states, p=P[s, a]))
            visited.append(s)
            base = f.value(visited)
        out[b] = base
    return out


# ----------------------------------------------------------------------------- exact (tiny instances)
def _trajectories(m, theta, start):
    """Every trajectory with positive probability: list of ``(prob, states, actions)``."""
    H = theta.shape[0]
    P = m.dense_P()
    z = theta - theta.max(axis=2, keepdims=True)
    pi = np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)
    out = []

    def rec(h, s, p, ss, aa):
        if h == H:
            out.append((p, ss, aa))
            return
        for a in range(m.n_actions):
            for t in np.flatnonzero(P[s, a]):
                rec(h + 1, int(t), p * pi[h, s, a] * P[s, a, t], ss + [int(t)], aa + [a])

    rec(0, start, 1.0, [start], [])
    return out, pi


def exact_objective(m, f, theta, start: int) -> float:
    """``J(theta) = E[F(tau)]`` by enumerating trajectories."""
    m = check_mdp(m, discounted=False)
    theta = _check_theta(theta, m)
    trajs, _ = _trajectories(m, theta, _check_start(start, m))
    return float(sum(p * f.value(ss) for p, ss, _ in trajs))


def exact_gradient(m, f, theta, start: int, credit: str = "reward_to_go") -> np.ndarray:
    """Expected score-function update ``E[sum_h G_h (e_{a_h} - pi(.|s_h, h))]`` by enumeration, ``(H, S, A)``.

    With ``credit = "reward_to_go"`` this is ``grad J``; with ``"greedy"`` the gradient of the surrogate
    ``sum_h E[g_{h+1}]`` with the future dependence frozen.
    """
    m = check_mdp(m, discounted=False)
    theta = _check_theta(theta, m)
    trajs, pi = _trajectories(m, theta, _check_start(start, m))
    grad = np.zeros_like(theta)
    for p, ss, aa in trajs:
        G = credits(f, np.array([ss]), credit)[0]
        for h, (s, a) in enumerate(zip(ss[:-1], aa)):
            grad[h, s] -= p * G[h] * pi[h, s]
            grad[h, s, a] += p * G[h]
    return grad


def best_markov_value(m, f, *, horizon: int, start: int) -> float:
    """``max`` over deterministic time-indexed (Markov) policies of ``J``, by enumerating the actions at
    every reachable ``(h, s)``. ``J`` is multilinear in the per-``(h, s)`` distributions (each ``(h, s)``
    occurs at most once per trajectory), so a deterministic policy attains the Markov optimum."""
    m = check_mdp(m, discounted=False)
    H = check_positive_int(horizon, "horizon")
    start = _check_start(start, m)
    P = m.dense_P()
    reach = [[start]]
    for _ in range(H - 1):
        nxt = set()
        for s in reach[-1]:
            nxt.update(np.flatnonzero(P[s].sum(axis=0)).tolist())
        reach.append(sorted(nxt))
    keys = [(h, s) for h in range(H) for s in reach[h]]
    best = -np.inf
    for choice in itertools.product(range(m.n_actions), repeat=len(keys)):
        theta = np.zeros((H, m.n_states, m.n_actions))
        for (h, s), a in zip(keys, choice):
            theta[h, s, :] = -1e3
            theta[h, s, a] = 0.0
        best = max(best, exact_objective(m, f, theta, start))
    return float(best)


def best_history_value(m, f, *, horizon: int, start: int) -> float:
    """``max`` over history-dependent policies of ``E[F(tau)]`` (expectimax over histories)."""
    m = check_mdp(m, discounted=False)
    H = check_positive_int(horizon, "horizon")
    P = m.dense_P()

    def v(hist, h):
        if h == H:
            return f.value(hist)
        s = hist[-1]
        return max(
            sum(P[s, a, t] * v(hist + [int(t)], h + 1) for t in np.flatnonzero(P[s, a])) for a in range(m.n_actions)
        )

    return float(v([_check_start(start, m)], 0))
