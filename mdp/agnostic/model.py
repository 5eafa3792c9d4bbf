"""Finite-horizon layered MDPs and exact values of every policy of a class.

A layered MDP (Jia, Li, Rakhlin, Sekhari & Srebro 2023; the thesis of G. Li 2025;
project page ``docs/papers/agnostic_rl.md``) has ``H`` layers of ``S`` states each (the state
includes the time), ``A`` actions, transitions from layer ``h`` to layer ``h + 1`` and a start
distribution on layer 0. It is stored in *successor form*: ``next_states[h, s, a, b]`` and
``next_probs[h, s, a, b]`` list the ``B`` possible successors of ``(h, s, a)``, so that sparse
branching instances with ``S = 50 000`` states per layer stay small. The dense form
``P[h, s, a, s']`` of the issue is accepted by the constructor and returned by :meth:`dense_P`.

Rewards ``R[h, s, a]`` are deterministic (the generative model returns the mean reward). A policy
class is an integer table ``policies[k, h, s]`` (shape ``(K, H, S)``) and its exact values come
from backward induction on every policy at once (:func:`policy_values`, a numba kernel, and its
numpy twin :func:`reference_policy_values`):

    V_H = 0,   V_h^k(s) = R[h, s, pi_k(h, s)] + sum_b p[h, s, a, b] V_{h+1}^k(next[h, s, a, b]).
"""

from __future__ import annotations

import numbers

import numpy as np
from numba import njit

from mdp._validation import as_float_array, check_positive_int, check_rng

__all__ = [
    "LayeredMDP",
    "check_policy_table",
    "policy_values",
    "reference_policy_values",
    "random_layered",
    "sparse_branching",
    "deterministic_layered",
    "from_tabular",
    "optimal_policy",
]

_ROW_TOL = 1e-9


def _as_int_array(x, name, ndim):
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an integer array, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if arr.size and not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
            raise TypeError(f"{name} must hold integers, got non-integral values")
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


