"""Judges as plain callables (``judge(a, b) -> float`` in ``[0, 1]``), called in a deterministic
order, and the group-relative base advantages the preference rewards are turned into."""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = []


class _Judge:
    """Wraps a pairwise callable: validates each answer and counts calls."""

    def __init__(self, fn: Callable, name: str = "judge", symmetrize: bool = False):
        if not callable(fn):
            raise TypeError(f"{name} must be callable (a, b) -> P(a preferred to b) in [0, 1], got {type(fn).__name__}")
        self.fn, self.name, self.symmetrize, self.calls = fn, name, bool(symmetrize), 0

    def _one(self, a, b) -> float:
        self.calls += 1
        v = self.fn(a, b)
        if isinstance(v, (bool, np.bool_)):
            return 1.0 if v else 0.0
        try:
            p = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"{self.name} must return a number in [0, 1] (or a bool), got {type(v).__name__}") from None
        if not (0.0 <= p <= 1.0):  # also rejects NaN
            raise ValueError(f"{self.name}({a!r}, {b!r}) returned {p}, outside [0, 1]")
        return p

    def __call__(self, a, b) -> float:
        p = self._one(a, b)
        if self.symmetrize:
            p = 0.5 * (p + 1.0 - self._one(b, a))
        return p


def _base_advantages(base, batch, rewards, base_options, method):
    """``compute_advantages(base, batch with rewards, **base_options)`` with ``singleton="zero"`` by
    default when the base estimator has that option (a one-row group gets advantage 0, not verl's
    ``r / (1 + eps)``); an explicit ``base_options["singleton"]`` overrides it."""
    from collections.abc import Mapping

    from mdp.llm.registry import compute_advantages, get_estimator

    if base_options is None:
        base_options = {}
    if not isinstance(base_options, Mapping):
        raise TypeError(
            f"{method}: base_options must be a dict of options for the base estimator "
            f"{base!r}, got {type(base_options).__name__}"
        )
    opts = dict(base_options)
    if "singleton" in get_estimator(base).options:
        opts.setdefault("singleton", "zero")
    return compute_advantages(base, batch.replace(rewards=rewards), **opts)
