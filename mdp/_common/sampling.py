"""Inverse-CDF categorical draws, the one sampler every learner and generative model uses.

* :func:`draw_csr` (numba, inlined into kernels): the index chosen in one row of a CSR matrix of
  cumulative weights by a uniform ``u``;
* :func:`draw_rows` (numpy): one draw per row of a dense matrix of cumulative weights;
* :func:`draw_vector` (numpy): one draw from a weight vector;
* :func:`cumulative_rows`: the CSR cumulative transition mass of a ``TabularMDP`` that
  :func:`draw_csr` reads.

All three pick the first index whose cumulative weight exceeds ``u * total`` (``u`` in ``[0, 1)``),
so a zero-weight index is never chosen and the draws agree with each other bit for bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["draw_csr", "draw_rows", "draw_vector", "cumulative_rows"]


@njit(cache=True, inline="always")
def draw_csr(indptr, indices, cdf, row, u):
    """``indices[k]`` for the first ``k`` of ``row`` whose cumulative weight ``cdf[k]`` exceeds
    ``u * cdf[last]`` (binary search; ``u`` in ``[0, 1)``)."""
    lo = indptr[row]
    hi = indptr[row + 1] - 1
    x = u * cdf[hi]  # < cdf[hi] since u < 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return indices[lo]


def draw_rows(cdf: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """For each ``r`` of ``rows`` the first column ``j`` with ``cdf[r, j] > u * cdf[r, -1]``.

    ``cdf`` is ``(n, m)`` cumulative weights, ``rows`` and ``u`` are ``(k,)``; returns int64 ``(k,)``.
    """
    c = cdf[rows]
    idx = (c <= (u * c[:, -1])[:, None]).sum(axis=1)
    return np.minimum(idx, cdf.shape[1] - 1)


def draw_vector(p: np.ndarray, u: float) -> int:
    """The first index ``j`` with ``cumsum(p)[j] > u * sum(p)``."""
    c = np.cumsum(p)
    return int(min(np.searchsorted(c, u * c[-1], side="right"), p.shape[0] - 1))


def cumulative_rows(m):
    """``(indptr, indices, cdf)``: per-row cumulative transition mass of ``m`` in CSR layout.

    Row ``i = s * A + a`` covers ``indptr[i]:indptr[i + 1]``; ``indices`` are the successor states
    and ``cdf`` the running sums of their probabilities (float64, summed left to right within the
    row, as ``numpy.cumsum`` does). Dense rows keep every entry: a zero-probability successor has a
    flat cdf step and is never selected.
    """
    S, A = m.n_states, m.n_actions
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
    else:
        indptr = np.arange(0, S * A * S + 1, S, dtype=np.int64)
        indices = np.tile(np.arange(S, dtype=np.int64), S * A)
        data = np.asarray(m.P).reshape(-1)
    cdf = np.empty(len(data))
    _row_cumsum(indptr, np.asarray(data, dtype=np.float64), cdf)
    return np.ascontiguousarray(indptr, dtype=np.int64), np.ascontiguousarray(indices, dtype=np.int64), cdf


@njit(cache=True)
def _row_cumsum(indptr, data, out):
    for i in range(len(indptr) - 1):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k]
            out[k] = acc
