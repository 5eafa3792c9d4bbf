"""Shared machinery of the two-player PettingZoo environments of :mod:`marl.envs`.

:class:`TwoPlayerParallelEnv` implements the PettingZoo Parallel API (reset, step, spaces,
truncation at ``max_cycles``, ``render_mode`` ``None`` or ``"ansi"``, seeding by
``reset(seed=...)`` through one ``numpy.random.Generator``) for a game whose hidden state is a
single integer index into the exported :class:`marl.MarkovGame`. Subclasses supply the dynamics
(``_sample_start``, ``_sample_step``), the observation of a state and an ANSI picture.
"""

from __future__ import annotations

import warnings

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from mdp._validation import check_index, check_positive_int, check_real

__all__ = [
    "TwoPlayerParallelEnv",
    "check_max_cycles",
    "check_render_mode",
    "check_choice",
    "check_probability",
]

RENDER_MODES = ("ansi",)


def check_max_cycles(max_cycles, name: str = "max_cycles"):
    """``None`` (never truncate) or an integer ``>= 1``."""
    if max_cycles is None:
        return None
    return check_positive_int(max_cycles, name)


def check_render_mode(render_mode):
    if render_mode is not None and render_mode not in RENDER_MODES:
        raise ValueError(f"render_mode must be None or one of {RENDER_MODES}, got {render_mode!r}")
    return render_mode


def check_choice(value, name: str, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_probability(p, name: str):
    return check_real(p, name, "[0, 1)")


class TwoPlayerParallelEnv(ParallelEnv):
    """Two-player simultaneous-move environment driven by a finite state index.

    Subclasses set ``possible_agents`` (row player first), ``n_states``, ``_action_spaces``,
    ``_observation_spaces`` and implement:

    * ``_sample_start(rng) -> int``: a start state;
    * ``_sample_step(rng, s, a0, a1) -> (s_next, (r0, r1), terminal, info)``: one joint move,
      ``terminal`` ending the episode (goal/capture when so configured, a draw), ``info`` a dict
      merged into both agents' infos;
    * ``_observe(s, agent)``: the observation of ``agent`` in state ``s``;
    * ``_ansi(s) -> str``: a text picture.

    Every agent's ``infos`` entry carries ``"state"``: the index of the current state in the
    exported model (after the step).
    """

    metadata = {"render_modes": list(RENDER_MODES), "name": "two_player_v0", "is_parallelizable": True}

    def __init__(self, *, max_cycles=100, render_mode=None):
        self.max_cycles = check_max_cycles(max_cycles)
        self.render_mode = check_render_mode(render_mode)
        self._rng = None
        self._s = None
        self._t = 0
        self.agents = []
        self.state_space = spaces.Discrete(self.n_states)

    # ------------------------------------------------------------------ spaces
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

    # ------------------------------------------------------------------ API
    def reset(self, seed=None, options=None):
        """Start an episode: ``(observations, infos)``.

        ``seed`` re-seeds the environment's ``numpy.random.Generator``
        (``numpy.random.default_rng(seed)``); without it the generator carries on (it is created
        unseeded on the first reset). ``options={"state": s}`` starts from model state ``s``
        instead of the start distribution (the start draw is still made, so the random stream
        does not depend on the option); other option keys are ignored.
        """
        if seed is not None or self._rng is None:
            self._rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self._t = 0
        self._s = int(self._sample_start(self._rng))
        if options is not None and "state" in options:
            s = options["state"]
            self._s = check_index(s, "options['state']", self.n_states, what="state index")
        obs = {a: self._observe(self._s, a) for a in self.agents}
        infos = {a: {"state": self._s} for a in self.agents}
        return obs, infos

    def _action_of(self, actions, agent):
        if agent not in actions:
            raise ValueError(f"actions must hold an action for every live agent; {agent!r} is missing")
        a = actions[agent]
        n = self._action_spaces[agent].n
        if isinstance(a, np.ndarray) and a.shape == ():
            a = a.item()
        return check_index(a, f"action of {agent!r}", n)

    def step(self, actions):
        if self._s is None:
            raise RuntimeError("call reset() before step()")
        if not self.agents:
            raise RuntimeError("the episode has ended (all agents are done); call reset()")
        a0 = self._action_of(actions, self.possible_agents[0])
        a1 = self._action_of(actions, self.possible_agents[1])
        s_next, (r0, r1), terminal, info = self._sample_step(self._rng, self._s, a0, a1)
        self._s = int(s_next)
        self._t += 1
        truncated = (not terminal) and self.max_cycles is not None and self._t >= self.max_cycles
        agents = self.agents
        obs = {a: self._observe(self._s, a) for a in agents}
        rewards = {agents[0]: float(r0) + 0.0, agents[1]: float(r1) + 0.0}  # + 0.0: no -0.0
        terminations = {a: bool(terminal) for a in agents}
        truncations = {a: bool(truncated) for a in agents}
        infos = {a: {"state": self._s, **info} for a in agents}
        if terminal or truncated:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self):
        if self.render_mode is None:
            warnings.warn("render() called with render_mode=None; pass render_mode='ansi'", stacklevel=2)
            return None
        if self._s is None:
            return ""
        return self._ansi(self._s)

    def state(self):
        """The current state index (the exported model's numbering)."""
        if self._s is None:
            raise RuntimeError("call reset() before state()")
        return self._s

    def close(self):
        pass

    def __str__(self):
        return self.metadata["name"]

    # ------------------------------------------------------------------ hooks
    def _sample_start(self, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample_step(self, rng, s, a0, a1):  # pragma: no cover - abstract
        raise NotImplementedError

    def _observe(self, s, agent):  # pragma: no cover - abstract
        raise NotImplementedError

    def _ansi(self, s):  # pragma: no cover - abstract
        raise NotImplementedError
