"""Warnings and errors shared by the solvers of ``mdp`` and ``marl``."""

from __future__ import annotations

__all__ = ["ConvergenceWarning"]


class ConvergenceWarning(RuntimeWarning):
    """A solver did not certify ``tol``: it stopped at ``max_iter``, or ``tol`` is below the float64
    round-off floor of the model (its reported bound is still certified)."""
