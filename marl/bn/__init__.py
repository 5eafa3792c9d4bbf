"""Bayesian-network (BN) joint policies for cooperative multi-agent RL (Chen & Zhang, ICML 2023).

Agents act in a topological order of a DAG and agent ``i`` observes its parents' actions:
``pi(a | s) = prod_i pi_i(a_i | s, a_{Pa(i)})``. This package holds the cooperative ``n``-agent game
(:class:`CooperativeGame`, evaluated through the joint-action :class:`mdp.TabularMDP`), the tabular
softmax BN policy (logits ``theta[i]`` of shape ``(S, K_i, A_i)``, the context index
:func:`numpy.ravel_multi_index` of the parents' actions over the parents in ascending order), its
exact policy gradient (:func:`bn_policy_gradient`), exact-gradient ascent (:func:`bn_exact_pg`) and
the Nash gap over conditional policies (:func:`bn_nash_gap`), and batched exact-gradient ascent on
2-agent common-payoff matrix games with and without an edge (:func:`bn_matrix_ascent`); sampled
learning by REINFORCE (:func:`bn_reinforce`) and a centralised actor-critic (:func:`bn_actor_critic`). See ``docs/papers/bn_marl.md``.

``import marl.bn`` loads numpy, scipy and numba only (kernels compile on first use).
"""

from __future__ import annotations

from marl.bn.model import (  # noqa: F401  (public, eager: no kernels)
    CooperativeGame,
    bn_joint_policy,
    bn_sample_actions,
    check_parents,
    conditional_policies,
    context_index,
    n_contexts,
    random_theta,
    reference_bn_joint_policy,
    theta_shapes,
    topological_order,
    zero_theta,
)
from mdp._lazy import lazy_names

_LAZY = {
    "BNGradient": "marl.bn.gradient",
    "BNAscentResult": "marl.bn.gradient",
    "bn_policy_gradient": "marl.bn.gradient",
    "reference_bn_policy_gradient": "marl.bn.gradient",
    "bn_exact_pg": "marl.bn.gradient",
    "reference_bn_exact_pg": "marl.bn.gradient",
    "BNNashGap": "marl.bn.nash",
    "bn_nash_gap": "marl.bn.nash",
    "bn_best_response_mdp": "marl.bn.nash",
    "MatrixAscentResult": "marl.bn.matrix",
    "bn_matrix_ascent": "marl.bn.matrix",
    "reference_bn_matrix_ascent": "marl.bn.matrix",
    "matrix_nash_gap": "marl.bn.matrix",
    "SampledResult": "marl.bn.sampled",
    "bn_reinforce": "marl.bn.sampled",
    "bn_reinforce_gradient": "marl.bn.sampled",
    "bn_actor_critic": "marl.bn.sampled",
    "reference_bn_reinforce_gradient": "marl.bn.sampled",
    "reference_bn_actor_critic": "marl.bn.sampled",
    "CLIMBING": "marl.bn.matrix",
    "PENALTY": "marl.bn.matrix",
    "climbing_penalty_game": "marl.bn.matrix",
}
_EAGER = (
    "CooperativeGame",
    "bn_joint_policy",
    "bn_sample_actions",
    "check_parents",
    "conditional_policies",
    "context_index",
    "n_contexts",
    "random_theta",
    "reference_bn_joint_policy",
    "theta_shapes",
    "topological_order",
    "zero_theta",
)

__getattr__, __dir__, __all__ = lazy_names(__name__, _LAZY, submodules=("torch",), eager=_EAGER)
