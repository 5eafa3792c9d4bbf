"""Hu & Wellman's grid games as general-sum Markov games.

Hu & Wellman, "Nash Q-learning for general-sum stochastic games", JMLR 4 (2003), Sec. 5.1 and
Fig. 4: two agents on a 3 x 3 grid move simultaneously; reaching one's goal pays 100, bumping into
each other costs 1 and leaves both where they were. Grid Game 1 (GG1) has crossing goals, Grid Game
2 (GG2) a common goal behind two probabilistic barriers. The paper describes the games in words;
the conventions below pin down every detail so that the model is a finite discounted
:class:`marl.MarkovGame` (``R`` of shape ``(2, S, 4, 4)``).

Conventions
-----------
* Cells ``(row, col)`` with ``row = 0`` at the top; cell index ``3 * row + col``.
* Actions of both agents: ``0 = up``, ``1 = down``, ``2 = left``, ``3 = right`` (the paper's four
  moves; there is no "stay" action).
* Agent 0 is the row player and starts bottom-left ``(2, 0)``; agent 1 is the column player and
  starts bottom-right ``(2, 2)``. GG1 goals: agent 0 top-right ``(0, 2)``, agent 1 top-left
  ``(0, 0)``. GG2: common goal top-centre ``(0, 1)`` for both.
* Each agent's *intended* cell: a move off the grid leaves it in place (no penalty). GG2 only: a
  move ``up`` from a bottom corner (``(2, 0)`` or ``(2, 2)``) crosses the barrier with probability
  ``barrier_prob = 0.5`` and otherwise leaves the agent in place; the two agents' barrier draws are
  independent.
* Collision: if the two intended cells are equal, both agents stay where they were and each gets
  ``-1``. Exception: in GG2 both may enter the common goal together. Agents may swap cells (moving
  through each other is not a collision), and a move into the cell the other agent is leaving is
  allowed. In GG1 a goal cell is an ordinary cell for the other agent (entering it together is a
  collision).
* Reaching one's goal pays ``+100`` to that agent (both, if both arrive in the same step) and the
  game *resets*: the next state is the start state. The paper ends the episode there; resetting
  keeps the discounted game infinite-horizon without an absorbing state, so values count all
  future rounds. A collision penalty and a goal reward never happen in the same step.
* States are the pairs ``(cell_0, cell_1)`` with ``cell_0 != cell_1`` and no agent on its own goal
  (goal positions are never occupied: they reset at once): 57 states in GG1, 56 in GG2,
  enumerated in lexicographic order of ``(cell_0, cell_1)``; :class:`GridLayout` encodes/decodes.
* Default discount ``gamma = 0.99`` as in the paper's experiments.

Under these conventions the paper's Nash equilibrium paths (GG1: both reach their goals in 4
moves without meeting; GG2: one agent goes through its barrier, the other steps to the bottom
centre first) are paths of deterministic stationary equilibria.
"""

from __future__ import annotations

import numpy as np

from marl.model import MarkovGame
from mdp._common import result
from mdp._validation import check_gamma

__all__ = ["GridLayout", "grid_layout", "grid_game", "ACTIONS"]

ACTIONS = ("up", "down", "left", "right")
_MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))
GOAL_REWARD = 100.0
COLLISION_REWARD = -1.0


