"""Signature conventions over every public function (docs/conventions.md, "Signatures").

* ``rng``, ``tol`` and ``max_iter`` are keyword-only (``tol`` may be the data of a function that
  exists to transform it, like ``attainable_tol``);
* a solver selector is spelled ``method`` (not ``backend``, ``solver``, ``stage_solver``);
* names are lower case, except the papers' symbols (one capital letter and digits: ``S``,
  ``H``, ``A2``) and the glossary's ``eps_P``-style names; the numpy ``reference_`` twins mirror
  their kernels' arguments and are exempt from the keyword-only rule.

``LEGACY`` lists the public functions that predate a rule, each with the rule it still breaks;
new code may not join it, and a function that is fixed must leave it (the test fails on a stale
entry), so the list can only shrink.
"""

from __future__ import annotations

import importlib
import inspect
import re
import warnings

import numpy as np
import pytest

import mdp

MODULES = [
    "mdp",
    "mdp.learners",
    "mdp.abstraction",
    "mdp.cop",
    "mdp.agnostic",
    "mdp.pomdp",
    "mdp.stability",
    "mdp.offline",
    "mdp.submodular",
    "mdp.goal",
    "mdp.generators",
    "marl",
    "marl.learners",
    "marl.bn",
    "marl.irl",
    "marl.generators",
    "marl.spgg",
    "marl.mean_field",
    "marl.population",
    "theory_checks",
    "theory_checks.conformance",
    "labs",
]
KEYWORD_ONLY = ("rng", "tol", "max_iter")
SELECTORS = ("backend", "solver", "stage_solver")
DATA_TOL = {"mdp.attainable_tol"}  # tol is the argument being transformed
LEGACY = {
    # (function, rule): why it stays
    ("mdp.abstraction.planted_cluster_mdp", "rng"): "rng is its only data argument",
}
#: upper-case names beyond single letters that are the glossary's and the papers' symbols
MATH_NAMES = {"Q0", "Q1", "A1", "A2", "c_R", "c_T", "eps_P", "eps_R"}


def _is_symbol(name: str) -> bool:
    """A paper's symbol: one upper-case letter with digits, a bar or hat and a subscript (``S``,
    ``A2``, ``Qbar``, ``Pbar_i``, ``R_hat``)."""
    return bool(re.fullmatch(r"[A-Z][0-9]*(bar|hat|_hat)?(_[a-z0-9]+)?", name)) or name in MATH_NAMES


def _public_functions():
    out = {}
    for name in MODULES:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            fn = getattr(mod, attr, None)
            if inspect.isfunction(fn):
                out[f"{name}.{attr}"] = fn
    return out


FUNCTIONS = _public_functions()


def _broken_rules(qualname, fn):
    rules = set()
    params = inspect.signature(fn).parameters.values()
    twin = qualname.rpartition(".")[2].startswith("reference_")  # numpy twins mirror their kernel's arguments
    for p in params:
        if (
            p.name in KEYWORD_ONLY
            and p.kind is not p.KEYWORD_ONLY
            and not twin
            and not (p.name == "tol" and qualname in DATA_TOL)
        ):
            rules.add(p.name)
        if p.name in SELECTORS and p.default is not p.empty:  # an option choosing an algorithm
            rules.add("method")
        if p.name != p.name.lower() and not _is_symbol(p.name):
            rules.add("lowercase")
    return rules


def test_functions_were_found():
    assert len(FUNCTIONS) > 60


@pytest.mark.parametrize("qualname", sorted(FUNCTIONS))
def test_signature_conventions(qualname):
    broken = _broken_rules(qualname, FUNCTIONS[qualname])
    new = {r for r in broken if (qualname, r) not in LEGACY}
    assert not new, f"{qualname} breaks the signature conventions: {sorted(new)} (docs/conventions.md)"


def test_legacy_list_is_not_stale():
    stale = [k for k in LEGACY if k[0] not in FUNCTIONS or k[1] not in _broken_rules(k[0], FUNCTIONS[k[0]])]
    assert not stale, f"fixed or gone, remove from LEGACY: {stale}"


def test_old_calling_forms_still_work_with_a_warning():
    import numpy as np

    import marl
    import mdp

    m = mdp.generators.forest()
    with pytest.warns(DeprecationWarning, match="tol=..."):
        a = mdp.solve(m, 1e-6)
    assert a.error_bound <= 1e-6
    with pytest.warns(DeprecationWarning, match="method="):
        b = mdp.linear_programming(m, backend="highs")
    assert np.allclose(b.v, a.v, atol=2e-6)
    with pytest.warns(DeprecationWarning, match="tol=..."):
        mdp.abstraction.bisimulation(m, 0.0)
    g = marl.generators.random_zero_sum_game(3, 2, rng=np.random.default_rng(0))
    with pytest.warns(DeprecationWarning, match="method="):
        marl.shapley_value_iteration(g, stage_solver="simplex")
    with pytest.raises(TypeError, match="both"):
        mdp.linear_programming(m, backend="highs", method="highs")


@pytest.mark.parametrize(
    "name, args",
    [
        ("random_euclidean_tsp", (5, 2)),
        ("random_knapsack", (4,)),
        ("random_cvrp", (4,)),
        ("random_orienteering", (4,)),
        ("sample_subproblem_size", (6,)),
    ],
)
def test_positional_rng_still_works_with_a_deprecation_warning(name, args):
    """The COP generators made ``rng`` keyword-only (issue 23); the old call warns and agrees."""
    import mdp.cop

    fn = getattr(mdp.cop, name)
    with pytest.warns(DeprecationWarning, match=r"write rng=\.\.\."):
        old = fn(*args, np.random.default_rng(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        new = fn(*args, rng=np.random.default_rng(3))
    if isinstance(old, np.ndarray):
        np.testing.assert_array_equal(old, new)
    else:
        assert repr(old) == repr(new)


def test_grouped_learner_positional_rng_warns():
    m = mdp.generators.random_mdp(4, 3, rng=np.random.default_rng(0), gamma=0.9)
    g = mdp.abstraction.ActionGrouping([0, 0, 1])
    with pytest.warns(DeprecationWarning, match="rng"):
        old = mdp.abstraction.grouped_learner(m, g, 3, 5, np.random.default_rng(1))
    new = mdp.abstraction.grouped_learner(m, g, 3, 5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(old.pi_high, new.pi_high)
