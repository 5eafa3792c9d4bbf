"""Littman's (1994) two-player soccer as a PettingZoo environment with its exact Markov game.

Conventions (docs/papers/foundations.md section 6, followed exactly):

* Grid ``5`` wide (``x = 0..4``) by ``4`` high (``y = 0..3``). Goal mouths are the rows
  ``y in {1, 2}`` on both sides.
* Player A (``"player_0"``, the row player of the model, maximiser) attacks the **left**: it
  scores by moving W out of ``x = 0`` while holding the ball in a goal-mouth row. Player B
  (``"player_1"``) attacks the **right**: it scores by moving E out of ``x = 4`` holding the
  ball in a goal-mouth row. Own goals are impossible.
* Kick-off: A at ``(3, 2)``, B at ``(1, 1)``; the ball goes to A or to B with probability 1/2
  at every reset (start of an episode and after every goal).
* Actions ``0..4`` = N, S, E, W, stand. N decreases ``y`` (row 0 is drawn at the top), S
  increases it, E increases ``x``, W decreases it. (The game is point-symmetric, so the
  orientation of N/S does not change any value.)
* The two moves are executed one after the other in a uniformly random order. A move into the
  square occupied by the other player does not happen, and if the mover held the ball the ball
  passes to the (stationary) other player. A move off the grid that is not a scoring move leaves
  the player in place. If the first mover scores, the second move is not executed.
* A goal pays ``+1`` (A scores) or ``-1`` (B scores) to A (zero-sum: B gets the negative) and
  resets the board. Discount ``0.9``, infinite horizon with resets.

Exported model (:func:`model`): a zero-sum :class:`marl.MarkovGame` with ``S = 760`` states,
``5 x 5`` actions, CSR transitions. ``R[s, a1, a2]`` is the *expected* immediate reward of the
joint move (``P(A scores) - P(B scores)``, each order having probability 1/2), and a goal moves
the game to the reset distribution (each kick-off state with probability 1/2). There is no
absorbing goal state.

State index: cells are numbered ``c = y * 5 + x`` (``0..19``);
``s = ball * 380 + c_A * 19 + (c_B if c_B < c_A else c_B - 1)`` with ``ball = 0`` when A holds
the ball and ``1`` when B does (:func:`state_index`, :func:`decode_state`).
``KICKOFF_STATES = (state with A's ball, state with B's ball)``.

Regression value (docs/papers/foundations.md section 6; reproduced with Shapley value iteration, sup-norm
change below 1e-10): ``V*(kick-off, A has ball) = +0.218484``, ``V*(kick-off, B has ball) =
-0.218484`` at ``gamma = 0.9``.

The environment itself (:func:`parallel_env`, :func:`env`) runs the same dynamics with a
``numpy.random.Generator`` seeded by ``reset(seed=...)``. Episode ends: truncation after
``max_cycles`` steps (``None``: never); ``terminate_on_goal=True`` ends the episode at the first
goal instead of resetting the board; ``draw_probability=p`` ends the episode as a draw (reward 0)
with probability ``p`` after every step without a goal (Littman 1994 used ``p = 0.1`` in
training). Neither option changes the exported model, which is the infinite-horizon game.

Observations (``obs_type``): ``"index"`` (default) -- ``Discrete(760)``, the model's state
index (a ``numpy.int64``), the same for both players; ``"positions"`` -- ``MultiDiscrete([5, 4, 5, 4, 2])``, the
array ``(x_A, y_A, x_B, y_B, ball)``. Infos carry ``"state"`` (the index), ``"goal"`` (``+1``,
``-1`` or ``0`` for the step) and ``"draw"`` (bool).

Reference: M. L. Littman, "Markov games as a framework for multi-agent reinforcement learning",
ICML 1994, section 6.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
from gymnasium import spaces
from pettingzoo.utils import parallel_to_aec

from marl.envs._common import TwoPlayerParallelEnv, check_choice, check_probability
from mdp._validation import check_index

__all__ = [
    "WIDTH",
    "HEIGHT",
    "N_STATES",
    "ACTIONS",
    "KICKOFF_STATES",
    "state_index",
    "decode_state",
    "swap_state",
    "swap_action",
    "model",
    "raw_env",
    "parallel_env",
    "env",
]

WIDTH, HEIGHT = 5, 4
GOAL_ROWS = (1, 2)
N_CELLS = WIDTH * HEIGHT
N_STATES = 2 * N_CELLS * (N_CELLS - 1)  # 760
ACTIONS = ("N", "S", "E", "W", "stand")
_DELTA = ((0, -1), (0, 1), (1, 0), (-1, 0), (0, 0))
START_A, START_B = (3, 2), (1, 1)
A, B = 0, 1


def _check_pos(pos, name):
    try:
        x, y = (int(v) for v in pos)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an (x, y) pair of integers, got {pos!r}") from None
    if not (0 <= x < WIDTH and 0 <= y < HEIGHT):
        raise ValueError(f"{name} = {(x, y)} is off the {WIDTH} x {HEIGHT} grid (x in 0..4, y in 0..3)")
    return x, y


def state_index(pos_a, pos_b, ball) -> int:
    """Index of the state with A at ``pos_a``, B at ``pos_b`` (``(x, y)`` pairs, distinct) and the
    ball with ``ball`` (``0`` or ``"A"`` for A, ``1`` or ``"B"`` for B)."""
    xa, ya = _check_pos(pos_a, "pos_a")
    xb, yb = _check_pos(pos_b, "pos_b")
    if (xa, ya) == (xb, yb):
        raise ValueError(f"pos_a and pos_b must differ (the players never share a square), both are {(xa, ya)}")
    ball = {"A": 0, "B": 1}.get(ball, ball)
    if ball not in (0, 1):
        raise ValueError(f"ball must be 0/'A' (A has the ball) or 1/'B', got {ball!r}")
    return _index(ya * WIDTH + xa, yb * WIDTH + xb, int(ball))


def _index(ca, cb, ball):
    return ball * (N_CELLS * (N_CELLS - 1)) + ca * (N_CELLS - 1) + (cb if cb < ca else cb - 1)


def _decode(s):
    ball, rest = divmod(s, N_CELLS * (N_CELLS - 1))
    ca, k = divmod(rest, N_CELLS - 1)
    cb = k if k < ca else k + 1
    return ca, cb, ball


def decode_state(s) -> tuple[tuple[int, int], tuple[int, int], int]:
    """``((x_A, y_A), (x_B, y_B), ball)`` of state index ``s`` (inverse of :func:`state_index`)."""
    ca, cb, ball = _decode(check_index(s, "s", N_STATES, what="state index"))
    return (ca % WIDTH, ca // WIDTH), (cb % WIDTH, cb // WIDTH), ball


KICKOFF_STATES = (state_index(START_A, START_B, 0), state_index(START_A, START_B, 1))


def _reflect(pos):
    return (WIDTH - 1 - pos[0], HEIGHT - 1 - pos[1])


def swap_state(s) -> int:
    """The state seen with the roles of A and B exchanged: positions reflected through the centre
    (``(x, y) -> (4 - x, 3 - y)``), players swapped, possession swapped. Maps A's kick-off with the
    ball to B's kick-off with the ball."""
    pa, pb, ball = decode_state(s)
    return state_index(_reflect(pb), _reflect(pa), 1 - ball)


