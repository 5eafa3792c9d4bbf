"""The mamql_gems lab at a tiny configuration."""

from __future__ import annotations

import numpy as np
import pytest

import labs
from labs.base import run_lab


def test_mamql_gems_tiny_run(tmp_path):
    out = run_lab(
        "mamql_gems",
        seeds=1,
        out=tmp_path,
        executor="serial",
        n_demos=(5, 20),
        n_curve=20,
        airl_rounds=4,
        record_every=2,
        mamql_steps=(1, 5),
    )
    t = out.table
    for name in ("mamql_gems.csv", "mamql_gems.pdf", "mamql_gems.png"):
        assert (tmp_path / "mamql_gems" / name).is_file()
    size = t[t["panel"] == "size"]
    assert set(size["method"]) == {"MAMQL (chi2)", "MAMQL (linear)", "adversarial MA-IRL", "behaviour cloning"}
    assert sorted(size["n_demos"].unique()) == [5, 20]
    # returns are fractions of the experts' (the experts are soft-optimal, imitators approach from below)
    assert (size["return"] > 0.3).all() and (size["return"] < 1.2).all()
    assert size[size["method"] == "behaviour cloning"]["reward_corr"].isna().all()
    assert np.isfinite(size[size["method"] != "behaviour cloning"]["reward_corr"]).all()
    airl = t[(t["panel"] == "steps") & (t["method"] == "adversarial MA-IRL")]
    assert sorted(airl["steps"]) == [2, 4]


def test_mamql_gems_config_errors():
    lab = labs.get_lab("mamql_gems")
    with pytest.raises(ValueError, match="n_demos"):
        lab.config(n_demos=())
    with pytest.raises(ValueError, match="lam"):
        lab.config(lam=0.0)


def test_mamql_gems_deep_tiny_run(tmp_path):
    pytest.importorskip("torch")
    out = run_lab(
        "mamql_gems_deep",
        seeds=1,
        out=tmp_path,
        executor="serial",
        n_episodes=(3,),
        max_cycles=5,
        steps=5,
        hidden=(8,),
        batch_size=16,
    )
    t = out.table
    assert (tmp_path / "mamql_gems_deep" / "mamql_gems_deep.png").is_file()
    assert set(t["method"]) == {"deep MAMQL (MLP, chi2)", "behaviour cloning"}
    deep = t[t["method"] == "deep MAMQL (MLP, chi2)"]
    assert np.isfinite(deep["reward_corr"]).all() and np.isfinite(deep["final_loss"]).all()
    with pytest.raises(ValueError, match="steps"):
        labs.get_lab("mamql_gems_deep").config(steps=0)
