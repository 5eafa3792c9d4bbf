"""Run rlab's advantage estimators and policy losses inside TRL and verl.

Nothing here imports ``trl`` or ``verl`` until it is used: ``import mdp.llm`` and
``import mdp.llm.integrations`` stay light. The framework modules are

* ``mdp.llm.integrations.trl`` -- ``RlabGRPOTrainer``, a
  ``trl.GRPOTrainer`` subclass taking ``advantage="<any registered estimator>"`` and
  ``loss="<any registered policy loss>"`` (needs ``trl``; tested with ``trl==1.16.0``);
* ``mdp.llm.integrations.verl`` -- registers every estimator as ``rlab_<name>`` and every loss
  as ``rlab_<kind>`` in verl's registries, plus ``compute_advantage``,
  a drop-in for verl's (and verl-agent's) ``compute_advantage`` that forwards trajectory ids, step
  indices and anchor observations (needs ``verl``; tested with ``verl==0.9.1``; loaded by verl
  itself through the ``verl.plugins`` entry point ``rlab``).

Framework-neutral pieces (torch only), used by both and by a plain torch loop:
:mod:`mdp.llm.integrations.common` (estimator options under a named convention, advantages with
TRL's NaN rule, one step row per agent turn and the spreading of step advantages over each turn's
tokens) and :mod:`mdp.llm.integrations.rollout` (:class:`~mdp.llm.integrations.rollout.ToyEnvRollout`,
a multi-turn rollout of a causal LM in a toy environment of ``mdp.llm.toy_envs``, usable as
TRL's ``rollout_func``); ``mdp.llm.integrations.tiny`` builds a tiny random causal LM and a
character tokenizer locally for smoke tests. The guide is ``docs/llm_integrations.md``.
"""

from __future__ import annotations

from mdp._lazy import lazy_names

_LAZY: dict = {}

# ``trl``, ``verl`` and ``tiny`` need optional packages: import them as submodules
# (``import mdp.llm.integrations.trl``); they are not lazy attributes of this package
__getattr__, __dir__, __all__ = lazy_names(__name__, _LAZY, submodules=("common", "rollout"))
