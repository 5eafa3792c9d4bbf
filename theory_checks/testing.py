"""pytest helper: unit-test a theorem in your own test-suite.

>>> import numpy as np
>>> from theory_checks import assert_claim
>>> len(assert_claim("F1", rng=np.random.default_rng(0), n=3))
3
"""

from __future__ import annotations

import numpy as np

from mdp._validation import check_positive_int
from theory_checks.core import CheckResult, Claim, get_claim

__all__ = ["assert_claim"]


def assert_claim(
    claim, instance=None, *, rng: np.random.Generator | None = None, n: int | None = None, threads: int | None = 1
) -> list[CheckResult]:
    """Check ``claim`` (a :class:`Claim`, id or name) and raise ``AssertionError`` if it fails.

    Parameters
    ----------
    claim : Claim or str
    instance : optional
        A specific instance, of the kind the claim declares (``claim.instance``; ``rlab list ID``
        shows it): e.g. your ``TabularMDP`` for F3, ``(M, M_hat)`` for F8-F10. A wrong kind raises
        ``TypeError``/``ValueError`` naming what was expected. By default ``n`` random instances are
        drawn from the claim's own sampler.
    rng : numpy.random.Generator, optional
        Source of randomness (default ``numpy.random.default_rng(0)``): the random instances, or the
        auxiliary draws (random policies, start vectors) of a check on a given instance.
    n : int, optional
        Number of random instances (default 1). Only without ``instance``: a given instance is
        checked once, and passing ``n`` with it raises ``TypeError``.
    threads : int or None
        numba and BLAS threads during the check (default 1; ``None``: leave the current settings).
        See :meth:`Claim.check`.

    Returns
    -------
    list of CheckResult
        One per instance checked (all holding).

    Raises
    ------
    AssertionError
        If the claim fails on an instance.
    TypeError, ValueError
        On an instance of the wrong kind, ``n`` given with an instance, or ``n`` not a positive int.

    Notes
    -----
    Cost on a given model: see ``docs/algorithms.md`` ("Claims on your own model"); e.g. F3 runs
    value iteration until ``gamma^t < 1e-12`` (at most 3000 sweeps) and one exact solve per greedy
    policy met.
    """
    c = claim if isinstance(claim, Claim) else get_claim(claim)
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    rng = np.random.default_rng(0) if rng is None else rng
    if instance is not None:
        if n is not None:
            raise TypeError(
                f"n={n!r} counts random instances; it cannot be used with a given instance, "
                "which is checked once (call assert_claim in a loop to vary the auxiliary draws)"
            )
        results = [c.check(instance, rng=rng, threads=threads)]
    else:
        n = 1 if n is None else n
        n = check_positive_int(n, "n (a positive int: the number of random instances)")
        results = [c.check(rng, threads=threads) for _ in range(int(n))]
    bad = [r for r in results if not r.holds]
    if bad:
        r = bad[0]
        raise AssertionError(
            f"claim {c.id} ({c.name}) fails on {len(bad)} of {len(results)} instance(s): "
            f"observed {r.observed:.6g} vs bound {r.bound:.6g}, tightness {r.tightness:.3g}; "
            f"statement: {c.statement}; source: {c.source}; details: {r.details}"
        )
    return results
