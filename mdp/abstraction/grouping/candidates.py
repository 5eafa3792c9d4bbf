"""Candidate groupings: action signatures and nested (hierarchical-clustering) groupings."""

from __future__ import annotations

import numpy as np

from mdp._validation import as_float_array, check_positive_int
from mdp._validation import check_mdp as require_mdp
from mdp.abstraction.grouping.base import ActionGrouping

__all__ = ["action_signatures", "nested_groupings"]


def action_signatures(m, *, reward_weight: float = 1.0) -> np.ndarray:
    """``phi(a) = concat_s [P(.|s,a), w R(s,a)]``, shape ``(A, S * (S + 1))`` (``docs/papers/action_grouping.md``).

    Pass an empirical model (e.g. :func:`mdp.learners.empirical_model` of a pilot sample) to get
    the plug-in signatures of the note's selection procedure.
    """
    m = require_mdp(m, discounted=False)
    w = float(reward_weight)
    if not np.isfinite(w) or w < 0:
        raise ValueError(f"reward_weight must be finite and >= 0, got {reward_weight}")
    P = np.asarray(m.dense_P(), dtype=np.float64)  # (S, A, S)
    phi = np.concatenate([P, w * m.R[:, :, None]], axis=2)  # (S, A, S + 1)
    return np.ascontiguousarray(phi.transpose(1, 0, 2).reshape(m.n_actions, -1))


_LINKAGES = ("ward", "average", "complete", "single")


def nested_groupings(signatures, sizes=None, *, method: str = "ward") -> list:
    """Nested groupings from agglomerative clustering of action signatures.

    Parameters
    ----------
    signatures : array_like, shape (A, d)
        One feature vector per action (:func:`action_signatures`).
    sizes : iterable of int, optional
        Numbers of groups wanted, each in ``[1, A]``; default ``1, 2, 4, ...`` up to ``A`` (and ``A``).
    method : {"ward", "average", "complete", "single"}
        scipy linkage (Euclidean distances).

    Returns
    -------
    list of ActionGrouping
        One per size, in increasing order of ``G``, numbered canonically (by smallest action). Each
        refines every coarser one: they are cuts of one dendrogram, obtained by replaying its first
        ``A - G`` merges (so exactly ``G`` groups even when merge heights tie).
    """
    from scipy.cluster.hierarchy import linkage

    X = as_float_array(signatures, "signatures", ndim=2)
    A = X.shape[0]
    if A < 1:
        raise ValueError("signatures must have at least one row (one per action)")
    if method not in _LINKAGES:
        raise ValueError(f"method must be one of {_LINKAGES}, got {method!r}")
    sizes = _default_sizes(A) if sizes is None else sorted({_check_size(G, A) for G in sizes})
    if A == 1:
        return [ActionGrouping([0]) for _ in sizes]
    Z = linkage(X, method=method, metric="euclidean")
    return [_cut(Z, A, G) for G in sizes]


def _default_sizes(A: int) -> list:
    out, g = [], 1
    while g < A:
        out.append(g)
        g *= 2
    return out + [A]


def _check_size(G, A: int) -> int:
    G = check_positive_int(G, "n_groups")
    if G > A:
        raise ValueError(f"n_groups must be <= A = {A}, got {G}")
    return G


def _cut(Z: np.ndarray, A: int, G: int) -> ActionGrouping:
    """Replay the first ``A - G`` merges of the linkage ``Z`` (union-find) and label the clusters."""
    parent = np.arange(2 * A - 1)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k in range(A - G):
        a, b = int(Z[k, 0]), int(Z[k, 1])
        new = A + k
        parent[find(a)] = new
        parent[find(b)] = new
    roots = np.array([find(a) for a in range(A)])
    _, first = np.unique(roots, return_index=True)
    rank = {roots[f]: r for r, f in enumerate(np.sort(first))}
    return ActionGrouping(np.array([rank[r] for r in roots]), n_groups=G)
