"""Shared internals of rlab: one home for what several packages need.

Private to the project (the leading underscore): ``mdp``, ``marl``, ``theory_checks`` and ``labs``
import from here; users import the public names that ``mdp`` and ``marl`` re-export.

* :mod:`mdp._common.results` -- :func:`result` (frozen result dataclasses whose arrays are
  read-only), :func:`frozen`, :class:`Deferred`;
* :mod:`mdp._common.sampling` -- inverse-CDF categorical draws (numba and numpy);
* :mod:`mdp._common.numerics` -- float64 constants of the certificates and the stall tracker;
* :mod:`mdp._common.exceptions` -- :class:`ConvergenceWarning`, :class:`ArgumentKindError`.

Argument checks live beside them in :mod:`mdp._validation`.
"""

from mdp._common.exceptions import ArgumentKindError, ConvergenceWarning
from mdp._common.numerics import UNDERFLOW, UNIT_ROUNDOFF, VALUE_LIMIT, StallTracker
from mdp._common.results import Deferred, frozen, result

_SAMPLING = ("cumulative_rows", "draw_csr", "draw_rows", "draw_vector")


def __getattr__(name):
    # the numba sampling kernels load on first use, so torch-only code (mdp.llm) imports
    # mdp._common without numba
    if name in _SAMPLING:
        from mdp._common import sampling

        return getattr(sampling, name)
    raise AttributeError(f"module 'mdp._common' has no attribute {name!r}")


__all__ = [
    "ArgumentKindError",
    "ConvergenceWarning",
    "Deferred",
    "StallTracker",
    "UNDERFLOW",
    "UNIT_ROUNDOFF",
    "VALUE_LIMIT",
    "cumulative_rows",
    "draw_csr",
    "draw_rows",
    "draw_vector",
    "frozen",
    "result",
]
