"""Multi-step toy environments with *exact* Q^pi and A^pi, and grouped rollouts for the estimators.

Two episodic environments are built as :class:`mdp.TabularMDP` models, so that the true action
values of any tabular softmax policy come from :func:`mdp.policy_evaluation` (one linear solve)
and every sampled step row can carry its exact advantage ``A^pi(s_t, a_t)``:

* :func:`corridor` -- positions ``0..L`` on a line, actions (left, stay, right), goal ``L``
  (absorbing, outcome reward 1 on entering it), a wall at 0. States are *revisited* inside an
  episode (stay, left-right), so GiGPO's anchor-state groups form both within and across the
  trajectories of a group (the corridor of ``docs/papers/gigpo.md``).
* :func:`branching_tree` -- a layered DAG: node ``(d, j)`` at depth ``d``; action ``k`` leads to
  ``(d+1, (j * b + k) mod W_{d+1})`` with ``W_{d+1} = min(b W_d, width)``. Once ``b^d`` exceeds
  ``width``, different action sequences reach the *same* node (shared states, never revisited inside
  one episode). The last action chooses a leaf; a goal leaf pays outcome reward 1 and every leaf
  ends the episode.

Discounting (the choice, and why it is exact)
---------------------------------------------
``gamma`` is the per-step **continuation probability**: after every step (its reward already
received) a live episode is cut off with probability ``1 - gamma`` (a stochastic turn budget; the
cut-off is a failure, no reward). For this sampled process the expected *undiscounted* return from
``(s_t, a_t)`` is exactly the discounted ``Q^pi_gamma(s_t, a_t)`` of the model ``(P, R, gamma)``
without cut-offs, which is what :func:`mdp.policy_evaluation` computes. Hence every estimator sees
plain undiscounted episode returns (as in LLM agents: reward 1 at the end on success), the
estimators' own step-return discount should be ``1`` (the environment already discounts), and the
Monte Carlo reward-to-go of a row is an unbiased sample of ``Q^pi(s_t, a_t)``. A hard cap
``max_steps`` (default: cut-off probability ``< 1e-12``) only guards the loop; trajectories it
truncates are flagged.

Slip: with probability ``slip`` the executed action is uniformly random (stochastic transitions).
Rewards are realised per executed action (outcome 1 on entering a goal, optional step rewards /
wall-bump penalties); ``R[s, a]`` is their expectation over the slip.

Note on the estimators' own discount: with sparse outcome rewards and step-return discount 1 the
reward-to-go of every row equals its episode's outcome, so GiGPO's step advantage then carries the
episode outcome's sign at every row; a step-return discount ``< 1`` (GiGPO's default 0.95) adds a
preference for shorter paths, consistent in sign with the cut-off.

Rollouts: :func:`rollout` samples ``n_prompts`` start states ("prompts") and ``group_size``
episodes from each, vectorised over episodes (one numpy pass per time step, ``O(rows)``), and
returns :class:`ToyRollouts`: one row per environment step with the exact ``q``, ``v``,
``adv`` of each row, plus :meth:`ToyRollouts.step_batch` (a :class:`mdp.llm.RolloutBatch` with
immediate step rewards, ``group_ids``, ``trajectory_ids``, ``step_ids``, ``observation_keys`` and
``extra["action_keys"]``: what gigpo / hgpo / salt need) and :meth:`ToyRollouts.trajectory_batch`
(one row per episode carrying its return: what the outcome estimators grpo, rloo, ... need).
numpy only; torch is imported by the two batch methods.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from mdp._common import frozen, result
from mdp._validation import as_float_array, check_positive_int, check_rng

__all__ = [
    "ToyEnv",
    "ExactValues",
    "ToyRollouts",
    "corridor",
    "branching_tree",
    "softmax_policy",
    "exact_values",
    "success_probability",
    "rollout",
    "CORRIDOR_ACTIONS",
]

CORRIDOR_ACTIONS = ("left", "stay", "right")


# ============================================================================ model
@result
class ToyEnv:
    """An episodic toy environment: a :class:`mdp.TabularMDP` plus the tables a rollout samples from.

    Dynamics are deterministic in the *executed* action ``e``: ``next_state[s, e]``, reward
    ``reward[s, e]``, ``success[s, e]``. The executed action is the chosen one with probability
    ``1 - slip`` and uniform otherwise, so the model is ``P[s, a, s'] = sum_e p(e | a)
    [next_state[s, e] = s']`` and ``R[s, a] = sum_e p(e | a) reward[s, e]``.

    Attributes
    ----------
    name : str
    mdp : mdp.TabularMDP
        ``P`` ``(S, A, S)``, expected rewards ``R`` ``(S, A)``, ``gamma`` = continuation probability.
    next_state : ndarray ``(S, A)`` int64
    reward : ndarray ``(S, A)`` float
    success : ndarray ``(S, A)`` bool
        Executed moves that count as success (entering a goal).
    terminal : ndarray ``(S,)`` bool
        Absorbing states (self-loops, reward 0); entering one ends the episode.
    slip : float
    start_states : ndarray ``(k,)`` int64
        Prompts draw their start state uniformly from these.
    observation_keys : ndarray ``(S,)`` int64
        Hashable (pre-hashed) observation key of every state (here the state id).
    labels : tuple of str
        Human-readable name of every state.
    """

    name: str
    mdp: object
    next_state: np.ndarray
    reward: np.ndarray
    success: np.ndarray
    terminal: np.ndarray
    slip: float
    start_states: np.ndarray
    observation_keys: np.ndarray
    labels: tuple

    @property
    def gamma(self) -> float:
        """Continuation probability per step (the model's discount)."""
        return self.mdp.gamma

    @property
    def n_states(self) -> int:
        return self.mdp.n_states

    @property
    def n_actions(self) -> int:
        return self.mdp.n_actions

    def start_distribution(self) -> np.ndarray:
        """``mu`` ``(S,)``: uniform over :attr:`start_states` (repeats count twice)."""
        mu = np.zeros(self.n_states)
        np.add.at(mu, self.start_states, 1.0 / len(self.start_states))
        return mu


def _check_real(x, name: str) -> float:
    # toy environments call a non-finite number a TypeError (their tests assert it); see mdp._validation.check_real
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not math.isfinite(float(x)):
        raise TypeError(f"{name} must be a finite real number, got {x!r}")
    return float(x)


def _check_prob(x, name: str, *, open_ends: bool = False) -> float:
    v = _check_real(x, name)
    ok = 0.0 < v < 1.0 if open_ends else 0.0 <= v <= 1.0
    if not ok:
        raise ValueError(f"{name} must lie in {'(0, 1)' if open_ends else '[0, 1]'}, got {v}")
    return v


def _check_ids(ids, upper: int, name: str, rule: str) -> np.ndarray:
    if isinstance(ids, (numbers.Integral, np.integer)) and not isinstance(ids, bool):
        ids = (int(ids),)
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of ints, got {type(ids).__name__}")
    arr = np.asarray(ids)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d sequence of ints, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.min() < 0 or arr.max() >= upper:
        bad = int(arr[(arr < 0) | (arr >= upper)][0])
        raise ValueError(f"{name} must lie in {rule}, got {bad}")
    return arr.astype(np.int64)


def _build(name, next_state, reward, success, terminal, slip, gamma, start_states, labels) -> ToyEnv:
    """Model ``(P, R, gamma)`` from deterministic executed-action tables and the slip probability."""
    import mdp

    S, A = next_state.shape
    next_state[terminal] = np.flatnonzero(terminal)[:, None]  # absorbing self-loops
    reward[terminal] = 0.0
    success[terminal] = False
    p_exec = (1.0 - slip) * np.eye(A) + slip / A  # p(e | a), rows a
    P_exec = np.zeros((S, A, S))
    np.put_along_axis(P_exec, next_state[:, :, None], 1.0, axis=2)
    P = np.einsum("ae,set->sat", p_exec, P_exec)
    R = reward @ p_exec.T
    return ToyEnv(
        name=name,
        mdp=mdp.TabularMDP(P, R, gamma),
        next_state=next_state,
        reward=reward,
        success=success,
        terminal=terminal,
        slip=slip,
        start_states=start_states,
        observation_keys=np.arange(S, dtype=np.int64),
        labels=tuple(labels),
    )


def corridor(
    length: int = 5,
    *,
    gamma: float = 0.95,
    slip: float = 0.0,
    bump_penalty: float = 0.0,
    step_reward: float = 0.0,
    start_states=(0,),
) -> ToyEnv:
    """Corridor ``0..length``, goal at ``length`` (the CPU lab of ``docs/papers/gigpo.md``).

    Parameters
    ----------
    length : int >= 1
        ``L``; states ``0..L`` (``S = L + 1``); ``L`` is the absorbing goal.
    gamma : float in (0, 1)
        Continuation probability per step (module docstring).
    slip : float in [0, 1]
        Probability that the executed action is uniformly random.
    bump_penalty : float
        Subtracted from the reward when ``left`` is executed at 0 (docs/papers/gigpo.md uses 0.1).
    step_reward : float
        Reward of every executed move that does not enter the goal (e.g. ``-0.01``).
    start_states : int or sequence of int in ``[0, L)``
        Start positions; each prompt draws one uniformly.

    Returns
    -------
    ToyEnv
        Actions ``0 = left, 1 = stay, 2 = right`` (:data:`CORRIDOR_ACTIONS`); entering ``L`` pays 1.

    Examples
    --------
    Under the optimal policy (always right) of the deterministic corridor,
    ``V(s) = gamma^(L-1-s)`` and ``A(s, stay) = -(1 - gamma) gamma^(L-1-s)``.
    """
    L = check_positive_int(length, "length")
    g = _check_prob(gamma, "gamma", open_ends=True)
    slip = _check_prob(slip, "slip")
    bump = _check_real(bump_penalty, "bump_penalty")
    step_r = _check_real(step_reward, "step_reward")
    starts = _check_ids(start_states, L, "start_states", f"[0, {L}) (position {L} is the terminal goal)")
    S = L + 1
    pos = np.arange(S)[:, None] + np.array([-1, 0, 1])[None, :]
    nxt = np.clip(pos, 0, L).astype(np.int64)
    suc = nxt == L
    rew = np.where(suc, 1.0, step_r)
    rew[0, 0] -= bump
    term = np.zeros(S, dtype=bool)
    term[L] = True
    return _build(f"corridor(L={L})", nxt, rew, suc, term, slip, g, starts, [f"pos{s}" for s in range(L)] + ["goal"])


def branching_tree(
    depth: int = 4,
    branching: int = 3,
    width: int = 5,
    *,
    gamma: float = 0.95,
    slip: float = 0.0,
    goal_leaves=(0,),
    step_reward: float = 0.0,
) -> ToyEnv:
    """Layered DAG with shared states: ``(d, j) --k--> (d+1, (j b + k) mod W_{d+1})``.

    Parameters
    ----------
    depth : int >= 1
        ``D`` decisions per episode; decision nodes at depths ``0..D-1``; the last decision picks a
        leaf ``0..W_D - 1`` and ends the episode.
    branching : int >= 2
        ``b`` actions per node.
    width : int >= 1
        Cap on the nodes per level: ``W_0 = 1``, ``W_{d+1} = min(b W_d, width)``. Where
        ``b W_d > width`` paths merge: different action sequences reach the same node.
    gamma : float in (0, 1)
        Continuation probability per step.
    slip : float in [0, 1]
    goal_leaves : int or sequence of int in ``[0, W_D)``
        Leaves paying outcome reward 1 (others 0).
    step_reward : float
        Reward of every non-final decision.

    Returns
    -------
    ToyEnv
        ``S = sum_{d<D} W_d + 1`` (the absorbing ``end`` state last), ``A = b``; start ``(0, 0)``.
    """
    D = check_positive_int(depth, "depth")
    b = check_positive_int(branching, "branching", minimum=2)
    W = check_positive_int(width, "width")
    g = _check_prob(gamma, "gamma", open_ends=True)
    slip = _check_prob(slip, "slip")
    step_r = _check_real(step_reward, "step_reward")
    widths = [1]
    for _ in range(D):
        widths.append(min(widths[-1] * b, W))
    goals = _check_ids(goal_leaves, widths[D], "goal_leaves", f"[0, {widths[D]}) (the leaves at depth {D})")
    offset = np.concatenate([[0], np.cumsum(widths[:D])]).astype(np.int64)
    S = int(offset[D]) + 1
    end = S - 1
    nxt = np.full((S, b), end, dtype=np.int64)
    rew = np.zeros((S, b))
    suc = np.zeros((S, b), dtype=bool)
    labels = []
    for d in range(D):
        j = np.arange(widths[d])
        child = (j[:, None] * b + np.arange(b)[None, :]) % widths[d + 1]
        rows = offset[d] + j
        labels += [f"d{d}n{i}" for i in j]
        if d < D - 1:
            nxt[rows] = offset[d + 1] + child
            rew[rows] = step_r
        else:
            suc[rows] = np.isin(child, goals)
            rew[rows] = suc[rows].astype(float)
    term = np.zeros(S, dtype=bool)
    term[end] = True
    return _build(
        f"tree(D={D},b={b},W={W})", nxt, rew, suc, term, slip, g, np.zeros(1, dtype=np.int64), labels + ["end"]
    )


# ============================================================================ exact values
def softmax_policy(theta) -> np.ndarray:
    """Row-wise softmax ``pi[s, a] = exp(theta[s, a]) / sum_b exp(theta[s, b])`` of ``theta`` ``(S, A)``."""
    th = as_float_array(theta, "theta", ndim=2)
    if th.shape[0] == 0 or th.shape[1] == 0:
        raise ValueError(f"theta must be a non-empty (S, A) array, got shape {th.shape}")
    z = np.exp(th - th.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@result
class ExactValues:
    """Exact ``v = V^pi`` ``(S,)``, ``q = Q^pi`` ``(S, A)``, ``adv = q - v[:, None]``, ``pi`` ``(S, A)``."""

    v: np.ndarray
    q: np.ndarray
    adv: np.ndarray
    pi: np.ndarray


def _check_env(env) -> ToyEnv:
    if not isinstance(env, ToyEnv):
        raise TypeError(f"env must be a ToyEnv (from corridor() or branching_tree()), got {type(env).__name__}")
    return env


def _check_pi(env: ToyEnv, pi) -> np.ndarray:
    p = as_float_array(pi, "pi", ndim=2)
    if p.shape != (env.n_states, env.n_actions):
        raise ValueError(f"pi must have shape (S, A) = {(env.n_states, env.n_actions)}, got {p.shape}")
    if np.any(p < 0) or np.any(np.abs(p.sum(1) - 1.0) > 1e-8):
        raise ValueError("pi must hold probability rows (non-negative, each summing to 1)")
    return p


def exact_values(env: ToyEnv, pi) -> ExactValues:
    """``V^pi``, ``Q^pi`` and ``A^pi`` of a stochastic policy ``pi`` ``(S, A)``, exactly.

    One linear solve ``v = (I - gamma P_pi)^{-1} r_pi`` by :func:`mdp.policy_evaluation`
    (``method="exact"``), ``Q = R + gamma P v``, ``A = Q - V`` (Sutton & Barto 2018, Eqs. 3.14 and
    13.11). By construction ``sum_a pi(a|s) A(s, a) = 0`` at every state. Terminal states have
    ``v = q = 0``.
    """
    import mdp

    env = _check_env(env)
    p = _check_pi(env, pi)
    res = mdp.policy_evaluation(env.mdp, p, method="exact")
    v, q = np.array(res.v), np.array(res.q)
    return ExactValues(v=v, q=q, adv=q - v[:, None], pi=p)


def success_probability(env: ToyEnv, pi) -> float:
    """Exact probability that an episode from the start distribution succeeds under ``pi``.

    The success indicator is a reward (1 on a successful executed move), so the probability is
    ``mu . V`` of the model with that reward and the same continuation probability ``gamma``.
    """
    import mdp

    env = _check_env(env)
    p = _check_pi(env, pi)
    A = env.n_actions
    p_exec = (1.0 - env.slip) * np.eye(A) + env.slip / A
    m = mdp.TabularMDP(env.mdp.dense_P(), env.success.astype(float) @ p_exec.T, env.gamma)
    v = np.asarray(mdp.policy_evaluation(m, p, method="exact").v)
    return float(env.start_distribution() @ v)


# ============================================================================ rollouts
@result
class ToyRollouts:
    """Grouped rollouts: one row per environment step, sorted by (trajectory, step).

    Row arrays ``(rows,)``: ``rewards`` (immediate reward ``r_t``), ``group_ids`` (prompt),
    ``trajectory_ids`` (global episode id ``0..n_traj-1``), ``step_ids`` (``t``), ``states``
    (``s_t``), ``actions`` (chosen ``a_t``), ``observation_keys`` (key of ``s_t``), exact
    ``q = Q^pi(s_t, a_t)``, ``v = V^pi(s_t)``, ``adv = A^pi(s_t, a_t)``, and ``reward_to_go``
    (undiscounted ``sum_{k>=t} r_k``, an unbiased sample of ``q``).
    Trajectory arrays ``(n_traj,)``: ``traj_group``, ``traj_return``, ``traj_success``,
    ``traj_length``, ``traj_truncated`` (hit ``max_steps``). Trajectory ``i`` belongs to prompt
    ``i // group_size``.
    """

    rewards: np.ndarray
    group_ids: np.ndarray
    trajectory_ids: np.ndarray
    step_ids: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    observation_keys: np.ndarray
    q: np.ndarray
    v: np.ndarray
    adv: np.ndarray
    reward_to_go: np.ndarray
    traj_group: np.ndarray
    traj_return: np.ndarray
    traj_success: np.ndarray
    traj_length: np.ndarray
    traj_truncated: np.ndarray
    start_states: np.ndarray
    group_size: int
    n_prompts: int
    exact: ExactValues

    def __post_init__(self):
        for f in (
            "rewards",
            "group_ids",
            "trajectory_ids",
            "step_ids",
            "states",
            "actions",
            "observation_keys",
            "q",
            "v",
            "adv",
            "reward_to_go",
            "traj_group",
            "traj_return",
            "traj_success",
            "traj_length",
            "traj_truncated",
            "start_states",
        ):
            frozen(getattr(self, f))

    @property
    def n_rows(self) -> int:
        return int(self.rewards.shape[0])

    @property
    def n_trajectories(self) -> int:
        return int(self.traj_return.shape[0])

    def to_rows(self, per_trajectory) -> np.ndarray:
        """Broadcast a per-trajectory array ``(n_traj, ...)`` to the step rows ``(rows, ...)``."""
        x = np.asarray(per_trajectory)
        if x.shape[:1] != (self.n_trajectories,):
            raise ValueError(f"per_trajectory must have {self.n_trajectories} entries on dim 0, got shape {x.shape}")
        return x[self.trajectory_ids]

    def step_batch(self, **kwargs):
        """:class:`mdp.llm.RolloutBatch` with one row per step (what gigpo / hgpo / salt read).

        Fields: ``rewards`` (immediate ``r_t``), ``group_ids``, ``trajectory_ids``, ``step_ids``,
        ``observation_keys`` (int64 state keys), ``response_mask`` (one token per row) and
        ``extra["action_keys"]`` (chosen actions). ``kwargs`` go to the constructor (``dtype=``...).
        """
        from mdp.llm.batch import RolloutBatch

        return RolloutBatch(
            rewards=np.array(self.rewards),
            group_ids=np.array(self.group_ids),
            trajectory_ids=np.array(self.trajectory_ids),
            step_ids=np.array(self.step_ids),
            observation_keys=np.array(self.observation_keys),
            response_mask=np.ones((self.n_rows, 1), dtype=bool),
            extra={"action_keys": np.array(self.actions)},
            **kwargs,
        )

    def trajectory_batch(self, **kwargs):
        """:class:`mdp.llm.RolloutBatch` with one row per episode (outcome estimators: grpo, rloo, ...).

        ``rewards`` = episode return (undiscounted sum of step rewards), ``group_ids`` = prompt,
        ``trajectory_ids`` = episode id, ``response_mask`` one token per row. Broadcast the result
        to the steps with :meth:`to_rows` (every step of an episode shares its advantage, as in
        GRPO for agents).
        """
        from mdp.llm.batch import RolloutBatch

        n = self.n_trajectories
        return RolloutBatch(
            rewards=np.array(self.traj_return),
            group_ids=np.array(self.traj_group),
            trajectory_ids=np.arange(n, dtype=np.int64),
            response_mask=np.ones((n, 1), dtype=bool),
            **kwargs,
        )


def _sample_index(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF sampling: row-wise ``#{k : cum[i, k] <= u[i]}``, clipped to the last index."""
    idx = (cum <= u[:, None]).sum(axis=1)
    return np.minimum(idx, cum.shape[1] - 1)


def _default_max_steps(gamma: float) -> int:
    # cut-off probability gamma^max_steps < 1e-12
    return int(math.ceil(math.log(1e-12) / math.log(gamma)))


def rollout(
    env: ToyEnv,
    theta,
    *,
    group_size: int,
    n_prompts: int,
    rng: np.random.Generator,
    max_steps: int | None = None,
    exact: ExactValues | None = None,
) -> ToyRollouts:
    """Sample ``n_prompts`` groups of ``group_size`` episodes of the softmax policy ``softmax(theta)``.

    Each prompt draws a start state uniformly from ``env.start_states``; its ``group_size``
    episodes start there. Per step (vectorised over live episodes): choose ``a ~ pi(.|s)``,
    execute ``a`` (or a uniform action with probability ``slip``), receive ``reward[s, e]``, move to
    ``next_state[s, e]``; the episode ends on entering a terminal state, or is cut off with
    probability ``1 - gamma`` (module docstring), or at ``max_steps`` (flagged as truncated).

    Parameters
    ----------
    env : ToyEnv
    theta : array_like ``(S, A)``
        Logits of the tabular softmax policy.
    group_size : int >= 1
        ``G`` episodes per prompt.
    n_prompts : int >= 1
    rng : numpy.random.Generator
    max_steps : int >= 1, optional
        Hard cap on episode length (default: ``gamma^max_steps < 1e-12``).
    exact : ExactValues, optional
        Precomputed :func:`exact_values` of this policy (saves the solve when rolling out repeatedly).

    Returns
    -------
    ToyRollouts
        ``O(rows)`` time and memory; the rows carry the exact ``Q^pi``, ``V^pi``, ``A^pi``.
    """
    env = _check_env(env)
    theta = as_float_array(theta, "theta", ndim=2)
    if theta.shape != (env.n_states, env.n_actions):
        raise ValueError(f"theta must have shape (S, A) = {(env.n_states, env.n_actions)}, got {theta.shape}")
    G = check_positive_int(group_size, "group_size")
    n_prompts = check_positive_int(n_prompts, "n_prompts")
    rng = check_rng(rng)
    T = _default_max_steps(env.gamma) if max_steps is None else check_positive_int(max_steps, "max_steps")
    pi = softmax_policy(theta)
    if exact is None:
        exact = exact_values(env, pi)
    elif not isinstance(exact, ExactValues):
        raise TypeError(f"exact must be an ExactValues from exact_values(), got {type(exact).__name__}")
    elif exact.pi.shape != pi.shape or not np.allclose(exact.pi, pi, rtol=0, atol=1e-12):
        raise ValueError("exact was computed for a different policy than softmax(theta)")

    N = n_prompts * G
    starts = env.start_states[rng.integers(0, len(env.start_states), size=n_prompts)]
    state = np.repeat(starts, G)
    alive = ~env.terminal[state]
    cum_pi = np.cumsum(pi, axis=1)
    A = env.n_actions
    slip, gamma = env.slip, env.gamma
    traj_l, step_l, s_l, a_l, r_l, succ_l = [], [], [], [], [], []
    truncated = np.zeros(N, dtype=bool)
    for t in range(T):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        s = state[idx]
        a = _sample_index(cum_pi[s], rng.random(idx.size))
        e = a
        if slip > 0:
            slipped = rng.random(idx.size) < slip
            e = np.where(slipped, rng.integers(0, A, size=idx.size), a)
        s2 = env.next_state[s, e]
        traj_l.append(idx)
        step_l.append(np.full(idx.size, t, dtype=np.int64))
        s_l.append(s)
        a_l.append(a)
        r_l.append(env.reward[s, e])
        succ_l.append(env.success[s, e])
        cut = rng.random(idx.size) >= gamma
        state[idx] = s2
        alive[idx[env.terminal[s2] | cut]] = False
    else:
        truncated = alive.copy()

    if traj_l:
        traj = np.concatenate(traj_l)
        step = np.concatenate(step_l)
        order = np.lexsort((step, traj))
        traj, step = traj[order], step[order]
        states = np.concatenate(s_l)[order]
        actions = np.concatenate(a_l)[order]
        rewards = np.concatenate(r_l)[order].astype(np.float64)
        success = np.concatenate(succ_l)[order]
    else:  # every start state terminal (impossible with the built-in constructors)
        raise ValueError("no steps were sampled: every start state is terminal")
    length = np.bincount(traj, minlength=N)
    if np.any(length == 0):
        raise ValueError("a start state is terminal: every episode needs at least one step")
    ret = np.bincount(traj, weights=rewards, minlength=N)
    # undiscounted reward-to-go: episode total minus the rewards before t
    csum = np.cumsum(rewards)
    first = np.concatenate([[0], np.cumsum(length)[:-1]])
    before = csum - rewards - np.concatenate([[0.0], csum])[first][traj]
    rtg = ret[traj] - before
    return ToyRollouts(
        rewards=rewards,
        group_ids=traj // G,
        trajectory_ids=traj,
        step_ids=step,
        states=states,
        actions=actions,
        observation_keys=np.asarray(env.observation_keys)[states],
        q=exact.q[states, actions],
        v=exact.v[states],
        adv=exact.adv[states, actions],
        reward_to_go=rtg,
        traj_group=np.arange(N, dtype=np.int64) // G,
        traj_return=ret,
        traj_success=np.bincount(traj, weights=success.astype(float), minlength=N) > 0,
        traj_length=length,
        traj_truncated=truncated,
        start_states=starts,
        group_size=G,
        n_prompts=n_prompts,
        exact=exact,
    )
