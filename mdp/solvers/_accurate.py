"""Row sums of ``P`` to within one rounding, for the re-centred certificates.

A certificate at ``v`` may evaluate the Bellman sweep at ``v - c`` (``c`` a constant) instead of at
``v``: ``R + gamma P v = (R - c + gamma c sigma) + gamma P (v - c) + c`` with ``sigma = P 1`` the row
sums, so the sweep's round-off scales with ``span(v)`` instead of ``||v||``
(:func:`mdp.solvers._core.recentred_sweep`). That needs ``sigma`` far more accurately than a plain
float64 sum gives it (``n u`` relative error, times ``|c|``). The kernels here use Ogita, Rump & Oishi's
``Sum2`` (2005, *Accurate sum and dot product*, SIAM J. Sci. Comput. 26(6), Alg. 4.4): error-free
``TwoSum`` steps with the errors summed on the side. Their Prop. 4.5 bounds the result by

    |res - s| <= u |s| + gamma_{n-1}^2 sum |x_i|,     gamma_k = k u / (1 - k u),

which for ``P >= 0`` (``sum |x_i| = s``) is ``(u + gamma_{n-1}^2) s``. No ``fastmath`` here: it would
let the compiler cancel the error terms.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["sum2_rows_dense", "sum2_rows_csr", "sum2_error_factor", "reference_row_sums"]


@njit(inline="always")
def _sum2(x, lo, hi):
    s = 0.0
    e = 0.0
    for k in range(lo, hi):
        a = float(x[k])
        t = s + a
        z = t - s
        e += (s - (t - z)) + (a - z)  # TwoSum(s, a) = (t, error), Knuth
        s = t
    return s + e


@njit(cache=True, parallel=True)
def sum2_rows_dense(X, out):
    """``out[i] = sum(X[i, :])`` by ``Sum2`` for a C-contiguous 2-D ``X`` (float32 or float64)."""
    n, L = X.shape
    for i in prange(n):
        out[i] = _sum2(X[i], 0, L)


@njit(cache=True, parallel=True)
def sum2_rows_csr(indptr, data, out):
    """``out[i] = sum(data[indptr[i]:indptr[i + 1]])`` by ``Sum2``."""
    for i in prange(indptr.shape[0] - 1):
        out[i] = _sum2(data, indptr[i], indptr[i + 1])


def sum2_error_factor(n: int) -> float:
    """``u + gamma_{n-1}^2``: the relative error of a ``Sum2`` row sum of ``n`` non-negative entries."""
    u = float(np.finfo(np.float64).eps) / 2
    k = max(int(n) - 1, 0) * u
    return u + (k / (1.0 - k)) ** 2


def reference_row_sums(P: np.ndarray) -> np.ndarray:
    """Numpy twin: the row sums of a dense ``(S, A, S)`` ``P``, exactly rounded (``math.fsum``)."""
    import math

    S, A, _ = P.shape
    return np.array([[math.fsum(np.asarray(P[s, a], dtype=np.float64)) for a in range(A)] for s in range(S)])
