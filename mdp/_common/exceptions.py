"""Warnings and errors shared by the solvers of ``mdp`` and ``marl``."""

from __future__ import annotations

__all__ = ["ArgumentKindError", "ConvergenceWarning"]


class ConvergenceWarning(RuntimeWarning):
    """A solver did not certify ``tol``: it stopped at ``max_iter``, or ``tol`` is below the float64
    round-off floor of the model (its reported bound is still certified)."""


class ArgumentKindError(TypeError, ValueError):
    """An argument of the wrong kind (a string, ``None`` or a bool where a number was expected).

    It is a ``TypeError``, as Python's convention asks, and also a ``ValueError``: several public
    functions checked their arguments inline before the shared validators of
    :mod:`mdp._validation` existed and raised ``ValueError`` for every bad argument, so callers that
    catch ``ValueError`` keep working (numpy's ``AxisError`` is both a ``ValueError`` and an
    ``IndexError`` for the same reason).
    """
