"""Model generators: random and structured tabular MDPs, seeded by a ``numpy.random.Generator``.

All generators return a :class:`mdp.TabularMDP`. Structured models with many states (gridworld,
garnet) are built directly in the sparse ``(S * A, S)`` CSR form: numba kernels write the final
``indptr`` / ``indices`` (``int32`` where they fit) / ``data`` arrays in two passes (row lengths,
then entries), with no COO or ``int64`` intermediate, and :meth:`mdp.TabularMDP.from_csr` takes them
without a copy after one validating pass. Each has a plain-numpy twin (``reference_gridworld``,
``reference_garnet``) that builds the same model through scipy, for the differential tests.

Sizes whose arrays would not fit in the memory available are refused before anything is
allocated, with a ``ValueError`` that gives the estimated bytes.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from mdp._validation import check_gamma, check_positive_int, check_probability, check_rng, check_tol
from mdp.model import TabularMDP, index_dtype, storage_dtype

__all__ = [
    "random_mdp",
    "garnet",
    "gridworld",
    "chain",
    "riverswim",
    "forest",
    "reference_gridworld",
    "reference_garnet",
    "available_memory",
    "sparse_model_bytes",
]


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable`` of ``/proc/meminfo``, else the
    physical memory), or ``None`` where the platform says neither."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - non-POSIX
        return None


def sparse_model_bytes(n_states: int, n_actions: int, nnz: int, dtype=np.float64) -> int:
    """Bytes of a sparse :class:`mdp.TabularMDP`: CSR ``data`` + ``indices`` + ``indptr`` and ``R``.

    ``indices`` and ``indptr`` are ``int32`` where they fit (every index below ``2^31 - 1``).
    """
    pairs = int(n_states) * int(n_actions)
    idx = np.dtype(index_dtype(pairs, int(n_states), int(nnz))).itemsize
    return int(nnz) * (np.dtype(dtype).itemsize + idx) + (pairs + 1) * idx + pairs * 8


def _check_fits(nbytes: int, name: str, what: str) -> None:
    """Refuse, before allocating, a model whose arrays need more than the memory available."""
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise ValueError(
            f"{name}: {what} needs about {nbytes / 1e9:.3g} GB ({nbytes} bytes) for its arrays, more than "
            f"the {avail / 1e9:.3g} GB of memory available; choose a smaller {name}"
        )


def random_mdp(
    n_states: int,
    n_actions: int,
    *,
    rng,
    alpha: float = 1.0,
    gamma: float = 0.9,
    sparse: bool = False,
    dtype=np.float64,
) -> TabularMDP:
    """Dense random MDP: ``P[s, a, :] ~ Dirichlet(alpha * 1)``, ``R[s, a] ~ U[0, 1]``.

    Small ``alpha`` (e.g. 0.1) gives nearly deterministic, hard instances; ``alpha = 1`` draws
    rows uniformly from the simplex (docs/papers/foundations.md, "random-instance generator").

    Parameters
    ----------
    n_states, n_actions : int
        ``S`` and ``A``.
    rng : numpy.random.Generator
        The only source of randomness.
    alpha : float, default 1.0
        Dirichlet concentration, ``> 0``.
    gamma : float, default 0.9
    sparse : bool, default False
        Return the CSR form (the rows are still dense).
    dtype : float64 or float32
        Storage type of ``P``.
    """
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    rng = check_rng(rng)
    alpha = check_tol(alpha, "alpha")
    gamma = check_gamma(gamma)
    _check_fits(2 * S * A * S * 8, "n_states", f"a dense random MDP with {S} states and {A} actions")
    # Dirichlet via normalised Gamma draws (vectorised; numpy's dirichlet loops in Python for 3-D)
    P = rng.standard_gamma(alpha, size=(S, A, S))
    sums = P.sum(axis=2, keepdims=True)
    # for tiny alpha a whole row can underflow to 0: put its mass on one uniform random state
    dead = sums[..., 0] == 0
    if np.any(dead):
        idx = np.argwhere(dead)
        P[idx[:, 0], idx[:, 1], rng.integers(0, S, size=len(idx))] = 1.0
        sums = P.sum(axis=2, keepdims=True)
    P /= sums
    R = rng.random((S, A))
    m = TabularMDP(P, R, gamma, dtype=dtype)
    return m.to_sparse() if sparse else m


@njit(cache=True)
def _garnet_fill(rng, S, b, indices, data):
    """Rows of a GARNET model, in place: ``indices`` / ``data`` hold ``b`` entries per row.

    Per row: ``b`` distinct successors by Floyd's algorithm (``j = S - b, ..., S - 1``: draw ``t``
    uniform on ``{0..j}``, take ``j`` if ``t`` was taken), then ``b - 1`` uniform cut points, whose
    sorted gaps are the probabilities, the ``k``-th gap going to the ``k``-th successor drawn; the
    row is then sorted by successor. Every number comes from ``rng.random()`` in that order. Returns
    the number of zero gaps (two equal cut points).
    """
    n_rows = data.shape[0] // b
    mark = np.zeros(S, dtype=np.int64)  # mark[t] == row + 1: t already drawn in this row
    chosen = np.empty(b, dtype=np.int64)
    cuts = np.empty(b + 1)
    probs = np.empty(b)
    n_zero = 0
    for i in range(n_rows):
        for k in range(b):
            j = S - b + k
            t = min(int(rng.random() * (j + 1)), j)
            if mark[t] == i + 1:
                t = j
            mark[t] = i + 1
            chosen[k] = t
        cuts[0] = 0.0
        for k in range(1, b):
            cuts[k] = rng.random()
        cuts[b] = 1.0
        if b <= 32:
            _insertion_sort(cuts[1:b], cuts[1:b])
        else:
            cuts[1:b].sort()
        for k in range(b):
            probs[k] = cuts[k + 1] - cuts[k]
            if probs[k] == 0.0:
                n_zero += 1
        if b <= 32:  # successors are distinct: any sort gives the same row
            _insertion_sort(chosen, probs)
        else:
            order = np.argsort(chosen)
            chosen[:] = chosen[order]
            probs[:] = probs[order]
        for k in range(b):
            indices[i * b + k] = chosen[k]
            data[i * b + k] = probs[k]
    return n_zero


@njit(inline="always")
def _insertion_sort(keys, vals):
    """Sort ``keys`` ascending in place, moving ``vals`` along (``vals`` may be ``keys``)."""
    for k in range(1, keys.shape[0]):
        key, val = keys[k], vals[k]
        m = k - 1
        while m >= 0 and keys[m] > key:
            keys[m + 1] = keys[m]
            vals[m + 1] = vals[m]
            m -= 1
        keys[m + 1] = key
        vals[m + 1] = val


def _garnet_args(n_states, n_actions, branching, rng, gamma):
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    b = check_positive_int(branching, "branching")
    if b > S:
        raise ValueError(f"branching must be <= n_states = {S}, got {b}")
    return S, A, b, check_rng(rng), check_gamma(gamma)


def garnet(n_states: int, n_actions: int, branching: int, *, rng, gamma: float = 0.9, dtype=np.float64) -> TabularMDP:
    """GARNET MDP (Archibald, McKinnon & Thomas 1995; Bhatnagar et al. 2009), sparse.

    Each ``(s, a)`` moves to ``branching`` distinct successors drawn uniformly without replacement,
    with probabilities given by the gaps of ``branching - 1`` uniform cut points of ``[0, 1]``;
    ``R[s, a] ~ U[0, 1]``.

    Built row by row in a numba kernel (Floyd's algorithm for the successors: ``O(branching)``
    draws per row, so ``O(S A b)`` time and no ``O(S)`` work per row); the random stream is that of
    :func:`reference_garnet`, which builds the same model in plain numpy. (Before 2026-12 the
    successors were the ``b`` smallest of ``S`` uniform keys per row, ``O(S^2 A)``: the same
    distribution, a different stream, so a seed gives a different - equally distributed - model.)

    Parameters
    ----------
    n_states, n_actions, branching : int
        ``S``, ``A`` and ``b <= S``.
    rng : numpy.random.Generator
        The only source of randomness.
    gamma : float, default 0.9
    dtype : float64 or float32
        Storage type of ``P``.

    Raises
    ------
    ValueError
        On a bad size, or one whose arrays would not fit in the memory available (the message
        gives the estimated bytes).
    """
    S, A, b, rng, gamma = _garnet_args(n_states, n_actions, branching, rng, gamma)
    dtype = storage_dtype(dtype)
    nnz = S * A * b
    _check_fits(
        sparse_model_bytes(S, A, nnz, dtype) + 8 * S,
        "n_states",
        f"a GARNET model with {S} states, {A} actions and {b} branches",
    )
    itype = index_dtype(S * A, S, nnz)
    indptr = np.arange(0, nnz + 1, b, dtype=itype)
    indices = np.empty(nnz, dtype=itype)
    data = np.empty(nnz, dtype=dtype)
    n_zero = _garnet_fill(rng, S, b, indices, data)
    R = rng.random((S, A))
    if n_zero:  # two equal cut points (probability ~ b^2 2^-53 per row): drop the zero entries
        P = sp.csr_matrix((data, indices, indptr), shape=(S * A, S))
        return TabularMDP(P, R, gamma, dtype=dtype)
    return TabularMDP.from_csr(indptr, indices, data, R, gamma, copy=False)


def reference_garnet(n_states: int, n_actions: int, branching: int, *, rng, gamma: float = 0.9, dtype=np.float64):
    """Plain-numpy twin of :func:`garnet`: the same draws in the same order, built through scipy."""
    S, A, b, rng, gamma = _garnet_args(n_states, n_actions, branching, rng, gamma)
    rows, cols, vals = [], [], []
    for i in range(S * A):
        chosen = []
        for j in range(S - b, S):
            t = min(int(rng.random() * (j + 1)), j)
            chosen.append(j if t in chosen else t)
        cuts = np.sort([rng.random() for _ in range(b - 1)])
        probs = np.diff(np.concatenate([[0.0], cuts, [1.0]]))
        rows += [i] * b
        cols += chosen
        vals += list(probs)
    P = sp.csr_matrix((vals, (rows, cols)), shape=(S * A, S))
    return TabularMDP(P, rng.random((S, A)), gamma, dtype=dtype)


# gridworld action order and displacements (dx, dy); y grows downwards (row index)
_GRID_MOVES = np.array([[0, -1], [0, 1], [1, 0], [-1, 0]])  # N, S, E, W
_GRID_PERP = np.array([[2, 3], [2, 3], [0, 1], [0, 1]])  # perpendicular directions of each action


def _gridworld_args(width, height, slip, walls, goal, gamma, dtype):
    """Validated ``(W, H, slip, gamma, wall mask (H*W,), goal index, dtype)`` of :func:`gridworld`;
    refuses a size whose arrays would not fit in memory before allocating anything."""
    W = check_positive_int(width, "width")
    H = check_positive_int(height, "height")
    slip = check_probability(slip, "slip")
    gamma = check_gamma(gamma)
    dtype = storage_dtype(dtype)
    S = W * H
    if S < 2:
        raise ValueError(f"width * height must be >= 2 (a gridworld needs at least 2 cells), got {W} x {H}")
    per_row = 1 if slip in (0.0, 1.0) else 3
    _check_fits(
        sparse_model_bytes(S, 4, per_row * S * 4, dtype), "width, height", f"a {W} x {H} gridworld ({S} states)"
    )
    wall = np.zeros((H, W), dtype=bool)
    if walls is not None:
        arr = np.asarray(walls)
        if arr.dtype == bool:
            if arr.shape != (H, W):
                raise ValueError(
                    f"walls as a boolean mask must have shape (height, width) = ({H}, {W}), got {arr.shape}"
                )
            wall = arr.copy()
        else:
            cells = np.asarray(list(walls))
            if cells.size == 0:
                cells = np.zeros((0, 2), dtype=np.int64)
            # an integer 0/1 mask must not be silently read as a list of (x, y) cells
            if cells.ndim != 2 or cells.shape[1] != 2 or not np.issubdtype(cells.dtype, np.integer):
                raise ValueError(
                    f"walls must be a boolean mask of shape (height, width) = ({H}, {W}) or an iterable of "
                    f"integer (x, y) cells; got an array of shape {cells.shape} and dtype {cells.dtype}"
                )
            cells = cells.astype(np.int64)
            if cells.size and (
                cells[:, 0].min() < 0 or cells[:, 0].max() >= W or cells[:, 1].min() < 0 or cells[:, 1].max() >= H
            ):
                raise ValueError(f"walls must be (x, y) cells inside the {W} x {H} grid")
            wall[cells[:, 1], cells[:, 0]] = True
    if goal is None:
        gx, gy = W - 1, H - 1
    else:
        g_arr = np.asarray(goal)
        if g_arr.shape != (2,) or not np.issubdtype(g_arr.dtype, np.integer):
            raise ValueError(f"goal must be an (x, y) pair of integers, got {goal!r}")
        gx, gy = int(g_arr[0]), int(g_arr[1])
    if not (0 <= gx < W and 0 <= gy < H):
        raise ValueError(f"goal must be an (x, y) cell inside the {W} x {H} grid, got {goal}")
    if wall[gy, gx]:
        raise ValueError(f"goal {(gx, gy)} is a wall cell")
    g = gy * W + gx
    wall_flat = wall.ravel()

    return W, H, slip, gamma, wall_flat, g, dtype


def gridworld(
    width: int,
    height: int,
    *,
    slip: float = 0.1,
    walls=None,
    goal=None,
    goal_reward: float = 1.0,
    step_reward: float = 0.0,
    gamma: float = 0.99,
    dtype=np.float64,
) -> TabularMDP:
    """Sparse gridworld with slippery moves, walls and an absorbing goal.

    State ``s = y * width + x`` for the cell in column ``x`` and row ``y`` (row 0 at the top).
    Actions ``0..3`` are N, S, E, W. With probability ``1 - slip`` the agent moves as intended,
    with probability ``slip / 2`` each it moves in one of the two perpendicular directions. A move
    off the grid or into a wall leaves the agent where it is. Entering the goal pays
    ``goal_reward`` (as the expected reward ``R[s, a] = goal_reward * P[s, a, goal]``); every
    action taken outside the goal also pays ``step_reward``. The goal and the wall cells are
    absorbing with reward 0 (wall cells are unreachable; they keep the indexing rectangular).

    Parameters
    ----------
    width, height : int
        Grid size. Built by a numba kernel straight into CSR form (``int32`` indices while
        ``12 width height < 2^31``): a 1000 x 1000 grid (10^6 states, 1.2 * 10^7 stored
        transitions) in about 0.3 s on one core; sizes whose arrays would not fit in the memory
        available are refused up front (``ValueError`` with the estimated bytes).
    slip : float in [0, 1]
    walls : array_like of bool, shape (height, width), or iterable of (x, y), optional
    goal : (x, y), default bottom-right corner ``(width - 1, height - 1)``
    goal_reward, step_reward : float
    gamma : float, default 0.99
    dtype : float64 or float32
    """
    W, H, slip, gamma, wall_flat, g, dtype = _gridworld_args(width, height, slip, walls, goal, gamma, dtype)
    S = W * H
    itype = index_dtype(S * 4, S, 3 * S * 4)
    indptr = np.empty(S * 4 + 1, dtype=itype)
    nnz = _gridworld_rows(W, H, wall_flat, g, slip, indptr)
    indices = np.empty(nnz, dtype=itype)
    data = np.empty(nnz, dtype=dtype)
    R = np.empty((S, 4))
    _gridworld_fill(W, H, wall_flat, g, slip, float(goal_reward), float(step_reward), indptr, indices, data, R)
    return TabularMDP.from_csr(indptr, indices, data, R, gamma, copy=False)


@njit(inline="always")
def _grid_row(W, H, wall, g, slip, s, a, cols, probs):
    """The distinct successors of ``(s, a)`` in increasing order and their probabilities (summed in
    the order intended move, first perpendicular, second perpendicular); returns how many."""
    n = 0
    if wall[s] or s == g:  # absorbing: every outcome stays
        for k in range(3):
            p = (1.0 - slip) if k == 0 else 0.5 * slip
            if p == 0.0:
                continue
            if n == 0:
                cols[0] = s
                probs[0] = p
                n = 1
            else:
                probs[0] += p
        return n
    x, y = s % W, s // W
    for k in range(3):
        d = a if k == 0 else _GRID_PERP[a, k - 1]
        p = (1.0 - slip) if k == 0 else 0.5 * slip
        if p == 0.0:
            continue
        nx, ny = x + _GRID_MOVES[d, 0], y + _GRID_MOVES[d, 1]
        t = s
        if 0 <= nx < W and 0 <= ny < H:
            t = ny * W + nx
            if wall[t]:
                t = s
        m = 0
        while m < n and cols[m] != t:
            m += 1
        if m < n:
            probs[m] += p
        else:
            cols[n] = t
            probs[n] = p
            n += 1
    # sort the (at most 3) successors
    for u in range(1, n):
        c, q = cols[u], probs[u]
        m = u - 1
        while m >= 0 and cols[m] > c:
            cols[m + 1] = cols[m]
            probs[m + 1] = probs[m]
            m -= 1
        cols[m + 1] = c
        probs[m + 1] = q
    return n


# The two passes run on chunks of states in parallel: every (s, a) row is computed from (s, a)
# alone, so the arrays do not depend on the number of threads.
_GRID_CHUNK = 1 << 14


@njit(cache=True, parallel=True)
def _gridworld_rows(W, H, wall, g, slip, indptr):
    """First pass: ``indptr`` of the ``(4 S, S)`` CSR form (row lengths, then their running sum);
    returns ``nnz``."""
    S = W * H
    n_chunks = (S + _GRID_CHUNK - 1) // _GRID_CHUNK
    indptr[0] = 0
    for c in prange(n_chunks):
        cols = np.empty(3, dtype=np.int64)
        probs = np.empty(3)
        for s in range(c * _GRID_CHUNK, min(S, (c + 1) * _GRID_CHUNK)):
            for a in range(4):
                indptr[s * 4 + a + 1] = _grid_row(W, H, wall, g, slip, s, a, cols, probs)
    total = 0
    for i in range(1, 4 * S + 1):
        total += indptr[i]
        indptr[i] = total
    return total


@njit(cache=True, parallel=True)
def _gridworld_fill(W, H, wall, g, slip, goal_reward, step_reward, indptr, indices, data, R):
    """Second pass: the entries, and ``R[s, a] = goal_reward * P[s, a, goal] + step_reward`` (0 when
    absorbing); the probabilities are summed in float64 and stored in ``data``'s type."""
    S = W * H
    n_chunks = (S + _GRID_CHUNK - 1) // _GRID_CHUNK
    for c in prange(n_chunks):
        cols = np.empty(3, dtype=np.int64)
        probs = np.empty(3)
        for s in range(c * _GRID_CHUNK, min(S, (c + 1) * _GRID_CHUNK)):
            for a in range(4):
                n = _grid_row(W, H, wall, g, slip, s, a, cols, probs)
                start = indptr[s * 4 + a]
                p_goal = 0.0
                for k in range(n):
                    indices[start + k] = cols[k]
                    data[start + k] = probs[k]
                    if cols[k] == g:
                        p_goal = probs[k]
                R[s, a] = 0.0 if (wall[s] or s == g) else goal_reward * p_goal + step_reward


