"""The policy_cliff lab on a tiny configuration."""

import numpy as np
import pytest

from labs.base import get_lab, run_lab


def test_policy_cliff_tiny_run(tmp_path):
    kw = dict(eps=(1e-6, 1e-2), taus=(0.1,), n_draws=3, pg_draws=1, pg_steps=20, w_grid=5, price_taus=3)
    out = run_lab("policy_cliff", seeds=1, out=tmp_path, executor="serial", **kw)
    t = out.table
    d = tmp_path / "policy_cliff"
    for name in ("policy_cliff.csv", "policy_cliff.pdf", "policy_cliff.png", "provenance.json"):
        assert (d / name).is_file()
    pe = t[t["kind"] == "perturb"]
    assert len(pe) == 2 * 3 * 2 + 2 * 2  # eps x draws x (argmax, soft) + eps x (PG same, PG fresh)
    soft = pe[pe["learner"] == "soft tau=0.1"]
    assert (soft["state_tv"] <= soft["bound"] + 1e-9).all()  # PC5 on every draw
    # the argmax cliff: at eps = 1e-6 a tie-break flip is a whole action (TV 1 at some state)
    assert (pe[(pe["learner"] == "argmax")]["state_tv"] == 1.0).all()
    pr = t[t["kind"] == "price"]
    assert (pr["loss"] <= pr["bound"] + 1e-9).all()
    sw = t[(t["kind"] == "sweep") & (t["learner"] == "argmax")].sort_values("w")
    assert np.isclose(float(sw["root_breaks"].iloc[0]), 1 / 1.2)


def test_policy_cliff_config_errors():
    lab = get_lab("policy_cliff")
    with pytest.raises(ValueError, match="taus"):
        lab.config(taus=(0.0,))
    with pytest.raises(ValueError, match="eps"):
        lab.config(eps=())
