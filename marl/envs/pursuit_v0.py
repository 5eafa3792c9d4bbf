"""A one-pursuer, one-evader grid pursuit game (zero-sum) with its exact Markov game.

Rules:

* A ``width x height`` grid (default ``4 x 4``), bounded (default) or a torus (``torus=True``:
  moves off one edge re-enter on the opposite edge), with optional wall cells (``walls``, a
  sequence of ``(x, y)``) that nobody may enter.
* Player ``"pursuer_0"`` (the model's row player, maximiser) and ``"evader_0"`` (column player)
  move **simultaneously**; actions ``0..4`` = N, S, E, W, stand (N decreases ``y``). A move off a
  bounded grid or into a wall leaves the player in place.
* Slip: with probability ``slip`` (default 0.1) each player's action is independently replaced
  by a uniformly random action (possibly the same one). Without slip the game on an open bounded
  grid (no walls) is a sure escape, value 0 in every state: the evader stays put while the pursuer is
  at distance >= 2 and otherwise steps to a cell at distance 2 from the pursuer's current cell
  (the cell opposite the pursuer or a side cell; one exists on any grid at least 2 wide and 2
  high), where the pursuer can neither land nor swap. Walls that form dead ends make captures
  forced (e.g. an evader at the closed end of a one-cell-wide corridor with the pursuer next to
  it is caught for sure). The default ``slip = 0.1`` makes the open game non-trivial
  (``V*(start) = 0.215413`` on the default ``4 x 4`` grid at ``gamma = 0.9``, Shapley iteration).
* Capture: after the joint move the two players are on the same cell, or they swapped cells
  (crossed on an edge). A capture pays ``+1`` to the pursuer and ``-1`` to the evader and restarts
  the game from the start distribution. Otherwise the reward is 0.
* Start distribution (``start``): ``"corners"`` (default; pursuer at ``(0, 0)``, evader at
  ``(width - 1, height - 1)``), ``"uniform"`` (uniform over all states, i.e. all ordered pairs
  of distinct free cells), or an explicit pair ``((x_p, y_p), (x_e, y_e))``.

Exported model (:func:`model`): a zero-sum :class:`marl.MarkovGame`, rewards to the pursuer,
CSR transitions, ``S = F (F - 1)`` states for ``F`` free cells (``240`` on the default empty
``4 x 4`` grid, ``600`` on ``5 x 5``). ``R[s, a1, a2]`` is the capture probability of the joint
move (slip included) and a capture leads to the start distribution (no absorbing state).
With discount ``gamma`` the pursuer's value is the expected discounted number of captures.

State index: free cells are numbered in row-major order (``y`` then ``x``) skipping walls,
``f = 0..F-1``; ``s = f_p (F - 1) + (f_e if f_e < f_p else f_e - 1)`` (:meth:`raw_env.state_index`,
:meth:`raw_env.decode_state`).

Episode ends in the environment: truncation after ``max_cycles`` steps (``None``: never);
``terminate_on_capture=True`` ends the episode at the first capture instead of restarting
(the model is unchanged). Observations (``obs_type``): ``"index"`` (default,
``Discrete(S)``, a ``numpy.int64``) or ``"positions"`` (``MultiDiscrete([w, h, w, h])``, the array
``(x_p, y_p, x_e, y_e)``); both players see the same. Infos carry ``"state"`` and ``"capture"``.
"""

from __future__ import annotations

import functools
import numbers

import numpy as np
import scipy.sparse as sp
from gymnasium import spaces
from pettingzoo.utils import parallel_to_aec

from marl.envs._common import TwoPlayerParallelEnv, check_choice, check_probability
from mdp._validation import check_index, check_positive_int

__all__ = ["ACTIONS", "model", "raw_env", "parallel_env", "env"]

ACTIONS = ("N", "S", "E", "W", "stand")
_DELTA = ((0, -1), (0, 1), (1, 0), (-1, 0), (0, 0))


def _check_size(v, name):
    return check_positive_int(v, name, minimum=2)


