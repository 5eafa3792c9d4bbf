"""Goal-conditioned environments as :class:`mdp.goal.GoalMDP`: long-corridor mazes, a corridor,
HECRL's multi-block track and VSC-RL's three-doorway grid.

* :func:`maze`: a ``size x size`` grid maze carved by randomised depth-first search (a perfect maze:
  one path between any two cells, hence long corridors; a 41 x 41 maze has 799 free cells and
  shortest paths of several hundred steps, the long-horizon setting of OTA, ``docs/papers/ota.md``),
  with optional extra openings (``loops``);
* :func:`corridor`: a 1-D chain (OT1's closed form);
* :func:`block_track`: ``N`` distinguishable blocks on a track of ``L`` positions (no overlap),
  action = (block, left/right) (the lab environment of ``docs/papers/hecrl.md``);
* :func:`doorway_grid`: the 15 x 15 grid with a long route through three doorways
  (``docs/papers/vsc_rl.md``).

Grid actions are N, S, E, W as in :func:`mdp.generators.gridworld`; a move into a wall or off the
grid stays put.
"""

from __future__ import annotations

import itertools

import numpy as np

from mdp._validation import check_bool, check_positive_int, check_probability, check_rng
from mdp.goal.model import GoalMDP

__all__ = ["grid_mdp", "maze", "corridor", "block_track", "doorway_grid", "DOORWAY_GOAL", "DOORWAY_START"]

_MOVES = np.array([[0, -1], [0, 1], [1, 0], [-1, 0]])  # N, S, E, W as (dx, dy); y grows downwards


def grid_mdp(free, *, name: str = "grid") -> GoalMDP:
    """The deterministic 4-action :class:`GoalMDP` on the free cells of a boolean mask.

    ``free[y, x]`` is ``True`` for a free cell; states are the free cells in row-major order and
    ``coords[s] = (x, y)``.
    """
    free = np.asarray(free)
    if free.ndim != 2 or free.dtype != bool:
        raise TypeError(f"free must be a 2-D boolean mask (True = free cell), got dtype {free.dtype} ndim {free.ndim}")
    if not free.any():
        raise ValueError("free must contain at least one free cell")
    H, W = free.shape
    ys, xs = np.nonzero(free)
    index = -np.ones((H, W), dtype=np.int64)
    index[ys, xs] = np.arange(ys.size)
    S = ys.size
    ns = np.empty((S, 4), dtype=np.int64)
    for a, (dx, dy) in enumerate(_MOVES):
        nx, ny = xs + dx, ys + dy
        inside = (nx >= 0) & (nx < W) & (ny >= 0) & (ny < H)
        t = np.where(inside, index[ny.clip(0, H - 1), nx.clip(0, W - 1)], -1)
        ns[:, a] = np.where(t >= 0, t, np.arange(S))
    return GoalMDP(ns, coords=np.stack([xs, ys], axis=1), name=name, layout=free)


def maze(size: int = 41, *, rng, loops: float = 0.0) -> GoalMDP:
    """A random perfect maze on a ``size x size`` grid (``size`` odd, >= 5), long corridors.

    Rooms are the cells with odd coordinates; randomised depth-first search (iterative, with
    ``rng``) opens the wall between a room and a random unvisited neighbour, so every pair of cells
    is joined by exactly one path. ``loops`` in ``[0, 1]``: the fraction of the remaining interior
    walls between two rooms that are opened afterwards (shortcuts, shorter paths).
    """
    n = check_positive_int(size, "size", minimum=5)
    if n % 2 == 0:
        raise ValueError(f"size must be odd (rooms on odd coordinates and a border wall), got {n}")
    rng = check_rng(rng)
    loops = check_probability(loops, "loops")
    free = np.zeros((n, n), dtype=bool)
    k = (n - 1) // 2  # rooms per side
    seen = np.zeros((k, k), dtype=bool)
    stack = [(int(rng.integers(k)), int(rng.integers(k)))]
    seen[stack[0][1], stack[0][0]] = True
    free[2 * stack[0][1] + 1, 2 * stack[0][0] + 1] = True
    while stack:
        x, y = stack[-1]
        nbrs = [(x + dx, y + dy) for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))]
        nbrs = [(a, b) for a, b in nbrs if 0 <= a < k and 0 <= b < k and not seen[b, a]]
        if not nbrs:
            stack.pop()
            continue
        a, b = nbrs[int(rng.integers(len(nbrs)))]
        seen[b, a] = True
        free[2 * b + 1, 2 * a + 1] = True
        free[y + b + 1, x + a + 1] = True  # the wall between the two rooms
        stack.append((a, b))
    if loops > 0:
        walls = [
            (yy, xx)
            for yy in range(1, n - 1)
            for xx in range(1, n - 1)
            if not free[yy, xx] and ((yy % 2 == 1) != (xx % 2 == 1))
        ]
        pick = rng.random(len(walls)) < loops
        for (yy, xx), p in zip(walls, pick):
            if p:
                free[yy, xx] = True
    return grid_mdp(free, name=f"maze {n}x{n}")


