"""Multi-task PSR benchmarks: `NUMBA_NUM_THREADS=1 python -m benchmarks.bench_psr [--quick]`.

1. Joint MLE over the shared-emission class (``M_O = 200`` emissions, ``M_T = 5`` transitions, the lab's
   sizes) for ``N`` tasks: profiling (:func:`mdp.pomdp.joint_mle`, ``O(N M_O M_T)``) against brute-force
   enumeration of the ``M_O M_T^N`` members of ``P_joint``, both on the same log-likelihood table, with
   the same answer asserted. Two brute-force peers: :func:`mdp.pomdp.reference_joint_mle` (numpy,
   chunked) and a numba enumeration compiled here (the same loop order as profiling's kernel, so the
   ratio against it is the algorithmic speed-up alone). The table itself (``N M_O M_T`` forward passes
   over every task's data) is timed too: it is the common cost of both.
2. The forward-algorithm kernel (:func:`mdp.pomdp.log_likelihoods`) against its numpy twin
   (:func:`mdp.pomdp.reference_log_likelihoods`): 1 000 models x 300 trajectories, ``H = 4``.

Results go to ``benchmarks/latest_psr.json`` and are quoted in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from numba import njit

from benchmarks._common import interleaved, output_path


@njit(cache=True)
def _brute_force_kernel(L):
    """Enumerate every (i, j_1, ..., j_N) in lexicographic order; first maximiser wins."""
    N, M_O, M_T = L.shape
    js = np.zeros(N, dtype=np.int64)
    best = -np.inf
    arg = np.zeros(N + 1, dtype=np.int64)
    total = M_T**N
    for i in range(M_O):
        for t in range(total):
            rem = t
            for n in range(N - 1, -1, -1):
                js[n] = rem % M_T
                rem //= M_T
            s = 0.0
            for n in range(N):
                s += L[n, i, js[n]]
            if s > best:
                best = s
                arg[0] = i
                arg[1:] = js
    return best, arg


def joint(quick: bool) -> list:
    from mdp import pomdp as P

    rng = np.random.default_rng(0)
    M_O, M_T, n = 200, 5, 30
    fc = P.random_factored_class(M_O, M_T, 3, 2, 3, 4, rng=rng)
    rows = []
    Ns = (1, 2, 3, 4, 5) if quick else (1, 2, 3, 4, 5, 6, 7)
    for N in Ns:
        i0, js = int(rng.integers(M_O)), rng.integers(M_T, size=N)
        data = [P.sample_trajectories(fc.model(i0, int(j)), n, rng=rng) for j in js]
        t = time.perf_counter()
        L = P.likelihood_table(fc, data)
        t_table = time.perf_counter() - t
        a = P.joint_mle(L)
        bf_val, bf_arg = _brute_force_kernel(L)
        assert bf_val == a.loglik and bf_arg[0] == a.emissions[0] and np.array_equal(bf_arg[1:], a.transitions)
        fns = {"brute force (numba)": lambda: _brute_force_kernel(L)}
        numpy_ok = M_O * M_T**N <= 2_000_000
        if numpy_ok:
            r = P.reference_joint_mle(L)
            assert r.loglik == a.loglik and np.array_equal(r.transitions, a.transitions)
            fns["brute force (numpy)"] = lambda: P.reference_joint_mle(L)
        tm = interleaved(fns, rounds=3 if quick else 5, warmup=1)
        # profiling takes microseconds: time it alone, 2 000 calls per sample
        tp = interleaved({"profile (numba)": lambda: P.joint_mle(L)}, rounds=5, warmup=1, min_sample_ms=20.0)
        tm.update(tp)
        row = {
            "N": N,
            "members": M_O * M_T**N,
            "table_ms": 1e3 * t_table,
            **{k: v["min_ms"] for k, v in tm.items()},
        }
        row["speedup_vs_numba_bf"] = row["brute force (numba)"] / row["profile (numba)"]
        row["speedup_with_table"] = (row["table_ms"] + row["brute force (numba)"]) / (
            row["table_ms"] + row["profile (numba)"]
        )
        if numpy_ok:
            row["speedup_vs_numpy_bf"] = row["brute force (numpy)"] / row["profile (numba)"]
        rows.append(row)
    return rows


def forward(quick: bool) -> dict:
    from mdp import pomdp as P

    rng = np.random.default_rng(1)
    fc = P.random_factored_class(200, 5, 3, 2, 3, 4, rng=rng)
    mc = fc.members()
    obs, acts = P.sample_trajectories(fc.model(0, 0), 100 if quick else 300, rng=rng)
    a = P.log_likelihoods(mc, obs, acts)
    b = P.reference_log_likelihoods(mc.T, mc.E, mc.rho0, obs, acts)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    tm = interleaved(
        {
            "numba": lambda: P.log_likelihoods(mc, obs, acts),
            "numpy": lambda: P.reference_log_likelihoods(mc.T, mc.E, mc.rho0, obs, acts),
        },
        rounds=3 if quick else 7,
        warmup=1,
    )
    pairs = [y / x for x, y in zip(tm["numba"]["samples_ms"], tm["numpy"]["samples_ms"])]
    n_lik = mc.size * obs.shape[0]
    return {
        "models": mc.size,
        "trajectories": int(obs.shape[0]),
        "numba_ms": tm["numba"]["min_ms"],
        "numpy_ms": tm["numpy"]["min_ms"],
        "numba_likelihoods_per_s": n_lik / (tm["numba"]["min_ms"] / 1e3),
        "ratio_numpy_over_numba": float(np.median(pairs)),
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    res = {"joint_mle": joint(args.quick), "forward": forward(args.quick)}
    print("joint MLE, M_O = 200, M_T = 5, 30 episodes per task (min ms over interleaved rounds)")
    print(
        "   N      members   table ms   profile ms   brute numba ms   brute numpy ms   numba bf / profile"
        "   (table + bf) / (table + profile)"
    )
    for r in res["joint_mle"]:
        print(
            f"  {r['N']:2d} {r['members']:12,d} {r['table_ms']:10.1f} {r['profile (numba)']:12.4f} "
            f"{r['brute force (numba)']:16.3f} {r.get('brute force (numpy)', float('nan')):16.1f} "
            f"{r['speedup_vs_numba_bf']:12.1f}x {r['speedup_with_table']:20.2f}x"
        )
    f = res["forward"]
    print(
        f"forward kernel: {f['models']} models x {f['trajectories']} trajectories: numba {f['numba_ms']:.1f} ms, "
        f"numpy {f['numpy_ms']:.1f} ms, ratio {f['ratio_numpy_over_numba']:.1f}x "
        f"({f['numba_likelihoods_per_s']:.3g} trajectory likelihoods/s)"
    )
    output_path(Path(__file__).with_name("latest_psr.json"), args.quick).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
