"""State and action abstraction: exact and approximate bisimulation, bisimulation metrics,
action grouping.

Public names load lazily from their modules (numba kernels compile only when used).
"""

from __future__ import annotations

from mdp._lazy import lazy_names

# public name -> defining module (filled in by the modules' owners)
_LAZY = {
    # exact and approximate bisimulation (mdp/abstraction/partition.py)
    "bisimulation": "mdp.abstraction.partition",
    "BisimulationResult": "mdp.abstraction.partition",
    "approximate_aggregation": "mdp.abstraction.partition",
    "AggregationResult": "mdp.abstraction.partition",
    "planted_copies": "mdp.abstraction.partition",
    "stripe_gridworld": "mdp.abstraction.partition",
    # metrics (mdp/abstraction/metrics.py)
    "bisimulation_metric": "mdp.abstraction.metrics",
    "on_policy_bisimulation_metric": "mdp.abstraction.metrics",
    "kantorovich": "mdp.abstraction.metrics",
    "MetricResult": "mdp.abstraction.metrics",
    "bisimulation_operator": "mdp.abstraction.metrics",
    # action grouping (mdp/abstraction/grouping/)
    "ActionGrouping": "mdp.abstraction.grouping",
    "lifted_model": "mdp.abstraction.grouping",
    "grouping_errors": "mdp.abstraction.grouping",
    "grouped_learner": "mdp.abstraction.grouping",
    "grouping_loss_bound": "mdp.abstraction.grouping",
    "select_grouping": "mdp.abstraction.grouping",
    "GroupingErrors": "mdp.abstraction.grouping",
    "GroupingLossBound": "mdp.abstraction.grouping",
    "GroupedLearnerResult": "mdp.abstraction.grouping",
    "GroupingSelection": "mdp.abstraction.grouping",
    "action_signatures": "mdp.abstraction.grouping",
    "nested_groupings": "mdp.abstraction.grouping",
    "planted_cluster_mdp": "mdp.abstraction.grouping",
}

__getattr__, __dir__, __all__ = lazy_names(__name__, _LAZY)
