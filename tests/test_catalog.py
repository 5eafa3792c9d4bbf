"""rlab list <algorithm>: the links from code to its claims, labs, notebooks and docs."""

from __future__ import annotations

import pytest

import labs
from labs.catalog import algorithm_card, known_subjects, resolve


def test_every_declared_subject_resolves_to_public_code():
    from theory_checks import list_claims

    declared = {s for lab in labs.list_labs() for s in lab.subjects} | {s for c in list_claims() for s in c.subjects}
    assert {s for lab in labs.list_labs() for s in lab.subjects}, "the built-in labs declare their subjects"
    unresolved = [s for s in sorted(declared) if resolve(s) is None]
    assert not unresolved, f"subjects that name no public code: {unresolved}"


def test_card_of_a_solver_lists_its_labs_and_notebook():
    card = algorithm_card("value_iteration")
    assert card.name == "mdp.value_iteration"
    assert card.source == "mdp/solvers/value_iteration.py"
    assert "quickstart" in card.labs and "solver_scaling" in card.labs
    assert "docs/notebooks/value_iteration_contraction.py" in card.notebooks
    assert card.summary.startswith("Solve a discounted MDP by value iteration")


def test_card_follows_deprecation_wrappers_to_the_source():
    assert algorithm_card("mdp.solve").source == "mdp/solvers/solve.py"


def test_estimator_card_names_its_claims():
    pytest.importorskip("torch")
    card = algorithm_card("gigpo")
    assert card is not None and card.claims == ("L2",) and card.source == "mdp/llm/agentic.py"
    assert "exact_advantage" in card.labs


def test_unknown_name_has_no_card():
    assert algorithm_card("no_such_algorithm_anywhere") is None
    assert "mdp.solve" in known_subjects()


def test_cli_prints_the_card():
    from typer.testing import CliRunner

    from labs.cli import app

    out = CliRunner().invoke(app, ["list", "mdp.value_iteration"], terminal_width=200)
    assert out.exit_code == 0, out.output
    assert "quickstart" in out.output and "mdp/solvers/value_iteration.py" in out.output
    bad = CliRunner().invoke(app, ["list", "no_such_algorithm_anywhere"])
    assert bad.exit_code == 2 and "unknown lab, claim or algorithm" in bad.output
