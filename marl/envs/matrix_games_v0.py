"""Repeated two-player matrix games as a PettingZoo environment, with their exact Markov game.

``parallel_env(game="rps")`` plays the stage game ``game`` again and again: both players
(``"player_0"`` = row player, ``"player_1"`` = column player) choose simultaneously, each
receives its payoff, and play continues until truncation at ``max_cycles`` (default 100;
``None``: never). ``game`` is one of the names in :data:`GAMES` or any two-player
:class:`marl.MatrixGame` (also a ``(2, k1, k2)`` payoff array).

Built-in games (row player's payoff listed first; action names in :data:`ACTION_NAMES`):

* ``"matching_pennies"`` -- zero-sum, ``M = [[1, -1], [-1, 1]]`` (the row player wins on a
  match); value 0, both mix (1/2, 1/2).
* ``"rps"`` (alias ``"rock_paper_scissors"``) -- zero-sum, actions rock, paper, scissors,
  ``M[i, j] = +1`` if ``i`` beats ``j``, ``-1`` if it loses, 0 on a tie; value 0, uniform.
* ``"prisoners_dilemma"`` -- actions cooperate, defect; Axelrod's payoffs ``T = 5, R = 3,
  P = 1, S = 0`` (A = ``[[3, 0], [5, 1]]``, B = A^T); unique equilibrium (defect, defect).
* ``"battle_of_the_sexes"`` (alias ``"battle_of_sexes"``) -- actions opera, football;
  A = ``[[3, 0], [0, 2]]``, B = ``[[2, 0], [0, 3]]``; two pure equilibria and one mixed.
* ``"chicken"`` -- actions swerve, straight; A = ``[[0, -1], [1, -10]]``, B = A^T.
* ``"stag_hunt"`` -- actions stag, hare; A = ``[[4, 0], [3, 3]]``, B = A^T; pure equilibria
  (stag, stag) (payoff dominant) and (hare, hare) (risk dominant).

Observations (``obs_type``), identical for both players:

* ``"last_action"`` (default) -- ``Discrete(1 + k1 * k2)``: ``0`` before the first round, then
  ``1 + a1 * k2 + a2`` for the previous joint action ``(a1, a2)``;
* ``"constant"`` -- ``Discrete(1)``, always ``0``.

Both are ``numpy.int64``. The exported model (:func:`model`, ``env.unwrapped.model(gamma)``)
has exactly these observations as states: ``S = 1 + k1 * k2`` (memory-one, deterministic move
to the state of the joint action just played) or ``S = 1``; ``R[s] = `` the stage payoff in
every state. It is zero-sum (``R (S, k1, k2)``) when the stage game is, general-sum
(``(2, S, k1, k2)``) otherwise. The value of every state of a zero-sum repeated game is
``val(M) / (1 - gamma)`` (docs/papers/foundations.md section 6 table).
"""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from pettingzoo.utils import parallel_to_aec

from marl.envs._common import TwoPlayerParallelEnv, check_choice
from marl.model import MatrixGame

__all__ = ["GAMES", "ACTION_NAMES", "get_game", "model", "raw_env", "parallel_env", "env"]

_PD = np.array([[3.0, 0.0], [5.0, 1.0]])
_CHICKEN = np.array([[0.0, -1.0], [1.0, -10.0]])
_STAG = np.array([[4.0, 0.0], [3.0, 3.0]])

#: name -> (row payoffs A, column payoffs B)
_TABLES = {
    "matching_pennies": (np.array([[1.0, -1.0], [-1.0, 1.0]]), None),
    "rps": (np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]]), None),
    "prisoners_dilemma": (_PD, _PD.T),
    "battle_of_the_sexes": (np.array([[3.0, 0.0], [0.0, 2.0]]), np.array([[2.0, 0.0], [0.0, 3.0]])),
    "chicken": (_CHICKEN, _CHICKEN.T),
    "stag_hunt": (_STAG, _STAG.T),
}
_ALIASES = {"rock_paper_scissors": "rps", "battle_of_sexes": "battle_of_the_sexes"}

#: the built-in game names
GAMES = tuple(_TABLES)

#: per built-in game, the action names of (row, column) player
ACTION_NAMES = {
    "matching_pennies": (("heads", "tails"),) * 2,
    "rps": (("rock", "paper", "scissors"),) * 2,
    "prisoners_dilemma": (("cooperate", "defect"),) * 2,
    "battle_of_the_sexes": (("opera", "football"),) * 2,
    "chicken": (("swerve", "straight"),) * 2,
    "stag_hunt": (("stag", "hare"),) * 2,
}


