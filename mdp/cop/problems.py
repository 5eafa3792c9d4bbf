"""Knapsack, CVRP and orienteering: instances, exact DPs through their BQ-MDPs, brute force.

Each problem's constructive MDP (``mdp.cop.constructive``) is quotiented by the map to the remaining
sub-problem (BQ-NCO, Drakulic et al. 2023; ``docs/papers/bq_nco.md``); the DPs here are the Bellman equations of
those quotients, evaluated with bitmasks in numba:

* 0/1 knapsack (maximise value): the BQ state is (remaining items that still fit, remaining
  capacity). Its Bellman equation is solved here in the classical further-reduced form over
  (item index, capacity), ``F(i, c) = max(F(i+1, c), v_i + F(i+1, c - w_i))`` (Bellman 1957),
  which has the same optimal value (the order of picks is irrelevant to the objective).
* CVRP (minimise length): BQ state (current node, remaining customers, remaining capacity);
  ``V(c, U, q) = min( d(c,0) + V(0, U, Q) [c != 0],  min_{j in U, q_j <= q} d(c,j) + V(j, U\\{j}, q - q_j) )``,
  ``V(c, {}, q) = d(c, 0)``, ``V(0, {}, Q) = 0``.
* Orienteering (maximise prize within a length budget, tour from and back to the depot 0):
  BQ state (current node, remaining nodes, remaining budget);
  ``V(c, U, b) = max(stop(c, b), max_{j in U, d(c,j) <= b} p_j + V(j, U\\{j}, b - d(c,j)))`` with
  ``stop(c, b) = 0`` if ``d(c, 0) <= b`` (return to the depot along the edge ``(c, 0)``; at the depot
  itself, the empty tour) and ``-inf`` otherwise, so ``V = -inf`` marks a sub-problem that can no
  longer be closed into a tour within the budget. A tour is a simple cycle ``0, j_1, ..., j_k, 0``
  and this recursion charges exactly its edges, so the DP is exact for any non-negative ``d`` --
  no triangle inequality is assumed (``check_dist`` does not require one, and ``nint``-rounded
  Euclidean distances may violate it). The shortcut rule "``j`` is allowed iff
  ``d(c,j) + d(j,0) <= b``" is exact only for metric ``d``: without the triangle inequality a path
  back through unvisited nodes may be shorter than the edge ``(j, 0)``.
  With integer distances and budget the budget axis is an integer table; otherwise an exact
  memoised recursion over float budgets is used (small n).

Conventions: node 0 is the depot; weights, demands, capacities are non-negative integers;
solutions are item index arrays (knapsack) or node sequences from the depot back to it.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
from numba import njit

from mdp._common import frozen, result
from mdp._common.deprecation import migrate_signature
from mdp._validation import as_float_array, check_positive_int, check_rng
from mdp.cop.tsp import check_dist

__all__ = [
    "KnapsackInstance",
    "CVRPInstance",
    "OrienteeringInstance",
    "COPSolution",
    "random_knapsack",
    "random_cvrp",
    "random_orienteering",
    "solve_knapsack_exact",
    "solve_cvrp_exact",
    "solve_orienteering_exact",
    "brute_force_knapsack",
    "brute_force_cvrp",
    "brute_force_orienteering",
]

_MAX_TABLE = 60_000_000  # float64 entries (480 MB) a DP table may take


def _int_array(x, name, *, ndim=1):
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    f = arr.astype(np.float64)
    if not np.all(np.isfinite(f)) or not np.all(f == np.round(f)):
        raise ValueError(f"{name} must hold finite integers, got {arr.tolist()}")
    if np.any(f < 0):
        raise ValueError(f"{name} must be non-negative, got {arr.tolist()}")
    return f.astype(np.int64)


def _int_scalar(x, name):
    if isinstance(x, bool) or not np.isscalar(x):
        raise TypeError(f"{name} must be a non-negative integer, got {type(x).__name__}")
    f = float(x)
    if not np.isfinite(f) or f != round(f) or f < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {x}")
    return int(f)


# --------------------------------------------------------------------------- instances
@result
class KnapsackInstance:
    """0/1 knapsack: integer ``weights`` ``(n,)``, ``values`` ``(n,)`` >= 0, integer ``capacity``."""

    weights: np.ndarray
    values: np.ndarray
    capacity: int

    def __post_init__(self):
        w = _int_array(self.weights, "weights")
        v = as_float_array(self.values, "values", ndim=1)
        if v.shape != w.shape:
            raise ValueError(f"values must have shape {w.shape} to match weights, got {v.shape}")
        if np.any(v < 0):
            raise ValueError(f"values must be non-negative, got {v.tolist()}")
        object.__setattr__(self, "weights", frozen(w))
        object.__setattr__(self, "values", frozen(v.copy()))
        object.__setattr__(self, "capacity", _int_scalar(self.capacity, "capacity"))

    @property
    def n(self) -> int:
        return int(self.weights.shape[0])


@result
class CVRPInstance:
    """CVRP: ``dist`` ``(n, n)`` (node 0 the depot), integer ``demands`` ``(n,)`` with ``demands[0] = 0``,
    integer ``capacity`` >= every demand."""

    dist: np.ndarray
    demands: np.ndarray
    capacity: int

    def __post_init__(self):
        d = check_dist(self.dist)
        q = _int_array(self.demands, "demands")
        if q.shape != (d.shape[0],):
            raise ValueError(f"demands must have shape ({d.shape[0]},) to match dist, got {q.shape}")
        if q[0] != 0:
            raise ValueError(f"demands[0] (the depot) must be 0, got {q[0]}")
        Q = _int_scalar(self.capacity, "capacity")
        if q.max() > Q:
            j = int(np.argmax(q))
            raise ValueError(f"demands[{j}] = {q[j]} exceeds capacity {Q}: the instance is infeasible")
        object.__setattr__(self, "dist", frozen(d))
        object.__setattr__(self, "demands", frozen(q))
        object.__setattr__(self, "capacity", Q)

    @property
    def n(self) -> int:
        return int(self.dist.shape[0])


@result
class OrienteeringInstance:
    """Orienteering: ``dist`` ``(n, n)`` (node 0 the depot), ``prizes`` ``(n,)`` >= 0 with ``prizes[0] = 0``,
    length ``budget`` >= 0. ``integral`` is True when ``dist`` and ``budget`` are integers."""

    dist: np.ndarray
    prizes: np.ndarray
    budget: float

    def __post_init__(self):
        d = check_dist(self.dist)
        p = as_float_array(self.prizes, "prizes", ndim=1)
        if p.shape != (d.shape[0],):
            raise ValueError(f"prizes must have shape ({d.shape[0]},) to match dist, got {p.shape}")
        if np.any(p < 0):
            raise ValueError(f"prizes must be non-negative, got {p.tolist()}")
        if p[0] != 0:
            raise ValueError(f"prizes[0] (the depot) must be 0, got {p[0]}")
        if (
            isinstance(self.budget, bool)
            or not np.isscalar(self.budget)
            or not np.isfinite(float(self.budget))
            or float(self.budget) < 0
        ):
            raise ValueError(f"budget must be a finite number >= 0, got {self.budget!r}")
        object.__setattr__(self, "dist", frozen(d))
        object.__setattr__(self, "prizes", frozen(p.copy()))
        object.__setattr__(self, "budget", float(self.budget))

    @property
    def n(self) -> int:
        return int(self.dist.shape[0])

    @property
    def integral(self) -> bool:
        return bool(np.all(self.dist == np.round(self.dist)) and self.budget == round(self.budget))


@result
class COPSolution:
    """An optimal solution: ``value`` (objective; a value for knapsack/orienteering, a length for CVRP),
    ``solution`` (chosen items, or the node sequence from the depot back to it) and ``method``."""

    value: float
    solution: np.ndarray
    method: str


@migrate_signature(was_positional=("rng",))
def random_knapsack(
    n: int, *, rng: np.random.Generator, max_weight: int = 10, capacity_ratio: float = 0.5
) -> KnapsackInstance:
    """Weights uniform in ``1..max_weight``, values uniform in ``[0, 1)``, capacity ``ratio * sum(w)`` (floored)."""
    n = check_positive_int(n, "n")
    rng = check_rng(rng)
    w = rng.integers(1, max_weight + 1, size=n)
    return KnapsackInstance(w, rng.random(n), int(capacity_ratio * w.sum()))


@migrate_signature(was_positional=("rng",))
def random_cvrp(
    n: int,
    *,
    rng: np.random.Generator,
    capacity: int = 10,
    max_demand: int = 5,
    integral: bool = False,
    scale: float = 10.0,
) -> CVRPInstance:
    """``n`` nodes (depot 0 + ``n - 1`` customers) uniform in the unit square, demands in
    ``1..min(max_demand, capacity)``.

    ``integral=True`` rounds ``scale *`` the Euclidean distances to integers (TSPLIB's ``nint``).
    """
    n = check_positive_int(n, "n", minimum=2)
    rng = check_rng(rng)
    x = rng.random((n, 2))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    if integral:
        d = np.floor(scale * d + 0.5)
    capacity = check_positive_int(capacity, "capacity")
    q = np.concatenate([[0], rng.integers(1, min(max_demand, capacity) + 1, size=n - 1)])
    return CVRPInstance(d, q, capacity)


@migrate_signature(was_positional=("rng",))
def random_orienteering(
    n: int, *, rng: np.random.Generator, scale: float = 10.0, budget_ratio: float = 0.5, integral: bool = True
) -> OrienteeringInstance:
    """``n`` nodes uniform in the unit square, prizes in ``[0, 1)``, distances ``nint(scale * euclid)``
    (``integral``; else unrounded), budget ``budget_ratio * 2 * max_j d(0, j)`` (floored when integral)."""
    n = check_positive_int(n, "n", minimum=2)
    rng = check_rng(rng)
    x = rng.random((n, 2))
    d = scale * np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    if integral:
        d = np.floor(d + 0.5)
    p = np.concatenate([[0.0], rng.random(n - 1)])
    b = budget_ratio * 2.0 * d[0].max()
    return OrienteeringInstance(d, p, float(np.floor(b)) if integral else float(b))


# --------------------------------------------------------------------------- knapsack
@njit(cache=True)
def _knapsack_dp(w, v, W, F, take):
    n = w.shape[0]
    for c in range(W + 1):
        F[n, c] = 0.0
    for i in range(n - 1, -1, -1):
        for c in range(W + 1):
            best = F[i + 1, c]
            t = False
            if w[i] <= c:
                alt = v[i] + F[i + 1, c - w[i]]
                if alt > best:
                    best = alt
                    t = True
            F[i, c] = best
            take[i, c] = t


def solve_knapsack_exact(instance: KnapsackInstance) -> COPSolution:
    """Optimal 0/1 knapsack by DP over (item index, remaining capacity) (numba; ``O(n W)``).

    Returns ``value`` (total value) and ``solution`` (sorted chosen item indices).
    """
    if not isinstance(instance, KnapsackInstance):
        raise TypeError(f"instance must be a KnapsackInstance, got {type(instance).__name__}")
    n, W = instance.n, instance.capacity
    if (n + 1) * (W + 1) > _MAX_TABLE:
        raise ValueError(f"capacity {W} with {n} items needs a {(n + 1) * (W + 1)}-entry table; limit {_MAX_TABLE}")
    F = np.empty((n + 1, W + 1))
    take = np.zeros((n + 1, W + 1), dtype=np.bool_)
    _knapsack_dp(instance.weights, instance.values, W, F, take)
    items, c = [], W
    for i in range(n):
        if take[i, c]:
            items.append(i)
            c -= instance.weights[i]
    return COPSolution(value=float(F[0, W]), solution=np.array(items, dtype=np.int64), method="dp(item, capacity)")


def brute_force_knapsack(instance: KnapsackInstance) -> COPSolution:
    """Best feasible subset over all ``2^n`` subsets (``n <= 16``)."""
    if instance.n > 16:
        raise ValueError(f"brute force is limited to n <= 16 items, got {instance.n}")
    best, arg = 0.0, ()
    for k in range(instance.n + 1):
        for S in itertools.combinations(range(instance.n), k):
            S_ = list(S)
            if instance.weights[S_].sum() <= instance.capacity:
                val = float(instance.values[S_].sum())
                if val > best:
                    best, arg = val, S
    return COPSolution(value=best, solution=np.array(arg, dtype=np.int64), method="brute force")


# --------------------------------------------------------------------------- CVRP
@njit(cache=True)
def _cvrp_dp(d, q, Q, V):
    """``V[c, U, r]``: best cost from node ``c`` with customers ``U`` (bit ``j-1`` = node ``j``) left and
    remaining capacity ``r``, ending at the depot. At the depot only ``r = Q`` is used."""
    n = d.shape[0]
    full = (1 << (n - 1)) - 1
    for U in range(0, full + 1):
        # depot state (0, U, Q) first: it only needs smaller sets
        if U == 0:
            V[0, 0, Q] = 0.0
        else:
            best = np.inf
            for j in range(1, n):
                if (U >> (j - 1)) & 1:
                    val = d[0, j] + V[j, U ^ (1 << (j - 1)), Q - q[j]]
                    if val < best:
                        best = val
            V[0, U, Q] = best
        for c in range(1, n):
            if (U >> (c - 1)) & 1:
                continue
            for r in range(Q + 1):
                if U == 0:
                    V[c, U, r] = d[c, 0]
                    continue
                best = d[c, 0] + V[0, U, Q]
                for j in range(1, n):
                    if (U >> (j - 1)) & 1 and q[j] <= r:
                        val = d[c, j] + V[j, U ^ (1 << (j - 1)), r - q[j]]
                        if val < best:
                            best = val
                V[c, U, r] = best


def solve_cvrp_exact(instance: CVRPInstance) -> COPSolution:
    """Optimal CVRP routes by DP over the BQ state (current node, remaining customers, remaining capacity).

    Returns ``value`` (total length) and ``solution``: the node sequence ``[0, ..., 0, ..., 0]`` with a
    depot visit between routes. ``n <= 16`` nodes and ``n 2^(n-1) (Q + 1)`` table entries.
    """
    if not isinstance(instance, CVRPInstance):
        raise TypeError(f"instance must be a CVRPInstance, got {type(instance).__name__}")
    n, Q = instance.n, instance.capacity
    if n > 16 or n * (1 << (n - 1)) * (Q + 1) > _MAX_TABLE:
        raise ValueError(f"CVRP DP limited to n <= 16 nodes and {_MAX_TABLE} table entries; got n = {n}, capacity {Q}")
    d, q = instance.dist, instance.demands
    V = np.full((n, 1 << (n - 1), Q + 1), np.inf)
    _cvrp_dp(d, q, Q, V)
    # follow the argmin policy (ties: depot first, then smallest index), as the DP defines it
    U, c, r, route = (1 << (n - 1)) - 1, 0, Q, [0]
    while U:
        options = []
        if c != 0:
            options.append((d[c, 0] + V[0, U, Q], 0))
        for j in range(1, n):
            if (U >> (j - 1)) & 1 and q[j] <= r:
                options.append((d[c, j] + V[j, U ^ (1 << (j - 1)), r - q[j]], j))
        _, j = min(options, key=lambda t: t[0])
        route.append(j)
        if j == 0:
            c, r = 0, Q
        else:
            U ^= 1 << (j - 1)
            c, r = j, r - q[j]
    if route[-1] != 0:
        route.append(0)
    return COPSolution(
        value=float(V[0, (1 << (n - 1)) - 1, Q]),
        solution=np.array(route, dtype=np.int64),
        method="dp(current, remaining, capacity)",
    )


def _route_cost(d, seq):
    return float(sum(d[a, b] for a, b in zip(seq[:-1], seq[1:])))


def brute_force_cvrp(instance: CVRPInstance) -> COPSolution:
    """Best solution over every customer order and every split into routes (``n <= 8`` nodes)."""
    n, Q, d, q = instance.n, instance.capacity, instance.dist, instance.demands
    if n > 8:
        raise ValueError(f"brute force is limited to n <= 8 nodes, got {n}")
    if n == 1:
        return COPSolution(0.0, np.array([0], dtype=np.int64), "brute force")
    best, arg = np.inf, None
    for perm in itertools.permutations(range(1, n)):
        for cuts in itertools.product((False, True), repeat=n - 2):
            seq, load, ok = [0, perm[0]], q[perm[0]], True
            for k, cut in enumerate(cuts):
                j = perm[k + 1]
                if cut:
                    seq.append(0)
                    load = 0
                load += q[j]
                if load > Q:
                    ok = False
                    break
                seq.append(j)
            if not ok:
                continue
            seq.append(0)
            cost = _route_cost(d, seq)
            if cost < best:
                best, arg = cost, seq
    return COPSolution(best, np.array(arg, dtype=np.int64), "brute force")


# --------------------------------------------------------------------------- orienteering
@njit(cache=True)
def _op_dp(d, p, B, V):
    """``V[c, U, b]`` (integers): best prize from ``c`` with unvisited ``U`` and remaining budget ``b``;
    ``-inf`` when no tour can be closed (module docstring)."""
    n = d.shape[0]
    full = (1 << (n - 1)) - 1
    for U in range(0, full + 1):
        for c in range(n):
            if c > 0 and (U >> (c - 1)) & 1:
                continue
            for b in range(B + 1):
                best = 0.0 if (c == 0 or d[c, 0] <= b) else -np.inf
                for j in range(1, n):
                    if (U >> (j - 1)) & 1 and d[c, j] <= b:
                        val = p[j] + V[j, U ^ (1 << (j - 1)), b - d[c, j]]
                        if val > best:
                            best = val
                V[c, U, b] = best


def _op_stop_value(d, c, b) -> float:
    """Value of stopping at ``c`` with budget ``b`` left: 0 if the edge back to the depot fits, else ``-inf``."""
    return 0.0 if c == 0 or d[c, 0] <= b else -np.inf


def _op_recursion(d, p):
    """``value(c, U, b)``: the orienteering Bellman equation as a memoised recursion over float budgets
    (the plain-Python twin of :func:`_op_dp`; the same ``b - d(c, j)`` arithmetic as the BQ-MDP)."""
    n = d.shape[0]

    @functools.lru_cache(maxsize=None)
    def value(c, U, b):
        best = _op_stop_value(d, c, b)
        for j in range(1, n):
            if (U >> (j - 1)) & 1 and d[c, j] <= b:
                best = max(best, p[j] + value(j, U ^ (1 << (j - 1)), b - d[c, j]))
        return best

    return value


def solve_orienteering_exact(instance: OrienteeringInstance, *, method: str = "auto") -> COPSolution:
    """Optimal orienteering tour by DP over the BQ state (current node, remaining nodes, remaining budget).

    Exact for any non-negative distances (no triangle inequality needed; module docstring).

    Parameters
    ----------
    instance : OrienteeringInstance
    method : {"auto", "table", "recursion"}
        ``"table"``: a numba table over ``(c, U, b)`` (integer distances and budget, ``n <= 16``);
        ``"recursion"``: an exact memoised recursion over float budgets (``n <= 12``); ``"auto"``:
        the table when the instance is integral, else the recursion.

    Returns
    -------
    COPSolution
        ``value`` (prize) and ``solution`` ``[0, j1, ..., 0]`` (a simple cycle of length ``<= budget``).
    """
    if not isinstance(instance, OrienteeringInstance):
        raise TypeError(f"instance must be an OrienteeringInstance, got {type(instance).__name__}")
    if method not in ("auto", "table", "recursion"):
        raise ValueError(f"method must be 'auto', 'table' or 'recursion', got {method!r}")
    n, d, p = instance.n, instance.dist, instance.prizes
    if method == "auto":
        method = "table" if instance.integral else "recursion"
    if method == "table":
        if not instance.integral:
            raise ValueError("method='table' needs integer distances and budget; use method='recursion'")
        B = int(round(instance.budget))
        if n > 16 or n * (1 << (n - 1)) * (B + 1) > _MAX_TABLE:
            raise ValueError(f"orienteering DP limited to n <= 16 and {_MAX_TABLE} entries; got n = {n}, budget {B}")
        di = d.astype(np.int64)
        V = np.zeros((n, 1 << (n - 1), B + 1))
        _op_dp(di, p, B, V)

        def value(c, U, b):
            return V[c, U, int(round(b))]

        label = "dp(current, remaining, integer budget)"
    else:
        if n > 12:
            raise ValueError(f"the exact float-budget recursion is limited to n <= 12 nodes, got {n}")
        value = _op_recursion(d, p)
        label = "memoised recursion(current, remaining, budget)"
    U, c, b, route = (1 << (n - 1)) - 1, 0, instance.budget, [0]
    total = value(0, U, b)
    while True:  # follow the argmax (ties: stop first, then the smallest index)
        best, arg = _op_stop_value(d, c, b), 0
        for j in range(1, n):
            if (U >> (j - 1)) & 1 and d[c, j] <= b:
                val = p[j] + value(j, U ^ (1 << (j - 1)), b - d[c, j])
                if val > best:
                    best, arg = val, j
        route.append(arg)
        if arg == 0:
            break
        U ^= 1 << (arg - 1)
        b -= d[c, arg]
        c = arg
    return COPSolution(value=float(total), solution=np.array(route, dtype=np.int64), method=label)


def brute_force_orienteering(instance: OrienteeringInstance) -> COPSolution:
    """Best prize over every closed tour ``0, j_1, ..., j_k, 0`` (distinct ``j``) whose length
    ``sum of its edges`` is ``<= budget`` (``n <= 8``).

    Independent of the DP's recursion: each candidate tour's true length is summed and compared with
    the budget (no triangle inequality used).
    """
    n, d, p = instance.n, instance.dist, instance.prizes
    if n > 8:
        raise ValueError(f"brute force is limited to n <= 8 nodes, got {n}")
    best, arg = 0.0, (0, 0)
    for k in range(1, n):
        for seq in itertools.permutations(range(1, n), k):
            full = (0,) + seq + (0,)
            if _route_cost(d, full) <= instance.budget:
                val = float(p[list(seq)].sum())
                if val > best:
                    best, arg = val, full
    return COPSolution(best, np.array(arg, dtype=np.int64), "brute force")
