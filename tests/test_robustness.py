"""Audit findings (issue 20): lab cache checksums, SIGINT, clean errors for degenerate input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import labs
import marl
import mdp
from labs.base import Lab, register_lab
from labs.cli import app
from labs.plotting import new_figure
from mdp.cop import read_tsplib

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------- lab cache checksums


@dataclass(frozen=True)
class CacheToyConfig:
    n_rows: int = 4


def _cache_toy_run(config, rng):
    return [{"i": i, "x": float(rng.random())} for i in range(config.n_rows)]


def _cache_toy_plot(table, config):
    fig, ax = new_figure(1)
    ax.plot(table["i"], table["x"])
    return fig


CACHE_TOY = register_lab(Lab("cache_toy", CacheToyConfig, _cache_toy_run, _cache_toy_plot, description="test lab"))


def _cache_file(out, seed):
    (path,) = (out / "cache_toy" / "cache").glob(f"seed{seed}-*.json")
    return path


def _edit_rows(path, edit):
    data = json.loads(path.read_text())
    data["rows"] = edit(data["rows"])
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "damage,why",
    [
        (lambda p: _edit_rows(p, lambda rows: rows[:2]), "holds 2 row"),  # truncated, still valid JSON
        (lambda p: _edit_rows(p, lambda rows: [dict(r, x=0.5) for r in rows]), "checksum"),  # same count, other values
        (lambda p: p.write_text(p.read_text()[:-40]), "not readable JSON"),  # cut mid-file
    ],
)
def test_corrupt_cache_is_recomputed_with_a_message(tmp_path, damage, why):
    out = tmp_path / "out"
    first = labs.run_lab(CACHE_TOY, seeds=2, out=out, executor="serial")
    damage(_cache_file(out, 1))
    with pytest.warns(labs.CacheWarning) as record:
        again = labs.run_lab(CACHE_TOY, seeds=2, out=out, executor="serial")
    messages = [str(w.message) for w in record]
    assert any("seed 1" in m and "corrupt" in m and why in m and "recomputing" in m for m in messages), messages
    assert any("replaced the corrupt cache file" in m for m in messages), messages
    assert again.computed == [1] and again.cached == [0]
    assert len(again.table) == 8
    np.testing.assert_array_equal(again.table["x"], first.table["x"])
    prov = json.loads((out / "cache_toy" / "provenance.json").read_text())
    assert list(prov["replaced_corrupt_cache"]) == ["1"]
    # the replaced file is whole again: a third run reads both seeds from the cache, silently
    third = labs.run_lab(CACHE_TOY, seeds=2, out=out, executor="serial")
    assert third.cached == [0, 1]


def test_cache_files_record_row_count_and_checksum(tmp_path):
    labs.run_lab(CACHE_TOY, seeds=1, out=tmp_path, executor="serial")
    data = json.loads(_cache_file(tmp_path, 0).read_text())
    assert data["n_rows"] == 4 and len(data["rows_sha256"]) == 64


# ------------------------------------------------------------------------------------- CLI

_SLOW_LAB = textwrap.dedent("""
    import sys, time
    from dataclasses import dataclass
    from pathlib import Path
    from labs.base import Lab, register_lab

    @dataclass(frozen=True)
    class Cfg:
        marker: str = ""

    def run(config, rng):
        Path(config.marker).write_text("started")
        time.sleep(60)
        return [{"x": 1.0}]

    register_lab(Lab("slow_sigint", Cfg, run, lambda t, c: None, description="sleeps"))
    from labs.cli import main
    sys.argv = ["rlab", "run", "slow_sigint", "--seeds", "1", "--executor", "serial", "--out", sys.argv[1],
                "--set", "marker=" + sys.argv[2]]
    main()
