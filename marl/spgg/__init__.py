"""Sequential public-goods games of MAC-SPGG (Liang et al. 2025; ``docs/papers/mac_spgg.md``).

:class:`SPGGame` (the reconstructed payoff: private cost, cooperation bonus on predecessors' effort,
equal share of the multiplied public good, collective threshold penalty), its exact subgame-perfect
equilibrium by backward induction with a uniqueness check at every node (:func:`spgg_spne`), the map
of the parameter region where the SPNE is unique full effort (:func:`spgg_region`), and independent
tabular REINFORCE learners that see their predecessors' summed effort (:func:`spgg_reinforce`); independent
PPO learners with Gaussian effort policies in :mod:`marl.spgg.torch` (loaded on first access).

``import marl.spgg`` loads numpy and numba only (kernels compile on first use).
"""

from __future__ import annotations

from marl.spgg.model import (  # noqa: F401  (public, eager: the model)
    SUM_TOL,
    SPGGame,
    full_effort_sufficient,
    last_mover_necessary,
    reference_spgg_payoffs,
    spgg_payoffs,
)
from mdp._lazy import lazy_names

_LAZY = {
    "SPNEResult": "marl.spgg.spne",
    "spgg_spne": "marl.spgg.spne",
    "reference_spgg_spne": "marl.spgg.spne",
    "RegionResult": "marl.spgg.region",
    "spgg_region": "marl.spgg.region",
    "SPGGLearnResult": "marl.spgg.reinforce",
    "spgg_reinforce": "marl.spgg.reinforce",
    "reference_spgg_reinforce": "marl.spgg.reinforce",
}
_EAGER = (
    "SUM_TOL",
    "SPGGame",
    "full_effort_sufficient",
    "last_mover_necessary",
    "reference_spgg_payoffs",
    "spgg_payoffs",
)

__getattr__, __dir__, __all__ = lazy_names(__name__, _LAZY, submodules=("torch",), eager=_EAGER)
