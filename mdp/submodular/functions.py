"""Monotone submodular set functions over visited states (``docs/papers/subrl.md``).

A trajectory ``tau = (s_0, ..., s_H)`` is scored by ``F({s_0, ..., s_H})`` (a set: repeats add
nothing), ``F`` monotone submodular with ``F(empty) = 0`` (Prajapat, Mutny, Zeilinger & Krause 2024,
*Submodular Reinforcement Learning*, ICLR, arXiv 2307.13372, Sec. 2). Implemented:

* :class:`CoverageFunction`: ``F(A) = sum_{u covered by A} w_u`` with a ground-element-to-item cover
  matrix (coverage ``w = 1``; weighted coverage); :func:`grid_coverage` covers a cell and its 4
  neighbours;
* :class:`FacilityLocation`: ``F(A) = sum_i max_{v in A} sim(i, v)`` (``sim >= 0``);
* :class:`UserFunction`: any callable on frozensets, checked for ``F(empty) = 0``, monotonicity and
  diminishing returns on a random sample (:func:`check_submodular`; the classical definitions,
  Nemhauser, Wolsey & Fisher 1978).
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_rng

__all__ = [
    "CoverageFunction",
    "FacilityLocation",
    "UserFunction",
    "SubmodularityReport",
    "grid_coverage",
    "check_submodular",
    "set_value",
]


class CoverageFunction:
    """``F(A) = sum_{u : cover[v, u] for some v in A} weights[u]``.

    Parameters
    ----------
    cover : array_like of bool, shape (n_ground, n_items)
    weights : array_like, shape (n_items,), optional
        Non-negative item weights (default 1: plain coverage).
    """

    cover: np.ndarray
    weights: np.ndarray

    def __init__(self, cover, weights=None):
        c = np.asarray(cover)
        if c.ndim != 2 or c.size == 0:
            raise ValueError(f"cover must be a non-empty 2-d (n_ground, n_items) array, got shape {c.shape}")
        c = c.astype(bool)
        w = np.ones(c.shape[1]) if weights is None else as_float_array(weights, "weights", ndim=1)
        if w.shape != (c.shape[1],):
            raise ValueError(f"weights must have shape ({c.shape[1]},), got {w.shape}")
        if np.any(w < 0):
            raise ValueError("weights must be >= 0 (negative weights break monotonicity)")
        c.setflags(write=False)
        w = w.copy()
        w.setflags(write=False)
        object.__setattr__(self, "cover", c)
        object.__setattr__(self, "weights", w)
        # the cover as CSR (items of each ground element), read by the numba marginal-gain kernel
        ptr = np.concatenate([[0], np.cumsum(c.sum(axis=1))]).astype(np.int64)
        items = np.nonzero(c)[1].astype(np.int64)
        ptr.setflags(write=False)
        items.setflags(write=False)
        object.__setattr__(self, "_csr", (ptr, items))

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return f"CoverageFunction(n_ground={self.cover.shape[0]}, n_items={self.cover.shape[1]})"

    @property
    def n_ground(self) -> int:
        return int(self.cover.shape[0])

    def value(self, elements) -> float:
        idx = np.unique(np.asarray(list(elements), dtype=np.int64))
        if idx.size == 0:
            return 0.0
        return float(self.weights[self.cover[idx].any(axis=0)].sum())


class FacilityLocation:
    """``F(A) = sum_i max_{v in A} sim[i, v]`` (0 for the empty set), ``sim`` ``(n_clients, n_ground) >= 0``."""

    sim: np.ndarray

    def __init__(self, sim):
        s = as_float_array(sim, "sim", ndim=2).copy()
        if s.size == 0 or np.any(s < 0):
            raise ValueError("sim must be a non-empty (n_clients, n_ground) array of similarities >= 0")
        s.setflags(write=False)
        object.__setattr__(self, "sim", s)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return f"FacilityLocation(n_clients={self.sim.shape[0]}, n_ground={self.sim.shape[1]})"

    @property
    def n_ground(self) -> int:
        return int(self.sim.shape[1])

    def value(self, elements) -> float:
        idx = np.unique(np.asarray(list(elements), dtype=np.int64))
        if idx.size == 0:
            return 0.0
        return float(self.sim[:, idx].max(axis=1).sum())


@result
class SubmodularityReport:
    """Result of :func:`check_submodular`.

    Attributes
    ----------
    n_samples : int
        Triples ``(A subset B, v not in B)`` drawn.
    empty_value : float
        ``F(empty)``.
    monotone_violations : int
        Samples with ``F(A) > F(B) + tol``.
    submodular_violations : int
        Samples with ``F(A + v) - F(A) < F(B + v) - F(B) - tol``.
    worst : float
        Largest violation found (0 if none).
    ok : bool
    """

    n_samples: int
    empty_value: float
    monotone_violations: int
    submodular_violations: int
    worst: float
    ok: bool


def check_submodular(f, n_ground: int, *, rng, n_samples: int = 200, tol: float = 1e-9) -> SubmodularityReport:
    """Check ``f`` (a callable on frozensets of ``range(n_ground)``) for ``f(empty) = 0``, monotonicity and
    diminishing returns on ``n_samples`` random triples ``A subset B``, ``v not in B``."""
    n = check_positive_int(n_ground, "n_ground", minimum=2)
    rng = check_rng(rng)
    n_samples = check_positive_int(n_samples, "n_samples")
    if not callable(f):
        raise TypeError(f"f must be a callable on frozensets, got {type(f).__name__}")
    empty = float(f(frozenset()))
    mono = sub = 0
    worst = abs(empty)
    for _ in range(n_samples):
        order = rng.permutation(n)
        nb = int(rng.integers(0, n))  # |B| < n, so some v is outside B
        na = int(rng.integers(0, nb + 1))
        B = frozenset(order[:nb].tolist())
        A = frozenset(order[:na].tolist())
        v = int(order[nb])
        fA, fB = float(f(A)), float(f(B))
        if fA > fB + tol:
            mono += 1
            worst = max(worst, fA - fB)
        gA = float(f(A | {v})) - fA
        gB = float(f(B | {v})) - fB
        if gA < gB - tol:
            sub += 1
            worst = max(worst, gB - gA)
    ok = mono == 0 and sub == 0 and abs(empty) <= tol
    return SubmodularityReport(
        n_samples=n_samples,
        empty_value=empty,
        monotone_violations=mono,
        submodular_violations=sub,
        worst=float(worst),
        ok=bool(ok),
    )


class UserFunction:
    """A user's set function, checked on construction (:func:`check_submodular`); raises ``ValueError``
    naming what failed when the sample finds a violation."""

    f: object
    n_ground_: int
    report: SubmodularityReport

    def __init__(self, f, n_ground: int, *, rng, n_samples: int = 200):
        rep = check_submodular(f, n_ground, rng=rng, n_samples=n_samples)
        if not rep.ok:
            raise ValueError(
                f"f is not a monotone submodular function with f(empty) = 0 on a sample of {rep.n_samples}: "
                f"f(empty) = {rep.empty_value:g}, {rep.monotone_violations} monotonicity and "
                f"{rep.submodular_violations} diminishing-returns violations (worst {rep.worst:.3g})"
            )
        object.__setattr__(self, "f", f)
        object.__setattr__(self, "n_ground_", int(n_ground))
        object.__setattr__(self, "report", rep)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return f"UserFunction({self.f!r}, n_ground={self.n_ground_})"

    @property
    def n_ground(self) -> int:
        return self.n_ground_

    def value(self, elements) -> float:
        return float(self.f(frozenset(int(x) for x in elements)))


def grid_coverage(side: int, weights=None) -> CoverageFunction:
    """Coverage on a ``side x side`` grid (state ``y * side + x``): a cell covers itself and its 4
    neighbours; item weights ``(side * side,)`` (default 1)."""
    n = check_positive_int(side, "side", minimum=2)
    S = n * n
    cover = np.zeros((S, S), dtype=bool)
    for s in range(S):
        y, x = divmod(s, n)
        for dy, dx in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
            yy, xx = y + dy, x + dx
            if 0 <= yy < n and 0 <= xx < n:
                cover[s, yy * n + xx] = True
    return CoverageFunction(cover, weights)


def set_value(f, elements) -> float:
    """``F`` of a collection of ground elements (repeats ignored)."""
    if not hasattr(f, "value"):
        raise TypeError(f"f must be a CoverageFunction, FacilityLocation or UserFunction, got {type(f).__name__}")
    return f.value(elements)
