"""Tabular Q-learning: synchronous (generative model) and online (one epsilon-greedy trajectory).

Update (Watkins & Dayan 1992) for an observed transition ``(s, a, s')`` with the known expected
reward ``R[s, a]``:

    Q(s, a) <- (1 - alpha) Q(s, a) + alpha (R[s, a] + gamma max_a' Q(s', a')).

* ``mode="synchronous"``: every iteration queries the generative model once for *every* pair and
  updates all of them from the same ``Q_t`` (Even-Dar & Mansour 2003, "Learning rates for
  Q-learning", JMLR 5; Wainwright 2019, arXiv:1905.06265). ``alpha_t`` depends on the iteration
  ``t = 0, 1, ...``; ``n_samples = n_iter * S * A``.
* ``mode="online"``: one trajectory from ``s0`` with epsilon-greedy behaviour (greedy ties go to the
  smallest action); ``alpha`` depends on the number of earlier visits ``n(s, a)`` of the updated pair
  (per-pair step sizes, as in Watkins & Dayan's convergence theorem); ``n_samples = n_iter``.

Step sizes (``k`` = iteration or visit count, starting at 0):

* ``"rescaled-linear"``: ``alpha_k = 1 / (1 + (1 - gamma) k)`` (Wainwright 2019);
* ``"polynomial"``: ``alpha_k = 1 / (k + 1)^omega``, ``omega in (1/2, 1]`` (Even-Dar & Mansour 2003);
* a float ``c in (0, 1]``: constant ``alpha_k = c`` (converges only to a neighbourhood of ``Q*``).

Randomness comes only from the caller's Generator: the kernels consume uniforms drawn from it in
chunks, in the same order as the numpy twins, so kernel and twin agree to round-off.
"""

from __future__ import annotations

import numpy as np
from numba import njit

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
from mdp._validation import check_mdp as require_mdp

__all__ = ["QLearningResult", "q_learning", "reference_q_learning"]

_KINDS = {"rescaled-linear": 0, "polynomial": 1}
_CHUNK_FLOATS = 1 << 20  # uniforms drawn per chunk (8 MiB)


@result
class QLearningResult:
    """Result of :func:`q_learning`.

    Attributes
    ----------
    q : ndarray, shape (S, A)
        Final estimate of ``Q*``.
    v, pi : ndarray, shape (S,)
        ``max_a q`` and the greedy policy (first maximiser).
    n_iter : int
        Iterations (synchronous sweeps, or trajectory steps online).
    n_samples : int
        Generative-model calls / observed transitions.
    errors : ndarray
        ``errors[t] = ||q_t - q_star||_inf`` for ``t = 0..n_iter`` when ``q_star`` was given, else empty.
    mode, step_size : str
    final_state : int
        Online mode: the state the trajectory ended in (-1 in synchronous mode).
    """

    q: np.ndarray
    v: np.ndarray
    pi: np.ndarray
    n_iter: int
    n_samples: int
    errors: np.ndarray
    mode: str
    step_size: str
    final_state: int = -1


# ---------------------------------------------------------------------------- kernels
@njit(cache=True, inline="always")
def _alpha(kind, omega, const, gamma, k):
    if kind == 0:
        return 1.0 / (1.0 + (1.0 - gamma) * k)
    if kind == 1:
        return 1.0 / (k + 1.0) ** omega
    return const


@njit(cache=True)
def _sup_dist(q, q_star):
    S, A = q.shape
    e = 0.0
    for s in range(S):
        for a in range(A):
            d = abs(q[s, a] - q_star[s, a])
            if d > e:
                e = d
    return e


@njit(cache=True)
def _sync_kernel(indptr, indices, cdf, R, gamma, q, u, t0, kind, omega, const, q_star, errors):
    """``u.shape[0]`` synchronous sweeps starting at iteration ``t0`` (``u``: ``(n, S * A)``)."""
    S, A = R.shape
    vmax = np.empty(S)
    record = errors.size > 0
    for it in range(u.shape[0]):
        t = t0 + it
        alpha = _alpha(kind, omega, const, gamma, t)
        for s in range(S):
            best = q[s, 0]
            for a in range(1, A):
                if q[s, a] > best:
                    best = q[s, a]
            vmax[s] = best
        for s in range(S):
            for a in range(A):
                i = s * A + a
                s2 = _draw(indptr, indices, cdf, i, u[it, i])
                q[s, a] = (1.0 - alpha) * q[s, a] + alpha * (R[s, a] + gamma * vmax[s2])
        if record:
            errors[t + 1] = _sup_dist(q, q_star)


