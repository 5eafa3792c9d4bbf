"""Lab spgg at a tiny budget: files, columns, free riding vs full effort, and the region brackets."""

import numpy as np
import pytest

import labs
from labs.base import run_lab


def test_spgg_tiny_run(tmp_path):
    out = run_lab(
        "spgg",
        seeds=1,
        out=tmp_path,
        executor="serial",
        grids=(5,),
        n_updates=800,
        record_every=100,
        region_bonus=7,
        region_penalty=5,
    )
    d = tmp_path / "spgg"
    for name in ("spgg.csv", "spgg.pdf", "spgg.png", "provenance.json"):
        assert (d / name).is_file()
    t = out.table
    learn = t[t.part == "learning"]
    assert len(learn) == 2 * 8 * 3 and len(t[t.part == "region"]) == 35
    last = learn[learn["update"] == 800].groupby("payoff")["effort"].mean()
    assert last["classic"] < 0.2 and last["redesigned"] > 0.9
    reg = t[t.part == "region"]
    full, suff, nec = (reg[c].astype(bool) for c in ("full_effort", "sufficient", "necessary"))
    assert not (suff & ~full).any() and not (full & ~nec).any()
    assert np.isfinite(learn["effort"]).all()


def test_spgg_config_errors():
    lab = labs.get_lab("spgg")
    with pytest.raises(ValueError, match="grids"):
        lab.config(grids=())
    with pytest.raises(ValueError, match="batch"):
        lab.config(batch=1)
    with pytest.raises(ValueError, match="lr"):
        lab.config(lr=0.0)
    with pytest.raises(ValueError, match="region_bonus"):
        lab.config(region_bonus=0, region_penalty=3)
