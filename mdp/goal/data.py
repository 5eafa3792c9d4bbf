"""Offline goal-conditioned data: random-walk trajectories and hindsight goal relabelling.

A :class:`GoalDataset` holds trajectories ``states[i, t]`` (``t = 0..L``) and ``actions[i, t]``.
:func:`hindsight_transitions` turns it into TD samples ``(s, g, s_next, reward, cont)`` for a goal
drawn from the current state, a future state of the same trajectory or a random state (HIQL's
value-goal mixture, ``docs/papers/ota.md``), for options of ``n`` primitive steps (``n = 1``:
HIQL's one-step samples; ``n > 1``: OTA's option-aware samples). With ``j`` the first offset at
which the trajectory stands on ``g`` (searched within the option's window ``t..t+n``):

* the option ends at ``t' = t + min(n, j)`` and ``s_next = s_{t'}``;
* ``cont = 0`` when ``j <= n`` (the bootstrap state is the goal, value 0), else ``1``;
* ``reward``: convention ``"start"``: ``0`` if ``j = 0`` (the option starts on the goal) else ``-1``;
  convention ``"reach"`` (the notes' rule as written): ``0`` if ``j <= n`` else ``-1``.

The TD target is ``y = reward + gamma * cont * V(s_next, g)`` (:func:`mdp.goal.expectile_td`).
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import check_positive_int, check_probability, check_rng
from mdp.goal.model import GoalMDP, check_convention, check_goals, check_states

__all__ = [
    "GoalDataset",
    "GoalTransitions",
    "random_walks",
    "hindsight_transitions",
    "exhaustive_transitions",
    "goal_window_transitions",
    "aggregate_transitions",
]


@result
class GoalDataset:
    """Trajectories of a :class:`GoalMDP`.

    Attributes
    ----------
    states : ndarray of int64, shape (n_trajectories, length + 1)
    actions : ndarray of int64, shape (n_trajectories, length)
    n_states : int
    """

    states: np.ndarray
    actions: np.ndarray
    n_states: int

    @property
    def length(self) -> int:
        """Steps per trajectory ``L``."""
        return int(self.actions.shape[1])


@result
class GoalTransitions:
    """Goal-conditioned TD samples (one-step or option-aware).

    Attributes
    ----------
    s, g, s_next : ndarray of int64, shape (N,)
        State, goal and bootstrap state of each sample.
    reward : ndarray, shape (N,)
        ``0`` or ``-1`` (see the module docstring for the convention).
    cont : ndarray, shape (N,)
        ``1`` when the target bootstraps from ``V(s_next, g)``, ``0`` when the goal was reached.
    offset : ndarray of int64, shape (N,)
        First offset ``j`` at which ``g`` is reached within the option window, ``-1`` if it is not
        (after :func:`aggregate_transitions`: the offset of one of the merged samples).
    weight : ndarray, shape (N,)
        Multiplicity of each sample (1 unless merged by :func:`aggregate_transitions`).
    n_states : int
    n : int
        Option length (1 for HIQL's one-step samples).
    convention : str
        ``"start"`` or ``"reach"``.
    """

    s: np.ndarray
    g: np.ndarray
    s_next: np.ndarray
    reward: np.ndarray
    cont: np.ndarray
    offset: np.ndarray
    weight: np.ndarray
    n_states: int
    n: int
    convention: str

    def __len__(self) -> int:
        return int(self.s.shape[0])


def random_walks(m: GoalMDP, n_trajectories: int, length: int, *, rng, momentum: float = 0.0, starts=None):
    """Random walks with momentum: each step repeats the previous action with probability
    ``momentum`` and otherwise draws a uniform action (the first action is uniform).

    ``starts``: ``(n_trajectories,)`` start states, default uniform over the states. Returns a
    :class:`GoalDataset`.
    """
    if not isinstance(m, GoalMDP):
        raise TypeError(f"m must be a mdp.goal.GoalMDP, got {type(m).__name__}")
    n = check_positive_int(n_trajectories, "n_trajectories")
    L = check_positive_int(length, "length")
    rng = check_rng(rng)
    momentum = check_probability(momentum, "momentum")
    S, A = m.n_states, m.n_actions
    if starts is None:
        s = rng.integers(S, size=n)
    else:
        s = check_states(starts, S, "starts")
        if s.shape != (n,):
            raise ValueError(f"starts must have shape ({n},), got {s.shape}")
    states = np.empty((n, L + 1), dtype=np.int64)
    actions = np.empty((n, L), dtype=np.int64)
    states[:, 0] = s
    a = rng.integers(A, size=n)
    for t in range(L):
        if t > 0:
            keep = rng.random(n) < momentum
            a = np.where(keep, a, rng.integers(A, size=n))
        actions[:, t] = a
        s = m.next_state[s, a]
        states[:, t + 1] = s
    return GoalDataset(states, actions, S)


def _finish(data, i, t, g, n, convention):
    """Option samples for trajectory ``i``, start ``t`` and goal ``g`` (vectors)."""
    L = data.length
    window = data.states[i[:, None], np.minimum(t[:, None] + np.arange(n + 1)[None, :], L)]
    hit = window == g[:, None]
    reached = hit.any(axis=1)
    j = np.where(reached, hit.argmax(axis=1), -1)
    end = np.where(reached, t + j, np.minimum(t + n, L))
    s = data.states[i, t]
    s_next = data.states[i, end]
    if convention == "start":
        reward = np.where(j == 0, 0.0, -1.0)
    else:
        reward = np.where(reached, 0.0, -1.0)
    cont = np.where(reached, 0.0, 1.0)
    return GoalTransitions(
        s,
        g.astype(np.int64),
        s_next,
        reward,
        cont,
        j.astype(np.int64),
        np.ones(s.shape[0]),
        data.n_states,
        n,
        convention,
    )


def _check_dataset(data, n):
    if not isinstance(data, GoalDataset):
        raise TypeError(f"data must be a mdp.goal.GoalDataset, got {type(data).__name__}")
    n = check_positive_int(n, "n")
    if n > data.length:
        raise ValueError(f"n (option length) must be at most the trajectory length {data.length}, got {n}")
    return n


def hindsight_transitions(
    data: GoalDataset,
    *,
    rng,
    n_samples: int,
    n: int = 1,
    convention: str = "start",
    p_current: float = 0.2,
    p_future: float = 0.5,
    p_random: float = 0.3,
    geometric: float | None = None,
):
    """``n_samples`` TD samples with hindsight goals (HIQL's value-goal mixture).

    A sample draws a trajectory and a start ``t`` uniform in ``[0, L - n]``, then a goal: the current
    state (probability ``p_current``), a future state ``s_{t + k}`` of the same trajectory
    (``p_future``; ``k`` uniform in ``[1, L - t]``, or geometric with success probability
    ``geometric`` truncated at the trajectory's end), or a uniformly random state (``p_random``).
    The three probabilities must sum to 1. See the module docstring for the option rule.
    """
    n = _check_dataset(data, n)
    rng = check_rng(rng)
    N = check_positive_int(n_samples, "n_samples")
    check_convention(convention)
    p = np.array(
        [
            check_probability(x, name)
            for x, name in ((p_current, "p_current"), (p_future, "p_future"), (p_random, "p_random"))
        ]
    )
    if abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"p_current + p_future + p_random must equal 1, got {p.sum():.6g}")
    if geometric is not None:
        geometric = check_probability(geometric, "geometric", open_ends=True)
    L = data.length
    n_traj = data.states.shape[0]
    i = rng.integers(n_traj, size=N)
    t = rng.integers(L - n + 1, size=N)
    kind = np.searchsorted(np.cumsum(p), rng.random(N), side="right").clip(0, 2)
    if geometric is None:
        k = 1 + np.floor(rng.random(N) * (L - t)).astype(np.int64)
    else:
        k = np.minimum(rng.geometric(geometric, size=N), L - t)
    g = np.where(
        kind == 0,
        data.states[i, t],
        np.where(kind == 1, data.states[i, np.minimum(t + k, L)], rng.integers(data.n_states, size=N)),
    )
    return _finish(data, i, t, g, n, convention)


def exhaustive_transitions(data: GoalDataset, *, n: int = 1, convention: str = "start"):
    """Every ``(trajectory, t, future goal s_{t+k})`` with ``t <= L - n`` and ``0 <= k <= L - t``
    (deterministic; for small data sets, the exact fixed points of the claims)."""
    n = _check_dataset(data, n)
    check_convention(convention)
    L = data.length
    n_traj = data.states.shape[0]
    ii, tt, kk = [], [], []
    for t in range(L - n + 1):
        k = np.arange(L - t + 1)
        ii.append(np.repeat(np.arange(n_traj), k.size))
        tt.append(np.full(n_traj * k.size, t))
        kk.append(np.tile(t + k, n_traj))
    i, t, gk = np.concatenate(ii), np.concatenate(tt), np.concatenate(kk)
    return _finish(data, i, t, data.states[i, gk], n, convention)


def aggregate_transitions(t: GoalTransitions) -> GoalTransitions:
    """Merge samples with equal ``(s, g, s_next, reward, cont)`` into one sample whose ``weight`` is
    the sum of theirs. The TD targets of a cell form the same weighted multiset, so the expectile TD
    fixed point is unchanged (tested), and a sweep costs one pass over distinct samples."""
    if not isinstance(t, GoalTransitions):
        raise TypeError(f"t must be a mdp.goal.GoalTransitions, got {type(t).__name__}")
    S = t.n_states
    code = ((t.s * S + t.g) * S + t.s_next) * 4 + (t.reward < 0) * 2 + (t.cont > 0)
    keys, first, inv = np.unique(code, return_index=True, return_inverse=True)
    w = np.bincount(inv.ravel(), weights=t.weight, minlength=keys.size)
    return GoalTransitions(
        t.s[first],
        t.g[first],
        t.s_next[first],
        t.reward[first],
        t.cont[first],
        t.offset[first],
        w,
        S,
        t.n,
        t.convention,
    )


def goal_window_transitions(
    data: GoalDataset, goals, *, rng, n_windows: int | None = None, n: int = 1, convention: str = "start"
):
    """Every goal of ``goals`` paired with the same option windows ``(i, t)``, aggregated per goal.

    The value columns ``V(., g)`` of different goals do not interact in the TD operator, so the
    columns of a few evaluation goals can be learned from all the data (every window relabelled with
    each goal, ``j`` searched in the window) at a fraction of the cost of the full ``(S, S)`` table.
    ``n_windows``: that many windows drawn uniformly with ``rng``; ``None``: every window
    ``t = 0..L - n`` of every trajectory. Returns :func:`aggregate_transitions` of the result.
    """
    n = _check_dataset(data, n)
    rng = check_rng(rng)
    check_convention(convention)
    goals = np.atleast_1d(check_goals(goals, data.n_states, "goals")).ravel()
    if goals.size == 0:
        raise ValueError("goals must hold at least one goal state")
    L, n_traj = data.length, data.states.shape[0]
    if n_windows is None:
        i = np.repeat(np.arange(n_traj), L - n + 1)
        t = np.tile(np.arange(L - n + 1), n_traj)
    else:
        W = check_positive_int(n_windows, "n_windows")
        i = rng.integers(n_traj, size=W)
        t = rng.integers(L - n + 1, size=W)
    window = data.states[i[:, None], t[:, None] + np.arange(n + 1)[None, :]]
    parts = []
    for g in goals:
        hit = window == g
        reached = hit.any(axis=1)
        j = np.where(reached, hit.argmax(axis=1), -1)
        s_next = np.where(reached, g, window[:, n])
        reward = np.where(j == 0, 0.0, -1.0) if convention == "start" else np.where(reached, 0.0, -1.0)
        cont = np.where(reached, 0.0, 1.0)
        tr = GoalTransitions(
            window[:, 0], np.full(i.size, g), s_next, reward, cont, j, np.ones(i.size), data.n_states, n, convention
        )
        parts.append(aggregate_transitions(tr))
    return GoalTransitions(
        *(
            np.concatenate([getattr(p, f) for p in parts])
            for f in ("s", "g", "s_next", "reward", "cont", "offset", "weight")
        ),
        data.n_states,
        n,
        convention,
    )
