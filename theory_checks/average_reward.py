"""Average-reward claims: the certified gain bracket of relative value iteration (RV1) and the gain
gap of its greedy policy (RV2), checked on :func:`mdp.relative_value_iteration` against the optimal
gain found by exhaustive search with :func:`mdp.policy_gain_bias`.

With ``T v = max_a (R + P v)`` and ``d = T v - v``: ``T^n v >= v + n min(d)`` (monotonicity and
``T(v + c1) = T v + c1``) and ``T^n v / n -> g*`` give ``min d <= g*(s) <= max d`` for every finite MDP
(Odoni 1969; Puterman 1994, Sec. 8.5.5, Thm 9.4.1); for the greedy ``pi``, ``T_pi v = T v`` gives
``g^pi >= min d``, hence ``g* - g^pi <= span(d)``. The solver applies it to the aperiodicity transform
``tau I + (1 - tau) P`` (same gains). Method and tests: ``docs/algorithms.md``, section "Interop,
average reward and saved models".
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np

import mdp
from theory_checks.core import CheckResult, Claim, combine, inequality, register

__all__ = ["sample_unichain_mdp", "accept_small_mdp", "optimal_gain", "check_ar1", "check_ar2"]

_SOURCE = (
    "Odoni (1969), On finding the maximal gain for Markov decision processes, Oper. Res. 17(5); "
    "Puterman (1994), Markov Decision Processes, Sec. 8.5.5 (relative value iteration) and Sec. 8.5.4 "
    "(aperiodicity transform)"
)
_MAX_POLICIES = 4096
_BUDGETS = (1, 2, 3, 5, 10, 40)
_TAUS = (0.0, 0.5)


def sample_unichain_mdp(rng: np.random.Generator):
    """A random model with 2-5 states and 2-3 actions whose every policy is unichain (each row puts at
    least 0.05 on state 0, so state 0 is reachable from everywhere), sparse rows, normal rewards."""
    S = int(rng.integers(2, 6))
    A = int(rng.integers(2, 4))
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) < 0.5)
    P[:, :, 0] += 0.05
    P /= P.sum(axis=2, keepdims=True)
    return mdp.TabularMDP(P, rng.normal(size=(S, A)) * float(rng.choice([1.0, 10.0])), 0.9)


def accept_small_mdp(m):
    """Require a :class:`mdp.TabularMDP` with at most 4096 deterministic policies (``A**S``), for the
    exhaustive search of ``g*``; every policy must be unichain (:func:`mdp.policy_gain_bias` says which
    is not)."""
    if not isinstance(m, mdp.TabularMDP):
        raise TypeError(f"RV1/RV2 check an mdp.TabularMDP, got {type(m).__name__}")
    if m.n_actions**m.n_states > _MAX_POLICIES:
        raise ValueError(
            f"RV1/RV2 search all A**S = {m.n_actions}**{m.n_states} deterministic policies; "
            f"need at most {_MAX_POLICIES}"
        )
    return m


def optimal_gain(m) -> float:
    """``g*`` as the largest gain over all deterministic policies (each by an exact linear solve)."""
    return max(
        mdp.policy_gain_bias(m, np.array(pi)).gain for pi in itertools.product(range(m.n_actions), repeat=m.n_states)
    )


def _runs(m):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdp.ConvergenceWarning)
        for tau in _TAUS:
            for k in _BUDGETS:
                yield (tau, k), mdp.relative_value_iteration(m, max_iter=k, tol=1e-300, tau=tau)


def check_ar1(m, rng=None) -> CheckResult:
    """``lo <= g* <= hi`` for the bracket after 1, 2, 3, 5, 10, 40 sweeps, ``tau`` in {0, 0.5}.

    ``observed`` = the largest violation ``max(lo - g*, g* - hi)`` (negative when it holds), ``bound`` =
    the round-off slack ``1e-12 (1 + |g*|)``; ``tightness`` = how close ``g*`` comes to an end of the
    bracket, ``max(1 - (g* - lo) / w, 1 - (hi - g*) / w)`` with ``w = hi - lo`` (1: an end is attained),
    over the brackets wider than ``1e3`` times the slack.
    """
    g = optimal_gain(m)
    slack = 1e-12 * (1.0 + abs(g))
    worst_viol, worst_tight, at = -np.inf, 0.0, None
    for key, res in _runs(m):
        lo, hi = res.gain_bounds
        viol = max(lo - g, g - hi)
        w = hi - lo
        if viol > worst_viol:
            worst_viol, at = viol, key
        if w > 1e3 * slack:  # a bracket closed to round-off says nothing about tightness
            worst_tight = max(worst_tight, 1.0 - (g - lo) / w, 1.0 - (hi - g) / w)
    holds = worst_viol <= slack
    return CheckResult(
        "RV1",
        float(worst_viol),
        float(slack),
        bool(holds),
        float(worst_tight if holds else np.inf),
        {"g_star": g, "worst_at_tau_budget": at},
    )


def check_ar2(m, rng=None) -> CheckResult:
    """``g* - g^pi <= policy_error_bound`` for the greedy policy after each budget of :func:`check_ar1`."""
    g = optimal_gain(m)
    parts = {}
    for (tau, k), res in _runs(m):
        gap = g - mdp.policy_gain_bias(m, res.pi).gain
        parts[f"tau={tau},sweeps={k}"] = inequality("RV2", gap, res.policy_error_bound, atol=1e-12 * (1.0 + abs(g)))
    return combine("RV2", parts)


register(
    Claim(
        id="RV1",
        name="rvi-gain-bracket",
        statement=r"\min_s (Tv - v)(s) \le g^*(s') \le \max_s (Tv - v)(s) \quad \forall v, s'",
        source=f"{_SOURCE}; the bracket is a consequence of T^n v / n -> g* (Puterman 1994, Thm 9.4.1)",
        constant="source",
        tolerance=1e-12,
        sample=sample_unichain_mdp,
        evaluate=check_ar1,
        default_instances=10,
        notes="g* by exhaustive search over deterministic policies with exact gains (mdp.policy_gain_bias); the bracket "
        "as the solver reports it (round-off widening included) after 1-40 sweeps, with and without the "
        "aperiodicity transform. Holds for every finite MDP; it closes only when g* is constant.",
        subjects=("mdp.relative_value_iteration", "mdp.policy_gain_bias"),
        instance="TabularMDP with A**S <= 4096 and every deterministic policy unichain",
        accepts=accept_small_mdp,
    )
)

register(
    Claim(
        id="RV2",
        name="rvi-greedy-gain-gap",
        statement=r"g^* - g^{\pi_v} \le \max_s (Tv - v)(s) - \min_s (Tv - v)(s),\ \ \pi_v \text{ greedy for } v",
        source=f"{_SOURCE}; T_pi v = T v for the greedy pi gives g^pi >= min(Tv - v)",
        constant="source",
        tolerance=1e-12,
        sample=sample_unichain_mdp,
        evaluate=check_ar2,
        default_instances=10,
        notes="The greedy policy's exact gain (mdp.policy_gain_bias) against the solver's policy_error_bound after "
        "1-40 sweeps, tau in {0, 0.5}.",
        subjects=("mdp.relative_value_iteration", "mdp.policy_gain_bias"),
        instance="TabularMDP with A**S <= 4096 and every deterministic policy unichain",
        accepts=accept_small_mdp,
    )
)
