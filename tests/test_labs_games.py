"""The game labs: soccer (exact value, minimax-Q curves, exploitability) and game_scaling."""

from __future__ import annotations

import pytest

import labs
from labs.base import run_lab


def test_soccer_lab_tiny_run(tmp_path):
    out = run_lab("soccer", seeds=1, out=tmp_path, executor="serial", n_steps=4000, n_checkpoints=3)
    t = out.table
    d = tmp_path / "soccer"
    for name in ("soccer.csv", "soccer.pdf", "soccer.png", "provenance.json"):
        assert (d / name).is_file()
    # the regression value of docs/papers/foundations.md section 6 (conventions in marl.envs.soccer_v0)
    assert t["v_star_kickoff_A"].iloc[0] == pytest.approx(0.218484, abs=5e-7)
    exact = t[t["learner"] == "exact"]
    assert (exact["exploitability"] < 1e-8).all() and (exact["certified_error"] <= 1e-10).all()
    learned = t[t["learner"].isin(["MM", "MR", "IQ"])]
    assert set(learned["learner"]) == {"MM", "MR", "IQ"}
    assert (learned["exploitability"] > 1e-3).all()  # 4000 steps are far too few to be unexploitable
    assert sorted(t["step"].unique()) == [1000, 2000, 4000]


def test_soccer_lab_config_errors():
    lab = labs.get_lab("soccer")
    with pytest.raises(ValueError, match="unknown learner"):
        lab.config(learners=("XX",))
    with pytest.raises(ValueError, match="n_steps must be >= 10"):
        lab.config(n_steps=5)


def test_game_scaling_lab_tiny_run(tmp_path):
    out = run_lab(
        "game_scaling", seeds=1, out=tmp_path, executor="serial", sizes=(4, 12), n_actions=3, branching=3, repeats=1
    )
    t = out.table
    assert (tmp_path / "game_scaling" / "game_scaling.pdf").is_file()
    done = t[~t["skipped"].astype(bool)]
    assert {"shapley_batched", "shapley_lp", "hoffman_karp"} <= set(done["contender"])
    # every contender reaches the same certified values
    assert (done["max_diff"] < 2e-8).all() and (done["error_bound"] <= 1e-8).all()
    batched = done[done["contender"] == "shapley_batched"].set_index("S")["n_iter"]
    lp = done[done["contender"] == "shapley_lp"].set_index("S")["n_iter"]
    assert (batched == lp).all()


def test_game_scaling_config_errors():
    lab = labs.get_lab("game_scaling")
    with pytest.raises(ValueError, match="unknown contender"):
        lab.config(contenders=("cplex",))
    with pytest.raises(ValueError, match="gamma must lie"):
        lab.config(gamma=1.0)
