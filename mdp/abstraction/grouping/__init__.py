"""Action grouping: learn and plan over groups of similar actions (Li, Ju & Shroff, ICLR 2024).

Notation and propositions follow ``docs/papers/action_grouping.md`` (AG1-AG6). A grouping
``g : A -> {0, ..., G-1}`` partitions the ``A`` primitive actions into ``G`` groups ``A_i``; a
low-level rule ``mu(a | s, i)`` (uniform within the group by default) picks the primitive action
once the high level has chosen a group. The *lifted* MDP ``M_g`` has the ``G`` groups as actions::

    Pbar_i(. | s) = sum_{a in A_i} mu(a|s,i) P(.|s,a)        Rbar_i(s) = sum_{a in A_i} mu(a|s,i) R(s,a)
    eps_P(g) = max_{s, i, a in A_i} || P(.|s,a) - Pbar_i(.|s) ||_1
    eps_R(g) = max_{s, i, a in A_i} | R(s,a) - Rbar_i(s) |

and executing a high-level policy ``pi_h`` through ``mu`` in the true MDP has exactly its lifted
value (AG1). The learner (:func:`grouped_learner`, the paper's Algorithm 1) draws ``N`` samples
per state-group pair from the generative model, builds the empirical lifted model, runs ``T``
value-iteration sweeps from ``V_0 = 0`` and acts greedily. Its loss is bounded (AG5) by

    B(g) + 2 (e_R + gamma e_P span(R) / (2 (1 - gamma))) / (1 - gamma) + 2 gamma^{T+1} max|R| / (1 - gamma)^2

(approximation + estimation + computation; :func:`grouping_loss_bound`). :func:`select_grouping`
picks the number of groups for a sample budget by minimising that bound over a nested family of
agglomerative clusterings of action signatures (the note's selection procedure).

Constants. The note states its bounds for rewards in ``[0, 1]``. Here they are written for any
bounded rewards: the transition terms use ``span(R) = max R - min R`` (every value function of the
true, lifted or empirical lifted model has span at most ``span(R) / (1 - gamma)``, because lifted
rewards are convex combinations of ``R(s, .)``), the reward concentration term is Hoeffding for
values in a range of width ``span(R)``, and the computation term uses ``max |R|`` (``V_0 = 0``).
For rewards in ``[0, 1]`` every term is at most the note's. The derivations are in the docstrings
of :func:`grouping_loss_bound`; they are derived here, not copied from the paper, whose exact
constants were not verified (see the note).

The package, one module per part: :mod:`.base` (the grouping), :mod:`.lifted` (lifted model and
errors), :mod:`.bound` (the AG5 bound), :mod:`.learner` (Algorithm 1), :mod:`.candidates`
(signatures and nested groupings), :mod:`.selection` and :mod:`.instances`.
"""

from __future__ import annotations

from mdp.abstraction.grouping.base import ActionGrouping
from mdp.abstraction.grouping.bound import GroupingLossBound, grouping_loss_bound
from mdp.abstraction.grouping.candidates import action_signatures, nested_groupings
from mdp.abstraction.grouping.instances import planted_cluster_mdp
from mdp.abstraction.grouping.learner import GroupedLearnerResult, grouped_learner
from mdp.abstraction.grouping.lifted import (
    GroupingErrors,
    grouping_errors,
    lifted_model,
)
from mdp.abstraction.grouping.selection import GroupingSelection, select_grouping

__all__ = [
    "ActionGrouping",
    "GroupingErrors",
    "GroupingLossBound",
    "GroupedLearnerResult",
    "GroupingSelection",
    "lifted_model",
    "grouping_errors",
    "grouping_loss_bound",
    "grouped_learner",
    "action_signatures",
    "nested_groupings",
    "select_grouping",
    "planted_cluster_mdp",
]