def reference_gridworld(
    width: int,
    height: int,
    *,
    slip: float = 0.1,
    walls=None,
    goal=None,
    goal_reward: float = 1.0,
    step_reward: float = 0.0,
    gamma: float = 0.99,
    dtype=np.float64,
) -> TabularMDP:
    """Plain-numpy twin of :func:`gridworld` (its implementation before the numba kernels): the
    transitions as COO triplets, duplicates summed by scipy."""
    W, H, slip, gamma, wall_flat, g, dtype = _gridworld_args(width, height, slip, walls, goal, gamma, dtype)
    S = W * H
    s = np.arange(S)
    x, y = s % W, s // W

    def move(direction):
        nx = x + _GRID_MOVES[direction, 0]
        ny = y + _GRID_MOVES[direction, 1]
        inside = (nx >= 0) & (nx < W) & (ny >= 0) & (ny < H)
        t = np.where(inside, ny.clip(0, H - 1) * W + nx.clip(0, W - 1), s)
        return np.where(wall_flat[t], s, t)

    targets = [move(d) for d in range(4)]
    absorbing = wall_flat.copy()
    absorbing[g] = True
    rows, cols, vals = [], [], []
    for a in range(4):
        outcomes = [
            (targets[a], 1.0 - slip),
            (targets[_GRID_PERP[a, 0]], slip / 2),
            (targets[_GRID_PERP[a, 1]], slip / 2),
        ]
        for t, p in outcomes:
            if p == 0.0:
                continue
            rows.append(s * 4 + a)
            cols.append(np.where(absorbing, s, t))
            vals.append(np.full(S, p))
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    P = sp.csr_matrix((vals, (rows, cols)), shape=(S * 4, S))  # duplicates are summed
    p_goal = np.asarray(P[:, g].todense()).ravel().reshape(S, 4)
    R = goal_reward * p_goal + step_reward
    R[absorbing] = 0.0
    return TabularMDP(P, R, gamma, dtype=dtype)


