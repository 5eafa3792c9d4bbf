"""SubPO rollouts (issue 17): ``benchmarks/latest_subrl.json`` and the "SubPO rollouts" section of
``docs/benchmarks.md``.

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_subrl [--quick]

Trajectories per second of one SubPO batch: rollouts of the time-indexed softmax policy and the
coverage marginal gains of every step, numba (:func:`mdp.submodular.subpo`'s kernels) against the same
computation vectorised over the batch in numpy (per step: softmax of ``theta[h, s]`` for all rollouts,
inverse-CDF draws with ``draw_rows``, successors by ``searchsorted`` in the row-shifted CSR cumulative
mass, gains from a ``(B, n_items)`` covered mask). Same uniforms; the two agree state for state.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks import _common as C

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "benchmarks" / "latest_subrl.json"


def _numpy_batch(theta, csr, A, start, u_a, u_s, cover, weights):
    from mdp._common.sampling import draw_rows

    indptr, indices, cdf = csr
    H = theta.shape[0]
    B = u_a.shape[0]
    row_of = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    shifted = cdf + row_of
    s = np.full(B, start, dtype=np.int64)
    covered = cover[s].copy()
    gains = np.empty((B, H + 1))
    gains[:, 0] = covered @ weights
    states = np.empty((B, H + 1), dtype=np.int64)
    states[:, 0] = s
    for h in range(H):
        z = theta[h, s]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        a = draw_rows(np.cumsum(p, axis=1), np.arange(B), u_a[:, h])
        r = s * A + a
        pos = np.searchsorted(shifted, r + u_s[:, h] * cdf[indptr[r + 1] - 1], side="right")
        s = indices[np.minimum(pos, indptr[r + 1] - 1)]
        new = cover[s] & ~covered
        gains[:, h + 1] = new @ weights
        covered |= new
        states[:, h + 1] = s
    return states, gains


def run_case(side, H, B, rng):
    from labs.subrl_coverage import grid5
    from mdp import submodular as sm
    from mdp._common.sampling import cumulative_rows
    from mdp.submodular.subpo import _run

    m = grid5(side).to_sparse()
    f = sm.grid_coverage(side)
    theta = rng.normal(size=(H, m.n_states, 5))
    u_a, u_s = rng.random((B, H)), rng.random((B, H))
    csr = cumulative_rows(m)
    w = np.asarray(f.weights)
    cover = np.asarray(f.cover)

    def numba_batch():
        states, _ = _run(m, theta, 0, u_a, u_s)
        return states, sm.marginal_gains(f, states)

    def numpy_batch():
        return _numpy_batch(theta, csr, 5, 0, u_a, u_s, cover, w)

    a, b = numba_batch(), numpy_batch()
    assert np.array_equal(a[0], b[0]) and np.allclose(a[1], b[1])
    t = C.interleaved({"numba": numba_batch, "numpy": numpy_batch}, rounds=9, min_sample_ms=20)
    return {
        "case": f"{side}x{side} grid, H = {H}, batch {B}",
        "numba_ms": t["numba"]["min_ms"],
        "numpy_ms": t["numpy"]["min_ms"],
        "ratio": C.paired_ratio(t, "numpy", "numba"),
        "min_ratio": t["numpy"]["min_ms"] / t["numba"]["min_ms"],
        "trajectories_per_s_numba": B / (t["numba"]["min_ms"] * 1e-3),
        "trajectories_per_s_numpy": B / (t["numpy"]["min_ms"] * 1e-3),
    }


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    cases = [(10, 30, 256)] if args.quick else [(10, 30, 256), (10, 30, 4096), (30, 80, 500)]
    res = {"machine": C.machine_info(), "rollouts": [run_case(*c, rng) for c in cases]}
    for r in res["rollouts"]:
        print(
            f"{r['case']:32s} numba {r['numba_ms']:8.3f} ms numpy {r['numpy_ms']:8.3f} ms  paired x{r['ratio']:.1f}"
            f"  minima x{r['min_ratio']:.1f}  {r['trajectories_per_s_numba']:.3g} traj/s"
        )
    if not args.quick:
        JSON_PATH.write_text(C.dump(res))
    return res


if __name__ == "__main__":
    main()
