"""Exact TSP by the BQ-MDP's dynamic programme (Held-Karp), and helpers for learned TSP policies.

The bisimulation quotient of the constructive TSP MDP (``docs/papers/bq_nco.md``; Drakulic et al. 2023,
Sec. 3) has states ``(c, U)``: the current node and the set of unvisited nodes, the destination
being the fixed start node 0. Its Bellman equation is the Held-Karp recursion (Held & Karp 1962;
Bellman 1962)::

    V(c, {}) = d(c, 0),        V(c, U) = min_{j in U} d(c, j) + V(j, U \\ {j}),

and the optimal tour length is ``V(0, {1, ..., n-1})``. :func:`solve_tsp_exact` evaluates it with
bitmasks in numba (``O(n^2 2^n)`` time, ``O(n 2^n)`` memory, ``n <= 20``); distances may be
asymmetric. The rest of the module serves the learning part of BQ-NCO: random Euclidean instances,
batched expert tours, the suffix sub-problems of an expert tour (the paper's data augmentation) and
greedy decoding with any scoring callable.

Conventions: ``dist`` is ``(n, n)`` with ``dist[i, j]`` the cost of the arc ``i -> j`` (the diagonal
is never used); a tour is an ``(n,)`` permutation starting at node 0, closed implicitly
(``tour[-1] -> tour[0]``); ``coords`` is ``(n, 2)`` or ``(B, n, 2)``.
"""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np
from numba import njit

from mdp._common import result
from mdp._common.deprecation import migrate_signature
from mdp._validation import as_float_array, check_positive_int, check_rng

__all__ = [
    "MAX_HELD_KARP_NODES",
    "TSPSolution",
    "TSPBatchSolution",
    "SubProblems",
    "GreedyDecoding",
    "solve_tsp_exact",
    "solve_tsp_batch",
    "reference_held_karp",
    "brute_force_tsp",
    "tour_length",
    "euclidean_distances",
    "random_euclidean_tsp",
    "tsp_subproblems",
    "sample_subproblem_size",
    "greedy_tsp",
    "nearest_neighbour_scores",
]

#: Largest instance :func:`solve_tsp_exact` accepts: the value table has ``n 2^(n-1)`` float64
#: entries (84 MB at ``n = 20``).
MAX_HELD_KARP_NODES = 20


# --------------------------------------------------------------------------- validation
def check_dist(dist, name: str = "dist", *, max_n: int | None = None) -> np.ndarray:
    """Validate a distance matrix: square ``(n, n)``, ``n >= 1``, finite, non-negative; float64 copy."""
    arr = as_float_array(dist, name)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) matrix, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must have at least one node, got shape {arr.shape}")
    if arr.size and arr.min() < 0:
        i, j = np.unravel_index(int(np.argmin(arr)), arr.shape)
        raise ValueError(f"{name} must be non-negative; {name}[{i}, {j}] = {arr[i, j]}")
    if max_n is not None and arr.shape[0] > max_n:
        raise ValueError(
            f"{name} has n = {arr.shape[0]} nodes; Held-Karp needs n * 2^(n-1) table entries and is "
            f"limited to n <= {max_n} (use a heuristic or a learned policy for larger instances)"
        )
    return arr.copy()


def check_tour(tour, n: int, name: str = "tour") -> np.ndarray:
    """Validate a tour: a permutation of ``range(n)`` (int64 copy)."""
    arr = np.asarray(tour)
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(f"{name} must be a 1-d integer array, got dtype {arr.dtype} and shape {arr.shape}")
    if arr.shape[0] != n or not np.array_equal(np.sort(arr), np.arange(n)):
        raise ValueError(f"{name} must be a permutation of range({n}), got {arr.tolist()}")
    return arr.astype(np.int64)


# --------------------------------------------------------------------------- results
@result
class TSPSolution:
    """An optimal tour.

    Attributes
    ----------
    length : float
        Cost of ``tour`` (closed), ``sum_k dist[tour[k], tour[k+1]] + dist[tour[-1], tour[0]]``.
    tour : ndarray of int64, shape (n,)
        Node order starting at node 0.
    value : float
        ``V(0, {1..n-1})``, the optimal value of the BQ-MDP's start state as the DP computed it
        (equal to ``length`` up to summation order, exactly so for integer distances).
    method : str
    """

    length: float
    tour: np.ndarray
    value: float
    method: str = "held-karp"


