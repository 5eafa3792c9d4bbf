"""Optimising decision rules on the lifted mean-field MDP (``docs/papers/dec_pomfc.md``, D2-D4).

From a known ``mu_0`` the lifted MDP is deterministic, so an open-loop sequence ``h_0..h_{H-1}`` is as good
as any closed-loop upper-level policy (D3). Both are optimised here by gradient ascent with **exact
gradients computed by a hand-written reverse-mode (adjoint) pass in numpy** (no torch): with
``K_t[x, u] = sum_y O(y | x, mu_t) h_t(u | y)``, the adjoint ``lam_{t+1} = dJ / dmu_{t+1}`` and
``W[x, u] = sum_x' P(x' | x, u, mu_t) lam_{t+1}(x')``,

* ``dJ / dh_t(u | y) = sum_x mu_t(x) O(y | x, mu_t) W[x, u]``;
* ``lam_t(z) = dr(mu_t)(z) + sum_u K_t[z, u] W[z, u]`` (direct)
  ``+ sum_{x, y, u} mu_t(x) O_z[z, x, y] h_t(u | y) W[x, u]`` (through ``O``)
  ``+ sum_{x, u, x'} mu_t(x) K_t[x, u] P_z[z, x, u, x'] lam_{t+1}(x')`` (through ``P``),

``dr(mu) = w - kappa sign(mu - target)`` (a subgradient at ties). Rules are softmax-parameterised
(``h_t(. | y) = softmax(theta_t[y])``); the closed-loop policy has logits
``theta_t[y, u] + sum_x mu_t(x) Wc[x, y, u]``, whose gradient adds ``sum_{y,u} Wc[x, y, u] dlogit[y, u]`` to
``lam_t``. Adam ascent. The tests compare the gradient with central finite differences.

Also: coordinate search over deterministic rules (the D4 ablation), and the deterministic-rule values of
the lifted MDP by dynamic programming over reachable mean fields and by open-loop enumeration (D3).
"""

from __future__ import annotations

import itertools

import numpy as np

from marl.mean_field.model import MeanFieldModel, _mf_step, check_distribution, check_rules, require_model
from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_real

__all__ = [
    "ClosedLoopResult",
    "MFOptResult",
    "closed_loop_rules",
    "deterministic_rules",
    "mf_closed_loop",
    "mf_deterministic_search",
    "mf_dp_value",
    "mf_enumerate_value",
    "mf_gradient",
    "mf_open_loop",
]


@result
class MFOptResult:
    """Optimised open-loop decision rules.

    Attributes
    ----------
    theta : ndarray, shape (H, Y, U)
        Logits (one-hot rows for deterministic rules).
    h : ndarray, shape (H, Y, U)
        Decision rules.
    value : float
        Mean-field objective ``J(h)``.
    values : ndarray, shape (n_iter,)
        ``J`` at every iteration (before its step).
    n_iter : int
    """

    theta: np.ndarray
    h: np.ndarray
    value: float
    values: np.ndarray
    n_iter: int


@result
class ClosedLoopResult:
    """An optimised closed-loop upper-level policy ``h_t(. | y; mu) = softmax(theta_t[y] + mu . Wc[:, y])``.

    Attributes
    ----------
    theta : ndarray, shape (H, Y, U)
    weights : ndarray, shape (X, Y, U)
        ``Wc``: the logits' linear dependence on the mean field.
    value : float
        Mean of ``J`` over the training initial distributions.
    values : ndarray, shape (n_iter,)
    per_mu0 : ndarray, shape (K,)
        ``J`` from each training initial distribution.
    n_iter : int
    """

    theta: np.ndarray
    weights: np.ndarray
    value: float
    values: np.ndarray
    per_mu0: np.ndarray
    n_iter: int


