"""A two-agent cooperative switch grid (the climbing game in space), with its exact model.

Two agents (``"agent_0"``, ``"agent_1"``) walk on a ``size x size`` grid (rows numbered from the
top). Each step both choose simultaneously one of ``0`` stay, ``1`` up, ``2`` down, ``3`` left,
``4`` right; a move off the grid stays put, and both agents may share a cell. The top-left and the
top-right cells are two **switches**. The shared reward depends on the positions after the move:

* both switches held at once (one agent on each): ``reward`` (default 10), and both agents are
  sent back to their start cells (bottom-left for ``agent_0``, bottom-right for ``agent_1``);
* exactly one switch held (the lone agent is hit by the heavy lever; also when both stand on the
  same switch): ``penalty`` (default -5);
* otherwise both agents in the bottom row: the small safe reward ``safe`` (default 1);
* otherwise ``0``.

This is the structure of Claus & Boutilier's (1998) climbing game laid out in space: staying in
the bottom row is safe, the large reward needs both agents to walk up and step onto the switches
on the *same* step, and a lone arrival is punished. The hidden state is the pair of cells,
``s = c_0 * size**2 + c_1`` with ``c = row * size + column``; every agent observes ``s``
(``Discrete(size**4)``, ``numpy.int64``) and every info dict carries ``"state"``. Episodes start
from the start cells and are truncated at ``max_cycles`` (default 25; ``None``: never).

:func:`model` (and ``env.unwrapped.model()``) returns the exact dense :class:`marl.bn.CooperativeGame`
(``S = size**4`` states, ``5 x 5`` joint actions, ``gamma`` as given, default 0.9), so a policy
trained on the environment is evaluated exactly (the deep BN actor-critic of :mod:`marl.bn.torch`
does; see ``docs/papers/bn_marl.md``). The task is this project's construction, not the paper's.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from marl.envs.coop_games_v0 import raw_parallel_env as _CoopParallelEnv
from mdp._validation import check_gamma, check_positive_int, check_real

__all__ = ["MOVES", "env", "model", "parallel_env", "raw_env"]

#: Row and column offsets of the five actions (stay, up, down, left, right).
MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))


def _check_size(size):
    size = check_positive_int(size, "size")
    if not 2 <= size <= 5:
        raise ValueError(f"size must be an integer in 2..5 (the model has size**4 states), got {size}")
    return size


def model(size: int = 3, *, reward: float = 10.0, penalty: float = -5.0, safe: float = 1.0, gamma: float = 0.9):
    """The exact :class:`marl.bn.CooperativeGame` played by ``parallel_env(size, ...)``."""
    from marl.bn import CooperativeGame

    size = _check_size(size)
    reward = check_real(reward, "reward")
    penalty = check_real(penalty, "penalty")
    safe = check_real(safe, "safe")
    gamma = check_gamma(gamma)
    C = size * size
    S = C * C
    nxt = np.empty((size, size, 5), dtype=np.int64)
    for r in range(size):
        for c in range(size):
            for k, (dr, dc) in enumerate(MOVES):
                rr, cc = r + dr, c + dc
                nxt[r, c, k] = rr * size + cc if (0 <= rr < size and 0 <= cc < size) else r * size + c
    nxt = nxt.reshape(C, 5)
    switches = (0, size - 1)
    start = (size - 1) * size * C + (size * size - 1)  # agent_0 bottom-left, agent_1 bottom-right
    P = np.zeros((S, 5, 5, S))
    R = np.zeros((S, 5, 5))
    for s in range(S):
        c0, c1 = divmod(s, C)
        for a0 in range(5):
            n0 = nxt[c0, a0]
            for a1 in range(5):
                n1 = nxt[c1, a1]
                held = {n0, n1} & set(switches)
                if {n0, n1} == set(switches):
                    R[s, a0, a1], s2 = reward, start
                else:
                    s2 = n0 * C + n1
                    if held:
                        R[s, a0, a1] = penalty
                    elif n0 // size == size - 1 and n1 // size == size - 1:
                        R[s, a0, a1] = safe
                P[s, a0, a1, s2] = 1.0
    mu = np.zeros(S)
    mu[start] = 1.0
    return CooperativeGame(P, R, gamma, mu=mu)


class raw_parallel_env(_CoopParallelEnv):
    """See the module docstring."""

    metadata: ClassVar[dict] = {"render_modes": ["ansi"], "name": "coop_grid_v0", "is_parallelizable": True}

    def __init__(
        self,
        size: int = 3,
        *,
        reward: float = 10.0,
        penalty: float = -5.0,
        safe: float = 1.0,
        gamma: float = 0.9,
        max_cycles=25,
        render_mode=None,
    ):
        self.size = _check_size(size)
        game = model(self.size, reward=reward, penalty=penalty, safe=safe, gamma=gamma)
        super().__init__(game, gamma=gamma, max_cycles=max_cycles, render_mode=render_mode)

    def render(self):
        out = super().render()
        if not out:
            return out
        n, C = self.size, self.size * self.size
        c0, c1 = divmod(self._s, C)
        rows = []
        for r in range(n):
            row = ""
            for c in range(n):
                k = r * n + c
                ch = "S" if r == 0 and c in (0, n - 1) else "."
                ch = "B" if k == c0 == c1 else ("0" if k == c0 else ("1" if k == c1 else ch))
                row += ch
            rows.append(row)
        return "\n".join(rows) + f"\n{out}"

    def __str__(self):
        return self.metadata["name"]


def parallel_env(size: int = 3, **kwargs):
    """Parallel-API environment (see the module docstring)."""
    return raw_parallel_env(size, **kwargs)


def raw_env(size: int = 3, **kwargs):
    """AEC environment."""
    from pettingzoo.utils import parallel_to_aec

    return parallel_to_aec(raw_parallel_env(size, **kwargs))


env = raw_env
