"""Spanning capacity of a policy class: exact search, certified bounds, literal enumeration.

For a deterministic layered MDP ``M`` (a start state and transition maps ``T_h : S x A -> S``), the
reachable set of a class ``Pi`` at layer ``h`` is

    Reach_h(Pi; M) = {(s_h, a_h) : some pi in Pi reaches s_h at layer h in M and plays a_h there},

and the spanning capacity is ``C(Pi) = max_h C_h(Pi)``, ``C_h(Pi) = max_M |Reach_h(Pi; M)|``, the
maximum over *all* deterministic MDPs on the state space (Jia, Li, Rakhlin, Sekhari & Srebro 2023,
definition of spanning capacity; project page ``docs/papers/agnostic_rl.md``).

The exact search walks layer by layer. A node is the partition of ``Pi`` by the state each policy
occupies at layer ``h``; only the successors of *reachable* pairs are chosen (the transitions of
unreachable pairs cannot change any reachable set), states of layer ``h + 1`` on which every policy
acts identically are interchangeable (only the first unused one of each kind is tried), repeated
nodes are skipped, and a node is pruned when no deeper layer can beat the best count found:

    |Reach_{h'}| <= sum over reachable pairs p at layer h of min(#distinct behaviours of p's
                    policies on layers h+1..h', A^(h' - h)),   and  <= the global caps below.

Global caps, valid for every deterministic MDP (certified upper bounds):
``C_h <= S A``, ``C_h <= sum_s |{pi(h, s) : pi in Pi}|``, ``C_h <= A C_{h-1}`` (``C_0 <= A``),
``C_h <=`` the number of distinct restrictions of the policies to layers ``0..h``. When the node
budget runs out, the bound of every abandoned subtree is folded into the reported upper bound, so
``lower <= C_h <= upper`` always holds and ``lower`` is attained by the returned witness MDP.
"""

from __future__ import annotations

import itertools

import numpy as np

from mdp._common import result
from mdp._validation import check_positive_int
from mdp.agnostic.model import check_policy_table

__all__ = [
    "SpanningCapacityResult",
    "spanning_capacity",
    "reachable_pairs",
    "reference_spanning_capacity",
    "capacity_caps",
]


@result
class SpanningCapacityResult:
    """Spanning capacity of a class, exact or bracketed.

    Attributes
    ----------
    capacity : int
        ``C(Pi) = max_h C_h(Pi)`` when ``exact``; otherwise the certified lower bound ``lower``.
    per_layer : ndarray, shape (H,)
        Certified lower bounds on ``C_h(Pi)``, each attained by ``witnesses[h]`` (equal to
        ``C_h`` when ``exact`` and the search was run with ``per_layer=True``).
    per_layer_upper : ndarray, shape (H,)
        Certified upper bounds on ``C_h(Pi)``.
    lower, upper : int
        ``max_h`` of the two: ``lower <= C(Pi) <= upper``.
    gap : int
        ``upper - lower`` (0 when exact).
    exact : bool
        Whether the requested quantity (per layer, or the maximum) is pinned down.
    n_nodes : int
        Search nodes visited (every complete assignment of successors counts, repeated or not).
    witnesses : tuple of (int, ndarray)
        ``(start, T)`` per layer, ``T`` ``(H - 1, S, A)``: a deterministic MDP with
        ``|Reach_h| = per_layer[h]``.
    """

    capacity: int
    per_layer: np.ndarray
    per_layer_upper: np.ndarray
    lower: int
    upper: int
    gap: int
    exact: bool
    n_nodes: int
    witnesses: tuple


def reachable_pairs(policies, start, T, n_actions) -> np.ndarray:
    """``|Reach_h(Pi; M)|`` for every layer of the deterministic MDP ``M = (start, T)``.

    ``T`` ``(H - 1, S, A)`` next states. Returns int64 ``(H,)``.
    """
    pol = np.asarray(policies, dtype=np.int64)
    K, H, S = pol.shape
    A = int(n_actions)
    T = np.asarray(T, dtype=np.int64)
    state = np.full(K, int(start), dtype=np.int64)
    out = np.empty(H, dtype=np.int64)
    k = np.arange(K)
    for h in range(H):
        a = pol[k, h, state]
        out[h] = np.unique(state * A + a).size
        if h < H - 1:
            state = T[h, state, a]
    return out


def _distinct_ids(rows: np.ndarray) -> np.ndarray:
    """Integer label per row, equal labels for equal rows (rows compared as raw bytes)."""
    if rows.shape[1] == 0:
        return np.zeros(rows.shape[0], dtype=np.int64)
    r = np.ascontiguousarray(rows, dtype=np.int64)
    keys = r.view(np.dtype((np.void, r.itemsize * r.shape[1]))).reshape(-1)
    _, inv = np.unique(keys, return_inverse=True)
    return inv.reshape(-1).astype(np.int64)


