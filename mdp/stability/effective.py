"""Multi-reward aggregation and the exact path of optimal policies along a weight.

The effective reward of a weighted aggregation is ``R_eff(w) = sum_k w_k R_k`` (Xu 2025, arXiv
2507.20150, multi-reward section; ``docs/papers/policy_cliff.md``, PC7). For two rewards and the
segment ``R(w) = (1 - w) R_1 + w R_2``, ``w in [lo, hi]``, the optimal policy is piecewise constant
in ``w`` and changes only where the effective reward has a tie. :func:`effective_reward_path`
finds every change exactly by parametric policy iteration (the homotopy of the parametric-LP
literature, applied to the MDP's policy-improvement conditions; construction derived on the project's
page):

1. at ``w``, solve ``R(w)``; among the optimal actions (tolerance-aware, :func:`action_gap`) choose
   the policy that is optimal *just to the right* of ``w``: the one maximising ``d/dw V^pi =
   V^pi_{R_2 - R_1}``, found by solving the MDP restricted to the optimal actions with reward
   ``R_2 - R_1``;
2. for that fixed ``pi``, ``Q^pi_w = Q^pi_{R_1} + w (Q^pi_{R_2} - Q^pi_{R_1})`` is linear in ``w``, and
   ``pi`` stays optimal while every margin ``Q^pi_w(s, a) - Q^pi_w(s, pi(s))`` is ``<= 0``
   (policy-improvement theorem); the next breakpoint is the smallest ``w' > w`` where a margin with
   positive slope reaches 0;
3. repeat from ``w'`` until ``hi``.
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_mdp, check_positive_int, check_real

__all__ = ["EffectivePathResult", "effective_reward", "effective_reward_path", "reference_effective_policies"]


def effective_reward(rewards, weights) -> np.ndarray:
    """``R_eff = sum_k w_k R_k``: ``rewards`` ``(K, S, A)``, ``weights`` ``(K,)`` or per-state ``(K, S)``.

    Returns the ``(S, A)`` effective reward.
    """
    Rk = as_float_array(rewards, "rewards", ndim=3)
    w = as_float_array(weights, "weights")
    K, S, _ = Rk.shape
    if K == 0:
        raise ValueError("rewards must hold at least one reward table (K >= 1)")
    if w.shape == (K,):
        return np.einsum("k,ksa->sa", w, Rk)
    if w.shape == (K, S):
        return np.einsum("ks,ksa->sa", w, Rk)
    raise ValueError(f"weights must have shape ({K},) or ({K}, {S}) to match rewards {Rk.shape}, got {w.shape}")


@result
class EffectivePathResult:
    """Result of :func:`effective_reward_path`.

    Attributes
    ----------
    breakpoints : ndarray, shape (n,)
        Weights ``w`` in ``(lo, hi)`` where the right-optimal policy changes, increasing.
    policies : ndarray of int64, shape (n + 1, S)
        ``policies[i]`` is optimal on ``(breakpoints[i-1], breakpoints[i])`` (``lo``/``hi`` at the ends).
    changed_states : tuple of ndarray
        For each breakpoint, the states whose action changes there.
    lo, hi : float
        The segment.
    n_iter : int
        Pivots done (breakpoints plus crossings that left the policy unchanged).
    """

    breakpoints: np.ndarray
    policies: np.ndarray
    changed_states: tuple
    lo: float
    hi: float
    n_iter: int

    def policy_at(self, w: float) -> np.ndarray:
        """The optimal policy of the path at ``w`` (the right-optimal one at a breakpoint)."""
        i = int(np.searchsorted(self.breakpoints, float(w), side="right"))
        return self.policies[i]


def _right_optimal(m, R1, R2, w, states, tie_tol):
    """Policy optimal at ``w`` that maximises ``V^pi_{R2 - R1}`` among the optimal ones."""
    import mdp
    from mdp.stability.gap import action_gap, with_reward

    gap = action_gap(with_reward(m, (1 - w) * R1 + w * R2), states=states, tie_tol=tie_tol)
    D = R2 - R1
    big = 2.0 * float(np.abs(D).max()) / (1.0 - m.gamma) + 1.0
    restricted = with_reward(m, np.where(gap.optimal, D, D - big))
    return np.asarray(mdp.solve(restricted, tol=mdp.attainable_tol(restricted, 1e-12)).pi, dtype=np.int64)


def effective_reward_path(
    m, R1, R2, *, lo: float = 0.0, hi: float = 1.0, tie_tol: float | None = None, max_iter: int = 10_000
) -> EffectivePathResult:
    """Exact optimal-policy path of ``R(w) = (1 - w) R1 + w R2`` over ``w in [lo, hi]`` (module docstring).

    Parameters
    ----------
    m : TabularMDP
        Supplies ``P`` and ``gamma`` (its own reward is ignored).
    R1, R2 : array_like, shape (S, A)
        The two rewards.
    lo, hi : float, default 0 and 1
        The segment, ``lo < hi``.
    tie_tol : float, optional
        Tie tolerance of :func:`mdp.stability.action_gap` at each pivot.
    max_iter : int, default 10000
        Pivot budget.

    Returns
    -------
    EffectivePathResult

    Raises
    ------
    TypeError, ValueError
        For a non-MDP ``m``, reward tables of the wrong shape, ``lo >= hi``.
    """
    import mdp

    m = check_mdp(m)
    S, A = m.n_states, m.n_actions
    R1 = as_float_array(R1, "R1", ndim=2)
    R2 = as_float_array(R2, "R2", ndim=2)
    for name, R in (("R1", R1), ("R2", R2)):
        if R.shape != (S, A):
            raise ValueError(f"{name} must have shape ({S}, {A}), got {R.shape}")
    lo = check_real(lo, "lo")
    hi = check_real(hi, "hi")
    if not lo < hi:
        raise ValueError(f"lo must be < hi, got lo={lo}, hi={hi}")
    max_iter = check_positive_int(max_iter, "max_iter")
    from mdp.stability.gap import with_reward

    w = lo
    pi = _right_optimal(m, R1, R2, w, None, tie_tol)
    policies, breaks, changed = [pi], [], []
    n = 0
    scale = max(1.0, float(np.abs(R1).max()), float(np.abs(R2).max())) / (1.0 - m.gamma)
    eps = 1e-12 * scale
    while n < max_iter:
        n += 1
        q1 = np.array(mdp.policy_evaluation(with_reward(m, R1), pi).q)
        q2 = np.array(mdp.policy_evaluation(with_reward(m, R2), pi).q)
        idx = np.arange(S)
        alpha = q1 - q1[idx, pi][:, None]  # margin at w = 0
        beta = (q2 - q1) - (q2 - q1)[idx, pi][:, None]  # slope in w
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = np.where(beta > eps, -alpha / beta, np.inf)
        cross = np.where(cross > w + 1e-12 * max(1.0, abs(w)), cross, np.inf)
        w_next = float(cross.min())
        if not w_next < hi:
            break
        w = w_next
        new = _right_optimal(m, R1, R2, w, None, tie_tol)
        if np.any(new != pi):
            breaks.append(w)
            changed.append(np.flatnonzero(new != pi).astype(np.int64))
            policies.append(new)
            pi = new
    return EffectivePathResult(
        breakpoints=np.asarray(breaks, dtype=np.float64),
        policies=np.asarray(policies, dtype=np.int64),
        changed_states=tuple(changed),
        lo=lo,
        hi=hi,
        n_iter=n,
    )


def reference_effective_policies(m, R1, R2, grid) -> np.ndarray:
    """Brute force twin: the smallest-index optimal policy of ``(1 - w) R1 + w R2`` at every ``w`` of
    ``grid`` (one exact solve each), shape ``(len(grid), S)``."""
    from mdp.stability.gap import action_gap, with_reward

    R1 = np.asarray(R1, dtype=np.float64)
    R2 = np.asarray(R2, dtype=np.float64)
    return np.array([action_gap(with_reward(m, (1 - w) * R1 + w * R2)).pi for w in grid], dtype=np.int64)
