"""Offline model-based RL on tabular MDPs: the edge-of-reach problem and RAVL (``docs/papers/edge_of_reach.md``).

* :class:`Transitions`, :func:`collect_dataset` (behaviour-policy datasets), :func:`model_rollouts`
  (truncated ``k``-step rollouts, numba), :func:`estimate_model`, :func:`concatenate`;
* :func:`reach_sets` (exact used / target / edge-of-reach sets), :func:`buffer_sets`;
* :func:`buffer_q_iteration` (synchronous tabular Q on a buffer; ``N`` critics with RAVL's min
  target; MOPO-style penalty), :func:`mopo_penalty`, :func:`min_normal_mean` (exact order statistic);
* :func:`offline_model_based`: the loop of the lab ``edge_of_reach``.
"""

from mdp.offline.critics import (
    BufferQResult,
    buffer_q_iteration,
    min_normal_mean,
    mopo_penalty,
    reference_buffer_q_iteration,
    reference_min_normal_mean,
)
from mdp.offline.data import (
    Transitions,
    collect_dataset,
    concatenate,
    estimate_model,
    model_rollouts,
    reference_rollouts,
)
from mdp.offline.pipeline import OfflineRunResult, epsilon_greedy, offline_model_based
from mdp.offline.reach import ReachSets, buffer_sets, reach_sets

__all__ = [
    "Transitions",
    "collect_dataset",
    "concatenate",
    "estimate_model",
    "model_rollouts",
    "reference_rollouts",
    "ReachSets",
    "buffer_sets",
    "reach_sets",
    "BufferQResult",
    "buffer_q_iteration",
    "reference_buffer_q_iteration",
    "min_normal_mean",
    "reference_min_normal_mean",
    "mopo_penalty",
    "OfflineRunResult",
    "epsilon_greedy",
    "offline_model_based",
]
