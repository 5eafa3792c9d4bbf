"""Goal-conditioned deterministic MDPs, exact shortest-path distances and goal-conditioned values.

A :class:`GoalMDP` is a deterministic finite MDP ``next_state[s, a]`` whose goals are its states:
the task "reach ``g``" pays ``-1`` per step until the agent stands on ``g`` (sparse reward of HIQL and
OTA, ``docs/papers/ota.md``; HECRL's low level uses the same reward, ``docs/papers/hecrl.md``). With
``d = d*(s, g)`` the shortest-path distance (breadth-first search, :mod:`scipy.sparse.csgraph`),
the optimal goal-conditioned value is

    V*(s, g) = -(1 - gamma^d) / (1 - gamma)          (d = inf: -1 / (1 - gamma)),

the fixed point of HIQL's action-free TD operator on shortest-path data (OTA, OT1). The option-aware
value of OTA with abstraction factor ``n`` counts one unit of cost per option of ``n`` steps; its
closed form depends on when an option that reaches the goal is charged, see :func:`goal_values`.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from mdp._validation import check_gamma, check_positive_int

__all__ = [
    "GoalMDP",
    "CONVENTIONS",
    "check_goals",
    "check_states",
    "check_expectile",
    "check_convention",
    "distances",
    "goal_values",
    "option_cost",
]

#: option-reward conventions of OTA (``docs/papers/ota.md``, Corrections), see :func:`goal_values`
CONVENTIONS = ("start", "reach")


class GoalMDP:
    """A deterministic MDP whose states are also the goals (reward ``-1`` per step off the goal).

    Parameters
    ----------
    next_state : array_like of int, shape (S, A)
        ``next_state[s, a]`` is the successor of ``s`` under ``a`` (a blocked move stays: ``s``).
    coords : array_like, shape (S, k), optional
        Coordinates of each state, for plots (grid ``(x, y)`` or block positions).
    name : str, optional
    layout : ndarray of bool, optional
        The free cells of a grid maze (``True`` = free), shape ``(height, width)``, for plots.

    Attributes
    ----------
    next_state : ndarray of int64, shape (S, A), read-only
    n_states, n_actions : int
    coords : ndarray or None
    layout : ndarray or None
    """

    __slots__ = ("next_state", "n_states", "n_actions", "coords", "name", "layout", "_dist")

    def __init__(self, next_state, *, coords=None, name: str = "goal MDP", layout=None):
        ns = np.asarray(next_state)
        if ns.ndim != 2 or ns.size == 0:
            raise ValueError(f"next_state must be a non-empty (S, A) integer array, got shape {ns.shape}")
        if not np.issubdtype(ns.dtype, np.integer):
            raise TypeError(f"next_state must hold integers (successor states), got dtype {ns.dtype}")
        S = ns.shape[0]
        if ns.min() < 0 or ns.max() >= S:
            raise ValueError(f"next_state entries must be states in [0, {S}), got range [{ns.min()}, {ns.max()}]")
        self.next_state = np.ascontiguousarray(ns, dtype=np.int64)
        self.next_state.setflags(write=False)
        self.n_states, self.n_actions = int(S), int(ns.shape[1])
        self.coords = None if coords is None else np.asarray(coords)
        if self.coords is not None and self.coords.shape[0] != S:
            raise ValueError(f"coords must have one row per state ({S}), got {self.coords.shape[0]}")
        self.layout = None if layout is None else np.asarray(layout, dtype=bool)
        self.name = str(name)
        self._dist = None

    def __repr__(self) -> str:
        return f"GoalMDP({self.name!r}, S={self.n_states}, A={self.n_actions})"

    def adjacency(self) -> sp.csr_matrix:
        """The move graph (self-loops dropped) as a CSR matrix of ones, ``(S, S)``."""
        S, A = self.next_state.shape
        rows = np.repeat(np.arange(S), A)
        cols = self.next_state.ravel()
        keep = rows != cols
        g = sp.csr_matrix((np.ones(int(keep.sum())), (rows[keep], cols[keep])), shape=(S, S))
        g.sum_duplicates()
        g.data[:] = 1.0
        return g

    def distances(self) -> np.ndarray:
        """All-pairs shortest-path distances ``d[s, g]`` (float, ``inf`` when ``g`` is unreachable);
        computed once and cached (read-only)."""
        if self._dist is None:
            d = shortest_path(self.adjacency(), method="D", directed=True, unweighted=True)
            d.setflags(write=False)
            self._dist = d
        return self._dist

    def to_tabular(self, goal, gamma: float = 0.99):
        """The single-goal task as a :class:`mdp.TabularMDP`: reward ``-1`` off ``goal``, ``goal``
        absorbing with reward 0 (so :func:`mdp.solve` gives ``V*(., goal)``)."""
        from mdp.model import TabularMDP

        g = int(check_goals(goal, self.n_states, "goal"))
        gamma = check_gamma(gamma)
        S, A = self.next_state.shape
        ns = self.next_state.copy()
        ns[g, :] = g
        P = sp.csr_matrix((np.ones(S * A), (np.arange(S * A), ns.ravel())), shape=(S * A, S))
        R = -np.ones((S, A))
        R[g] = 0.0
        return TabularMDP(P, R, gamma)


def _check_index_array(x, n_states: int, name: str, what: str) -> np.ndarray:
    if isinstance(x, bool) or isinstance(x, np.bool_):
        raise TypeError(f"{name} must be {what} (integers in [0, {n_states})), got a bool")
    arr = np.asarray(x)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        if np.issubdtype(arr.dtype, np.floating) and arr.size and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name} must be {what} (integers in [0, {n_states})), got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_states):
        bad = arr[(arr < 0) | (arr >= n_states)].ravel()[0]
        raise ValueError(f"{name} must be {what} in [0, {n_states}) (the state space); got {bad}")
    return arr


def check_goals(goals, n_states: int, name: str = "goals"):
    """Goal indices as int64 (a scalar stays a Python int); a goal outside ``[0, S)`` raises
    ``ValueError`` naming ``name`` and the state space."""
    scalar = isinstance(goals, (numbers.Integral, np.integer)) and not isinstance(goals, (bool, np.bool_))
    arr = _check_index_array(goals, n_states, name, "goal states")
    return int(arr) if scalar else arr


def check_states(states, n_states: int, name: str = "states"):
    """State indices as int64; a state outside ``[0, S)`` raises ``ValueError`` naming ``name``."""
    scalar = isinstance(states, (numbers.Integral, np.integer)) and not isinstance(states, (bool, np.bool_))
    arr = _check_index_array(states, n_states, name, "states")
    return int(arr) if scalar else arr


def check_expectile(kappa, name: str = "expectile") -> float:
    """Return the expectile ``kappa`` as a float in the open interval ``(0, 1)``."""
    if isinstance(kappa, (bool, np.bool_)) or not isinstance(kappa, numbers.Real):
        raise TypeError(f"{name} must be a real number in (0, 1), got {type(kappa).__name__}")
    k = float(kappa)
    if not (0.0 < k < 1.0):
        raise ValueError(f"{name} must lie in the open interval (0, 1) (0.5 = mean regression), got {k}")
    return k


def check_convention(convention: str) -> str:
    """One of :data:`CONVENTIONS`."""
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    return convention


def distances(m: GoalMDP) -> np.ndarray:
    """All-pairs shortest-path distances of ``m`` (``(S, S)`` float, ``inf`` when unreachable)."""
    if not isinstance(m, GoalMDP):
        raise TypeError(f"m must be a mdp.goal.GoalMDP, got {type(m).__name__}")
    return m.distances()


def option_cost(dist, n: int = 1, convention: str = "start") -> np.ndarray:
    """Number of charged decision steps from distance ``d`` with options of ``n`` steps.

    * ``"start"`` (the code's default): an option costs 1 unless it *starts* on the goal, so the
      cost is ``ceil(d / n)`` (``n = 1``: ``d``, HIQL's value; this is the closed form printed
      under OT1 in ``docs/papers/ota.md``);
    * ``"reach"``: the rule as written in the OTA notes, ``r_h = 0`` when the goal is reached within
      the option (``j <= n``), so the option that reaches the goal is free: ``max(ceil(d / n) - 1, 0)``
      (``n = 1``: ``d - 1``, *not* HIQL's value).

    ``inf`` stays ``inf``.
    """
    n = check_positive_int(n, "n")
    check_convention(convention)
    d = np.asarray(dist, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        c = np.ceil(d / n)
        if convention == "reach":
            c = np.maximum(c - 1.0, 0.0)
    return c


def goal_values(dist, gamma: float, *, n: int = 1, convention: str = "start") -> np.ndarray:
    """Closed-form goal-conditioned values ``-(1 - gamma^c) / (1 - gamma)``, ``c = option_cost(d)``.

    With ``n = 1`` and ``convention="start"`` this is the optimal value ``V*(s, g)`` of the
    deterministic shortest-path task (OTA, OT1; ``docs/papers/ota.md``); with ``n > 1`` it is the
    fixed point of the option-aware TD operator on shortest-path data (OT2; checked against
    :func:`mdp.goal.expectile_td` by the claims). Unreachable pairs get ``-1 / (1 - gamma)``.
    """
    gamma = check_gamma(gamma)
    c = option_cost(dist, n, convention)
    with np.errstate(over="ignore"):
        p = np.where(np.isfinite(c), gamma ** np.where(np.isfinite(c), c, 0.0), 0.0)
    return -(1.0 - p) / (1.0 - gamma)
