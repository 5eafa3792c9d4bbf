"""Labs: registry and configs, cache and resume, outputs, deterministic PDFs, executors."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import labs
from labs.base import Lab, cache_key, make_config, parse_assignments, register_lab
from labs.plotting import OKABE_ITO, figure_bytes, new_figure, paper_style
from labs.provenance import atomic_write_bytes

TINY_QUICKSTART = {"n_states": 6, "n_actions": 2, "gammas": (0.5, 0.9), "grid_side": 3, "n_iter": 30}


# ------------------------------------------------------------------------ a toy lab for resume tests


@dataclass(frozen=True)
class ToyConfig:
    marker_dir: str = ""
    n_rows: int = 3


def _seed_of(rng) -> int:
    # default_rng(seed) keeps the seed as its SeedSequence's entropy
    return int(rng.bit_generator.seed_seq.entropy)


def toy_run(config: ToyConfig, rng) -> list[dict]:
    seed = _seed_of(rng)
    d = Path(config.marker_dir)
    with open(d / f"calls-{seed}", "a") as fh:  # one line per computation of this seed
        fh.write("x\n")
    if (d / f"abort-{seed}").exists():
        os._exit(3)  # the worker process dies midway
    if (d / f"fail-{seed}").exists():
        raise RuntimeError(f"deliberate failure of seed {seed}")
    return [{"i": i, "x": float(rng.random()), "v": np.float64(i * seed)} for i in range(config.n_rows)]


def toy_plot(table, config):
    fig, ax = new_figure(1)
    for seed, g in table.groupby("seed"):
        ax.plot(g["i"], g["x"], label=f"seed {seed}")
    ax.legend()
    return fig


TOY = register_lab(Lab("toy", ToyConfig, toy_run, toy_plot, description="test lab"))


def _calls(d: Path) -> dict[int, int]:
    return {int(p.name.split("-")[1]): len(p.read_text().splitlines()) for p in d.glob("calls-*")}


# --------------------------------------------------------------------------------- registry


def test_registry_lists_builtin_labs():
    names = [lab.name for lab in labs.list_labs()]
    assert {"quickstart", "solver_scaling", "toy"} <= set(names)
    assert labs.get_lab("quickstart").name == "quickstart"
    assert labs.get_lab(TOY) is TOY
    with pytest.raises(KeyError, match="known labs"):
        labs.get_lab("no-such-lab")
    with pytest.raises(ValueError, match="already registered"):
        register_lab(Lab("toy", ToyConfig, toy_run, toy_plot))
    register_lab(TOY)  # re-registering the same object is fine


def test_lab_config_must_be_frozen_dataclass():
    @dataclass
    class Mutable:
        a: int = 1

    with pytest.raises(TypeError, match="frozen"):
        Lab("bad", Mutable, toy_run, toy_plot)
    with pytest.raises(TypeError, match="dataclass"):
        Lab("bad", dict, toy_run, toy_plot)


def test_config_overrides_are_parsed_by_type():
    cfg = make_config("quickstart", **parse_assignments(["gammas=0.5, 0.8", "n_iter=10", "n-states=7"]))
    assert cfg.gammas == (0.5, 0.8) and cfg.n_iter == 10 and cfg.n_states == 7
    assert dataclasses.is_dataclass(cfg) and isinstance(cfg.n_iter, int)
    assert make_config("quickstart", {"models": ["random"]}).models == ("random",)
    assert make_config("quickstart", alpha="2").alpha == 2.0
    assert make_config("quickstart", gammas="(0.3,)").gammas == (0.3,)
    assert make_config("solver_scaling", solvers="solve,policy_iteration").solvers == ("solve", "policy_iteration")
    with pytest.raises(ValueError, match="unknown config field"):
        make_config("quickstart", n_sates=3)
    with pytest.raises(ValueError):
        make_config("quickstart", n_iter="ten")
    with pytest.raises(ValueError, match="gammas"):
        make_config("quickstart", gammas="1.5")
    with pytest.raises(ValueError, match="key=value"):
        parse_assignments(["n_iter"])


def test_cache_key_depends_on_config_and_seed_only():
    a = make_config("quickstart", n_iter=5)
    k = cache_key(labs.get_lab("quickstart"), a, 0)
    assert k == cache_key(labs.get_lab("quickstart"), make_config("quickstart", n_iter="5"), 0)
    assert k != cache_key(labs.get_lab("quickstart"), a, 1)
    assert k != cache_key(labs.get_lab("quickstart"), make_config("quickstart", n_iter=6), 0)


# ---------------------------------------------------------------------------- cache + resume


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "sub" / "f.bin"
    atomic_write_bytes(p, b"old")
    atomic_write_bytes(p, b"new contents")
    assert p.read_bytes() == b"new contents"
    assert [q.name for q in p.parent.iterdir()] == ["f.bin"]


def test_failed_seed_is_reported_and_resume_skips_finished_seeds(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    (marks / "fail-2").touch()
    out = tmp_path / "out"
    with pytest.raises(labs.LabRunError, match="seed 2") as info:
        labs.run_lab("toy", seeds=[0, 1, 2, 3], out=out, executor="serial", marker_dir=str(marks))
    assert set(info.value.failures) == {2}
    cache = sorted(p.name for p in (out / "toy" / "cache").iterdir())
    assert len(cache) == 3 and all(n.startswith(("seed0-", "seed1-", "seed3-")) for n in cache)
    assert not (out / "toy" / "toy.csv").exists()  # no outputs from an incomplete sweep

    (marks / "fail-2").unlink()
    progress = []
    res = labs.run_lab(
        "toy",
        seeds=[0, 1, 2, 3],
        out=out,
        executor="serial",
        marker_dir=str(marks),
        progress=lambda d, t: progress.append((d, t)),
    )
    assert res.computed == [2] and res.cached == [0, 1, 3]
    assert _calls(marks) == {0: 1, 1: 1, 2: 2, 3: 1}
    assert progress[0] == (3, 4) and progress[-1] == (4, 4)
    assert list(res.table["seed"].unique()) == [0, 1, 2, 3]
    assert res.table["v"].dtype == np.float64

    # a third run recomputes nothing; force recomputes everything
    res = labs.run_lab("toy", seeds=[0, 1, 2, 3], out=out, executor="serial", marker_dir=str(marks))
    assert res.computed == [] and _calls(marks)[0] == 1
    res = labs.run_lab("toy", seeds=[0, 1], out=out, executor="serial", marker_dir=str(marks), force=True)
    assert res.computed == [0, 1] and _calls(marks)[0] == 2
    assert not list((out / "toy" / "cache").glob("*.tmp"))


def test_worker_abort_midway_then_resume_with_process_pool(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    (marks / "abort-2").touch()
    out = tmp_path / "out"
    with pytest.raises(labs.LabRunError):
        labs.run_lab("toy", seeds=4, out=out, executor="local", max_workers=2, marker_dir=str(marks))
    cached_before = {int(p.name.split("-")[0][4:]) for p in (out / "toy" / "cache").glob("seed*.json")}
    assert 2 not in cached_before
    calls_before = _calls(marks)

    (marks / "abort-2").unlink()
    res = labs.run_lab("toy", seeds=4, out=out, executor="local", marker_dir=str(marks))
    assert set(res.cached) == cached_before
    assert set(res.computed) == {0, 1, 2, 3} - cached_before
    calls = _calls(marks)
    for s in cached_before:  # finished seeds were not recomputed
        assert calls[s] == calls_before[s] == 1
    serial = labs.run_lab("toy", seeds=4, out=tmp_path / "serial", executor="serial", marker_dir=str(marks))
    pd.testing.assert_frame_equal(res.table, serial.table)


# ---------------------------------------------------------------------------------- outputs


@pytest.fixture(scope="module")
def quickstart_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("qs")
    return labs.run_lab("quickstart", seeds=2, out=out, executor="serial", **TINY_QUICKSTART)


def test_outputs_and_provenance(quickstart_run):
    res = quickstart_run
    d = res.out_dir
    for name in ("quickstart.csv", "quickstart.pdf", "quickstart.png", "provenance.json"):
        assert (d / name).is_file() and (d / name).stat().st_size > 0, name
    table = pd.read_csv(d / "quickstart.csv")
    assert list(table.columns[:3]) == ["seed", "model", "gamma"]
    assert {"t", "error", "bound_apriori", "bound_aposteriori"} <= set(table.columns)
    assert sorted(table["seed"].unique()) == [0, 1]
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        pd.testing.assert_frame_equal(pd.read_parquet(d / "quickstart.parquet"), res.table)
    prov = json.loads((d / "provenance.json").read_text())
    for key in (
        "lab",
        "config",
        "seeds",
        "versions",
        "git_commit",
        "platform",
        "threads",
        "created",
        "executor",
        "cache_keys",
        "outputs",
    ):
        assert key in prov, key
    assert prov["lab"] == "quickstart" and prov["seeds"] == [0, 1]
    assert prov["config"]["gammas"] == [0.5, 0.9] and prov["config"]["n_states"] == 6
    for pkg in ("python", "numpy", "numba", "scipy", "matplotlib"):
        assert prov["versions"][pkg], pkg
    assert prov["git_commit"] is None or len(prov["git_commit"]) == 40
    assert prov["outputs"]["pdf"]["file"] == "quickstart.pdf"
    assert set(res.files) >= {"csv", "pdf", "png", "provenance"}


def test_quickstart_bounds_hold(quickstart_run):
    t = quickstart_run.table
    assert (t["error"] <= t["bound_apriori"] * (1 + 1e-9) + 1e-12).all()
    post = t.dropna(subset=["bound_aposteriori"])
    assert (post["error"] <= post["bound_aposteriori"] * (1 + 1e-9) + 1e-12).all()
    # MacQueen midpoint: the certified bound holds and is never worse than the stopping rule's
    assert (t["error_midpoint"] <= t["bound_midpoint"] * (1 + 1e-9) + 1e-12).all()
    assert (t["bound_midpoint"] <= t["bound_aposteriori"] * (1 + 1e-12)).all()
    assert set(t["model"]) == {"random", "gridworld"}
    assert t.groupby(["seed", "model", "gamma"])["t"].max().min() >= 20


def test_pdf_is_deterministic_with_embedded_truetype_fonts(quickstart_run, tmp_path, monkeypatch):
    first = (quickstart_run.out_dir / "quickstart.pdf").read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    res = labs.run_lab("quickstart", seeds=2, out=tmp_path, executor="serial", **TINY_QUICKSTART)
    assert res.cached == []  # recomputed from scratch in a new folder
    second = res.files["pdf"].read_bytes()
    assert first == second
    assert b"/FontFile2" in first and b"/Type3" not in first and b"/CreationDate" not in first
    assert b"rlab" in first
    assert first.startswith(b"%PDF")


def test_paper_style_sets_fonttype_and_palette():
    import matplotlib

    with paper_style():
        assert matplotlib.rcParams["pdf.fonttype"] == 42 and matplotlib.rcParams["ps.fonttype"] == 42
        colours = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert colours[0] == OKABE_ITO["blue"] and len(set(colours)) == 8
        fig, ax = new_figure(2)
        ax[0].plot([1, 2], [1, 2])
    assert figure_bytes(fig, "pdf") == figure_bytes(fig, "pdf")
    assert figure_bytes(fig, "png").startswith(b"\x89PNG")


def test_solver_scaling_tiny(tmp_path):
    res = labs.run_lab(
        "solver_scaling", seeds=1, out=tmp_path, executor="serial", dense_sizes=(4, 8), grid_sides=(3, 4), repeats=1
    )
    t = res.table
    assert set(t["solver"]) == set(labs.solver_scaling.SOLVERS)
    assert set(t["family"]) == {"dense", "sparse"}
    assert sorted(t.loc[t["family"] == "sparse", "S"].unique()) == [9, 16]
    assert (t["seconds"] > 0).all() and (t["threads"] == 1).all() and not t["skipped"].any()
    assert (t["error_bound"] <= 1e-6).all()
    assert res.files["pdf"].is_file()


# -------------------------------------------------------------------------------- executors


def test_dask_local_cluster_matches_serial(tmp_path):
    pytest.importorskip("distributed")
    serial = labs.run_lab("quickstart", seeds=3, out=tmp_path / "serial", executor="serial", **TINY_QUICKSTART)
    dask = labs.run_lab("quickstart", seeds=3, out=tmp_path / "dask", executor="dask", **TINY_QUICKSTART)
    assert dask.computed == [0, 1, 2]
    pd.testing.assert_frame_equal(serial.table, dask.table)
    prov = json.loads(dask.files["provenance"].read_text())
    assert prov["executor"] == "dask"


def test_unknown_executor_and_slurm_without_jobqueue(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="executor must be one of"):
        labs.run_lab("toy", seeds=1, out=tmp_path, executor="mpi", marker_dir=str(tmp_path))
    pytest.importorskip("distributed")
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)
    with pytest.raises(ImportError, match=r"rlab\[cluster\]"):
        labs.run_lab("toy", seeds=1, out=tmp_path, executor="slurm", marker_dir=str(tmp_path))


# ---------------------------------------------------------------------- code identity and interrupts
def test_cache_key_tracks_the_source_of_the_lab_module(tmp_path, monkeypatch):
    import importlib

    mod = tmp_path / "rlab_tmp_lab_mod.py"
    mod.write_text("def run(config, rng):\n    return [{'x': 1.0}]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    m = importlib.import_module("rlab_tmp_lab_mod")
    lab = Lab("tmp-src", ToyConfig, m.run, toy_plot)
    k1 = cache_key(lab, ToyConfig(), 0)
    assert cache_key(lab, ToyConfig(), 0) == k1
    mod.write_text("def run(config, rng):\n    return [{'x': 2.0}]  # edited\n")
    assert cache_key(lab, ToyConfig(), 0) != k1  # an edited lab no longer reads the old cache


def test_cache_key_tracks_the_rlab_modules_a_lab_imports(tmp_path, monkeypatch):
    # a stand-in for mdp/marl: the key follows what the lab's code imports (at module level, inside
    # functions, relatively, through a package __init__, lazy-name tables, registries and literal
    # import_module calls), through a decorator on run, and ignores the rest
    import importlib

    pkg = tmp_path / "rlabfake"
    for sub in ("sub", "subpkg"):
        (pkg / sub).mkdir(parents=True)
    files = {
        "__init__.py": "_LAZY = {'thing': 'rlabfake.lazytab'}\n_LAZY_SUBPACKAGES = ('subpkg',)\n",
        "lazytab.py": "T = 1\n",
        "core.py": "X = 1\n",
        "unused.py": "Y = 1\n",
        "lazy.py": "W = 1\n",
        "sub/__init__.py": "from . import deep\n",
        "sub/deep.py": "Z = 1\n",
        "sub/other.py": "V = 1\n",
        "subpkg/__init__.py": "U = 1\n",
        "reg.py": "_BUILTIN_MODULES = ('rlabfake.plugin',)\n",
        "plugin.py": "PL = 1\n",
        "strimp.py": "SI = 1\n",
    }
    for name, text in files.items():
        (pkg / name).write_text(text)
    (tmp_path / "rlab_tmp_deco.py").write_text(
        "import functools\n\ndef traced(fn):\n    @functools.wraps(fn)\n    def inner(*a, **k):\n"
        "        return fn(*a, **k)\n    return inner\n"
    )
    mod = tmp_path / "rlab_tmp_lab_deps.py"
    mod.write_text(
        "import importlib\nfrom rlabfake import core\nimport rlabfake.sub\nimport rlabfake.reg\n"
        "from rlab_tmp_deco import traced\n\n@traced\ndef run(config, rng):\n    import rlabfake.lazy\n"
        "    importlib.import_module('rlabfake.strimp')\n    return [{'x': core.X}]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(labs.sources, "_package_roots", lambda: {"rlabfake": pkg})
    lab = Lab("tmp-deps", ToyConfig, importlib.import_module("rlab_tmp_lab_deps").run, toy_plot)
    got = {p.relative_to(tmp_path).as_posix() for p in labs.base.lab_source_files(lab)}
    assert got == {
        "rlab_tmp_lab_deps.py",
        "rlabfake/__init__.py",
        "rlabfake/core.py",
        "rlabfake/lazy.py",
        "rlabfake/lazytab.py",
        "rlabfake/sub/__init__.py",
        "rlabfake/sub/deep.py",
        "rlabfake/subpkg/__init__.py",
        "rlabfake/reg.py",
        "rlabfake/plugin.py",
        "rlabfake/strimp.py",
    }
    k0 = cache_key(lab, ToyConfig(), 0)
    for name, changes in [
        ("core.py", True),
        ("lazy.py", True),
        ("lazytab.py", True),
        ("sub/deep.py", True),
        ("__init__.py", True),
        ("subpkg/__init__.py", True),
        ("plugin.py", True),
        ("strimp.py", True),
        ("unused.py", False),
        ("sub/other.py", False),
    ]:
        before = (pkg / name).read_text()
        (pkg / name).write_text(before + "# edited\n")
        assert (cache_key(lab, ToyConfig(), 0) != k0) is changes, name
        (pkg / name).write_text(before)
        assert cache_key(lab, ToyConfig(), 0) == k0


def test_builtin_labs_depend_on_their_own_imports_only():
    def files(name):
        root = Path(labs.__file__).resolve().parent.parent
        return {p.relative_to(root).as_posix() for p in labs.base.lab_source_files(labs.get_lab(name))}

    quick, soccer = files("quickstart"), files("soccer")
    # the solvers quickstart runs, including the kernels they inline (and, through `import mdp`, its
    # lazily loaded subpackages, which reach marl); not the other labs
    assert {
        "labs/quickstart.py",
        "mdp/solvers/value_iteration.py",
        "mdp/_common/bellman.py",
        "labs/base.py",
        "labs/__init__.py",
        "mdp/abstraction/__init__.py",
    } <= quick
    assert not any(
        f.startswith("labs/")
        and f
        not in (
            "labs/quickstart.py",
            "labs/__init__.py",
            "labs/base.py",
            "labs/executors.py",
            "labs/plotting.py",
            "labs/provenance.py",
            "labs/sources.py",
        )
        for f in quick
    )
    assert "marl/markov.py" in soccer and "labs/quickstart.py" not in soccer
    digests = {lab.name: labs.base.lab_source_digest(lab) for lab in labs.list_labs()}
    assert len(set(digests.values())) == len(digests)  # one lab's edit leaves the others' caches alone


def test_cached_seeds_record_the_code_that_computed_them(tmp_path):
    marks = tmp_path / "marks"
    marks.mkdir()
    res = labs.run_lab("toy", seeds=2, out=tmp_path / "o", executor="serial", marker_dir=str(marks))
    again = labs.run_lab("toy", seeds=2, out=tmp_path / "o", executor="serial", marker_dir=str(marks))
    assert again.cached == [0, 1]
    prov = json.loads(again.files["provenance"].read_text())
    for s in ("0", "1"):
        code = prov["seed_code"][s]
        assert set(code) >= {"git_commit", "git_dirty", "lab_source_sha256", "rlab"}
        assert code["lab_source_sha256"] == labs.base.lab_source_digest(TOY)
    assert prov["mixed_code"] is False
    assert json.loads(res.files["provenance"].read_text())["seed_code"] == prov["seed_code"]


def test_git_commit_is_none_for_a_copy_inside_another_repository(tmp_path):
    import importlib.util
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("git not installed")
    repo = tmp_path / "userproject"
    (repo / "venv" / "labs").mkdir(parents=True)
    env = dict(
        os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t"
    )
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    (repo / "README").write_text("user's project\n")
    subprocess.run(["git", "add", "README"], cwd=repo, check=True)
    subprocess.run(["git", "commit", "-qm", "init"], cwd=repo, check=True, env=env)
    copy = repo / "venv" / "labs" / "provenance.py"  # an installed (non-editable) copy of rlab
    shutil.copy(Path(labs.__file__).parent / "provenance.py", copy)
    spec = importlib.util.spec_from_file_location("rlab_prov_copy", copy)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.git_commit() is None and mod._git_dirty() is None
    assert mod.git_commit(repo) is not None  # an explicit path still works


_SLEEPER = """
import os, sys, time
from dataclasses import dataclass
import labs
from labs.base import Lab, register_lab

