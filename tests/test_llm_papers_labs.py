"""The labs g2rpo_flow, sapo_swarm and graph_grpo_topology on tiny configurations."""

import numpy as np
import pytest

pytest.importorskip("torch")

import labs.g2rpo_flow  # noqa: E402,F401  (registers the labs)
import labs.graph_grpo_topology  # noqa: E402,F401
import labs.sapo_swarm  # noqa: E402,F401
from labs.base import run_lab  # noqa: E402


def _files(tmp_path, name):
    d = tmp_path / name
    for f in (f"{name}.csv", f"{name}.pdf", f"{name}.png", "provenance.json"):
        assert (d / f).is_file(), f


def test_g2rpo_flow_tiny(tmp_path):
    out = run_lab(
        "g2rpo_flow",
        seeds=1,
        out=tmp_path,
        executor="serial",
        n_steps=4,
        credit_outer=4,
        credit_inner=2,
        grad_groups=3,
        group_size=3,
        n_groups=1,
        n_iter=2,
        n_eval=8,
    )
    _files(tmp_path, "g2rpo_flow")
    t = out.table
    credit = t[(t["panel"] == "credit") & (t["scheme"] == "singular")]
    np.testing.assert_allclose(credit["value"], 1.0, atol=1e-12)  # Var(r | eps_k) = 0 under singular sampling
    train = t[t["panel"] == "train"]
    assert set(train["scheme"]) == set(labs.g2rpo_flow.ARMS) and train["step"].max() == 2
    assert train[train["step"] == 0]["value"].nunique() == 1  # the arms start from the same evaluation noises
    w = t[t["panel"] == "weights"].groupby("scheme")["value"].sum()
    np.testing.assert_allclose(w, 1.0)
    with pytest.raises(ValueError, match="n_steps"):
        labs.g2rpo_flow.G2rpoFlowConfig(n_steps=1)


def test_sapo_swarm_tiny(tmp_path):
    out = run_lab(
        "sapo_swarm",
        seeds=1,
        out=tmp_path,
        executor="serial",
        n_nodes=2,
        n_families=3,
        questions_per_family=3,
        n_rounds=3,
    )
    _files(tmp_path, "sapo_swarm")
    t = out.table
    assert set(t["arm"]) == set(labs.sapo_swarm.ARMS)
    start = t[t["round"] == 0]["expected_reward"]
    assert start.nunique() == 1  # every arm starts from the same swarm
    silo = t[t["arm"] == "8/0 (silo)"]
    assert (silo["n_external"] == 0).all()
    with pytest.raises(ValueError, match="silo"):
        labs.sapo_swarm.SapoSwarmConfig(arms=("4/4",))
    with pytest.raises(ValueError, match="8 questions"):
        labs.sapo_swarm.SapoSwarmConfig(n_families=1, questions_per_family=2)


def test_graph_grpo_topology_tiny(tmp_path):
    out = run_lab(
        "graph_grpo_topology",
        seeds=1,
        out=tmp_path,
        executor="serial",
        credit_groups=50,
        variance_groups=50,
        variance_sizes=(2, 4),
        n_iter=3,
        n_eval=50,
        auc_every=1,
    )
    _files(tmp_path, "graph_grpo_topology")
    t = out.table
    assert t[t["panel"] == "credit"]["critical"].astype(bool).sum() == 1
    auc = t[(t["panel"] == "auc") & (t["x"] == 0)]["value"]
    np.testing.assert_allclose(auc, 0.5)  # all edges at p = 1/2: ties count half
    assert set(t[t["panel"] == "gradvar"]["x"]) == {2, 4}
    with pytest.raises(ValueError, match="group sizes"):
        labs.graph_grpo_topology.GraphGrpoConfig(group_size=1)


def test_sapo_swarm_on_dask_matches_in_process(tmp_path):
    pytest.importorskip("distributed")
    kw = dict(n_nodes=2, n_families=3, questions_per_family=3, n_rounds=2, arms=("8/0 (silo)", "4/4"))
    a = run_lab("sapo_swarm", seeds=1, out=tmp_path / "a", executor="serial", **kw).table
    b = run_lab("sapo_swarm", seeds=1, out=tmp_path / "b", executor="serial", dask_workers=2, **kw).table
    np.testing.assert_array_equal(a["expected_reward"].to_numpy(), b["expected_reward"].to_numpy())