@result
class TSPBatchSolution:
    """Optimal tours of a batch: ``tours`` ``(B, n)`` int64, ``lengths`` ``(B,)``."""

    tours: np.ndarray
    lengths: np.ndarray


# --------------------------------------------------------------------------- Held-Karp kernel
@njit(cache=True)
def _held_karp_table(dist, V):
    """Fill ``V[U, c]`` = cost of the best path ``c -> (all of U) -> 0`` (bit ``j-1`` of ``U`` is node ``j``).

    Only entries with ``c`` not in ``U`` are meaningful; ``c = 0`` only for the full set.
    """
    n = dist.shape[0]
    m = n - 1
    full = (1 << m) - 1
    for c in range(n):
        V[0, c] = dist[c, 0]
    for U in range(1, full + 1):
        for c in range(n):
            if c == 0:
                if U != full:
                    continue
            elif (U >> (c - 1)) & 1:
                continue
            best = np.inf
            rest = U
            while rest:
                low = rest & (-rest)
                j = 0
                t = low
                while t > 1:
                    t >>= 1
                    j += 1
                j += 1  # node index of bit (j - 1)
                val = dist[c, j] + V[U ^ low, j]
                if val < best:
                    best = val
                rest ^= low
            V[U, c] = best


@njit(cache=True)
def _held_karp_tour(dist, V, tour):
    """Follow the greedy (argmin, smallest index on ties) policy of ``V`` from ``(0, full)``."""
    n = dist.shape[0]
    U = (1 << (n - 1)) - 1
    c = 0
    tour[0] = 0
    for k in range(1, n):
        best = np.inf
        arg = -1
        for j in range(1, n):
            if (U >> (j - 1)) & 1:
                val = dist[c, j] + V[U ^ (1 << (j - 1)), j]
                if val < best:
                    best = val
                    arg = j
        tour[k] = arg
        U ^= 1 << (arg - 1)
        c = arg


@njit(cache=True)
def _tour_length(dist, tour):
    n = tour.shape[0]
    total = 0.0
    for k in range(n - 1):
        total += dist[tour[k], tour[k + 1]]
    return total + dist[tour[n - 1], tour[0]]


@njit(cache=True)
def _held_karp_batch(dists, tours, lengths, values):
    B, n = dists.shape[0], dists.shape[1]
    V = np.empty((1 << (n - 1), n))
    for b in range(B):
        _held_karp_table(dists[b], V)
        values[b] = V[(1 << (n - 1)) - 1, 0]
        _held_karp_tour(dists[b], V, tours[b])
        lengths[b] = _tour_length(dists[b], tours[b])


def _trivial_solution(dist):
    n = dist.shape[0]
    tour = np.arange(n, dtype=np.int64)
    length = float(_tour_length(dist, tour)) if n > 1 else 0.0
    return tour, length


def solve_tsp_exact(dist) -> TSPSolution:
    """Optimal TSP tour by the Held-Karp DP, the Bellman equation of the TSP's BQ-MDP.

    Parameters
    ----------
    dist : array_like, shape (n, n)
        Arc costs ``dist[i, j]`` of ``i -> j``; finite, non-negative, possibly asymmetric (ATSP);
        the diagonal is ignored. ``1 <= n <= 20`` (:data:`MAX_HELD_KARP_NODES`).

    Returns
    -------
    TSPSolution
        ``.length`` (cost of the closed tour), ``.tour`` ``(n,)`` starting at node 0, ``.value``.

    Notes
    -----
    ``V(c, U) = min_{j in U} d(c, j) + V(j, U \\ {j})``, ``V(c, {}) = d(c, 0)`` (Held & Karp 1962;
    Drakulic et al. 2023, BQ-MDP of the TSP, ``docs/papers/bq_nco.md``). Ties go to the smallest node index.
    ``n = 16`` takes about 10 ms; ``n = 20`` about a second and 84 MB.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([[0, 1, 9, 1], [1, 0, 1, 9], [9, 1, 0, 1], [1, 9, 1, 0]])
    >>> r = solve_tsp_exact(d)
    >>> r.length, r.tour.tolist()
    (4.0, [0, 1, 2, 3])
    """
    d = check_dist(dist, max_n=MAX_HELD_KARP_NODES)
    n = d.shape[0]
    if n <= 2:
        tour, length = _trivial_solution(d)
        return TSPSolution(length=length, tour=tour, value=length)
    tours = np.empty((1, n), dtype=np.int64)
    lengths, values = np.empty(1), np.empty(1)
    _held_karp_batch(d[None], tours, lengths, values)
    return TSPSolution(length=float(lengths[0]), tour=tours[0], value=float(values[0]))


