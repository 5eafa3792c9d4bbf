"""The multitask_psr lab on a tiny configuration."""

import numpy as np
import pytest

from labs.base import get_lab, run_lab


def test_multitask_psr_tiny_run(tmp_path):
    kw = dict(tasks=(1, 3), episodes=(5, 20), n_emissions=8, n_transitions=2, horizon=2, runs=2)
    out = run_lab("multitask_psr", seeds=1, out=tmp_path, executor="serial", **kw)
    t = out.table
    d = tmp_path / "multitask_psr"
    for name in ("multitask_psr.csv", "multitask_psr.pdf", "multitask_psr.png", "provenance.json"):
        assert (d / name).is_file()
    assert len(t) == 2 * 2 * 2 * 2  # runs x N x n x learners
    assert (t["tv"] >= 0).all() and (t["tv"] <= 1).all()
    assert (t["subopt"] >= -1e-12).all()
    # one task: the joint class is the single-task class, the estimates coincide
    one = t[t["N"] == 1].pivot_table(index=["run", "n"], columns="learner", values="tv")
    np.testing.assert_array_equal(one["joint"].to_numpy(), one["per-task"].to_numpy())


def test_multitask_psr_config_errors():
    lab = get_lab("multitask_psr")
    with pytest.raises(ValueError, match="tasks"):
        lab.config(tasks=(0,))
    with pytest.raises(ValueError, match="episodes"):
        lab.config(episodes=())
