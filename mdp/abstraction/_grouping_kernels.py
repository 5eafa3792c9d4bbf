"""numba kernels of the action-grouping learner and their plain-numpy twins.

Private to :mod:`mdp.abstraction.grouping`. One kernel and two numpy twins:

* :func:`sample_grouped` -- the two-stage generative draw of ``docs/papers/action_grouping.md`` (Algorithm 1):
  for every state-group row ``k = s * G + i`` and sample ``n``, ``a ~ mu(. | s, i)`` then
  ``s' ~ P(. | s, a)``, both by inverse CDF from caller-supplied uniforms (so the kernel and its
  twin see the same draws and agree exactly);
* :func:`reference_vi_sweeps` -- the twin of ``grouping.learner._vi_sweeps`` (``T`` synchronous Bellman
  sweeps from ``V_0 = 0`` with :func:`mdp.bellman_operator`'s kernels, then the greedy policy with
  respect to ``V_T``, ties to the lowest group index, as the note asks).

Layouts: a "cumulative CSR" triple ``(indptr, indices, cdf)`` holds, for each row, its support and
the running sums of its probabilities (see :func:`mdp.learners.plugin.cumulative_rows`); the
within-group rule ``mu`` uses the same layout with rows ``s * G + i`` and action indices.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._common.sampling import draw_csr as _draw

__all__ = [
    "sample_grouped",
    "reference_sample_grouped",
    "reference_vi_sweeps",
]


@njit(cache=True)
def sample_grouped(
    mu_indptr, mu_actions, mu_cdf, p_indptr, p_indices, p_cdf, n_groups, n_actions, u_a, u_s, actions_out, next_out
):
    """Two-stage draws: ``actions_out[k, n] ~ mu(. | s, i)``, ``next_out[k, n] ~ P(. | s, a)``.

    ``k = s * G + i`` indexes the ``(S * G, N)`` uniforms ``u_a`` (action) and ``u_s`` (successor).
    """
    n_rows, n = u_a.shape
    for k in range(n_rows):
        s = k // n_groups
        for j in range(n):
            a = _draw(mu_indptr, mu_actions, mu_cdf, k, u_a[k, j])
            actions_out[k, j] = a
            next_out[k, j] = _draw(p_indptr, p_indices, p_cdf, s * n_actions + a, u_s[k, j])


def reference_sample_grouped(P, mu, labels, n_groups, u_a, u_s):
    """Plain-numpy twin of :func:`sample_grouped` for a dense ``P`` ``(S, A, S)``.

    ``mu`` is ``(S, A)`` (``mu[s, a] = mu(a | s, g(a))``), ``labels`` ``(A,)``; ``u_a, u_s`` are
    ``(S * G, N)``. Returns ``(actions, next_states)``, both ``(S * G, N)`` int64.
    """
    S, A, _ = P.shape
    G = n_groups
    actions = np.empty(u_a.shape, dtype=np.int64)
    nxt = np.empty(u_a.shape, dtype=np.int64)
    for s in range(S):
        for i in range(G):
            members = np.flatnonzero(labels == i)
            c = np.cumsum(mu[s, members])
            k = s * G + i
            picks = members[np.searchsorted(c, u_a[k] * c[-1], side="right")]
            actions[k] = picks
            for j, a in enumerate(picks):
                cp = np.cumsum(P[s, a])
                nxt[k, j] = np.searchsorted(cp, u_s[k, j] * cp[-1], side="right")
    return actions, nxt


def reference_vi_sweeps(P, R, gamma, n_iter):
    """Plain numpy: ``V_T`` after ``n_iter`` sweeps from 0 and the greedy policy (lowest index on ties)."""
    v = np.zeros(R.shape[0])
    for _ in range(n_iter):
        v = (R + gamma * np.einsum("sit,t->si", P, v)).max(axis=1)
    q = R + gamma * np.einsum("sit,t->si", P, v)
    return v, np.argmax(q, axis=1)