class LayeredMDP:
    """A finite-horizon layered MDP ``(P, R, rho0)`` with ``H`` layers of ``S`` states.

    Parameters
    ----------
    P : array_like, shape (H - 1, S, A, S)
        ``P[h, s, a, s']``: probability of moving from ``(h, s)`` under ``a`` to state ``s'`` of
        layer ``h + 1``. Rows must be nonnegative and sum to 1 (within 1e-9). ``H = 1``: shape
        ``(0, S, A, S)``.
    R : array_like, shape (H, S, A)
        Deterministic rewards.
    rho0 : array_like, shape (S,)
        Start distribution on layer 0.

    Attributes
    ----------
    next_states : ndarray, shape (H - 1, S, A, B)
        Successor states (int64).
    next_probs : ndarray, shape (H - 1, S, A, B)
        Their probabilities.
    next_cdf : ndarray, shape (H - 1, S, A, B)
        Running sums of ``next_probs`` along ``b`` (inverse-CDF sampling).
    R : ndarray, shape (H, S, A)
    rho0 : ndarray, shape (S,)
    horizon, n_states, n_actions, branching : int
        ``H``, ``S``, ``A``, ``B``.

    Notes
    -----
    Use :meth:`from_successors` for the sparse successor form. Bounds that need returns in
    ``[0, 1]`` (the trajectory-tree learner's Hoeffding step) check :meth:`return_range` and say
    so; :meth:`scaled` maps the rewards affinely (per layer) so that every return lies in
    ``[0, 1]``, which keeps the order of all policies.
    """

    def __init__(self, P, R, rho0):
        R = as_float_array(R, "R", ndim=3)
        P = as_float_array(P, "P", ndim=4)
        H, S, A = R.shape
        if H < 1 or S < 1 or A < 1:
            raise ValueError(f"R must have shape (H, S, A) with H, S, A >= 1, got {R.shape}")
        if P.shape != (H - 1, S, A, S):
            raise ValueError(f"P must have shape (H - 1, S, A, S) = {(H - 1, S, A, S)}, got {P.shape}")
        if P.size and P.min() < 0:
            idx = tuple(int(i) for i in np.argwhere(P < 0)[0])
            raise ValueError(f"P must be nonnegative (a stochastic array); P{list(idx)} = {P[idx]}")
        sums = P.sum(axis=3)
        if sums.size and np.max(np.abs(sums - 1.0)) > _ROW_TOL:
            idx = tuple(int(i) for i in np.argwhere(np.abs(sums - 1.0) > _ROW_TOL)[0])
            raise ValueError(
                f"P must be stochastic: the row P[{idx[0]}, {idx[1]}, {idx[2]}, :] sums to {sums[idx]}, not 1"
            )
        # successor form: keep every state with positive probability
        B = max(int((P > 0).sum(axis=3).max()) if P.size else 1, 1)
        order = np.argsort(-(P > 0).astype(np.int8), axis=3, kind="stable")[..., :B]
        nxt = np.ascontiguousarray(order, dtype=np.int64)
        prob = np.take_along_axis(P, order, axis=3)
        self._init(nxt, prob, R, rho0)

    @classmethod
    def from_successors(cls, next_states, next_probs, R, rho0) -> "LayeredMDP":
        """Build from the successor form ``next_states``/``next_probs`` ``(H - 1, S, A, B)``."""
        self = cls.__new__(cls)
        R = as_float_array(R, "R", ndim=3)
        H, S, A = R.shape
        if H < 1 or S < 1 or A < 1:
            raise ValueError(f"R must have shape (H, S, A) with H, S, A >= 1, got {R.shape}")
        nxt = _as_int_array(next_states, "next_states", 4)
        prob = as_float_array(next_probs, "next_probs", ndim=4)
        if nxt.shape != prob.shape or nxt.shape[:3] != (H - 1, S, A) or nxt.shape[3] < 1:
            raise ValueError(
                f"next_states and next_probs must share the shape (H - 1, S, A, B) = ({H - 1}, {S}, {A}, B>=1), "
                f"got {nxt.shape} and {prob.shape}"
            )
        if nxt.size and (nxt.min() < 0 or nxt.max() >= S):
            raise ValueError(f"next_states must be states in [0, {S}), got values in [{nxt.min()}, {nxt.max()}]")
        if prob.size and prob.min() < 0:
            raise ValueError("next_probs must be nonnegative (a stochastic array)")
        sums = prob.sum(axis=3)
        if sums.size and np.max(np.abs(sums - 1.0)) > _ROW_TOL:
            idx = tuple(int(i) for i in np.argwhere(np.abs(sums - 1.0) > _ROW_TOL)[0])
            raise ValueError(f"next_probs must be stochastic: row {idx} sums to {sums[idx]}, not 1")
        self._init(nxt, prob, R, rho0)
        return self

    def _init(self, nxt, prob, R, rho0):
        H, S, A = R.shape
        rho0 = as_float_array(rho0, "rho0", ndim=1)
        if rho0.shape != (S,):
            raise ValueError(f"rho0 must have shape ({S},), got {rho0.shape}")
        if rho0.min() < 0 or abs(rho0.sum() - 1.0) > _ROW_TOL:
            raise ValueError(f"rho0 must be a probability vector (nonnegative, sum 1), sums to {rho0.sum()}")
        if nxt.shape[0] == 0:
            nxt = np.zeros((0, S, A, 1), dtype=np.int64)
            prob = np.ones((0, S, A, 1))
        self.next_states = nxt
        self.next_probs = np.ascontiguousarray(prob)
        self.next_cdf = np.ascontiguousarray(np.cumsum(self.next_probs, axis=3))
        self.R = R
        self.rho0 = rho0
        self.rho0_cdf = np.cumsum(rho0)
        for arr in (self.next_states, self.next_probs, self.next_cdf, self.R, self.rho0, self.rho0_cdf):
            arr.setflags(write=False)

    # def, not property(lambda ...): numpydoc's validator cannot find the source line of a lambda
    @property
    def horizon(self) -> int:
        """``H``, the number of layers."""
        return self.R.shape[0]

    @property
    def n_states(self) -> int:
        """``S``, states per layer."""
        return self.R.shape[1]

    @property
    def n_actions(self) -> int:
        """``A``, the number of actions."""
        return self.R.shape[2]

    @property
    def branching(self) -> int:
        """``B``, successors stored per pair."""
        return self.next_states.shape[3]

    def __repr__(self) -> str:
        return f"LayeredMDP(H={self.horizon}, S={self.n_states}, A={self.n_actions}, B={self.branching})"

    def dense_P(self) -> np.ndarray:
        """``P[h, s, a, s']`` ``(H - 1, S, A, S)`` (refuses more than 5e7 entries)."""
        H, S, A = self.R.shape
        if (H - 1) * S * A * S > 5e7:
            raise ValueError(f"dense P would have {(H - 1) * S * A * S} entries; use next_states/next_probs")
        P = np.zeros((H - 1, S, A, S))
        h, s, a, _ = np.indices(self.next_states.shape)
        np.add.at(P, (h, s, a, self.next_states), self.next_probs)
        return P

    def return_range(self) -> tuple[float, float]:
        """``(sum_h min R[h], sum_h max R[h])``: every return of every policy lies in it."""
        return float(self.R.min(axis=(1, 2)).sum()), float(self.R.max(axis=(1, 2)).sum())

    def returns_in_unit_interval(self) -> bool:
        """Whether every return lies in ``[0, 1]`` (what the Hoeffding step assumes)."""
        lo, hi = self.return_range()
        return lo >= 0.0 and hi <= 1.0 + 1e-12

    def scaled(self) -> "LayeredMDP":
        """Same MDP with ``R'[h] = (R[h] - min R[h]) / W``, ``W = sum_h (max R[h] - min R[h])``.

        Every return then lies in ``[0, 1]`` and ``V'(pi) = (V(pi) - sum_h min R[h]) / W``, an
        increasing affine map (the best policy of any class is unchanged).
        """
        lo = self.R.min(axis=(1, 2), keepdims=True)
        W = float((self.R.max(axis=(1, 2)) - self.R.min(axis=(1, 2))).sum())
        R = (self.R - lo) / (W if W > 0 else 1.0)
        return LayeredMDP.from_successors(self.next_states, self.next_probs, R, self.rho0)

    def step(self, h: int, s: int, a: int, u: float) -> int:
        """The successor of ``(h, s, a)`` chosen by a uniform ``u`` in ``[0, 1)`` (inverse CDF)."""
        c = self.next_cdf[h, s, a]
        return int(self.next_states[h, s, a, min(np.searchsorted(c, u * c[-1], side="right"), len(c) - 1)])