@dataclass(frozen=True)
class Cfg:
    pid_dir: str = ""
    sleep: float = 1.0

def run(config, rng):
    open(os.path.join(config.pid_dir, str(os.getpid())), "w").close()
    time.sleep(config.sleep)
    return [{"x": float(rng.random())}]

register_lab(Lab("sleeper", Cfg, run, lambda t, c: None))

if __name__ == "__main__":
    labs.run_lab("sleeper", seeds=int(sys.argv[3]), out=sys.argv[1], executor="local", max_workers=2,
                 pid_dir=sys.argv[2], sleep=float(sys.argv[4]))
"""


def test_interrupt_stops_workers_at_once_and_keeps_finished_seeds(tmp_path):
    import signal
    import subprocess
    import time

    script = tmp_path / "rlab_sleeper.py"
    script.write_text(_SLEEPER)
    pids, out = tmp_path / "pids", tmp_path / "out"
    pids.mkdir()
    cache = out / "sleeper" / "cache"
    # seeds of 4 s: the old shutdown waited for the running and pre-queued ones (4-8 s more)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(out), str(pids), "8", "4.0"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not (cache.is_dir() and list(cache.glob("seed*.json"))):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    proc.wait(timeout=30)
    # did not wait for the running or queued seeds (each one 4 s; margin for a loaded machine)
    assert time.monotonic() - t0 < 3.5
    assert b"KeyboardInterrupt" in proc.stderr.read()
    workers = [int(p.name) for p in pids.iterdir()]
    alive = workers
    for _ in range(40):  # reaped within 2 s, also on a loaded machine
        time.sleep(0.05)
        alive = []
        for pid in workers:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            break
    assert not alive, f"worker processes left running: {alive}"
    cached = list(cache.glob("seed*.json"))
    assert 1 <= len(cached) < 8
    assert not list(cache.glob("*.tmp")) and not list(cache.glob(".*.tmp"))


def test_pin_threads_reloads_numba_config_imported_before_it():
    """A spawned worker imports numba (through the parent's main module) before its initialiser
    sets NUMBA_NUM_THREADS=1; numba's config must follow, or the first compilation after the pool
    launched fails ("Cannot set NUMBA_NUM_THREADS to a different value once the threads have been
    launched"), which broke policy_cliff and mean_field_swarm on a cold numba cache."""
    import subprocess

    code = (
        "import os; os.environ.pop('NUMBA_NUM_THREADS', None)\n"
        "import numba\n"
        "from labs.executors import pin_threads\n"
        "pin_threads()\n"
        "assert numba.config.NUMBA_NUM_THREADS == 1, numba.config.NUMBA_NUM_THREADS\n"
        "from numba import njit, prange\n"
        "@njit(parallel=True)\n"
        "def f(x):\n"
        "    s = 0.0\n"
        "    for i in prange(x.shape[0]):\n"
        "        s += x[i]\n"
        "    return s\n"
        "import numpy as np\n"
        "assert f(np.ones(10)) == 10.0\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
