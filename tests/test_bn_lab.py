"""Lab bn_coordination at a tiny budget: files, columns, and the edge's advantage on the climbing game."""

import numpy as np
import pytest

import labs
from labs.base import run_lab
from labs.bn_coordination import markov_game, summary


def test_bn_coordination_tiny_run(tmp_path):
    out = run_lab(
        "bn_coordination",
        seeds=1,
        out=tmp_path,
        executor="serial",
        n_init=200,
        steps=2000,
        n_markov_init=3,
        markov_steps=300,
    )
    d = tmp_path / "bn_coordination"
    for name in ("bn_coordination.csv", "bn_coordination.pdf", "bn_coordination.png", "provenance.json"):
        assert (d / name).is_file()
    t = out.table
    s = summary(t).set_index(["part", "game", "method"])
    assert len(t) == 2 * 4 * 200 + 2 * 3
    # the edge helps on both games (BN4 at a small budget)
    for game in ("climbing", "penalty"):
        assert s.loc[("matrix", game, "edge"), "success_rate"] > s.loc[("matrix", game, "independent"), "success_rate"]
    m = t[t.part == "matrix"]
    assert (m["nash_gap"] >= -1e-12).all() and (m.loc[m.method == "edge", "edge_probability"] == 1).all()
    assert np.isfinite(t["value"]).all()


def test_markov_game_and_config_errors():
    g = markov_game()
    assert g.n_states == 2 and g.n_actions == (3, 3) and g.gamma == 0.5
    np.testing.assert_allclose(g.dense_joint_P().sum(axis=2), 1.0)
    lab = labs.get_lab("bn_coordination")
    with pytest.raises(ValueError, match="unknown method"):
        lab.config(methods=("edge", "magic"))
    with pytest.raises(ValueError, match="games must be drawn"):
        lab.config(games=("chicken",))
