"""Agnostic policy learning on layered MDPs (the thesis of G. Li 2025; ``docs/papers/agnostic_rl.md``).

* :class:`LayeredMDP` and its generators; :func:`policy_values` (exact values of a whole class);
* policy classes as tables ``policies[k, h, s]`` (``mdp.agnostic.policies``);
* :func:`spanning_capacity`: exact search and certified bounds;
* :func:`trajectory_tree` (generative-model learner) and :func:`model_based` (baseline);
* :func:`psdp` (with mu-resets) and :func:`cpi` (conservative policy iteration).
"""

from mdp.agnostic.generative import (
    ModelBasedResult,
    TrajectoryTreeResult,
    model_based,
    reference_model_based_values,
    reference_tree_returns,
    required_trees,
    trajectory_tree,
    tree_returns,
)
from mdp.agnostic.model import (
    LayeredMDP,
    check_policy_table,
    deterministic_layered,
    from_tabular,
    optimal_policy,
    policy_values,
    random_layered,
    reference_policy_values,
    sparse_branching,
)
from mdp.agnostic.policies import (
    all_policies,
    constant_action,
    linear_argmax_policies,
    random_policies,
    singleton_deviations,
    threshold_policies,
)
from mdp.agnostic.resets import CPIResult, PSDPResult, cpi, layer_distributions, psdp, stochastic_q_values
from mdp.agnostic.spanning import (
    SpanningCapacityResult,
    capacity_caps,
    reachable_pairs,
    reference_spanning_capacity,
    spanning_capacity,
)

__all__ = [
    "CPIResult",
    "PSDPResult",
    "cpi",
    "layer_distributions",
    "psdp",
    "stochastic_q_values",
    "ModelBasedResult",
    "TrajectoryTreeResult",
    "model_based",
    "reference_model_based_values",
    "reference_tree_returns",
    "required_trees",
    "trajectory_tree",
    "tree_returns",
    "LayeredMDP",
    "check_policy_table",
    "deterministic_layered",
    "from_tabular",
    "optimal_policy",
    "policy_values",
    "random_layered",
    "reference_policy_values",
    "sparse_branching",
    "all_policies",
    "constant_action",
    "linear_argmax_policies",
    "random_policies",
    "singleton_deviations",
    "threshold_policies",
    "SpanningCapacityResult",
    "capacity_caps",
    "reachable_pairs",
    "reference_spanning_capacity",
    "spanning_capacity",
]
