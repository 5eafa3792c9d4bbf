"""The edge_of_reach lab on a tiny configuration."""

import numpy as np
import pytest

from labs.base import get_lab, run_lab


def test_edge_of_reach_tiny_run(tmp_path):
    kw = dict(
        side=6,
        n_episodes=20,
        horizon=4,
        ks=(1, -1),
        n_rounds=3,
        n_updates=40,
        n_rollouts=20,
        n_critics=3,
        ensemble_sizes=(1, 3),
        ensemble_k=1,
    )
    out = run_lab("edge_of_reach", seeds=1, out=tmp_path, executor="serial", **kw)
    t = out.table
    d = tmp_path / "edge_of_reach"
    for name in ("edge_of_reach.csv", "edge_of_reach.pdf", "edge_of_reach.png", "provenance.json"):
        assert (d / name).is_file()
    rn = t[t["kind"] == "run"]
    assert len(rn) == 2 * 3 * 3  # ks x agents x rounds
    # MOPO with the true model is the plain critic bit for bit (penalty 0, same seed)
    q = rn[rn["agent"] == "Q (one critic)"].reset_index(drop=True)
    mo = rn[rn["agent"] == "MOPO (true model)"].reset_index(drop=True)
    np.testing.assert_array_equal(q["overestimation"], mo["overestimation"])
    full = rn[rn["k"] == -1]
    assert (full["edge_size"] == 0).all()  # E5: full rollouts leave no edge
    assert (rn["true_return"] <= rn["v_star"] + 1e-9).all()
    ens = t[t["kind"] == "ensemble"]
    assert np.allclose(ens[ens["N"] == 1]["exact"], 0.0)


def test_edge_of_reach_config_errors():
    lab = get_lab("edge_of_reach")
    with pytest.raises(ValueError, match="ks"):
        lab.config(ks=(0,))
    with pytest.raises(ValueError, match="side"):
        lab.config(side=2)
