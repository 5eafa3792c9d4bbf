"""The optimal-action gap ``Delta(R)``, tolerance-aware, and the set of optimal policies.

For a discounted MDP with reward ``R`` (Xu 2025, *The Policy Cliff*, arXiv 2507.20150; the
project's page ``docs/papers/policy_cliff.md``, "Formal setting"):

* ``Pi*(R) = {pi : V^pi_R = V*_R}`` is the set of policies whose support at every state lies in
  ``argmax_a Q*_R(s, a)`` (Puterman 1994, Thm 6.2.7 and 6.2.11: a policy is optimal iff it is
  greedy with respect to ``Q*``), a product of simplices: non-empty, convex, compact (PC2);
* the per-state gap ``Delta_s = Q*(s, a*_s) - max_{a not optimal} Q*(s, a)``, 0 where two or more
  actions are optimal ("action degeneracy"), and ``Delta(R) = min_s Delta_s`` over the states asked
  for (all by default);
* the stability radius ``(1 - gamma) Delta / 2`` (PC3): a reward perturbation smaller than it in
  the sup norm changes ``Q*`` by less than ``Delta / 2`` (PC1) and cannot flip the argmax.

Ties are decided with an explicit tolerance, never by float accident: ``Q*`` comes from
:func:`mdp.solve` with a certified ``||v - v*||_inf <= e``, so every computed ``q`` is within
``q_error = gamma e`` (plus the rounding of one backup) of ``Q*``. Two actions whose computed
values differ by at most ``tie_tol`` (default ``2 q_error`` plus a few ulps of ``max|q|``: what
cannot be certified to differ) are declared tied. The reported ``gap`` is the computed one;
``gap_lower = gap - 2 q_error`` is certified (``Delta(R) >= gap_lower``) and the radius uses it.
"""

from __future__ import annotations

import math

import numpy as np

from mdp._common import result
from mdp._common.numerics import UNIT_ROUNDOFF
from mdp._validation import as_float_array, check_mdp, check_policy, check_positive_int, check_real

__all__ = [
    "ActionGapResult",
    "action_gap",
    "reference_action_gap",
    "gap_from_q",
    "optimal_policies",
    "in_optimal_set",
    "with_reward",
]


@result
class ActionGapResult:
    """Result of :func:`action_gap`.

    Attributes
    ----------
    gap : float
        ``Delta(R)`` over the selected states (0 if any has a tie; ``inf`` with one action).
    gap_lower : float
        Certified lower bound on the true ``Delta(R)``: ``max(gap - 2 q_error, 0)``.
    radius : float
        Certified stability radius ``(1 - gamma) gap_lower / 2`` (PC3).
    state_gaps : ndarray, shape (S,)
        ``Delta_s`` for every state (0 at a tie).
    optimal : ndarray of bool, shape (S, A)
        The optimal actions (within ``tie_tol`` of the row maximum): ``Pi*(R)`` is the set of policies
        supported on them.
    n_optimal : ndarray of int64, shape (S,)
        Number of optimal actions per state.
    tie_states : ndarray of int64, shape (k,)
        Selected states with two or more optimal actions.
    states : ndarray of int64, shape (m,)
        The states over which ``gap`` is taken.
    q : ndarray, shape (S, A)
        ``Q*_R`` as computed.
    v : ndarray, shape (S,)
        ``V*_R`` as computed.
    pi : ndarray of int64, shape (S,)
        The fixed tie-break selection: the smallest-index optimal action.
    tie_tol : float
        The tolerance used to declare ties.
    q_error : float
        Certified ``||q - Q*||_inf``.
    """

    gap: float
    gap_lower: float
    radius: float
    state_gaps: np.ndarray
    optimal: np.ndarray
    n_optimal: np.ndarray
    tie_states: np.ndarray
    states: np.ndarray
    q: np.ndarray
    v: np.ndarray
    pi: np.ndarray
    tie_tol: float
    q_error: float


def with_reward(m, R):
    """The model ``m`` with the reward table replaced by ``R`` (same ``P`` and ``gamma``)."""
    from mdp.model import TabularMDP

    m = check_mdp(m, discounted=False)
    R = as_float_array(R, "R", ndim=2)
    if R.shape != (m.n_states, m.n_actions):
        raise ValueError(f"R must have shape ({m.n_states}, {m.n_actions}) to match the model, got {R.shape}")
    return TabularMDP(m.P, R, m.gamma, dtype=m.dtype)


def reference_action_gap(q, tie_tol):
    """Loop-by-loop twin of :func:`gap_from_q`: ``(state_gaps (S,), optimal (S, A) bool)``."""
    S, A = q.shape
    gaps = np.empty(S)
    opt = np.zeros((S, A), dtype=bool)
    for s in range(S):
        best = max(q[s])
        for a in range(A):
            opt[s, a] = best - q[s, a] <= tie_tol
        if opt[s].sum() >= 2:
            gaps[s] = 0.0
        else:
            rest = [q[s, a] for a in range(A) if not opt[s, a]]
            gaps[s] = best - max(rest) if rest else math.inf
    return gaps, opt


