"""Submodular RL: SubPO with time-indexed softmax policies (Prajapat et al. 2024; ``docs/papers/subrl.md``).

* set functions over visited states: :class:`CoverageFunction` (:func:`grid_coverage`),
  :class:`FacilityLocation`, :class:`UserFunction` (checked by :func:`check_submodular`);
* :func:`rollouts` (numba), :func:`marginal_gains` (numba for coverage and facility location),
  :func:`credits`, :func:`subpo` (reward-to-go, greedy, additive credit), :func:`greedy_oracle`;
* exact and brute-force references for tiny instances: :func:`exact_objective`,
  :func:`exact_gradient`, :func:`best_markov_value`, :func:`best_history_value`.
"""

from mdp.submodular.functions import (
    CoverageFunction,
    FacilityLocation,
    SubmodularityReport,
    UserFunction,
    check_submodular,
    grid_coverage,
    set_value,
)
from mdp.submodular.subpo import (
    SubPOResult,
    best_history_value,
    best_markov_value,
    credits,
    exact_gradient,
    exact_objective,
    greedy_oracle,
    marginal_gains,
    reference_rollouts,
    rollouts,
    subpo,
)

__all__ = [
    "CoverageFunction",
    "FacilityLocation",
    "SubmodularityReport",
    "UserFunction",
    "check_submodular",
    "grid_coverage",
    "set_value",
    "SubPOResult",
    "best_history_value",
    "best_markov_value",
    "credits",
    "exact_gradient",
    "exact_objective",
    "greedy_oracle",
    "marginal_gains",
    "reference_rollouts",
    "rollouts",
    "subpo",
]
