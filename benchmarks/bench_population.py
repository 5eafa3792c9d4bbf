"""Sequential public-goods games and finite swarms (issue 19): ``benchmarks/latest_population.json`` and
the section "Sequential public-goods games and finite swarms" of ``docs/benchmarks.md`` (pasted from this
script's markdown output).

    NUMBA_NUM_THREADS=1 python -m benchmarks.bench_population [--quick]

* ``spne``: exact backward induction (:func:`marl.spgg.spgg_spne`) for ``N = 5`` agents on a 21-level
  grid (goal: under a second), and kernel vs the recursive numpy twin on ``N = 4``, 11 levels;
* ``swarm``: finite-swarm simulation of the ring-aggregation task (8 cells, horizon 12), agent-steps per
  second of :func:`marl.mean_field.swarm_simulate` (numba) against the vectorised numpy implementation
  :func:`marl.mean_field.reference_swarm_simulate` (same algorithm, ``numpy.random.Generator`` draws and
  the project's :func:`mdp._common.draw_rows`), for a shared rule (one draw per agent-step) up to
  ``N = 10^6`` and for per-agent rules (three draws). Interleaved rounds, JIT warm; the peer is the numpy
  twin (no library simulates Dec-POMFC swarms).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks import _common as C

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "benchmarks" / "latest_population.json"


def bench_spne(quick: bool) -> dict:
    from marl.spgg import SPGGame, reference_spgg_spne, spgg_spne

    big = SPGGame(5, np.linspace(0, 1, 21), cost=1, multiplier=2, bonus=0.5, threshold=5, penalty=2)
    small = big.replace(n_agents=4, grid=np.linspace(0, 1, 11))
    res = C.interleaved({"N=5, G=21 (204,205 nodes)": lambda: spgg_spne(big)}, rounds=3 if quick else 7, warmup=1)
    pair = C.interleaved(
        {"kernel": lambda: spgg_spne(small), "numpy twin": lambda: reference_spgg_spne(small)},
        rounds=2 if quick else 5,
        warmup=1,
    )
    return {
        "big_ms": res["N=5, G=21 (204,205 nodes)"]["min_ms"],
        "big_median_ms": res["N=5, G=21 (204,205 nodes)"]["median_ms"],
        "small_kernel_ms": pair["kernel"]["min_ms"],
        "small_twin_ms": pair["numpy twin"]["min_ms"],
        "small_nodes": int(spgg_spne(small).n_nodes),
    }


def bench_swarm(quick: bool) -> dict:
    from marl.mean_field import reference_swarm_simulate, ring_aggregation, swarm_simulate

    m = ring_aggregation()
    rng = np.random.default_rng(0)
    h = rng.dirichlet(np.ones(3), size=(12, 4))
    hp = rng.dirichlet(np.ones(3), size=(10, 12, 4))
    out = {}
    sizes = (10_000, 100_000) if quick else (10_000, 100_000, 1_000_000)
    cases = [("shared rule", h, N) for N in sizes] + [("per-agent rules", hp, 100_000)]
    for label, rules, N in cases:
        r = C.interleaved(
            {
                "numba": lambda: swarm_simulate(m, rules, N, rng=rng),
                "numpy": lambda: reference_swarm_simulate(m, rules, n_agents=N, rng=rng),
            },
            rounds=2 if quick or N >= 10**6 else 5,
            warmup=1,
        )
        steps = N * m.horizon
        out[f"{label}, N = {N:,}"] = {
            "numba_ms": r["numba"]["min_ms"],
            "numpy_ms": r["numpy"]["min_ms"],
            "numba_agent_steps_per_s": steps / (r["numba"]["min_ms"] * 1e-3),
            "numpy_agent_steps_per_s": steps / (r["numpy"]["min_ms"] * 1e-3),
            "ratio": r["numpy"]["min_ms"] / r["numba"]["min_ms"],
        }
    return out


def markdown(data: dict) -> str:
    s = data["spne"]
    lines = [
        "## Sequential public-goods games and finite swarms",
        "",
        f"`NUMBA_NUM_THREADS=1 python -m benchmarks.bench_population` on {data['machine']}, {data['date']}.",
        "",
        (
            f"Exact SPNE by backward induction (`marl.spgg.spgg_spne`), N = 5 agents, 21 effort levels: "
            f"{s['big_ms']:.0f} ms (median {s['big_median_ms']:.0f} ms; goal under 1 s). N = 4, 11 levels "
            f"({s['small_nodes']:,} nodes): kernel {s['small_kernel_ms']:.2f} ms vs the recursive numpy twin "
            f"{s['small_twin_ms']:.0f} ms ({s['small_twin_ms'] / s['small_kernel_ms']:.0f}x)."
        ),
        "",
        "Finite-swarm simulation (`marl.mean_field.swarm_simulate`), ring aggregation, horizon 12, one episode; "
        "best of interleaved rounds, JIT warm:",
        "",
        "| case | numba ms | numpy ms | numba agent-steps/s | numpy agent-steps/s | ratio |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for k, r in data["swarm"].items():
        lines.append(
            f"| {k} | {r['numba_ms']:.1f} | {r['numpy_ms']:.1f} | {r['numba_agent_steps_per_s']:.3g} | "
            f"{r['numpy_agent_steps_per_s']:.3g} | {r['ratio']:.1f}x |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    info = C.machine_info()
    data = {
        "machine": f"{info['cpu']} ({info['cores']} cores, load {info['loadavg'][0]:.1f})",
        "info": info,
        "date": time.strftime("%Y-%m-%d"),
        "spne": bench_spne(args.quick),
        "swarm": bench_swarm(args.quick),
    }
    C.output_path(JSON_PATH, args.quick).write_text(json.dumps(data, indent=1, default=float))
    print(markdown(data))


if __name__ == "__main__":
    main()
