"""Tabular expectile TD (IQL/HIQL-style action-free value) on goal-conditioned samples.

For samples ``i`` with cell ``(s_i, g_i)``, weight ``m_i`` (multiplicity) and TD target ``y_i = r_i + gamma c_i V(s'_i, g_i)``
(:class:`mdp.goal.GoalTransitions`, one-step or option-aware), one synchronous sweep sets every
cell that has samples to the ``kappa``-expectile of its targets (to 1e-13 relative),

    V'(s, g) = argmin_v  sum_{i in cell} m_i |kappa - 1(y_i < v)| (y_i - v)^2,

the tabular version of HIQL's loss ``E[L_kappa(r + gamma Vbar(s', g) - V(s, g))]`` with the
target network equal to the previous sweep (Park et al. 2023; OTA, ``docs/papers/ota.md``). The
expectile is the root of ``f(v) = sum_i w_i(v) (y_i - v)``, ``w_i = kappa`` above ``v`` and
``1 - kappa`` below; it is found exactly by Newton's method on this piecewise-linear monotone
function (iteratively reweighted means; one overshoot at most, then monotone, finitely many
pieces), stopped as soon as no target lies between two iterates (the weights no longer change, so
the iterate is the root; usually after one pass from the warm start) or a step moves less than
``1e-13`` relative (on a breakpoint rounding can make the iterates alternate between neighbouring
floats). The numpy twin uses only the second rule. Cells without samples keep their initial value (default ``-1 / (1 - gamma)`` off the
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
    """Samples sorted by cell: ``(cells, indptr, next_cell, reward, cont, weight)``.

    Cells are goal-major flat indices ``g * S + s`` of the table ``v[s, g]``: a state and its
    successors have nearby indices in grid layouts, so the bootstrap reads of one goal's cells stay
    close in memory (2.4x faster sweeps than the state-major layout on the benchmark's maze).
    """
    S = t.n_states
    key = t.g * S + t.s
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.diff(key)) + 1 if key.size else np.zeros(0, dtype=np.int64)
    starts = np.concatenate([np.zeros(min(key.size, 1), dtype=np.int64), starts])
    cells = key[starts]
    indptr = np.append(starts, key.size).astype(np.int64)
    nxt = (t.g * S + t.s_next)[order]
    return (
        cells.astype(np.int64),
        indptr,
        np.ascontiguousarray(nxt, dtype=np.int64),
        np.ascontiguousarray(t.reward[order], dtype=np.float64),
        np.ascontiguousarray(t.cont[order], dtype=np.float64),
        np.ascontiguousarray(t.weight[order], dtype=np.float64),
    )


#: Newton stops when a step moves the cell by at most this (relative): when the root sits on a
#: breakpoint (a target), float rounding can make the iterates alternate between neighbouring values
#: forever; measured on 10^6 hindsight samples, ~1.5 % of the cells did, and an exact-equality stop
#: ran every such cell to its iteration cap (1 567 Newton steps per sweep)
_NEWTON_RTOL = 1e-13


@njit(cache=True)
def _newton_pass(y, wt, lo, hi, x, kappa):
    """One reweighted mean at ``x``: ``(x_new, same)``, ``same`` when no target lies between ``x``
    and ``x_new`` (the weights at ``x_new`` are those at ``x``, so ``x_new`` is the root)."""
    num = 0.0
    den = 0.0
    ylo = -np.inf  # largest target <= x
    yhi = np.inf  # smallest target > x
    for i in range(lo, hi):
        yi = y[i]
        if yi > x:
            w = kappa * wt[i]
            if yi < yhi:
                yhi = yi
        else:
            w = (1.0 - kappa) * wt[i]
            if yi > ylo:
                ylo = yi
        num += w * yi
        den += w
    xn = num / den
    return xn, (ylo <= xn) and (xn < yhi)


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
                xn, same = _newton_pass(y, wt, lo, hi, x, kappa)
                done = same or abs(xn - x) <= _NEWTON_RTOL * (1.0 + abs(x))
                x = xn
                if done:
                    break
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

    ``v0`` is the flat goal-major ``(S * S,)`` initial table (``v.T.ravel()``); the arguments are
    those of :func:`group_cells`;
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
            done = bool(np.all(np.abs(xn - x) <= _NEWTON_RTOL * (1.0 + np.abs(x))))
            x = xn
            if done:
                break
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
        return v.ravel()  # symmetric: goal-major = state-major
    v = as_float_array(v0, "v0", ndim=2)
    if v.shape != (S, S):
        raise ValueError(f"v0 must have shape (S, S) = ({S}, {S}), got {v.shape}")
    return np.ascontiguousarray(v.T).ravel()  # goal-major


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
        np.ascontiguousarray(v.reshape(S, S).T),
        np.ascontiguousarray(visited.reshape(S, S).T),
        n_iter,
        residuals,
        bound,
        bool(converged),
        kappa,
        gamma,
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
    return np.ascontiguousarray(out.reshape(S, S).T)
