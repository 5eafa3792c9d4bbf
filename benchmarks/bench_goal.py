"""Goal-conditioned benchmark: `NUMBA_NUM_THREADS=1 python -m benchmarks.bench_goal [--quick]`.

Expectile TD (IQL/HIQL value) over 10^6 hindsight-relabelled transitions of random walks on a 51 x 51
maze (1249 states, ``(S, S)`` table of 1.56e6 cells), ``kappa = 0.7``, ``gamma = 0.99``: the numba
kernel of :func:`mdp.goal.expectile_td` against its plain-numpy twin
:func:`mdp.goal.reference_expectile_td` (the same sweeps vectorised over cells with ``np.bincount``,
identical output checked here), a fixed number of synchronous sweeps each, interleaved in one
process. Goal: numba >= 10x numpy. Results go to ``benchmarks/latest_goal.json``.
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import numpy as np

from benchmarks._common import interleaved, output_path


def expectile(quick: bool) -> dict:
    from mdp import goal as G

    rng = np.random.default_rng(0)
    m = G.maze(51, rng=rng)
    data = G.random_walks(m, 2000, 1000, rng=rng, momentum=0.8)
    N = 10**6
    tr = G.hindsight_transitions(data, rng=rng, n_samples=N, n=1)
    S = m.n_states
    sweeps = 5 if quick else 20
    gamma, kappa = 0.99, 0.7
    grouped = G.group_cells(tr)
    v0 = np.full((S, S), -1 / (1 - gamma))
    np.fill_diagonal(v0, 0.0)

    def numba():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a fixed number of sweeps: the tolerance is not the point
            return G.expectile_td(tr, gamma=gamma, expectile=kappa, tol=1e-12, max_iter=sweeps)

    def numpy():
        return G.reference_expectile_td(*G.group_cells(tr), gamma, kappa, v0.ravel(), 1e-12, sweeps)

    import importlib

    ex = importlib.import_module("mdp.goal.expectile")  # the module (mdp.goal re-exports functions only)

    def kernel():  # the compiled sweeps alone on prepared (grouped) arrays
        v = v0.ravel().copy()
        ex._sweeps(*grouped, gamma, kappa, v, 0.0, sweeps, np.zeros(sweeps), -np.inf, np.inf)

    def numpy_sweeps():  # the twin's sweeps alone on the same prepared arrays
        G.reference_expectile_td(*grouped, gamma, kappa, v0.ravel(), 1e-12, sweeps)

    a = numba()
    b, res = numpy()
    assert np.allclose(a.v.T.ravel(), b, atol=1e-9) and res.size == a.n_iter == sweeps
    fns = {"numba": numba, "numpy": numpy, "numba kernel": kernel, "numpy sweeps": numpy_sweeps}
    t = interleaved(fns, rounds=2 if quick else 3, warmup=1)
    pairs = [x / y for x, y in zip(t["numpy"]["samples_ms"], t["numba"]["samples_ms"])]
    pairs_k = [x / y for x, y in zip(t["numpy sweeps"]["samples_ms"], t["numba kernel"]["samples_ms"])]
    out = {
        "n_transitions": N,
        "n_cells": int(grouped[0].size),
        "S": S,
        "sweeps": sweeps,
        "ratio_numpy_over_numba": float(np.median(pairs)),
        "ratio_sweeps_numpy_over_kernel": float(np.median(pairs_k)),
    }
    for name in fns:
        ms = t[name]["min_ms"]
        out[name] = {"ms_total": ms, "ms_per_sweep": ms / sweeps, "transitions_per_s": N * sweeps / (ms / 1e3)}
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    res = {"expectile_td": expectile(args.quick)}
    e = res["expectile_td"]
    print(
        f"expectile TD, {e['n_transitions']:,} transitions, {e['n_cells']:,} cells, S = {e['S']}, {e['sweeps']} sweeps"
    )
    for name in ("numba", "numpy", "numba kernel", "numpy sweeps"):
        print(f"  {name:12s} {e[name]['ms_per_sweep']:9.1f} ms/sweep  {e[name]['transitions_per_s']:.3g} transitions/s")
    print(
        f"  numpy / numba (paired median over rounds): {e['ratio_numpy_over_numba']:.1f}x end to end (grouping included)"
    )
    print(f"  numpy sweeps / numba kernel on prepared arrays: {e['ratio_sweeps_numpy_over_kernel']:.1f}x")
    output_path(Path(__file__).with_name("latest_goal.json"), args.quick).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
