"""benchmarks.run_all finds every ``benchmarks/bench_*.py`` with a command line and runs it as its
documented command; a ``--quick`` run never overwrites the committed results. No benchmark runs
here: the subprocess call is mocked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from benchmarks import _common as C
from benchmarks import run_all

ROOT = Path(__file__).resolve().parents[1]


def _scripts() -> set[str]:
    return {
        p.stem[len("bench_") :]
        for p in (ROOT / "benchmarks").glob("bench_*.py")
        if 'if __name__ == "__main__":' in p.read_text(encoding="utf-8")
    }


def test_every_bench_script_is_a_topic():
    found = run_all.discover()
    scripts = _scripts()
    assert scripts, "no benchmarks/bench_*.py script"
    assert set(found) == scripts
    assert set(run_all.CORE) <= set(found)  # bench_sweep/solve/jit are run_all's own topics


def test_quick_modes_and_environments_are_read_from_the_files():
    found = run_all.discover()
    assert found["subrl"].quick and found["games"].quick and found["sweep"].quick
    assert not found["scale"].quick  # no --quick option
    assert found["offline"].env == {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    assert found["bn"].command(quick=True) == "NUMBA_NUM_THREADS=1 python -m benchmarks.bench_bn --quick"


def test_a_new_file_is_discovered(tmp_path):
    (tmp_path / "bench_new.py").write_text(
        '"""New: `FOO=2 python -m benchmarks.bench_new [--quick]`."""\n'
        "import argparse\n\n\ndef main():\n    ap = argparse.ArgumentParser()\n"
        '    ap.add_argument("--quick", action="store_true")\n\n\nif __name__ == "__main__":\n    main()\n'
    )
    (tmp_path / "bench_helper.py").write_text("X = 1\n")  # no command line: not a topic
    found = run_all.discover(tmp_path)
    assert list(found) == ["new"]
    assert found["new"].quick and found["new"].env == {"FOO": "2"}


def test_list_and_help_name_every_topic(capsys):
    run_all.main(["--list"])
    out = capsys.readouterr().out
    for topic in _scripts():
        assert topic in out
    with pytest.raises(SystemExit) as exc:
        run_all.main(["--help"])
    assert exc.value.code == 0
    assert "scale" in capsys.readouterr().out


def _ran(calls):
    return [c.args[0][2] for c in calls]


def test_topics_run_as_their_documented_command():
    ok = subprocess.CompletedProcess([], 0)
    with mock.patch.object(run_all.subprocess, "run", return_value=ok) as run:
        run_all.main(["--only", "subrl", "scale", "games", "--quick", "--threads", "1", "--cap", "5"])
    assert _ran(run.call_args_list) == ["benchmarks.bench_subrl", "benchmarks.bench_games"]  # scale: no quick mode
    subrl, games = run.call_args_list
    assert subrl.args[0] == [sys.executable, "-m", "benchmarks.bench_subrl", "--quick"]
    assert subrl.kwargs["env"]["NUMBA_NUM_THREADS"] == "1" and subrl.kwargs["cwd"] == ROOT
    assert games.args[0][3:] == ["--quick", "--threads", "1", "--cap", "5.0"]


def test_all_runs_every_topic_and_a_failure_sets_the_exit_status():
    failed = subprocess.CompletedProcess([], 3)
    with (
        mock.patch.object(run_all, "_run_core") as core,
        mock.patch.object(run_all.subprocess, "run", return_value=failed) as run,
        pytest.raises(SystemExit) as exc,
    ):
        run_all.main(["--all"])
    assert exc.value.code == 1
    assert core.call_args.args[1] == list(run_all.CORE)
    assert set(_ran(run.call_args_list)) == {f"benchmarks.bench_{t}" for t in _scripts() - set(run_all.CORE)}


def test_unknown_topic_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        run_all.main(["--only", "scal"])
    assert exc.value.code == 2
    assert "invalid choice: 'scal'" in capsys.readouterr().err


def test_quick_runs_write_under_bench_results():
    committed = ROOT / "benchmarks" / "latest_subrl.json"
    assert C.output_path(committed, quick=False) == committed
    quick = C.output_path(committed, quick=True)
    assert quick == ROOT / "bench_results" / "latest_subrl_quick.json"


#: how a write line may look in a file with --quick: through output_path, or one of the paths that
#: bench_games / bench_bisim / bench_llm_hot_path derive from their options
_SAFE_WRITES = ("output_path(", "json_path.", "md_path.", "Path(a.json)", "Path(a.md)")


@pytest.mark.parametrize("topic", sorted(t for t in _scripts() if t not in run_all.CORE))
def test_quick_mode_never_writes_the_committed_json(topic):
    """A file with --quick writes its results through ``output_path`` (or only when not quick)."""
    lines = (ROOT / "benchmarks" / f"bench_{topic}.py").read_text(encoding="utf-8").splitlines()
    if not any('"--quick"' in line for line in lines):
        return
    for i, line in enumerate(lines):
        if ".write_text(" in line and not any(s in line for s in _SAFE_WRITES):
            assert "not args.quick" in lines[i - 1], f"bench_{topic}.py writes under --quick: {line.strip()}"
