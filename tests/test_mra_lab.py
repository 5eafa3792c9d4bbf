"""Lab mra_populations at a tiny budget: files, columns, latent modes beat the single policy."""

import numpy as np
import pytest

import labs
from labs.base import run_lab


def test_mra_tiny_run(tmp_path):
    out = run_lab(
        "mra_populations",
        seeds=1,
        out=tmp_path,
        executor="serial",
        ks=(1, 4),
        steps=600,
        n_random=3,
        curve_steps=8,
        markov_ns=(5, 9),
        markov_episodes=200,
    )
    d = tmp_path / "mra_populations"
    for name in ("mra_populations.csv", "mra_populations.pdf", "mra_populations.png", "provenance.json"):
        assert (d / name).is_file()
    t = out.table
    ho = t[t.part == "held_out"]
    worst = ho.groupby(["method", "K"])["zero_shot"].max()
    assert worst[("learned modes", 4)] < worst[("single (minimax)", 1)]
    assert (ho["few_shot"] <= ho["zero_shot"] + 1e-12).all()
    assert len(t[t.part == "curve"]) == 4 * 4 * 9
    assert np.isfinite(ho["zero_shot"]).all()
    mk = t[t.part == "markov"]
    assert len(mk) == 2 * 11 and (mk["zero_shot"] >= 0).all()


def test_config_errors():
    lab = labs.get_lab("mra_populations")
    with pytest.raises(ValueError, match="larger than the capacity"):
        lab.config(train=(2, 3))
    with pytest.raises(ValueError, match="ks"):
        lab.config(ks=(0,))
    with pytest.raises(ValueError, match="outside"):
        lab.config(outside=1.5)