@result
class GridLayout:
    """State encoding and one-step dynamics of a grid game.

    Attributes
    ----------
    number : int
        1 or 2.
    states : tuple of ((int, int), (int, int))
        ``states[s] = (cell_0, cell_1)``, cells as ``(row, col)``.
    start : int
        Index of the start state ``((2, 0), (2, 2))``.
    goals : tuple of (int, int)
        ``goals[i]`` is agent ``i``'s goal cell.
    barrier_prob : float
        Probability of crossing a GG2 barrier (unused in GG1).
    """

    number: int
    states: tuple
    start: int
    goals: tuple
    barrier_prob: float

    @property
    def n_states(self) -> int:
        return len(self.states)

    def encode(self, cell_0, cell_1) -> int:
        """State index of the positions ``cell_0``, ``cell_1`` (each ``(row, col)``)."""
        key = (tuple(int(c) for c in cell_0), tuple(int(c) for c in cell_1))
        try:
            return self.states.index(key)
        except ValueError:
            raise ValueError(
                f"{key} is not a state of grid game {self.number}: cells must be distinct, on the "
                f"3x3 grid, and no agent may stand on its own goal {self.goals}"
            ) from None

    def decode(self, s: int):
        """``(cell_0, cell_1)`` of state index ``s``."""
        if not 0 <= int(s) < len(self.states):
            raise ValueError(f"state index must lie in 0..{len(self.states) - 1}, got {s}")
        return self.states[int(s)]

    def outcomes(self, s: int, a0: int, a1: int):
        """All outcomes of joint action ``(a0, a1)`` in state ``s``.

        Returns a list of ``(prob, next_state, (r0, r1), collided, reached)`` where ``reached`` is
        a pair of booleans (who reached its goal; a goal resets to ``start``).
        """
        c0, c1 = self.decode(s)
        out = []
        for p0, n0 in self._intended(c0, a0):
            for p1, n1 in self._intended(c1, a1):
                prob = p0 * p1
                common_goal = self.number == 2 and n0 == n1 == self.goals[0]
                if n0 == n1 and not common_goal:
                    out.append((prob, s, (COLLISION_REWARD, COLLISION_REWARD), True, (False, False)))
                    continue
                reached = (n0 == self.goals[0], n1 == self.goals[1])
                r = (GOAL_REWARD * reached[0], GOAL_REWARD * reached[1])
                nxt = self.start if any(reached) else self.encode(n0, n1)
                out.append((prob, nxt, r, False, reached))
        return out

    def _intended(self, cell, a):
        r, c = cell
        dr, dc = _MOVES[a]
        nr, nc = r + dr, c + dc
        if not (0 <= nr < 3 and 0 <= nc < 3):
            return [(1.0, cell)]
        if self.number == 2 and a == 0 and r == 2 and c in (0, 2):
            return [(self.barrier_prob, (nr, nc)), (1.0 - self.barrier_prob, cell)]
        return [(1.0, (nr, nc))]


def grid_layout(number: int, *, barrier_prob: float = 0.5) -> GridLayout:
    """The :class:`GridLayout` of Grid Game ``number`` (1 or 2); see the module conventions."""
    if number not in (1, 2) or isinstance(number, bool):
        raise ValueError(f"number must be 1 or 2 (Hu & Wellman's Grid Game 1 or 2), got {number!r}")
    bp = check_gamma(barrier_prob, "barrier_prob", allow_one=True)
    goals = ((0, 2), (0, 0)) if number == 1 else ((0, 1), (0, 1))
    cells = [(r, c) for r in range(3) for c in range(3)]
    states = tuple((c0, c1) for c0 in cells for c1 in cells if c0 != c1 and c0 != goals[0] and c1 != goals[1])
    start = states.index(((2, 0), (2, 2)))
    return GridLayout(number=number, states=states, start=start, goals=goals, barrier_prob=bp)


def grid_game(number: int, gamma: float = 0.99, *, barrier_prob: float = 0.5) -> MarkovGame:
    """Hu & Wellman's (JMLR 2003) Grid Game 1 or 2 as a general-sum :class:`marl.MarkovGame`.

    Parameters
    ----------
    number : {1, 2}
        GG1 (crossing goals) or GG2 (common goal, barriers).
    gamma : float, default 0.99
        Discount (the paper's value).
    barrier_prob : float, default 0.5
        GG2: probability that an ``up`` move from a bottom corner crosses the barrier.

    Returns
    -------
    MarkovGame
        Dense ``P`` ``(S, 4, 4, S)``, ``R`` ``(2, S, 4, 4)`` holding the *expected* reward of each
        joint action (GG2 barrier draws average the goal reward); ``S = 57`` (GG1) or ``56`` (GG2).
        The state encoding is :func:`grid_layout`'s (start state ``grid_layout(number).start``).

    Examples
    --------
    >>> g = grid_game(1)
    >>> g.n_states, g.n_actions, g.is_zero_sum
    (57, (4, 4), False)
    """
    layout = grid_layout(number, barrier_prob=barrier_prob)
    gamma = check_gamma(gamma)
    S = layout.n_states
    P = np.zeros((S, 4, 4, S))
    R = np.zeros((2, S, 4, 4))
    for s in range(S):
        for a0 in range(4):
            for a1 in range(4):
                for prob, nxt, r, _, _ in layout.outcomes(s, a0, a1):
                    P[s, a0, a1, nxt] += prob
                    R[0, s, a0, a1] += prob * r[0]
                    R[1, s, a0, a1] += prob * r[1]
    return MarkovGame(P, R, gamma)