def check_policy_table(policies, model_or_shape, name: str = "policies") -> np.ndarray:
    """Validate a policy class ``policies[k, h, s]`` ``(K, H, S)`` of actions in ``[0, A)``.

    ``model_or_shape`` is a :class:`LayeredMDP` or a tuple ``(H, S, A)`` (``H`` or ``S`` may be
    ``None``: not checked). Returns a C-contiguous int64 array.
    """
    if isinstance(model_or_shape, LayeredMDP):
        H, S, A = model_or_shape.R.shape
    else:
        H, S, A = model_or_shape
    if isinstance(policies, (str, bytes)) or policies is None:
        raise TypeError(f"{name} must be an integer array of shape (K, H, S), got {type(policies).__name__}")
    arr = np.asarray(policies)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold integer actions, got dtype {arr.dtype}")
    if arr.ndim != 3:
        raise ValueError(f"{name} must have shape (K, H, S) (policies[k, h, s] = action), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty class (K = 0); a policy class needs at least one policy")
    if (H is not None and arr.shape[1] != H) or (S is not None and arr.shape[2] != S):
        raise ValueError(f"{name} must have shape (K, {H}, {S}), got {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating) and not (np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))):
        raise TypeError(f"{name} must hold integer actions, got non-integral values")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= A):
        k, h, s = (int(i) for i in np.argwhere((arr < 0) | (arr >= A))[0])
        raise ValueError(f"{name}[{k}, {h}, {s}] = {arr[k, h, s]} is not an action in [0, {A})")
    return arr


