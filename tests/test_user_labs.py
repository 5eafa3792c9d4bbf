"""`rlab run path/to/my_lab.py` and `rlab run package.module`: a user's own lab with the built-in conventions."""

from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from labs.cli import app
from labs.user import resolve_lab

runner = CliRunner()


@pytest.fixture(autouse=True)
def _isolated():
    """Leave sys.path, sys.modules and the lab registry as each test found them."""
    import sys

    import labs.base as base

    base._load_builtin_labs()  # registered before the snapshot: their modules are imported only once
    path, modules, registry = list(sys.path), set(sys.modules), dict(base._REGISTRY)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.startswith("user_lab_"):
            del sys.modules[name]
    base._REGISTRY.clear()
    base._REGISTRY.update(registry)


_LAB = textwrap.dedent("""
    from dataclasses import dataclass
    import mdp
    from labs import Lab, register_lab
    from labs.plotting import new_figure

    @dataclass(frozen=True)
    class Config:
        n_states: int = 6

    def run(config, rng):
        m = mdp.generators.random_mdp(config.n_states, 2, rng=rng, gamma=0.9)
        return [{"n_iter": mdp.value_iteration(m, tol=1e-6).n_iter, "v0": float(mdp.solve(m).v[0])}]

    def plot(table, config):
        fig, ax = new_figure(1)
        ax.plot(table["seed"], table["n_iter"], "o")
        ax.set_xlabel("seed")
        ax.set_ylabel("sweeps")
        return fig

    register_lab(Lab("{name}", Config, run, plot, description="a user lab"))
""")


def _write(folder, stem, names):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.py"
    path.write_text("\n".join(_LAB.replace("{name}", n) for n in names))
    return path


def test_run_a_lab_file_with_cache_provenance_and_figures(tmp_path):
    path = _write(tmp_path / "mine", "user_lab_file_a", ["user_file_a"])
    out = tmp_path / "out"
    # the local executor: spawned workers must import the file by name
    r = runner.invoke(
        app, ["run", str(path), "--seeds", "2", "--out", str(out), "--workers", "1", "--set", "n_states=5"]
    )
    assert r.exit_code == 0, r.output
    folder = out / "user_file_a"
    for f in ("user_file_a.csv", "user_file_a.pdf", "user_file_a.png", "provenance.json"):
        assert (folder / f).is_file(), f
    prov = json.loads((folder / "provenance.json").read_text())
    assert prov["config"]["n_states"] == 5 and prov["computed_seeds"] == [0, 1]
    assert len(list((folder / "cache").glob("seed*.json"))) == 2
    again = runner.invoke(
        app, ["run", str(path), "--seeds", "2", "--out", str(out), "--set", "n_states=5", "--executor", "serial"]
    )
    assert again.exit_code == 0 and "0 computed, 2 from cache" in " ".join(again.output.split())
    # editing the lab file changes its cache key: the seeds are recomputed
    path.write_text(path.read_text() + "\n# edited\n")
    third = runner.invoke(
        app, ["run", str(path), "--seeds", "2", "--out", str(out), "--set", "n_states=5", "--executor", "serial"]
    )
    assert third.exit_code == 0 and "2 computed, 0 from cache" in " ".join(third.output.split())


def test_module_name_and_picking_one_of_several(tmp_path, monkeypatch):
    _write(tmp_path / "pkg_dir", "user_lab_mod_b", ["user_mod_b1", "user_mod_b2"])
    monkeypatch.syspath_prepend(str(tmp_path / "pkg_dir"))
    with pytest.raises(ValueError, match=r"registers 2 labs \(user_mod_b1, user_mod_b2\); pick one with"):
        resolve_lab("user_lab_mod_b")
    assert resolve_lab("user_lab_mod_b:user_mod_b2").name == "user_mod_b2"
    with pytest.raises(ValueError, match="registers no lab named 'nope'"):
        resolve_lab("user_lab_mod_b:nope")
    r = runner.invoke(
        app, ["run", "user_lab_mod_b:user_mod_b1", "--seeds", "1", "--out", str(tmp_path / "o"), "--executor", "serial"]
    )
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "user_mod_b1" / "user_mod_b1.png").is_file()


def test_bad_targets(tmp_path):
    cases = {
        str(tmp_path / "missing.py"): "does not exist",
        "no_such_module.sub": "no lab, lab file or module named",
        "no-such-lab": "unknown lab",
    }
    (tmp_path / "notes.txt").write_text("x")
    cases[str(tmp_path / "notes.txt")] = "must be a Python file"
    (tmp_path / "random.py").write_text("x = 1\n")  # beside a lab file that is loaded: must shadow nothing
    cases[str(tmp_path / "random.py")] = "named like the module 'random'"
    (tmp_path / "user_empty_c.py").write_text("x = 1\n")
    cases[str(tmp_path / "user_empty_c.py")] = "registers no lab"
    for target, message in cases.items():
        r = runner.invoke(app, ["run", target, "--seeds", "1", "--out", str(tmp_path / "o")])
        assert r.exit_code == 2, (target, r.output)
        assert message in " ".join(r.output.split()), (target, r.output)
        assert "Traceback" not in r.output


def test_a_loaded_lab_folder_shadows_no_module(tmp_path):
    import random
    import subprocess
    import sys

    (tmp_path / "random.py").write_text("raise RuntimeError('shadowed')\n")
    _write(tmp_path, "user_lab_shadow_d", ["user_shadow_d"])
    resolve_lab(str(tmp_path / "user_lab_shadow_d.py"))
    assert str(tmp_path) in sys.path and sys.path.index(str(tmp_path)) > 0
    # a fresh interpreter with this sys.path (what a spawned worker gets) still finds the real random
    code = f"import sys; sys.path[:] = {sys.path!r}; import random; print(random.__file__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == random.__file__, out.stderr