def chain(
    n_states: int = 5, *, slip: float = 0.2, small_reward: float = 2.0, large_reward: float = 10.0, gamma: float = 0.99
) -> TabularMDP:
    """The chain problem of Strens (2000) (also Dearden, Friedman & Russell 1998).

    Action 0 ("forward") moves from ``s`` to ``s + 1`` with reward 0, and at the last state stays
    there with reward ``large_reward``; action 1 ("back") returns to state 0 with reward
    ``small_reward``. With probability ``slip`` the other action's effect happens instead.
    """
    n = check_positive_int(n_states, "n_states", minimum=2)
    slip = check_probability(slip, "slip")
    gamma = check_gamma(gamma)
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2))
    for s in range(n):
        fwd = min(s + 1, n - 1)
        r_fwd = large_reward if s == n - 1 else 0.0
        P[s, 0, fwd] += 1 - slip
        P[s, 0, 0] += slip
        R[s, 0] = (1 - slip) * r_fwd + slip * small_reward
        P[s, 1, 0] += 1 - slip
        P[s, 1, fwd] += slip
        R[s, 1] = (1 - slip) * small_reward + slip * r_fwd
    return TabularMDP(P, R, gamma)


def riverswim(
    n_states: int = 6, *, small_reward: float = 5e-3, large_reward: float = 1.0, gamma: float = 0.95
) -> TabularMDP:
    """RiverSwim (Strehl & Littman 2008), in the parameterisation of Osband, Russo & Van Roy (2013).

    Action 0 (left, with the current) moves deterministically to ``max(s - 1, 0)``; taking it in
    state 0 pays ``small_reward``. Action 1 (right, against the current) from an interior state
    moves right w.p. 0.35, stays w.p. 0.6 and drifts left w.p. 0.05; from state 0 it moves right
    w.p. 0.4 and stays w.p. 0.6; in the last state it stays w.p. 0.6 and drifts left w.p. 0.4, and
    pays ``large_reward`` (the expected reward of the pair is ``0.6 * large_reward``).
    """
    n = check_positive_int(n_states, "n_states", minimum=2)
    gamma = check_gamma(gamma)
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2))
    for s in range(n):
        P[s, 0, max(s - 1, 0)] = 1.0
        if s == 0:
            P[s, 1, 1] += 0.4
            P[s, 1, 0] += 0.6
        elif s == n - 1:
            P[s, 1, s] += 0.6
            P[s, 1, s - 1] += 0.4
        else:
            P[s, 1, s + 1] += 0.35
            P[s, 1, s] += 0.6
            P[s, 1, s - 1] += 0.05
    R[0, 0] = small_reward
    R[n - 1, 1] = 0.6 * large_reward
    return TabularMDP(P, R, gamma)


