"""Exact policy gradient of a tabular softmax Bayesian-network joint policy, and exact-gradient ascent.

With ``log pi(a | s) = sum_i log pi_i(a_i | s, a_{Pa(i)})`` the policy-gradient theorem gives
(Chen & Zhang 2023, BN policy-gradient theorem; ``docs/papers/bn_marl.md`` BN1), for the
*unnormalised* discounted visitation ``d(s) = sum_t gamma^t Pr(s_t = s | s_0 ~ rho)``::

    dJ / dtheta_i[s, p, b] = d(s) sum_{a : a_{Pa(i)} = p} pi(a|s) A(s, a) (1[a_i = b] - pi_i(b | s, p))

with ``J = rho^T V^pi`` and the joint-action advantage ``A = Q - V`` (subtracting ``V(s)`` changes
nothing: the bracket sums to zero over each context). No ``1 - gamma`` factor: ``d`` is unnormalised.

Layout for the kernels: the logit tables are packed into one flat array, agent ``i``'s block
starting at ``off[i]`` and holding ``(S, K_i, A_i)`` in C order; ``par_idx[par_ptr[i]:par_ptr[i+1]]``
are agent ``i``'s parents, ascending, and its context index is the mixed-radix number of their
actions (last parent fastest), i.e. ``numpy.ravel_multi_index``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from marl.bn.model import (
    _require_game,
    check_parents,
    check_theta,
    conditional_policies,
    context_index,
    reference_bn_joint_policy,
)
from mdp._common import result
from mdp._validation import check_positive_int, check_tol

__all__ = [
    "BNAscentResult",
    "BNGradient",
    "bn_exact_pg",
    "bn_policy_gradient",
    "reference_bn_exact_pg",
    "reference_bn_policy_gradient",
]


# ---------------------------------------------------------------------- packing
@dataclass(frozen=True)
class _Packed:
    off: np.ndarray
    K: np.ndarray
    A: np.ndarray
    par_ptr: np.ndarray
    par_idx: np.ndarray
    flat: np.ndarray
    cond: np.ndarray


def _pack(game, parents, theta) -> _Packed:
    A = np.asarray(game.n_actions, dtype=np.int64)
    K = np.array([int(np.prod([A[j] for j in pa], dtype=np.int64)) for pa in parents], dtype=np.int64)
    sizes = game.n_states * K * A
    off = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    par_ptr = np.concatenate([[0], np.cumsum([len(pa) for pa in parents])]).astype(np.int64)
    par_idx = np.array([j for pa in parents for j in pa], dtype=np.int64)
    flat = np.concatenate([np.ravel(t) for t in theta]).astype(np.float64)
    cond = np.empty_like(flat)
    _softmax_kernel(flat, off, K, A, game.n_states, cond)
    return _Packed(off, K, A, par_ptr, par_idx, flat, cond)


def _unpack(flat, game, parents, K) -> tuple:
    out, o = [], 0
    for i, a in enumerate(game.n_actions):
        size = game.n_states * int(K[i]) * a
        out.append(flat[o : o + size].reshape(game.n_states, int(K[i]), a).copy())
        o += size
    return tuple(out)


# ---------------------------------------------------------------------- kernels
@njit(cache=True)
def _softmax_kernel(flat, off, K, A, S, cond):
    for i in range(A.shape[0]):
        a_i = A[i]
        for r in range(S * K[i]):
            base = off[i] + r * a_i
            m = flat[base]
            for b in range(1, a_i):
                m = max(m, flat[base + b])
            tot = 0.0
            for b in range(a_i):
                e = np.exp(flat[base + b] - m)
                cond[base + b] = e
                tot += e
            for b in range(a_i):
                cond[base + b] /= tot


@njit(cache=True)
def _decode(j, A, acts):
    for k in range(A.shape[0] - 1, -1, -1):
        acts[k] = j % A[k]
        j //= A[k]


@njit(cache=True)
def _context(i, acts, A, par_ptr, par_idx):
    p = 0
    for t in range(par_ptr[i], par_ptr[i + 1]):
        q = par_idx[t]
        p = p * A[q] + acts[q]
    return p


@njit(cache=True)
def _joint_policy_kernel(cond, off, K, A, par_ptr, par_idx, pi):
    S, J = pi.shape
    n = A.shape[0]
    acts = np.empty(n, dtype=np.int64)
    for j in range(J):
        _decode(j, A, acts)
        for s in range(S):
            pr = 1.0
            for i in range(n):
                p = _context(i, acts, A, par_ptr, par_idx)
                pr *= cond[off[i] + (s * K[i] + p) * A[i] + acts[i]]
            pi[s, j] = pr
    return pi


@njit(cache=True)
def _accumulate_kernel(cond, off, K, A, par_ptr, par_idx, pi, adv, d, grad):
    """``grad`` (flat layout) of the BN policy-gradient formula from ``pi``, ``adv = Q - V``, ``d``."""
    S, J = pi.shape
    n = A.shape[0]
    acts = np.empty(n, dtype=np.int64)
    grad[:] = 0.0
    # w(s, a) = d(s) pi(a|s) A(s, a); grad_i[s, p, b] = sum_{a: ctx=p, a_i=b} w - pi_i(b|s,p) sum_{a: ctx=p} w
    wsum = np.zeros_like(grad)  # per (i, s, p), stored at the b = 0 slot of the flat layout
    for s in range(S):
        for j in range(J):
            w = d[s] * pi[s, j] * adv[s, j]
            if w == 0.0:
                continue
            _decode(j, A, acts)
            for i in range(n):
                p = _context(i, acts, A, par_ptr, par_idx)
                base = off[i] + (s * K[i] + p) * A[i]
                grad[base + acts[i]] += w
                wsum[base] += w
    for i in range(n):
        for r in range(S * K[i]):
            base = off[i] + r * A[i]
            ws = wsum[base]
            for b in range(A[i]):
                grad[base + b] -= cond[base + b] * ws


@njit(cache=True)
def _value_grad_dense(P, R, gamma, mu, flat, off, K, A, par_ptr, par_idx, cond, pi, v, q, d, grad):
    """Fused dense path: softmax, joint policy, ``v``, ``q``, ``d``, gradient; returns ``J``."""
    S, J = R.shape
    _softmax_kernel(flat, off, K, A, S, cond)
    _joint_policy_kernel(cond, off, K, A, par_ptr, par_idx, pi)
    M = np.eye(S)
    r = np.zeros(S)
    for s in range(S):
        for j in range(J):
            w = pi[s, j]
            if w == 0.0:
                continue
            r[s] += w * R[s, j]
            for t in range(S):
                M[s, t] -= gamma * w * P[s, j, t]
    v[:] = np.linalg.solve(M, r)
    d[:] = np.linalg.solve(M.T.copy(), mu)
    adv = np.empty((S, J))
    for s in range(S):
        for j in range(J):
            acc = 0.0
            for t in range(S):
                acc += P[s, j, t] * v[t]
            q[s, j] = R[s, j] + gamma * acc
            adv[s, j] = q[s, j] - v[s]
    _accumulate_kernel(cond, off, K, A, par_ptr, par_idx, pi, adv, d, grad)
    val = 0.0
    for s in range(S):
        val += mu[s] * v[s]
    return val


@njit(cache=True)
def _ascent_dense(P, R, gamma, mu, flat, off, K, A, par_ptr, par_idx, lr, steps, values, grad_norms):
    S, J = R.shape
    cond = np.empty_like(flat)
    grad = np.empty_like(flat)
    pi = np.empty((S, J))
    v = np.empty(S)
    q = np.empty((S, J))
    d = np.empty(S)
    for t in range(steps):
        values[t] = _value_grad_dense(P, R, gamma, mu, flat, off, K, A, par_ptr, par_idx, cond, pi, v, q, d, grad)
        g2 = 0.0
        for k in range(flat.shape[0]):
            g2 += grad[k] * grad[k]
            flat[k] += lr * grad[k]
        grad_norms[t] = np.sqrt(g2)


# ---------------------------------------------------------------------- results
@result
class BNGradient:
    """Exact value and policy gradient of a tabular softmax BN policy (``docs/papers/bn_marl.md`` BN1).

    Attributes
    ----------
    grad : tuple of ndarray
        ``grad[i]`` of shape ``(S, K_i, A_i)``: ``dJ / dtheta[i]``.
    value : float
        ``J = rho^T V^pi``.
    v : ndarray, shape (S,)
        ``V^pi``.
    q : ndarray, shape (S, J)
        Joint-action ``Q^pi`` (joint index in C order).
    d : ndarray, shape (S,)
        Unnormalised discounted visitation ``rho^T (I - gamma P_pi)^{-1}`` (sums to ``1 / (1 - gamma)``).
    pi : ndarray, shape (S, J)
        The joint policy.
    """

    grad: tuple
    value: float
    v: np.ndarray
    q: np.ndarray
    d: np.ndarray
    pi: np.ndarray


@result
class BNAscentResult:
    """Outcome of exact policy-gradient ascent on a BN policy.

    Attributes
    ----------
    theta : tuple of ndarray
        Final logits, ``theta[i]`` ``(S, K_i, A_i)``.
    pi : ndarray, shape (S, J)
        Final joint policy.
    v : ndarray, shape (S,)
        ``V^pi`` of the final policy.
    value : float
        ``J = rho^T V^pi`` of the final policy.
    n_iter : int
        Gradient steps taken.
    values : ndarray, shape (n_iter,)
        ``J`` before each step.
    residuals : ndarray, shape (n_iter,)
        Euclidean norm of the gradient before each step.
    """

    theta: tuple
    pi: np.ndarray
    v: np.ndarray
    value: float
    n_iter: int
    values: np.ndarray
    residuals: np.ndarray


# ---------------------------------------------------------------------- reference twins
def reference_bn_policy_gradient(game, parents, theta):
    """Plain-numpy twin: returns ``(grad tuple, J, v, q, d, pi)`` by dense linear algebra and
    grouping sums over the joint-action tensor."""
    S, A, _n = game.n_states, game.n_actions, game.n_agents
    P = game.dense_joint_P()
    R = np.asarray(game.R, dtype=np.float64).reshape(S, -1)
    g = game.gamma
    pi = reference_bn_joint_policy(game, parents, theta)
    P_pi = np.einsum("sj,sjt->st", pi, P)
    M = np.eye(S) - g * P_pi
    v = np.linalg.solve(M, (pi * R).sum(axis=1))
    d = np.linalg.solve(M.T, np.asarray(game.mu))
    q = R + g * P @ v
    w = d[:, None] * pi * (q - v[:, None])  # (S, J)
    grid = np.stack(np.unravel_index(np.arange(game.n_joint), A), axis=-1)
    grads = []
    for i, cond in enumerate(conditional_policies(theta)):
        p = context_index(parents[i], grid, A)
        K = cond.shape[1]
        G = np.zeros((S, K, A[i]))
        W = np.zeros((S, K))
        for j in range(game.n_joint):
            G[:, p[j], grid[j, i]] += w[:, j]
            W[:, p[j]] += w[:, j]
        grads.append(G - cond * W[:, :, None])
    return tuple(grads), float(np.asarray(game.mu) @ v), v, q, d, pi


def reference_bn_exact_pg(game, parents, theta0, lr, steps):
    """Plain-numpy exact-gradient ascent; returns ``(theta, values)``."""
    theta = [np.array(t, dtype=np.float64) for t in theta0]
    values = np.empty(steps)
    for t in range(steps):
        grads, J, *_ = reference_bn_policy_gradient(game, parents, theta)
        values[t] = J
        for i in range(len(theta)):
            theta[i] = theta[i] + lr * grads[i]
    return tuple(theta), values


# ---------------------------------------------------------------------- public
def _validated(game, parents, theta, name="theta"):
    game = _require_game(game)
    parents = check_parents(parents, game.n_agents)
    theta = check_theta(theta, game, parents, name)
    return game, parents, theta


def bn_policy_gradient(game, parents, theta) -> BNGradient:
    """Exact gradient of ``J = rho^T V^pi`` for a tabular softmax BN policy.

    Implements the BN policy-gradient formula (Chen & Zhang 2023, BN policy-gradient theorem; the
    form with unnormalised visitation is ``docs/papers/bn_marl.md``, Corrections, BN1) with exact
    ``V^pi``, joint-action ``Q^pi`` and visitation ``d``.

    Parameters
    ----------
    game : CooperativeGame
        Dense or sparse.
    parents : sequence of collections of int
        The DAG; ``parents[i]`` the agents agent ``i`` observes.
    theta : sequence of arrays
        ``theta[i]`` of shape ``(S, K_i, A_i)``, ``K_i`` the product of the parents' action counts
        (context index: :func:`numpy.ravel_multi_index` over the parents in ascending order).

    Returns
    -------
    BNGradient

    Examples
    --------
    >>> import numpy as np
    >>> from marl.bn import CooperativeGame, bn_policy_gradient, zero_theta
    >>> g = CooperativeGame.from_payoff([[1.0, 0.0], [0.0, 2.0]])
    >>> res = bn_policy_gradient(g, [(), (0,)], zero_theta(g, [(), (0,)]))
    >>> round(res.value, 6), np.round(res.grad[0][0, 0], 4).tolist()
    (0.75, [-0.125, 0.125])
    """
    game, parents, theta = _validated(game, parents, theta)
    packed = _pack(game, parents, theta)
    S, J = game.n_states, game.n_joint
    grad = np.empty_like(packed.flat)
    pi = np.empty((S, J))
    if not game.is_sparse:
        v, q, d = np.empty(S), np.empty((S, J)), np.empty(S)
        cond = np.empty_like(packed.flat)
        R = np.ascontiguousarray(game.joint_mdp.R, dtype=np.float64)
        value = _value_grad_dense(
            game.dense_joint_P(),
            R,
            game.gamma,
            np.asarray(game.mu),
            packed.flat,
            packed.off,
            packed.K,
            packed.A,
            packed.par_ptr,
            packed.par_idx,
            cond,
            pi,
            v,
            q,
            d,
            grad,
        )
    else:
        import mdp

        m = game.joint_mdp
        _joint_policy_kernel(packed.cond, packed.off, packed.K, packed.A, packed.par_ptr, packed.par_idx, pi)
        pi /= pi.sum(axis=1, keepdims=True)  # round-off only, for check_policy
        ev = mdp.policy_evaluation(m, pi)
        v, q = np.array(ev.v), np.array(ev.q)
        d = m.occupancy(pi, np.asarray(game.mu)) / (1.0 - game.gamma)
        _accumulate_kernel(
            packed.cond, packed.off, packed.K, packed.A, packed.par_ptr, packed.par_idx, pi, q - v[:, None], d, grad
        )
        value = float(np.asarray(game.mu) @ v)
    return BNGradient(grad=_unpack(grad, game, parents, packed.K), value=float(value), v=v, q=q, d=d, pi=pi)


def bn_exact_pg(game, parents, theta0, *, lr: float, steps: int) -> BNAscentResult:
    """Exact policy-gradient ascent ``theta <- theta + lr * grad J(theta)`` on a BN policy.

    In cooperative games the limit points are Nash equilibria over the agents' conditional
    policies (Chen & Zhang 2023, global-convergence theorem; ``docs/papers/bn_marl.md`` BN2); check
    one with :func:`marl.bn.bn_nash_gap`.

    Parameters
    ----------
    game : CooperativeGame
    parents : sequence of collections of int
    theta0 : sequence of arrays
        Initial logits, ``theta0[i]`` ``(S, K_i, A_i)``.
    lr : float
        Step size, ``> 0``.
    steps : int
        Number of gradient steps, ``>= 1``.

    Returns
    -------
    BNAscentResult
    """
    game, parents, theta = _validated(game, parents, theta0, "theta0")
    lr = check_tol(lr, "lr")
    steps = check_positive_int(steps, "steps")
    packed = _pack(game, parents, theta)
    flat = packed.flat.copy()
    values, norms = np.empty(steps), np.empty(steps)
    if not game.is_sparse:
        R = np.ascontiguousarray(game.joint_mdp.R, dtype=np.float64)
        _ascent_dense(
            game.dense_joint_P(),
            R,
            game.gamma,
            np.asarray(game.mu),
            flat,
            packed.off,
            packed.K,
            packed.A,
            packed.par_ptr,
            packed.par_idx,
            lr,
            steps,
            values,
            norms,
        )
    else:
        for t in range(steps):
            res = bn_policy_gradient(game, parents, _unpack(flat, game, parents, packed.K))
            values[t] = res.value
            g = np.concatenate([np.ravel(x) for x in res.grad])
            norms[t] = float(np.sqrt(g @ g))
            flat += lr * g
    theta_out = _unpack(flat, game, parents, packed.K)
    final = bn_policy_gradient(game, parents, theta_out)
    return BNAscentResult(
        theta=theta_out,
        pi=np.array(final.pi),
        v=np.array(final.v),
        value=final.value,
        n_iter=steps,
        values=values,
        residuals=norms,
    )
