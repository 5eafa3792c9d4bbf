"""Constructive ("direct") MDPs of combinatorial problems and their bisimulation quotients (BQ-MDPs).

BQ-NCO (Drakulic et al., NeurIPS 2023; ``docs/papers/bq_nco.md``) builds a solution one element at a time: the
*direct* MDP's state is the partial solution ``y_{1:t}`` (for a fixed instance), an action appends a
feasible element and the reward is minus the objective increment. The map ``Phi`` from a partial
solution to the remaining sub-problem satisfies (i) equal images have equal feasible actions and
rewards and (ii) transitions commute with ``Phi``, so its kernel is a bisimulation (Givan, Dean &
Greig 2003; ``docs/papers/foundations.md`` Sec. 9) and the quotient, the *BQ-MDP*, has the sub-problems as
states. This module builds both MDPs as :class:`mdp.TabularMDP` s for

=============  ==========================================  ============================================
problem        direct state                                BQ state ``Phi(y)``
=============  ==========================================  ============================================
``"tsp"``      visited sequence ``(0, y_1, ..., y_t)``     (current node, unvisited set)
``"knapsack"`` chosen items in pick order                  (unchosen items that still fit, capacity left)
``"cvrp"``     node sequence incl. depot returns           (current node, remaining customers, capacity left)
``"op"``       visited sequence from the depot             (current node, unvisited nodes, budget left)
=============  ==========================================  ============================================

Formulation (undiscounted, finite, acyclic): ``gamma = 1``; one absorbing terminal state ``END``
(last index) with zero reward under every action; every episode reaches ``END`` within ``horizon``
steps. Actions are global labels (TSP/CVRP/OP: node ``j``, "go to ``j``", with ``0`` the
start/depot: TSP "return", CVRP "go to the depot", OP "stop and return"; knapsack: item ``j`` and
``n`` = "stop"). An action that is infeasible in a state leads to ``END`` with reward ``-penalty``,
``penalty = 1 + horizon * max |feasible reward|``, more than any completion can gain, so no optimal
policy takes it and feasible action sets are part of the rewards the bisimulation compares.
Optimal values are computed by exact backward induction over the acyclic model
(:func:`solve_total_reward`; equal to :func:`mdp.finite_horizon` over ``horizon + 1`` steps, whose
``v[0]`` is the optimal total reward of every state).

Rewards: TSP and CVRP ``-d(c, j)``; knapsack ``+value_j``; OP ``+prize_j``. So the optimal value of
the start state is minus the optimal length (TSP, CVRP) or the optimal value/prize (knapsack, OP).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit

from mdp._common import result
from mdp.cop.problems import CVRPInstance, KnapsackInstance, OrienteeringInstance
from mdp.cop.tsp import check_dist
from mdp.model import TabularMDP

__all__ = [
    "ConstructiveMDP",
    "direct_mdp",
    "bq_mdp",
    "bq_labels",
    "solve_total_reward",
    "reference_total_reward",
    "evaluate_total_reward",
    "lift_policy",
    "rollout",
    "tsp_state_counts",
]

END = "END"
_MAX_STATES = 2_000_000


# --------------------------------------------------------------------------- problem dynamics
class _Problem:
    """Direct and BQ dynamics of one instance: ``step(state) -> [(action, reward, next or END)]``."""

    n_actions: int

    def direct_start(self): ...
    def direct_step(self, s): ...
    def bq_start(self): ...
    def bq_step(self, u): ...
    def phi(self, s): ...


class _RouteProblem(_Problem):
    """Routing problems whose direct state is the visited sequence from the depot (node 0) and whose
    moves are given by the subclass's ``_dyn(*bq_state, extend)`` on the BQ state (CVRP, orienteering)."""

    def direct_start(self):
        return (0,)

    def direct_step(self, s):
        return self._dyn(*self.phi(s), lambda j, _: s + (j,))

    def bq_step(self, u):
        return self._dyn(*u, lambda j, nxt: nxt)


