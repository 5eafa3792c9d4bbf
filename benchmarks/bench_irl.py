"""Entropy-regularised solvers and MAMQL (issue 15): ``benchmarks/latest_irl.json`` and the
"Soft value iteration and MAMQL" section of ``docs/benchmarks.md``.

    NUMBA_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m benchmarks.bench_irl [--quick]

* ``soft_sweep``: one soft Bellman sweep ``v <- (1/lam) logsumexp(lam (R + gamma P v))``:
  the numba kernel of :func:`mdp.soft_value_iteration` (``_soft_sweep_dense``/``_sparse``) against
  the same sweep in numpy/scipy (``einsum`` or ``scipy.sparse`` matvec, then
  ``scipy.special.logsumexp``), interleaved rounds, JIT warm; also the full solve to a certified
  1e-8 (kernel loop vs the numpy loop with the same stopping rule).
* ``mamql_fit``: :func:`marl.irl.mamql` on the 256-joint-state gems game (both agents) from 200
  demonstrations of 30 steps and from the exact occupancy, wall time on one core (JIT warm).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks import _common as C

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "benchmarks" / "latest_irl.json"


def _numpy_sweep_dense(P, R, gamma, lam, v):
    from scipy.special import logsumexp

    q = R + gamma * np.einsum("sat,t->sa", P, v)
    return logsumexp(lam * q, axis=1) / lam


def _numpy_sweep_sparse(Pcsr, R, gamma, lam, v):
    from scipy.special import logsumexp

    q = R + gamma * (Pcsr @ v).reshape(R.shape)
    return logsumexp(lam * q, axis=1) / lam


def soft_sweep(quick: bool):
    import mdp
    from mdp.solvers.soft_value_iteration import _soft_sweep_dense, _soft_sweep_sparse

    rng = np.random.default_rng(0)
    from marl.envs import gems_v0
    from marl.irl import induced_mdp

    gems = gems_v0.model()
    cases = [
        ("gems induced MDP (S=256, A=5, CSR)", induced_mdp(gems, 0, np.full((256, 5), 0.2))),
        ("dense random S=50 A=4", mdp.generators.random_mdp(50, 4, rng=rng, gamma=0.95)),
        ("dense random S=500 A=8", mdp.generators.random_mdp(500, 8, rng=rng, gamma=0.95)),
        ("sparse gridworld 100x100 (S=10^4, A=4)", mdp.generators.gridworld(100, 100, gamma=0.95)),
    ]
    if not quick:
        cases.insert(1, ("dense random S=2000 A=8", mdp.generators.random_mdp(2000, 8, rng=rng, gamma=0.95)))
    lam = 5.0
    out = []
    for name, m in cases:
        S, A = m.n_states, m.n_actions
        v = rng.normal(size=S)
        q = np.empty((S, A))
        vo = np.empty(S)
        if m.is_sparse:
            indptr, indices, data = m.csr_arrays()
            Pcsr = m.P
            args = (indptr, indices, data, m.R, m.gamma, lam, v, q, vo)
            fns = {
                "numba kernel": lambda a=args: _soft_sweep_sparse(*a),
                "numpy/scipy logsumexp": lambda a=(Pcsr, m.R, m.gamma, lam, v): _numpy_sweep_sparse(*a),
            }
        else:
            P = np.asarray(m.P)
            fns = {
                "numba kernel": lambda a=(P, m.R, m.gamma, lam, v, q, vo): _soft_sweep_dense(*a),
                "numpy/scipy logsumexp": lambda a=(P, m.R, m.gamma, lam, v): _numpy_sweep_dense(*a),
            }
        t = C.interleaved(fns, rounds=7 if quick else 15, min_sample_ms=20)
        ratio = C.paired_ratio(t, "numpy/scipy logsumexp", "numba kernel")
        # full solves to a certified 1e-8 (same stopping rule)
        t0 = time.perf_counter()
        res = mdp.soft_value_iteration(m, lam, tol=1e-8)
        t_k = time.perf_counter() - t0
        t0 = time.perf_counter()
        vv = np.zeros(S)
        thresh = 1e-8 * (1 - m.gamma) / m.gamma
        n_ref = 0
        while True:
            nv = (
                _numpy_sweep_sparse(m.P, m.R, m.gamma, lam, vv)
                if m.is_sparse
                else _numpy_sweep_dense(np.asarray(m.P), m.R, m.gamma, lam, vv)
            )
            n_ref += 1
            d = np.abs(nv - vv).max()
            vv = nv
            if d <= thresh:
                break
        t_r = time.perf_counter() - t0
        out.append(
            {
                "case": name,
                "sweep_kernel_ms": t["numba kernel"]["min_ms"],
                "sweep_numpy_ms": t["numpy/scipy logsumexp"]["min_ms"],
                "sweep_ratio": ratio,
                "solve_kernel_s": t_k,
                "solve_numpy_s": t_r,
                "solve_ratio": t_r / t_k,
                "sweeps_kernel": res.n_iter,
                "sweeps_numpy": n_ref,
                "max_diff": float(np.abs(vv - res.v).max()),
            }
        )
    return out


def mamql_fit(quick: bool):
    from marl.envs import gems_v0
    from marl.irl import (
        logit_equilibrium,
        mamql,
        occupancy_measure,
        sample_demonstrations,
    )

    g = gems_v0.model()
    t0 = time.perf_counter()
    eq = logit_equilibrium(g, 5.0)
    t_eq = time.perf_counter() - t0
    mu = gems_v0.start_distribution()
    occ = occupancy_measure(g, eq.policies, mu)
    demos = sample_demonstrations(g, eq.policies, mu, n_trajectories=200, horizon=30, rng=np.random.default_rng(0))
    mamql(g, demos, 5.0, max_iter=3)  # JIT warm-up
    out = {"logit_equilibrium_s": t_eq, "equilibrium_rounds": eq.n_iter}
    for label, data in (("demonstrations (200 x 30)", demos), ("exact occupancy", occ)):
        for phi in ("chi2", "linear"):
            best = np.inf
            for _ in range(1 if quick else 3):
                t0 = time.perf_counter()
                r = mamql(g, data, 5.0, phi=phi)
                best = min(best, time.perf_counter() - t0)
            out[f"{label}, {phi}"] = {"seconds": best, "lbfgs_iterations": r.n_iter.tolist(), "converged": r.converged}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    res = {
        "machine": C.machine_info() if hasattr(C, "machine_info") else {},
        "soft_sweep": soft_sweep(args.quick),
        "mamql_fit": mamql_fit(args.quick),
    }
    C.output_path(JSON_PATH, args.quick).write_text(json.dumps(res, indent=2, default=float))
    for row in res["soft_sweep"]:
        print(
            f"{row['case']}: sweep {row['sweep_kernel_ms']:.3f} ms vs {row['sweep_numpy_ms']:.3f} ms "
            f"(x{row['sweep_ratio']:.1f}); solve {row['solve_kernel_s']:.3f} s vs {row['solve_numpy_s']:.3f} s "
            f"(x{row['solve_ratio']:.1f}), {row['sweeps_kernel']}/{row['sweeps_numpy']} sweeps"
        )
    for k, v in res["mamql_fit"].items():
        print(k, v)


if __name__ == "__main__":
    main()
