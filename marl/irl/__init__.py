"""Multi-agent inverse reinforcement learning: entropy-regularised Markov games, logit equilibria and
MAMQL (Haynam et al. 2025, arXiv:2503.04679; ``docs/papers/mamql.md``).

Tabular and numba-backed; ``marl.irl.torch`` (deep critics) loads torch only when used.
"""

from __future__ import annotations

from mdp._lazy import lazy_names

_LAZY = {
    "induced_mdp": "marl.irl.equilibrium",
    "marginal_soft_q": "marl.irl.equilibrium",
    "logit_equilibrium": "marl.irl.equilibrium",
    "LogitEquilibrium": "marl.irl.equilibrium",
    "occupancy_measure": "marl.irl.equilibrium",
    "Occupancy": "marl.irl.equilibrium",
    "sample_demonstrations": "marl.irl.equilibrium",
    "Demonstrations": "marl.irl.equilibrium",
    "mamql": "marl.irl.inverse",
    "MAMQLResult": "marl.irl.inverse",
    "recover_reward": "marl.irl.inverse",
    "remove_shaping": "marl.irl.inverse",
    "ShapingResult": "marl.irl.inverse",
    "joint_reward_regression": "marl.irl.inverse",
    "JointRewardResult": "marl.irl.inverse",
    "behaviour_cloning": "marl.irl.baselines",
    "BehaviourCloning": "marl.irl.baselines",
    "adversarial_irl": "marl.irl.baselines",
    "AdversarialIRLResult": "marl.irl.baselines",
}
_SUBMODULES = {"equilibrium", "inverse", "baselines", "torch"}

__getattr__, __dir__, __all__ = lazy_names(__name__, _LAZY, submodules=_SUBMODULES)
