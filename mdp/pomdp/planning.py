"""Exact finite-horizon planning in a small POMDP by backward induction over histories.

Rewards are known and depend on observations: the return of an episode is
``sum_{h=1}^{H} r_h(o_h)`` (``r`` of shape ``(O,)`` for every step or ``(H, O)``). A (closed-loop)
policy maps every history ``(o_0, a_1, o_1, ..., a_h, o_h)`` to the next action. The optimal policy is
found *exactly* by expectimax on the tree of histories (Kaelbling, Littman & Cassandra 1998, finite
horizon; the belief of a history is its normalised forward vector, so this is backward induction on
the belief MDP restricted to the beliefs that are reachable):

    W_H(x) = 0,
    W_h(x) = max_a sum_o [ m(x a o) r_{h+1}(o) + W_{h+1}(x a o) ],

where ``m(x)`` is the probability of the history's observations given its actions (the mass of its
unnormalised forward vector ``alpha_x``) and ``W`` is the value-to-go weighted by that mass, so
``V* = sum_{o_0} W_0(o_0)``. There are ``O (A O)^h`` histories at depth ``h``: exact and cheap for the
instances of the lab (``O = 3``, ``A = 2``, ``H = 4``: 3 888 leaves), refused above 2e6 leaves.
Policies are stored per depth, ``pi[h][x]`` the action at history ``x`` (row-major index over
``(o_0, a_1, o_1, ..., a_h, o_h)``); :func:`policy_value` evaluates any such policy in any model of the
same shape, which gives the suboptimality of a plan made in an estimated model. Project page
``docs/papers/multitask_psr.md``.
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array
from mdp.pomdp.model import POMDP

__all__ = ["PlanResult", "plan", "policy_value", "history_masses", "check_rewards", "open_loop_values"]

_MAX_LEAVES = 2_000_000


@result
class PlanResult:
    """The exact optimal closed-loop policy of a POMDP and its value.

    Attributes
    ----------
    value : float
        ``V*``, the optimal expected return.
    pi : tuple of ndarray
        ``pi[h]`` ``(O (A O)^h,)``: the action after history ``x`` of depth ``h`` (``h = 0..H-1``).
    q : tuple of ndarray
        ``q[h]`` ``(O (A O)^h, A)``: mass-weighted action values ``sum_o [m(x a o) r(o) + W(x a o)]``.
    n_histories : int
        Histories expanded (all depths).
    """

    value: float
    pi: tuple
    q: tuple
    n_histories: int


def _require(model):
    if not isinstance(model, POMDP):
        raise TypeError(f"model must be an mdp.pomdp.POMDP, got {type(model).__name__}")
    A, O, H = model.n_actions, model.n_obs, model.horizon
    if O * (A * O) ** H > _MAX_LEAVES:
        raise ValueError(
            f"exact planning expands O (A O)^H = {O * (A * O) ** H} histories at the last depth (limit {_MAX_LEAVES})"
        )
    return model


def check_rewards(rewards, n_obs: int, horizon: int) -> np.ndarray:
    """Rewards ``(O,)`` or ``(H, O)`` -> ``(H, O)`` (``r[h-1, o]`` paid for ``o_h``, ``h = 1..H``)."""
    r = as_float_array(rewards, "rewards")
    if r.shape == (n_obs,):
        return np.ascontiguousarray(np.broadcast_to(r, (horizon, n_obs)))
    if r.shape == (horizon, n_obs):
        return r
    raise ValueError(f"rewards must have shape (O,) = ({n_obs},) or (H, O) = ({horizon}, {n_obs}), got {r.shape}")


def history_masses(model) -> list:
    """``alphas[h]`` ``(O (A O)^h, S)``: the unnormalised forward vector of every history of depth ``h``."""
    model = _require(model)
    S = model.n_states
    alphas = [(model.rho0[:, None] * model.E).T.copy()]  # (O, S)
    for _ in range(model.horizon):
        x = alphas[-1]
        # child[x, a, o, s'] = (x @ T[a])[s'] E[s', o]
        nxt = np.einsum("xs,ast,to->xaot", x, model.T, model.E)
        alphas.append(nxt.reshape(-1, S))
    return alphas


def plan(model, rewards) -> PlanResult:
    """Exact optimal closed-loop policy by backward induction over histories (module docstring).

    Parameters
    ----------
    model : POMDP
    rewards : array_like, shape (O,) or (H, O)
        ``r(o)`` paid when ``o_h`` is observed, ``h = 1..H`` (``o_0`` pays nothing).

    Returns
    -------
    PlanResult
    """
    model = _require(model)
    A, O, H = model.n_actions, model.n_obs, model.horizon
    r = check_rewards(rewards, O, H)
    alphas = history_masses(model)
    W = np.zeros(alphas[H].shape[0])
    pis, qs = [None] * H, [None] * H
    for h in range(H - 1, -1, -1):
        m = alphas[h + 1].sum(axis=1).reshape(-1, A, O)  # child masses
        q = (m * r[h][None, None, :] + W.reshape(-1, A, O)).sum(axis=2)  # (X_h, A)
        pis[h] = np.argmax(q, axis=1).astype(np.int64)
        qs[h] = q
        W = q.max(axis=1)
    return PlanResult(
        value=float(W.sum()), pi=tuple(pis), q=tuple(qs), n_histories=int(sum(a.shape[0] for a in alphas))
    )


def _check_pi(pi, A, O, H):
    if isinstance(pi, PlanResult):
        pi = pi.pi
    if not isinstance(pi, (tuple, list)) or len(pi) != H:
        raise TypeError(f"pi must be a PlanResult or a sequence of H = {H} action arrays (one per depth)")
    out = []
    for h, p in enumerate(pi):
        arr = np.asarray(p)
        if arr.shape != (O * (A * O) ** h,) or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"pi[{h}] must be an integer array of shape ({O * (A * O) ** h},), got {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= A):
            raise ValueError(f"pi[{h}] must hold actions in [0, {A})")
        out.append(arr.astype(np.int64))
    return out


def policy_value(model, rewards, pi) -> float:
    """Exact expected return of a closed-loop history policy ``pi`` (e.g. ``plan(other).pi``) in ``model``."""
    model = _require(model)
    A, O, H = model.n_actions, model.n_obs, model.horizon
    r = check_rewards(rewards, O, H)
    pi = _check_pi(pi, A, O, H)
    alphas = history_masses(model)
    W = np.zeros(alphas[H].shape[0])
    for h in range(H - 1, -1, -1):
        m = alphas[h + 1].sum(axis=1).reshape(-1, A, O)
        q = (m * r[h][None, None, :] + W.reshape(-1, A, O)).sum(axis=2)
        W = q[np.arange(q.shape[0]), pi[h]]
    return float(W.sum())


def open_loop_values(model, rewards) -> np.ndarray:
    """Expected return of every open-loop action sequence ``(A^H,)`` (row-major), by the forward recursion."""
    model = _require(model)
    A, S, O, H = model.n_actions, model.n_states, model.n_obs, model.horizon
    r = check_rewards(rewards, O, H)
    b = model.rho0[None, :]  # state distribution (before observing: observations do not steer open loop)
    vals = np.zeros(1)
    for h in range(H):
        b = np.einsum("ps,ast->pat", b, model.T).reshape(-1, S)  # (A^(h+1), S)
        vals = np.repeat(vals, A) + b @ model.E @ r[h]
    return vals
