"""Claims on a user's own instance: every claim declares what it accepts, and a wrong instance gets a
clear TypeError/ValueError naming what was expected (never an AttributeError from inside the check)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from typer.testing import CliRunner

import marl
import mdp
from labs.cli import app
from marl import generators as MG
from theory_checks import assert_claim, get_claim, list_claims
from theory_checks import instances as I

CLAIMS = list_claims()
IDS = [c.id for c in CLAIMS]

M = mdp.generators.random_mdp(4, 3, rng=np.random.default_rng(0), gamma=0.9)
GAME = MG.random_zero_sum_game(3, 2, 2, rng=np.random.default_rng(0), gamma=0.9)
#: objects a user might hand to the wrong claim
CANDIDATES = {
    "object": object(),
    "string": "F3",
    "model": M,
    "model pair": (M, M),
    "game": GAME,
    "empty dict": {},
    "matrix": np.eye(3),
    "int": 7,
}


def _resolve(name: str):
    """The object a dotted public name refers to (module prefix imported, then attributes)."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for p in parts[i:]:
            obj = getattr(obj, p)
        return obj
    raise ImportError(name)


@pytest.mark.parametrize("claim_id", IDS)
def test_claim_declares_subjects_instance_and_validator(claim_id):
    c = get_claim(claim_id)
    assert c.subjects and c.instance and callable(c.accepts)
    for name in c.subjects:
        assert _resolve(name) is not None, name
        assert not any(p.startswith("_") for p in name.split(".")), f"{name} is not a public name"


@pytest.mark.parametrize("claim_id", IDS)
def test_wrong_instance_raises_a_clear_error(claim_id):
    c = get_claim(claim_id)
    with pytest.raises((TypeError, ValueError)) as info:
        c.check(object())
    msg = str(info.value)
    assert msg.startswith(f"claim {c.id} ") and c.instance in msg
    for label, x in CANDIDATES.items():
        try:
            c.validate(x)
        except (TypeError, ValueError) as exc:
            assert str(exc).startswith(f"claim {c.id} "), (label, exc)
            assert c.instance in str(exc)


@pytest.mark.parametrize("claim_id", IDS)
def test_claim_accepts_its_own_samples(claim_id):
    c = get_claim(claim_id)
    if claim_id == "BQ4":  # fixed data: no instance to pass
        assert c.sample(np.random.default_rng(0)) is None
        return
    for seed in range(4):
        x = c.sample(np.random.default_rng(seed))
        if isinstance(x, np.random.Generator):  # AG6: the Generator itself is check()'s rng
            x = 12345
        c.validate(x)


def test_claims_that_take_a_plain_model_check_it():
    """A bare model is normalised to the claim's form (B1, B6: (m, ...); AG5: (m, 'none'))."""
    for cid in ("F1", "F3", "F5", "F6", "F7", "F11", "B1", "B4", "B5", "B6", "B7"):
        assert get_claim(cid).check(M).holds, cid
    assert get_claim("AG1").check((M, [0, 1, 1])).holds  # labels instead of an ActionGrouping
    assert get_claim("F10").check((M, M)).holds


def test_game_claims_take_a_bare_game():
    assert get_claim("G5").check(GAME).details["kind"] == "zero-sum"
    assert get_claim("G1").check(GAME).holds
    assert get_claim("MM").check(np.array([[0.0, 1.0], [1.0, 0.0]])).holds  # one matrix, not a batch


def test_theorem_premises_are_checked():
    with pytest.raises(ValueError, match="not player-symmetric"):
        get_claim("G3").check((GAME, np.arange(3), np.zeros((2, 2))))
    with pytest.raises(ValueError, match="same \\(S, A\\)"):
        get_claim("F8").check((M, mdp.generators.random_mdp(5, 3, rng=np.random.default_rng(1), gamma=0.9)))
    with pytest.raises(ValueError, match="same gamma"):
        get_claim("F9").check((M, M.with_gamma(0.5)))
    with pytest.raises(ValueError, match="P \\+ P\\^T = 1"):
        get_claim("L7").check(np.full((3, 3), 0.3))
    with pytest.raises(ValueError, match="classes must have shape"):
        get_claim("B2").check((M, [0, 1]))
    with pytest.raises(ValueError, match="at least 2 rows"):
        get_claim("L1").check({"rewards": [1.0, 0.0, 1.0], "group_ids": [0, 0, 1]})
    with pytest.raises(ValueError, match="unknown settings"):
        get_claim("F13").check({"gamma": 0.9})


