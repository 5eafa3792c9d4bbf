"""Claims as data: a theorem, its source, and a check that measures it on an instance.

A :class:`Claim` bundles an id (``"F3"``), a name, a LaTeX statement, its source (paper and
theorem/equation number), whether the constant checked is the source's own or derived here, a
tolerance, an instance sampler and an evaluator. ``claim.check(instance_or_rng)`` returns a
:class:`CheckResult` ``(claim, observed, bound, holds, tightness)``.

Conventions for ``observed``/``bound``/``tightness``:

* inequality ``observed <= bound``: ``tightness = observed / bound`` (1 means the bound is attained;
  small means loose); holds iff ``observed <= bound * (1 + rtol) + atol``;
* identity ``lhs = rhs``: ``observed = |lhs - rhs|_inf``, ``bound = tolerance``, ``tightness`` is
  their ratio (so <= 1 holds);
* estimate within an interval (e.g. a fitted slope): ``observed`` the estimate, ``bound`` the
  target, ``tightness = |observed - bound| / tolerance``.

So for every kind a claim holds iff its tightness is at most 1 (up to the stated tolerance), and
"worst tightness" over instances is the maximum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from mdp._validation import did_you_mean

__all__ = [
    "CheckResult",
    "combine",
    "Claim",
    "ClaimSummary",
    "register",
    "unregister",
    "get_claim",
    "list_claims",
    "run_claims",
    "inequality",
    "identity",
    "estimate",
]


@dataclass(frozen=True)
class CheckResult:
    """Outcome of checking one claim on one instance."""

    claim: str
    observed: float
    bound: float
    holds: bool
    tightness: float
    details: dict = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        status = "holds" if self.holds else "FAILS"
        return (
            f"{self.claim}: observed {self.observed:.6g} vs bound {self.bound:.6g} "
            f"(tightness {self.tightness:.3g}) -> {status}"
        )


def solve_exact(m, tol: float = 1e-12):
    """``mdp.solve(m)`` as exactly as float64 can certify: ``tol`` raised to 4x the model's round-off
    floor where it lies below it (:func:`mdp.attainable_tol`), so no floor warning is emitted; the
    result's ``error_bound`` says what was reached. The claims use it for their reference values."""
    import mdp

    return mdp.solve(m, tol=mdp.attainable_tol(m, tol))


def inequality(
    claim: str, observed: float, bound: float, *, rtol: float = 1e-9, atol: float = 1e-12, **details
) -> CheckResult:
    """Result for ``observed <= bound``."""
    observed, bound = float(observed), float(bound)
    holds = observed <= bound * (1 + rtol) + atol if bound >= 0 else observed <= bound + atol
    if bound > 0:
        tight = observed / bound
    else:  # no meaningful ratio: 0 when it holds, infinite when it fails
        tight = 0.0 if holds else math.inf
    return CheckResult(claim, observed, bound, bool(holds), float(tight), dict(details))


def identity(claim: str, error: float, tolerance: float, **details) -> CheckResult:
    """Result for an identity whose sup-norm discrepancy is ``error``."""
    error = float(error)
    return CheckResult(claim, error, float(tolerance), bool(error <= tolerance), error / tolerance, dict(details))


def estimate(claim: str, observed: float, target: float, tolerance: float, **details) -> CheckResult:
    """Result for an estimate that must lie within ``tolerance`` of ``target``."""
    dev = abs(float(observed) - float(target))
    return CheckResult(claim, float(observed), float(target), bool(dev <= tolerance), dev / tolerance, dict(details))


def combine(claim: str, parts: dict) -> CheckResult:
    """One result from several sub-checks of a claim: the worst part (a failing part first, then the
    largest tightness) gives ``observed``, ``bound`` and ``tightness``; the claim holds iff every part
    does. ``details`` holds the worst part's own details plus ``worst_part`` (its name) and ``parts``
    (every part's observed, bound, holds, tightness and details)."""
    if not parts:
        raise ValueError("combine needs at least one part")
    name = max(parts, key=lambda k: (not parts[k].holds, parts[k].tightness))
    worst = parts[name]
    details = dict(worst.details)
    details["worst_part"] = name
    details["parts"] = {
        k: {"observed": r.observed, "bound": r.bound, "holds": r.holds, "tightness": r.tightness, **r.details}
        for k, r in parts.items()
    }
    return CheckResult(
        claim, worst.observed, worst.bound, all(r.holds for r in parts.values()), worst.tightness, details
    )


