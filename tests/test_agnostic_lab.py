"""The agnostic_scaling lab on a tiny configuration."""

import numpy as np
import pytest

from labs.base import get_lab, run_lab


def test_agnostic_scaling_tiny_run(tmp_path):
    kw = dict(
        sizes=(20, 200), horizon=3, n_actions=2, n_policies=5, eps=0.3, delta=0.2, runs=2, mu_grid=4, capacity_nodes=50
    )
    out = run_lab("agnostic_scaling", seeds=1, out=tmp_path, executor="serial", **kw)
    t = out.table
    d = tmp_path / "agnostic_scaling"
    for name in ("agnostic_scaling.csv", "agnostic_scaling.pdf", "agnostic_scaling.png", "provenance.json"):
        assert (d / name).is_file()
    sc = t[t["kind"] == "scaling"]
    assert len(sc) == 2 * 2 * 2  # sizes x runs x learners
    assert (sc["subopt"] >= -1e-12).all()
    tt = sc[sc["learner"] == "trajectory tree"]
    assert (tt["q_max"] <= tt["sum_C_upper"]).all() and (tt["sum_C_upper"] <= tt["H_C_upper"]).all()
    ps = t[t["kind"] == "psdp"]
    inc = ps[ps["complete"] == False]  # noqa: E712
    # below mu_x = 2/3 the incomplete class gives 0.5, the completed one 1
    assert np.allclose(inc[inc["mu_x"] < 2 / 3]["value"], 0.5)
    assert np.allclose(ps[ps["complete"] == True]["value"], 1.0)  # noqa: E712


def test_agnostic_scaling_config_errors():
    lab = get_lab("agnostic_scaling")
    with pytest.raises(ValueError, match="eps and delta"):
        lab.config(eps=1.5)
    with pytest.raises(ValueError, match="sizes"):
        lab.config(sizes=(0,))