def capacity_caps(pol: np.ndarray, A: int) -> np.ndarray:
    """The global certified upper bounds on ``C_h`` (see the module docstring), ``(H,)``."""
    K, H, S = pol.shape
    caps = np.empty(H, dtype=np.int64)
    prev = None
    for h in range(H):
        srt = np.sort(pol[:, h, :], axis=0)
        used = int(S + (np.diff(srt, axis=0) != 0).sum())  # distinct actions per state, summed
        prefixes = int(_distinct_ids(pol[:, : h + 1, :].reshape(K, -1)).max()) + 1
        c = min(S * A, used, prefixes, A if prev is None else A * prev)
        caps[h] = c
        prev = c
    return caps


class _Search:
    def __init__(self, pol, A, per_layer, max_nodes):
        self.pol = pol
        K, H, S = pol.shape
        self.K, self.H, self.S, self.A = K, H, S, A
        self.per_layer = per_layer
        self.max_nodes = max_nodes
        self.caps = capacity_caps(pol, A)
        # state kinds per layer: states with identical columns are interchangeable
        self.kind = [_distinct_ids(pol[:, h, :].T) for h in range(H)]
        self.kind_lists = []
        for h in range(H):
            order = np.argsort(self.kind[h], kind="stable")
            cuts = np.flatnonzero(np.diff(self.kind[h][order])) + 1
            self.kind_lists.append([g.tolist() for g in np.split(order, cuts)])
        # behaviour labels of each policy on layers h1..h2
        self.beh = {}
        for h1 in range(H):
            for h2 in range(h1, H):
                self.beh[h1, h2] = _distinct_ids(pol[:, h1 : h2 + 1, :].reshape(K, -1))
        self.best = np.zeros(H, dtype=np.int64)
        self.wit = [None] * H
        self.open_ub = np.zeros(H, dtype=np.int64)
        self.nodes = 0
        self.seen = set()
        self.exhausted = False
        self.finished = False
        self.apow = [A**i if A**i < 1 << 62 else 1 << 62 for i in range(H + 1)]

    def done(self):
        if self.finished:
            return True
        if self.per_layer:
            return bool(np.all(self.best >= self.caps))
        return int(self.best.max()) >= int(self.caps.max())

    def pairs(self, h, groups):
        out = []
        for s, ids in groups:
            acts = self.pol[ids, h, s]
            for a in np.unique(acts):
                out.append((s, int(a), ids[acts == a]))
        return out

    def node_ub(self, h, pairs):
        """Upper bounds on |Reach_{h'}| for h' > h from the pairs at layer h."""
        H = self.H
        ub = np.zeros(H, dtype=np.int64)
        for hp in range(h + 1, H):
            tot = 0
            for _, _, ids in pairs:
                nd = np.unique(self.beh[h + 1, hp][ids]).size
                tot += min(nd, self.apow[hp - h])
            ub[hp] = min(tot, self.caps[hp])
        return ub

    def record(self, h, n, trail):
        if n > self.best[h]:
            self.best[h] = n
            self.wit[h] = list(trail)
            self.finished = False
            self.finished = self.done()

    def dfs(self, h, groups, trail):
        pairs = self.pairs(h, groups)
        self.record(h, len(pairs), trail)
        if h == self.H - 1 or self.done():
            return
        ub = self.node_ub(h, pairs)
        deeper = slice(h + 1, self.H)
        if self.per_layer:
            if np.all(ub[deeper] <= self.best[deeper]):
                return
        elif ub[deeper].max() <= self.best.max():
            return
        if self.nodes >= self.max_nodes:
            self.exhausted = True
            np.maximum(self.open_ub, ub, out=self.open_ub)
            return
        kinds = self.kind[h + 1]
        kind_lists = self.kind_lists[h + 1]
        m = len(pairs)
        assign = [0] * m

        def rec(i, used):
            if self.exhausted or self.finished:
                return
            if i == m:
                if self.nodes >= self.max_nodes:  # leaves count as work, seen or not
                    self.exhausted = True
                    return
                self.nodes += 1
                grp = {}
                for j, (_, _, ids) in enumerate(pairs):
                    grp.setdefault(assign[j], []).append(ids)
                groups2 = [(t, np.sort(np.concatenate(v))) for t, v in grp.items()]
                key = (h + 1, frozenset((int(kinds[t]), ids.tobytes()) for t, ids in groups2))
                if key in self.seen:
                    return
                self.seen.add(key)
                step = [(pairs[j][0], pairs[j][1], assign[j]) for j in range(m)]
                self.dfs(h + 1, groups2, trail + [step])
                return
            # new states first (one per kind: the first unused), then states already used
            options = [
                states[0] if states[0] not in used else next((x for x in states if x not in used), -1)
                for states in kind_lists
            ]
            options = [x for x in options if x >= 0] + sorted(used)
            for t in options:
                if self.exhausted or self.finished:
                    break
                assign[i] = t
                added = t not in used
                if added:
                    used.add(t)
                rec(i + 1, used)
                if added:
                    used.discard(t)

        rec(0, set())
        if self.exhausted:
            # the unexplored children of this node are bounded by its own bound
            np.maximum(self.open_ub, ub, out=self.open_ub)

    def seed_random(self, n_mdps, rng):
        """Random deterministic MDPs as a first lower bound (each is a witness); helps the pruning."""
        H, S, A = self.H, self.S, self.A
        for _ in range(n_mdps):
            start = int(rng.integers(S))
            T = rng.integers(0, S, size=(max(H - 1, 0), S, A))
            counts = reachable_pairs(self.pol, start, T, A)
            for h in range(H):
                if counts[h] > self.best[h]:
                    self.best[h] = counts[h]
                    self.wit[h] = (start, T.copy())
        self.finished = self.done()

    def run(self):
        starts = [states[0] for states in self.kind_lists[0]]
        all_ids = np.arange(self.K)
        for s0 in starts:
            if self.done() or self.exhausted:
                if self.exhausted:
                    self.open_ub[:] = np.maximum(self.open_ub, self.caps)
                break
            self.nodes += 1
            self.dfs(0, [(s0, all_ids)], [s0])

    def witness(self, h):
        trail = self.wit[h]
        T = np.zeros((max(self.H - 1, 0), self.S, self.A), dtype=np.int64)
        if trail is None:
            return (0, T)
        if isinstance(trail, tuple):  # from seed_random
            return (int(trail[0]), np.asarray(trail[1], dtype=np.int64))
        for layer, step in enumerate(trail[1:]):
            for s, a, t in step:
                T[layer, s, a] = t
        return (int(trail[0]), T)