def _softmax(theta):
    z = np.exp(theta - theta.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _forward_backward(model, mu0, rule_fn):
    """Rollout with rules ``rule_fn(t, mu) -> (h_t, aux)``; returns ``J``, the trajectory, the rules and a
    backward closure mapping ``(callback)`` where ``callback(t, g_h, mu_t, aux) -> extra lam_t``."""
    P, O = model.P, model.O
    H = model.horizon
    traj = [mu0]
    rules, auxs = [], []
    for t in range(H):
        h, aux = rule_fn(t, traj[t])
        rules.append(h)
        auxs.append(aux)
        nxt = np.empty(model.n_states)
        _mf_step(traj[t], h, P, O, nxt)
        traj.append(nxt)
    J = sum(model.r(m) for m in traj[1:])

    def dr(mu):
        return model.reward - model.target_weight * np.sign(mu - model.target)

    def backward(callback):
        lam = dr(traj[H])
        for t in range(H - 1, -1, -1):
            mu, h = traj[t], rules[t]
            Pm = np.einsum("z,zxuv->xuv", mu, P)
            Om = np.einsum("z,zxy->xy", mu, O)
            K = Om @ h
            W = Pm @ lam  # (X, U)
            g_h = np.einsum("x,xy,xu->yu", mu, Om, W)
            new = np.einsum("zu,zu->z", K, W)
            new += np.einsum("x,zxy,yu,xu->z", mu, O, h, W)
            new += np.einsum("x,xu,zxuv,v->z", mu, K, P, lam)
            new += callback(t, g_h, mu, auxs[t])
            lam = new + (dr(mu) if t >= 1 else 0.0)

    return J, np.asarray(traj), rules, backward


def _dlogits(h, g_h):
    return h * (g_h - (h * g_h).sum(axis=-1, keepdims=True))


def mf_gradient(model: MeanFieldModel, theta, mu0=None):
    """``(J, dJ/dtheta)`` of softmax open-loop rules ``h_t = softmax(theta_t)`` (exact, reverse mode in numpy).

    ``docs/papers/dec_pomfc.md``, Algorithm (tabular alternative with exact gradients).

    Returns
    -------
    tuple of (float, ndarray of shape (H, Y, U))
    """
    model = require_model(model)
    theta = _theta(theta, model)
    mu0 = model.mu0 if mu0 is None else check_distribution(mu0, model.n_states, "mu0")
    return _open_grad(model, theta, mu0)


def _open_grad(model, theta, mu0):
    h_all = _softmax(theta)
    J, _, _, backward = _forward_backward(model, mu0, lambda t, mu: (h_all[t], None))
    grad = np.zeros_like(theta)

    def cb(t, g_h, mu, aux):
        grad[t] = _dlogits(h_all[t], g_h)
        return 0.0

    backward(cb)
    return float(J), grad


def _theta(theta, model, name="theta"):
    a = as_float_array(theta, name, ndim=3, allow_bool=False)
    shape = (model.horizon, model.n_obs, model.n_actions)
    if a.shape != shape:
        raise ValueError(f"{name} must have shape (H, Y, U) = {shape}, got {a.shape}")
    return a


class _Adam:
    def __init__(self, lr, shapes):
        self.lr, self.t = lr, 0
        self.m = [np.zeros(s) for s in shapes]
        self.v = [np.zeros(s) for s in shapes]

    def step(self, params, grads):
        self.t += 1
        b1, b2 = 0.9, 0.999
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            p += self.lr * (m / (1 - b1**self.t)) / (np.sqrt(v / (1 - b2**self.t)) + 1e-8)


def mf_open_loop(model: MeanFieldModel, *, steps: int = 500, lr: float = 0.1, theta0=None) -> MFOptResult:
    """Open-loop decision rules by Adam ascent on the exact mean-field objective from ``model.mu0``.

    ``docs/papers/dec_pomfc.md``, method (a) (Cui et al. 2024 train PPO on the lifted MDP; from a known
    ``mu_0`` the open-loop sequence suffices, D3).

    Parameters
    ----------
    model : MeanFieldModel
    steps : int, default 500
    lr : float, default 0.1
    theta0 : array_like, shape (H, Y, U), optional
        Initial logits (default zeros: uniform rules).

    Returns
    -------
    MFOptResult
    """
    model = require_model(model)
    steps = check_positive_int(steps, "steps")
    lr = check_real(lr, "lr", "(0, inf)")
    theta = (
        np.zeros((model.horizon, model.n_obs, model.n_actions))
        if theta0 is None
        else _theta(theta0, model, "theta0").copy()
    )
    opt = _Adam(lr, [theta.shape])
    values = np.empty(steps)
    for k in range(steps):
        J, g = _open_grad(model, theta, model.mu0)
        values[k] = J
        opt.step([theta], [g])
    h = _softmax(theta)
    from marl.mean_field.model import mf_objective

    return MFOptResult(theta, h, mf_objective(model, h), values, steps)


def closed_loop_rules(theta, weights, mu) -> np.ndarray:
    """The closed-loop rules ``(H, Y, U)`` a policy ``(theta, weights)`` gives at the mean field ``mu``
    (row ``t`` is ``softmax(theta_t + mu . weights)``)."""
    theta = np.asarray(theta, dtype=np.float64)
    return _softmax(theta + np.einsum("x,xyu->yu", np.asarray(mu, dtype=np.float64), weights)[None])


def _closed_grad(model, theta, Wc, mu0):
    def rule(t, mu):
        h = _softmax(theta[t] + np.einsum("x,xyu->yu", mu, Wc))
        return h, h

    J, _, _, backward = _forward_backward(model, mu0, rule)
    g_theta = np.zeros_like(theta)
    g_W = np.zeros_like(Wc)

    def cb(t, g_h, mu, h):
        d = _dlogits(h, g_h)
        g_theta[t] = d
        g_W[...] += mu[:, None, None] * d[None]
        return np.einsum("xyu,yu->x", Wc, d)

    backward(cb)
    return float(J), g_theta, g_W


def mf_closed_loop(model: MeanFieldModel, mu0s, *, steps: int = 500, lr: float = 0.05) -> ClosedLoopResult:
    """A closed-loop upper-level policy, logits linear in the mean field, by Adam ascent on the mean of the
    exact objectives from the initial distributions ``mu0s`` ``(K, X)`` (``docs/papers/dec_pomfc.md``, D3;
    the paper's upper-level policy ``pi_hat(h | mu)`` with histogram features, deterministic here).

    Returns
    -------
    ClosedLoopResult
    """
    model = require_model(model)
    M = as_float_array(mu0s, "mu0s", ndim=2, allow_bool=False)
    if M.shape[0] < 1:
        raise ValueError("mu0s must hold at least one initial distribution")
    M = np.stack([check_distribution(m, model.n_states, f"mu0s[{k}]") for k, m in enumerate(M)])
    steps = check_positive_int(steps, "steps")
    lr = check_real(lr, "lr", "(0, inf)")
    theta = np.zeros((model.horizon, model.n_obs, model.n_actions))
    Wc = np.zeros((model.n_states, model.n_obs, model.n_actions))
    opt = _Adam(lr, [theta.shape, Wc.shape])
    values = np.empty(steps)
    for k in range(steps):
        Js, gt, gw = 0.0, np.zeros_like(theta), np.zeros_like(Wc)
        for m in M:
            J, a, b = _closed_grad(model, theta, Wc, m)
            Js += J / len(M)
            gt += a / len(M)
            gw += b / len(M)
        values[k] = Js
        opt.step([theta, Wc], [gt, gw])
    per = np.array([_closed_grad(model, theta, Wc, m)[0] for m in M])
    return ClosedLoopResult(theta, Wc, float(per.mean()), values, per, steps)


def deterministic_rules(model: MeanFieldModel) -> np.ndarray:
    """All ``U^Y`` deterministic decision rules as one-hot arrays ``(U^Y, Y, U)``."""
    model = require_model(model)
    Y, U = model.n_obs, model.n_actions
    if U**Y > 100_000:
        raise ValueError(f"model: U^Y = {U**Y} deterministic rules is too many to list (at most 1e5)")
    eye = np.eye(U)
    return np.array([eye[list(c)] for c in itertools.product(range(U), repeat=Y)])


def mf_deterministic_search(model: MeanFieldModel, *, h0=None, max_sweeps: int = 100) -> MFOptResult:
    """Best deterministic open-loop rules by coordinate ascent: sweep over ``(t, y)`` and set ``h_t(. | y)`` to
    the best single action with the rest fixed, until a sweep changes nothing (a local optimum over
    deterministic rules; ``docs/papers/dec_pomfc.md`` D4 ablation). Starts from ``argmax`` of ``h0``
    (default: all first action)."""
    from marl.mean_field.model import mf_objective

    model = require_model(model)
    max_sweeps = check_positive_int(max_sweeps, "max_sweeps")
    H, Y, U = model.horizon, model.n_obs, model.n_actions
    a = np.zeros((H, Y), dtype=np.int64) if h0 is None else np.argmax(check_rules(h0, model, "h0"), axis=-1)
    eye = np.eye(U)
    best = mf_objective(model, eye[a])
    values = [best]
    for _ in range(max_sweeps):
        changed = False
        for t in range(H):
            for y in range(Y):
                for u in range(U):
                    if u == a[t, y]:
                        continue
                    trial = a.copy()
                    trial[t, y] = u
                    v = mf_objective(model, eye[trial])
                    if v > best + 1e-12:
                        best, a, changed = v, trial, True
        values.append(best)
        if not changed:
            break
    h = eye[a]
    return MFOptResult(np.where(h > 0, 0.0, -np.inf), h, float(best), np.asarray(values), len(values) - 1)


def mf_enumerate_value(model: MeanFieldModel, rules) -> float:
    """``max`` of ``J`` over every open-loop sequence of the given rules ``(R, Y, U)`` (``R^H`` sequences)."""
    from marl.mean_field.model import mf_objective

    model = require_model(model)
    rules = np.asarray(rules, dtype=np.float64)
    if rules.shape[0] ** model.horizon > 200_000:
        raise ValueError("rules: too many open-loop sequences to enumerate (at most 2e5)")
    return float(
        max(mf_objective(model, rules[list(seq)]) for seq in itertools.product(range(len(rules)), repeat=model.horizon))
    )


def mf_dp_value(model: MeanFieldModel, rules, *, decimals: int = 12) -> float:
    """``V_0(mu_0)`` of the lifted MDP with the action set ``rules`` by the dynamic programming principle
    ``V_t(mu) = max_h [r(T(mu, h)) + V_{t+1}(T(mu, h))]``, ``V_H = 0``, memoised over the reachable mean
    fields (rounded to ``decimals`` for the memo key)."""
    model = require_model(model)
    rules = np.asarray(rules, dtype=np.float64)
    memo = {}

    def V(t, mu):
        if t == model.horizon:
            return 0.0
        key = (t, tuple(np.round(mu, decimals)))
        if key in memo:
            return memo[key]
        best = -np.inf
        for h in rules:
            nxt = np.empty(model.n_states)
            _mf_step(mu, h, model.P, model.O, nxt)
            best = max(best, model.r(nxt) + V(t + 1, nxt))
        memo[key] = best
        return best

    return float(V(0, model.mu0))
