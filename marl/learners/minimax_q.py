"""Minimax-Q (Littman 1994) for two-player zero-sum Markov games: synchronous and online.

Update for an observed ``(s, a1, a2, s')`` with the known expected reward ``R[s, a1, a2]``
(docs/papers/foundations.md section 7):

    Q(s, a1, a2) <- (1 - alpha) Q(s, a1, a2) + alpha (R[s, a1, a2] + gamma val(Q(s', :, :)))

with ``val`` the value of the stage matrix game (exact, :mod:`marl._simplex`). Convergence to
``Q*`` w.p. 1 under the Robbins-Monro conditions and infinite visits (Littman & Szepesvari 1996).

* ``mode="synchronous"``: one generative-model sample for *every* ``(s, a1, a2)`` per sweep, all
  updated from the same ``Q_t`` (the setting of foundations G4); ``alpha_t`` depends on the sweep.
* ``mode="online"``: one trajectory. The row player (the learner) plays its maximin stage
  strategy of ``Q(s)`` and explores uniformly with probability ``epsilon``. The column player is
  ``opponent="random"`` (uniform), ``"minimax"`` (self-play: the minimiser's stage strategy of the
  same ``Q``, also ``epsilon``-exploring; Littman's MM training) or a fixed stationary strategy
  ``(S, A2)``. With probability ``reset_prob`` per step the trajectory restarts from ``reset_dist``
  (Littman's 0.1 "draw" per step); the update itself always bootstraps from the sampled ``s'``,
  so resets change only which states are visited, not the fixed point.

Step sizes (``k`` = sweep index, per-triple visit count, or global step):

* ``"polynomial"``: ``alpha_k = 1 / (k + 1)^omega`` (``k`` = sweep, or visits of the triple online);
* ``"littman"``: ``alpha_k = decay^k`` with ``k`` the global step (Littman 1994: ``decay = 0.9999954``);
* a float ``c in (0, 1]``: constant.

Randomness comes only from the caller's Generator (uniforms drawn in chunks, C order).
"""

from __future__ import annotations

import numbers
from dataclasses import field

import numpy as np
from numba import njit

from marl._simplex import _solve_one
from marl.model import MarkovGame, check_stationary_strategy
from mdp._common import result
from mdp._common.sampling import cumulative_rows
from mdp._common.sampling import draw_csr as _draw
from mdp._validation import (
    as_float_array,
    check_index,
    check_positive_int,
    check_probability,
    check_progress,
    check_real,
    check_rng,
    progress_chunk,
)

__all__ = ["MinimaxQResult", "minimax_q", "reference_minimax_q"]

_CHUNK_FLOATS = 1 << 20


@result
class MinimaxQResult:
    """Result of :func:`minimax_q`.

    Attributes
    ----------
    q : ndarray (S, A1, A2)
        Final estimate of ``Q*``.
    v : ndarray (S,)
        ``val(q[s])``.
    row_policy, col_policy : ndarray (S, A1), (S, A2)
        Stage-game maximin / minimax strategies of ``q``.
    n_iter, n_samples : int
        Sweeps (synchronous) or steps (online); generative-model calls / transitions.
    errors : ndarray
        ``errors[t] = max |q_t - q_star|`` for ``t = 0..n_iter`` when ``q_star`` was given, else empty.
    checkpoints : ndarray (k,)
        Iteration counts at which ``q_checkpoints`` were stored.
    q_checkpoints : ndarray (k, S, A1, A2)
    mode, step_size : str
    """

    q: np.ndarray
    v: np.ndarray
    row_policy: np.ndarray
    col_policy: np.ndarray
    n_iter: int
    n_samples: int
    errors: np.ndarray = field(repr=False)
    checkpoints: np.ndarray = field(repr=False)
    q_checkpoints: np.ndarray = field(repr=False)
    mode: str = "synchronous"
    step_size: str = ""


# ---------------------------------------------------------------------------- kernels
@njit(cache=True, inline="always")
def _alpha(kind, omega, const, k):
    if kind == 0:
        return 1.0 / (k + 1.0) ** omega
    if kind == 1:
        return const**k  # const holds the decay
    return const


@njit(cache=True)
def _sup_dist3(q, q_star):
    e = 0.0
    flat = q.ravel()
    ref = q_star.ravel()
    for i in range(flat.size):
        d = abs(flat[i] - ref[i])
        if d > e:
            e = d
    return e


