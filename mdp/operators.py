"""Public, validated Bellman operators (for teaching, labs, claims and the other packages).

Examples
--------
>>> import numpy as np, mdp
>>> m = mdp.TabularMDP(np.ones((1, 2, 1)), np.array([[0.0, 1.0]]), 0.5)
>>> mdp.q_values(m, np.array([2.0]))
array([[1., 2.]])
>>> tv, pi = mdp.bellman_operator(m, np.array([2.0]))
>>> tv.tolist(), pi.tolist()
([2.0], [1])
"""

from __future__ import annotations

import numpy as np

from mdp._common import backups as _core
from mdp._validation import check_mdp

__all__ = ["bellman_operator", "q_values"]


def q_values(m, v) -> np.ndarray:
    """``Q[s, a] = R[s, a] + gamma * sum_s' P[s, a, s'] v[s']``, shape ``(S, A)``."""
    m = check_mdp(m, discounted=False)
    return _core.q_values(m, _core.check_v(v, m))


def bellman_operator(m, v, *, out: np.ndarray | None = None, pi_out: np.ndarray | None = None):
    """``(T v, greedy policy)``: ``(T v)(s) = max_a Q[s, a]`` (first maximiser on ties).

    ``out`` (float64 ``(S,)``) and ``pi_out`` (int64 ``(S,)``), when given, receive the results
    (no allocation: for loops that apply ``T`` many times) and are returned.
    """
    m = check_mdp(m, discounted=False)
    v = _core.check_v(v, m)
    S = m.n_states
    for arr, name, dtype in ((out, "out", np.float64), (pi_out, "pi_out", np.int64)):
        if arr is not None and (
            not isinstance(arr, np.ndarray)
            or arr.shape != (S,)
            or arr.dtype != dtype
            or not arr.flags.writeable
            or not arr.flags.c_contiguous
        ):
            raise ValueError(f"{name} must be a writeable C-contiguous {np.dtype(dtype).name} array of shape ({S},)")
    return _core.bellman_operator(m, v, out, pi_out)