def corridor(length: int) -> GoalMDP:
    """A 1-D corridor of ``length`` cells; actions left (0) and right (1), blocked at the ends."""
    L = check_positive_int(length, "length", minimum=2)
    s = np.arange(L)
    ns = np.stack([np.maximum(s - 1, 0), np.minimum(s + 1, L - 1)], axis=1)
    return GoalMDP(ns, coords=np.stack([s, np.zeros(L, dtype=np.int64)], axis=1), name=f"corridor {L}")


def block_track(n_blocks: int, length: int = 7, *, ordered: bool = False) -> GoalMDP:
    """``n_blocks`` distinguishable blocks on a 1-D track of ``length`` positions, no overlap.

    A state is the tuple of block positions (``coords[s]``, one column per block; states enumerate
    the ``length! / (length - n_blocks)!`` ordered placements); action ``2 b`` moves block ``b`` left,
    ``2 b + 1`` right, and does nothing when the target position is off the track or occupied.
    Goals are full configurations (HECRL's lab environment, ``docs/papers/hecrl.md``); blocks cannot
    pass each other, so a goal is reachable iff it keeps the blocks' left-to-right order, and then
    ``d(s, g)`` is the sum of the blocks' displacements. ``ordered=True`` keeps only the
    ``C(length, n_blocks)`` configurations with increasing positions (the component of a sorted start).
    """
    N = check_positive_int(n_blocks, "n_blocks")
    L = check_positive_int(length, "length", minimum=2)
    if N >= L:
        raise ValueError(f"n_blocks must be smaller than length (at least one free position), got {N} >= {L}")
    if check_bool(ordered, "ordered"):
        conf = np.array(list(itertools.combinations(range(L), N)), dtype=np.int64)
    else:
        conf = np.array(list(itertools.permutations(range(L), N)), dtype=np.int64)
    S = conf.shape[0]
    key = conf @ (L ** np.arange(N))
    lookup = -np.ones(L**N, dtype=np.int64)
    lookup[key] = np.arange(S)
    ns = np.empty((S, 2 * N), dtype=np.int64)
    for b in range(N):
        for d, step in enumerate((-1, 1)):
            new = conf.copy()
            new[:, b] += step
            ok = (new[:, b] >= 0) & (new[:, b] < L)
            occupied = (conf == new[:, [b]]).any(axis=1)
            ok &= ~occupied
            newkey = np.where(ok, new.clip(0, L - 1) @ (L ** np.arange(N)), key)
            ns[:, 2 * b + d] = lookup[newkey]
    return GoalMDP(ns, coords=conf, name=f"{N} blocks on a track of {L}")


#: start cell (x, y) of :func:`doorway_grid`
DOORWAY_START = (1, 1)
#: goal cell (x, y) of :func:`doorway_grid`
DOORWAY_GOAL = (1, 13)


def doorway_grid() -> GoalMDP:
    """The 15 x 15 grid with a long route through three doorways (``docs/papers/vsc_rl.md``).

    A border wall; interior walls on rows 4, 7 and 10 with one doorway each, at x = 13, 1 and 13, so
    the shortest route from :data:`DOORWAY_START` ``(1, 1)`` to :data:`DOORWAY_GOAL` ``(1, 13)``
    zig-zags across the grid (60 steps: 4 legs of 12 across and 3 down). Layout reconstructed from the notes' description.
    """
    n = 15
    free = np.ones((n, n), dtype=bool)
    free[0, :] = free[-1, :] = free[:, 0] = free[:, -1] = False
    for row, door in ((4, 13), (7, 1), (10, 13)):
        free[row, 1:-1] = False
        free[row, door] = True
    return grid_mdp(free, name="three-doorway grid 15x15")
