"""Reward-to-policy stability: the policy cliff (Xu 2025, arXiv 2507.20150; ``docs/papers/policy_cliff.md``).

* :func:`action_gap`: tolerance-aware optimal-action gap ``Delta(R)``, the set of optimal actions,
  the certified stability radius; :func:`optimal_policies`, :func:`in_optimal_set`;
* :func:`soft_optimal_policy`: the entropy-regularised policy at temperature ``tau`` with its
  certified error, PC5 Lipschitz constant and PC6 price (solved by :func:`mdp.soft_value_iteration`
  or :func:`mdp.soft_policy_iteration`);
* :func:`effective_reward`, :func:`effective_reward_path`: multi-reward aggregation and the exact
  piecewise-constant optimal-policy path along a weight;
* :func:`softmax_pg`: exact tabular softmax policy gradient ascent;
* :func:`reasoning_tree`: the lab's toy (several correct traces, some of them shortcuts).
"""

from mdp.stability.effective import (
    EffectivePathResult,
    effective_reward,
    effective_reward_path,
    reference_effective_policies,
)
from mdp.stability.gap import (
    ActionGapResult,
    action_gap,
    gap_from_q,
    in_optimal_set,
    optimal_policies,
    reference_action_gap,
    with_reward,
)
from mdp.stability.pg import SoftmaxPGResult, reference_softmax_pg_gradient, softmax_pg
from mdp.stability.reasoning import ReasoningTree, reasoning_tree, trace_distribution
from mdp.stability.soft import SoftOptimalResult, check_tau, policy_tv, soft_optimal_policy

__all__ = [
    "ActionGapResult",
    "action_gap",
    "gap_from_q",
    "in_optimal_set",
    "optimal_policies",
    "reference_action_gap",
    "with_reward",
    "SoftOptimalResult",
    "check_tau",
    "policy_tv",
    "soft_optimal_policy",
    "EffectivePathResult",
    "effective_reward",
    "effective_reward_path",
    "reference_effective_policies",
    "SoftmaxPGResult",
    "reference_softmax_pg_gradient",
    "softmax_pg",
    "ReasoningTree",
    "reasoning_tree",
    "trace_distribution",
]