def solve_tsp_batch(instances, *, kind: str = "auto") -> TSPBatchSolution:
    """Expert (optimal) tours for a batch of instances of one size, by Held-Karp.

    Parameters
    ----------
    instances : array_like
        Either coordinates ``(B, n, 2)`` (Euclidean distances, unrounded) or distance matrices
        ``(B, n, n)``; ``n <= 20``.
    kind : {"auto", "coords", "dist"}
        How to read ``instances``; ``"auto"`` reads ``(B, n, n)`` as distances and ``(B, n, 2)``,
        ``n != 2``, as coordinates, and refuses the ambiguous shape ``(B, 2, 2)`` (two points in the
        plane, or 2 x 2 distance matrices?): pass ``kind`` explicitly for it.

    Returns
    -------
    TSPBatchSolution
        ``.tours`` ``(B, n)`` (each starting at node 0) and ``.lengths`` ``(B,)``.
    """
    arr = as_float_array(instances, "instances", ndim=3)
    B, n, k = arr.shape
    if B == 0 or n == 0:
        raise ValueError(f"instances must hold at least one instance with at least one node, got shape {arr.shape}")
    if kind not in ("auto", "coords", "dist"):
        raise ValueError(f"kind must be 'auto', 'coords' or 'dist', got {kind!r}")
    if kind == "auto":
        if n == k == 2:
            raise ValueError(
                f"instances of shape {arr.shape} are ambiguous under kind='auto': pass kind='coords' "
                "for B instances of 2 points in the plane, or kind='dist' for B 2 x 2 distance matrices"
            )
        kind = "dist" if k == n else "coords" if k == 2 else None
    if kind == "coords":
        dists = euclidean_distances(arr)
    elif kind == "dist" and k == n:
        dists = arr
        for b in range(B):
            check_dist(dists[b], f"instances[{b}]")
    else:
        raise ValueError(
            f"instances must be coordinates (B, n, 2) or distance matrices (B, n, n), got shape {arr.shape}"
        )
    if n > MAX_HELD_KARP_NODES:
        check_dist(dists[0], "instances[0]", max_n=MAX_HELD_KARP_NODES)
    tours = np.empty((B, n), dtype=np.int64)
    lengths, values = np.empty(B), np.empty(B)
    if n <= 2:
        for b in range(B):
            tours[b], lengths[b] = _trivial_solution(dists[b])
    else:
        _held_karp_batch(np.ascontiguousarray(dists), tours, lengths, values)
    return TSPBatchSolution(tours=tours, lengths=lengths)


# --------------------------------------------------------------------------- reference twins
def reference_held_karp(dist) -> tuple[float, np.ndarray]:
    """Plain-Python Held-Karp over ``frozenset`` states (the kernel's obviously-correct twin).

    Returns ``(value, tour)``; ties go to the smallest node index, as in the kernel.
    """
    d = check_dist(dist)
    n = d.shape[0]
    if n <= 2:
        tour, length = _trivial_solution(d)
        return length, tour
    nodes = range(1, n)
    V = {}
    for size in range(n):
        for U in itertools.combinations(nodes, size):
            Us = frozenset(U)
            for c in [0] if size == n - 1 else [c for c in nodes if c not in Us]:
                V[c, Us] = d[c, 0] if not Us else min(d[c, j] + V[j, Us - {j}] for j in sorted(Us))
    U, c, tour = frozenset(nodes), 0, [0]
    while U:
        j = min(sorted(U), key=lambda j: d[c, j] + V[j, U - {j}])
        tour.append(j)
        U, c = U - {j}, j
    return float(V[0, frozenset(nodes)]), np.array(tour, dtype=np.int64)