def _bits(U):
    j = 1
    while U:
        if U & 1:
            yield j
        U >>= 1
        j += 1


class _TSP(_Problem):
    """Direct: ``seq`` (tuple from 0). BQ: ``(c, U)`` with ``U`` a bitmask (bit ``j-1`` = node ``j``)."""

    def __init__(self, dist):
        self.d = check_dist(dist, max_n=12)
        self.n = self.d.shape[0]
        if self.n < 2:
            raise ValueError(f"the constructive TSP MDP needs n >= 2 nodes, got {self.n}")
        self.n_actions = self.n
        self.full = (1 << (self.n - 1)) - 1

    def direct_start(self):
        return (0,)

    def direct_step(self, s):
        c, seen = s[-1], set(s)
        rest = [j for j in range(1, self.n) if j not in seen]
        if not rest:
            return [(0, -self.d[c, 0], END)]
        return [(j, -self.d[c, j], s + (j,)) for j in rest]

    def bq_start(self):
        return (0, self.full)

    def bq_step(self, u):
        c, U = u
        if not U:
            return [(0, -self.d[c, 0], END)]
        return [(j, -self.d[c, j], (j, U ^ (1 << (j - 1)))) for j in _bits(U)]

    def phi(self, s):
        U = self.full
        for j in s[1:]:
            U ^= 1 << (j - 1)
        return (s[-1], U)


class _Knapsack(_Problem):
    """Direct: chosen items in pick order. BQ: ``(F, cap)``, ``F`` the bitmask of unchosen items with
    ``w_j <= cap`` (an item that does not fit never will: capacity only decreases)."""

    def __init__(self, inst: KnapsackInstance):
        if inst.n > 10:
            raise ValueError(f"the constructive knapsack MDP is for small instances (n <= 10), got n = {inst.n}")
        self.w, self.v, self.W, self.n = inst.weights, inst.values, inst.capacity, inst.n
        self.n_actions = self.n + 1  # action n = stop

    def _fit(self, items, cap):
        F = 0
        for j in items:
            if self.w[j] <= cap:
                F |= 1 << j
        return F

    def direct_start(self):
        return ()

    def direct_step(self, s):
        cap = self.W - sum(int(self.w[j]) for j in s)
        out = [(j, float(self.v[j]), s + (j,)) for j in range(self.n) if j not in s and self.w[j] <= cap]
        return out + [(self.n, 0.0, END)]

    def bq_start(self):
        return (self._fit(range(self.n), self.W), self.W)

    def bq_step(self, u):
        F, cap = u
        out = []
        for j in range(self.n):
            if (F >> j) & 1:
                c2 = cap - int(self.w[j])
                rest = [k for k in range(self.n) if (F >> k) & 1 and k != j]
                out.append((j, float(self.v[j]), (self._fit(rest, c2), c2)))
        return out + [(self.n, 0.0, END)]

    def phi(self, s):
        cap = self.W - sum(int(self.w[j]) for j in s)
        return (self._fit([j for j in range(self.n) if j not in s], cap), cap)


class _CVRP(_RouteProblem):
    """Direct: node sequence from the depot with depot returns. BQ: ``(c, U, r)``."""

    def __init__(self, inst: CVRPInstance):
        if inst.n > 7:
            raise ValueError(f"the constructive CVRP MDP is for small instances (n <= 7 nodes), got n = {inst.n}")
        if inst.n < 2:
            raise ValueError(f"the constructive CVRP MDP needs a depot and at least one customer, got n = {inst.n}")
        self.d, self.q, self.Q, self.n = inst.dist, inst.demands, inst.capacity, inst.n
        self.n_actions = self.n

    def _dyn(self, c, U, r, extend):
        """Feasible moves from BQ-state components; ``extend(j, next_components)`` builds the successor."""
        out = []
        if c != 0:
            out.append((0, -self.d[c, 0], END if not U else extend(0, (0, U, self.Q))))
        for j in _bits(U):
            if self.q[j] <= r:
                out.append((j, -self.d[c, j], extend(j, (j, U ^ (1 << (j - 1)), r - int(self.q[j])))))
        return out

    def bq_start(self):
        return (0, (1 << (self.n - 1)) - 1, self.Q)

    def phi(self, s):
        U, r = (1 << (self.n - 1)) - 1, self.Q
        for j in s[1:]:
            if j == 0:
                r = self.Q
            else:
                U ^= 1 << (j - 1)
                r -= int(self.q[j])
        return (s[-1], U, r)


