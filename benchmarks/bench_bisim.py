"""Bisimulation benchmarks (issue 4): ``benchmarks/latest_bisim.json`` and the markdown snippet
``benchmarks/bisim_section.md`` (spliced into ``docs/benchmarks.md`` by hand).

    python -m benchmarks.bench_bisim [--quick] [--sides 100 200 400 700 1000] [--cap 60]

* ``refine``: :func:`mdp.abstraction.bisimulation` on sparse gridworlds, ``side x side`` cells for
  each ``side`` (up to ``10^6`` states, ``12 * 10^6`` stored transitions): the corner-goal gridworld
  of :func:`mdp.generators.gridworld` (no two cells bisimilar: the partition is discrete, the
  hardest case for refinement) and the stripe gridworld (goal row; ``side`` blocks). Reported: the
  refinement kernel alone (transposition + splitter loop) and the whole call (plus canonical labels,
  quotient model and its measured errors), best of ``repeats``; the exponent ``b`` of ``t ~ m^b``
  fitted by least squares on log-log over the sizes with ``m >= 10^5``.
* ``solve``: :func:`mdp.solve` (tol 1e-8, gamma 0.99) on the full model vs bisimulation + quotient
  solve + lift, on the same grids; a full solve slower than ``--cap`` seconds stops that family.

Numba and BLAS are pinned to one thread (``mdp._threads.pinned_threads``); JIT compilation is
excluded (every function warmed on a small grid first).
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from pathlib import Path

import numpy as np

from benchmarks import _common as C

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "benchmarks" / "latest_bisim.json"
MD_PATH = ROOT / "benchmarks" / "bisim_section.md"


def _best(fn, repeats: int, budget_s: float = 20.0):
    times, out = [], None
    t0 = time.perf_counter()
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        if time.perf_counter() - t0 > budget_s:
            break
    return min(times), float(np.median(times)), out


def _models(side: int):
    import mdp
    from mdp.abstraction.partition import stripe_gridworld

    return {
        "corner": lambda: mdp.generators.gridworld(side, side, gamma=0.99),
        "stripe": lambda: stripe_gridworld(side, side, gamma=0.99),
    }


def _fit(xs, ys, min_x: float = 1e5):
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    keep = xs >= min_x
    if keep.sum() < 2:
        keep = np.ones_like(xs, dtype=bool)
    if keep.sum() < 2:
        return float("nan")
    b, _ = np.polyfit(np.log(xs[keep]), np.log(ys[keep]), 1)
    return float(b)


def bench_refine(sides, repeats: int):
    B = importlib.import_module("mdp.abstraction.partition")
    rows = []
    for family in ("corner", "stripe"):
        for side in sides:
            t0 = time.perf_counter()
            m = _models(side)[family]()
            t_build = time.perf_counter() - t0
            rep = 1 if m.n_states >= 500_000 else repeats
            t_kernel, t_kernel_med, part = _best(
                lambda: B._partition(m, B.EXACT_EPS * max(1.0, m.r_max), B.EXACT_EPS, False), rep
            )
            t_total, t_total_med, res = _best(lambda: B.bisimulation(m), rep)
            rows.append(
                {
                    "family": family,
                    "side": side,
                    "S": m.n_states,
                    "nnz": m.nnz,
                    "n_blocks": res.n_blocks,
                    "t_model_build_s": t_build,
                    "t_refine_s": t_kernel,
                    "t_refine_median_s": t_kernel_med,
                    "t_bisimulation_s": t_total,
                    "t_bisimulation_median_s": t_total_med,
                    "n_splitters": res.n_splitters,
                    "scans_per_nnz": res.n_scanned / m.nnz,
                    "repeats": rep,
                }
            )
            print(
                f"refine {family:6s} S={m.n_states:>8d} nnz={m.nnz:>9d} Q={res.n_blocks:>8d} "
                f"kernel {t_kernel:.3f}s total {t_total:.3f}s scans/nnz {res.n_scanned / m.nnz:.2f}",
                flush=True,
            )
    fits = {}
    for family in ("corner", "stripe"):
        sub = [r for r in rows if r["family"] == family]
        fits[family] = {
            "refine_vs_nnz": _fit([r["nnz"] for r in sub], [r["t_refine_s"] for r in sub]),
            "bisimulation_vs_nnz": _fit([r["nnz"] for r in sub], [r["t_bisimulation_s"] for r in sub]),
        }
    return rows, fits


def bench_solve(sides, repeats: int, cap: float):
    import mdp

    B = importlib.import_module("mdp.abstraction.partition")
    rows = []
    for family in ("stripe", "corner"):
        for side in sides:
            m = _models(side)[family]()
            rep = 1 if m.n_states >= 250_000 else repeats
            t_full, _, sol = _best(lambda: mdp.solve(m, tol=1e-8), rep)
            t_bis, _, res = _best(lambda: B.bisimulation(m), rep)
            t_q, _, sq = _best(lambda: mdp.solve(res.quotient, tol=1e-8), rep)
            t_lift, _, v = _best(lambda: (res.lift_values(sq.v), res.lift_policy(sq.pi))[0], rep)
            pipe = t_bis + t_q + t_lift
            err = float(np.abs(v - sol.v).max())
            rows.append(
                {
                    "family": family,
                    "side": side,
                    "S": m.n_states,
                    "n_blocks": res.n_blocks,
                    "t_full_solve_s": t_full,
                    "t_bisimulation_s": t_bis,
                    "t_quotient_solve_s": t_q,
                    "t_lift_s": t_lift,
                    "t_pipeline_s": pipe,
                    "speedup": t_full / pipe,
                    "value_error": err,
                    "full_sweeps": int(sol.n_iter),
                    "repeats": rep,
                }
            )
            print(
                f"solve  {family:6s} S={m.n_states:>8d} Q={res.n_blocks:>8d} full {t_full:.3f}s "
                f"pipeline {pipe:.3f}s (bisim {t_bis:.3f}, quotient {t_q:.4f}, lift {t_lift:.4f}) "
                f"speedup {t_full / pipe:.2f} err {err:.1e}",
                flush=True,
            )
            if t_full > cap:
                break
    return rows


def markdown(result: dict) -> str:
    info = result["machine"]
    lines = [
        "## Bisimulation: partition refinement and quotient solves",
        "",
        f"Machine: {info['cpu']} ({info['cores']} cores available), numba/BLAS pinned to 1 thread; "
        f"`python -m benchmarks.bench_bisim` ({result['date']}). Best of the repeats (one run at "
        f"`S >= 5e5`); JIT warm.",
        "",
        "Exact bisimulation by splitter refinement (Derisavi, Hermanns & Sanders 2003; "
        '"process all but the largest piece"): `O(m log n)` splitter scans plus sorting of touched keys '
        "(`O(m log^2 n)` worst case). *kernel* = transposition + refinement; *total* = "
        "`mdp.abstraction.bisimulation` (canonical labels, quotient model, measured errors). "
        "*scans/nnz* = predecessor entries scanned per stored transition.",
        "",
        "| family | S | nnz | blocks | kernel [s] | total [s] | scans/nnz |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["refine"]:
        lines.append(
            f"| {r['family']} | {r['S']:,} | {r['nnz']:,} | {r['n_blocks']:,} | {r['t_refine_s']:.3f} | "
            f"{r['t_bisimulation_s']:.3f} | {r['scans_per_nnz']:.2f} |"
        )
    lines += ["", "Fitted exponent `b` of `t ~ nnz^b` (least squares on log-log, sizes with nnz >= 1e5):", ""]
    for fam, f in result["fits"].items():
        lines.append(f"* {fam}: kernel `b = {f['refine_vs_nnz']:.2f}`, total `b = {f['bisimulation_vs_nnz']:.2f}`")
    lines += [
        "",
        "Solving through the quotient (`mdp.solve`, tol 1e-8, gamma 0.99) vs the full model:",
        "",
        "| family | S | blocks | full solve [s] | bisim [s] | quotient solve [s] | lift [s] | speed-up | "
        "max value error |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["solve"]:
        lines.append(
            f"| {r['family']} | {r['S']:,} | {r['n_blocks']:,} | {r['t_full_solve_s']:.3f} | "
            f"{r['t_bisimulation_s']:.3f} | {r['t_quotient_solve_s']:.4f} | {r['t_lift_s']:.4f} | "
            f"{r['speedup']:.2f} | {r['value_error']:.1e} |"
        )
    lines += [
        "",
        "The corner-goal gridworld has no bisimilar cells (actions are labels), so its quotient is the "
        "model itself and the pipeline only adds the refinement cost; the stripe gridworld collapses to one "
        "block per row. `mdp.solve` (adaptive modified policy iteration with Gauss-Seidel sweeps) is fast on "
        "these grids, so the refinement - not the solve - dominates the pipeline. Every predecessor entry is "
        "scanned once (scans/nnz = 1.00: the all-but-largest rule never re-scans a state on these grids); "
        "exponents a little above 1 at the largest sizes come from memory traffic (arrays of 1.2e7 entries "
        "out of cache) and, for the total, building a 10^6-state quotient. Sizes with `S >= 2.5e5` are timed "
        "once on a shared 2-core machine: the corner quotient (the model itself) solving slower than the "
        "full model there is noise of that size.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="sides up to 200, one repeat")
    ap.add_argument("--sides", type=int, nargs="+", default=[50, 100, 200, 400, 700, 1000])
    ap.add_argument("--solve-sides", type=int, nargs="+", default=[50, 100, 200, 400, 700, 1000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cap", type=float, default=60.0, help="stop a solve family after a full solve this slow")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    sides = [s for s in args.sides if s <= 200] if args.quick else args.sides
    solve_sides = [s for s in args.solve_sides if s <= 200] if args.quick else args.solve_sides
    repeats = 1 if args.quick else args.repeats
    from mdp._threads import pinned_threads

    with pinned_threads(1):
        import mdp

        B = importlib.import_module("mdp.abstraction.partition")
        for f in _models(8).values():  # JIT warm-up
            m = f()
            mdp.solve(B.bisimulation(m).quotient)
            mdp.solve(m)
        refine_rows, fits = bench_refine(sides, repeats)
        solve_rows = bench_solve(solve_sides, repeats, args.cap)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": C.machine_info(),
        "refine": refine_rows,
        "fits": fits,
        "solve": solve_rows,
        "quick": bool(args.quick),
    }
    print(json.dumps(fits, indent=1))
    if not args.no_write:
        json_path, md_path = (C.output_path(p, args.quick) for p in (JSON_PATH, MD_PATH))
        json_path.write_text(C.dump(result) + "\n")
        md_path.write_text(markdown(result) + "\n")
        print(f"wrote {json_path.relative_to(ROOT)} and {md_path.relative_to(ROOT)}")
    return result


if __name__ == "__main__":
    main()
