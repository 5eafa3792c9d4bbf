"""Linear systems ``(I - gamma P_pi) v = r`` for exact policy evaluation (LAPACK / SuperLU)."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

__all__ = ["solve_policy_system", "solve_transposed_system"]


def _system(P_pi, gamma: float):
    n = P_pi.shape[0]
    if sp.issparse(P_pi):
        return (sp.identity(n, format="csc") - gamma * P_pi.tocsc()).tocsc()
    M = -gamma * np.asarray(P_pi, dtype=np.float64)
    M[np.diag_indices(n)] += 1.0
    return M


def solve_policy_system(P_pi, gamma: float, r: np.ndarray) -> np.ndarray:
    """Solve ``(I - gamma P_pi) v = r``; ``P_pi`` dense ``(S, S)`` or sparse.

    ``I - gamma P_pi`` is strictly diagonally dominant by rows for ``gamma < 1``, so LU without
    pivoting trouble; we still use the pivoting LAPACK/SuperLU drivers.
    """
    M = _system(P_pi, gamma)
    if sp.issparse(M):
        return np.asarray(spla.spsolve(M, r), dtype=np.float64)
    return scipy.linalg.solve(M, r, overwrite_a=True, check_finite=False)


def solve_transposed_system(P_pi, gamma: float, b: np.ndarray) -> np.ndarray:
    """Solve ``x^T (I - gamma P_pi) = b^T``."""
    M = _system(P_pi, gamma)
    if sp.issparse(M):
        return np.asarray(spla.spsolve(M.T.tocsc(), b), dtype=np.float64)
    return scipy.linalg.solve(M.T, b, overwrite_a=True, check_finite=False)