def swap_action(a) -> int:
    """The action under the point reflection of :func:`swap_state`: N <-> S, E <-> W."""
    return (1, 0, 3, 2, 4)[int(a)]


def _move(pos, ball, mover, action):
    """Execute ``mover``'s move. ``pos`` is a list ``[pos_A, pos_B]``; returns
    ``(pos, ball, goal)`` with ``goal`` ``+1``/``-1``/``0``."""
    if action == 4:
        return pos, ball, 0
    other = 1 - mover
    x, y = pos[mover]
    dx, dy = _DELTA[action]
    nx, ny = x + dx, y + dy
    if not (0 <= nx < WIDTH and 0 <= ny < HEIGHT):
        if ball == mover and y in GOAL_ROWS:
            if mover == A and nx == -1:
                return pos, ball, 1
            if mover == B and nx == WIDTH:
                return pos, ball, -1
        return pos, ball, 0  # off the grid: stay (own goals impossible)
    if (nx, ny) == pos[other]:
        return pos, (other if ball == mover else ball), 0  # blocked; the ball goes to the stationary player
    pos = list(pos)
    pos[mover] = (nx, ny)
    return pos, ball, 0


def _joint_move(s, a0, a1, a_first):
    """Deterministic outcome of joint action ``(a0, a1)`` in state ``s`` when player
    ``a_first`` (0 = A, 1 = B) moves first: ``(goal, s_next)`` with ``s_next = None`` on a goal."""
    pa, pb, ball = decode_state(s)
    pos = [pa, pb]
    acts = (a0, a1)
    for mover in (a_first, 1 - a_first):
        pos, ball, goal = _move(pos, ball, mover, acts[mover])
        if goal:
            return goal, None
    return 0, state_index(pos[0], pos[1], ball)


@functools.lru_cache(maxsize=1)
def _tables():
    """CSR data ``(rows, cols, probs)`` and expected rewards ``R (S, 5, 5)`` of the game."""
    S, K = N_STATES, len(ACTIONS)
    rows, cols, probs = [], [], []
    R = np.zeros((S, K, K))
    for s in range(S):
        for a0 in range(K):
            for a1 in range(K):
                row = (s * K + a0) * K + a1
                out = {}
                for first in (A, B):
                    goal, s_next = _joint_move(s, a0, a1, first)
                    if goal:
                        R[s, a0, a1] += 0.5 * goal
                        for k in KICKOFF_STATES:
                            out[k] = out.get(k, 0.0) + 0.25
                    else:
                        out[s_next] = out.get(s_next, 0.0) + 0.5
                for t, p in out.items():
                    rows.append(row)
                    cols.append(t)
                    probs.append(p)
    R.setflags(write=False)
    return np.array(rows), np.array(cols), np.array(probs), R


