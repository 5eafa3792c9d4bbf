"""Learners that only sample the model: Q-learning and the certainty-equivalence planner.

Both use the generative model ``(s, a) -> s' ~ P(s, a, .)`` through one inverse-CDF sampler
(:func:`sample_next_states`) and take all randomness from a ``numpy.random.Generator``.
"""

from mdp.learners.plugin import PluginResult, empirical_model, plugin_planner, sample_next_states
from mdp.learners.q_learning import QLearningResult, q_learning

__all__ = [
    "PluginResult",
    "QLearningResult",
    "empirical_model",
    "plugin_planner",
    "q_learning",
    "sample_next_states",
]