def forest(n_states: int = 3, *, r1: float = 4.0, r2: float = 2.0, p: float = 0.1, gamma: float = 0.96) -> TabularMDP:
    """Forest management (the example of MDPtoolbox's ``forest``; Cros et al.), in its conventions.

    States are forest ages ``0..S-1``; action 0 waits, action 1 cuts. Waiting ages the forest by
    one (capped at ``S - 1``) unless a fire (probability ``p``) resets it to 0; cutting resets it to
    0. Rewards: waiting in the oldest state pays ``r1``; cutting pays 0 in state 0, 1 in the
    intermediate states and ``r2`` in the oldest state.

    With the defaults and ``gamma = 0.96``, ``v* = (74.6496, 78.1056, 82.1056)`` (4 d.p.).
    """
    S = check_positive_int(n_states, "n_states", minimum=2)
    p = check_probability(p, "p")
    gamma = check_gamma(gamma)
    P = np.zeros((S, 2, S))
    for s in range(S):
        P[s, 0, 0] += p
        P[s, 0, min(s + 1, S - 1)] += 1 - p
        P[s, 1, 0] = 1.0
    R = np.zeros((S, 2))
    R[S - 1, 0] = r1
    R[1:, 1] = 1.0
    R[S - 1, 1] = r2
    return TabularMDP(P, R, gamma)