@njit(cache=True)
def _online_kernel(indptr, indices, cdf, R, gamma, q, counts, s, u, t0, kind, omega, const, epsilon, q_star, errors):
    """``u.shape[0]`` trajectory steps from state ``s`` (``u``: ``(n, 3)``); returns the last state."""
    S, A = R.shape
    record = errors.size > 0
    for it in range(u.shape[0]):
        if u[it, 0] < epsilon:
            a = min(int(u[it, 1] * A), A - 1)
        else:
            a = 0
            for b in range(1, A):
                if q[s, b] > q[s, a]:
                    a = b
        alpha = _alpha(kind, omega, const, gamma, counts[s, a])
        counts[s, a] += 1
        s2 = _draw(indptr, indices, cdf, s * A + a, u[it, 2])
        best = q[s2, 0]
        for b in range(1, A):
            if q[s2, b] > best:
                best = q[s2, b]
        q[s, a] = (1.0 - alpha) * q[s, a] + alpha * (R[s, a] + gamma * best)
        s = s2
        if record:
            errors[t0 + it + 1] = _sup_dist(q, q_star)
    return s


# ---------------------------------------------------------------------------- numpy twin
def _alpha_py(kind, omega, const, gamma, k):
    if kind == 0:
        return 1.0 / (1.0 + (1.0 - gamma) * k)
    if kind == 1:
        return 1.0 / (k + 1.0) ** omega
    return const


