"""Scale: time and peak memory of generate / validate / solve vs the number of states (issue 22).

Slippery gridworlds (4 actions, slip 0.1, goal in a corner, gamma 0.99), ``mdp.solve(m, tol=1e-6)``.
Each size runs in a fresh process (numba pinned to ``--threads``; BLAS pinned to 1 thread with
``OMP_WAIT_POLICY=PASSIVE`` and ``OPENBLAS_THREAD_TIMEOUT=1``, so no spinning BLAS thread can hold a
core: nothing here calls BLAS, and the pin makes sure of it), which reports, in order:

* ``generate``: ``mdp.generators.gridworld(n, n)`` as a user calls it (the numba CSR kernels plus
  the one validation pass of ``TabularMDP.from_csr``);
* ``validate``: that validation pass alone, again on the same arrays (``from_csr(copy=False)``);
* ``solve``: ``mdp.solve(m, tol=1e-6)``, with its sweep counts;
* ``mmap``: with ``--mmap DIR``, saving the model as ``.npy`` arrays and memory-mapping it back;
* up to ``--baseline-max`` (side 1000), the same in a second process with the implementation before
  issue 22 (``reference_gridworld``: COO triplets through scipy; ``T_pi`` sweeps on the ``(S A, S)``
  form), for the new / previous ratios of the same run (and whether ``v`` is bitwise the same);

* up to ``--serial-max``, the same in another process with single-threaded Gauss-Seidel sweeps
  (``_GS_BLOCKS = 1``, the solver before the parallel block sweeps), for the blocks / single ratio;

the wall time and the process CPU time of each (all threads; on a shared machine the wall time
also holds the time other tenants had the cores: the load average is recorded with each row),
and its peak resident memory (``ru_maxrss``) after each phase, against the model's own bytes (CSR
arrays plus ``R``). Exponents ``b`` of ``time ~ S^b`` are least-squares fits over the sizes run::

    python -m benchmarks.bench_scale [--sides 316 1000 3162] [--threads 2] [--dtype float64] [--mmap DIR]
        [--baseline-max 1000] [--serial-max 0]

Sizes above 2 x 10^6 states run only when more than 12 GB of memory is available.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

_CHILD = r"""
import json, resource, shutil, sys, time
import numpy as np
import mdp
from mdp.model import TabularMDP

spec = json.loads(sys.argv[1])
n, dt = spec["side"], np.dtype(spec["dtype"])
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
mdp.solve(mdp.generators.gridworld(512, 512, dtype=dt), tol=1e-6)  # JIT (cached on disk) outside the timings; 512^2 runs the parallel block sweeps
out = {"side": n, "states": n * n, "dtype": dt.name, "rss_base": rss()}
if spec.get("baseline"):
    # the implementation before issue 22: COO generator through scipy, T_pi sweeps on the (S A, S) form
    import importlib
    _solve = importlib.import_module("mdp.solvers.solve")  # the module (mdp.solvers.solve is the function)
    _solve._GATHER_AFTER = 1 << 62
    _solve._GS_BLOCKS = 1
    gen = mdp.generators.reference_gridworld
else:
    gen = mdp.generators.gridworld
if spec.get("gs_blocks") is not None:
    import importlib
    importlib.import_module("mdp.solvers.solve")._GS_BLOCKS = spec["gs_blocks"]
t, c = time.perf_counter(), time.process_time()
m = gen(n, n, slip=0.1, gamma=0.99, dtype=dt)
out["generate_s"], out["generate_cpu_s"] = time.perf_counter() - t, time.process_time() - c
out["rss_generate"] = rss()
out["model_bytes"] = int(sum(a.nbytes for a in m.csr_arrays()) + m.R.nbytes)
out["nnz"] = m.nnz
t, c = time.perf_counter(), time.process_time()
TabularMDP.from_csr(*m.csr_arrays(), m.R, m.gamma, copy=False)
out["validate_s"], out["validate_cpu_s"] = time.perf_counter() - t, time.process_time() - c
out["rss_validate"] = rss()
t, c = time.perf_counter(), time.process_time()
res = mdp.solve(m, tol=1e-6)
out["solve_s"], out["solve_cpu_s"] = time.perf_counter() - t, time.process_time() - c
out["rss_solve"] = rss()
out.update(n_iter=res.n_iter, checks=len(res.residuals), error_bound=res.error_bound, converged=res.converged)
import hashlib
out["v_sha"] = hashlib.sha256(np.ascontiguousarray(res.v).tobytes()).hexdigest()[:16]
if spec.get("mmap"):
    d = spec["mmap"] + f"/grid{n}"
    t = time.perf_counter()
    m.save(d, layout="npy")
    out["save_s"] = time.perf_counter() - t
    t = time.perf_counter()
    back = mdp.load_model(d, mmap=True)
    out["mmap_load_s"] = time.perf_counter() - t
    out["mmap_equal"] = bool(all(np.array_equal(a, b) for a, b in zip(m.csr_arrays(), back.csr_arrays())))
    del back
    shutil.rmtree(d)
