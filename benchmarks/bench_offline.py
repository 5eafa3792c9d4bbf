"""Edge-of-reach buffers (issue 17): ``benchmarks/latest_offline.json`` and the "Edge-of-reach buffers"
section of ``docs/benchmarks.md``.

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m benchmarks.bench_offline [--quick]

* ``buffer_sweeps``: ``n`` synchronous critic sweeps of :func:`mdp.offline.buffer_q_iteration` (numba
  kernel on the aggregated buffer) against the same sweeps vectorised in numpy (``min`` over the
  ensemble, ``max`` over actions, ``np.add.reduceat`` over the buffer's pairs), interleaved rounds, JIT
  warm; the aggregation of the buffer is shared and not timed.
* ``rollouts``: ``n_rollouts`` ``k``-step rollouts of :func:`mdp.offline.model_rollouts` (numba) against
  the same rollouts vectorised over the batch in numpy (per step: the actions by
  ``mdp._common.sampling.draw_rows``, the successors by one ``searchsorted`` in the row-shifted CSR
  cumulative mass), same uniforms, identical trajectories.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks import _common as C

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "benchmarks" / "latest_offline.json"


def _numpy_sweeps(q, pairs, rbar, indptr, nxt, w, gamma, n):
    N, S, A = q.shape
    q = q.copy()
    flat = q.reshape(N, S * A)
    for _ in range(n):
        V = q.min(axis=0).max(axis=1)
        y = rbar + gamma * np.add.reduceat(w * V[nxt], indptr[:-1])
        flat[:, pairs] = y
    return q


def buffer_sweeps(quick: bool):
    import mdp
    from mdp import offline as off
    from mdp.offline.critics import _aggregate, _sweeps

    rng = np.random.default_rng(0)
    out = []
    for side, n_roll, k in ((15, 2000, 5), (100, 20_000, 10)) if not quick else ((15, 2000, 5),):
        m = mdp.generators.gridworld(side, side, slip=0.1, gamma=0.95)
        S, A = m.n_states, m.n_actions
        buf = off.model_rollouts(m, np.full((S, A), 1 / A), np.arange(S), k, n_rollouts=n_roll, rng=rng)
        pairs, rbar, indptr, nxt, w = _aggregate(buf, S, A, None)
        for N in (1, 10):
            q0 = rng.normal(size=(N, S, A))
            n = 20
            res = np.empty(n)
            pim = np.zeros((S, A))

            def numba_run(q0=q0):
                q = q0.copy()
                _sweeps(q, pairs, rbar, indptr, nxt, w, 0.95, 1.0, pim, False, n, res)
                return q

            def numpy_run(q0=q0):
                return _numpy_sweeps(q0, pairs, rbar, indptr, nxt, w, 0.95, n)

            assert np.allclose(numba_run(), numpy_run(), atol=1e-10)
            t = C.interleaved({"numba": numba_run, "numpy": numpy_run}, rounds=9, min_sample_ms=20)
            out.append(
                {
                    "case": f"grid {side}x{side}, {len(buf)} transitions, {pairs.size} pairs, N = {N}, {n} sweeps",
                    "numba_ms": t["numba"]["min_ms"],
                    "numpy_ms": t["numpy"]["min_ms"],
                    "ratio": C.paired_ratio(t, "numpy", "numba"),
                    "min_ratio": t["numpy"]["min_ms"] / t["numba"]["min_ms"],
                }
            )
    return out


def _numpy_rollouts(m, pi_cdf, starts, k, u_a, u_s, csr):
    """Vectorised over the batch: the successor of row ``r`` with uniform ``u`` is found by one
    ``searchsorted`` in the CSR cumulative mass shifted by the row index (``cdf + r``, increasing)."""
    from mdp._common.sampling import draw_rows

    indptr, indices, cdf = csr
    S, A = m.n_states, m.n_actions
    row_of = np.repeat(np.arange(S * A), np.diff(indptr))
    shifted = cdf + row_of  # every row's mass is 1
    s = starts.copy()
    out_s, out_a, out_n = (np.empty((starts.size, k), dtype=np.int64) for _ in range(3))
    for t in range(k):
        a = draw_rows(pi_cdf, s, u_a[:, t])
        r = s * A + a
        pos = np.searchsorted(shifted, r + u_s[:, t] * cdf[indptr[r + 1] - 1], side="right")
        s2 = indices[np.minimum(pos, indptr[r + 1] - 1)]
        out_s[:, t], out_a[:, t], out_n[:, t] = s, a, s2
        s = s2
    return out_s, out_a, m.R[out_s, out_a], out_n


def rollouts(quick: bool):
    import mdp
    from mdp._common.sampling import cumulative_rows
    from mdp.offline.data import _rollouts

    rng = np.random.default_rng(1)
    out = []
    for side, n_roll, k in ((15, 10_000, 5), (30, 10_000, 50)) if not quick else ((15, 2000, 5),):
        m = mdp.generators.gridworld(side, side, slip=0.1, gamma=0.95)
        S, A = m.n_states, m.n_actions
        pi = rng.dirichlet(np.ones(A), size=S)
        pi_cdf = np.ascontiguousarray(np.cumsum(pi, axis=1))
        starts = rng.integers(0, S, size=n_roll)
        u_a, u_s = rng.random((n_roll, k)), rng.random((n_roll, k))
        indptr, indices, cdf = cumulative_rows(m)
        n = n_roll * k
        bufs = [np.empty(n, dtype=np.int64) for _ in range(4)]
        rr = np.empty(n)

        def numba_run():
            _rollouts(indptr, indices, cdf, m.R, pi_cdf, starts, k, u_a, u_s, bufs[0], bufs[1], rr, bufs[2], bufs[3])

        def numpy_run():
            return _numpy_rollouts(m, pi_cdf, starts, k, u_a, u_s, (indptr, indices, cdf))

        numba_run()
        ns, na, _, nn = numpy_run()
        assert np.array_equal(bufs[0].reshape(n_roll, k), ns) and np.array_equal(bufs[2].reshape(n_roll, k), nn)
        t = C.interleaved({"numba": numba_run, "numpy": numpy_run}, rounds=9, min_sample_ms=20)
        out.append(
            {
                "case": f"grid {side}x{side} (slip 0.1), {n_roll} rollouts x k = {k}",
                "numba_ms": t["numba"]["min_ms"],
                "numpy_ms": t["numpy"]["min_ms"],
                "ratio": C.paired_ratio(t, "numpy", "numba"),
                "min_ratio": t["numpy"]["min_ms"] / t["numba"]["min_ms"],
                "transitions_per_s_numba": n / (t["numba"]["min_ms"] * 1e-3),
            }
        )
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    res = {"machine": C.machine_info(), "buffer_sweeps": buffer_sweeps(args.quick), "rollouts": rollouts(args.quick)}
    for part in ("buffer_sweeps", "rollouts"):
        for r in res[part]:
            print(
                f"{part:14s} {r['case']:70s} numba {r['numba_ms']:9.3f} ms  numpy {r['numpy_ms']:9.3f} ms  paired x{r['ratio']:.1f}  of minima x{r['min_ratio']:.1f}"
            )
    if not args.quick:
        JSON_PATH.write_text(C.dump(res))
    return res


if __name__ == "__main__":
    main()
