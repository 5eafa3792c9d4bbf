"""Lab mean_field_swarm at a tiny budget: files, columns, mean-field rules beat independent learners."""

import numpy as np
import pytest

import labs
from labs.base import run_lab
from labs.mean_field_swarm import slope_fit


def test_mean_field_swarm_tiny_run(tmp_path):
    out = run_lab(
        "mean_field_swarm",
        seeds=1,
        out=tmp_path,
        executor="serial",
        sizes=(20, 500),
        episodes=20,
        ol_steps=150,
        n_learners=10,
        reinforce_updates=30,
    )
    d = tmp_path / "mean_field_swarm"
    for name in ("mean_field_swarm.csv", "mean_field_swarm.pdf", "mean_field_swarm.png", "provenance.json"):
        assert (d / name).is_file()
    t = out.table
    ev = t[t.part == "evaluation"]
    assert len(ev) == 3 * 2 * 20 and len(t[t.part == "training"]) == 30
    big = ev[ev.N == 500].groupby("method")["return"].mean()
    assert big["mean-field"] > big["independent"]
    assert slope_fit(t)[0] < 0
    assert np.isfinite(ev["return"]).all()


def test_config_errors():
    lab = labs.get_lab("mean_field_swarm")
    with pytest.raises(ValueError, match="sizes"):
        lab.config(sizes=())
    with pytest.raises(ValueError, match="reinforce_batch"):
        lab.config(reinforce_batch=1)
    with pytest.raises(ValueError, match="lr"):
        lab.config(ol_lr=0.0)
