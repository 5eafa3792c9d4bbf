"""Goal-conditioned tabular RL: the shared core of OTA, HECRL and VSC-RL.

* :class:`GoalMDP` (deterministic, goals = states, reward ``-1`` per step off the goal), exact
  shortest-path distances and closed-form goal-conditioned values (:func:`goal_values`);
* environments: long-corridor mazes, a corridor, HECRL's multi-block track, VSC-RL's three-doorway
  grid (``mdp.goal.envs``);
* offline data with hindsight goal relabelling, one-step or option-aware (``mdp.goal.data``);
* expectile TD (IQL/HIQL value, numba kernel with a numpy twin, :func:`expectile_td`);
* tabular AWR, subgoal candidates and selection, a hierarchical controller (``mdp.goal.hierarchy``).

Project pages: ``docs/papers/ota.md``, ``docs/papers/hecrl.md``, ``docs/papers/vsc_rl.md``.
"""

from mdp.goal.data import (
    GoalDataset,
    GoalTransitions,
    aggregate_transitions,
    exhaustive_transitions,
    goal_window_transitions,
    hindsight_transitions,
    random_walks,
)
from mdp.goal.envs import DOORWAY_GOAL, DOORWAY_START, block_track, corridor, doorway_grid, grid_mdp, maze
from mdp.goal.expectile import (
    ExpectileTDResult,
    expectile_backup,
    expectile_td,
    group_cells,
    reference_expectile_td,
    sample_expectile,
)
from mdp.goal.hecrl import (
    FactoredSampler,
    JointSampler,
    empirical_tv,
    fit_factored_sampler,
    fit_joint_sampler,
    product_tv,
    subgoal_triples,
)
from mdp.goal.hierarchy import (
    AWRPolicy,
    RolloutResult,
    SubgoalCandidates,
    awr,
    greedy_low_level,
    hierarchical_rollout,
    oracle_low_level,
    select_subgoal,
    subgoal_candidates,
)
from mdp.goal.model import (
    CONVENTIONS,
    GoalMDP,
    check_convention,
    check_expectile,
    check_goals,
    check_states,
    distances,
    goal_values,
    option_cost,
)
from mdp.goal.ota import SignAccuracyResult, closed_form_advantage, predicted_sign_accuracy, sign_accuracy
from mdp.goal.vsc import (
    Trajectories,
    elbo,
    enumerate_trajectories,
    log_evidence,
    posterior,
    stepwise_kl,
    trajectory_log_probs,
)

__all__ = [
    "Trajectories",
    "elbo",
    "enumerate_trajectories",
    "log_evidence",
    "posterior",
    "stepwise_kl",
    "trajectory_log_probs",
    "FactoredSampler",
    "JointSampler",
    "empirical_tv",
    "fit_factored_sampler",
    "fit_joint_sampler",
    "product_tv",
    "subgoal_triples",
    "GoalDataset",
    "GoalTransitions",
    "exhaustive_transitions",
    "hindsight_transitions",
    "goal_window_transitions",
    "aggregate_transitions",
    "random_walks",
    "DOORWAY_GOAL",
    "DOORWAY_START",
    "block_track",
    "corridor",
    "doorway_grid",
    "grid_mdp",
    "maze",
    "ExpectileTDResult",
    "sample_expectile",
    "expectile_td",
    "expectile_backup",
    "group_cells",
    "reference_expectile_td",
    "AWRPolicy",
    "RolloutResult",
    "SubgoalCandidates",
    "awr",
    "greedy_low_level",
    "hierarchical_rollout",
    "oracle_low_level",
    "select_subgoal",
    "subgoal_candidates",
    "CONVENTIONS",
    "GoalMDP",
    "check_convention",
    "check_expectile",
    "check_goals",
    "check_states",
    "distances",
    "goal_values",
    "option_cost",
    "SignAccuracyResult",
    "closed_form_advantage",
    "predicted_sign_accuracy",
    "sign_accuracy",
]
