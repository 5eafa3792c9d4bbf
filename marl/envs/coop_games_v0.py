"""Cooperative n-agent games as a PettingZoo environment, with their exact model.

``parallel_env(game="climbing_penalty")`` plays a dense :class:`marl.bn.CooperativeGame`: every
agent (``"agent_0"``, ..., ``"agent_{n-1}"``) chooses an action simultaneously, all receive the
shared reward ``R[s, a_1, ..., a_n]`` and the hidden state moves to ``s' ~ P[s, a, :]``; episodes
start from ``s ~ rho`` and are truncated at ``max_cycles`` (default 25; ``None``: never). Every
agent observes the state index, ``Discrete(S)`` (``numpy.int64``); every info dict carries
``"state"``.

Built-in games (:data:`GAMES`):

* ``"climbing"``, ``"penalty"`` -- Claus & Boutilier's (1998) 3 x 3 coordination games repeated
  (one state; optimum 11, resp. 10 at two miscoordination-prone joint actions);
* ``"climbing_penalty"`` -- two states playing the climbing and the penalty payoffs, switching with
  probability 0.2 after equal action indices and 0.6 otherwise
  (:func:`marl.bn.climbing_penalty_game`).

``game`` may also be any dense :class:`marl.bn.CooperativeGame`. :func:`model` (and
``env.unwrapped.model()``) returns the exact game, with ``gamma`` as given (built-ins: 0.5 by
default), so a policy trained on the environment can be evaluated exactly.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv
from pettingzoo.utils import parallel_to_aec

from marl.envs._common import check_choice, check_max_cycles, check_render_mode
from mdp._common import draw_vector
from mdp._validation import check_index

__all__ = ["GAMES", "env", "get_game", "model", "parallel_env", "raw_env"]

#: Names of the built-in games :func:`get_game` accepts.
GAMES = ("climbing", "penalty", "climbing_penalty")


def get_game(game="climbing_penalty", gamma: float = 0.5):
    """The :class:`marl.bn.CooperativeGame` named ``game`` (see :data:`GAMES`), or ``game`` itself
    (a dense ``CooperativeGame``)."""
    from marl.bn import CooperativeGame
    from marl.bn.matrix import CLIMBING, PENALTY, climbing_penalty_game

    if isinstance(game, str):
        check_choice(game, "game", GAMES)
        if game == "climbing_penalty":
            return climbing_penalty_game(gamma)
        M = CLIMBING if game == "climbing" else PENALTY
        return CooperativeGame(np.ones((1, 3, 3, 1)), M[None], gamma)
    if not isinstance(game, CooperativeGame):
        raise TypeError(f"game must be one of {GAMES} or a marl.bn.CooperativeGame, got {type(game).__name__}")
    if game.is_sparse:
        raise ValueError("game must be a dense CooperativeGame (the environment samples rows of P)")
    return game


def model(game="climbing_penalty", gamma: float = 0.5):
    """The exact cooperative game played by ``parallel_env(game=game)``."""
    return get_game(game, gamma)


class raw_parallel_env(ParallelEnv):
    """See the module docstring."""

    metadata: ClassVar[dict] = {"render_modes": ["ansi"], "name": "coop_games_v0", "is_parallelizable": True}

    def __init__(self, game="climbing_penalty", *, gamma: float = 0.5, max_cycles=25, render_mode=None):
        self._game = get_game(game, gamma)
        self.max_cycles = check_max_cycles(max_cycles)
        self.render_mode = check_render_mode(render_mode)
        n = self._game.n_agents
        self.possible_agents = [f"agent_{i}" for i in range(n)]
        self.n_states = self._game.n_states
        self._action_spaces = {a: spaces.Discrete(k) for a, k in zip(self.possible_agents, self._game.n_actions)}
        self._observation_spaces = {a: spaces.Discrete(self.n_states) for a in self.possible_agents}
        self.state_space = spaces.Discrete(self.n_states)
        self._P = self._game.dense_joint_P()
        self._R = np.asarray(self._game.R).reshape(self.n_states, -1)
        self._mu = np.asarray(self._game.mu)
        self._rng = None
        self._s = None
        self._t = 0
        self.agents = []

    def model(self):
        """The exact :class:`marl.bn.CooperativeGame`."""
        return self._game

    def observation_space(self, agent):
        try:
            return self._observation_spaces[agent]
        except KeyError:
            raise ValueError(f"unknown agent {agent!r}; agents are {self.possible_agents}") from None

    def action_space(self, agent):
        try:
            return self._action_spaces[agent]
        except KeyError:
            raise ValueError(f"unknown agent {agent!r}; agents are {self.possible_agents}") from None

    _draw = staticmethod(draw_vector)  # the shared inverse-CDF draw

    def reset(self, seed=None, options=None):
        """Start an episode from ``s ~ rho``: ``(observations, infos)``; ``seed`` re-seeds the
        environment's ``numpy.random.Generator``."""
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._t = 0
        self._s = self._draw(self._mu, self._rng.random())
        obs = {a: np.int64(self._s) for a in self.agents}
        return obs, {a: {"state": self._s} for a in self.agents}

    def step(self, actions):
        if self._s is None:
            raise RuntimeError("call reset() before step()")
        if not self.agents:
            raise RuntimeError("the episode has ended (all agents are done); call reset()")
        acts = []
        for agent in self.possible_agents:
            if agent not in actions:
                raise ValueError(f"actions must hold an action for every live agent; {agent!r} is missing")
            a = actions[agent]
            if isinstance(a, np.ndarray) and a.shape == ():
                a = a.item()
            n = self._action_spaces[agent].n
            acts.append(check_index(a, f"action of {agent!r}", n))
        j = int(np.ravel_multi_index(tuple(acts), self._game.n_actions))
        r = float(self._R[self._s, j]) + 0.0
        self._s = self._draw(self._P[self._s, j], self._rng.random())
        self._t += 1
        truncated = self.max_cycles is not None and self._t >= self.max_cycles
        agents = self.agents
        obs = {a: np.int64(self._s) for a in agents}
        rewards = {a: r for a in agents}
        terminations = {a: False for a in agents}
        truncations = {a: bool(truncated) for a in agents}
        infos = {a: {"state": self._s} for a in agents}
        if truncated:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self):
        if self.render_mode is None:
            warnings.warn("render() called with render_mode=None; pass render_mode='ansi'", stacklevel=2)
            return None
        return "" if self._s is None else f"state {self._s}, step {self._t}"

    def state(self):
        if self._s is None:
            raise RuntimeError("call reset() before state()")
        return self._s

    def close(self):
        pass


def parallel_env(game="climbing_penalty", **kwargs):
    """Parallel-API environment (see the module docstring)."""
    return raw_parallel_env(game, **kwargs)


def raw_env(game="climbing_penalty", **kwargs):
    """AEC environment."""
    return parallel_to_aec(raw_parallel_env(game, **kwargs))


env = raw_env