def test_sizes_whose_cost_explodes_are_refused_with_the_reason():
    big = mdp.generators.random_mdp(60, 2, rng=np.random.default_rng(0), gamma=0.9)
    with pytest.raises(ValueError, match="transport problems"):
        get_claim("B5").check(big)
    with pytest.raises(ValueError, match="brute force"):
        get_claim("BQ1").check(("tsp", np.ones((12, 12)) - np.eye(12)))


def test_bq4_takes_no_instance():
    with pytest.raises(TypeError, match="takes no instance"):
        get_claim("BQ4").check(M)


def test_assert_claim_rejects_n_with_an_instance():
    with pytest.raises(TypeError, match="n=3 counts random instances"):
        assert_claim("F3", M, n=3)
    with pytest.raises(ValueError, match="positive int"):
        assert_claim("F1", n=0)
    assert len(assert_claim("F1", n=2)) == 2
    assert len(assert_claim("F1", M)) == 1


def test_validators_report_the_kind_received():
    with pytest.raises(TypeError, match="got tuple of 2: \\(TabularMDP, TabularMDP\\)"):
        I.tabular_mdp((M, M))
    with pytest.raises(ValueError, match="missing \\['group_ids'\\]"):
        I.record(rewards=I.float_array(1), group_ids=I.int_array(1))({"rewards": [1.0]})
    with pytest.raises(TypeError, match="must hold integers"):
        I.int_array(1)([0.5, 1.0])


def test_rlab_list_shows_instance_and_subjects():
    res = CliRunner().invoke(app, ["list", "F3"], terminal_width=200)
    assert res.exit_code == 0, res.output
    out = " ".join(res.output.split())
    assert "instance: an mdp.TabularMDP" in out
    assert "checks: mdp.bellman_operator, mdp.policy_iteration" in out


def test_claim_check_rejects_a_model_of_another_package():
    """A marl game where a model is expected: the message names the expected kind."""
    with pytest.raises(TypeError, match="must be an mdp.TabularMDP, got MarkovGame"):
        get_claim("F1").check(GAME)
    assert isinstance(GAME, marl.MarkovGame)


def test_g4_refuses_games_outside_the_class_its_threshold_was_set_for():
    with pytest.raises(ValueError, match="gamma <= 0.5"):
        get_claim("G4").check(GAME)  # gamma = 0.9


def test_checks_run_pinned_to_one_thread_unless_asked_otherwise():
    import contextlib
    from unittest import mock

    import numba

    import mdp._threads
    from theory_checks import Claim, inequality

    seen, pins = [], []
    real = mdp._threads.pinned_threads

    @contextlib.contextmanager
    def spy(n, **kw):
        pins.append(n)
        with real(n, **kw) as info:
            yield info

    def evaluate(instance, rng):
        seen.append(numba.get_num_threads())
        return inequality("TOY", 0.0, 1.0)

    toy = Claim(
        id="TOY",
        name="toy",
        statement="0 <= 1",
        source="none",
        constant="none",
        tolerance=0.0,
        sample=lambda rng: None,
        evaluate=evaluate,
        subjects=("mdp.solve",),
        instance="anything",
    )
    before = numba.get_num_threads()
    with mock.patch.object(mdp._threads, "pinned_threads", spy):
        toy.check()
        toy.check(threads=None)
        assert_claim(toy, threads=2)
    assert pins == [1, 2]
    assert seen[:2] == [1, before] and numba.get_num_threads() == before


def test_claims_report_shows_instance_and_subjects(tmp_path):
    import json

    from labs.cli import check_claims, write_claims_report

    records = check_claims(["F1"], instances=1)
    paths = write_claims_report(records, tmp_path / "report", seed=0, instances=1)
    rec = json.loads(paths["json"].read_text())["claims"][0]
    assert rec["instance"] == get_claim("F1").instance and rec["subjects"] == ["mdp.bellman_operator"]
    md = paths["md"].read_text()
    assert "| checks | instance |" in md and "mdp.bellman_operator" in md
