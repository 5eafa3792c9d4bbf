"""The ``rlab`` command line through typer's CliRunner."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from labs import list_labs as labs_list
from labs.cli import app
from theory_checks import Claim, inequality, list_claims, register, unregister

runner = CliRunner()

TINY = [
    "--set",
    "n_states=6",
    "--set",
    "n_actions=2",
    "--set",
    "gammas=0.5,0.9",
    "--set",
    "grid_side=3",
    "--set",
    "n_iter=20",
]


def _sample(rng):
    return float(rng.random())


def _boom(x, rng):
    raise RuntimeError("kaboom")


# Deliberate toy claims, registered for this module only (other test modules see the real registry).
TOY_CLAIMS = [
    Claim(
        id="TOY-TRUE",
        name="toy-true",
        statement=r"$x \le 1$",
        source="test",
        constant="none",
        tolerance=0.0,
        sample=_sample,
        evaluate=lambda x, rng: inequality("TOY-TRUE", x, 1.0),
        default_instances=3,
    ),
    Claim(
        id="TOY-FALSE",
        name="toy-false",
        statement=r"$x + 1 \le 1$ (deliberately false)",
        source="test",
        constant="none",
        tolerance=0.0,
        sample=_sample,
        evaluate=lambda x, rng: inequality("TOY-FALSE", x + 1.0, 1.0),
        default_instances=3,
    ),
    Claim(
        id="TOY-CRASH",
        name="toy-crash",
        statement="-",
        source="test",
        constant="none",
        tolerance=0.0,
        sample=_sample,
        evaluate=_boom,
        default_instances=1,
    ),
]


@pytest.fixture(autouse=True, scope="module")
def toy_claims():
    for c in TOY_CLAIMS:
        register(c)
    yield
    for c in TOY_CLAIMS:
        unregister(c.id)


def _builtin_ids():
    return [c.id for c in list_claims() if not c.id.startswith("TOY")]


def test_list_shows_labs_and_claims():
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0, res.output
    assert "quickstart" in res.output and "solver_scaling" in res.output
    assert "F1" in res.output and "TOY-FALSE" in res.output
    # one line per lab and per claim (plus headings), none wider than the terminal
    lines = res.output.splitlines()
    assert len(lines) == 3 + len(labs_list()) + len(list_claims())
    assert max(len(x) for x in lines) <= 80


def test_list_details_and_unknown_names():
    res = runner.invoke(app, ["list", "quickstart", "f3"], terminal_width=100)
    assert res.exit_code == 0, res.output
    assert "n_iter" in res.output and "3000" in res.output  # a config field and its default
    assert "F3 vi-stopping-rule" in res.output and "Thm 6.3.1" in res.output and "statement:" in res.output
    assert "soccer" not in res.output
    res = runner.invoke(app, ["list", "quickstart", "nope", "F99"])
    assert res.exit_code == 2
    out = " ".join(res.output.split())
    assert "unknown lab, claim or algorithm nope, F99" in out and "quickstart" in out and "claims: F1, F2" in out
    assert "(did you mean 'F9'" in out  # the closest ids, before the full lists
    res = runner.invoke(app, ["list", "quickstrat", "mdp.solv"])
    out = " ".join(res.output.split())
    assert res.exit_code == 2 and "(did you mean 'quickstart'?)" in out and "(did you mean 'mdp.solve'" in out
    res = runner.invoke(app, ["list", "QuickStart"])  # names are case-insensitive, like claim ids
    assert res.exit_code == 0 and "n_iter" in res.output
    res = runner.invoke(app, ["list", "--long"])
    assert res.exit_code == 0 and "decay" in res.output and "Kakade & Langford" in res.output


def test_run_quickstart_with_overrides(tmp_path):
    res = runner.invoke(
        app, ["run", "quickstart", "--seeds", "2", "--out", str(tmp_path), "--executor", "serial", *TINY]
    )
    assert res.exit_code == 0, res.output
    d = tmp_path / "quickstart"
    for name in ("quickstart.csv", "quickstart.pdf", "quickstart.png", "provenance.json"):
        assert (d / name).is_file()
    assert "quickstart.pdf" in res.output and "2 computed" in res.output
    prov = json.loads((d / "provenance.json").read_text())
    assert prov["config"]["gammas"] == [0.5, 0.9] and prov["config"]["n_iter"] == 20
    # second run: everything from the cache
    res = runner.invoke(app, ["run", "quickstart", "-n", "2", "-o", str(tmp_path), "-e", "serial", *TINY])
    assert res.exit_code == 0 and "2 from cache" in res.output


def test_run_rejects_bad_input(tmp_path):
    res = runner.invoke(app, ["run", "no-such-lab", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "unknown lab" in res.output
    res = runner.invoke(app, ["run", "quickstrat", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "unknown lab 'quickstrat' (did you mean 'quickstart'?)" in res.output
    res = runner.invoke(app, ["run", "quickstart", "--out", str(tmp_path), "--set", "bogus=1"])
    assert res.exit_code == 2 and "unknown config field" in res.output
    res = runner.invoke(app, ["run", "quickstart", "--out", str(tmp_path), "--set", "n_itr=5"])
    assert res.exit_code == 2 and "n_itr (did you mean 'n_iter'?)" in " ".join(res.output.split())
    res = runner.invoke(app, ["run", "quickstart", "--out", str(tmp_path), "--set", "n_iter"])
    assert res.exit_code == 2 and "key=value" in res.output


def test_check_passing_claims_exit_zero(tmp_path):
    ids = ["TOY-TRUE"] + _builtin_ids()[:3]
    res = runner.invoke(app, ["check", *ids, "--instances", "2", "--seed", "3", "--out", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert "holds" in res.output and "TOY-TRUE" in res.output
    report = json.loads((tmp_path / "rep.json").read_text())
    assert report["all_hold"] and [c["id"] for c in report["claims"]] == ids
    assert all(c["instances"] == 2 for c in report["claims"])
    md = (tmp_path / "rep.md").read_text()
    assert "| TOY-TRUE |" in md and r"$x \le 1$" in md


def test_check_same_seed_same_result():
    from labs.cli import check_claims

    a = check_claims(["TOY-TRUE"], instances=3, seed=7)
    b = check_claims(["TOY-FALSE", "TOY-TRUE"], instances=3, seed=7)
    assert a[0]["results"] == b[1]["results"]  # a claim's draws do not depend on the others checked


def test_check_failing_claim_exits_nonzero(tmp_path):
    res = runner.invoke(app, ["check", "TOY-TRUE", "TOY-FALSE", "--out", str(tmp_path / "r.md")])
    assert res.exit_code == 1, res.output
    assert "FAILS" in res.output and "1 of 2 claims fail" in res.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert not report["all_hold"] and report["n_failing"] == 1
    assert "**FAILS**" in (tmp_path / "r.md").read_text()


def test_check_unknown_claim():
    res = runner.invoke(app, ["check", "F999"])
    assert res.exit_code == 2 and "unknown claim" in res.output
    res = runner.invoke(app, ["check", "f33"])
    assert res.exit_code == 2 and "unknown claim 'f33' (did you mean 'F3' or 'F13'?)" in " ".join(res.output.split())


def test_claim_and_lab_names_are_case_insensitive_everywhere():
    """`rlab list f3` always worked; `rlab check f3`, `assert_claim("f3", m)` and `rlab run QuickStart`
    refused the same names."""
    from labs import get_lab
    from theory_checks import get_claim

    assert get_claim("f3").id == "F3" and get_claim("VI-Stopping-Rule").id == "F3"
    assert get_lab("QuickStart").name == "quickstart"
    res = runner.invoke(app, ["check", "f11", "-n", "1"])
    assert res.exit_code == 0 and "F11" in res.output


def test_check_reports_a_crashing_claim_as_error():
    res = runner.invoke(app, ["check", "TOY-CRASH"])
    assert res.exit_code == 1 and "ERROR" in res.output and "kaboom" in res.output


@pytest.mark.slow
def test_demo_writes_claims_report(tmp_path, monkeypatch):
    # the toy claims are registered in this process; hide them so the demo checks the real ones
    import theory_checks.core as core

    real = {k: v for k, v in core._REGISTRY.items() if not k.startswith("TOY")}
    monkeypatch.setattr(core, "_REGISTRY", real)
    res = runner.invoke(app, ["demo", "--out", str(tmp_path), "--instances", "1"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "quickstart" / "quickstart.pdf").is_file()
    report = json.loads((tmp_path / "claims_report.json").read_text())
    assert report["all_hold"] and report["n_claims"] == len(real) >= 13
    md = (tmp_path / "claims_report.md").read_text()
    assert md.startswith("# rlab claims report") and "| F1 |" in md
    assert np.isfinite([c["worst_tightness"] for c in report["claims"]]).all()


def test_version_and_clean_errors_for_bad_options(tmp_path, monkeypatch):
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.startswith("rlab ")
    out = tmp_path / "o"
    cases = {
        ("--workers", "0"): "max_workers (--workers) must be >= 1",
        ("--set", "gammas=[0.9"): "config field gammas",
        ("--set", "n_iter=abc"): "config field n_iter",
        ("--executor", "slurm", "--address", "tcp://x:1"): "address= is only meaningful",
    }
    for extra, message in cases.items():
        r = runner.invoke(app, ["run", "quickstart", "--out", str(out), *TINY, *extra])
        assert r.exit_code == 2, (extra, r.output)
        assert message in " ".join(r.output.split()), (extra, r.output)
        assert "Traceback" not in r.output
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    r = runner.invoke(app, ["run", "quickstart", "--out", str(not_a_dir), *TINY])
    assert r.exit_code == 2 and "is not a folder" in r.output
    # an install hint in brackets survives (rich would read "[cluster]" as markup)
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    r = runner.invoke(app, ["run", "quickstart", "--out", str(out), "--executor", "dask", "--force", *TINY])
    assert r.exit_code == 2 and "rlab[cluster]" in r.output


def test_bad_executor_is_rejected_even_when_every_seed_is_cached(tmp_path):
    out = tmp_path / "o"
    assert runner.invoke(app, ["run", "quickstart", "--seeds", "1", "--out", str(out), *TINY]).exit_code == 0
    r = runner.invoke(app, ["run", "quickstart", "--seeds", "1", "--out", str(out), "--executor", "foo", *TINY])
    assert r.exit_code == 2 and "executor must be one of" in r.output


def test_slurm_without_sbatch_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("dask_jobqueue")
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch here
    r = runner.invoke(
        app,
        ["run", "quickstart", "--seeds", "1", "--out", str(tmp_path / "o"), "--executor", "slurm", "--force", *TINY],
    )
    assert r.exit_code == 2 and "sbatch" in r.output and "Traceback" not in r.output