class _OP(_RouteProblem):
    """Direct: visited sequence from the depot. BQ: ``(c, U, b)``.

    Action 0 stops (returns to the depot along the edge ``(c, 0)``): feasible when ``d(c, 0) <= b``
    (always at the depot itself: the empty tour). Node ``j`` is feasible when ``d(c, j) <= b`` and the
    sub-problem ``(j, U \\ {j}, b - d(c, j))`` can still be closed into a tour within its budget
    (:meth:`_closable`: some path from ``j`` through unvisited nodes back to the depot fits, i.e. the
    shortest such path -- in exact arithmetic -- is ``<= b - d(c, j)``). This masks exactly the moves
    with no feasible completion, for any non-negative ``d``; under the triangle inequality the
    shortest way back is the edge ``(j, 0)`` and the rule is the note's "can go there and back",
    ``d(c, j) + d(j, 0) <= b`` (``docs/papers/bq_nco.md``), which without it would discard feasible tours. The
    test is the recursion of :func:`mdp.cop.solve_orienteering_exact` (``V > -inf``), evaluated with
    the same float operations as the dynamics.
    """

    def __init__(self, inst: OrienteeringInstance):
        if inst.n > 8:
            raise ValueError(f"the constructive orienteering MDP is for small instances (n <= 8), got n = {inst.n}")
        self.d, self.p, self.B, self.n = inst.dist, inst.prizes, inst.budget, inst.n
        self.n_actions = self.n
        self._memo = {}

    def _closable(self, c, U, b):
        """Can the sub-problem ``(c, U, b)`` be closed into a tour (stop now, or move on and close later)?"""
        key = (c, U, b)
        if key not in self._memo:
            ok = c == 0 or self.d[c, 0] <= b
            if not ok:
                for j in _bits(U):
                    if self.d[c, j] <= b and self._closable(j, U ^ (1 << (j - 1)), b - self.d[c, j]):
                        ok = True
                        break
            self._memo[key] = ok
        return self._memo[key]

    def _dyn(self, c, U, b, extend):
        out = [(0, 0.0, END)] if c == 0 or self.d[c, 0] <= b else []
        for j in _bits(U):
            if self.d[c, j] <= b:
                nxt = (j, U ^ (1 << (j - 1)), b - self.d[c, j])
                if self._closable(*nxt):
                    out.append((j, float(self.p[j]), extend(j, nxt)))
        return out

    def bq_start(self):
        return (0, (1 << (self.n - 1)) - 1, self.B)

    def phi(self, s):
        U, b = (1 << (self.n - 1)) - 1, self.B
        for a, j in zip(s[:-1], s[1:]):
            U ^= 1 << (j - 1)
            b -= self.d[a, j]  # same operation order as the BQ dynamics: identical floats
        return (s[-1], U, b)


def _make_problem(problem: str, instance) -> _Problem:
    if problem == "tsp":
        return _TSP(instance)
    if problem == "knapsack":
        if not isinstance(instance, KnapsackInstance):
            raise TypeError(f"problem 'knapsack' needs a KnapsackInstance, got {type(instance).__name__}")
        return _Knapsack(instance)
    if problem == "cvrp":
        if not isinstance(instance, CVRPInstance):
            raise TypeError(f"problem 'cvrp' needs a CVRPInstance, got {type(instance).__name__}")
        return _CVRP(instance)
    if problem == "op":
        if not isinstance(instance, OrienteeringInstance):
            raise TypeError(f"problem 'op' needs an OrienteeringInstance, got {type(instance).__name__}")
        return _OP(instance)
    raise ValueError(f"problem must be 'tsp', 'knapsack', 'cvrp' or 'op', got {problem!r}")


