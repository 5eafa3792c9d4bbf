"""Preference-based advantage estimators, one module per paper (kept as one import for
compatibility): :mod:`mdp.llm.arena` (ArenaRL tournaments), :mod:`mdp.llm.spo` (SPO self-play win
rates), :mod:`mdp.llm.spark` (SPARK step verification) and :mod:`mdp.llm.hill` (HiLL hint rewards).

Importing this module registers the four estimators (``"arena"``, ``"spo"``, ``"spark"``,
``"hill"``), as importing each of those modules does.
"""

from __future__ import annotations

from mdp.llm.arena import (
    TournamentResult,
    arena_advantages,
    bracket_order,
    kendall_tau,
    rank_advantages,
    round_robin,
    single_elimination,
)
from mdp.llm.hill import HintReward, hill_hint_reward, hill_replace_groups, hint_reliance
from mdp.llm.spark import SparkLabels, majority_accuracy, spark_aggregate, spark_process_reward
from mdp.llm.spo import (
    SelfPlayResult,
    minimax_winner,
    preference_exploitability,
    spo_self_play,
    spo_win_rate_matrix,
    spo_win_rates,
)

__all__ = [
    "TournamentResult",
    "single_elimination",
    "round_robin",
    "bracket_order",
    "rank_advantages",
    "arena_advantages",
    "kendall_tau",
    "spo_win_rates",
    "spo_win_rate_matrix",
    "minimax_winner",
    "preference_exploitability",
    "SelfPlayResult",
    "spo_self_play",
    "SparkLabels",
    "spark_aggregate",
    "spark_process_reward",
    "majority_accuracy",
    "HintReward",
    "hint_reliance",
    "hill_hint_reward",
    "hill_replace_groups",
]
