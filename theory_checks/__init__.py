"""Claims as code: each theorem a named check returning observed value, bound and tightness.

>>> from theory_checks import get_claim
>>> r = get_claim("F1").check()
>>> r.holds
True
"""

from theory_checks.core import (
    CheckResult,
    Claim,
    ClaimSummary,
    combine,
    estimate,
    get_claim,
    identity,
    inequality,
    list_claims,
    register,
    run_claims,
    unregister,
)
from theory_checks.testing import assert_claim

__all__ = [
    "CheckResult",
    "Claim",
    "combine",
    "ClaimSummary",
    "assert_claim",
    "estimate",
    "get_claim",
    "identity",
    "inequality",
    "list_claims",
    "register",
    "run_claims",
    "unregister",
]
