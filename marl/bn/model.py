"""Cooperative n-agent Markov games and tabular softmax Bayesian-network (BN) joint policies.

Glossary (extends :mod:`marl`): ``n`` agents, agent ``i`` has ``A_i`` actions; a joint action
``a = (a_1, ..., a_n)`` has the joint index ``numpy.ravel_multi_index(a, (A_1, ..., A_n))`` (C
order: agent 0 varies slowest, so two agents give ``a_1 * A_2 + a_2`` as in :class:`marl.MarkovGame`);
``J = A_1 * ... * A_n`` joint actions.

A DAG over the agents is given by ``parents``: a sequence of ``n`` collections of agent indices,
``parents[i]`` the agents whose actions agent ``i`` observes. They are stored sorted ascending.
Agent ``i``'s *context* is its parents' joint action, indexed by
``numpy.ravel_multi_index(a[parents[i]], [A_j for j in parents[i]])`` over the parents in
ascending order (so the last parent varies fastest); ``K_i = prod_{j in parents[i]} A_j``
contexts (``1`` for an agent without parents).

The tabular softmax BN policy has one logit table per agent, ``theta[i]`` of shape
``(S, K_i, A_i)``, and ``pi_i(b | s, context p) = softmax(theta[i][s, p, :])_b``; the joint policy is
``pi(a | s) = prod_i pi_i(a_i | s, a_{Pa(i)})`` (Chen & Zhang 2023, Sec. 3; ``docs/papers/bn_marl.md``).
Actions are sampled agent by agent in a topological order of the DAG.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from mdp._validation import as_float_array, check_gamma, check_rng, check_tol
from mdp.model import TabularMDP

__all__ = [
    "CooperativeGame",
    "bn_joint_policy",
    "bn_sample_actions",
    "check_parents",
    "check_theta",
    "conditional_policies",
    "context_index",
    "n_contexts",
    "random_theta",
    "reference_bn_joint_policy",
    "theta_shapes",
    "topological_order",
    "zero_theta",
]


class CooperativeGame:
    """A finite discounted cooperative (shared-reward) Markov game with ``n >= 2`` agents.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix
        Transitions. Dense ``(S, A_1, ..., A_n, S)``; or sparse of shape ``(S * J, S)`` whose row
        ``s * J + j`` holds ``P[s, a, :]`` for the joint index ``j`` of ``a`` (C order). Finite,
        non-negative, rows summing to one within ``atol``.
    R : array_like
        Shared reward ``(S, A_1, ..., A_n)``, ``n >= 2``. Use :meth:`from_rewards` for one reward
        table per agent (accepted only when they are all equal).
    gamma : float
        Discount in ``[0, 1)``.
    mu : array_like, optional
        Start distribution ``rho`` ``(S,)`` of the objective ``J = rho^T V^pi`` (default uniform).
    atol : float, optional
        Row-sum tolerance of ``P`` (default as :class:`mdp.TabularMDP`).

    Raises
    ------
    TypeError, ValueError
        Naming the argument and the rule broken (shape, sign, row sums, fewer than two agents).

    Notes
    -----
    The game keeps the joint-action :class:`mdp.TabularMDP` (``J`` actions, the shared reward) in
    :attr:`joint_mdp`, so every evaluation runs on :mod:`mdp`'s code for dense and sparse storage.
    """

    __slots__ = ("_A", "_J", "_R", "_S", "_gamma", "_joint", "_mu", "_sparse")

    def __init__(self, P, R, gamma, *, mu=None, atol: float | None = None):
        R_arr = as_float_array(R, "R").copy()
        if R_arr.ndim < 3:
            raise ValueError(
                f"R must have shape (S, A_1, ..., A_n) with n >= 2 agents (one shared reward), got shape {R_arr.shape}"
            )
        if min(R_arr.shape) == 0:
            raise ValueError(f"empty game: R has shape {R_arr.shape}; need at least one state and one action per agent")
        S, A = R_arr.shape[0], tuple(int(k) for k in R_arr.shape[1:])
        J = int(np.prod(A))
        self._gamma = check_gamma(gamma)
        if sp.issparse(P):
            if P.shape != (S * J, S):
                raise ValueError(
                    f"sparse P must have shape (S * J, S) = ({S * J}, {S}) to match R of shape {R_arr.shape}; got {P.shape}"
                )
            P_joint = P
        else:
            P_arr = as_float_array(P, "P")
            if P_arr.shape != (S, *A, S):
                raise ValueError(
                    f"P must have shape (S, A_1, ..., A_n, S) = {(S, *A, S)} to match R of shape {R_arr.shape}; "
                    f"got {P_arr.shape}"
                )
            P_joint = P_arr.reshape(S, J, S)
        try:
            joint = TabularMDP(P_joint, R_arr.reshape(S, J), self._gamma, atol=atol)
        except ValueError as exc:  # name the joint action, not the joint index
            raise ValueError(_rename_joint(str(exc), A)) from None
        if mu is None:
            mu_arr = np.full(S, 1.0 / S)
        else:
            mu_arr = as_float_array(mu, "mu", ndim=1).copy()
            if mu_arr.shape != (S,):
                raise ValueError(f"mu must have shape (S,) = ({S},), got {mu_arr.shape}")
            if mu_arr.min() < 0 or abs(mu_arr.sum() - 1.0) > 1e-8:
                raise ValueError(
                    f"mu must be a probability vector (non-negative, summing to 1), sums to {mu_arr.sum()!r}"
                )
        mu_arr.setflags(write=False)
        R_arr.setflags(write=False)
        self._S, self._A, self._J = S, A, J
        self._R, self._mu, self._joint = R_arr, mu_arr, joint
        self._sparse = joint.is_sparse

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_rewards(
        cls, P, rewards, gamma, *, mu=None, atol: float | None = None, rtol: float = 0.0
    ) -> CooperativeGame:
        """Game from one reward table per agent, ``rewards`` ``(n, S, A_1, ..., A_n)``.

        Raises ``ValueError`` naming ``rewards`` when the tables differ by more than ``rtol``
        (relative to the largest reward): a cooperative game needs one shared reward.
        """
        arr = as_float_array(rewards, "rewards")
        if arr.ndim < 4 or arr.shape[0] != arr.ndim - 2:
            raise ValueError(
                f"rewards must have shape (n, S, A_1, ..., A_n) with n = number of action axes >= 2, got {arr.shape}"
            )
        _require_shared(arr, "rewards", rtol)
        return cls(P, arr[0], gamma, mu=mu, atol=atol)

    @classmethod
    def from_markov_game(cls, game, *, mu=None, rtol: float = 0.0) -> CooperativeGame:
        """The cooperative game of a two-player :class:`marl.MarkovGame` whose players share a reward."""
        from marl.model import MarkovGame

        if not isinstance(game, MarkovGame):
            raise TypeError(f"game must be a marl.MarkovGame, got {type(game).__name__}")
        _require_shared(np.asarray(game.rewards), "game.rewards", rtol)
        P = game.P if game.is_sparse else game.dense_P()
        return cls(P, game.rewards[0], game.gamma, mu=mu)

    @classmethod
    def from_payoff(cls, payoff) -> CooperativeGame:
        """A one-state game with ``gamma = 0``: the common-payoff matrix game ``payoff`` ``(A_1, ..., A_n)``.

        ``J = rho^T V^pi`` is then the expected payoff ``sum_a pi(a) payoff[a]``.
        """
        M = as_float_array(payoff, "payoff")
        if M.ndim < 2:
            raise ValueError(f"payoff must have shape (A_1, ..., A_n) with n >= 2 agents, got {M.shape}")
        return cls(np.ones((1, *M.shape, 1)), M[None], 0.0)

    @classmethod
    def from_matrix_game(cls, game, *, rtol: float = 0.0) -> CooperativeGame:
        """The one-state game of a :class:`marl.MatrixGame` whose players all receive the same payoff."""
        from marl.model import MatrixGame

        if not isinstance(game, MatrixGame):
            raise TypeError(f"game must be a marl.MatrixGame, got {type(game).__name__}")
        _require_shared(np.asarray(game.payoffs), "game.payoffs", rtol)
        return cls.from_payoff(game.payoffs[0])

    # ------------------------------------------------------------------ properties
    @property
    def n_states(self) -> int:
        return self._S

    @property
    def n_agents(self) -> int:
        return len(self._A)

    @property
    def n_actions(self) -> tuple:
        """``(A_1, ..., A_n)``."""
        return self._A

    @property
    def n_joint(self) -> int:
        """``J = A_1 * ... * A_n``."""
        return self._J

    @property
    def gamma(self) -> float:
        return self._gamma

    @property
    def mu(self) -> np.ndarray:
        """Start distribution ``rho`` ``(S,)`` (read-only)."""
        return self._mu

    @property
    def R(self) -> np.ndarray:
        """Shared reward ``(S, A_1, ..., A_n)`` (read-only)."""
        return self._R

    @property
    def is_sparse(self) -> bool:
        return self._sparse

    @property
    def joint_mdp(self) -> TabularMDP:
        """The joint-action MDP: ``J`` actions, the shared reward ``R.reshape(S, J)``."""
        return self._joint

    @property
    def P(self):
        """Dense ``(S, A_1, ..., A_n, S)`` read-only view, or the CSR ``(S * J, S)`` matrix."""
        if self._sparse:
            return self._joint.P
        return self._joint.P.reshape(self._S, *self._A, self._S)

    def dense_joint_P(self) -> np.ndarray:
        """Transitions as a dense ``(S, J, S)`` float64 array (materialises a sparse model; a dense
        float64 model returns its own read-only array, no copy)."""
        if not self._sparse:
            return np.ascontiguousarray(self._joint.P, dtype=np.float64)
        return np.ascontiguousarray(self._joint.dense_P(), dtype=np.float64)

    def __repr__(self) -> str:
        store = "sparse" if self._sparse else "dense"
        return f"CooperativeGame(agents={self.n_agents}, S={self._S}, actions={self._A}, gamma={self._gamma}, {store})"


def _rename_joint(msg: str, A) -> str:
    return msg.replace("R[", "R.reshape(S, J)[").replace("P[", "P (joint index) [") if "[" in msg else msg


def _require_shared(arr: np.ndarray, name: str, rtol: float) -> None:
    rtol = check_tol(rtol, "rtol", allow_zero=True) if rtol else 0.0
    scale = max(1.0, float(np.abs(arr).max())) if arr.size else 1.0
    dev = np.abs(arr - arr[0:1])
    if dev.size and dev.max() > rtol * scale:
        idx = np.unravel_index(int(np.argmax(dev)), dev.shape)
        raise ValueError(
            f"{name} is not cooperative: a cooperative game needs one shared reward, but "
            f"{name}[{', '.join(map(str, idx))}] = {arr[idx]} differs from agent 0's "
            f"{arr[(0, *idx[1:])]}"
        )


# ---------------------------------------------------------------------- DAGs
def check_parents(parents, n_agents: int, name: str = "parents") -> tuple:
    """Validate a DAG over ``n_agents`` agents; return ``parents`` as a tuple of ascending tuples.

    ``parents[i]`` lists the agents whose actions agent ``i`` observes. Raises ``TypeError`` for
    non-integer entries and ``ValueError`` for a wrong length, an index out of range, a repeated
    parent, a self-loop or a cycle (the message names the cycle).
    """
    if isinstance(parents, (str, bytes, numbers.Number)) or parents is None:
        raise TypeError(
            f"{name} must be a sequence of {n_agents} collections of agent indices, got {type(parents).__name__}"
        )
    try:
        items = list(parents)
    except TypeError:
        raise TypeError(
            f"{name} must be a sequence of {n_agents} collections of agent indices, got {type(parents).__name__}"
        ) from None
    if len(items) != n_agents:
        raise ValueError(f"{name} must hold one parent set per agent ({n_agents}), got {len(items)}")
    out = []
    for i, pa in enumerate(items):
        if isinstance(pa, (str, bytes, numbers.Number)):
            raise TypeError(f"{name}[{i}] must be a collection of agent indices, got {type(pa).__name__}")
        try:
            pa = list(pa)
        except TypeError:
            raise TypeError(f"{name}[{i}] must be a collection of agent indices, got {type(pa).__name__}") from None
        for j in pa:
            if isinstance(j, (bool, np.bool_)) or not isinstance(j, (numbers.Integral, np.integer)):
                raise TypeError(f"{name}[{i}] must hold integer agent indices, got {j!r}")
            if not 0 <= int(j) < n_agents:
                raise ValueError(f"{name}[{i}] holds {int(j)}, which is not an agent index in 0..{n_agents - 1}")
            if int(j) == i:
                raise ValueError(f"{name}[{i}] holds {i} itself: a self-loop is a cycle; {name} must describe a DAG")
        if len({int(j) for j in pa}) != len(pa):
            raise ValueError(f"{name}[{i}] repeats a parent: {sorted(int(j) for j in pa)}")
        out.append(tuple(sorted(int(j) for j in pa)))
    out = tuple(out)
    _topological_order(out, name)
    return out


def _topological_order(parents: tuple, name: str) -> tuple:
    n = len(parents)
    indeg = [len(p) for p in parents]
    children = [[] for _ in range(n)]
    for i, pa in enumerate(parents):
        for j in pa:
            children[j].append(i)
    ready = sorted(i for i in range(n) if indeg[i] == 0)
    order = []
    while ready:
        i = ready.pop(0)
        order.append(i)
        for c in children[i]:
            indeg[c] -= 1
            if indeg[c] == 0:
                ready.append(c)
        ready.sort()
    if len(order) < n:
        # walk back along parents inside the remaining set until a node repeats: that is a cycle
        left = set(range(n)) - set(order)
        node = min(left)
        path = []
        while node not in path:
            path.append(node)
            node = next(j for j in parents[node] if j in left)
        cyc = path[path.index(node) :][::-1]
        k = cyc.index(min(cyc))
        cyc = cyc[k:] + cyc[:k]
        cyc_str = " -> ".join(map(str, cyc + [cyc[0]]))
        raise ValueError(f"{name} must describe a DAG, but it has the cycle {cyc_str} (j -> i means j in {name}[i])")
    return tuple(order)


def topological_order(parents, n_agents: int | None = None) -> tuple:
    """A topological order of the DAG (parents before children; ties broken by the smaller index)."""
    if n_agents is None:
        n_agents = len(list(parents))
    return _topological_order(check_parents(parents, n_agents), "parents")


def n_contexts(parents, n_actions) -> tuple:
    """``(K_1, ..., K_n)`` with ``K_i = prod_{j in parents[i]} A_j`` (1 without parents)."""
    parents = check_parents(parents, len(n_actions))
    return tuple(int(np.prod([n_actions[j] for j in pa], dtype=np.int64)) for pa in parents)


def context_index(parents_i, actions, n_actions):
    """Agent ``i``'s context index: ``numpy.ravel_multi_index`` of ``actions[..., parents_i]`` over
    ``[A_j for j in parents_i]`` (parents ascending). ``actions`` ``(..., n)`` integer; returns ``(...)``."""
    actions = np.asarray(actions)
    pa = sorted(parents_i)
    if not pa:
        return np.zeros(actions.shape[:-1], dtype=np.int64)
    return np.ravel_multi_index(tuple(actions[..., j] for j in pa), tuple(n_actions[j] for j in pa)).astype(np.int64)


# ---------------------------------------------------------------------- parameters
def _require_game(game) -> CooperativeGame:
    if not isinstance(game, CooperativeGame):
        raise TypeError(f"game must be a marl.bn.CooperativeGame, got {type(game).__name__}")
    return game


def theta_shapes(game, parents) -> tuple:
    """The shapes ``(S, K_i, A_i)`` of the logit tables."""
    game = _require_game(game)
    K = n_contexts(parents, game.n_actions)
    return tuple((game.n_states, k, a) for k, a in zip(K, game.n_actions))


def check_theta(theta, game, parents, name: str = "theta") -> tuple:
    """Validate logits: a sequence of ``n`` finite arrays, ``theta[i]`` of shape ``(S, K_i, A_i)``.

    Returns a tuple of float64 copies. ``parents`` must already be valid.
    """
    shapes = theta_shapes(game, parents)
    if isinstance(theta, (np.ndarray, str, bytes)) or not hasattr(theta, "__len__"):
        raise TypeError(
            f"{name} must be a sequence of {len(shapes)} arrays (one logit table per agent), got {type(theta).__name__}"
        )
    if len(theta) != len(shapes):
        raise ValueError(f"{name} must hold one logit table per agent ({len(shapes)}), got {len(theta)}")
    out = []
    for i, (t, shape) in enumerate(zip(theta, shapes)):
        arr = as_float_array(t, f"{name}[{i}]").copy()
        if arr.shape != shape:
            raise ValueError(
                f"{name}[{i}] must have shape (S, K_{i}, A_{i}) = {shape} (K_{i} = product of the parents' action "
                f"counts), got {arr.shape}"
            )
        out.append(arr)
    return tuple(out)


def zero_theta(game, parents) -> tuple:
    """All-zero logits: every conditional policy uniform."""
    return tuple(np.zeros(shape) for shape in theta_shapes(game, parents))


def random_theta(game, parents, *, rng, scale: float = 1.0) -> tuple:
    """Logits drawn i.i.d. ``N(0, scale^2)``."""
    rng = check_rng(rng)
    return tuple(scale * rng.standard_normal(shape) for shape in theta_shapes(game, parents))


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def conditional_policies(theta) -> tuple:
    """``pi_i(. | s, p) = softmax(theta[i][s, p, :])`` for every agent, shapes ``(S, K_i, A_i)``."""
    return tuple(_softmax(as_float_array(t, f"theta[{i}]", ndim=3)) for i, t in enumerate(theta))


def reference_bn_joint_policy(game, parents, theta) -> np.ndarray:
    """Plain-numpy joint policy ``pi(a | s) = prod_i pi_i(a_i | s, a_{Pa(i)})``, shape ``(S, J)``."""
    A = game.n_actions
    S = game.n_states
    grid = np.stack(np.unravel_index(np.arange(game.n_joint), A), axis=-1)  # (J, n)
    pi = np.ones((S, game.n_joint))
    for i, cond in enumerate(conditional_policies(theta)):
        p = context_index(parents[i], grid, A)
        pi *= cond[:, p, grid[:, i]]
    return pi


def bn_joint_policy(game, parents, theta) -> np.ndarray:
    """The joint policy induced by the BN policy, ``(S, J)`` (rows sum to one).

    Parameters
    ----------
    game : CooperativeGame
    parents : sequence of collections of int
        The DAG (``parents[i]`` observed by agent ``i``).
    theta : sequence of arrays
        ``theta[i]`` of shape ``(S, K_i, A_i)``.
    """
    game = _require_game(game)
    parents = check_parents(parents, game.n_agents)
    theta = check_theta(theta, game, parents)
    from marl.bn.gradient import _joint_policy_kernel, _pack

    packed = _pack(game, parents, theta)
    pi = np.empty((game.n_states, game.n_joint))
    _joint_policy_kernel(packed.cond, packed.off, packed.K, packed.A, packed.par_ptr, packed.par_idx, pi)
    return pi


def bn_sample_actions(game, parents, theta, s, *, rng) -> np.ndarray:
    """Sample one joint action in state ``s`` agent by agent in a topological order; ``(n,)`` ints."""
    game = _require_game(game)
    parents = check_parents(parents, game.n_agents)
    theta = check_theta(theta, game, parents)
    rng = check_rng(rng)
    if isinstance(s, (bool, np.bool_)) or not isinstance(s, (numbers.Integral, np.integer)):
        raise TypeError(f"s must be an integer state, got {type(s).__name__}")
    if not 0 <= int(s) < game.n_states:
        raise ValueError(f"s must lie in 0..{game.n_states - 1}, got {int(s)}")
    conds = conditional_policies(theta)
    a = np.full(game.n_agents, -1, dtype=np.int64)
    for i in _topological_order(parents, "parents"):
        p = int(context_index(parents[i], a, game.n_actions))
        row = conds[i][int(s), p]
        a[i] = min(int(np.searchsorted(np.cumsum(row), rng.random() * row.sum(), side="right")), len(row) - 1)
    return a