def _check_cell(c, name, width, height):
    try:
        x, y = (v for v in c)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an (x, y) pair of integers, got {c!r}") from None
    if any(isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)) for v in (x, y)):
        raise TypeError(f"{name} must be an (x, y) pair of integers, got {c!r}")
    x, y = int(x), int(y)
    if not (0 <= x < width and 0 <= y < height):
        raise ValueError(f"{name} = {(x, y)} is off the {width} x {height} grid")
    return x, y


class _Layout:
    """Grid geometry, state numbering and the deterministic joint move."""

    def __init__(self, width, height, torus, walls, start):
        self.width = _check_size(width, "width")
        self.height = _check_size(height, "height")
        if not isinstance(torus, (bool, np.bool_)):
            raise TypeError(f"torus must be a bool, got {type(torus).__name__}")
        self.torus = bool(torus)
        if walls is None:
            walls = ()
        if isinstance(walls, (str, bytes)):
            raise TypeError("walls must be a sequence of (x, y) cells")
        self.walls = frozenset(_check_cell(c, f"walls[{i}]", self.width, self.height) for i, c in enumerate(walls))
        self.free = [(x, y) for y in range(self.height) for x in range(self.width) if (x, y) not in self.walls]
        self.F = len(self.free)
        if self.F < 2:
            raise ValueError(f"walls leave {self.F} free cell(s); the game needs at least 2")
        self.cell_id = {c: i for i, c in enumerate(self.free)}
        self.n_states = self.F * (self.F - 1)
        if isinstance(start, str):
            start = check_choice(start, "start", ("corners", "uniform"))
            if start == "corners":
                p, e = (0, 0), (self.width - 1, self.height - 1)
                for name, c in (("pursuer corner (0, 0)", p), (f"evader corner {e}", e)):
                    if c in self.walls:
                        raise ValueError(f"start='corners' needs free corners, but the {name} is a wall")
                self.start_states = np.array([self.index(p, e)])
            else:
                self.start_states = np.arange(self.n_states)
        else:
            try:
                p, e = start
            except (TypeError, ValueError):
                raise TypeError("start must be 'corners', 'uniform' or a pair ((x_p, y_p), (x_e, y_e))") from None
            p = _check_cell(p, "start[0] (pursuer)", self.width, self.height)
            e = _check_cell(e, "start[1] (evader)", self.width, self.height)
            for name, c in (("start[0] (pursuer)", p), ("start[1] (evader)", e)):
                if c in self.walls:
                    raise ValueError(f"{name} = {c} is a wall")
            if p == e:
                raise ValueError(f"start cells must differ, both are {p}")
            self.start_states = np.array([self.index(p, e)])

    def index(self, p, e):
        fp, fe = self.cell_id[p], self.cell_id[e]
        return fp * (self.F - 1) + (fe if fe < fp else fe - 1)

    def decode(self, s):
        fp, k = divmod(int(s), self.F - 1)
        fe = k if k < fp else k + 1
        return self.free[fp], self.free[fe]

    def move(self, c, a):
        dx, dy = _DELTA[a]
        x, y = c[0] + dx, c[1] + dy
        if self.torus:
            x, y = x % self.width, y % self.height
        elif not (0 <= x < self.width and 0 <= y < self.height):
            return c
        return c if (x, y) in self.walls else (x, y)

    def joint_move(self, s, a0, a1):
        """``(captured, s_next)`` for executed actions ``(a0, a1)``; ``s_next`` is None on capture."""
        p, e = self.decode(s)
        p2, e2 = self.move(p, a0), self.move(e, a1)
        if p2 == e2 or (p2 == e and e2 == p):
            return True, None
        return False, self.index(p2, e2)


