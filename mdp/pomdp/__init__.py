"""Small POMDPs, PSR ranks and multi-task maximum likelihood (UMT-PSR; ``docs/papers/multitask_psr.md``).

* :class:`POMDP` (validated stochastic ``T``, ``E``, ``rho0``), :func:`random_pomdp`,
  :func:`sample_trajectories`, exact :func:`trajectory_probabilities` and TV distances;
* the forward-algorithm likelihood :func:`log_likelihoods` (numba) and its numpy twin;
* system-dynamics (Hankel) matrices :func:`hankel_matrix` and the numerical :func:`psr_rank`;
* finite classes (:class:`ModelClass`, the shared-emission :class:`FactoredClass`), joint
  (:func:`joint_mle`, profiled) vs per-task (:func:`per_task_mle`) maximum likelihood, the brute-force
  twin :func:`reference_joint_mle`, confidence sets and the optimistic (max-disagreement) sequence;
* exact planning over histories :func:`plan` and :func:`policy_value`;
* generators: :func:`random_pomdp`, :func:`random_factored_class`, :func:`needle_pair`,
  :func:`duplicate_states`.
"""

from mdp.pomdp.generators import duplicate_states, needle_pair, random_factored_class
from mdp.pomdp.hankel import HankelMatrix, PSRRankResult, hankel_matrix, psr_rank, reference_hankel_matrix
from mdp.pomdp.mle import (
    FactoredClass,
    JointMLEResult,
    MLEResult,
    OptimisticResult,
    confidence_set,
    enumerate_joint_class,
    joint_class_size,
    joint_mle,
    likelihood_table,
    mle,
    mle_tv_bound,
    optimistic_sequence,
    per_task_mle,
    reference_joint_mle,
)
from mdp.pomdp.model import (
    POMDP,
    ModelClass,
    action_sequences,
    check_sequence_policy,
    check_trajectories,
    log_likelihoods,
    random_pomdp,
    reference_log_likelihoods,
    sample_trajectories,
    trajectory_probabilities,
    tv_distance,
    tv_per_sequence,
)
from mdp.pomdp.planning import PlanResult, check_rewards, history_masses, open_loop_values, plan, policy_value

__all__ = [
    "POMDP",
    "ModelClass",
    "action_sequences",
    "check_sequence_policy",
    "check_trajectories",
    "log_likelihoods",
    "random_pomdp",
    "reference_log_likelihoods",
    "sample_trajectories",
    "trajectory_probabilities",
    "tv_distance",
    "tv_per_sequence",
    "HankelMatrix",
    "PSRRankResult",
    "hankel_matrix",
    "psr_rank",
    "reference_hankel_matrix",
    "FactoredClass",
    "JointMLEResult",
    "MLEResult",
    "OptimisticResult",
    "confidence_set",
    "enumerate_joint_class",
    "joint_class_size",
    "joint_mle",
    "likelihood_table",
    "mle",
    "mle_tv_bound",
    "optimistic_sequence",
    "per_task_mle",
    "reference_joint_mle",
    "duplicate_states",
    "needle_pair",
    "random_factored_class",
    "PlanResult",
    "check_rewards",
    "history_masses",
    "open_loop_values",
    "plan",
    "policy_value",
]
