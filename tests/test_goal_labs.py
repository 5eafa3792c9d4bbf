"""The goal-conditioned labs on tiny configurations."""

import numpy as np
import pytest

from labs.base import get_lab, run_lab


def test_ota_horizon_tiny_run(tmp_path):
    kw = dict(
        maze_size=15,
        n_trajectories=60,
        length=120,
        n_goals=2,
        n_windows=3000,
        distances=(10, 30),
        starts_per_goal=2,
        n_triples=3000,
        k=5,
        n_option=5,
        tol=1e-3,
        bin_width=10,
    )
    out = run_lab("ota_horizon", seeds=1, out=tmp_path, executor="serial", **kw)
    t = out.table
    for name in ("ota_horizon.csv", "ota_horizon.pdf", "ota_horizon.png", "provenance.json"):
        assert (tmp_path / "ota_horizon" / name).is_file()
    sg = t[t["kind"] == "sign"]
    assert ((sg["accuracy"] >= 0) & (sg["accuracy"] <= 1)).all()
    # closed-form HIQL values without noise are always sign-correct (exact shortest-path values)
    cf = sg[(sg["source"] == "closed form") & (sg["method"] == "HIQL (n = 1)") & (~sg["noisy"].astype(bool))]
    assert np.allclose(cf["accuracy"], 1.0)
    assert set(t[t["kind"] == "success"]["target"]) <= {10, 30}


def test_ota_horizon_config_errors():
    lab = get_lab("ota_horizon")
    with pytest.raises(ValueError, match="expectile"):
        lab.config(expectile=1.0)
    with pytest.raises(ValueError, match="maze_size"):
        lab.config(maze_size=10)
