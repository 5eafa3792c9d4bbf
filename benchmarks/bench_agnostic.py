"""Agnostic-learning benchmarks: `NUMBA_NUM_THREADS=1 python -m benchmarks.bench_agnostic [--quick]`.

1. Trajectory-tree sampling throughput for K = 10^4 policies, H = 10, S = 10^3 (A = 4, 2 successors per
   pair): the numba kernel of :func:`mdp.agnostic.tree_returns` against its straightforward numpy twin
   :func:`mdp.agnostic.reference_tree_returns` (the same algorithm, ``np.unique`` per layer), same draws,
   interleaved in one process. Reported: trees per second, per-policy return updates per second
   (``K H`` per tree) and the paired ratio.
2. Exact spanning capacity: wall time of :func:`mdp.agnostic.spanning_capacity` (per_layer=True) vs ``K``
   and ``S`` (H = 4, A = 2, random policies), with a node budget of 20 000; where the search stops being exact, the
   certified gap.

Results go to ``benchmarks/latest_agnostic.json`` and are quoted in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks._common import interleaved, output_path


def trees(quick: bool) -> dict:
    from mdp import agnostic as ag

    K, H, S, A = 10_000, 10, 1_000, 4
    rng = np.random.default_rng(0)
    m = ag.sparse_branching(H, S, A, rng=rng, branching=2)
    pol = ag.random_policies(K, H, S, A, rng=rng)
    n_np = 10 if quick else 20
    n_nb = 100 if quick else 400  # the numba path is timed over more trees: its one-time validation and
    # layer-major copy of the 800 MB table (~0.3 s) are amortised as in a real run (thousands of trees)
    a, qa = ag.tree_returns(m, pol, n_np, rng=np.random.default_rng(1))
    b, qb = ag.reference_tree_returns(m, pol, n_np, rng=np.random.default_rng(1))
    assert np.array_equal(a, b) and np.array_equal(qa, qb)
    from mdp.agnostic import generative as gen

    off = gen._layout(K, H, S, A)
    pol_l = gen._layer_major(pol, A)
    u0, u = gen._draws(np.random.default_rng(2), n_nb, off)

    def kernel():  # the compiled sampler alone on a prepared (layer-major) table and pre-drawn uniforms
        gen._trees_kernel(
            pol_l,
            m.next_states,
            m.next_cdf,
            m.R,
            m.rho0_cdf,
            u0,
            u,
            off,
            np.zeros(K),
            np.zeros((n_nb, K)),
            np.zeros(n_nb, dtype=np.int64),
            0,
            np.zeros(S * A, dtype=np.int64),
            np.zeros(S * A, dtype=np.int64),
            np.empty(K, dtype=np.int64),
            0,
        )

    fns = {
        "numba": lambda: ag.tree_returns(m, pol, n_nb, rng=np.random.default_rng(1)),
        "numba kernel": kernel,
        "numpy": lambda: ag.reference_tree_returns(m, pol, n_np, rng=np.random.default_rng(1)),
    }
    t = interleaved(fns, rounds=3 if quick else 5, warmup=1)
    out = {
        "K": K,
        "H": H,
        "S": S,
        "A": A,
        "n_trees": {"numba": n_nb, "numpy": n_np},
        "mean_queries_per_tree": float(qa.mean()),
    }
    per = {"numba": n_nb, "numba kernel": n_nb, "numpy": n_np}
    for name in fns:
        sec = t[name]["min_ms"] / 1e3 / per[name]
        out[name] = {"ms_per_tree": 1e3 * sec, "trees_per_s": 1 / sec, "updates_per_s": K * H / sec}
    for name, key in (("numba", "ratio_numpy_over_numba"), ("numba kernel", "ratio_numpy_over_kernel")):
        pairs = [(x / n_np) / (y / n_nb) for x, y in zip(t["numpy"]["samples_ms"], t[name]["samples_ms"])]
        out[key] = float(np.median(pairs))
    return out


def capacity(quick: bool) -> list:
    from mdp import agnostic as ag

    rows = []
    H, A = 4, 2  # per-layer caps min(2^(h+1), 2S): K near the cap is the hard regime
    Ks = (4, 16, 64) if quick else (4, 8, 16, 32, 128, 1024)
    Ss = (2, 4, 8) if quick else (2, 4, 8, 16, 64)
    for S in Ss:
        for K in Ks:
            pol = ag.random_policies(K, H, S, A, rng=np.random.default_rng(K * 1000 + S))
            t = time.perf_counter()
            r = ag.spanning_capacity(pol, A, per_layer=True, max_nodes=20_000)
            dt = time.perf_counter() - t
            rows.append(
                {
                    "S": S,
                    "K": K,
                    "seconds": dt,
                    "exact": r.exact,
                    "lower": r.lower,
                    "upper": r.upper,
                    "gap": r.gap,
                    "layer_gaps": (r.per_layer_upper - r.per_layer).tolist(),
                    "nodes": r.n_nodes,
                }
            )
    return rows


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    res = {"trees": trees(args.quick), "capacity": capacity(args.quick)}
    tr = res["trees"]
    print(
        f"trajectory trees K={tr['K']} H={tr['H']} S={tr['S']} A={tr['A']} ({tr['n_trees']} trees, "
        f"{tr['mean_queries_per_tree']:.0f} queries/tree)"
    )
    for name in ("numba", "numba kernel", "numpy"):
        print(
            f"  {name:12s} {tr[name]['ms_per_tree']:9.2f} ms/tree  {tr[name]['trees_per_s']:9.1f} trees/s  "
            f"{tr[name]['updates_per_s']:.3g} updates/s"
        )
    print(
        f"  numpy / numba per tree (paired median over rounds): {tr['ratio_numpy_over_numba']:.1f}x end to end, "
        f"{tr['ratio_numpy_over_kernel']:.1f}x kernel alone"
    )
    print("spanning capacity, per layer (H=4, A=2, max_nodes=20000)")
    print("  S     K   seconds  exact  lower upper  per-layer gaps  nodes")
    for r in res["capacity"]:
        print(
            f"  {r['S']:3d} {r['K']:5d} {r['seconds']:8.3f}  {str(r['exact']):5s}  {r['lower']:5d} {r['upper']:5d}  "
            f"{str(r['layer_gaps']):14s} {r['nodes']:6d}"
        )
    output_path(Path(__file__).with_name("latest_agnostic.json"), args.quick).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
