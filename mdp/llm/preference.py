"""Preference-based advantage estimators, one module per paper (kept as one import for
compatibility): :mod:`mdp.llm.arena` (ArenaRL tournaments), :mod:`mdp.llm.spo` (SPO self-play win
rates), :mod:`mdp.llm.spark` (SPARK step verification) and :mod:`mdp.llm.hill` (HiLL hint rewards).

Importing this module registers the four estimators (``"arena"``, ``"spo"``, ``"spark"``,
``"hill"``), as importing each of those modules does.
"""
from __future__ import annotations

from mdp.llm.arena import TournamentResult, single_elimination, round_robin, bracket_order, rank_advantages, arena_advantages, kendall_tau
from mdp.llm.spo import spo_win_rates, spo_win_rate_matrix, minimax_winner, preference_exploitability, SelfPlayResult, spo_self_play
from mdp.llm.spark import SparkLabels, spark_aggregate, spark_process_reward, majority_accuracy
from mdp.llm.hill import HintReward, hint_reliance, hill_hint_reward, hill_replace_groups

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