def get_game(game) -> MatrixGame:
    """The two-player :class:`marl.MatrixGame` named ``game`` (see :data:`GAMES`), or ``game``
    itself validated as a two-player game (a ``MatrixGame`` or a ``(2, k1, k2)`` array)."""
    if isinstance(game, str):
        name = _ALIASES.get(game, game)
        if name not in _TABLES:
            raise ValueError(
                f"unknown game {game!r}; known games are {GAMES + tuple(_ALIASES)}, "
                "or pass a two-player marl.MatrixGame"
            )
        A, B = _TABLES[name]
        return MatrixGame.zero_sum(A) if B is None else MatrixGame.bimatrix(A, B)
    if not isinstance(game, MatrixGame):
        if isinstance(game, (list, tuple, np.ndarray)):
            game = MatrixGame(game)
        else:
            raise TypeError(
                f"game must be a game name, a marl.MatrixGame or a (2, k1, k2) array, got {type(game).__name__}"
            )
    if game.n_players != 2:
        raise ValueError(f"game must be a two-player game, got {game.n_players} players")
    return game


def _states(game, obs_type):
    k1, k2 = game.n_actions
    return 1 + k1 * k2 if obs_type == "last_action" else 1


def model(gamma: float = 0.9, *, game="rps", obs_type="last_action"):
    """The exact Markov game of the repeated game (states = the observations of ``obs_type``).

    Returns
    -------
    marl.MarkovGame
        Dense ``P (S, k1, k2, S)``; zero-sum ``R (S, k1, k2)`` or general-sum ``(2, S, k1, k2)``.
    """
    from marl.model import MarkovGame

    g = get_game(game)
    obs_type = check_choice(obs_type, "obs_type", ("last_action", "constant"))
    k1, k2 = g.n_actions
    S = _states(g, obs_type)
    P = np.zeros((S, k1, k2, S))
    if obs_type == "last_action":
        nxt = 1 + np.arange(k1)[:, None] * k2 + np.arange(k2)[None, :]
        for a1 in range(k1):
            for a2 in range(k2):
                P[:, a1, a2, nxt[a1, a2]] = 1.0
    else:
        P[..., 0] = 1.0
    if g.is_zero_sum:
        R = np.broadcast_to(g.A, (S, k1, k2))
    else:
        R = np.stack([np.broadcast_to(g.A, (S, k1, k2)), np.broadcast_to(g.B, (S, k1, k2))])
    return MarkovGame(P, R, gamma)


class raw_env(TwoPlayerParallelEnv):
    """A repeated two-player matrix game, Parallel API (see the module docstring).

    Parameters
    ----------
    game : str, marl.MatrixGame or array (2, k1, k2)
        Default ``"rps"``.
    max_cycles : int or None
        Rounds per episode (default 100; ``None``: never truncate).
    obs_type : {"last_action", "constant"}
    render_mode : None or "ansi"
    """

    metadata = {"render_modes": ["ansi"], "name": "matrix_games_v0", "is_parallelizable": True}
    possible_agents = ["player_0", "player_1"]

    def __init__(self, *, game="rps", max_cycles=100, obs_type="last_action", render_mode=None):
        self.game = get_game(game)
        self.game_name = _ALIASES.get(game, game) if isinstance(game, str) else None
        self.obs_type = check_choice(obs_type, "obs_type", ("last_action", "constant"))
        self.n_states = _states(self.game, self.obs_type)
        k1, k2 = self.game.n_actions
        self._action_spaces = dict(zip(self.possible_agents, (spaces.Discrete(k1), spaces.Discrete(k2))))
        self._observation_spaces = {a: spaces.Discrete(self.n_states) for a in self.possible_agents}
        self._last = None
        super().__init__(max_cycles=max_cycles, render_mode=render_mode)

    def model(self, gamma: float = 0.9):
        """The exact Markov game of this environment (:func:`model`)."""
        return model(gamma, game=self.game, obs_type=self.obs_type)

    def _sample_start(self, rng):
        self._last = None
        return 0

    def _sample_step(self, rng, s, a0, a1):
        self._last = (a0, a1)
        p = self.game.payoffs
        k2 = self.game.n_actions[1]
        s_next = 1 + a0 * k2 + a1 if self.obs_type == "last_action" else 0
        return s_next, (float(p[0, a0, a1]), float(p[1, a0, a1])), False, {}

    def _observe(self, s, agent):
        return np.int64(s)

    def _ansi(self, s):
        title = self.game_name or repr(self.game)
        if self._last is None:
            return f"{title}: no round played yet"
        a0, a1 = self._last
        names = ACTION_NAMES.get(self.game_name)
        n0, n1 = (names[0][a0], names[1][a1]) if names else (str(a0), str(a1))
        p = self.game.payoffs
        return f"{title}: player_0 played {n0}, player_1 played {n1}; payoffs ({p[0, a0, a1] + 0.0:g}, {p[1, a0, a1] + 0.0:g})"


def parallel_env(**kwargs):
    """Parallel-API repeated matrix game; keyword arguments as :class:`raw_env`."""
    return raw_env(**kwargs)


def env(**kwargs):
    """AEC repeated matrix game (:func:`pettingzoo.utils.parallel_to_aec` around :func:`parallel_env`)."""
    return parallel_to_aec(parallel_env(**kwargs))
