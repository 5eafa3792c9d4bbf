"""Public, validated Bellman operators (for teaching, labs and claims)."""
from __future__ import annotations

import numpy as np

from mdp.solvers import _core

__all__ = ["bellman_operator", "q_values"]


def q_values(m, v) -> np.ndarray:
    """``Q[s, a] = R[s, a] + gamma * sum_s' P[s, a, s'] v[s']``, shape ``(S, A)``."""
    m = _core.require_mdp(m, discounted=False)
    return _core.q_values(m, _core.check_v(v, m))


def bellman_operator(m, v):
    """``(T v, greedy policy)``: ``(T v)(s) = max_a Q[s, a]`` (first maximiser on ties)."""
    m = _core.require_mdp(m, discounted=False)
    return _core.bellman_operator(m, _core.check_v(v, m))
