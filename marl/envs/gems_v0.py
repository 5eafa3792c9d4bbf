"""A two-agent general-sum "gems" grid game (the MAMQL lab's task) with its exact Markov game.

Rules (a reconstruction of the Gems task of Haynam et al. 2025, arXiv:2503.04679, Sec. 5, at the
scale given in ``docs/papers/mamql.md``; the paper's layout is not public, this one is ours):

* Grid ``4 x 4``, cells ``c = y * 4 + x``. Agent ``"agent_0"`` (the model's row player) starts at
  ``(0, 0)``, ``"agent_1"`` at ``(3, 0)``. Both may stand on the same cell, so there are
  ``16 * 16 = 256`` joint states, ``s = c_0 * 16 + c_1``.
* Gems never disappear: agent 0's red gem at ``(3, 3)``, agent 1's blue gem at ``(0, 3)``, a shared
  green gem at ``(2, 1)``.
* Actions ``0..4`` = N, S, E, W, stay (N decreases ``y``). With probability ``slip`` (default 0.1) an
  agent's action is replaced by a uniformly random one; a move off the grid stays put. Both agents
  move simultaneously.
* Rewards after the move: ``+1`` to an agent standing on its own-coloured gem, ``+0.5`` to an agent on
  the shared gem, and ``-0.2`` to both when they end on the same cell (a collision).
* Infinite horizon, discount ``gamma`` (default 0.9); the environment truncates after ``max_cycles``.

Exported model (:func:`model`): a general-sum :class:`marl.MarkovGame` with ``S = 256``, ``5 x 5``
actions, CSR transitions, ``R[i, s, a0, a1]`` the expected reward of agent ``i`` for the joint action
(averaged over the slips). Observations: the joint state index (``Discrete(256)``, the same for both
agents); infos carry ``"state"``.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp
from gymnasium import spaces
from pettingzoo.utils import parallel_to_aec

from marl.envs._common import TwoPlayerParallelEnv, check_probability
from mdp._validation import check_index

__all__ = [
    "ACTIONS",
    "COLLISION",
    "GEMS",
    "N_STATES",
    "SHARED_GEM",
    "SIZE",
    "START",
    "decode_state",
    "env",
    "model",
    "parallel_env",
    "raw_env",
    "state_index",
]

SIZE = 4
N_CELLS = SIZE * SIZE
N_STATES = N_CELLS * N_CELLS  # 256
ACTIONS = ("N", "S", "E", "W", "stay")
_DELTA = ((0, -1), (0, 1), (1, 0), (-1, 0), (0, 0))
GEMS = ((3, 3), (0, 3))  # own-coloured gem of agent 0, of agent 1
SHARED_GEM = (2, 1)
START = ((0, 0), (3, 0))
OWN, SHARED, COLLISION = 1.0, 0.5, -0.2


def state_index(pos0, pos1) -> int:
    """Joint state of agent 0 at ``pos0`` and agent 1 at ``pos1`` (``(x, y)`` pairs on the 4 x 4 grid)."""
    cells = []
    for name, p in (("pos0", pos0), ("pos1", pos1)):
        try:
            x, y = (int(v) for v in p)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be an (x, y) pair of integers, got {p!r}") from None
        if not (0 <= x < SIZE and 0 <= y < SIZE):
            raise ValueError(f"{name} = {(x, y)} is off the {SIZE} x {SIZE} grid")
        cells.append(y * SIZE + x)
    return cells[0] * N_CELLS + cells[1]


def decode_state(s):
    """``((x0, y0), (x1, y1))`` of joint state ``s``."""
    c0, c1 = divmod(check_index(s, "s", N_STATES, what="state index"), N_CELLS)
    return (c0 % SIZE, c0 // SIZE), (c1 % SIZE, c1 // SIZE)


def _move(cell, a):
    x, y = cell % SIZE, cell // SIZE
    dx, dy = _DELTA[a]
    nx, ny = x + dx, y + dy
    return ny * SIZE + nx if (0 <= nx < SIZE and 0 <= ny < SIZE) else cell


_GEM_CELLS = tuple(y * SIZE + x for x, y in GEMS)
_SHARED_CELL = SHARED_GEM[1] * SIZE + SHARED_GEM[0]


def _rewards(c0, c1):
    r = [0.0, 0.0]
    for i, c in enumerate((c0, c1)):
        if c == _GEM_CELLS[i]:
            r[i] += OWN
        if c == _SHARED_CELL:
            r[i] += SHARED
    if c0 == c1:
        r[0] += COLLISION
        r[1] += COLLISION
    return r


@functools.lru_cache(maxsize=4)
def _tables(slip):
    K = len(ACTIONS)
    # distribution of the executed action given the intended one
    exec_p = np.full((K, K), slip / K) + (1.0 - slip) * np.eye(K)
    rows, cols, vals = [], [], []
    R = np.zeros((2, N_STATES, K, K))
    for s in range(N_STATES):
        c0, c1 = divmod(s, N_CELLS)
        nxt0 = [_move(c0, b) for b in range(K)]
        nxt1 = [_move(c1, b) for b in range(K)]
        for a0 in range(K):
            for a1 in range(K):
                out = {}
                for b0 in range(K):
                    for b1 in range(K):
                        p = exec_p[a0, b0] * exec_p[a1, b1]
                        if p == 0.0:
                            continue
                        n0, n1 = nxt0[b0], nxt1[b1]
                        t = n0 * N_CELLS + n1
                        out[t] = out.get(t, 0.0) + p
                        r = _rewards(n0, n1)
                        R[0, s, a0, a1] += p * r[0]
                        R[1, s, a0, a1] += p * r[1]
                row = (s * K + a0) * K + a1
                for t, p in out.items():
                    rows.append(row)
                    cols.append(t)
                    vals.append(p)
    P = sp.csr_matrix((vals, (rows, cols)), shape=(N_STATES * K * K, N_STATES))
    return P, R


def model(gamma: float = 0.9, *, slip: float = 0.1, sparse: bool = True):
    """The exact general-sum :class:`marl.MarkovGame` of the gems game (module docstring)."""
    from marl.model import MarkovGame

    slip = check_probability(slip, "slip")
    P, R = _tables(slip)
    if not sparse:
        P = P.toarray().reshape(N_STATES, len(ACTIONS), len(ACTIONS), N_STATES)
    return MarkovGame(P, R, gamma)


def start_distribution() -> np.ndarray:
    """``mu0``: all mass on the start state."""
    mu = np.zeros(N_STATES)
    mu[state_index(*START)] = 1.0
    return mu


class raw_env(TwoPlayerParallelEnv):
    """Two-agent gems, Parallel API. See the module docstring for the rules.

    Parameters
    ----------
    slip : float in [0, 1), default 0.1
    max_cycles : int or None, default 30
    render_mode : None or "ansi"
    """

    metadata = {"render_modes": ["ansi"], "name": "gems_v0", "is_parallelizable": True}
    possible_agents = ["agent_0", "agent_1"]

    def __init__(self, *, slip=0.1, max_cycles=30, render_mode=None):
        self.slip = check_probability(slip, "slip")
        self.n_states = N_STATES
        self._action_spaces = {a: spaces.Discrete(len(ACTIONS)) for a in self.possible_agents}
        self._observation_spaces = {a: spaces.Discrete(N_STATES) for a in self.possible_agents}
        super().__init__(max_cycles=max_cycles, render_mode=render_mode)

    def model(self, gamma: float = 0.9, *, sparse: bool = True):
        """The exact Markov game of this configuration (see :func:`model`)."""
        return model(gamma, slip=self.slip, sparse=sparse)

    def _sample_start(self, rng):
        return state_index(*START)

    def _sample_step(self, rng, s, a0, a1):
        K = len(ACTIONS)
        if self.slip > 0:
            if rng.random() < self.slip:
                a0 = int(rng.integers(K))
            if rng.random() < self.slip:
                a1 = int(rng.integers(K))
        c0, c1 = divmod(s, N_CELLS)
        n0, n1 = _move(c0, a0), _move(c1, a1)
        r = _rewards(n0, n1)
        return n0 * N_CELLS + n1, (r[0], r[1]), False, {"collision": n0 == n1}

    def _observe(self, s, agent):
        return np.int64(s)

    def _ansi(self, s):
        (x0, y0), (x1, y1) = decode_state(s)
        lines = []
        for y in range(SIZE):
            row = []
            for x in range(SIZE):
                c = (x, y)
                ch = "R" if c == GEMS[0] else "B" if c == GEMS[1] else "G" if c == SHARED_GEM else "."
                if c == (x0, y0) and c == (x1, y1):
                    ch = "X"
                elif c == (x0, y0):
                    ch = "0"
                elif c == (x1, y1):
                    ch = "1"
                row.append(ch)
            lines.append(" ".join(row))
        return "\n".join(lines)


def parallel_env(**kwargs):
    """Parallel-API gems; keyword arguments as :class:`raw_env`."""
    return raw_env(**kwargs)


def env(**kwargs):
    """AEC gems (:func:`pettingzoo.utils.parallel_to_aec` around :func:`parallel_env`)."""
    return parallel_to_aec(parallel_env(**kwargs))