def gap_from_q(q, tie_tol: float):
    """``(state_gaps (S,), optimal (S, A) bool)`` of a Q table: actions within ``tie_tol`` of the row
    maximum are optimal; the gap is 0 at a tie, ``best - best non-optimal`` otherwise, ``inf`` when
    every action is optimal and there is one action."""
    q = as_float_array(q, "q", ndim=2)
    tie_tol = check_real(tie_tol, "tie_tol", "[0, inf)")
    best = q.max(axis=1, keepdims=True)
    opt = best - q <= tie_tol
    n_opt = opt.sum(axis=1)
    rest = np.where(opt, -np.inf, q).max(axis=1)
    gaps = np.where(n_opt >= 2, 0.0, best[:, 0] - rest)
    return gaps, opt


def action_gap(m, *, states=None, tie_tol: float | None = None, tol: float = 1e-12) -> ActionGapResult:
    """Tolerance-aware optimal-action gap ``Delta(R)`` and the set of optimal actions (module docstring).

    Parameters
    ----------
    m : TabularMDP
        Discounted model (``gamma = 0`` is a contextual bandit).
    states : array_like of int, optional
        States over which ``Delta`` is taken (default all). Absorbing states whose actions all
        coincide are ties by construction; leave them out to measure the decision states only.
    tie_tol : float, optional
        Actions within ``tie_tol`` of the best are optimal. Default: ``2 q_error`` plus ``64 u
        max(1, max|q|)``, i.e. every pair that the certified solve cannot separate is a tie.
    tol : float, default 1e-12
        Accuracy asked of :func:`mdp.solve` (raised to the model's round-off floor where needed).

    Returns
    -------
    ActionGapResult

    Raises
    ------
    TypeError, ValueError
        For a non-MDP ``m``, a negative ``tie_tol``, or states outside ``[0, S)``.

    Examples
    --------
    >>> import numpy as np, mdp
    >>> from mdp.stability import action_gap
    >>> bandit = mdp.TabularMDP(np.ones((1, 3, 1)), [[1.0, 1.0, 0.5]], 0.0)
    >>> r = action_gap(bandit)
    >>> r.gap, r.optimal.tolist()
    (0.0, [[True, True, False]])
    """
    import mdp

    m = check_mdp(m)
    S = m.n_states
    if states is None:
        sel = np.arange(S)
    else:
        sel = np.unique(np.asarray(states))
        if sel.size == 0 or not np.issubdtype(sel.dtype, np.integer):
            raise TypeError("states must be a non-empty array of integer state indices")
        if sel.min() < 0 or sel.max() >= S:
            raise ValueError(f"states must lie in [0, {S}), got {sel.min()}..{sel.max()}")
        sel = sel.astype(np.int64)
    sol = mdp.solve(m, tol=mdp.attainable_tol(m, check_real(tol, "tol", "(0, inf)")))
    v = np.array(sol.v)
    q = np.array(sol.q)
    scale = max(1.0, float(np.abs(q).max()))
    q_error = m.gamma * float(sol.error_bound) + 8 * UNIT_ROUNDOFF * scale * (m.max_row_length + 2)
    if tie_tol is None:
        tie_tol = 2.0 * q_error + 64 * UNIT_ROUNDOFF * scale
    tie_tol = check_real(tie_tol, "tie_tol", "[0, inf)")
    gaps, opt = gap_from_q(q, tie_tol)
    n_opt = opt.sum(axis=1).astype(np.int64)
    gap = float(gaps[sel].min())
    gap_lower = max(gap - 2.0 * q_error, 0.0) if np.isfinite(gap) else math.inf
    return ActionGapResult(
        gap=gap,
        gap_lower=float(gap_lower),
        radius=float((1.0 - m.gamma) * gap_lower / 2.0),
        state_gaps=gaps,
        optimal=opt,
        n_optimal=n_opt,
        tie_states=sel[n_opt[sel] >= 2],
        states=sel,
        q=q,
        v=v,
        pi=np.argmax(opt, axis=1).astype(np.int64),
        tie_tol=float(tie_tol),
        q_error=float(q_error),
    )


def optimal_policies(gap: ActionGapResult, *, limit: int = 100_000) -> np.ndarray:
    """Every deterministic optimal policy (the vertices of ``Pi*(R)``), shape ``(K, S)``.

    ``K = prod_s n_optimal[s]``; raises ``ValueError`` when it exceeds ``limit``.
    """
    if not isinstance(gap, ActionGapResult):
        raise TypeError(f"gap must be an ActionGapResult (from action_gap), got {type(gap).__name__}")
    limit = check_positive_int(limit, "limit")
    count = math.prod(int(k) for k in gap.n_optimal)
    if count > limit:
        raise ValueError(f"there are {count} deterministic optimal policies, more than limit={limit}")
    choices = [np.flatnonzero(row) for row in gap.optimal]
    grids = np.meshgrid(*choices, indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)


def in_optimal_set(gap: ActionGapResult, pi) -> bool:
    """Whether ``pi`` (``(S,)`` actions or ``(S, A)`` rows) lies in ``Pi*(R)``: its support is in the
    optimal actions at every state."""
    if not isinstance(gap, ActionGapResult):
        raise TypeError(f"gap must be an ActionGapResult (from action_gap), got {type(gap).__name__}")
    S, A = gap.optimal.shape
    pi = check_policy(pi, S, A)
    if pi.ndim == 1:
        return bool(gap.optimal[np.arange(S), pi].all())
    return bool(np.all((pi <= 0) | gap.optimal))
