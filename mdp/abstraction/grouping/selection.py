"""Choosing the grouping for a sample budget by minimising the AG5 bound."""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import check_mdp as require_mdp
from mdp._validation import check_positive_int, check_rng
from mdp.abstraction.grouping.base import (
    ActionGrouping,
    _check_delta,
    _check_nonneg_int,
    _check_reward_noise,
)
from mdp.abstraction.grouping.bound import _bound
from mdp.abstraction.grouping.candidates import action_signatures, nested_groupings
from mdp.abstraction.grouping.lifted import grouping_errors

__all__ = ["GroupingSelection", "select_grouping"]


@result
class GroupingSelection:
    """Result of :func:`select_grouping`.

    Attributes
    ----------
    grouping : ActionGrouping
        The selected grouping (least bound; ties to the coarser).
    n_groups, N, T : int
        Its ``G``, samples per pair ``N = budget // (S G)`` and sweeps.
    candidates : tuple of ActionGrouping
        The nested family searched (increasing ``G``).
    bounds : tuple of GroupingLossBound or None
        Bound per candidate (``None`` where ``budget < S G``, i.e. ``N`` would be 0).
    totals : ndarray
        ``bound.total`` per candidate (``inf`` where infeasible).
    pilot_samples : int
        Generative calls spent on the pilot (``0`` when the exact model was used).
    budget : int
        The sample budget for the learner.
    """

    grouping: ActionGrouping
    n_groups: int
    N: int
    T: int
    candidates: tuple
    bounds: tuple
    totals: np.ndarray
    pilot_samples: int
    budget: int


def select_grouping(
    m,
    budget,
    *,
    T: int = 100,
    delta: float = 0.05,
    sizes=None,
    pilot: int = 0,
    rng=None,
    method: str = "ward",
    compute_budget=None,
    reward_weight: float = 1.0,
    reward_noise: str = "none",
) -> GroupingSelection:
    """Choose the grouping (number of groups) for a sample budget by minimising the AG5 bound.

    The note's selection procedure: build a nested family of groupings by agglomerative clustering
    of the action signatures (:func:`action_signatures`, :func:`nested_groupings`), so the search is
    over ``G`` only (cost independent of ``A`` beyond the clustering); for each ``G`` set
    ``N = budget // (S G)`` (and ``T = compute_budget // (S^2 G)`` when a compute budget is given,
    one sweep costing ``S^2 G`` multiply-adds) and evaluate :func:`grouping_loss_bound` with
    plug-in ``eps_P, eps_R``; return the minimiser (ties to the coarser grouping).

    Parameters
    ----------
    m : TabularMDP
        The model. With ``pilot = 0`` the signatures and errors are computed from it exactly
        (oracle); with ``pilot > 0`` only through ``pilot`` generative samples per ``(s, a)``.
    budget : int
        Total generative samples for the learner, ``N_tot = N S G`` (``>= S``).
    T : int, default 100
        Sweeps (ignored when ``compute_budget`` is given).
    delta : float, default 0.05
    sizes : iterable of int, optional
        Candidate ``G`` values (default ``1, 2, 4, ..., A``).
    pilot : int, default 0
        Pilot samples per state-action pair (``S A pilot`` calls, reported, not taken from ``budget``).
    rng : numpy.random.Generator
        Required when ``pilot > 0``.
    method : str, default "ward"
        Linkage of :func:`nested_groupings`.
    compute_budget : int, optional
        Multiply-adds for planning; sets ``T`` per candidate.
    reward_weight : float, default 1.0
        Weight of the reward in the signatures.
    reward_noise : {"none", "bernoulli"}, default "none"
        How the learner will observe rewards (see :func:`grouping_loss_bound`).

    Returns
    -------
    GroupingSelection
    """
    m = require_mdp(m)
    budget = check_positive_int(budget, "budget")
    S, A = m.n_states, m.n_actions
    if budget < S:
        raise ValueError(f"budget must be >= S = {S} (one sample per state for a single group), got {budget}")
    T = _check_nonneg_int(T, "T")
    delta = _check_delta(delta)
    pilot = _check_nonneg_int(pilot, "pilot")
    if compute_budget is not None:
        compute_budget = check_positive_int(compute_budget, "compute_budget")
    obs_width = 1.0 if _check_reward_noise(reward_noise, m) == "bernoulli" else None
    ref = m
    if pilot > 0:
        from mdp.learners.plugin import empirical_model, sample_next_states

        rng = check_rng(rng)
        ref = empirical_model(m, sample_next_states(m, pilot, rng=rng))
    candidates = nested_groupings(action_signatures(ref, reward_weight=reward_weight), sizes, method=method)
    span, rmax = float(m.R.max() - m.R.min()), float(np.abs(m.R).max())
    bounds, totals = [], []
    for g in candidates:
        G = g.n_groups
        N = budget // (S * G)
        TG = T if compute_budget is None else compute_budget // (S * S * G)
        if N < 1:
            bounds.append(None)
            totals.append(np.inf)
            continue
        e = grouping_errors(ref, g)
        b = _bound(S, G, m.gamma, span, rmax, e.eps_P, e.eps_R, N, TG, delta, obs_width)
        bounds.append(b)
        totals.append(b.total)
    totals = np.array(totals)
    k = int(np.argmin(totals))  # first minimiser: the coarsest among ties
    best = bounds[k]
    return GroupingSelection(
        grouping=candidates[k],
        n_groups=candidates[k].n_groups,
        N=best.N,
        T=best.T,
        candidates=tuple(candidates),
        bounds=tuple(bounds),
        totals=totals,
        pilot_samples=S * A * pilot,
        budget=budget,
    )