""")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_interrupts_a_run_started_with_sigint_ignored(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text(_SLOW_LAB)
    marker = tmp_path / "started"
    env = dict(os.environ, PYTHONPATH=str(ROOT), NUMBA_NUM_THREADS="1")
    # a background job of a non-interactive shell starts with SIGINT ignored
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "out"), str(marker)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.time() + 60
        while not marker.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert marker.exists(), proc.communicate(timeout=5)[0] if proc.poll() is not None else "lab did not start"
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out
    assert "interrupted" in out and "Traceback" not in out


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--executor", "foo"], "executor must be one of"),
        (["--workers", "0"], "max_workers (--workers) must be >= 1"),
    ],
)
def test_bad_executor_options_fail_before_any_progress_display(tmp_path, extra, message):
    r = CliRunner().invoke(app, ["run", "cache_toy", "--seeds", "1", "--out", str(tmp_path), *extra])
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert message in text and "Traceback" not in text
    assert "seed(s), executor" not in text and "0/1" not in text  # no header, no progress bar
    assert not (tmp_path / "cache_toy").exists()


# --------------------------------------------------------------------------- degenerate input


def test_zero_sum_matrix_game_degenerate_payoffs():
    with pytest.raises(ValueError, match=r"M is an empty batch of games, shape \(0, 3, 3\)"):
        marl.zero_sum_matrix_game(np.zeros((0, 3, 3)))
    with pytest.raises(TypeError, match="M must hold numbers, got a boolean array"):
        marl.zero_sum_matrix_game(np.eye(2, dtype=bool))
    masked = np.ma.masked_array([[1.0, -1.0], [-1.0, 99.0]], mask=[[0, 0], [0, 1]])
    with pytest.raises(TypeError, match="M is a numpy masked array"):
        marl.zero_sum_matrix_game(masked)


def test_masked_and_boolean_rewards_are_refused():
    P = np.full((2, 1, 2), 0.5)
    R = np.ma.masked_array([[1.0], [5.0]], mask=[[0], [1]])
    with pytest.raises(TypeError, match="R is a numpy masked array"):
        mdp.TabularMDP(P, R, 0.9)
    with pytest.raises(TypeError, match="R must hold numbers, got a boolean array"):
        mdp.TabularMDP(P, np.array([[True], [False]]), 0.9)
    with pytest.raises(TypeError, match="P is a numpy masked array"):
        mdp.TabularMDP(np.ma.masked_array(P), np.zeros((2, 1)), 0.9)
    mdp.TabularMDP(P.astype(bool).astype(float) / 2, np.zeros((2, 1)), 0.9)  # explicit casts work
    with pytest.raises(TypeError, match="R must hold numbers, got a boolean array"):
        marl.MarkovGame(np.full((1, 1, 1, 1), 1.0), np.ones((1, 1, 1), dtype=bool), 0.9)


_EUC = "NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 1 1\nEOF\n"


def test_tsplib_empty_and_truncated_files(tmp_path):
    for empty in ("", "   "):
        with pytest.raises(ValueError, match="text_or_path is empty"):
            read_tsplib(empty)
    assert read_tsplib(_EUC).dist[0, 1] == 5
    cut_mid_line = _EUC[: _EUC.index("3 1 1") + 3]
    with pytest.raises(ValueError, match=r"line 8: NODE_COORD_SECTION entry '3 1' .*truncated"):
        read_tsplib(cut_mid_line)
    path = tmp_path / "cut.tsp"
    path.write_text(cut_mid_line)
    with pytest.raises(ValueError, match=r"line 8:"):
        read_tsplib(path)
    cut_at_line = _EUC[: _EUC.index("3 1 1")]
    with pytest.raises(
        ValueError, match=r"has 2 lines; DIMENSION is 3 \(its last entry is line 7; is the file truncated"
    ):
        read_tsplib(cut_at_line)
    explicit = (
        "NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\n"
        "EDGE_WEIGHT_SECTION\n0 1 2\n1 0 3\n2 3"
    )
    with pytest.raises(
        ValueError, match=r"has 8 numbers.*needs exactly 9 \(the section's last entry is line 9; is the"
    ):
        read_tsplib(explicit)
    with pytest.raises(ValueError, match=r"line 3: DIMENSION must be a positive integer, got ''"):
        read_tsplib("NAME: t\nTYPE: TSP\nDIMENSION:\n")