@dataclass(frozen=True)
class Claim:
    """A theorem as executable data.

    Attributes
    ----------
    id : str
        Short identifier, e.g. ``"F3"``.
    name : str
        Slug, e.g. ``"vi-stopping-rule"``.
    statement : str
        The claim in LaTeX.
    source : str
        Paper/book and theorem, equation or page.
    constant : {"source", "derived", "none"}
        Whether the constant checked is the source's own, derived here (say how in ``notes``), or
        the claim has none (identities).
    tolerance : float
        Numerical tolerance used by the evaluator.
    sample : callable ``(rng) -> instance``
        Draws a random instance.
    evaluate : callable ``(instance, rng) -> CheckResult``
        Measures the claim on an instance (``rng`` for any auxiliary randomness).
    notes : str
        How the constant was derived, caveats.
    default_instances : int
        How many instances ``rlab check`` draws by default (statistical claims use 1).
    subjects : tuple of str
        Dotted names of the public code the claim checks (``"mdp.value_iteration"``), so that the
        link from an algorithm to its claims can be listed (``rlab list mdp.value_iteration``) and
        the docs' status tables generated.
    instance : str
        What ``check(instance)`` accepts, in words (``"TabularMDP"``, ``"(TabularMDP, TabularMDP)
        with equal S and A"``); shown by ``rlab list ID``.
    accepts : callable ``(instance) -> instance``, optional
        Validates (and may normalise) a user's instance before ``evaluate`` sees it; raises
        ``TypeError``/``ValueError`` naming what was expected. ``None``: no check.
    """

    id: str
    name: str
    statement: str
    source: str
    constant: str
    tolerance: float
    sample: Callable[[np.random.Generator], Any]
    evaluate: Callable[[Any, np.random.Generator], CheckResult]
    notes: str = ""
    default_instances: int = 20
    subjects: tuple = ()
    instance: str = ""
    accepts: Callable[[Any], Any] | None = None

    def check(
        self, instance: Any = None, *, rng: np.random.Generator | None = None, threads: int | None = 1
    ) -> CheckResult:
        """Check the claim on ``instance``, or on a random one when given a Generator or nothing.

        ``claim.check(rng)`` draws an instance from ``rng``; ``claim.check(m, rng=rng)`` checks a
        given instance (``rng`` feeds auxiliary draws, default ``numpy.random.default_rng(0)``).
        A given instance must be of the kind ``self.instance`` describes (``self.accepts`` checks
        it). ``threads``: numba and BLAS threads for the check (default 1, as ``rlab check``: the
        checks run thousands of small kernels, whose parallel start-up and, on a busy machine,
        oversubscription cost far more than they save: F3 on the README's 500-state model took 35.8 s
        with numba's default pool and 5.5-10.6 s pinned, in one process on a loaded 2-core machine;
        docs/algorithms.md, "Claims on your own model"); ``None`` leaves the current settings.
        """
        from mdp._threads import pinned_threads

        if isinstance(instance, np.random.Generator):
            if rng is not None:
                raise TypeError("pass the Generator either as the instance or as rng=, not both")
            rng, instance = instance, None
        if rng is None:
            rng = np.random.default_rng(0)
        elif not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if instance is None:
            instance = self.sample(rng)
        else:
            instance = self.validate(instance)
        if threads is None:
            return self.evaluate(instance, rng)
        with pinned_threads(threads):
            return self.evaluate(instance, rng)

    def validate(self, instance: Any) -> Any:
        """``accepts(instance)``, with the claim id and its ``instance`` text prefixed to a
        ``TypeError``/``ValueError`` so the message says both what was expected and what was wrong."""
        if self.accepts is None:
            return instance
        try:
            return self.accepts(instance)
        except (TypeError, ValueError) as exc:
            raise type(exc)(
                f"claim {self.id} ({self.name}) checks {self.instance or 'its own instances'}: {exc}"
            ) from exc


@dataclass(frozen=True)
class ClaimSummary:
    """Aggregate of several checks of one claim (one row of ``rlab check``)."""

    claim: Claim
    instances: int
    worst_tightness: float
    holds: bool
    results: tuple

    @property
    def status(self) -> str:
        return "holds" if self.holds else "FAILS"