def _require_model(model, name="model"):
    if not isinstance(model, LayeredMDP):
        raise TypeError(f"{name} must be an mdp.agnostic.LayeredMDP, got {type(model).__name__}")
    return model


@njit(cache=True)
def _policy_values_kernel(policies, nxt, prob, R, rho0, V):
    """``V[k, h, s]``: value-to-go of policy ``k`` from ``(h, s)``; returns ``rho0 . V[:, 0]``."""
    K, H, S = policies.shape
    B = nxt.shape[3]
    out = np.empty(K)
    for k in range(K):
        for s in range(S):
            V[k, H - 1, s] = R[H - 1, s, policies[k, H - 1, s]]
        for h in range(H - 2, -1, -1):
            for s in range(S):
                a = policies[k, h, s]
                acc = 0.0
                for b in range(B):
                    acc += prob[h, s, a, b] * V[k, h + 1, nxt[h, s, a, b]]
                V[k, h, s] = R[h, s, a] + acc
        tot = 0.0
        for s in range(S):
            tot += rho0[s] * V[k, 0, s]
        out[k] = tot
    return out


def reference_policy_values(policies, next_states, next_probs, R, rho0):
    """Plain-numpy backward induction for all policies at once; returns ``(values, V)``."""
    K, H, S = policies.shape
    V = np.zeros((K, H, S))
    s_idx = np.arange(S)
    V[:, H - 1] = R[H - 1, s_idx[None, :], policies[:, H - 1]]
    for h in range(H - 2, -1, -1):
        a = policies[:, h]  # (K, S)
        nx = next_states[h, s_idx[None, :], a]  # (K, S, B)
        pr = next_probs[h, s_idx[None, :], a]
        cont = (pr * np.take_along_axis(V[:, h + 1], nx.reshape(K, -1), axis=1).reshape(nx.shape)).sum(axis=2)
        V[:, h] = R[h, s_idx[None, :], a] + cont
    return V[:, 0] @ rho0, V


def policy_values(model, policies, *, per_state: bool = False):
    """Exact value ``V(pi_k) = E_{s ~ rho0}[V_0^k(s)]`` of every policy of a class.

    Backward induction on all ``K`` policies (Puterman 1994, Sec. 4.5), ``O(K H S B)`` work.

    Parameters
    ----------
    model : LayeredMDP
    policies : array_like, shape (K, H, S)
        ``policies[k, h, s]`` the action of policy ``k`` at state ``s`` of layer ``h``.
    per_state : bool, default False
        Also return the values-to-go ``V[k, h, s]`` (``(K, H, S)``).

    Returns
    -------
    values : ndarray, shape (K,)
        (and ``V`` when ``per_state``).
    """
    model = _require_model(model)
    pol = check_policy_table(policies, model)
    V = np.empty(pol.shape)
    vals = _policy_values_kernel(pol, model.next_states, model.next_probs, model.R, model.rho0, V)
    return (vals, V) if per_state else vals


def optimal_policy(model):
    """Optimal non-stationary policy by backward induction: ``(value, pi)``, ``pi`` ``(H, S)``.

    The yardstick that an agnostic class need not contain (``value`` under ``rho0``).
    """
    model = _require_model(model)
    H, S, A = model.R.shape
    v = np.zeros(S)
    pi = np.zeros((H, S), dtype=np.int64)
    for h in range(H - 1, -1, -1):
        q = model.R[h].copy()
        if h < H - 1:
            q += (model.next_probs[h] * v[model.next_states[h]]).sum(axis=2)
        pi[h] = q.argmax(axis=1)
        v = q.max(axis=1)
    return float(model.rho0 @ v), pi


def _check_dims(H, S, A):
    return (check_positive_int(H, "H"), check_positive_int(S, "S"), check_positive_int(A, "A"))


def _rewards(H, S, A, reward, rng):
    if reward == "last":
        R = np.zeros((H, S, A))
        R[H - 1] = rng.random((S, A))
    elif reward == "every":
        R = rng.random((H, S, A)) / H
    else:
        raise ValueError(f"reward must be 'last' or 'every', got {reward!r}")
    return R