def spanning_capacity(
    policies, n_actions, *, per_layer: bool = False, max_nodes: int = 200_000
) -> SpanningCapacityResult:
    """Spanning capacity ``C(Pi) = max_h max_M |Reach_h(Pi; M)|`` over all deterministic MDPs.

    Jia et al. (2023), definition of spanning capacity; ``docs/papers/agnostic_rl.md``. Exact by a branch-and-bound search
    over the successors of reachable pairs only (module docstring); when ``max_nodes`` runs out,
    certified bounds ``lower <= C <= upper`` with the gap reported (``exact=False``).

    Parameters
    ----------
    policies : array_like, shape (K, H, S)
        The class, ``policies[k, h, s]`` an action in ``[0, n_actions)``.
    n_actions : int
        ``A``.
    per_layer : bool, default False
        Pin down every ``C_h`` (slower: nothing is pruned against another layer's best).
    max_nodes : int, default 200000
        Search budget.

    Returns
    -------
    SpanningCapacityResult
    """
    A = check_positive_int(n_actions, "n_actions")
    pol = check_policy_table(policies, (None, None, A))
    budget = check_positive_int(max_nodes, "max_nodes")
    ids = _distinct_ids(pol.reshape(pol.shape[0], -1))  # the capacity depends on the set only
    pol = pol[np.unique(ids, return_index=True)[1]]
    srch = _Search(pol, A, bool(per_layer), budget)
    srch.seed_random(32, np.random.default_rng(0))  # fixed seed: the result is a function of the input
    srch.run()
    lower = srch.best.copy()
    upper = (
        np.minimum(srch.caps, np.maximum(lower, srch.open_ub))
        if srch.exhausted
        else (lower.copy() if per_layer else np.minimum(srch.caps, np.maximum(lower, _unpinned(srch))))
    )
    upper = np.maximum(upper, lower)
    lo, hi = int(lower.max()), int(upper.max())
    exact = bool(np.all(lower == upper)) if per_layer else lo == hi
    return SpanningCapacityResult(
        capacity=lo,
        per_layer=lower,
        per_layer_upper=upper,
        lower=lo,
        upper=hi,
        gap=hi - lo,
        exact=exact,
        n_nodes=srch.nodes,
        witnesses=tuple(srch.witness(h) for h in range(srch.H)),
    )


def _unpinned(srch):
    """Per-layer upper bounds after a complete max-only search: layers whose count was pruned
    against another layer's best are only known to be ``<= max_h best``, and ``<= caps``."""
    return np.full(srch.H, int(srch.best.max()), dtype=np.int64)


def reference_spanning_capacity(policies, n_actions, *, max_mdps: int = 200_000) -> np.ndarray:
    """Literal enumeration of every deterministic MDP (start state, ``T``): ``C_h`` ``(H,)``.

    ``S^(1 + (H - 1) S A)`` MDPs; refused beyond ``max_mdps``.
    """
    A = check_positive_int(n_actions, "n_actions")
    pol = check_policy_table(policies, (None, None, A))
    K, H, S = pol.shape
    n = S ** (1 + (H - 1) * S * A)
    if n > max_mdps:
        raise ValueError(f"literal enumeration needs {n} deterministic MDPs (more than max_mdps = {max_mdps})")
    best = np.zeros(H, dtype=np.int64)
    for start in range(S):
        for flat in itertools.product(range(S), repeat=(H - 1) * S * A):
            T = np.array(flat, dtype=np.int64).reshape(H - 1, S, A)
            np.maximum(best, reachable_pairs(pol, start, T, A), out=best)
    return best