def brute_force_tsp(dist) -> tuple[float, np.ndarray]:
    """Best tour over all ``(n-1)!`` orders with node 0 first (``n <= 10``); returns ``(length, tour)``."""
    d = check_dist(dist, max_n=10)
    n = d.shape[0]
    best, best_tour = np.inf, None
    for perm in itertools.permutations(range(1, n)):
        tour = np.array((0,) + perm, dtype=np.int64)
        length = float(_tour_length(d, tour)) if n > 1 else 0.0
        if length < best:
            best, best_tour = length, tour
    return best, best_tour


def tour_length(dist, tour) -> float | np.ndarray:
    """Cost of closed tours: ``sum_k dist[t_k, t_{k+1}] + dist[t_{n-1}, t_0]``.

    ``dist`` ``(n, n)`` with ``tour`` ``(n,)`` gives a float; ``dist`` ``(B, n, n)`` (or coordinates
    ``(B, n, 2)``, Euclidean) with ``tours`` ``(B, n)`` gives ``(B,)``.
    """
    d = as_float_array(dist, "dist")
    t = np.asarray(tour)
    if d.ndim == 2:
        d = check_dist(d)
        t = check_tour(t, d.shape[0])
        return float(_tour_length(d, t)) if d.shape[0] > 1 else 0.0
    if d.ndim != 3:
        raise ValueError(f"dist must be (n, n), (B, n, n) or coordinates (B, n, 2), got shape {d.shape}")
    if d.shape[2] == 2 and d.shape[1] != 2:
        d = euclidean_distances(d)
    if t.ndim != 2 or t.shape[0] != d.shape[0]:
        raise ValueError(f"tour must have shape ({d.shape[0]}, {d.shape[1]}) for a batch, got {t.shape}")
    out = np.empty(d.shape[0])
    for b in range(d.shape[0]):
        out[b] = tour_length(d[b], t[b])
    return out


# --------------------------------------------------------------------------- instances
def euclidean_distances(coords) -> np.ndarray:
    """Euclidean distance matrices (unrounded) of ``coords`` ``(..., n, k)`` -> ``(..., n, n)``."""
    x = as_float_array(coords, "coords")
    if x.ndim < 2:
        raise ValueError(f"coords must have shape (..., n, k), got {x.shape}")
    diff = x[..., :, None, :] - x[..., None, :, :]
    return np.sqrt(np.einsum("...k,...k->...", diff, diff))


@migrate_signature(was_positional=("rng",))
def random_euclidean_tsp(n: int, batch: int | None = None, *, rng: np.random.Generator) -> np.ndarray:
    """Uniform random points in the unit square: ``(batch, n, 2)`` (or ``(n, 2)`` when ``batch`` is None).

    The standard random TSP distribution of the neural-CO literature (Kool et al. 2019; BQ-NCO).
    ``rng`` is required (``numpy.random.Generator``).
    """
    n = check_positive_int(n, "n")
    rng = check_rng(rng)
    if batch is None:
        return rng.random((n, 2))
    batch = check_positive_int(batch, "batch")
    return rng.random((batch, n, 2))


# --------------------------------------------------------------------------- sub-problems
@result
class SubProblems:
    """Suffix sub-problems of expert tours, one per instance, all of size ``L``.

    Attributes
    ----------
    nodes : ndarray of int64, shape (B, L)
        ``[origin, remaining..., destination]`` as node indices of the original instances, ordered
        along the expert tour, so the expert's next node is always at index 1 (``target``).
    coords : ndarray, shape (B, L, k) or None
        The coordinates of ``nodes`` (None when the instances were given as distance matrices).
    size : int
        ``L`` = number of tokens (origin + remaining + destination); ``L - 2`` nodes remain.
    target : int
        Index of the expert's action within the sub-problem (always 1).
    """

    nodes: np.ndarray
    coords: np.ndarray | None
    size: int
    target: int = 1


