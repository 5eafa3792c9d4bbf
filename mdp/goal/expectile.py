"""Tabular expectile TD (IQL/HIQL-style action-free value) on goal-conditioned samples.

For samples ``i`` with cell ``(s_i, g_i)``, weight ``m_i`` (multiplicity) and TD target ``y_i = r_i + gamma c_i V(s'_i, g_i)``
(:class:`mdp.goal.GoalTransitions`, one-step or option-aware), one synchronous sweep sets every
cell that has samples to the exact ``kappa``-expectile of its targets,

    V'(s, g) = argmin_v  sum_{i in cell} m_i |kappa - 1(y_i < v)| (y_i - v)^2,

the tabular version of HIQL's loss ``E[L_kappa(r + gamma Vbar(s', g) - V(s, g))]`` with the
target network equal to the previous sweep (Park et al. 2023; OTA, ``docs/papers/ota.md``). The
expectile is the root of ``f(v) = sum_i w_i(v) (y_i - v)``, ``w_i = kappa`` above ``v`` and
``1 - kappa`` below; it is found exactly by Newton's method on this piecewise-linear monotone
function (iteratively reweighted means; one overshoot at most, then monotone, finitely many
pieces). Cells without samples keep their initial value (default ``-1 / (1 - gamma)`` off the
diagonal, ``0`` on it).

The expectile is monotone and shift-equivariant, so the sweep is a ``gamma``-contraction in the
sup norm over the cells (OTA, OT2, for every ``kappa`` in ``(0, 1)``); the loop stops when the
certified bound ``gamma / (1 - gamma) ||V_{t+1} - V_t||`` is ``<= tol`` (foundations F3).
The kernel is numba; :func:`reference_expectile_td` is the plain-numpy twin (vectorised over cells
with ``numpy.bincount``), also the peer of the benchmark ``benchmarks/bench_goal.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
from numba import njit

from mdp._common import ConvergenceWarning, result
from mdp._validation import as_float_array, check_bool, check_gamma, check_positive_int, check_tol
from mdp.goal.data import GoalTransitions
from mdp.goal.model import check_expectile

__all__ = [
    "ExpectileTDResult",
    "expectile_td",
    "expectile_backup",
    "reference_expectile_td",
    "sample_expectile",
    "group_cells",
]


@result
class ExpectileTDResult:
    """Goal-conditioned value table from expectile TD.

    Attributes
    ----------
    v : ndarray, shape (S, S)
        ``v[s, g]`` (cells without samples keep ``v0``).
    visited : ndarray of bool, shape (S, S)
        Cells that have at least one sample.
    n_iter : int
        Sweeps performed.
    residuals : ndarray, shape (n_iter,)
        ``||V_{t+1} - V_t||_inf`` per sweep.
    error_bound : float
        ``gamma / (1 - gamma) * residuals[-1]``: certified sup-norm distance to the fixed point.
    converged : bool
        ``error_bound <= tol``.
    expectile : float
    gamma : float
    """

    v: np.ndarray
    visited: np.ndarray
    n_iter: int
    residuals: np.ndarray
    error_bound: float
    converged: bool
    expectile: float
    gamma: float


def sample_expectile(y, kappa: float, weights=None) -> float:
    """The exact ``kappa``-expectile of the values ``y`` (optionally weighted), by sorting.

    Plain numpy, independent of the kernels' Newton iteration (used by the tests).
    """
    kappa = check_expectile(kappa)
    y = as_float_array(y, "y", ndim=1)
    if y.size == 0:
        raise ValueError("y must hold at least one value")
    w = np.ones_like(y) if weights is None else as_float_array(weights, "weights", ndim=1)
    o = np.argsort(y)
    y, w = y[o], w[o]
    # on [y_k, y_{k+1}] the weights are fixed: (1-kappa) for y_0..y_k, kappa above
    for k in range(y.size):
        lo = (1 - kappa) * w[: k + 1]
        hi = kappa * w[k + 1 :]
        x = (lo @ y[: k + 1] + hi @ y[k + 1 :]) / (lo.sum() + hi.sum())
        if y[k] - 1e-300 <= x and (k == y.size - 1 or x <= y[k + 1]):
            return float(x)
    return float(y[-1])  # pragma: no cover - unreachable: the root lies in some segment


def group_cells(t: GoalTransitions):
    """Samples sorted by cell ``s * S + g``: ``(cells, indptr, next_cell, reward, cont, weight)``."""
    S = t.n_states
    key = t.s * S + t.g
    order = np.argsort(key, kind="stable")
    key = key[order]
    cells, starts = np.unique(key, return_index=True)
    indptr = np.append(starts, key.size).astype(np.int64)
    nxt = (t.s_next * S + t.g)[order]
    return (
        cells.astype(np.int64),
        indptr,
        np.ascontiguousarray(nxt, dtype=np.int64),
        np.ascontiguousarray(t.reward[order], dtype=np.float64),
        np.ascontiguousarray(t.cont[order], dtype=np.float64),
        np.ascontiguousarray(t.weight[order], dtype=np.float64),
    )


@njit(cache=True)
def _sweeps(cells, indptr, nxt, rew, cont, wt, gamma, kappa, v, thresh, max_iter, residuals, lo_clip, hi_clip):
    n_cells = cells.shape[0]
    new = np.empty(n_cells)
    y = np.empty(nxt.shape[0])
    for it in range(max_iter):
        for c in range(n_cells):
            lo = indptr[c]
            hi = indptr[c + 1]
            for i in range(lo, hi):
                y[i] = min(max(rew[i] + gamma * cont[i] * v[nxt[i]], lo_clip), hi_clip)
            x = v[cells[c]]
            for _ in range(hi - lo + 3):
                num = 0.0
                den = 0.0
                for i in range(lo, hi):
                    w = (kappa if y[i] > x else 1.0 - kappa) * wt[i]
                    num += w * y[i]
                    den += w
                xn = num / den
                if xn == x:
                    break
                x = xn
            new[c] = x
        diff = 0.0
        for c in range(n_cells):
            d = abs(new[c] - v[cells[c]])
            if d > diff:
                diff = d
            v[cells[c]] = new[c]
        residuals[it] = diff
        if diff <= thresh:
            return it + 1
    return max_iter


def reference_expectile_td(cells, indptr, nxt, rew, cont, wt, gamma, kappa, v0, tol, max_iter, clip=(-np.inf, np.inf)):
    """Plain-numpy twin of the kernel (same sweeps, vectorised over cells); returns ``(v, residuals)``.

    ``v0`` is the flat ``(S * S,)`` initial table; the arguments are those of :func:`group_cells`;
    ``clip``: the interval the targets are clamped to.
    """
    v = np.array(v0, dtype=np.float64)
    counts = np.diff(indptr)
    seg = np.repeat(np.arange(cells.size), counts)
    thresh = tol * (1 - gamma) / gamma if gamma > 0 else np.inf
    residuals = []
    for _ in range(max_iter):
        y = np.clip(rew + gamma * cont * v[nxt], clip[0], clip[1])
        x = v[cells].copy()
        for _ in range(int(counts.max()) + 3):
            w = np.where(y > x[seg], kappa, 1.0 - kappa) * wt
            xn = np.bincount(seg, w * y, minlength=cells.size) / np.bincount(seg, w, minlength=cells.size)
            if np.array_equal(xn, x):
                break
            x = xn
        diff = float(np.abs(x - v[cells]).max()) if cells.size else 0.0
        v[cells] = x
        residuals.append(diff)
        if diff <= thresh:
            break
    return v, np.array(residuals)


def _initial(S, gamma, v0):
    if v0 is None:
        v = np.full((S, S), -1.0 / (1.0 - gamma))
        np.fill_diagonal(v, 0.0)
        return v.ravel()
    v = as_float_array(v0, "v0", ndim=2)
    if v.shape != (S, S):
        raise ValueError(f"v0 must have shape (S, S) = ({S}, {S}), got {v.shape}")
    return v.ravel().copy()


def expectile_td(
    transitions: GoalTransitions,
    *,
    gamma: float = 0.99,
    expectile: float = 0.7,
    tol: float = 1e-6,
    max_iter: int = 10_000,
    v0=None,
    clip: bool = False,
) -> ExpectileTDResult:
    """Tabular expectile TD to its fixed point (numba kernel; see the module docstring).

    Parameters
    ----------
    transitions : GoalTransitions
        From :func:`mdp.goal.hindsight_transitions` or :func:`mdp.goal.exhaustive_transitions`.
    gamma : float in [0, 1)
    expectile : float in (0, 1)
        ``kappa``; 0.5 is mean regression, HIQL/OTA use 0.7, HECRL 0.9.
    tol : float
        Certified sup-norm accuracy of the returned table (F3 bound).
    max_iter : int
    v0 : array_like, shape (S, S), optional
    clip : bool
        Clamp every target to ``[-1 / (1 - gamma), 0]``, the range of the true values for rewards
        in ``{-1, 0}`` (HECRL's critic; claim H3: the fixed point is unchanged).

    Returns
    -------
    ExpectileTDResult
    """
    if not isinstance(transitions, GoalTransitions):
        raise TypeError(f"transitions must be a mdp.goal.GoalTransitions, got {type(transitions).__name__}")
    gamma = check_gamma(gamma)
    kappa = check_expectile(expectile, "expectile")
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    lo, hi = (-1.0 / (1.0 - gamma), 0.0) if check_bool(clip, "clip") else (-np.inf, np.inf)
    S = transitions.n_states
    v = _initial(S, gamma, v0)
    cells, indptr, nxt, rew, cont, wt = group_cells(transitions)
    residuals = np.zeros(max_iter)
    thresh = tol * (1 - gamma) / gamma if gamma > 0 else np.inf
    if cells.size == 0:
        n_iter = 1
    else:
        n_iter = int(_sweeps(cells, indptr, nxt, rew, cont, wt, gamma, kappa, v, thresh, max_iter, residuals, lo, hi))
    residuals = residuals[:n_iter].copy()
    bound = gamma / (1 - gamma) * float(residuals[-1]) if gamma > 0 else 0.0
    converged = bound <= tol
    if not converged:
        warnings.warn(
            f"expectile_td stopped after {n_iter} sweeps with certified error {bound:.3g} > tol {tol:.3g}",
            ConvergenceWarning,
            stacklevel=2,
        )
    visited = np.zeros(S * S, dtype=bool)
    visited[cells] = True
    return ExpectileTDResult(
        v.reshape(S, S), visited.reshape(S, S), n_iter, residuals, bound, bool(converged), kappa, gamma
    )


def expectile_backup(transitions: GoalTransitions, v, *, gamma: float = 0.99, expectile: float = 0.7) -> np.ndarray:
    """One synchronous expectile TD sweep ``T V`` of the table ``v`` ``(S, S)`` (cells without
    samples unchanged); the operator whose contraction claim OT2 checks."""
    if not isinstance(transitions, GoalTransitions):
        raise TypeError(f"transitions must be a mdp.goal.GoalTransitions, got {type(transitions).__name__}")
    gamma = check_gamma(gamma)
    kappa = check_expectile(expectile, "expectile")
    S = transitions.n_states
    out = _initial(S, gamma, v)
    cells, indptr, nxt, rew, cont, wt = group_cells(transitions)
    if cells.size:
        _sweeps(cells, indptr, nxt, rew, cont, wt, gamma, kappa, out, np.inf, 1, np.zeros(1), -np.inf, np.inf)
    return out.reshape(S, S)