@njit(cache=True)
def _sync_kernel(indptr, indices, cdf, R, gamma, q, u, t0, kind, omega, const, q_star, errors):
    """``u.shape[0]`` synchronous sweeps from sweep ``t0``; ``u`` is ``(n, S * A1 * A2)``."""
    S, A1, A2 = R.shape
    T = np.empty((A1 + 1, A1 + A2 + 1))
    basis = np.empty(A1, dtype=np.int64)
    x = np.empty(A1)
    y = np.empty(A2)
    v = np.empty(S)
    record = errors.size > 0
    for it in range(u.shape[0]):
        t = t0 + it
        alpha = _alpha(kind, omega, const, t)
        for s in range(S):
            v[s] = _solve_one(q[s], T, basis, x, y)[0]
        for s in range(S):
            for a in range(A1):
                for b in range(A2):
                    i = (s * A1 + a) * A2 + b
                    s2 = _draw(indptr, indices, cdf, i, u[it, i])
                    q[s, a, b] = (1.0 - alpha) * q[s, a, b] + alpha * (R[s, a, b] + gamma * v[s2])
        if record:
            errors[t + 1] = _sup_dist3(q, q_star)


@njit(cache=True, inline="always")
def _sample(p, u):
    k = p.shape[0]
    acc = 0.0
    for i in range(k - 1):
        acc += p[i]
        if u < acc:
            return i
    return k - 1


@njit(cache=True)
def _online_kernel(
    indptr,
    indices,
    cdf,
    R,
    gamma,
    q,
    counts,
    s,
    u,
    t0,
    kind,
    omega,
    const,
    epsilon,
    opp_kind,
    opp_policy,
    reset_prob,
    reset_cdf,
    q_star,
    errors,
):
    """``u.shape[0]`` steps from state ``s`` (``u``: ``(n, 6)``); returns the last state.

    ``opp_kind``: 0 uniform, 1 minimax self-play, 2 fixed ``opp_policy (S, A2)``.
    """
    S, A1, A2 = R.shape
    T = np.empty((A1 + 1, A1 + A2 + 1))
    basis = np.empty(A1, dtype=np.int64)
    x = np.empty(A1)
    y = np.empty(A2)
    x2 = np.empty(A1)
    y2 = np.empty(A2)
    record = errors.size > 0
    for it in range(u.shape[0]):
        t = t0 + it
        _solve_one(q[s], T, basis, x, y)
        if u[it, 0] < epsilon:
            a = min(int(u[it, 1] * A1), A1 - 1)
        else:
            a = _sample(x, u[it, 1])
        if opp_kind == 0:
            b = min(int(u[it, 2] * A2), A2 - 1)
        elif opp_kind == 1:
            if u[it, 3] < epsilon:
                b = min(int(u[it, 2] * A2), A2 - 1)
            else:
                b = _sample(y, u[it, 2])
        else:
            b = _sample(opp_policy[s], u[it, 2])
        k = t if kind == 1 else counts[s, a, b]
        alpha = _alpha(kind, omega, const, k)
        counts[s, a, b] += 1
        s2 = _draw(indptr, indices, cdf, (s * A1 + a) * A2 + b, u[it, 4])
        v2 = _solve_one(q[s2], T, basis, x2, y2)[0]
        q[s, a, b] = (1.0 - alpha) * q[s, a, b] + alpha * (R[s, a, b] + gamma * v2)
        s = s2
        if reset_prob > 0.0 and u[it, 5] < reset_prob:
            # restart: invert the reset cdf with the same uniform rescaled to [0, 1)
            w = u[it, 5] / reset_prob
            j = 0
            while j < S - 1 and reset_cdf[j] <= w:
                j += 1
            s = j
        if record:
            errors[t + 1] = _sup_dist3(q, q_star)
    return s


