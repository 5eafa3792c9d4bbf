"""Bellman backups of a tabular model, dispatched to the dense or CSR kernels of
:mod:`mdp._common.bellman` (no validation: callers validate; the public, validated versions are
:func:`mdp.q_values` and :func:`mdp.bellman_operator`)."""

from __future__ import annotations

import numpy as np

from mdp._common import bellman as K
from mdp._validation import as_float_array

__all__ = ["check_v", "q_values", "bellman_operator", "policy_backup"]


def check_v(v, m, name: str = "v") -> np.ndarray:
    """Validate a value vector for ``m``: finite float64 of shape ``(S,)`` (a fresh copy)."""
    arr = as_float_array(v, name, ndim=1)
    if arr.shape != (m.n_states,):
        raise ValueError(f"{name} must have shape ({m.n_states},), got {arr.shape}")
    return arr.copy()


def q_values(m, v: np.ndarray, R: np.ndarray | None = None) -> np.ndarray:
    """``Q = R + gamma * P @ v`` of shape ``(S, A)`` (kernel dispatch, no validation); ``R`` defaults
    to the model's rewards."""
    R = m.R if R is None else R
    q = np.empty((m.n_states, m.n_actions))
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        K.q_sparse(indptr, indices, data, R, m.gamma, v, q)
    else:
        K.q_dense(m.P, R, m.gamma, v, q)
    return q


def bellman_operator(m, v: np.ndarray, out=None, pi_out=None):
    """``(T v, greedy policy)`` (kernel dispatch, no validation)."""
    out = np.empty(m.n_states) if out is None else out
    pi_out = np.empty(m.n_states, dtype=np.int64) if pi_out is None else pi_out
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        K.bellman_sparse(indptr, indices, data, m.R, m.gamma, v, out, pi_out)
    else:
        K.bellman_dense(m.P, m.R, m.gamma, v, out, pi_out)
    return out, pi_out


def policy_backup(m, pi: np.ndarray, v: np.ndarray, out=None) -> np.ndarray:
    """``T_pi v`` for a deterministic policy (kernel dispatch, no validation)."""
    out = np.empty(m.n_states) if out is None else out
    if m.is_sparse:
        indptr, indices, data = m.csr_arrays()
        K.policy_backup_sparse(indptr, indices, data, m.R, m.gamma, pi, v, out)
    else:
        K.policy_backup_dense(m.P, m.R, m.gamma, pi, v, out)
    return out
