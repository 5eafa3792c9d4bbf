"""PettingZoo environments for the games of :mod:`marl` (this subpackage imports pettingzoo).

Each module follows the PettingZoo layout: ``parallel_env(**kw)`` (Parallel API),
``env(**kw)`` (AEC, through :func:`pettingzoo.utils.parallel_to_aec`) and ``raw_env``; each
environment exports its exact model as a :class:`marl.MarkovGame` (``module.model(...)`` and
``env.unwrapped.model(...)``) whose state index is the ``"state"`` entry of every info dict.

* :mod:`marl.envs.matrix_games_v0` -- repeated two-player matrix games (matching pennies,
  rock-paper-scissors, prisoner's dilemma, battle of the sexes, chicken, stag hunt, or any
  two-player :class:`marl.MatrixGame`).
* :mod:`marl.envs.soccer_v0` -- Littman's (1994) soccer.
* :mod:`marl.envs.pursuit_v0` -- a one-pursuer, one-evader grid pursuit game.
* :mod:`marl.envs.coop_games_v0` -- cooperative n-agent games (climbing, penalty, a 2-state
  climbing/penalty game, or any dense :class:`marl.bn.CooperativeGame`), exporting the
  ``CooperativeGame``.
* :mod:`marl.envs.gems_v0` -- a two-agent general-sum gems grid game (the MAMQL lab's task).
* :mod:`marl.envs.coop_grid_v0` -- a two-agent cooperative switch grid (the climbing game in
  space), exporting its ``CooperativeGame``.
"""

from __future__ import annotations

from marl.envs import coop_games_v0, coop_grid_v0, gems_v0, matrix_games_v0, pursuit_v0, soccer_v0

__all__ = ["matrix_games_v0", "pursuit_v0", "soccer_v0", "coop_games_v0", "gems_v0", "coop_grid_v0"]