@functools.lru_cache(maxsize=8)
def _tables(width, height, torus, walls, start, slip):
    """``(P, R)``: CSR transitions ``(S * 25, S)`` (read-only cache, copied by the caller) and
    the expected rewards ``R (S, 5, 5)`` (the capture probabilities).

    With ``D`` the deterministic successor of each executed joint action and ``W = w (x) w`` the
    slip mixing (``w[a, b]``: probability of executing ``b`` when ``a`` was chosen), each state's
    block of rows is ``W @ D``; capture mass goes to the start distribution.
    """
    lay = _Layout(width, height, torus, walls, start)
    S, K = lay.n_states, len(ACTIONS)
    w = np.full((K, K), slip / K) + (1.0 - slip) * np.eye(K)
    succ = np.empty(S * K * K, dtype=np.int64)  # -1 = capture
    for s in range(S):
        for b0 in range(K):
            for b1 in range(K):
                cap, t = lay.joint_move(s, b0, b1)
                succ[(s * K + b0) * K + b1] = -1 if cap else t
    captured = succ < 0
    keep = np.flatnonzero(~captured)
    D = sp.csr_matrix((np.ones(keep.size), (keep, succ[keep])), shape=(S * K * K, S))
    W = sp.kron(sp.identity(S, format="csr"), sp.csr_matrix(np.kron(w, w)), format="csr")
    cap = W @ captured.astype(np.float64)  # capture probability of each (s, a0, a1)
    start_dist = np.zeros(S)
    start_dist[lay.start_states] = 1.0 / lay.start_states.size
    rows = np.flatnonzero(cap > 0)
    restart = sp.csr_matrix(
        (
            np.outer(cap[rows], start_dist[lay.start_states]).ravel(),
            (np.repeat(rows, lay.start_states.size), np.tile(lay.start_states, rows.size)),
        ),
        shape=(S * K * K, S),
    )
    P = (W @ D + restart).tocsr()
    P.sum_duplicates()
    P.eliminate_zeros()
    R = cap.reshape(S, K, K)
    R.setflags(write=False)
    return P, R


def _normalise(width, height, torus, walls, start, slip):
    """Validated, hashable form of the game parameters (used as the model cache key)."""
    lay = _Layout(width, height, torus, walls, start)
    if not isinstance(start, str):
        start = tuple(tuple(int(v) for v in c) for c in start)
    return lay, (lay.width, lay.height, lay.torus, tuple(sorted(lay.walls)), start, check_probability(slip, "slip"))


def model(
    gamma: float = 0.9, *, width=4, height=4, torus=False, walls=(), start="corners", slip=0.1, sparse: bool = True
):
    """The exact zero-sum Markov game of pursuit (rewards to the pursuer, the row player).

    Parameters as :class:`raw_env` (the episode options do not enter the model) plus ``gamma``
    (discount in ``[0, 1)``) and ``sparse`` (CSR ``(S * 25, S)`` transitions, default, or dense
    ``(S, 5, 5, S)``).

    Returns
    -------
    marl.MarkovGame
        ``S = F (F - 1)`` states, ``5 x 5`` actions; see the module docstring.
    """
    from marl.model import MarkovGame

    _, key = _normalise(width, height, torus, walls, start, slip)
    P, R = _tables(*key)
    S, K = R.shape[0], len(ACTIONS)
    P = P.toarray().reshape(S, K, K, S) if not sparse else P.copy()
    return MarkovGame(P, R, gamma)


