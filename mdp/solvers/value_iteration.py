"""Value iteration (Jacobi and Gauss-Seidel) with the certified stopping rule.

``v_{t+1} = T v_t`` (Jacobi) or the in-place Gauss-Seidel sweep. Both operators are
``gamma``-contractions with fixed point ``v*`` (foundations F1; Puterman 1994, Thm 6.3.4), so

    ||v_{t+1} - v*||_inf <= gamma / (1 - gamma) * ||v_{t+1} - v_t||_inf      (F3; Puterman Thm 6.3.1)

and the loop stops as soon as that bound is ``<= tol``. The sweeps round (float64): with ``err`` a
bound on the round-off of one sweep (:func:`mdp.solvers._core.backup_rounding`), the bound used is
``(gamma ||v_{t+1} - v_t|| + err) / (1 - gamma)``; a ``tol`` below ``err / (1 - gamma)`` cannot be
certified and ends with ``converged=False`` and a warning once the residual reaches the noise
level. The returned ``pi`` is greedy with respect to the returned ``v`` and is certified by one
more sweep (:func:`mdp.certify`).
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit

from mdp._common import ConvergenceWarning
from mdp._common import bellman as K
from mdp._validation import check_positive_int, check_tol
from mdp.solvers._core import (
    SolverResult,
    backup_rounding,
    check_v,
    contraction,
    f3_bound,
    f3_threshold,
    iterate_rounding,
    require_mdp,
)
from mdp.solvers.certify import certify

__all__ = ["value_iteration", "reference_value_iteration"]


_CHUNK = 1 << 16  # sweeps per call of the compiled loop


@njit(cache=True)
def _sup_diff_copy(v_new, v):
    """``max |v_new - v|``, then ``v[:] = v_new``."""
    diff = 0.0
    for s in range(v.shape[0]):
        d = abs(v_new[s] - v[s])
        if d > diff:
            diff = d
        v[s] = v_new[s]
    return diff


@njit(cache=True)
def _gs_dense(P, R, gamma, v, thresh, max_iter, residuals):
    pi = np.empty(R.shape[0], dtype=np.int64)
    for it in range(max_iter):
        diff = K.gauss_seidel_dense(P, R, gamma, v, pi)
        residuals[it] = diff
        if diff <= thresh:
            return it + 1
    return max_iter


@njit(cache=True)
def _gs_sparse(indptr, indices, data, R, gamma, v, thresh, max_iter, residuals):
    pi = np.empty(R.shape[0], dtype=np.int64)
    for it in range(max_iter):
        diff = K.gauss_seidel_sparse(indptr, indices, data, R, gamma, v, pi)
        residuals[it] = diff
        if diff <= thresh:
            return it + 1
    return max_iter


# Jacobi sweeps call the *parallel* Bellman kernels, so their loop stays in Python (a few
# microseconds per sweep): a cached njit function that calls a parallel one can segfault when numba
# loads it back from the on-disk cache in a later process (see tests/test_numba_cache.py).
def _vi_dense(P, R, gamma, v, thresh, max_iter, residuals, gauss_seidel):
    if gauss_seidel:
        return _gs_dense(P, R, gamma, v, thresh, max_iter, residuals)
    v_new = np.empty(R.shape[0])
    pi = np.empty(R.shape[0], dtype=np.int64)
    for it in range(max_iter):
        K.bellman_dense(P, R, gamma, v, v_new, pi)
        diff = _sup_diff_copy(v_new, v)
        residuals[it] = diff
        if diff <= thresh:
            return it + 1
    return max_iter


def _vi_sparse(indptr, indices, data, R, gamma, v, thresh, max_iter, residuals, gauss_seidel):
    if gauss_seidel:
        return _gs_sparse(indptr, indices, data, R, gamma, v, thresh, max_iter, residuals)
    v_new = np.empty(R.shape[0])
    pi = np.empty(R.shape[0], dtype=np.int64)
    for it in range(max_iter):
        K.bellman_sparse(indptr, indices, data, R, gamma, v, v_new, pi)
        diff = _sup_diff_copy(v_new, v)
        residuals[it] = diff
        if diff <= thresh:
            return it + 1
    return max_iter


def reference_value_iteration(P, R, gamma, tol, max_iter, v0=None):
    """Plain-numpy Jacobi value iteration with the F3 stopping rule; returns ``(v, n_iter)``."""
    v = np.zeros(R.shape[0]) if v0 is None else np.array(v0, dtype=np.float64)
    thresh = tol * (1 - gamma) / gamma if gamma > 0 else np.inf
    for it in range(max_iter):
        v_new = (R + gamma * np.einsum("sat,t->sa", np.asarray(P, dtype=np.float64), v)).max(axis=1)
        diff = np.abs(v_new - v).max()
        v = v_new
        if diff <= thresh:
            return v, it + 1
    return v, max_iter


def value_iteration(m, *, tol: float = 1e-8, max_iter: int = 100_000, method: str = "jacobi", v0=None) -> SolverResult:
    """Solve a discounted MDP by value iteration with a certified stopping rule.

    Parameters
    ----------
    m : TabularMDP
        Discounted model, ``P`` ``(S, A, S)`` dense or ``(S * A, S)`` CSR, ``R`` ``(S, A)``.
    tol : float, default 1e-8
        Target accuracy: stop once ``gamma / (1 - gamma) * ||v_{t+1} - v_t||_inf <= tol``, which
        certifies ``||v - v*||_inf <= tol`` (foundations F3; Puterman 1994, Thm 6.3.1).
    max_iter : int, default 100000
        Sweep budget. Stopping there emits a :class:`ConvergenceWarning`, sets
        ``converged=False`` and still reports a certified ``error_bound``.
    method : {"jacobi", "gauss-seidel"}
        Synchronous sweeps, or in-place sweeps in state order (Puterman 1994, Sec. 6.3.3).
    v0 : array_like, shape (S,), optional
        Starting values (default zeros).

    Returns
    -------
    SolverResult
        ``v`` (the last iterate), ``pi`` greedy w.r.t. ``v``, ``q = R + gamma P v``, ``n_iter``
        sweeps, ``error_bound`` on ``||v - v*||``, ``policy_error_bound`` on ``||v* - v^pi||``
        (from one extra sweep, Puterman Thm 6.6.3), ``residuals[t] = ||v_{t+1} - v_t||_inf``.

    Examples
    --------
    >>> import mdp
    >>> res = mdp.value_iteration(mdp.generators.forest(gamma=0.96), tol=1e-9)
    >>> [round(float(x), 4) for x in res.v]
    [74.6496, 78.1056, 82.1056]
    """
    m = require_mdp(m)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    if method not in ("jacobi", "gauss-seidel"):
        raise ValueError(f"method must be 'jacobi' or 'gauss-seidel', got {method!r}")
    v = np.zeros(m.n_states) if v0 is None else check_v(v0, m, "v0")
    g = m.gamma
    # the contraction factor of the stored operator: gamma times the largest row sum (1 up to atol)
    c = contraction(m)
    gs = method == "gauss-seidel"
    # Round-off: a computed Jacobi sweep is within err of the exact one, err = backup_rounding at
    # the iterates' size (they stay below max(||v0||, max|R| / (1 - c)): ||T v|| <= max|R| + c ||v||), so
    #     ||v_{t+1} - v*|| <= (c ||v_{t+1} - v_t|| + err) / (1 - c)
    # and the loop stops once that is <= tol, or at the noise level when tol is below the floor. A
    # Gauss-Seidel sweep feeds its rounded entries forward (worst case err / (1 - c)); it stops at
    # the same residual, and the certificate's Jacobi sweep (mdp.certify) usually gives the bound.
    thresh = f3_threshold(tol, c, iterate_rounding(m, float(np.abs(v).max())))
    # run in chunks so that a large max_iter budget does not allocate max_iter residuals up front
    chunks, n = [], 0
    while n < max_iter:
        buf = np.zeros(min(max_iter - n, _CHUNK))
        if m.is_sparse:
            indptr, indices, data = m.csr_arrays()
            done = _vi_sparse(indptr, indices, data, m.R, g, v, thresh, buf.size, buf, gs)
        else:
            done = _vi_dense(m.P, m.R, g, v, thresh, buf.size, buf, gs)
        chunks.append(buf[:done])
        n += done
        if buf[done - 1] <= thresh:
            break
    residuals = np.concatenate(chunks)
    err = backup_rounding(m, float(np.abs(v).max()) + residuals[-1]) / ((1.0 - c) if gs else 1.0)
    f3 = f3_bound(c, residuals[-1], err)
    cert = certify(m, v)
    error_bound = min(f3, cert.input_error_bound)
    stopped = bool(residuals[-1] <= thresh)
    converged = stopped and error_bound <= tol
    if not converged:
        why = (
            (f"tol={tol:g} is below the float64 round-off floor of this model ({cert.round_off:.3g}, see mdp.certify)")
            if stopped
            else f"it stopped at max_iter={max_iter}"
        )
        warnings.warn(
            f"value_iteration did not certify tol: {why}; certified error bound {error_bound:.3g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    return SolverResult(
        v=v,
        pi=cert.pi,
        q=cert.q,
        n_iter=int(n),
        error_bound=float(error_bound),
        policy_error_bound=cert.policy_error_bound,
        converged=converged,
        method=f"value_iteration[{method}]",
        residuals=residuals,
    )