# --------------------------------------------------------------------------- MDP construction
@result
class ConstructiveMDP:
    """A constructive MDP (direct or BQ) of one instance.

    Attributes
    ----------
    mdp : TabularMDP
        ``gamma = 1``, CSR transitions (deterministic), ``S`` states with ``END`` last.
    states : tuple
        State keys (direct: partial solutions; BQ: sub-problem tuples); ``states[-1] == "END"``.
    index : dict
        Key -> state index.
    depth : ndarray of int64, shape (S,)
        Steps from the start state (BFS depth; ``END``: ``horizon``).
    start, terminal : int
        Indices of the start state and ``END``.
    horizon : int
        Longest episode (steps to ``END``); ``mdp.finite_horizon(m, horizon)`` is exact.
    penalty : float
        Reward magnitude of infeasible actions.
    kind : {"direct", "bq"}
    problem : str
    feasible : ndarray of bool, shape (S, A)
        Feasible actions (the others lead to ``END`` with ``-penalty``).
    successor : ndarray of int64, shape (S, A)
        The deterministic next state ``s'`` of ``(s, a)`` (``P[s, a, s'] = 1``).
    order : ndarray of int64, shape (S - 1,)
        Non-terminal states, every state after all of its successors (reverse topological order).
    """

    mdp: TabularMDP
    states: tuple
    index: dict
    depth: np.ndarray
    start: int
    terminal: int
    horizon: int
    penalty: float
    kind: str
    problem: str
    feasible: np.ndarray
    successor: np.ndarray
    order: np.ndarray

    @property
    def n_states(self) -> int:
        return self.mdp.n_states


def _build(prob: _Problem, start, step, kind: str, problem: str) -> ConstructiveMDP:
    index: dict[Any, int] = {start: 0}
    states = [start]
    depth = [0]
    trans = []  # per state: list of (a, r, next key)
    k = 0
    while k < len(states):
        s = states[k]
        moves = step(s)
        trans.append(moves)
        for _, _, nxt in moves:
            if nxt is not END and nxt not in index:
                index[nxt] = len(states)
                states.append(nxt)
                depth.append(depth[k] + 1)
                if len(states) > _MAX_STATES:
                    raise ValueError(f"the {kind} MDP has more than {_MAX_STATES} states; use a smaller instance")
        k += 1
    S = len(states) + 1
    T = S - 1
    A = prob.n_actions
    # longest path to END (acyclic): process states in reverse BFS order is not enough for
    # non-layered graphs (CVRP depot moves), so compute by memoised DFS over successor indices
    succ = [[index[n] for _, _, n in moves if n is not END] for moves in trans]
    longest = np.zeros(S, dtype=np.int64)
    order = _topological_order(succ)
    for s in reversed(order):
        longest[s] = 1 + max((longest[t] for t in succ[s]), default=0)
    horizon = int(longest[0])
    max_r = max((abs(r) for moves in trans for _, r, _ in moves), default=0.0)
    penalty = 1.0 + horizon * max_r
    R = np.full((S, A), -penalty)
    R[T] = 0.0
    nxt = np.full((S, A), T, dtype=np.int64)
    feasible = np.zeros((S, A), dtype=bool)
    for s, moves in enumerate(trans):
        for a, r, n in moves:
            R[s, a] = r
            nxt[s, a] = T if n is END else index[n]
            feasible[s, a] = True
    P = sp.csr_matrix((np.ones(S * A), nxt.ravel(), np.arange(S * A + 1)), shape=(S * A, S))
    m = TabularMDP(P, R, 1.0)
    keys = tuple(states) + (END,)
    index = dict(index)
    index[END] = T
    return ConstructiveMDP(
        mdp=m,
        states=keys,
        index=index,
        depth=np.array(depth + [horizon], dtype=np.int64),
        start=0,
        terminal=T,
        horizon=horizon,
        penalty=float(penalty),
        kind=kind,
        problem=problem,
        feasible=feasible,
        successor=nxt,
        order=np.array(order[::-1], dtype=np.int64),
    )