class raw_env(TwoPlayerParallelEnv):
    """Grid pursuit, Parallel API. See the module docstring for the rules.

    The validated configuration is kept in ``width``, ``height``, ``torus``, ``walls`` (sorted
    tuple), ``start`` and ``slip``.

    Parameters
    ----------
    width, height : int
        Grid size, each ``>= 2`` (default 4 x 4).
    torus : bool
        Wrap around the edges (default ``False``: bounded grid).
    walls : sequence of (x, y)
        Blocked cells (default none).
    start : "corners", "uniform" or ((x_p, y_p), (x_e, y_e))
    slip : float
        Probability in ``[0, 1)`` that a player's action is replaced by a uniform random one
        (default 0.1; 0 makes the open-grid game a sure escape, see the module docstring).
    max_cycles : int or None
        Truncation (default 100; ``None``: never).
    terminate_on_capture : bool
        End the episode at the first capture (default ``False``: restart and play on).
    obs_type : {"index", "positions"}
    render_mode : None or "ansi"
    """

    metadata = {"render_modes": ["ansi"], "name": "pursuit_v0", "is_parallelizable": True}
    possible_agents = ["pursuer_0", "evader_0"]

    def __init__(
        self,
        *,
        width=4,
        height=4,
        torus=False,
        walls=(),
        start="corners",
        slip=0.1,
        max_cycles=100,
        terminate_on_capture=False,
        obs_type="index",
        render_mode=None,
    ):
        self._layout, self._key = _normalise(width, height, torus, walls, start, slip)
        self.width, self.height, self.torus, self.walls, self.start, self.slip = self._key
        if not isinstance(terminate_on_capture, (bool, np.bool_)):
            raise TypeError(f"terminate_on_capture must be a bool, got {type(terminate_on_capture).__name__}")
        self.terminate_on_capture = bool(terminate_on_capture)
        self.obs_type = check_choice(obs_type, "obs_type", ("index", "positions"))
        self.n_states = self._layout.n_states
        lay = self._layout
        self._action_spaces = {a: spaces.Discrete(len(ACTIONS)) for a in self.possible_agents}
        if self.obs_type == "index":
            obs = {a: spaces.Discrete(self.n_states) for a in self.possible_agents}
        else:
            obs = {
                a: spaces.MultiDiscrete([lay.width, lay.height, lay.width, lay.height]) for a in self.possible_agents
            }
        self._observation_spaces = obs
        super().__init__(max_cycles=max_cycles, render_mode=render_mode)

    # ------------------------------------------------------------------ model
    def model(self, gamma: float = 0.9, *, sparse: bool = True):
        """The exact Markov game of this configuration (see :func:`model`)."""
        width, height, torus, walls, start, slip = self._key
        return model(gamma, width=width, height=height, torus=torus, walls=walls, start=start, slip=slip, sparse=sparse)

    def state_index(self, pursuer, evader) -> int:
        """Model state index of pursuer at ``pursuer`` and evader at ``evader`` (``(x, y)`` pairs)."""
        lay = self._layout
        p = _check_cell(pursuer, "pursuer", lay.width, lay.height)
        e = _check_cell(evader, "evader", lay.width, lay.height)
        for name, c in (("pursuer", p), ("evader", e)):
            if c in lay.walls:
                raise ValueError(f"{name} = {c} is a wall")
        if p == e:
            raise ValueError(f"pursuer and evader must be on different cells, both are {p}")
        return lay.index(p, e)

    def decode_state(self, s):
        """``((x_p, y_p), (x_e, y_e))`` of state index ``s``."""
        return self._layout.decode(check_index(s, "s", self.n_states, what="state index"))

    @property
    def start_states(self) -> np.ndarray:
        """State indices of the (uniform) start distribution."""
        return self._layout.start_states.copy()

    # ------------------------------------------------------------------ hooks
    def _sample_start(self, rng):
        st = self._layout.start_states
        return int(st[0]) if st.size == 1 else int(st[rng.integers(st.size)])

    def _sample_step(self, rng, s, a0, a1):
        K = len(ACTIONS)
        if self.slip > 0:
            if rng.random() < self.slip:
                a0 = int(rng.integers(K))
            if rng.random() < self.slip:
                a1 = int(rng.integers(K))
        captured, s_next = self._layout.joint_move(s, a0, a1)
        if captured:
            s_next = self._sample_start(rng)
        r = 1.0 if captured else 0.0
        return s_next, (r, -r), captured and self.terminate_on_capture, {"capture": captured}

    def _observe(self, s, agent):
        if self.obs_type == "index":
            return np.int64(s)
        (xp, yp), (xe, ye) = self._layout.decode(s)
        return np.array([xp, yp, xe, ye], dtype=np.int64)

    def _ansi(self, s):
        lay = self._layout
        p, e = lay.decode(s)
        lines = []
        for y in range(lay.height):
            row = []
            for x in range(lay.width):
                c = (x, y)
                row.append("P" if c == p else "E" if c == e else "#" if c in lay.walls else ".")
            lines.append(" ".join(row))
        return "\n".join(lines)


def parallel_env(**kwargs):
    """Parallel-API pursuit; keyword arguments as :class:`raw_env`."""
    return raw_env(**kwargs)


def env(**kwargs):
    """AEC pursuit (:func:`pettingzoo.utils.parallel_to_aec` around :func:`parallel_env`)."""
    return parallel_to_aec(parallel_env(**kwargs))
