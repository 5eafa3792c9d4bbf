"""The grouping_tradeoff lab on a tiny configuration (explicit import until the lead registers it)."""

import numpy as np
import pytest

import labs.grouping_tradeoff  # noqa: F401  (registers the lab)
from labs.base import get_lab, run_lab


def test_grouping_tradeoff_tiny_run(tmp_path):
    out = run_lab(
        "grouping_tradeoff",
        seeds=2,
        out=tmp_path,
        executor="serial",
        budgets=(200, 20_000),
        n_groups=(1, 2, 4, 8),
        sigmas=(0.2,),
        n_states=4,
        n_clusters=2,
        cluster_size=4,
        T=30,
        replicates=2,
    )
    t = out.table
    d = tmp_path / "grouping_tradeoff"
    for name in ("grouping_tradeoff.csv", "grouping_tradeoff.pdf", "grouping_tradeoff.png", "provenance.json"):
        assert (d / name).is_file()
    assert len(t) == 2 * 2 * 2 * 4  # seeds x replicates x budgets x G
    assert set(t["G"]) == {1, 2, 4, 8} and set(t["budget"]) == {200, 20_000}
    assert (t["N"] == t["budget"] // (4 * t["G"])).all()
    done = t.dropna(subset=["loss"])
    assert len(done) == len(t)
    # the AG5 bound holds run by run, and is the sum of its three terms
    assert (done["loss_sup"] <= done["bound"]).all() and (done["loss"] <= done["loss_sup"] + 1e-12).all()
    np.testing.assert_allclose(done["bound"], done["approximation"] + done["estimation"] + done["computation"])
    # eps and B(g) shrink towards the finest grouping; no grouping has zero approximation error
    assert (t[t["G"] == 8]["eps_P"] == 0).all() and (t[t["G"] == 8]["approximation"] == 0).all()
    # rerunning hits the cache
    again = run_lab(
        "grouping_tradeoff",
        seeds=2,
        out=tmp_path,
        executor="serial",
        budgets=(200, 20_000),
        n_groups=(1, 2, 4, 8),
        sigmas=(0.2,),
        n_states=4,
        n_clusters=2,
        cluster_size=4,
        T=30,
        replicates=2,
    )
    assert again.cached == [0, 1] and again.table.equals(t)


def test_grouping_tradeoff_budget_below_one_sample_per_pair_gives_nan_rows(tmp_path):
    out = run_lab(
        "grouping_tradeoff",
        seeds=1,
        out=tmp_path,
        executor="serial",
        budgets=(10,),
        n_groups=(1, 4),
        sigmas=(0.05,),
        n_states=4,
        n_clusters=2,
        cluster_size=2,
        T=5,
        replicates=1,
    )
    t = out.table.set_index("G")
    assert np.isfinite(t.loc[1, "loss"]) and np.isnan(t.loc[4, "loss"])


def test_grouping_tradeoff_config_errors():
    lab = get_lab("grouping_tradeoff")
    with pytest.raises(ValueError, match=r"n_groups must lie in \[1, A = 64\]"):
        lab.config(n_groups=(1, 128))
    with pytest.raises(ValueError, match="gamma must lie"):
        lab.config(gamma=1.0)
    with pytest.raises(ValueError, match="reward_noise must be"):
        lab.config(reward_noise="gaussian")
    with pytest.raises(ValueError, match="budgets must be positive"):
        lab.config(budgets=(0,))
    assert lab.config(budgets="2e3,2e5").budgets == (2000, 200000)
