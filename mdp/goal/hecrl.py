"""HECRL's subgoal samplers in tabular form: factored (per entity) vs joint empirical models.

HECRL (``docs/papers/hecrl.md``) composes a value-based GCRL agent with a generator of
*entity-factored* subgoals: given the current state and the goal it proposes candidates, and the
value selects one (:func:`mdp.goal.select_subgoal` with competence filter and goal fallback). Here
the diffusion model is replaced by empirical conditionals fitted on hindsight triples
``(s_t, s_sub, g)`` with ``g = s_{t+j}`` a future state of the same trajectory and
``s_sub = s_{min(t+K, t+j)}`` (HECRL's buffer rule, **reconstruction** of the tabular analogue):

* :class:`JointSampler`: the empirical distribution of the whole subgoal state given the whole
  ``(s, g)`` pair (``L^N`` outcomes per context, and most contexts are never seen);
* :class:`FactoredSampler`: per entity ``b`` the empirical distribution of its subgoal position given
  its own current and goal positions (``N L^3`` counts); candidates draw every entity independently
  and invalid configurations (off the state space) are dropped.

:func:`product_tv` and :func:`empirical_tv` measure the total-variation error of the two estimators
on a synthetic product distribution (claim H4).
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_rng
from mdp.goal.data import GoalDataset
from mdp.goal.model import GoalMDP, check_states

__all__ = [
    "subgoal_triples",
    "JointSampler",
    "FactoredSampler",
    "fit_joint_sampler",
    "fit_factored_sampler",
    "empirical_tv",
    "product_tv",
]


def subgoal_triples(data: GoalDataset, k: int, *, rng, per_step: int = 1):
    """Hindsight triples ``(s, sub, g)``: for every ``t < L`` and ``per_step`` goal offsets ``j``
    uniform in ``[1, L - t]``, ``g = s_{t+j}`` and ``sub = s_{min(t+k, t+j)}``."""
    if not isinstance(data, GoalDataset):
        raise TypeError(f"data must be a mdp.goal.GoalDataset, got {type(data).__name__}")
    k = check_positive_int(k, "k")
    rng = check_rng(rng)
    per_step = check_positive_int(per_step, "per_step")
    n, L = data.states.shape[0], data.length
    i = np.repeat(np.arange(n), L * per_step)
    t = np.tile(np.repeat(np.arange(L), per_step), n)
    j = 1 + np.floor(rng.random(i.size) * (L - t)).astype(np.int64)
    s = data.states[i, t]
    g = data.states[i, t + j]
    sub = data.states[i, t + np.minimum(k, j)]
    return s, sub, g


@result
class JointSampler:
    """Empirical joint subgoal model ``p(sub | s, g)`` (CSR over contexts ``s * S + g``).

    Attributes
    ----------
    contexts : ndarray of int64, shape (K,)
    indptr : ndarray of int64, shape (K + 1,)
    subgoals : ndarray of int64
        The training subgoals of each context (with multiplicity).
    n_states : int
    """

    contexts: np.ndarray
    indptr: np.ndarray
    subgoals: np.ndarray
    n_states: int

    def sample(self, s: int, g: int, n: int, rng) -> np.ndarray:
        """``n`` draws for context ``(s, g)``; empty when the context was never seen."""
        x = int(s) * self.n_states + int(g)
        k = int(np.searchsorted(self.contexts, x))
        if k >= self.contexts.size or self.contexts[k] != x:
            return np.zeros(0, dtype=np.int64)
        pool = self.subgoals[self.indptr[k] : self.indptr[k + 1]]
        return pool[rng.integers(pool.size, size=int(n))]


def fit_joint_sampler(s, sub, g, n_states: int) -> JointSampler:
    """Fit :class:`JointSampler` on triples."""
    S = check_positive_int(n_states, "n_states")
    s, sub, g = (check_states(x, S, name).ravel() for x, name in ((s, "s"), (sub, "sub"), (g, "g")))
    key = s * S + g
    order = np.argsort(key, kind="stable")
    keys, starts = np.unique(key[order], return_index=True)
    return JointSampler(keys.astype(np.int64), np.append(starts, key.size).astype(np.int64), sub[order], S)


@result
class FactoredSampler:
    """Per-entity empirical subgoal model ``p(sub_b | s_b, g_b)``.

    Attributes
    ----------
    counts : ndarray, shape (N, L, L, L)
        ``counts[b, cur, goal, new]``.
    lookup : ndarray of int64, shape (L ** N,)
        State index of a configuration (``-1``: not a state).
    n_positions : int
    """

    counts: np.ndarray
    lookup: np.ndarray
    n_positions: int

    def sample(self, conf_s, conf_g, n: int, rng) -> np.ndarray:
        """``n`` candidate states: each entity drawn independently from its conditional (an unseen
        ``(cur, goal)`` keeps the entity in place); configurations that are not states are dropped."""
        N, L = self.counts.shape[0], self.n_positions
        cs, cg = np.asarray(conf_s), np.asarray(conf_g)
        out = np.empty((int(n), N), dtype=np.int64)
        for b in range(N):
            row = self.counts[b, cs[b], cg[b]]
            tot = row.sum()
            if tot == 0:
                out[:, b] = cs[b]
                continue
            c = np.cumsum(row)
            out[:, b] = np.minimum(np.searchsorted(c, rng.random(int(n)) * tot, side="right"), L - 1)
        idx = self.lookup[out @ (L ** np.arange(N))]
        return idx[idx >= 0]


def fit_factored_sampler(m: GoalMDP, s, sub, g, n_positions: int) -> FactoredSampler:
    """Fit :class:`FactoredSampler` on triples of a :func:`mdp.goal.block_track` (``m.coords``
    holds each state's entity positions)."""
    if not isinstance(m, GoalMDP) or m.coords is None:
        raise TypeError("m must be a mdp.goal.GoalMDP with entity coordinates (mdp.goal.block_track)")
    L = check_positive_int(n_positions, "n_positions")
    S = m.n_states
    s, sub, g = (check_states(x, S, name).ravel() for x, name in ((s, "s"), (sub, "sub"), (g, "g")))
    conf = np.asarray(m.coords, dtype=np.int64)
    N = conf.shape[1]
    if conf.min() < 0 or conf.max() >= L:
        raise ValueError(f"entity positions must lie in [0, n_positions = {L})")
    counts = np.zeros((N, L, L, L))
    for b in range(N):
        np.add.at(counts[b], (conf[s, b], conf[g, b], conf[sub, b]), 1.0)
    lookup = -np.ones(L**N, dtype=np.int64)
    lookup[conf @ (L ** np.arange(N))] = np.arange(S)
    return FactoredSampler(counts, lookup, L)


def empirical_tv(p, samples) -> float:
    """``TV(p_hat, p)`` of the empirical distribution of integer ``samples`` against ``p``."""
    p = as_float_array(p, "p", ndim=1)
    x = check_states(samples, p.size, "samples").ravel()
    if x.size == 0:
        raise ValueError("samples must not be empty")
    q = np.bincount(x, minlength=p.size) / x.size
    return 0.5 * float(np.abs(q - p).sum())


def product_tv(marginals, samples) -> float:
    """``TV(prod_b p_hat_b, prod_b p_b)`` over all ``L^N`` outcomes: ``marginals`` ``(N, L)`` true
    per-entity distributions, ``samples`` ``(M, N)`` outcomes; ``p_hat_b`` the empirical marginals."""
    P = as_float_array(marginals, "marginals", ndim=2)
    N, L = P.shape
    if L**N > 2_000_000:
        raise ValueError(f"L^N = {L**N} outcomes is too many to enumerate")
    X = np.asarray(samples)
    if X.ndim != 2 or X.shape[1] != N:
        raise ValueError(f"samples must have shape (M, {N}), got {X.shape}")
    X = check_states(X, L, "samples")
    Q = np.stack([np.bincount(X[:, b], minlength=L) / X.shape[0] for b in range(N)])
    p = np.ones(1)
    q = np.ones(1)
    for b in range(N):
        p = np.outer(p, P[b]).ravel()
        q = np.outer(q, Q[b]).ravel()
    return 0.5 * float(np.abs(p - q).sum())
