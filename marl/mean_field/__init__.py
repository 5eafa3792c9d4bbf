"""Decentralised partially observable mean-field control (Dec-POMFC; Cui et al., ICLR 2024).

``docs/papers/dec_pomfc.md``. Finite-state model with observation-based decision rules
(:class:`MeanFieldModel`), the lifted mean-field MDP (:func:`mf_step`, :func:`mf_rollout`), open-loop and
closed-loop optimisation of decision rules by exact reverse-mode gradients in numpy
(:func:`mf_open_loop`, :func:`mf_closed_loop`), deterministic-rule search and dynamic programming over
reachable mean fields, finite-``N`` swarm simulation in numba (:func:`swarm_simulate`, up to ``10^6``
agents) and independent tabular REINFORCE learners (:func:`swarm_reinforce`).

``import marl.mean_field`` loads numpy and numba only (kernels compile on first use).
"""

from __future__ import annotations

from marl.mean_field.model import (  # noqa: F401  (public, eager: the model)
    MeanFieldModel,
    check_distribution,
    check_rules,
    mf_objective,
    mf_rollout,
    mf_step,
    reference_mf_step,
    ring_aggregation,
)
from mdp._lazy import lazy_names

_LAZY = {
    "SwarmResult": "marl.mean_field.simulate",
    "swarm_simulate": "marl.mean_field.simulate",
    "swarm_simulate_uniforms": "marl.mean_field.simulate",
    "reference_swarm_simulate": "marl.mean_field.simulate",
    "MFOptResult": "marl.mean_field.optimize",
    "ClosedLoopResult": "marl.mean_field.optimize",
    "mf_gradient": "marl.mean_field.optimize",
    "mf_open_loop": "marl.mean_field.optimize",
    "mf_closed_loop": "marl.mean_field.optimize",
    "closed_loop_rules": "marl.mean_field.optimize",
    "mf_deterministic_search": "marl.mean_field.optimize",
    "mf_dp_value": "marl.mean_field.optimize",
    "mf_enumerate_value": "marl.mean_field.optimize",
    "deterministic_rules": "marl.mean_field.optimize",
    "SwarmLearnResult": "marl.mean_field.reinforce",
    "swarm_reinforce": "marl.mean_field.reinforce",
    "reference_swarm_reinforce": "marl.mean_field.reinforce",
    "SwarmGradient": "marl.mean_field.reinforce",
    "swarm_policy_gradient": "marl.mean_field.reinforce",
    "exact_swarm_objective": "marl.mean_field.exact",
    "exact_swarm_gradient": "marl.mean_field.exact",
    "reference_exact_swarm_objective": "marl.mean_field.exact",
    "histogram_features": "marl.mean_field.features",
    "kernel_features": "marl.mean_field.features",
    "kernel_features_grad": "marl.mean_field.features",
}
_EAGER = (
    "MeanFieldModel",
    "check_distribution",
    "check_rules",
    "mf_objective",
    "mf_rollout",
    "mf_step",
    "reference_mf_step",
    "ring_aggregation",
)

__getattr__, __dir__, __all__ = lazy_names(__name__, _LAZY, eager=_EAGER)
