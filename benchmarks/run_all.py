"""Run the benchmark suite and write ``benchmarks/latest.json`` and ``docs/benchmarks.md``.

    python -m benchmarks.run_all [--quick] [--threads 1 2] [--only sweep solve jit games ...] [--cap 120]
    python -m benchmarks.run_all --all [--quick]     # every benchmarks/bench_*.py
    python -m benchmarks.run_all --list              # the topics, their commands and quick modes

The default topics are this module's own: ``sweep``, ``solve`` and ``jit`` (``make bench``). Every
other ``benchmarks/bench_<topic>.py`` with a command line is a topic too, found when this runs (so a
new file is listed without editing this one): ``--only <topic> ...`` runs those, ``--all`` all of
them after the default three. Each runs as its own documented command (``python -m
benchmarks.bench_<topic>`` with its defaults and the environment variables its docstring's
command sets, e.g. ``NUMBA_NUM_THREADS=1``), writes its own JSON (``benchmarks/latest_<topic>.json``) and, where it has
one, its section of ``docs/benchmarks.md``. ``--quick`` is passed to the topics that have a quick
mode; a quick run writes under ``bench_results/`` (git-ignored), never over the committed results, and
the topics without a quick mode are skipped (run them on their own). ``games`` also receives
``--threads`` and ``--cap``. A topic that fails is reported at the end and makes the exit status 1.

Each job of the default topics is a fresh subprocess with numba and BLAS pinned to the job's thread
count. Peer methods that exceed ``--cap`` seconds are killed and reported as capped (never silently
dropped).
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks import _common as C
from benchmarks.report import write_markdown

ROOT = Path(__file__).resolve().parent.parent

#: this module's own topics (``bench_sweep.py``, ``bench_solve.py``, ``bench_jit.py`` run one each)
CORE = ("sweep", "solve", "jit")


@dataclass(frozen=True)
class Bench:
    """A ``benchmarks/bench_<topic>.py`` with a command line, as :func:`discover` reads it."""

    topic: str
    summary: str  # first line of its docstring
    quick: bool  # its argparse has --quick
    env: dict = field(default_factory=dict)  # VAR=value its documented command sets

    @property
    def module(self) -> str:
        return f"benchmarks.bench_{self.topic}"

    def command(self, quick: bool = False) -> str:
        env = " ".join(f"{k}={v}" for k, v in self.env.items())
        return " ".join(x for x in (env, f"python -m {self.module}", "--quick" if quick else "") if x)


def discover(folder: Path | None = None) -> dict[str, Bench]:
    """Every ``bench_<topic>.py`` in ``folder`` (default ``benchmarks/``) that runs as a script (has an
    ``if __name__ == "__main__":`` block), by topic, read without importing it (some need torch or
    trl). ``quick`` is whether it declares ``--quick`` (the three wrappers of this module take
    run_all's options); ``env`` the ``VAR=value`` words before ``python -m benchmarks.bench_<topic>``
    in its docstring."""
    folder = Path(folder) if folder is not None else ROOT / "benchmarks"
    found = {}
    for path in sorted(folder.glob("bench_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if not any(isinstance(n, ast.If) and "__main__" in ast.unparse(n.test) for n in tree.body):
            continue
        topic = path.stem[len("bench_") :]
        flags = {
            node.args[0].value
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and getattr(node.func, "attr", None) == "add_argument"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        }
        doc = ast.get_docstring(tree) or ""
        m = re.search(rf"((?:\b[A-Z][A-Z0-9_]*=\S+\s+)*)python -m benchmarks\.{path.stem}\b", doc)
        env = dict(kv.split("=", 1) for kv in m[1].split()) if m else {}
        first = " ".join(doc.strip().split("\n\n")[0].split())  # first paragraph, one line
        summary = re.split(r"(?<=[.?])\s", first, maxsplit=1)[0]
        summary = summary if len(summary) <= 110 else summary[:109] + "…"
        found[topic] = Bench(topic, summary, topic in CORE or "--quick" in flags, env)
    return found


PEER_DENSE = [
    "quantecon:policy_iteration",
    "quantecon:modified_policy_iteration",
    "pymdptoolbox:PolicyIteration",
    "pymdptoolbox:PolicyIterationModified",
    "pymdptoolbox:ValueIteration",
]
PEER_SPARSE = PEER_DENSE


def instances(quick: bool):
    dense = [{"kind": "dense", "S": S, "A": 8, "gamma": 0.99, "seed": 0} for S in ((500,) if quick else (500, 2000))]
    grids = [{"kind": "grid", "W": W, "gamma": 0.99} for W in ((100,) if quick else (300, 1000))]
    return dense, grids


def label(inst):
    if inst["kind"] == "dense":
        return f"dense random S={inst['S']} A={inst['A']} gamma={inst['gamma']}"
    return f"gridworld {inst['W']}x{inst['W']} slip=0.1 gamma={inst['gamma']}"


SWEEP_PASSES = 2  # alternating process pairs per sweep configuration
SOLVE_PASSES_DENSE = 2  # rounds over all methods for the dense instances (seconds each, noisy ratios)


def merge_timings(runs: list) -> dict:
    """One record from several passes of the same sweep job: per contender the minimum over the
    passes, the median over all samples, and the samples concatenated (each pass times every
    contender in the same rounds, so per-round pairs stay aligned); failed passes are skipped."""
    ok = [r for r in runs if r.get("timings")]
    if not ok:
        return runs[0] if runs else {}
    out = {k: v for k, v in ok[-1].items() if k != "timings"}
    out["passes"] = len(ok)
    tim = {}
    for name in ok[0]["timings"]:
        samples = [x for r in ok for x in r["timings"].get(name, {}).get("samples_ms", [])]
        mins = [r["timings"][name]["min_ms"] for r in ok if name in r["timings"]]
        tim[name] = {
            "min_ms": min(mins),
            "median_ms": float(np.median(samples)) if samples else None,
            "n": len(samples),
            "reps": ok[0]["timings"][name].get("reps", 1),
            "samples_ms": samples,
        }
    out["timings"] = tim
    return out


def run_job(spec: dict, threads: int, timeout: float, extra_env: dict | None = None) -> dict:
    out = C.run_job(["benchmarks.worker"], spec, threads, timeout, extra_env)
    if "capped" not in out and "error" not in out:
        out["thread_info"] = out.pop("threads", None)  # what the job's pools reported
    return out


def main(argv=None, default_only=CORE):
    benches = discover()
    topics = list(CORE) + [t for t in benches if t not in CORE]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes only (topics without a quick mode are skipped)")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument(
        "--only",
        nargs="+",
        default=list(default_only),
        choices=topics,
        metavar="TOPIC",
        help=f"topics to run, from: {', '.join(topics)} (default: {' '.join(default_only)})",
    )
    ap.add_argument("--all", action="store_true", help="every topic: the default three, then every other bench_*.py")
    ap.add_argument("--list", action="store_true", help="list the topics with their commands and exit")
    ap.add_argument("--cap", type=float, default=None, help="seconds before a peer method is cut off")
    ap.add_argument(
        "--json",
        default=None,
        help="default benchmarks/latest.json for a full run_all, bench_results/<topics>.json otherwise",
    )
    ap.add_argument(
        "--md", default=None, help="default docs/benchmarks.md for a full run_all, bench_results/<topics>.md otherwise"
    )
    a = ap.parse_args(argv)
    if a.list:
        for topic in topics:
            b = benches.get(topic, Bench(topic, "", True))
            cmd = f"python -m benchmarks.run_all --only {topic}" if topic in CORE else b.command()
            quick = "--quick" if b.quick else "no quick mode"
            print(f"{topic:18s} {quick:14s} {cmd}\n{'':18s} {b.summary}")
        return
    only = topics if a.all else list(dict.fromkeys(a.only))
    core = [t for t in only if t in CORE]
    if core:
        _run_core(a, core, argv)
    failed = []
    for topic in (t for t in only if t not in CORE):
        b = benches[topic]
        if a.quick and not b.quick:
            print(f"[{time.strftime('%H:%M:%S')}] {topic}: no quick mode, skipped (run `{b.command()}`)", flush=True)
            continue
        args = ["--quick"] if a.quick else []
        if topic == "games":
            args += ["--threads", *map(str, a.threads)] + ([] if a.cap is None else ["--cap", str(a.cap)])
        print(f"[{time.strftime('%H:%M:%S')}] {topic}: {' '.join([b.command(a.quick), *args[a.quick :]])}", flush=True)
        env = {**os.environ, **b.env, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        rc = subprocess.run([sys.executable, "-m", b.module, *args], cwd=ROOT, env=env).returncode
        if rc != 0:
            failed.append(f"{topic} (exit status {rc})")
    if failed:
        print(f"[{time.strftime('%H:%M:%S')}] failed: {', '.join(failed)}", flush=True)
        raise SystemExit(1)


def _run_core(a, core: list, argv) -> None:
    """The sweep / solve / jit topics of this module, in one results file."""
    a.only = core
    full = set(a.only) == {"sweep", "solve", "jit"} and not a.quick
    tag = "_".join(a.only) + ("_quick" if a.quick else "")
    if a.json is None:
        a.json = str(ROOT / "benchmarks" / "latest.json") if full else str(ROOT / "bench_results" / f"{tag}.json")
    if a.md is None:
        a.md = str(ROOT / "docs" / "benchmarks.md") if full else str(ROOT / "bench_results" / f"{tag}.md")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.md).parent.mkdir(parents=True, exist_ok=True)
    cap = a.cap if a.cap is not None else (20.0 if a.quick else 60.0)
    prog = Path(sys.argv[0]).stem if sys.argv and sys.argv[0].endswith(".py") else "run_all"
    cmd = f"python -m benchmarks.{prog} " + " ".join(argv if argv is not None else sys.argv[1:])
    dense, grids = instances(a.quick)
    results = {
        "command": cmd.strip(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": C.machine_info(),
        "threads": a.threads,
        "cap_s": cap,
        "sweep": [],
        "solve": [],
        "jit": {},
    }

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    if "sweep" in a.only:
        for nt in a.threads:
            for inst in dense + grids[-1:]:
                log(f"sweep {label(inst)} threads={nt}")
                # numba contenders and peers in separate processes (see worker.task_sweep), in
                # alternating passes (numba, peers, numba, peers) so a slow phase of the machine
                # reaches both sides; merged with merge_timings
                spec = {
                    "task": "sweep",
                    "instance": inst,
                    "rounds": 10 if a.quick else 20,
                    "min_sample_ms": 5.0,
                    "budget_s": 30,
                }
                runs = {"numba": [], "peers": []}
                for _ in range(SWEEP_PASSES):
                    for grp in ("numba", "peers"):
                        runs[grp].append(run_job({**spec, "group": grp}, nt, timeout=900))
                ra, rb = (merge_timings(runs[g]) for g in ("numba", "peers"))
                r = {
                    **rb,
                    **ra,
                    "timings": {**rb.get("timings", {}), **ra.get("timings", {})},
                    "jobs": {
                        "numba": {k: v for k, v in ra.items() if k != "timings"},
                        "peers": {k: v for k, v in rb.items() if k != "timings"},
                    },
                }
                results["sweep"].append({"instance": inst, "label": label(inst), "threads": nt, **r})
        sizes = [1024, 2048] if a.quick else [1024, 1536, 2048, 2560]
        log(f"l1scan S={sizes} threads=1")
        results["l1scan"] = run_job(
            {"task": "l1scan", "sizes": sizes, "rounds": 10 if a.quick else 20, "min_sample_ms": 5.0}, 1, timeout=900
        )
    if "solve" in a.only:
        refdir = Path(tempfile.mkdtemp(prefix="rlab_bench_ref_"))
        for inst in dense + grids:
            peers = PEER_DENSE if inst["kind"] == "dense" else PEER_SPARSE
            # dense solves take milliseconds to seconds and their ratios are close to the goal: run
            # every method SOLVE_PASSES_DENSE times, alternating, and keep each method's best pass
            passes = SOLVE_PASSES_DENSE if inst["kind"] == "dense" and not a.quick else 1
            for nt in a.threads:
                # dense models: also time solve plus the first access of q (computed on demand)
                methods = ["mdp.solve"] + (["mdp.solve+q"] if inst["kind"] == "dense" else []) + peers
                if inst["kind"] != "dense" and nt != min(a.threads):
                    # the peers' sparse paths (scipy CSR matvec, SuperLU) are single-threaded whatever
                    # the pins: run them once, at the smallest thread count, to keep the suite short
                    methods = ["mdp.solve"]
                runs = {meth: [] for meth in methods}
                for p in range(passes):
                    for meth in methods:
                        if any(r.get("capped") or "error" in r for r in runs[meth]):
                            continue  # a capped or failing peer is not rerun
                        log(f"solve {label(inst)} threads={nt} {meth} (pass {p + 1}/{passes})")
                        spec = {
                            "task": "solve",
                            "instance": inst,
                            "methods": [meth],
                            "tol": 1e-8,
                            "reps": 3,
                            "rep_budget_s": 5,
                            "ref_path": str(refdir / f"{label(inst)}.npy"),
                        }
                        runs[meth].append(run_job(spec, nt, timeout=(900 if meth == "mdp.solve" else cap + 20)))
                for meth, rs in runs.items():
                    ok = [r for r in rs if "methods" in r]
                    pick = min(ok, key=lambda r: r["methods"][meth]["min_s"]) if ok else rs[-1]
                    results["solve"].append(
                        {
                            "instance": inst,
                            "label": label(inst),
                            "threads": nt,
                            "method": meth,
                            **pick,
                            "passes": len(rs),
                        }
                    )
    if "jit" in a.only:
        cache = tempfile.mkdtemp(prefix="rlab_numba_cache_")
        for phase in ("cold", "warm"):
            log(f"jit {phase}")
            results["jit"][phase] = run_job({"task": "jit"}, 1, timeout=900, extra_env={"NUMBA_CACHE_DIR": cache})
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["machine"]["loadavg_end"] = list(os.getloadavg())
    Path(a.json).write_text(json.dumps(results, indent=1, default=str))
    write_markdown(results, a.md)
    log(f"wrote {a.json} and {a.md}")


if __name__ == "__main__":
    main()