# ---------------------------------------------------------------------------- numpy twin
def reference_minimax_q(P, R, gamma, *, n_iter, rng, omega=0.6, q0=None):
    """Plain twin of synchronous :func:`minimax_q` (polynomial steps) on dense ``P (S, A1, A2, S)``,
    stage values by scipy HiGHS; consumes the Generator exactly as the kernel does."""
    from marl.matrix import zero_sum_lp

    P = np.asarray(P, float)
    R = np.asarray(R, float)
    S, A1, A2 = R.shape
    cdf = np.cumsum(P, axis=3).reshape(S * A1 * A2, S)
    q = np.zeros((S, A1, A2)) if q0 is None else np.array(q0, float)
    chunk = max(1, _CHUNK_FLOATS // (S * A1 * A2))
    t = 0
    while t < n_iter:
        u = rng.random((min(chunk, n_iter - t), S * A1 * A2))
        for it in range(u.shape[0]):
            alpha = 1.0 / (t + 1.0) ** omega
            v = np.asarray(zero_sum_lp(q).value)
            nxt = np.array(
                [np.searchsorted(cdf[i], u[it, i] * cdf[i, -1], side="right") for i in range(S * A1 * A2)]
            ).reshape(S, A1, A2)
            q = (1.0 - alpha) * q + alpha * (R + gamma * v[nxt])
            t += 1
    return q


# ---------------------------------------------------------------------------- wrapper
def _parse_step(step_size, decay):
    if isinstance(step_size, str):
        if step_size == "polynomial":
            return 0, 0.0, "polynomial"
        if step_size == "littman":
            decay = check_real(decay, "decay", "(0, 1]")
            return 1, decay, f"littman(decay={decay:g})"
        raise ValueError(f"step_size must be 'polynomial', 'littman' or a float in (0, 1], got {step_size!r}")
    c = check_real(step_size, "constant step_size", "(0, 1]")
    return 2, c, f"constant({c:g})"


def minimax_q(
    game,
    *,
    n_iter,
    rng,
    mode: str = "synchronous",
    step_size="polynomial",
    omega: float = 0.6,
    decay: float = 0.9999954,
    epsilon: float = 0.2,
    opponent="minimax",
    s0: int = 0,
    reset_prob: float = 0.0,
    reset_dist=None,
    q0=None,
    q_star=None,
    checkpoints=(),
    progress=None,
) -> MinimaxQResult:
    """Minimax-Q learning on a zero-sum :class:`marl.MarkovGame` used as a simulator.

    Parameters
    ----------
    game : MarkovGame
        Zero-sum, dense or sparse. ``R`` is the known expected stage payoff.
    n_iter : int
        Synchronous sweeps or online steps.
    rng : numpy.random.Generator
        The only source of randomness.
    mode : {"synchronous", "online"}
    step_size : {"polynomial", "littman"} or float, default "polynomial"
    omega : float, default 0.6
        Exponent of the polynomial step size, in ``(1/2, 1]``.
    decay : float, default 0.9999954
        Per-step decay of ``"littman"`` step sizes (Littman 1994).
    epsilon : float, default 0.2
        Online: exploration probability (Littman 1994 uses 0.2).
    opponent : {"minimax", "random"} or array_like (S, A2)
        Online: the column player's behaviour.
    s0 : int, default 0
        Online: start state.
    reset_prob : float, default 0
        Online: per-step probability of restarting from ``reset_dist`` (Littman's draws: 0.1).
    reset_dist : array_like (S,), optional
        Online: restart distribution (default: ``s0`` with probability one).
    q0 : array_like (S, A1, A2), optional
    q_star : array_like (S, A1, A2), optional
        Records ``errors[t] = max |q_t - q_star|`` in the kernel.
    checkpoints : sequence of int
        Iteration counts (``1..n_iter``) at which a copy of ``q`` is kept.
    progress : callable, optional
        ``progress(done, n_iter)``, called about 100 times and once at the end (the random stream,
        hence the result, does not depend on it); an exception it raises stops the call.

    Returns
    -------
    MinimaxQResult
    """
    if not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a marl.MarkovGame, got {type(game).__name__}")
    if not game.is_zero_sum:
        raise ValueError(
            "game must be zero-sum (R of shape (S, A1, A2)); use marl.learners.nash_q for general-sum games"
        )
    n_iter = check_positive_int(n_iter, "n_iter")
    rng = check_rng(rng)
    progress = check_progress(progress)
    kind, const, label = _parse_step(step_size, decay)
    omega = check_real(omega, "omega", "(1/2, 1]")
    if kind == 0:
        label = f"polynomial(omega={omega:g})"
    if mode not in ("synchronous", "online"):
        raise ValueError(f"mode must be 'synchronous' or 'online', got {mode!r}")
    S, (A1, A2) = game.n_states, game.n_actions
    q = np.zeros((S, A1, A2)) if q0 is None else as_float_array(q0, "q0", ndim=3).copy()
    if q.shape != (S, A1, A2):
        raise ValueError(f"q0 must have shape ({S}, {A1}, {A2}), got {q.shape}")
    if q_star is None:
        qs, errors = np.zeros((S, A1, A2)), np.zeros(0)
    else:
        qs = as_float_array(q_star, "q_star", ndim=3)
        if qs.shape != (S, A1, A2):
            raise ValueError(f"q_star must have shape ({S}, {A1}, {A2}), got {qs.shape}")
        errors = np.empty(n_iter + 1)
        errors[0] = np.abs(q - qs).max()
    cps = sorted({int(c) for c in checkpoints})
    if cps and (cps[0] < 1 or cps[-1] > n_iter):
        raise ValueError(f"checkpoints must lie in [1, n_iter={n_iter}], got {cps[0]}..{cps[-1]}")
    indptr, indices, cdf = cumulative_rows(game.joint_mdp)
    R, g = np.ascontiguousarray(game.R), game.gamma
    snaps = []

    def run(step_fn, width, chunk):
        t = 0
        bounds = cps + [n_iter]
        chunk = progress_chunk(chunk, n_iter, progress)
        for stop in bounds:
            while t < stop:
                u = rng.random((min(chunk, stop - t), width))
                step_fn(u, t)
                t += u.shape[0]
                if progress is not None:
                    progress(t, n_iter)
            if stop in cps:
                snaps.append(q.copy())

    if mode == "synchronous":

        def step(u, t):
            _sync_kernel(indptr, indices, cdf, R, g, q, u, t, kind, omega, const, qs, errors)

        run(step, S * A1 * A2, max(1, _CHUNK_FLOATS // (S * A1 * A2)))
        n_samples = n_iter * S * A1 * A2
    else:
        check_probability(epsilon, "epsilon")
        check_index(s0, "s0", S, what="state index")
        if (
            isinstance(reset_prob, bool)
            or not isinstance(reset_prob, numbers.Real)
            or not (0.0 <= float(reset_prob) < 1.0)
        ):
            raise ValueError(f"reset_prob must be a real number in [0, 1), got {reset_prob!r}")
        if reset_dist is None:
            mu = np.zeros(S)
            mu[int(s0)] = 1.0
        else:
            mu = as_float_array(reset_dist, "reset_dist", ndim=1)
            if mu.shape[0] != S or mu.min() < 0 or abs(mu.sum() - 1.0) > 1e-8:
                raise ValueError(f"reset_dist must be a probability vector of length S = {S}")
        reset_cdf = np.cumsum(mu)
        if isinstance(opponent, str):
            if opponent not in ("minimax", "random"):
                raise ValueError(f"opponent must be 'minimax', 'random' or an (S, A2) strategy, got {opponent!r}")
            opp_kind = 1 if opponent == "minimax" else 0
            opp_policy = np.zeros((S, A2))
        else:
            opp_kind = 2
            opp_policy = check_stationary_strategy(opponent, "opponent", S, A2)
        counts = np.zeros((S, A1, A2), dtype=np.int64)
        state = [int(s0)]

        def step(u, t):
            state[0] = _online_kernel(
                indptr,
                indices,
                cdf,
                R,
                g,
                q,
                counts,
                state[0],
                u,
                t,
                kind,
                omega,
                const,
                float(epsilon),
                opp_kind,
                opp_policy,
                float(reset_prob),
                reset_cdf,
                qs,
                errors,
            )

        run(step, 6, max(1, _CHUNK_FLOATS // 6))
        n_samples = n_iter
    from marl.matrix import zero_sum_matrix_game

    sol = zero_sum_matrix_game(q)
    snaps_arr = np.array(snaps) if snaps else np.zeros((0, S, A1, A2))
    return MinimaxQResult(
        q=q,
        v=np.asarray(sol.value),
        row_policy=np.asarray(sol.row_strategy),
        col_policy=np.asarray(sol.col_strategy),
        n_iter=n_iter,
        n_samples=int(n_samples),
        errors=errors,
        checkpoints=np.array(cps, dtype=np.int64),
        q_checkpoints=snaps_arr,
        mode=mode,
        step_size=label,
    )
