"""Float64 constants of the certificates and the stall tracker of the iterative solvers."""

from __future__ import annotations

import numpy as np

__all__ = ["UNIT_ROUNDOFF", "UNDERFLOW", "VALUE_LIMIT", "StallTracker"]

#: Unit round-off of float64 (``eps / 2``): ``fl(a op b) = (a op b)(1 + e)`` with ``|e| <= u``.
UNIT_ROUNDOFF = float(np.finfo(np.float64).eps) / 2

#: Smallest positive float64 (subnormal): the absolute error a product can make on top of its relative
#: one when it underflows (Higham 2002, Sec. 2.1); sums and differences of subnormals are exact.
UNDERFLOW = 2.0**-1074

#: Largest ``max|R| / (1 - gamma)`` the solvers accept: values beyond it leave no room below the
#: float64 maximum (1.8e308) for the sums and bounds built from them.
VALUE_LIMIT = 1e300


class StallTracker:
    """Keeps the best (smallest) certificate seen and counts checks without a new best.

    ``tracker.update(bound, payload)`` records one check and returns ``True`` once ``patience``
    checks in a row brought no bound smaller than the best so far (the certificate stopped
    shrinking: the float64 round-off floor of the problem's scale). ``best`` and ``payload`` are
    the smallest bound seen and what was recorded with it (e.g. the certified midpoint).

    Shared by :func:`mdp.solve` and the Markov-game solvers of :mod:`marl.markov`.
    """

    __slots__ = ("patience", "best", "payload", "since_best")

    def __init__(self, patience: int, payload=None):
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.patience = int(patience)
        self.best = np.inf
        self.payload = payload
        self.since_best = 0

    def update(self, bound: float, payload=None) -> bool:
        """Record ``bound`` (and its ``payload``); ``True`` when the tracker has stalled."""
        if bound < self.best:
            self.best, self.payload, self.since_best = bound, payload, 0
            return False
        self.since_best += 1
        return self.since_best >= self.patience

    @property
    def stalled(self) -> bool:
        """Whether ``patience`` checks in a row brought no new best."""
        return self.since_best >= self.patience
