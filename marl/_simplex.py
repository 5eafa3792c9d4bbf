"""Numba kernels: exact values and optimal strategies of many small zero-sum matrix games.

Method (one dense tableau simplex per game)
-------------------------------------------
For ``M`` of shape ``(k1, k2)`` (row player maximises) let ``lo = min M`` and ``w = max M - lo``.
If ``w == 0`` every strategy is optimal and ``val(M) = lo``. Otherwise the affine rescaling
``B = 1 + (M - lo) / w`` has entries in ``[1, 2]`` and ``val(M) = lo + w (val(B) - 1)`` with the
same optimal strategies. Since ``B > 0`` its value is positive and (von Neumann's reduction, e.g.
Karlin 1959, section 2.4; Dantzig 1951)

    max  1^T z   s.t.  B z <= 1,  z >= 0

has optimum ``1 / val(B)``; ``y = z val(B)`` is optimal for the column player and the LP dual
``min 1^T u s.t. B^T u >= 1, u >= 0`` gives ``x = u val(B)`` for the row player. The slack basis is
feasible (the right-hand side is 1), so no phase one is needed. The kernel pivots with Dantzig's
rule, switches to Bland's rule (which cannot cycle, Bland 1977) after ``2 (k1 + k2)`` pivots, and
reads ``z`` from the basic columns and ``u`` from the reduced costs of the slacks.

Why the answer is exact: the simplex method ends at an optimal *basic* solution, i.e. the
equilibrium is the solution of the square linear system of one optimal basis (the
Shapley-Snow kernel of the game), not an iterate that approaches it; the only error is the
floating-point round-off of at most ``k1 + k2``-ish pivots on a well-scaled tableau. The kernel
also returns the certificate: ``lower = min_j (x^T M)_j <= val(M) <= max_i (M y)_i = upper``,
computed from the returned strategies in the original payoffs, so every game carries a proof of
its own accuracy (``upper - lower``, typically ~1e-16 relative). A game whose pivoting does not
terminate in the iteration cap gets ``status = 1`` and the public wrapper re-solves it with
scipy's HiGHS: never a silent wrong value.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_EPS = 1e-12


@njit(cache=True, inline="always")
def _solve_one(M, T, basis, x, y):
    """Solve one game ``M (k1, k2)`` in place; ``T`` is a ``(k1 + 1, k1 + k2 + 1)`` work tableau,
    ``basis`` an int work array of length ``k1``. Writes ``x (k1,)``, ``y (k2,)`` and returns
    ``(value, lower, upper, status, n_pivots)``."""
    k1, k2 = M.shape
    lo = M[0, 0]
    hi = M[0, 0]
    for i in range(k1):
        for j in range(k2):
            m = M[i, j]
            if m < lo:
                lo = m
            if m > hi:
                hi = m
    width = hi - lo
    if width <= 0.0:
        for i in range(k1):
            x[i] = 1.0 / k1
        for j in range(k2):
            y[j] = 1.0 / k2
        return lo, lo, lo, 0, 0
    inv = 1.0 / width
    ncol = k2 + k1 + 1
    rhs = ncol - 1
    # constraint rows 0..k1-1: [B | I | 1]; objective row k1: [-1 ... -1 | 0 | 0]
    for i in range(k1):
        for j in range(k2):
            T[i, j] = 1.0 + (M[i, j] - lo) * inv
        for j in range(k1):
            T[i, k2 + j] = 0.0
        T[i, k2 + i] = 1.0
        T[i, rhs] = 1.0
        basis[i] = k2 + i
    for j in range(k2):
        T[k1, j] = -1.0
    for j in range(k2, ncol):
        T[k1, j] = 0.0

    status = 1
    max_piv = 50 * (k1 + k2) + 100
    bland_after = 2 * (k1 + k2)
    n_piv = 0
    while n_piv < max_piv:
        # entering column
        enter = -1
        if n_piv < bland_after:
            best = -_EPS
            for j in range(rhs):
                if T[k1, j] < best:
                    best = T[k1, j]
                    enter = j
        else:
            for j in range(rhs):
                if T[k1, j] < -_EPS:
                    enter = j
                    break
        if enter < 0:
            status = 0
            break
        # ratio test; ties go to the smallest basic index (Bland)
        leave = -1
        best_ratio = 0.0
        for i in range(k1):
            a = T[i, enter]
            if a > _EPS:
                r = T[i, rhs] / a
                if leave < 0 or r < best_ratio - 1e-15 or (r <= best_ratio + 1e-15 and basis[i] < basis[leave]):
                    leave = i
                    best_ratio = r
        if leave < 0:  # unbounded cannot happen for B > 0; guard anyway
            status = 2
            break
        piv = 1.0 / T[leave, enter]
        for j in range(ncol):
            T[leave, j] *= piv
        for i in range(k1 + 1):
            if i != leave:
                f = T[i, enter]
                if f != 0.0:
                    for j in range(ncol):
                        T[i, j] -= f * T[leave, j]
                    T[i, enter] = 0.0
        basis[leave] = enter
        n_piv += 1

    # primal z -> y, dual u -> x (normalised; tiny negative round-off clipped)
    sy = 0.0
    for j in range(k2):
        y[j] = 0.0
    for i in range(k1):
        b = basis[i]
        if b < k2:
            val = T[i, rhs]
            y[b] = val if val > 0.0 else 0.0
    for j in range(k2):
        sy += y[j]
    sx = 0.0
    for i in range(k1):
        u = T[k1, k2 + i]
        x[i] = u if u > 0.0 else 0.0
        sx += x[i]
    if sy <= 0.0 or sx <= 0.0:
        status = 3
        for i in range(k1):
            x[i] = 1.0 / k1
        for j in range(k2):
            y[j] = 1.0 / k2
    else:
        for j in range(k2):
            y[j] /= sy
        for i in range(k1):
            x[i] /= sx
    # certificate in the original payoffs
    lower = np.inf
    for j in range(k2):
        s = 0.0
        for i in range(k1):
            s += x[i] * M[i, j]
        if s < lower:
            lower = s
    upper = -np.inf
    for i in range(k1):
        s = 0.0
        for j in range(k2):
            s += M[i, j] * y[j]
        if s > upper:
            upper = s
    return 0.5 * (lower + upper), lower, upper, status, n_piv


@njit(cache=True)
def solve_batch(Ms, values, lowers, uppers, xs, ys, status):
    """Serial loop over a batch ``Ms (n, k1, k2)``; outputs preallocated."""
    n, k1, k2 = Ms.shape
    T = np.empty((k1 + 1, k1 + k2 + 1))
    basis = np.empty(k1, dtype=np.int64)
    for g in range(n):
        v, lo, up, st, _ = _solve_one(Ms[g], T, basis, xs[g], ys[g])
        values[g] = v
        lowers[g] = lo
        uppers[g] = up
        status[g] = st


@njit(cache=True, parallel=True)
def solve_batch_parallel(Ms, values, lowers, uppers, xs, ys, status, n_chunks):
    """Same as :func:`solve_batch`, the batch split into ``n_chunks`` contiguous parallel chunks."""
    n, k1, k2 = Ms.shape
    for c in prange(n_chunks):
        T = np.empty((k1 + 1, k1 + k2 + 1))
        basis = np.empty(k1, dtype=np.int64)
        start = (n * c) // n_chunks
        stop = (n * (c + 1)) // n_chunks
        for g in range(start, stop):
            v, lo, up, st, _ = _solve_one(Ms[g], T, basis, xs[g], ys[g])
            values[g] = v
            lowers[g] = lo
            uppers[g] = up
            status[g] = st


@njit(cache=True)
def batch_values(Ms, values):
    """Values only (the hot loop of Shapley iteration); returns the largest certificate gap."""
    n, k1, k2 = Ms.shape
    T = np.empty((k1 + 1, k1 + k2 + 1))
    basis = np.empty(k1, dtype=np.int64)
    x = np.empty(k1)
    y = np.empty(k2)
    worst = 0.0
    bad = -1
    for g in range(n):
        v, lo, up, st, _ = _solve_one(Ms[g], T, basis, x, y)
        values[g] = v
        if up - lo > worst:
            worst = up - lo
        if st != 0 and bad < 0:
            bad = g
    return worst, bad
