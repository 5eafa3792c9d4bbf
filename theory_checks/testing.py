"""pytest helper: unit-test a theorem in your own test-suite.

>>> import numpy as np
>>> from theory_checks import assert_claim
>>> len(assert_claim("F1", rng=np.random.default_rng(0), n=3))
3
"""
from __future__ import annotations

import numpy as np

from theory_checks.core import CheckResult, Claim, get_claim

__all__ = ["assert_claim"]


def assert_claim(claim, instance=None, *, rng: np.random.Generator | None = None, n: int = 1) -> list[CheckResult]:
    """Check ``claim`` (a :class:`Claim`, id or name) and raise ``AssertionError`` if it fails.

    Parameters
    ----------
    claim : Claim or str
    instance : optional
        A specific instance (e.g. your ``TabularMDP``); by default ``n`` random instances are drawn.
    rng : numpy.random.Generator, optional
        Source of randomness (default ``numpy.random.default_rng(0)``).
    n : int
        Number of random instances when ``instance`` is None.

    Returns
    -------
    list of CheckResult
        One per instance checked (all holding).
    """
    c = claim if isinstance(claim, Claim) else get_claim(claim)
    rng = np.random.default_rng(0) if rng is None else rng
    if instance is not None:
        results = [c.check(instance, rng=rng)]
    else:
        results = [c.check(rng) for _ in range(n)]
    bad = [r for r in results if not r.holds]
    if bad:
        r = bad[0]
        raise AssertionError(
            f"claim {c.id} ({c.name}) fails on {len(bad)} of {len(results)} instance(s): "
            f"observed {r.observed:.6g} vs bound {r.bound:.6g}, tightness {r.tightness:.3g}; "
            f"statement: {c.statement}; source: {c.source}; details: {r.details}"
        )
    return results
