"""Exact solvers for discounted and finite-horizon MDPs, each with a certified error bound."""

from mdp._common import ConvergenceWarning
from mdp.solvers._core import SolverResult
from mdp.solvers.certify import Certificate, attainable_tol, certify, round_off_floor
from mdp.solvers.finite_horizon import FiniteHorizonResult, finite_horizon
from mdp.solvers.gain_bias import GainBias, policy_gain_bias
from mdp.solvers.linear_programming import linear_programming
from mdp.solvers.modified_policy_iteration import modified_policy_iteration
from mdp.solvers.policy_evaluation import PolicyEvaluationResult, policy_evaluation
from mdp.solvers.policy_iteration import PolicyImprovement, improve_policy, policy_iteration
from mdp.solvers.relative_value_iteration import AverageRewardResult, relative_value_iteration
from mdp.solvers.simplex_policy_iteration import simplex_policy_iteration
from mdp.solvers.soft_policy_iteration import soft_policy_iteration
from mdp.solvers.soft_value_iteration import (
    SoftPolicyEvaluationResult,
    SoftSolverResult,
    soft_policy_evaluation,
    soft_value_iteration,
)
from mdp.solvers.solve import solve
from mdp.solvers.value_iteration import value_iteration

__all__ = [
    "SolverResult",
    "Certificate",
    "certify",
    "round_off_floor",
    "attainable_tol",
    "FiniteHorizonResult",
    "finite_horizon",
    "linear_programming",
    "modified_policy_iteration",
    "PolicyEvaluationResult",
    "policy_evaluation",
    "policy_iteration",
    "improve_policy",
    "PolicyImprovement",
    "simplex_policy_iteration",
    "solve",
    "ConvergenceWarning",
    "value_iteration",
    "AverageRewardResult",
    "relative_value_iteration",
    "GainBias",
    "policy_gain_bias",
    "SoftSolverResult",
    "SoftPolicyEvaluationResult",
    "soft_value_iteration",
    "soft_policy_evaluation",
    "soft_policy_iteration",
]
