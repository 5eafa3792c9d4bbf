"""Bellman backups: the numba kernels every solver is built from, and their numpy twins.

Kernels take plain arrays (``P`` as ``(S, A, S)`` dense, or the CSR triple ``indptr, indices,
data`` of the ``(S * A, S)`` state-action-pair form) and write into preallocated outputs.
``P`` may be float32 or float64; accumulation is always float64. Greedy ties go to the smallest
action index. The parallel kernels split the work over states, so each ``v[s]`` is computed by one
thread in a fixed order: results do not depend on the number of threads.

Reference: Puterman (1994), *Markov Decision Processes*, eq. (6.2.2) (the operator ``T``) and
Thm 6.6.3 (the bounds used by :func:`certify`).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = [
    "q_dense",
    "q_sparse",
    "bellman_dense",
    "bellman_sparse",
    "gauss_seidel_dense",
    "gauss_seidel_sparse",
    "policy_backup_dense",
    "policy_backup_sparse",
    "reference_q",
    "reference_bellman",
]

_FM = {"reassoc", "contract"}  # lets LLVM vectorise the dot products; no NaN/inf assumptions


@njit(cache=True, parallel=True, fastmath=_FM)
def q_dense(P, R, gamma, v, q):
    """``q[s, a] = R[s, a] + gamma * P[s, a, :] @ v`` (dense)."""
    S, A = R.shape
    for s in prange(S):
        for a in range(A):
            acc = 0.0
            row = P[s, a]
            for t in range(S):
                acc += row[t] * v[t]
            q[s, a] = R[s, a] + gamma * acc


@njit(cache=True, parallel=True, fastmath=_FM)
def q_sparse(indptr, indices, data, R, gamma, v, q):
    """``q[s, a] = R[s, a] + gamma * P[s, a, :] @ v`` (CSR, row ``s * A + a``)."""
    S, A = R.shape
    for s in prange(S):
        for a in range(A):
            i = s * A + a
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * v[indices[k]]
            q[s, a] = R[s, a] + gamma * acc


@njit(cache=True, parallel=True, fastmath=_FM)
def bellman_dense(P, R, gamma, v, v_out, pi_out):
    """``v_out = T v`` and ``pi_out`` = greedy actions (first maximiser), dense ``P``."""
    S, A = R.shape
    for s in prange(S):
        best = 0.0
        arg = 0
        for a in range(A):
            acc = 0.0
            row = P[s, a]
            for t in range(S):
                acc += row[t] * v[t]
            x = R[s, a] + gamma * acc
            if a == 0 or x > best:
                best = x
                arg = a
        v_out[s] = best
        pi_out[s] = arg


@njit(cache=True, parallel=True, fastmath=_FM)
def bellman_sparse(indptr, indices, data, R, gamma, v, v_out, pi_out):
    """``v_out = T v`` and greedy ``pi_out`` for the CSR form."""
    S, A = R.shape
    for s in prange(S):
        best = 0.0
        arg = 0
        for a in range(A):
            i = s * A + a
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * v[indices[k]]
            x = R[s, a] + gamma * acc
            if a == 0 or x > best:
                best = x
                arg = a
        v_out[s] = best
        pi_out[s] = arg


@njit(cache=True, fastmath=_FM)
def gauss_seidel_dense(P, R, gamma, v, pi_out):
    """One in-place Gauss-Seidel sweep (states in index order); returns ``max |v_new - v_old|``.

    The Gauss-Seidel operator is a ``gamma``-contraction in sup norm with fixed point ``v*``
    (Puterman 1994, Thm 6.3.4), so the stopping rule of value iteration applies to it unchanged.
    """
    S, A = R.shape
    diff = 0.0
    for s in range(S):
        best = 0.0
        arg = 0
        for a in range(A):
            acc = 0.0
            row = P[s, a]
            for t in range(S):
                acc += row[t] * v[t]
            x = R[s, a] + gamma * acc
            if a == 0 or x > best:
                best = x
                arg = a
        d = abs(best - v[s])
        if d > diff:
            diff = d
        v[s] = best
        pi_out[s] = arg
    return diff


@njit(cache=True, fastmath=_FM)
def gauss_seidel_sparse(indptr, indices, data, R, gamma, v, pi_out):
    """Sparse twin of :func:`gauss_seidel_dense`."""
    S, A = R.shape
    diff = 0.0
    for s in range(S):
        best = 0.0
        arg = 0
        for a in range(A):
            i = s * A + a
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] * v[indices[k]]
            x = R[s, a] + gamma * acc
            if a == 0 or x > best:
                best = x
                arg = a
        d = abs(best - v[s])
        if d > diff:
            diff = d
        v[s] = best
        pi_out[s] = arg
    return diff


@njit(cache=True, parallel=True, fastmath=_FM)
def policy_backup_dense(P, R, gamma, pi, v, v_out):
    """``v_out = T_pi v`` for a deterministic ``pi`` (``(S,)`` ints), dense ``P``."""
    S = R.shape[0]
    for s in prange(S):
        a = pi[s]
        row = P[s, a]
        acc = 0.0
        for t in range(S):
            acc += row[t] * v[t]
        v_out[s] = R[s, a] + gamma * acc


@njit(cache=True, parallel=True, fastmath=_FM)
def policy_backup_sparse(indptr, indices, data, R, gamma, pi, v, v_out):
    """``v_out = T_pi v`` for a deterministic ``pi``, CSR form."""
    S, A = R.shape
    for s in prange(S):
        a = pi[s]
        i = s * A + a
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += data[k] * v[indices[k]]
        v_out[s] = R[s, a] + gamma * acc


# ---------------------------------------------------------------------- plain-numpy twins
def reference_q(P: np.ndarray, R: np.ndarray, gamma: float, v: np.ndarray) -> np.ndarray:
    """Obviously-correct ``Q = R + gamma * P @ v`` with dense ``P`` ``(S, A, S)``."""
    return R + gamma * np.einsum("sat,t->sa", np.asarray(P, dtype=np.float64), v)


def reference_bellman(P: np.ndarray, R: np.ndarray, gamma: float, v: np.ndarray):
    """``(T v, greedy policy)`` in plain numpy."""
    q = reference_q(P, R, gamma, v)
    return q.max(axis=1), q.argmax(axis=1)
