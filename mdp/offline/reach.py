"""Exact reachable, used and edge-of-reach state sets (``docs/papers/edge_of_reach.md``, E1).

For a model ``m``, a rollout policy ``pi`` and dataset start states ``D_0`` (Sims, Lu, Foerster & Teh
2024, arXiv 2402.12527, Sec. 4, stated there for deterministic dynamics; here on supports, so it
covers stochastic ones): ``R_0 = D_0`` and ``R_t`` the states reached with positive probability at
step ``t``. ``k``-step rollouts store transitions out of ``U = R_0 ∪ ... ∪ R_{k-1}`` (the *used*
states, whose values are updated) into ``T = R_1 ∪ ... ∪ R_k`` (the bootstrap *targets*); the
**edge of reach** is ``E = T \\ U``: states only ever reached at the last step, whose values are
read but never corrected. :func:`buffer_sets` gives the same three sets for an actual buffer.
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import check_mdp, check_policy

__all__ = ["ReachSets", "reach_sets", "buffer_sets"]


@result
class ReachSets:
    """Result of :func:`reach_sets` and :func:`buffer_sets`.

    Attributes
    ----------
    used : ndarray of bool, shape (S,)
        ``U``: states that start at least one transition.
    targets : ndarray of bool, shape (S,)
        ``T``: states that are the next state of at least one transition.
    edge : ndarray of bool, shape (S,)
        ``E = T \\ U``.
    layers : ndarray of bool, shape (k + 1, S)
        ``R_0 .. R_k`` (:func:`reach_sets`; for a full rollout the layers until the union stops growing;
        ``(0, S)`` for a buffer).
    k : int
        Rollout length (``-1``: full rollouts, until closure; ``0`` for a buffer).
    """

    used: np.ndarray
    targets: np.ndarray
    edge: np.ndarray
    layers: np.ndarray
    k: int


def _support(m, pi):
    """``(S, S)`` bool: ``s -> s'`` with positive probability under ``pi``."""
    S, A = m.n_states, m.n_actions
    pi = check_policy(pi, S, A)
    if pi.ndim == 1:
        full = np.zeros((S, A))
        full[np.arange(S), pi] = 1.0
        pi = full
    P = m.dense_P()
    return np.einsum("sa,sat->st", (pi > 0).astype(float), (P > 0).astype(float)) > 0


def reach_sets(m, pi, starts, k=None) -> ReachSets:
    """Exact ``U``, ``T``, ``E`` for ``k``-step rollouts of ``pi`` in ``m`` from ``starts`` (module docstring).

    Parameters
    ----------
    m : TabularMDP
    pi : array_like
        ``(S,)`` actions or ``(S, A)`` rows (only the support matters).
    starts : array_like of int
        ``D_0``, non-empty.
    k : int or None
        Rollout length ``>= 1``; ``None`` for full rollouts (until nothing new is reached), where ``E``
        is empty.

    Returns
    -------
    ReachSets
    """
    from mdp.offline.data import _check_k, _check_starts

    m = check_mdp(m, discounted=False)
    S = m.n_states
    D0 = _check_starts(starts, S)
    step = _support(m, pi)
    cur = np.zeros(S, dtype=bool)
    cur[D0] = True
    layers = [cur]
    if k is None:
        seen = cur.copy()
        while True:
            nxt = step[layers[-1]].any(axis=0)
            layers.append(nxt)
            if not (nxt & ~seen).any():
                break
            seen |= nxt
        used = np.logical_or.reduce(layers)
        targets = np.logical_or.reduce(layers[1:])
        return ReachSets(used=used, targets=targets, edge=targets & ~used, layers=np.array(layers), k=-1)
    k = _check_k(k)
    for _ in range(k):
        layers.append(step[layers[-1]].any(axis=0))
    used = np.logical_or.reduce(layers[:-1])
    targets = np.logical_or.reduce(layers[1:])
    return ReachSets(used=used, targets=targets, edge=targets & ~used, layers=np.array(layers), k=k)


def buffer_sets(data) -> ReachSets:
    """``U``, ``T``, ``E`` of an actual transition buffer (:class:`mdp.offline.Transitions`)."""
    from mdp.offline.data import Transitions

    if not isinstance(data, Transitions):
        raise TypeError(f"data must be Transitions, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data is empty: an empty buffer has no used or target states")
    S = data.n_states
    used = np.zeros(S, dtype=bool)
    used[data.states] = True
    targets = np.zeros(S, dtype=bool)
    targets[data.next_states] = True
    return ReachSets(used=used, targets=targets, edge=targets & ~used, layers=np.zeros((0, S), dtype=bool), k=0)
