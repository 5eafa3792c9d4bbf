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
        gamma=0.9,
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


def test_hecrl_entities_tiny_run(tmp_path):
    kw = dict(
        n_blocks=(2, 3),
        track_length=7,
        n_trajectories=100,
        length=20,
        n_value_samples=20_000,
        n_eval=5,
        d_min=3,
        d_max=8,
        max_steps=40,
        k=4,
        radius_steps=4,
        n_candidates=16,
    )
    out = run_lab("hecrl_entities", seeds=1, out=tmp_path, executor="serial", **kw)
    t = out.table
    assert (tmp_path / "hecrl_entities" / "hecrl_entities.png").is_file()
    ep = t[t["kind"] == "episode"]
    assert set(ep["agent"]) == {"flat", "HIQL-like", "joint sampler", "factored sampler"}
    assert len(ep) == 2 * 5 * 4 and ((ep["d0"] >= 3) & (ep["d0"] <= 8)).all()
    md = t[t["kind"] == "model"]
    assert ((md["joint_context_fraction"] > 0) & (md["joint_context_fraction"] <= 1)).all()


def test_hecrl_entities_config_errors():
    lab = get_lab("hecrl_entities")
    with pytest.raises(ValueError, match="n_blocks"):
        lab.config(n_blocks=(7,), track_length=7)
    with pytest.raises(ValueError, match="d_min"):
        lab.config(d_min=5, d_max=4)


def test_vsc_doorways_tiny_run(tmp_path):
    out = run_lab("vsc_doorways", seeds=1, out=tmp_path, executor="serial", episodes=3, iterations=3)
    t = out.table
    assert (tmp_path / "vsc_doorways" / "vsc_doorways.png").is_file()
    assert set(t["arm"]) == {"VSC-RL", "VSC-RL without KL", "VSC-RL without subgoals", "goal-conditioned AWR"}
    assert ((t["success"] >= 0) & (t["success"] <= 1)).all()
    # environment steps grow with the iterations and never exceed horizon x episodes per iteration
    for _, sub in t.groupby("arm"):
        steps = sub.sort_values("iteration")["env_steps"].to_numpy()
        assert np.all(np.diff(steps) > 0) and steps[-1] <= 3 * 3 * 80


def test_vsc_doorways_config_errors():
    lab = get_lab("vsc_doorways")
    with pytest.raises(ValueError, match="eps"):
        lab.config(eps=1.5)