print(json.dumps(out))
"""


def _env(threads: int) -> dict:
    from mdp._threads import thread_env

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, **thread_env(threads)}
    for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
        env[k] = "1"
    env.update(OMP_WAIT_POLICY="PASSIVE", OPENBLAS_THREAD_TIMEOUT="1")
    env["PYTHONPATH"] = str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")
    return env


def run_size(
    side: int,
    threads: int,
    dtype: str,
    mmap: str | None,
    baseline: bool = False,
    timeout: float = 900,
    gs_blocks: int | None = None,
) -> dict:
    spec = {"side": side, "dtype": dtype, "mmap": None if baseline else mmap, "baseline": baseline}
    spec["gs_blocks"] = gs_blocks
    p = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(spec)],
        env=_env(threads),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if p.returncode != 0:
        return {"side": side, "states": side * side, "error": p.stderr[-1500:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def fit_exponent(states, times) -> float | None:
    """Least-squares slope of ``log time`` against ``log states`` (``None`` under two points)."""
    import numpy as np

    if len(states) < 2:
        return None
    return float(np.polyfit(np.log(states), np.log(times), 1)[0])


def table(rows: list, exps: dict) -> str:
    gb = 1e9
    lines = [
        "| states | nnz | generate (s) | validate (s) | solve (s) | sweeps (checks) | total wall (CPU) (s) | model (GB) "
        "| peak RSS (GB): after generate / solve | peak / model | (peak - start) / model |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['states']:.0e} | failed: {r['error'].splitlines()[-1][:80]} ||||||||||")
            continue
        lines.append(
            f"| {r['states']:,} | {r['nnz']:,} | {r['generate_s']:.2f} ({r['generate_cpu_s']:.2f}) "
            f"| {r['validate_s']:.2f} ({r['validate_cpu_s']:.2f}) | {r['solve_s']:.2f} ({r['solve_cpu_s']:.2f}) "
            f"| {r['n_iter']} ({r['checks']}) | {r['generate_s'] + r['solve_s']:.2f} "
            f"({r['generate_cpu_s'] + r['solve_cpu_s']:.2f}) | {r['model_bytes'] / gb:.3f} "
            f"| {r['rss_generate'] / gb:.2f} / {r['rss_solve'] / gb:.2f} | {r['rss_solve'] / r['model_bytes']:.2f} "
            f"| {(r['rss_solve'] - r['rss_base']) / r['model_bytes']:.2f} |"
        )
    if exps:
        lines.append("")
        lines.append(
            "Fitted exponents b (time ~ S^b): "
            + ", ".join(f"{k} {v:.2f}" for k, v in exps.items() if v is not None)
            + "; peak RSS / model bytes at the largest size: "
            + (f"{rows[-1]['rss_solve'] / rows[-1]['model_bytes']:.2f}" if "error" not in rows[-1] else "n/a")
        )
    return "\n".join(lines)


def baseline_table(rows: list) -> str:
    """New / previous (``reference_gridworld`` + ``T_pi`` sweeps on the ``(S A, S)`` form) in the same run."""
    rs = [r for r in rows if "baseline" in r]
    if not rs:
        return ""
    lines = [
        "",
        "",
        "| states | generate: new / previous, wall (CPU) | peak RSS after generate: new / previous (GB) "
        "| solve: new / previous, wall (CPU) | same v |",
        "|---|---|---|---|---|",
    ]
    for r in rs:
        b = r["baseline"]
        lines.append(
            f"| {r['states']:,} | {r['generate_s']:.2f} / {b['generate_s']:.2f} = {r['generate_s'] / b['generate_s']:.2f}x "
            f"({r['generate_cpu_s'] / b['generate_cpu_s']:.2f}x) | {r['rss_generate'] / 1e9:.2f} / {b['rss_generate'] / 1e9:.2f} "
            f"| {r['solve_s']:.2f} / {b['solve_s']:.2f} = {r['solve_s'] / b['solve_s']:.2f}x "
            f"({r['solve_cpu_s'] / b['solve_cpu_s']:.2f}x) | {r['v_sha'] == b['v_sha']} |"
        )
    return "\n".join(lines)


def serial_table(rows: list) -> str:
    """``solve`` on the parallel block sweeps / on single-threaded sweeps (``_GS_BLOCKS = 1``), same run."""
    rs = [r for r in rows if "serial" in r]
    if not rs:
        return ""
    lines = [
        "",
        "",
        "| states | solve: block sweeps / single-threaded sweeps, wall (CPU) | sweeps (checks): blocks / single |",
        "|---|---|---|",
    ]
    for r in rs:
        b = r["serial"]
        lines.append(
            f"| {r['states']:,} | {r['solve_s']:.2f} / {b['solve_s']:.2f} = {r['solve_s'] / b['solve_s']:.2f}x "
            f"({r['solve_cpu_s']:.2f} / {b['solve_cpu_s']:.2f}) | {r['n_iter']} ({r['checks']}) / {b['n_iter']} ({b['checks']}) |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sides", type=int, nargs="+", default=[316, 1000, 3162])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--mmap", default=None, help="directory for the save / memory-map round trip (needs disk)")
    ap.add_argument(
        "--baseline-max",
        type=int,
        default=1000,
        help="largest side also run with the pre-issue-22 generator and sweeps",
    )
    ap.add_argument(
        "--gs-blocks",
        type=int,
        default=None,
        help="block count of the Gauss-Seidel sweeps (1: single-threaded; default: mdp.solve's own)",
    )
    ap.add_argument(
        "--serial-max",
        type=int,
        default=0,
        help="largest side also run with single-threaded Gauss-Seidel sweeps (_GS_BLOCKS = 1) right after",
    )
    ap.add_argument("--json", default=str(Path(__file__).resolve().parent / "latest_scale.json"))
    args = ap.parse_args(argv)
    from benchmarks._common import machine_info
    from mdp.generators import available_memory

    rows = []
    for side in args.sides:
        avail = available_memory() or 0
        if side * side > 2 * 10**6 and avail < 12e9:
            print(f"skipping {side}^2 states: {avail / 1e9:.1f} GB available (< 12 GB)", flush=True)
            continue
        t = time.perf_counter()
        r = run_size(side, args.threads, args.dtype, args.mmap, gs_blocks=args.gs_blocks)
        r["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(r), f"({time.perf_counter() - t:.1f} s wall)", flush=True)
        if side <= args.baseline_max and "error" not in r:
            # the same size with the previous generator and sweeps, right after: same machine state
            b = run_size(side, args.threads, args.dtype, None, baseline=True)
            print("baseline", json.dumps(b), flush=True)
            if "error" not in b:
                r["baseline"] = b
        if side <= args.serial_max and "error" not in r:
            b = run_size(side, args.threads, args.dtype, None, gs_blocks=1)
            print("single-threaded sweeps", json.dumps(b), flush=True)
            if "error" not in b:
                r["serial"] = b
        rows.append(r)
    ok = [r for r in rows if "error" not in r]
    states = [r["states"] for r in ok]
    exps = (
        {k: fit_exponent(states, [r[f"{k}_s"] for r in ok]) for k in ("generate", "validate", "solve")}
        if len(ok) > 1
        else {}
    )
    md = table(rows, exps) + baseline_table(rows) + serial_table(rows)
    print(md)
    Path(args.json).write_text(
        json.dumps(
            {"machine": machine_info(), "args": vars(args), "rows": rows, "exponents": exps, "table": md}, indent=1
        )
    )


if __name__ == "__main__":
    main()
