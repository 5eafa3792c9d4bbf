"""Evaluation scheme of ``mdp.solve`` on sparse models: the probe's choice against each scheme forced.

``mdp.solve`` picks, at its first evaluation, Gauss-Seidel or Jacobi ``T_pi`` sweeps for a sparse
model (:func:`mdp.solvers.solve._choose_scheme`: five sweeps of each from the same start, the faster
falling change wins). This runs, in one process and interleaved, the automatic choice and each
scheme forced, on slowly mixing gridworlds and fast-mixing garnets, and reports the best of
``--repeats`` wall times, the Bellman sweeps, the checks and the certified bound (each solve with
``max_iter=600``: a forced scheme that needs more is reported as not converged)::

    python -m benchmarks.bench_sparse_schemes [--repeats 3]    # writes benchmarks/latest_sparse_schemes.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
import warnings
from pathlib import Path

import numpy as np


def _cases():
    import mdp

    G = mdp.generators
    return {
        "gridworld 500^2, gamma 0.99": lambda: G.gridworld(500, 500),
        "gridworld 300^2, slip 0.3, gamma 0.999": lambda: G.gridworld(300, 300, slip=0.3, gamma=0.999),
        "garnet(10^5, 4, 5), gamma 0.99": lambda: G.garnet(10**5, 4, 5, rng=np.random.default_rng(0), gamma=0.99),
        "garnet(10^5, 4, 5), gamma 0.999": lambda: G.garnet(10**5, 4, 5, rng=np.random.default_rng(0), gamma=0.999),
    }


def run(repeats: int) -> list[dict]:
    import mdp

    solve_mod = importlib.import_module("mdp.solvers.solve")
    auto = solve_mod._choose_scheme

    def forced(name):
        def choose(m, tv, pi, state):
            if name == "jacobi" and solve_mod._gather_policy(m, pi, state) is None:
                return auto(m, tv, pi, state)
            return name, tv.copy()

        return choose

    mdp.solve(mdp.generators.gridworld(512, 512), tol=1e-6)  # compile / load the kernels outside the timings
    rows = []
    for label, make in _cases().items():
        m = make()
        best = {}
        for _ in range(repeats):
            for scheme, chooser in (
                ("auto", auto),
                ("gauss-seidel", forced("gauss-seidel")),
                ("jacobi", forced("jacobi")),
            ):
                solve_mod._choose_scheme = chooser
                try:
                    t = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # a forced scheme may run out of budget
                        res = mdp.solve(m, tol=1e-6, max_iter=600)
                    wall = time.perf_counter() - t
                finally:
                    solve_mod._choose_scheme = auto
                row = best.get(scheme)
                if row is None or wall < row["wall_s"]:
                    best[scheme] = {
                        "wall_s": wall,
                        "sweeps": res.n_iter,
                        "checks": len(res.residuals),
                        "error_bound": res.error_bound,
                        "method": res.method,
                        "converged": bool(res.converged),
                    }
        rows.append({"model": label, "states": m.n_states, **{k: v for k, v in best.items()}})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    def cell(x):
        return f"{x['wall_s']:.2f} ({x['sweeps']} / {x['checks']})" + ("" if x["converged"] else ", not converged")

    lines = [
        "| model | auto: chose, s (sweeps / checks) | Gauss-Seidel forced, s (sweeps / checks) | Jacobi forced, s (sweeps / checks) |",
        "|---|---|---|---|",
    ]
    for r in rows:
        a, g, j = r["auto"], r["gauss-seidel"], r["jacobi"]
        chose = a["method"].split(",")[-1].rstrip("]")
        lines.append(f"| {r['model']} | {chose}, {cell(a)} | {cell(g)} | {cell(j)} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default=str(Path(__file__).resolve().parent / "latest_sparse_schemes.json"))
    args = ap.parse_args(argv)
    from benchmarks._common import machine_info

    rows = run(args.repeats)
    md = table(rows)
    print(md)
    Path(args.json).write_text(
        json.dumps({"machine": machine_info(), "args": vars(args), "rows": rows, "table": md}, indent=1)
    )


if __name__ == "__main__":
    main()