def _topological_order(succ):
    n = len(succ)
    indeg = np.zeros(n, dtype=np.int64)
    for ts in succ:
        for t in ts:
            indeg[t] += 1
    stack = [s for s in range(n) if indeg[s] == 0]
    order = []
    while stack:
        s = stack.pop()
        order.append(s)
        for t in succ[s]:
            indeg[t] -= 1
            if indeg[t] == 0:
                stack.append(t)
    if len(order) != n:  # pragma: no cover - the constructions are acyclic by design
        raise RuntimeError("constructive MDP has a cycle")
    return order


def direct_mdp(problem: str, instance) -> ConstructiveMDP:
    """The direct constructive MDP (states = partial solutions) of a small instance.

    Parameters
    ----------
    problem : {"tsp", "knapsack", "cvrp", "op"}
    instance
        ``"tsp"``: a distance matrix ``(n, n)`` (symmetric or not; ``2 <= n <= 12``, though the state
        count is ``sum_t (n-1)!/(n-1-t)!``: use ``n <= 8``); otherwise a
        :class:`~mdp.cop.KnapsackInstance` (``n <= 10``), :class:`~mdp.cop.CVRPInstance` (``n <= 7``)
        or :class:`~mdp.cop.OrienteeringInstance` (``n <= 8``).

    Returns
    -------
    ConstructiveMDP
    """
    prob = _make_problem(problem, instance)
    return _build(prob, prob.direct_start(), prob.direct_step, "direct", problem)


def bq_mdp(problem: str, instance) -> ConstructiveMDP:
    """The BQ-MDP (states = remaining sub-problems), built from the sub-problem dynamics directly.

    Same action labels, rewards and ``END`` convention as :func:`direct_mdp`; its states are the
    images ``Phi(y)`` of the reachable partial solutions (module docstring).
    """
    prob = _make_problem(problem, instance)
    return _build(prob, prob.bq_start(), prob.bq_step, "bq", problem)


def bq_labels(direct: ConstructiveMDP, bq: ConstructiveMDP, instance) -> np.ndarray:
    """``labels[s]`` = index in ``bq`` of ``Phi(direct.states[s])`` (``END -> END``), shape ``(S_direct,)``."""
    if direct.kind != "direct" or bq.kind != "bq" or direct.problem != bq.problem:
        raise ValueError("bq_labels needs a direct MDP and a BQ-MDP of the same problem")
    prob = _make_problem(direct.problem, instance)
    out = np.empty(direct.n_states, dtype=np.int64)
    for s, key in enumerate(direct.states):
        out[s] = bq.terminal if key is END or key == END else bq.index[prob.phi(key)]
    return out


# --------------------------------------------------------------------------- solving and lifting
@njit(cache=True)
def _backward_acyclic(succ, R, order, terminal, v, pi):
    """``v[s] = max_a R[s, a] + v[succ[s, a]]`` over states in reverse topological order (first maximiser)."""
    A = R.shape[1]
    v[terminal] = 0.0
    pi[terminal] = 0
    for k in range(order.shape[0]):
        s = order[k]
        best = -np.inf
        arg = 0
        for a in range(A):
            val = R[s, a] + v[succ[s, a]]
            if val > best:
                best = val
                arg = a
        v[s] = best
        pi[s] = arg


