"""Nash gap of a BN joint policy over conditional policies (``docs/papers/bn_marl.md`` BN2).

A BN policy is a Nash equilibrium over conditional policies when no agent ``i`` can raise
``J = rho^T V^pi`` by changing its own conditional policy ``pi_i(. | s, a_{Pa(i)})`` with the
others fixed (Chen & Zhang 2023, the equilibrium notion of their convergence theorem). Agent ``i``'s
best response solves a single-agent MDP over the contexts ``(s, p)``, ``p`` the parents' joint action:

* the parents are non-descendants of ``i``, so their marginal ``m_s(p)`` in state ``s`` does not
  depend on ``pi_i``; it is the marginal under ``f_s(a_{-i}; b) = prod_{k != i} pi_k(a_k | s, a_{Pa(k)})``
  (any ``a_i = b``);
* taking action ``b`` in context ``(s, p)``, the other agents' actions follow
  ``f_s(a_{-i}; b) 1[a_{Pa(i)} = p] / m_s(p)``, giving the reward ``R(s, a)`` and next state
  ``s' ~ P(. | s, a)``, where the next context is ``p' ~ m_{s'}``.

So ``V_i^BR(s) = sum_p m_s(p) V_aug^*(s, p)`` and the gap is ``max_i rho^T (V_i^BR - V^pi)``. A
context with ``m_s(p) = 0`` is unreachable; it gets an absorbing zero-reward row (it carries no weight).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from marl.bn.model import (
    _require_game,
    check_parents,
    check_theta,
    conditional_policies,
    context_index,
)
from mdp._common import result
from mdp._validation import check_tol
from mdp.model import TabularMDP

__all__ = ["BNNashGap", "bn_best_response_mdp", "bn_nash_gap"]


@result
class BNNashGap:
    """Nash gap of a BN policy over conditional policies.

    Attributes
    ----------
    value : float
        ``max_i rho^T (V_i^BR - V^pi)`` (0 at a Nash equilibrium over conditional policies).
    per_agent : ndarray, shape (n,)
        ``rho^T (V_i^BR - V^pi)`` for each agent.
    per_state : ndarray, shape (n, S)
        ``V_i^BR(s) - V^pi(s)``.
    v : ndarray, shape (S,)
        ``V^pi``.
    v_best_response : ndarray, shape (n, S)
        ``V_i^BR(s) = sum_p m_s(p) V_aug^*(s, p)``.
    best_response : tuple of ndarray
        ``best_response[i]`` ``(S, K_i)`` integer actions: a deterministic best conditional policy.
    error_bound : float
        Certified bound on the error of ``value`` (best-response solves plus the evaluation of ``pi``).
    """

    value: float
    per_agent: np.ndarray
    per_state: np.ndarray
    v: np.ndarray
    v_best_response: np.ndarray
    best_response: tuple
    error_bound: float

    def __float__(self) -> float:
        return float(self.value)


def _others_product(conds, parents, A, S, i, grid):
    f = np.ones((S, grid.shape[0]))
    for k, cond in enumerate(conds):
        if k == i:
            continue
        f *= cond[:, context_index(parents[k], grid, A), grid[:, k]]
    return f


def bn_best_response_mdp(game, parents, theta, agent: int):
    """Agent ``agent``'s best-response MDP over contexts ``(s, p)`` with the others' conditionals fixed.

    Returns ``(m, marginal)``: a :class:`mdp.TabularMDP` with ``S * K_i`` states (state
    ``s * K_i + p``) and ``A_i`` actions, and ``marginal`` ``(S, K_i)`` the parents' context
    distribution ``m_s(p)`` in each state.
    """
    game = _require_game(game)
    parents = check_parents(parents, game.n_agents)
    theta = check_theta(theta, game, parents)
    if isinstance(agent, (bool, np.bool_)) or not isinstance(agent, (int, np.integer)):
        raise TypeError(f"agent must be an integer, got {type(agent).__name__}")
    if not 0 <= int(agent) < game.n_agents:
        raise ValueError(f"agent must lie in 0..{game.n_agents - 1}, got {int(agent)}")
    return _best_response_mdp(game, parents, conditional_policies(theta), int(agent))


def _best_response_mdp(game, parents, conds, i):
    S, A, J = game.n_states, game.n_actions, game.n_joint
    grid = np.stack(np.unravel_index(np.arange(J), A), axis=-1)
    p = context_index(parents[i], grid, A)
    b = grid[:, i]
    K = conds[i].shape[1]
    Ai = A[i]
    f = _others_product(conds, parents, A, S, i, grid)  # (S, J)
    marg = np.zeros((S, K))
    sel = b == 0
    np.add.at(marg, (slice(None), p[sel]), f[:, sel])
    reach = marg > 0
    safe = np.where(reach, marg, 1.0)
    W = f / safe[:, p]  # conditional of a_{-i} given (s, p, b)
    W[~reach[:, p]] = 0.0
    rows = ((np.arange(S)[:, None] * K + p[None, :]) * Ai + b[None, :]).ravel()
    cols = np.arange(S * J)
    agg = sp.csr_matrix((W.ravel(), (rows, cols)), shape=(S * K * Ai, S * J))
    P_joint = game.joint_mdp.P
    P_joint = (
        P_joint.astype(np.float64)
        if sp.issparse(P_joint)
        else sp.csr_matrix(np.asarray(P_joint, dtype=np.float64).reshape(S * J, S))
    )
    T = agg @ P_joint  # (S K A_i, S)
    R_aug = agg @ np.asarray(game.R, dtype=np.float64).ravel()
    E = sp.csr_matrix((marg.ravel(), (np.repeat(np.arange(S), K), np.arange(S * K))), shape=(S, S * K))
    P_aug = (T @ E).tolil()
    # unreachable contexts: absorbing, zero reward (weight m_s(p) = 0 in every value used)
    for s, pp in zip(*np.nonzero(~reach)):
        for a in range(Ai):
            r = (s * K + pp) * Ai + a
            P_aug.rows[r] = [s * K + pp]
            P_aug.data[r] = [1.0]
            R_aug[r] = 0.0
    P_aug = P_aug.tocsr()
    R_aug = R_aug.reshape(S * K, Ai)
    if not game.is_sparse and S * K <= 2048:
        m = TabularMDP(P_aug.toarray().reshape(S * K, Ai, S * K), R_aug, game.gamma, atol=1e-8)
    else:
        m = TabularMDP(P_aug, R_aug, game.gamma, atol=1e-8)
    return m, marg


def bn_nash_gap(game, parents, theta, *, tol: float = 1e-10) -> BNNashGap:
    """Certified Nash gap of a BN policy over the agents' conditional policies.

    For each agent ``i`` the exact best response over its conditional policies ``pi_i(. | s,
    a_{Pa(i)})``, the others fixed, is the optimum of a single-agent MDP over contexts ``(s, p)``
    (:func:`bn_best_response_mdp`), solved by :func:`mdp.solve` to ``tol`` (raised to the model's
    round-off floor where needed). ``docs/papers/bn_marl.md`` BN2; Chen & Zhang (2023).

    Parameters
    ----------
    game : CooperativeGame
    parents : sequence of collections of int
    theta : sequence of arrays
        ``theta[i]`` ``(S, K_i, A_i)``.
    tol : float, default 1e-10
        Accuracy of the best-response solves.

    Returns
    -------
    BNNashGap
    """
    import mdp

    game = _require_game(game)
    parents = check_parents(parents, game.n_agents)
    theta = check_theta(theta, game, parents)
    tol = check_tol(tol)
    from marl.bn.model import bn_joint_policy

    pi = bn_joint_policy(game, parents, theta)
    pi /= pi.sum(axis=1, keepdims=True)
    ev = mdp.policy_evaluation(game.joint_mdp, pi)
    v = np.array(ev.v)
    conds = conditional_policies(theta)
    n, S = game.n_agents, game.n_states
    vbr = np.empty((n, S))
    brs = []
    err = float(ev.error_bound)
    worst_solve = 0.0
    for i in range(n):
        m, marg = _best_response_mdp(game, parents, conds, i)
        res = mdp.solve(m, tol=mdp.attainable_tol(m, tol))
        K = marg.shape[1]
        v_aug = np.asarray(res.v).reshape(S, K)
        vbr[i] = (marg * v_aug).sum(axis=1)
        brs.append(np.asarray(res.pi).reshape(S, K).astype(np.int64))
        worst_solve = max(worst_solve, float(res.error_bound))
    per_state = vbr - v[None, :]
    mu = np.asarray(game.mu)
    per_agent = per_state @ mu
    return BNNashGap(
        value=float(per_agent.max()),
        per_agent=per_agent,
        per_state=per_state,
        v=v,
        v_best_response=vbr,
        best_response=tuple(brs),
        error_bound=err + worst_solve,
    )