def _as_batch(coords, tour):
    x = as_float_array(coords, "coords")
    t = np.asarray(tour)
    single = x.ndim == 2
    if single:
        x, t = x[None], t[None]
    if x.ndim != 3:
        raise ValueError(f"coords must have shape (n, k) or (B, n, k), got {np.shape(coords)}")
    B, n = x.shape[:2]
    if t.shape != (B, n):
        raise ValueError(f"tour must have shape {(n,) if single else (B, n)} to match coords, got {np.shape(tour)}")
    for b in range(B):
        check_tour(t[b], n, "tour" if single else f"tour[{b}]")
    return x, t.astype(np.int64), single


def tsp_subproblems(coords, tour, size: int | None = None):
    """The suffix sub-problems of expert tours (BQ-NCO's data augmentation, ``docs/papers/bq_nco.md``).

    The closed tour ``t_0, ..., t_{n-1}, t_0`` has, for every ``L`` in ``2..n+1``, the suffix
    ``[t_{n+1-L}, ..., t_{n-1}, t_0]``: origin ``t_{n+1-L}`` (the current node), the ``L - 2``
    remaining nodes in expert order, and the destination ``t_0``. It is the BQ-MDP state reached after
    ``n + 1 - L`` expert steps, and the expert's action in it is the node at index 1.

    Parameters
    ----------
    coords : array_like, shape (n, k) or (B, n, k)
        Node features (coordinates); a distance matrix's rows work too.
    tour : array_like of int, shape (n,) or (B, n)
        Expert tours (permutations, any start; ``t_0`` is the destination).
    size : int, optional
        ``L`` in ``[2, n + 1]``; ``None`` returns a list with every size ``n + 1, n, ..., 2``.

    Returns
    -------
    SubProblems or list of SubProblems
        ``nodes`` ``(B, L)`` and ``coords`` ``(B, L, k)`` (batch axis kept even for one instance).
    """
    x, t, _ = _as_batch(coords, tour)
    B, n = t.shape
    if size is None:
        return [tsp_subproblems(x, t, L) for L in range(n + 1, 1, -1)]
    L = check_positive_int(size, "size", minimum=2)
    if L > n + 1:
        raise ValueError(f"size must lie in [2, n + 1] = [2, {n + 1}], got {L}")
    closed = np.concatenate([t, t[:, :1]], axis=1)
    nodes = np.ascontiguousarray(closed[:, n + 1 - L :])
    sub = np.take_along_axis(x, nodes[:, :, None], axis=1)
    return SubProblems(nodes=nodes, coords=sub, size=L)


@migrate_signature(was_positional=("rng",))
def sample_subproblem_size(n: int, *, rng: np.random.Generator, min_size: int = 4) -> int:
    """``L ~ Uniform{min_size, ..., n + 1}`` (one size per minibatch, as in BQ-NCO's training)."""
    n = check_positive_int(n, "n")
    rng = check_rng(rng)
    min_size = check_positive_int(min_size, "min_size", minimum=2)
    if min_size > n + 1:
        raise ValueError(f"min_size must be <= n + 1 = {n + 1}, got {min_size}")
    return int(rng.integers(min_size, n + 2))


# --------------------------------------------------------------------------- greedy decoding
@result
class GreedyDecoding:
    """Greedy tours: ``tours`` ``(B, n)``, ``lengths`` ``(B,)`` (Euclidean or given distances),
    ``n_calls`` scoring calls made and ``call_sizes`` the token count of each call."""

    tours: np.ndarray
    lengths: np.ndarray
    n_calls: int
    call_sizes: tuple


def _scores_array(s, shape, view):
    if hasattr(s, "detach"):  # a torch tensor (torch itself is never imported here)
        s = s.detach().cpu().numpy()
    s = np.asarray(s, dtype=np.float64)
    if s.shape != shape:
        raise ValueError(f"score_fn must return scores of shape {shape} ({view} view), got {s.shape}")
    if np.any(np.isnan(s)):
        raise ValueError("score_fn returned NaN scores")
    return s