def solve_total_reward(cm: ConstructiveMDP) -> tuple[np.ndarray, np.ndarray]:
    """Optimal total reward ``v`` ``(S,)`` and a stationary optimal policy ``pi`` ``(S,)`` (first maximiser).

    Exact backward induction over the acyclic deterministic model (numba), each state after its
    successors: the total-reward Bellman equation ``v(s) = max_a R(s, a) + v(s')``, ``v(END) = 0``
    (Bellman 1957). :func:`reference_total_reward` is the same by ``horizon + 1`` synchronous backups
    of the generic ``TabularMDP`` (what :func:`mdp.finite_horizon` computes).
    """
    if not isinstance(cm, ConstructiveMDP):
        raise TypeError(f"cm must be a ConstructiveMDP, got {type(cm).__name__}")
    v = np.empty(cm.n_states)
    pi = np.empty(cm.n_states, dtype=np.int64)
    _backward_acyclic(cm.successor, cm.mdp.R, cm.order, cm.terminal, v, pi)
    return v, pi


def reference_total_reward(cm: ConstructiveMDP) -> tuple[np.ndarray, np.ndarray]:
    """Plain numpy twin of :func:`solve_total_reward`: ``v <- max_a (R + P v)`` ``horizon + 1`` times."""
    m = cm.mdp
    P = m.P if m.is_sparse else sp.csr_matrix(np.asarray(m.P).reshape(m.n_states * m.n_actions, m.n_states))
    v = np.zeros(m.n_states)
    q = m.R
    for _ in range(cm.horizon + 1):
        q = m.R + (P @ v).reshape(m.n_states, m.n_actions)
        v = q.max(axis=1)
    return v, q.argmax(axis=1)


def evaluate_total_reward(cm: ConstructiveMDP, pi) -> np.ndarray:
    """Total reward ``v^pi`` ``(S,)`` of a stationary policy (``horizon + 1`` exact backups)."""
    m = cm.mdp
    P_pi = m.policy_matrix(pi)
    r_pi = m.policy_reward(pi)
    v = np.zeros(m.n_states)
    for _ in range(cm.horizon + 1):
        v = r_pi + P_pi @ v
    return v


def lift_policy(pi_bq, labels) -> np.ndarray:
    """``pi(s) = pi_BQ(Phi(s))``: a BQ-MDP policy ``(S_bq,)`` (or ``(H, S_bq)``) as a direct-MDP policy."""
    pi_bq = np.asarray(pi_bq)
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= pi_bq.shape[-1]):
        raise ValueError(f"labels must index the {pi_bq.shape[-1]} BQ states")
    return pi_bq[..., labels]


def rollout(cm: ConstructiveMDP, pi) -> tuple[tuple, float]:
    """Actions taken by a deterministic policy from the start state until ``END`` and their total reward."""
    pi = np.asarray(pi, dtype=np.int64)
    P = cm.mdp.P
    A = cm.mdp.n_actions
    s, actions, total = cm.start, [], 0.0
    for _ in range(cm.horizon + 1):
        if s == cm.terminal:
            break
        a = int(pi[s])
        actions.append(a)
        total += float(cm.mdp.R[s, a])
        s = int(P.indices[P.indptr[s * A + a]])
    return tuple(actions), total


def tsp_state_counts(n: int) -> dict:
    """State counts of the TSP's direct MDP and BQ-MDP per step ``t = 0..n-1`` (``END`` excluded).

    Direct: ``(n-1)! / (n-1-t)!`` visited sequences; BQ: ``C(n-1, t) * t`` pairs (current node,
    unvisited set) for ``t >= 1`` and 1 at ``t = 0`` (``docs/papers/bq_nco.md``, BQ2). Totals are
    ``sum_t (n-1)!/(n-1-t)! = O((n-1)!)`` and ``1 + (n-1) 2^(n-2)``.
    """
    t = np.arange(n)
    direct = np.array([math.perm(n - 1, k) for k in t], dtype=np.int64)
    bq = np.array([1] + [math.comb(n - 1, k) * k for k in t[1:]], dtype=np.int64)
    return {"t": t, "direct": direct, "bq": bq, "direct_total": int(direct.sum()), "bq_total": int(bq.sum())}