def reference_q_learning(
    P, R, gamma, *, n_iter, rng, step_size="rescaled-linear", omega=0.6, mode="synchronous", epsilon=0.1, s0=0, q0=None
):
    """Plain-numpy twin of :func:`q_learning` on dense ``P`` ``(S, A, S)``; returns the final ``q``.

    Consumes the Generator exactly as :func:`q_learning` does (uniforms in C order), so both give
    the same iterates up to floating-point round-off.
    """
    P = np.asarray(P, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    S, A = R.shape
    kind, const = _parse_step(step_size)
    cdf = np.cumsum(P, axis=2).reshape(S * A, S)
    q = np.zeros((S, A)) if q0 is None else np.array(q0, dtype=np.float64)

    def draw(row, u):
        return int(np.searchsorted(cdf[row], u * cdf[row, -1], side="right"))

    if mode == "synchronous":
        rows = np.arange(S * A)
        chunk = max(1, _CHUNK_FLOATS // (S * A))
        t = 0
        while t < n_iter:
            u = rng.random((min(chunk, n_iter - t), S * A))
            for it in range(u.shape[0]):
                alpha = _alpha_py(kind, omega, const, gamma, t)
                nxt = np.array([draw(i, u[it, i]) for i in rows]).reshape(S, A)
                q = (1.0 - alpha) * q + alpha * (R + gamma * q.max(axis=1)[nxt])
                t += 1
        return q
    counts = np.zeros((S, A), dtype=np.int64)
    s = s0
    chunk = max(1, _CHUNK_FLOATS // 3)
    t = 0
    while t < n_iter:
        u = rng.random((min(chunk, n_iter - t), 3))
        for it in range(u.shape[0]):
            a = min(int(u[it, 1] * A), A - 1) if u[it, 0] < epsilon else int(np.argmax(q[s]))
            alpha = _alpha_py(kind, omega, const, gamma, counts[s, a])
            counts[s, a] += 1
            s2 = draw(s * A + a, u[it, 2])
            q[s, a] = (1.0 - alpha) * q[s, a] + alpha * (R[s, a] + gamma * q[s2].max())
            s = s2
            t += 1
    return q


# ---------------------------------------------------------------------------- public wrapper
def _parse_step(step_size):
    """``(kind, const)`` for the kernels: 0 rescaled-linear, 1 polynomial, 2 constant."""
    if isinstance(step_size, str):
        if step_size not in _KINDS:
            raise ValueError(
                f"step_size must be 'rescaled-linear', 'polynomial' or a float in (0, 1], got {step_size!r}"
            )
        return _KINDS[step_size], 0.0
    return 2, check_real(step_size, "constant step_size", "(0, 1]")


def q_learning(
    m,
    *,
    n_iter,
    rng,
    step_size="rescaled-linear",
    omega: float = 0.6,
    mode: str = "synchronous",
    epsilon: float = 0.1,
    s0: int = 0,
    q0=None,
    q_star=None,
    progress=None,
) -> QLearningResult:
    """Tabular Q-learning, synchronous with a generative model or online along one trajectory.

    Parameters
    ----------
    m : TabularMDP
        Discounted model (dense or sparse) used as the simulator; ``R`` is the known expected reward.
    n_iter : int
        Synchronous sweeps (each queries all ``S * A`` pairs) or online steps.
    rng : numpy.random.Generator
        The only source of randomness.
    step_size : {"rescaled-linear", "polynomial"} or float, default "rescaled-linear"
        See the module docstring.
    omega : float, default 0.6
        Exponent of the polynomial step size, in ``(1/2, 1]`` (Even-Dar & Mansour 2003).
    mode : {"synchronous", "online"}
    epsilon : float, default 0.1
        Online only: exploration probability of the epsilon-greedy behaviour, in ``[0, 1]`` (checked
        in both modes).
    s0 : int, default 0
        Online only: start state.
    q0 : array_like, shape (S, A), optional
        Initial estimate (default zeros).
    q_star : array_like, shape (S, A), optional
        If given, ``errors[t] = ||q_t - q_star||_inf`` is recorded for every ``t`` (in the kernel).
    progress : callable, optional
        ``progress(done, n_iter)``, called about 100 times and once at the end (the random stream,
        hence the result, does not depend on it); an exception it raises stops the call.

    Returns
    -------
    QLearningResult

    Examples
    --------
    >>> import numpy as np, mdp, mdp.learners
    >>> m = mdp.generators.forest(gamma=0.5)
    >>> q_star = mdp.policy_iteration(m).q
    >>> res = mdp.learners.q_learning(m, n_iter=20_000, rng=np.random.default_rng(0), q_star=q_star)
    >>> bool(res.errors[-1] < 0.05 * np.abs(q_star).max())
    True
    """
    m = require_mdp(m)
    n_iter = check_positive_int(n_iter, "n_iter")
    rng = check_rng(rng)
    progress = check_progress(progress)
    kind, const = _parse_step(step_size)
    omega = check_real(omega, "omega", "(1/2, 1]")
    if mode not in ("synchronous", "online"):
        raise ValueError(f"mode must be 'synchronous' or 'online', got {mode!r}")
    S, A = m.n_states, m.n_actions
    q = np.zeros((S, A)) if q0 is None else as_float_array(q0, "q0", ndim=2).copy()
    if q.shape != (S, A):
        raise ValueError(f"q0 must have shape ({S}, {A}), got {q.shape}")
    if q_star is None:
        qs, errors = np.zeros((S, A)), np.zeros(0)
    else:
        qs = as_float_array(q_star, "q_star", ndim=2)
        if qs.shape != (S, A):
            raise ValueError(f"q_star must have shape ({S}, {A}), got {qs.shape}")
        errors = np.empty(n_iter + 1)
        errors[0] = np.abs(q - qs).max()
    indptr, indices, cdf = cumulative_rows(m)
    R, g = np.ascontiguousarray(m.R), m.gamma
    final_state = -1
    # validated in both modes (used online only): a bad value is a mistake whichever mode reads it
    check_probability(epsilon, "epsilon")
    check_index(s0, "s0", S, what="state index")
    if mode == "synchronous":
        chunk = progress_chunk(max(1, _CHUNK_FLOATS // (S * A)), n_iter, progress)
        t = 0
        while t < n_iter:
            u = rng.random((min(chunk, n_iter - t), S * A))
            _sync_kernel(indptr, indices, cdf, R, g, q, u, t, kind, omega, const, qs, errors)
            t += u.shape[0]
            if progress is not None:
                progress(t, n_iter)
        n_samples = n_iter * S * A
    else:
        counts = np.zeros((S, A), dtype=np.int64)
        s = int(s0)
        chunk = progress_chunk(max(1, _CHUNK_FLOATS // 3), n_iter, progress)
        t = 0
        while t < n_iter:
            u = rng.random((min(chunk, n_iter - t), 3))
            s = _online_kernel(
                indptr, indices, cdf, R, g, q, counts, s, u, t, kind, omega, const, float(epsilon), qs, errors
            )
            t += u.shape[0]
            if progress is not None:
                progress(t, n_iter)
        n_samples = n_iter
        final_state = int(s)
    label = step_size if isinstance(step_size, str) else f"constant({const:g})"
    if kind == 1:
        label = f"polynomial(omega={omega:g})"
    return QLearningResult(
        q=q,
        v=q.max(axis=1),
        pi=q.argmax(axis=1).astype(np.int64),
        n_iter=n_iter,
        n_samples=int(n_samples),
        errors=errors,
        mode=mode,
        step_size=label,
        final_state=final_state,
    )