def greedy_tsp(coords, score_fn: Callable, *, view: str = "bq", dist=None) -> GreedyDecoding:
    """Decode tours greedily with a scoring callable (a learned policy or a heuristic).

    Parameters
    ----------
    coords : array_like, shape (n, k) or (B, n, k)
        Instances (one size). Decoding starts at node 0 and returns there.
    score_fn : callable
        ``view="bq"``: ``score_fn(sub_coords (B, L, k), sub_nodes (B, L)) -> (B, L)`` scores of the
        current sub-problem ``[origin, remaining..., destination]``; origin and destination are
        masked, the argmax among the remaining tokens is taken, and the next sub-problem moves the
        chosen node to the front and drops the old origin (BQ-NCO's decoding). It is called on sizes
        ``L = n + 1, n, ..., 3`` (``n - 1`` calls; BQ3).
        ``view="direct"``: ``score_fn(coords (B, n, k), flags (B, n, 3)) -> (B, n)`` with flags
        ``[visited, current, first]``; visited nodes are masked. Called ``n - 1`` times on size ``n``.
        Torch tensors are accepted as return values.
    view : {"bq", "direct"}
    dist : array_like, shape (n, n) or (B, n, n), optional
        Distances for the reported lengths (default Euclidean on ``coords``; pass TSPLIB-rounded ones
        to compare with TSPLIB optima).

    Returns
    -------
    GreedyDecoding
    """
    if view not in ("bq", "direct"):
        raise ValueError(f"view must be 'bq' or 'direct', got {view!r}")
    if not callable(score_fn):
        raise TypeError(f"score_fn must be callable, got {type(score_fn).__name__}")
    x = as_float_array(coords, "coords")
    single = x.ndim == 2
    if single:
        x = x[None]
    if x.ndim != 3 or x.shape[1] == 0:
        raise ValueError(f"coords must have shape (n, k) or (B, n, k) with n >= 1, got {np.shape(coords)}")
    B, n, _ = x.shape
    tours = np.zeros((B, n), dtype=np.int64)
    rows = np.arange(B)
    sizes = []
    if view == "bq":
        # current sub-problem as node indices: [origin, remaining..., destination]
        sub = np.concatenate(
            [np.zeros((B, 1), np.int64), np.tile(np.arange(1, n), (B, 1)), np.zeros((B, 1), np.int64)], axis=1
        )
        for k in range(1, n):
            L = sub.shape[1]
            s = _scores_array(score_fn(np.take_along_axis(x, sub[:, :, None], axis=1), sub.copy()), (B, L), view)
            sizes.append(L)
            s = s.copy()
            s[:, 0] = -np.inf
            s[:, -1] = -np.inf
            pick = np.argmax(s, axis=1)  # in 1..L-2
            chosen = sub[rows, pick]
            tours[:, k] = chosen
            keep = np.ones_like(sub, dtype=bool)
            keep[:, 0] = False
            keep[rows, pick] = False
            rest = sub[keep].reshape(B, L - 2)
            sub = np.concatenate([chosen[:, None], rest], axis=1)
    else:
        visited = np.zeros((B, n), dtype=bool)
        visited[:, 0] = True
        cur = np.zeros(B, dtype=np.int64)
        for k in range(1, n):
            flags = np.zeros((B, n, 3))
            flags[:, :, 0] = visited
            flags[rows, cur, 1] = 1.0
            flags[:, 0, 2] = 1.0
            s = _scores_array(score_fn(x.copy(), flags), (B, n), view).copy()
            sizes.append(n)
            s[visited] = -np.inf
            cur = np.argmax(s, axis=1)
            visited[rows, cur] = True
            tours[:, k] = cur
    if dist is None:
        lengths = tour_length(euclidean_distances(x), tours) if n > 1 else np.zeros(B)
    else:
        d = as_float_array(dist, "dist")
        d = d[None] if d.ndim == 2 else d
        if d.shape != (B, n, n):
            raise ValueError(f"dist must have shape {(n, n) if single else (B, n, n)}, got {np.shape(dist)}")
        lengths = tour_length(d, tours)
    return GreedyDecoding(
        tours=tours, lengths=np.asarray(lengths, dtype=np.float64), n_calls=len(sizes), call_sizes=tuple(sizes)
    )


def nearest_neighbour_scores(sub_coords, sub_nodes=None) -> np.ndarray:
    """BQ-view scores of the nearest-neighbour heuristic: ``-|x_j - x_origin|`` (for :func:`greedy_tsp`)."""
    x = np.asarray(sub_coords, dtype=np.float64)
    return -np.linalg.norm(x - x[:, :1, :], axis=-1)