def model(gamma: float = 0.9, *, sparse: bool = True):
    """The exact zero-sum Markov game of soccer (rewards to A, the row player).

    Parameters
    ----------
    gamma : float
        Discount in ``[0, 1)``; Littman (1994) used 0.9.
    sparse : bool
        CSR transitions ``(760 * 25, 760)`` (default) or dense ``(760, 5, 5, 760)``.

    Returns
    -------
    marl.MarkovGame
        ``S = 760``, ``A1 = A2 = 5``; see the module docstring for the state index, the
        expected-reward convention and the goal reset.
    """
    from marl.model import MarkovGame

    rows, cols, probs, R = _tables()
    S, K = N_STATES, len(ACTIONS)
    P = sp.csr_matrix((probs, (rows, cols)), shape=(S * K * K, S))
    if not sparse:
        P = P.toarray().reshape(S, K, K, S)
    return MarkovGame(P, R, gamma)


class raw_env(TwoPlayerParallelEnv):
    """Littman's soccer, Parallel API. See the module docstring for rules and options.

    Parameters
    ----------
    max_cycles : int or None
        Truncate the episode after this many joint steps (default 100; ``None``: never).
    terminate_on_goal : bool
        End the episode at the first goal (default ``False``: the board resets and play goes on,
        as in the exported infinite-horizon model).
    draw_probability : float
        Probability in ``[0, 1)`` that a step without a goal ends the episode as a draw
        (default 0; Littman 1994 trained with 0.1).
    obs_type : {"index", "positions"}
    render_mode : None or "ansi"
    """

    metadata = {"render_modes": ["ansi"], "name": "soccer_v0", "is_parallelizable": True}
    possible_agents = ["player_0", "player_1"]
    n_states = N_STATES

    def __init__(
        self, *, max_cycles=100, terminate_on_goal=False, draw_probability=0.0, obs_type="index", render_mode=None
    ):
        if not isinstance(terminate_on_goal, (bool, np.bool_)):
            raise TypeError(f"terminate_on_goal must be a bool, got {type(terminate_on_goal).__name__}")
        self.terminate_on_goal = bool(terminate_on_goal)
        self.draw_probability = check_probability(draw_probability, "draw_probability")
        self.obs_type = check_choice(obs_type, "obs_type", ("index", "positions"))
        self._action_spaces = {a: spaces.Discrete(len(ACTIONS)) for a in self.possible_agents}
        if self.obs_type == "index":
            obs = {a: spaces.Discrete(N_STATES) for a in self.possible_agents}
        else:
            obs = {a: spaces.MultiDiscrete([WIDTH, HEIGHT, WIDTH, HEIGHT, 2]) for a in self.possible_agents}
        self._observation_spaces = obs
        super().__init__(max_cycles=max_cycles, render_mode=render_mode)

    def model(self, gamma: float = 0.9, *, sparse: bool = True):
        """The exact Markov game (:func:`model`); the env options do not change it."""
        return model(gamma, sparse=sparse)

    def _sample_start(self, rng):
        return KICKOFF_STATES[int(rng.random() < 0.5)]

    def _sample_step(self, rng, s, a0, a1):
        first = A if rng.random() < 0.5 else B
        goal, s_next = _joint_move(s, a0, a1, first)
        draw = False
        if goal:
            s_next = self._sample_start(rng)
            terminal = self.terminate_on_goal
        else:
            draw = self.draw_probability > 0 and bool(rng.random() < self.draw_probability)
            terminal = draw
        return s_next, (goal, -goal), terminal, {"goal": goal, "draw": draw}

    def _observe(self, s, agent):
        if self.obs_type == "index":
            return np.int64(s)
        (xa, ya), (xb, yb), ball = decode_state(s)
        return np.array([xa, ya, xb, yb, ball], dtype=np.int64)

    def _ansi(self, s):
        (xa, ya), (xb, yb), ball = decode_state(s)
        lines = []
        for y in range(HEIGHT):
            row = []
            for x in range(WIDTH):
                if (x, y) == (xa, ya):
                    row.append("A" if ball == A else "a")
                elif (x, y) == (xb, yb):
                    row.append("B" if ball == B else "b")
                else:
                    row.append(".")
            edge = "|" if y in GOAL_ROWS else " "
            lines.append(edge + " ".join(row) + edge)
        lines.append("A scores left, B scores right; capital letter = ball")
        return "\n".join(lines)


def parallel_env(**kwargs):
    """Parallel-API soccer; keyword arguments as :class:`raw_env`."""
    return raw_env(**kwargs)


def env(**kwargs):
    """AEC soccer (:func:`pettingzoo.utils.parallel_to_aec` around :func:`parallel_env`)."""
    return parallel_to_aec(parallel_env(**kwargs))
