"""Lab bisim_compression (tiny run through labs.base.run_lab) and the bisimulation claims B1-B8, AGG."""

import numpy as np
import pytest

import labs.bisim_compression  # noqa: F401  (registers the lab until the lead adds it to _load_builtin_labs)
import theory_checks.bisimulation as TB  # registers B1, B2, AGG, B4-B8
from labs.base import run_lab
from theory_checks import assert_claim, get_claim

BISIM_IDS = ["B1", "B2", "AGG", "B4", "B5", "B6", "B7", "B8"]


def test_bisim_compression_tiny_run(tmp_path):
    out = run_lab(
        "bisim_compression", seeds=1, out=tmp_path, executor="serial", grid_sides=(4, 8), dense_sizes=(8, 16), repeats=1
    )
    t = out.table
    d = tmp_path / "bisim_compression"
    for name in ("bisim_compression.csv", "bisim_compression.pdf", "bisim_compression.png", "provenance.json"):
        assert (d / name).is_file()
    assert set(t["family"]) == {"stripe", "planted", "corner", "random"}
    stripe = t[t["family"] == "stripe"].sort_values("S")
    assert stripe["n_blocks"].tolist() == [4, 8]  # one block per row
    planted = t[t["family"] == "planted"]
    assert np.all(planted["n_blocks"] == planted["S"] // 4)
    for fam in ("corner", "random"):
        sub = t[t["family"] == fam]
        assert np.all(sub["n_blocks"] == sub["S"])  # no compression
    assert t["value_error"].max() < 1e-6
    assert np.all(t["t_pipeline"] > 0) and np.all(t["speedup"] > 0)


def test_bisim_compression_config_validation():
    with pytest.raises(ValueError, match=r"unknown family \['torus'\]"):
        run_lab("bisim_compression", seeds=1, out="/nonexistent", executor="serial", families=("torus",))
    with pytest.raises(ValueError, match=r"gamma must lie in \(0, 1\)"):
        labs.bisim_compression.BisimCompressionConfig(gamma=1.0)


@pytest.mark.parametrize("claim_id", BISIM_IDS)
def test_bisimulation_claims_hold_on_random_instances(claim_id):
    results = assert_claim(claim_id, rng=np.random.default_rng(11), n=6)
    assert all(0.0 <= r.tightness <= 1.0 + 1e-9 for r in results)
    c = get_claim(claim_id)
    assert c.statement and c.source and c is get_claim(c.name)


def test_b4_fails_with_a_faster_claimed_rate():
    rng = np.random.default_rng(0)
    import mdp

    m = mdp.generators.random_mdp(5, 2, rng=rng, gamma=0.9)
    assert TB.check_b4(m, rng).holds
    assert not TB.check_b4(m, rng, c_T=0.2).holds


def test_b2_fails_against_a_wrong_planted_partition():
    rng = np.random.default_rng(1)
    m, classes, n = TB.sample_planted(rng)
    assert TB.check_b2((m, classes, n), rng).holds
    assert not TB.check_b2((m, np.arange(m.n_states), m.n_states), rng).holds or m.n_states == n


def test_agg_fails_when_the_bound_is_dropped(monkeypatch):
    import dataclasses

    import mdp.abstraction.partition as B

    real = B.approximate_aggregation

    def tiny_bound(*args, **kwargs):
        return dataclasses.replace(real(*args, **kwargs), value_bound=1e-15, policy_bound=1e-15)

    monkeypatch.setattr(TB, "approximate_aggregation", tiny_bound)
    rng = np.random.default_rng(2)
    inst = TB.sample_noisy(rng)
    assert not TB.check_agg(inst, rng).holds