def _start(S, start):
    if start == "uniform":
        return np.full(S, 1.0 / S)
    if isinstance(start, (numbers.Integral, np.integer)) and not isinstance(start, bool):
        if not 0 <= int(start) < S:
            raise ValueError(f"start must be a state in [0, {S}) or 'uniform', got {start}")
        rho = np.zeros(S)
        rho[int(start)] = 1.0
        return rho
    raise ValueError(f"start must be a state index or 'uniform', got {start!r}")


def random_layered(H, S, A, *, rng, concentration: float = 0.3, reward: str = "last", start="uniform") -> LayeredMDP:
    """Dense random layered MDP: ``P[h, s, a] ~ Dirichlet(concentration)``.

    ``reward="last"``: ``R[H-1] ~ U[0, 1]``, zero before (returns in ``[0, 1]``); ``"every"``:
    ``R ~ U[0, 1/H]``. ``start``: ``"uniform"`` or a state index (a fixed start state).
    """
    H, S, A = _check_dims(H, S, A)
    rng = check_rng(rng)
    if not concentration > 0:
        raise ValueError(f"concentration must be > 0, got {concentration}")
    P = rng.dirichlet(np.full(S, float(concentration)), size=(H - 1, S, A)) if H > 1 else np.zeros((0, S, A, S))
    P = P / P.sum(axis=3, keepdims=True) if H > 1 else P
    return LayeredMDP(P, _rewards(H, S, A, reward, rng), _start(S, start))


def sparse_branching(H, S, A, *, rng, branching: int = 2, reward: str = "last", start=0) -> LayeredMDP:
    """Layered MDP where each ``(h, s, a)`` has ``branching`` uniformly drawn successors.

    The successors' probabilities are ``Dirichlet(1)``; the default start is the fixed state 0
    (the design of the corrected lab, ``docs/papers/agnostic_rl.md``). Memory ``O(H S A B)``.
    """
    H, S, A = _check_dims(H, S, A)
    B = check_positive_int(branching, "branching")
    rng = check_rng(rng)
    nxt = rng.integers(0, S, size=(max(H - 1, 0), S, A, B))
    prob = rng.dirichlet(np.ones(B), size=(max(H - 1, 0), S, A)) if B > 1 else np.ones((max(H - 1, 0), S, A, 1))
    return LayeredMDP.from_successors(nxt, prob, _rewards(H, S, A, reward, rng), _start(S, start))


def deterministic_layered(H, S, A, *, rng, reward: str = "last", start=0) -> LayeredMDP:
    """Deterministic layered MDP: one uniformly drawn successor per ``(h, s, a)``."""
    return sparse_branching(H, S, A, rng=rng, branching=1, reward=reward, start=start)


def from_tabular(m, horizon: int, rho0=None, *, discount: bool = False) -> LayeredMDP:
    """The ``horizon``-layer unrolling of a :class:`mdp.TabularMDP` (time-indexed states).

    ``P[h] = m.P``, ``R[h] = m.R`` (times ``gamma^h`` when ``discount``), ``rho0`` default uniform.
    The optimal value of the result equals ``mdp.finite_horizon(m, horizon)``'s ``rho0 . v[0]``
    (for ``discount=True``; for ``discount=False`` with ``m.with_gamma(1)``).
    """
    from mdp.model import TabularMDP

    if not isinstance(m, TabularMDP):
        raise TypeError(f"m must be an mdp.TabularMDP, got {type(m).__name__}")
    H = check_positive_int(horizon, "horizon")
    S, A = m.n_states, m.n_actions
    P = np.asarray(m.dense_P(), dtype=np.float64) if hasattr(m, "dense_P") else np.asarray(m.P)
    P = P / P.sum(axis=2, keepdims=True)
    scale = m.gamma ** np.arange(H) if discount else np.ones(H)
    R = scale[:, None, None] * np.asarray(m.R, dtype=np.float64)[None]
    rho = np.full(S, 1.0 / S) if rho0 is None else rho0
    return LayeredMDP(np.broadcast_to(P, (H - 1, S, A, S)), R, rho)
