"""The subrl_coverage lab on a tiny configuration."""

import pytest

from labs.base import get_lab, run_lab


def test_subrl_coverage_tiny_run(tmp_path):
    out = run_lab(
        "subrl_coverage",
        seeds=1,
        out=tmp_path,
        executor="serial",
        side=4,
        horizon=5,
        n_epochs=3,
        batch=16,
        objectives=("coverage",),
    )
    t = out.table
    d = tmp_path / "subrl_coverage"
    for name in ("subrl_coverage.csv", "subrl_coverage.pdf", "subrl_coverage.png", "provenance.json"):
        assert (d / name).is_file()
    assert len(t) == 3 * 3 + 2  # three learners x epochs + oracle + random
    assert ((t["value"] > 0) & (t["value"] <= 1.0)).all()


def test_subrl_coverage_config_errors():
    lab = get_lab("subrl_coverage")
    with pytest.raises(ValueError, match="objectives"):
        lab.config(objectives=("area",))
    with pytest.raises(ValueError, match="lr"):
        lab.config(lr=0.0)