_REGISTRY: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    """Add ``claim`` to the registry (ids must be unique); the built-in claims always come first."""
    _load_builtin_claims()
    if claim.id in _REGISTRY and _REGISTRY[claim.id] is not claim:
        raise ValueError(f"a claim with id {claim.id!r} is already registered")
    _REGISTRY[claim.id] = claim
    return claim


def unregister(claim_id: str) -> None:
    """Remove a claim from the registry (for test-only claims); unknown ids are ignored."""
    _REGISTRY.pop(claim_id, None)


#: modules whose import registers the built-in claims, in listing order
_BUILTIN_MODULES = (
    "theory_checks.foundations",  # F1-F13
    "theory_checks.games",  # G1-G6, MM
    "theory_checks.bisimulation",  # B1, B2, AGG, B4-B8
    "theory_checks.grouping",  # AG1-AG6
    "theory_checks.cop",  # BQ1, BQ2, BQ4
    "theory_checks.llm",  # L1-L9
    "theory_checks.average_reward",  # RV1, RV2
    "theory_checks.bn",  # BN1-BN4
    "theory_checks.agnostic",  # AR1-AR6
    "theory_checks.irl",  # M1-M6
    "theory_checks.multitask_psr",  # MT1-MT5
    "theory_checks.policy_cliff",  # PC1-PC7
    "theory_checks.edge_of_reach",  # E1-E5
    "theory_checks.subrl",  # S1, S3-S5
    "theory_checks.spgg",  # SPG1-SPG4
    "theory_checks.mean_field",  # D1-D6
    "theory_checks.population",  # MR1-MR4
    "theory_checks.ota",  # OT1-OT4
    "theory_checks.hecrl",  # H1-H4
    "theory_checks.vsc_rl",  # VSC1, VSC2
    "theory_checks.llm_papers",  # GF1, GF2, SA1, GG1, GG2
)
_LOADING = {"done": False, "busy": False}


def _load_builtin_claims() -> None:
    if _LOADING["done"] or _LOADING["busy"]:
        return
    _LOADING["busy"] = True
    try:
        import importlib

        for name in _BUILTIN_MODULES:
            importlib.import_module(name)
        _LOADING["done"] = True
    finally:
        _LOADING["busy"] = False


def _rank(claim: Claim) -> int:
    module = getattr(claim.evaluate, "__module__", "") or ""
    return _BUILTIN_MODULES.index(module) if module in _BUILTIN_MODULES else len(_BUILTIN_MODULES)


def list_claims() -> list[Claim]:
    """All registered claims: the built-in ones by module (foundations, games, COP, LLM), then any
    registered by the user, each group in registration order."""
    _load_builtin_claims()
    order = {cid: i for i, cid in enumerate(_REGISTRY)}
    return sorted(_REGISTRY.values(), key=lambda c: (_rank(c), order[c.id]))


def get_claim(claim_id: str) -> Claim:
    """Look up a claim by id (``"F3"``) or name (``"vi-stopping-rule"``), in any case (``"f3"``).

    An unknown id raises ``KeyError`` naming the closest ids or names and listing all ids."""
    _load_builtin_claims()
    if claim_id in _REGISTRY:
        return _REGISTRY[claim_id]
    for c in _REGISTRY.values():
        if c.name == claim_id:
            return c
    if isinstance(claim_id, str):  # "f3", "VI-Stopping-Rule": as `rlab list` reads them
        for c in _REGISTRY.values():
            if claim_id.lower() in (c.id.lower(), c.name.lower()):
                return c
    known = ", ".join(_REGISTRY)
    hint = did_you_mean(claim_id, [*_REGISTRY, *(c.name for c in _REGISTRY.values())])
    raise KeyError(f"unknown claim {claim_id!r}{hint}; known claims: {known}")


def run_claims(
    ids=None, *, n_instances: int | None = None, rng: np.random.Generator | None = None
) -> list[ClaimSummary]:
    """Check each claim on ``n_instances`` random instances (default: the claim's own count)."""
    claims = list_claims() if not ids else [get_claim(i) for i in ids]
    rng = np.random.default_rng(0) if rng is None else rng
    out = []
    for c in claims:
        n = c.default_instances if n_instances is None else n_instances
        results = tuple(c.check(rng=np.random.default_rng(rng.integers(2**63))) for _ in range(max(1, n)))
        worst = max(r.tightness for r in results)
        out.append(ClaimSummary(c, len(results), worst, all(r.holds for r in results), results))
    return out
