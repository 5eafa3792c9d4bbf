"""Relative value iteration for the average-reward criterion, with a certified bracket on the gain.

The average-reward (gain) optimality equation is ``g + h(s) = max_a [R(s, a) + sum_s' P(s, a, s') h(s')]``
(Puterman 1994, *Markov Decision Processes*, Sec. 8.4). With ``T v = max_a (R + P v)`` (undiscounted),
relative value iteration (White 1963; Puterman 1994, Sec. 8.5.5) iterates

    w = T_tau v,    v <- w - w(s_ref)

on the *aperiodicity transform* ``P_tau = tau I + (1 - tau) P`` (Puterman 1994, Sec. 8.5.4; Schweitzer
1971): the same rewards, the same gain for every policy and the same optimal policies, and every
policy's chain is aperiodic for ``tau > 0``, so the iteration cannot cycle on a periodic model. The
transformed model's relative values ``h_tau`` give the original ones as ``h = (1 - tau) h_tau``.

Certificate. For any ``v`` with ``d = T v - v``, monotonicity and ``T(v + c 1) = T v + c 1`` give
``T^n v >= v + n min(d) 1``, and ``T^n v / n -> g*`` (the optimal gain vector, any finite MDP;
Puterman 1994, Thm 9.4.1 and Sec. 8.5.5), so

    min_s d(s) <= g*(s) <= max_s d(s)     for every state s                (Odoni 1969)

and, for the greedy policy ``pi`` of the sweep (``T_pi v = T v``), ``g^pi >= min d`` too, so
``g* - g^pi <= span(d)``. The bracket holds for every finite MDP; it *closes* (``span(d) -> 0``) when
the optimal gain is constant (unichain or weakly communicating models, Puterman 1994, Thm 8.5.5 and
Sec. 9.5) and the chains are aperiodic (the transform). On a multichain model with state-dependent
``g*`` the span stays positive and the solver ends with ``converged=False`` and a warning.

Round-off: the sweep is evaluated as ``max_a [R + (1 - tau) P v] - (1 - tau) v`` with the shared Bellman
kernels; the bracket is widened by their worst-case round-off (:func:`mdp._common.roundoff.backup_rounding`)
and by ``(1 - tau) max|sigma - 1| ||v||`` for stored row sums ``sigma`` that differ from 1 (the bracket
is then that of the renormalised model ``P / sigma``).

``m.gamma`` is ignored: the criterion is undiscounted.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from mdp._common import ConvergenceWarning, result
from mdp._common.backups import check_v
from mdp._common.numerics import UNDERFLOW, UNIT_ROUNDOFF, VALUE_LIMIT
from mdp._common.roundoff import backup_rounding
from mdp._validation import check_mdp as require_mdp
from mdp._validation import check_positive_int, check_progress, check_real, check_tol
from mdp.operators import bellman_operator

__all__ = ["AverageRewardResult", "relative_value_iteration", "reference_relative_value_iteration"]


@result
class AverageRewardResult:
    """Result of :func:`mdp.relative_value_iteration`.

    Attributes
    ----------
    gain : float
        Midpoint of the certified bracket on the optimal gain ``g*``.
    gain_bounds : tuple of float
        ``(lo, hi)`` with ``lo <= g*(s) <= hi`` for every state (certified, round-off included).
    bias : ndarray, shape (S,)
        Relative values ``h`` of the original model with ``h[ref_state] = 0``: an approximate
        solution of ``g + h = max_a (R + P h)`` (a bias vector up to an additive constant).
    pi : ndarray of int64, shape (S,)
        Greedy policy of the last sweep.
    error_bound : float
        ``(hi - lo) / 2``: certified bound on ``|gain - g*|``.
    policy_error_bound : float
        ``hi - lo``: certified bound on ``g* - g^pi`` (how far ``pi``'s gain can be from optimal).
    n_iter : int
        Sweeps done.
    residuals : ndarray, shape (n_iter,)
        ``span(T v_t - v_t)`` of the transformed model per sweep.
    converged : bool
        Whether ``error_bound <= tol``.
    tau : float
        Aperiodicity weight used.
    ref_state : int
        State whose relative value is pinned to 0.
    """

    gain: float
    gain_bounds: tuple
    bias: np.ndarray
    pi: np.ndarray
    error_bound: float
    policy_error_bound: float
    n_iter: int
    residuals: np.ndarray
    converged: bool
    tau: float
    ref_state: int


def reference_relative_value_iteration(P, R, tol, max_iter, tau=0.5, ref_state=0):
    """Plain-numpy twin for dense ``P``: ``(gain, (lo, hi), bias, pi, n_iter)`` (no round-off terms)."""
    P = np.asarray(P, dtype=np.float64)
    S = R.shape[0]
    P_tau = tau * np.eye(S)[:, None, :] + (1.0 - tau) * P
    v = np.zeros(S)
    lo, hi, pi = -np.inf, np.inf, np.zeros(S, dtype=np.int64)
    for it in range(max_iter):
        q = R + np.einsum("sat,t->sa", P_tau, v)
        w = q.max(axis=1)
        pi = q.argmax(axis=1)
        d = w - v
        lo, hi = d.min(), d.max()
        v = w - w[ref_state]
        if (hi - lo) / 2 <= tol:
            break
    return (lo + hi) / 2, (lo, hi), (1.0 - tau) * v, pi, it + 1


def relative_value_iteration(
    m, *, tol: float = 1e-8, max_iter: int = 10_000, tau: float = 0.5, ref_state: int = 0, v0=None, progress=None
) -> AverageRewardResult:
    """Maximise the long-run average reward by relative value iteration, with a certified gain bracket.

    Parameters
    ----------
    m : TabularMDP
        The model; ``m.gamma`` is ignored (undiscounted criterion). Dense or CSR.
    tol : float, default 1e-8
        Stop once the certified bracket ``[lo, hi]`` on ``g*`` has half-width ``<= tol``.
    max_iter : int, default 10000
        Sweep budget; stopping there warns (:class:`~mdp.ConvergenceWarning`) with the bracket reached.
    tau : float in [0, 1), default 0.5
        Aperiodicity transform ``P_tau = tau I + (1 - tau) P`` (same gains and optimal policies).
        ``tau = 0`` is plain RVI, which can cycle forever on periodic models.
    ref_state : int, default 0
        The state whose relative value is held at 0.
    v0 : array_like, shape (S,), optional
        Starting relative values (default zeros).
    progress : callable, optional
        ``progress(done, max_iter)`` about every hundredth of ``max_iter`` sweeps and once at the end
        (with the sweeps done); an exception it raises stops the call.

    Returns
    -------
    AverageRewardResult

    Notes
    -----
    ``lo <= g* <= hi`` holds for every finite MDP (module docstring, Odoni 1969; Puterman 1994,
    Sec. 8.5.5); convergence of the bracket needs a constant optimal gain (unichain or weakly
    communicating models). Method and proofs: ``docs/algorithms.md``, section "Interop, average
    reward and saved models".

    Examples
    --------
    >>> import mdp
    >>> round(mdp.relative_value_iteration(mdp.generators.forest()).gain, 6)
    3.24
    """
    m = require_mdp(m, discounted=False)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    tau = check_real(tau, "tau", "[0, 1)")  # the self-loop weight of the aperiodicity transform
    progress = check_progress(progress)
    every = -(-max_iter // 100)
    S = m.n_states
    if isinstance(ref_state, (bool, np.bool_)) or not isinstance(ref_state, (numbers.Integral, np.integer)):
        raise TypeError(f"ref_state must be an integer, got {type(ref_state).__name__}")
    if not 0 <= int(ref_state) < S:
        raise ValueError(f"ref_state must lie in [0, {S}), got {int(ref_state)}")
    ref = int(ref_state)
    if not m.r_max <= VALUE_LIMIT:
        raise ValueError(f"m: max|R| = {m.r_max:.3g} is beyond the {VALUE_LIMIT:g} float64 solvers accept; rescale R")
    v = np.zeros(S) if v0 is None else check_v(v0, m, "v0")
    w_scale = 1.0 - tau
    mt = m.with_gamma(w_scale)  # q = R + (1 - tau) P v: the shared kernels with "gamma" = 1 - tau
    lo_sum, hi_sum = m.row_sum_range
    defect = max(abs(lo_sum - 1.0), abs(hi_sum - 1.0))
    out = np.empty(S)
    pi = np.empty(S, dtype=np.int64)
    residuals = np.empty(max_iter)
    lo = hi = 0.0
    n = 0
    converged = False
    for it in range(max_iter):
        bellman_operator(mt, v, out=out, pi_out=pi)  # out = max_a [R + (1 - tau) P v] (the shared kernel)
        d = out - w_scale * v  # = T_tau v - v
        v_max = float(np.abs(v).max())
        # round-off of the backups, of (1 - tau) v and of the difference; row-sum defects of P
        err = (
            backup_rounding(mt, v_max)
            + UNIT_ROUNDOFF * w_scale * v_max
            + 2.0 * UNIT_ROUNDOFF * float(np.abs(d).max())
            + w_scale * defect * v_max
            + UNDERFLOW
        )
        lo = float(d.min()) - err
        hi = float(d.max()) + err
        residuals[it] = float(d.max() - d.min())
        n = it + 1
        w = d + v  # T_tau v
        v = w - w[ref]
        if (hi - lo) / 2.0 * (1.0 + 4.0 * UNIT_ROUNDOFF) <= tol:
            converged = True
            break
        if progress is not None and n % every == 0 and n < max_iter:
            progress(n, max_iter)
    if progress is not None:
        progress(n, max_iter)  # once at the end, with the sweeps done
    half = (hi - lo) / 2.0 * (1.0 + 4.0 * UNIT_ROUNDOFF)
    if not converged:
        warnings.warn(
            f"relative_value_iteration did not certify tol={tol:g} within max_iter={max_iter}: gain bracket "
            f"[{lo:.10g}, {hi:.10g}] (half-width {half:.3g}). The bracket is valid; it closes only when the "
            "optimal gain is the same in every state (unichain or weakly communicating model) and no chain "
            "is periodic (raise tau) -- or tol is below the round-off floor of this model",
            ConvergenceWarning,
            stacklevel=2,
        )
    return AverageRewardResult(
        gain=0.5 * lo + 0.5 * hi,
        gain_bounds=(lo, hi),
        bias=w_scale * v,
        pi=pi.copy(),
        error_bound=float(half),
        policy_error_bound=float(2.0 * half),
        n_iter=n,
        residuals=residuals[:n].copy(),
        converged=converged,
        tau=tau,
        ref_state=ref,
    )
