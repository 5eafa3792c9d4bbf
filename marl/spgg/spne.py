"""Exact subgame-perfect equilibria of sequential public-goods games by backward induction.

The game tree of :class:`marl.spgg.SPGGame` has one node per history ``(q_1, ..., q_{i-1})`` of grid
indices (``G^i`` nodes at depth ``i``, node ``h`` of depth ``i`` has the children ``h G + a``). The kernel
sweeps the depths from the last mover up: at every node the mover picks the level that maximises its own
continuation payoff, and the margin between the best and the second-best level is recorded. The game has
perfect information, so

* any selection of a maximiser at every node is an SPNE, and
* the SPNE is unique (in pure and in behavioural strategies) iff no node has a tie.

A node is a tie when its margin is ``<= tol``; the lowest tied level is then selected, and the result says
``unique = False``. ``docs/papers/mac_spgg.md`` SPG1-SPG3; Liang et al. (2025), the SPNE theorem.

The tree has ``sum_i G^i`` nodes (``N = 5``, ``G = 21``: 204,205); the kernel refuses trees beyond
``MAX_NODES``. The subgame after a history depends on it only through the prefix sum, but the kernel does
not use that: it is exact for any grid.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from marl.spgg.model import SPGGame, _profile_payoffs, require_game
from mdp._common import result
from mdp._validation import check_tol

__all__ = ["MAX_NODES", "SPNEResult", "reference_spgg_spne", "spgg_spne"]

#: largest game tree the solver accepts (nodes over all depths)
MAX_NODES = 20_000_000


@result
class SPNEResult:
    """The subgame-perfect equilibrium found by backward induction.

    Attributes
    ----------
    outcome : ndarray, shape (N,)
        Efforts on the equilibrium path.
    outcome_index : ndarray, shape (N,)
        Their grid indices.
    values : ndarray, shape (N,)
        Each agent's payoff on the path.
    strategy : tuple of ndarray
        ``strategy[i]`` ``(G^i,)``: agent ``i``'s selected level (grid index) after each history
        (history ``h`` encodes the predecessors' indices in base ``G``, agent 0 most significant).
    margins : tuple of ndarray
        ``margins[i]`` ``(G^i,)``: best minus second-best continuation payoff of the mover (``inf`` for a
        one-level grid).
    unique : bool
        No node has a margin ``<= tol``: the SPNE is unique.
    n_ties : int
        Number of nodes with a margin ``<= tol``.
    n_nodes : int
        Nodes of the tree (``sum_i G^i``).
    min_margin : float
        Smallest margin over all nodes (the certificate of uniqueness when ``> tol``).
    min_path_margin : float
        Smallest margin on the equilibrium path.
    full_effort : bool
        Every agent plays the top level on the path.
    """

    outcome: np.ndarray
    outcome_index: np.ndarray
    values: np.ndarray
    strategy: tuple
    margins: tuple
    unique: bool
    n_ties: int
    n_nodes: int
    min_margin: float
    min_path_margin: float
    full_effort: bool


@njit(cache=True)
def _last_level(grid, params, n, strat, margin, value, tol):
    """Depth ``n - 1``: the last mover's choice at every history (payoffs computed on the fly)."""
    G = grid.shape[0]
    q = np.empty(n)
    u = np.empty(n)
    best_u = np.empty(n)
    n_nodes = strat.shape[0]
    ties = 0
    for h in range(n_nodes):
        r = h
        for j in range(n - 2, -1, -1):
            q[j] = grid[r % G]
            r //= G
        best = -np.inf
        second = -np.inf
        arg = 0
        for a in range(G):
            q[n - 1] = grid[a]
            _profile_payoffs(q, params, u)
            x = u[n - 1]
            if x > best:
                second = best
                best = x
                arg = a
                for j in range(n):
                    best_u[j] = u[j]
            elif x > second:
                second = x
        # the lowest level within tol of the best is selected on a tie
        m = best - second
        if m <= tol:
            ties += 1
            for a in range(G):
                q[n - 1] = grid[a]
                _profile_payoffs(q, params, u)
                if u[n - 1] >= best - tol:
                    arg = a
                    for j in range(n):
                        best_u[j] = u[j]
                    break
        strat[h] = arg
        margin[h] = m
        for j in range(n):
            value[h, j] = best_u[j]
    return ties


@njit(cache=True)
def _inner_level(i, G, child_value, strat, margin, value, tol):
    """Depth ``i < n - 1``: the mover ``i`` picks the child with the best value for ``i``."""
    n = value.shape[1]
    ties = 0
    for h in range(strat.shape[0]):
        best = -np.inf
        second = -np.inf
        arg = 0
        base = h * G
        for a in range(G):
            x = child_value[base + a, i]
            if x > best:
                second = best
                best = x
                arg = a
            elif x > second:
                second = x
        m = best - second
        if m <= tol:
            ties += 1
            for a in range(G):
                if child_value[base + a, i] >= best - tol:
                    arg = a
                    break
        strat[h] = arg
        margin[h] = m
        for j in range(n):
            value[h, j] = child_value[base + arg, j]
    return ties


def _solve(grid, params, n, tol):
    G = grid.shape[0]
    strategy = [np.empty(G**i, dtype=np.int64) for i in range(n)]
    margins = [np.empty(G**i) for i in range(n)]
    value = np.empty((G ** (n - 1), n))
    ties = _last_level(grid, params, n, strategy[n - 1], margins[n - 1], value, tol)
    for i in range(n - 2, -1, -1):
        nv = np.empty((G**i, n))
        ties += _inner_level(i, G, value, strategy[i], margins[i], nv, tol)
        value = nv
    return strategy, margins, value[0], int(ties)


def _path(strategy, G):
    idx = np.empty(len(strategy), dtype=np.int64)
    h = 0
    for i, s in enumerate(strategy):
        idx[i] = s[h]
        h = h * G + idx[i]
    return idx


def _package(game, strategy, margins, values, ties, tol):
    G, n = game.n_levels, game.n_agents
    idx = _path(strategy, G)
    h, path_m = 0, np.inf
    for i in range(n):
        path_m = min(path_m, float(margins[i][h]))
        h = h * G + idx[i]
    min_m = float(min(np.min(m) for m in margins))
    return SPNEResult(
        outcome=game.grid[idx].copy(),
        outcome_index=idx,
        values=np.asarray(values, dtype=np.float64),
        strategy=tuple(strategy),
        margins=tuple(margins),
        unique=bool(ties == 0),
        n_ties=int(ties),
        n_nodes=int(sum(G**i for i in range(n))),
        min_margin=min_m,
        min_path_margin=float(path_m),
        full_effort=bool(np.all(idx == G - 1)),
    )


def _check(game, tol):
    game = require_game(game)
    tol = check_tol(tol, allow_zero=True)
    G, n = game.n_levels, game.n_agents
    nodes = sum(G**i for i in range(n))
    if nodes > MAX_NODES:
        raise ValueError(
            f"game: the tree has {nodes:.3g} nodes (G = {G} levels, N = {n} agents), beyond MAX_NODES = "
            f"{MAX_NODES:.0e}; use a coarser grid or fewer agents"
        )
    return game, tol


def spgg_spne(game: SPGGame, *, tol: float = 1e-9) -> SPNEResult:
    """Exact SPNE of a sequential public-goods game by backward induction, with a uniqueness check at every node.

    ``docs/papers/mac_spgg.md`` SPG1-SPG3 (Liang et al. 2025, unique full-effort SPNE theorem).

    Parameters
    ----------
    game : SPGGame
    tol : float, default 1e-9
        A node whose best and second-best continuation payoffs differ by ``<= tol`` is a tie.

    Returns
    -------
    SPNEResult
    """
    game, tol = _check(game, tol)
    strategy, margins, values, ties = _solve(game.grid, game.params(), game.n_agents, tol)
    return _package(game, strategy, margins, values, ties, tol)


def reference_spgg_spne(game: SPGGame, *, tol: float = 1e-9) -> SPNEResult:
    """Plain-Python twin of :func:`spgg_spne`: recursion over histories with :func:`marl.spgg.reference_spgg_payoffs`."""
    from marl.spgg.model import reference_spgg_payoffs

    game, tol = _check(game, tol)
    G, n, grid = game.n_levels, game.n_agents, game.grid
    strategy = [np.empty(G**i, dtype=np.int64) for i in range(n)]
    margins = [np.empty(G**i) for i in range(n)]
    ties = [0]

    def solve(hist):
        i = len(hist)
        if i == n:
            return reference_spgg_payoffs(game, grid[list(hist)])
        vals = [solve(hist + (a,)) for a in range(G)]
        own = np.array([v[i] for v in vals])
        order = np.sort(own)[::-1]
        m = order[0] - order[1] if G > 1 else np.inf
        arg = int(np.flatnonzero(own >= order[0] - tol)[0]) if m <= tol else int(np.argmax(own))
        h = 0
        for a in hist:
            h = h * G + a
        strategy[i][h] = arg
        margins[i][h] = m
        ties[0] += int(m <= tol)
        return vals[arg]

    values = solve(())
    return _package(game, strategy, margins, values, ties[0], tol)
