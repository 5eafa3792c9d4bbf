"""Learners for Markov games that only sample the model: Nash-Q and minimax-Q.

``nash_q`` (Hu & Wellman 2003, general-sum) and ``minimax_q`` (Littman 1994, zero-sum).

``minimax_q`` is imported when its module exists. The import is eager on purpose: the function
and its module share the name ``minimax_q``, and a lazy module ``__getattr__`` would be bypassed
(returning the submodule) once anything imported ``marl.learners.minimax_q`` directly.
"""

from __future__ import annotations

from marl.learners.nash_q import NashQResult, nash_q, stage_equilibrium

__all__ = ["NashQResult", "nash_q", "stage_equilibrium"]

try:
    from marl.learners.minimax_q import MinimaxQResult, minimax_q
except ModuleNotFoundError as exc:  # pragma: no cover - only before minimax_q.py exists
    if exc.name != "marl.learners.minimax_q":
        raise
else:
    __all__ += ["MinimaxQResult", "minimax_q"]
