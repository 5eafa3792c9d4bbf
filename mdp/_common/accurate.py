"""Row-sum defects ``sigma - 1`` of ``P`` to within one rounding, for the re-centred certificates.

A certificate at ``v`` may evaluate the Bellman sweep at ``v - c`` (``c`` a constant) instead of at
``v``: ``R + gamma P v = (R - (1 - gamma) c + gamma c (sigma - 1)) + gamma P (v - c) + c`` with
``sigma = P 1`` the row sums, so the sweep's round-off scales with ``span(v)`` instead of ``||v||``
(:func:`mdp.solvers._core.recentred_sweep`). That needs ``sigma - 1`` (about ``1e-16`` to ``atol``) to
a few ulps of itself, far better than a float64 sum of the row gives (``n u``, times ``|c|``). The
kernels here sum the row and ``-1`` by Ogita, Rump & Oishi's ``Sum2`` (2005, *Accurate sum and dot
product*, SIAM J. Sci. Comput. 26(6), Alg. 4.4): error-free ``TwoSum`` steps with the errors summed on
the side. Their Prop. 4.5 bounds the result of ``Sum2`` over ``m`` terms by

    |res - s| <= u |s| + gamma_{m-1}^2 sum |x_i|,     gamma_k = k u / (1 - k u),

here ``m = n + 1`` terms (a row of ``n`` entries and ``-1``) with ``sum |x_i| = sigma + 1`` for ``P >= 0``.
No ``fastmath`` here: it would let the compiler cancel the error terms.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["sum2_rows_dense", "sum2_rows_csr", "defect_error_bound", "reference_row_sum_defects"]


@njit(inline="always")
def _sum2(x, lo, hi, start):
    s = start
    e = 0.0
    for k in range(lo, hi):
        a = float(x[k])
        t = s + a
        z = t - s
        e += (s - (t - z)) + (a - z)  # TwoSum(s, a) = (t, error), Knuth
        s = t
    return s + e


@njit(cache=True, parallel=True)
def sum2_rows_dense(X, start, out):
    """``out[i] = start + sum(X[i, :])`` by ``Sum2`` for a C-contiguous 2-D ``X`` (float32 or float64)."""
    n, L = X.shape
    for i in prange(n):
        out[i] = _sum2(X[i], 0, L, start)


@njit(cache=True, parallel=True)
def sum2_rows_csr(indptr, data, start, out):
    """``out[i] = start + sum(data[indptr[i]:indptr[i + 1]])`` by ``Sum2``."""
    for i in prange(indptr.shape[0] - 1):
        out[i] = _sum2(data, indptr[i], indptr[i + 1], start)


def defect_error_bound(n: int, res_abs_max: float) -> float:
    """Bound on ``|res - (sigma - 1)|`` for ``res`` the ``Sum2`` of a row of ``n >= 0`` non-negative
    entries and ``-1``, given ``max |res|`` over the rows (Prop. 4.5 above, with ``sigma <= 2 + |res|``
    and ``|sigma - 1| <= |res| + error`` solved for the error)."""
    u = float(np.finfo(np.float64).eps) / 2
    k = int(n) * u
    g2 = (k / (1.0 - k)) ** 2
    r = float(res_abs_max)
    return (u * r + g2 * (2.0 + r)) / (1.0 - u - g2) * (1.0 + 4.0 * u)


def reference_row_sum_defects(P: np.ndarray) -> np.ndarray:
    """Numpy twin: ``sum(P[s, a, :]) - 1`` of a dense ``(S, A, S)`` ``P``, exactly rounded (``math.fsum``)."""
    import math

    S, A, _ = P.shape
    return np.array([[math.fsum([*np.asarray(P[s, a], dtype=np.float64), -1.0]) for a in range(A)] for s in range(S)])
