"""Bayesian-network policy benchmarks (issue 16): ``benchmarks/latest_bn.json`` and the section
"Bayesian-network policies" of ``docs/benchmarks.md`` (pasted from this script's markdown output).

    NUMBA_NUM_THREADS=1 python -m benchmarks.bench_bn [--quick]

* ``gradient``: the exact BN policy gradient (value, ``Q``, visitation and gradient) of a dense
  random cooperative game with ``S = 100`` states, 3 agents x 3 actions and the full DAG
  ``0 -> 1 -> 2, 0 -> 2``: :func:`marl.bn.bn_policy_gradient` (validation + fused numba kernel) and the
  bare kernel against the plain-numpy twin :func:`marl.bn.reference_bn_policy_gradient`, interleaved
  rounds, JIT warm. Peer: the numpy twin (no library computes BN policy gradients).
* ``ascent``: the lab's batched matrix-game ascent, 1000 initialisations x 5000 exact-gradient steps on
  the climbing game, for each mode; the numpy twin (vectorised over initialisations) is timed on 500
  steps and its per-step cost scaled by 10 (it would take a minute per mode otherwise).

Timings are single-threaded (the kernels are serial) on whatever machine runs the script: the
markdown output names it.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from benchmarks import _common as C

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "benchmarks" / "latest_bn.json"


def bench_gradient(quick: bool) -> dict:
    from marl.bn import (
        CooperativeGame,
        bn_policy_gradient,
        check_parents,
        random_theta,
        reference_bn_policy_gradient,
    )
    from marl.bn.gradient import _pack, _value_grad_dense

    rng = np.random.default_rng(0)
    S, A = 100, (3, 3, 3)
    P = rng.dirichlet(np.ones(S), size=(S, *A))
    game = CooperativeGame(P, rng.normal(size=(S, *A)), 0.95)
    parents = check_parents([(), (0,), (0, 1)], 3)
    theta = random_theta(game, parents, rng=rng)
    packed = _pack(game, parents, theta)
    P3, R2, mu = game.dense_joint_P(), np.ascontiguousarray(game.joint_mdp.R), np.asarray(game.mu)
    J = game.n_joint
    bufs = (
        np.empty_like(packed.flat),
        np.empty((S, J)),
        np.empty(S),
        np.empty((S, J)),
        np.empty(S),
        np.empty_like(packed.flat),
    )

    def kernel():
        return _value_grad_dense(
            P3, R2, game.gamma, mu, packed.flat, packed.off, packed.K, packed.A, packed.par_ptr, packed.par_idx, *bufs
        )

    fns = {
        "bn_policy_gradient": lambda: bn_policy_gradient(game, parents, theta),
        "fused kernel (no validation)": kernel,
        "numpy twin": lambda: reference_bn_policy_gradient(game, parents, theta),
    }
    a = bn_policy_gradient(game, parents, theta)
    b = reference_bn_policy_gradient(game, parents, theta)
    agree = max(float(np.abs(x - y).max()) for x, y in zip(a.grad, b[0]))
    res = C.interleaved(fns, rounds=5 if quick else 15, warmup=2, min_sample_ms=20.0)
    twin = res["numpy twin"]["min_ms"]
    return {
        "S": S,
        "agents": 3,
        "actions": 3,
        "dag": "full",
        "max_abs_difference": agree,
        "contenders": {
            n: {"min_ms": r["min_ms"], "median_ms": r["median_ms"], "speedup_vs_twin": twin / r["min_ms"]}
            for n, r in res.items()
        },
    }


def bench_ascent(quick: bool) -> dict:
    from marl.bn.matrix import (
        _MODES,
        CLIMBING,
        bn_matrix_ascent,
        reference_bn_matrix_ascent,
    )

    n_init, steps, twin_steps = (1000, 1000, 100) if quick else (1000, 5000, 500)
    out = {}
    for mode, kw in (("independent", {}), ("edge", {}), ("learned_edge", {"distill": 1.0})):
        bn_matrix_ascent(CLIMBING, mode=mode, n_init=4, steps=2, rng=np.random.default_rng(0), **kw)  # JIT
        t = time.perf_counter()
        bn_matrix_ascent(CLIMBING, mode=mode, n_init=n_init, steps=steps, rng=np.random.default_rng(0), **kw)
        kern = time.perf_counter() - t
        rng = np.random.default_rng(0)
        th = (
            rng.normal(size=(n_init, 3)),
            rng.normal(size=(n_init, 3)),
            rng.normal(size=(n_init, 3, 3)),
            np.zeros(n_init),
        )
        t = time.perf_counter()
        reference_bn_matrix_ascent(CLIMBING, _MODES[mode], *th, 0.1, twin_steps, 1.0, kw.get("distill", 0.0))
        twin = (time.perf_counter() - t) * steps / twin_steps
        out[mode] = {
            "n_init": n_init,
            "steps": steps,
            "kernel_s": kern,
            "numpy_twin_s_scaled": twin,
            "speedup_vs_twin": twin / kern,
        }
    return out


def markdown(data: dict) -> str:
    g = data["gradient"]
    lines = [
        "## Bayesian-network policies",
        "",
        f"`NUMBA_NUM_THREADS=1 python -m benchmarks.bench_bn` on {data['machine']}, {data['date']}.",
        "",
        (
            f"Exact BN policy gradient, dense random cooperative game, S = {g['S']}, {g['agents']} agents x "
            f"{g['actions']} actions, full DAG (gradients agree to {g['max_abs_difference']:.1e}); best of interleaved "
            "rounds, JIT warm:"
        ),
        "",
        "| contender | min ms | median ms | speed-up vs numpy twin |",
        "|---|---:|---:|---:|",
    ]
    for n, r in g["contenders"].items():
        lines.append(f"| {n} | {r['min_ms']:.3f} | {r['median_ms']:.3f} | {r['speedup_vs_twin']:.1f}x |")
    lines += [
        "",
        (
            "Batched matrix-game ascent (climbing game), one call, JIT warm; the numpy twin's time is its "
            "per-step cost measured on a tenth of the steps, scaled:"
        ),
        "",
        "| mode | inits x steps | numba s | numpy twin s (scaled) | speed-up |",
        "|---|---|---:|---:|---:|",
    ]
    for mode, r in data["ascent"].items():
        lines.append(
            f"| {mode} | {r['n_init']} x {r['steps']} | {r['kernel_s']:.2f} | {r['numpy_twin_s_scaled']:.1f} "
            f"| {r['speedup_vs_twin']:.0f}x |"
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
        "gradient": bench_gradient(args.quick),
        "ascent": bench_ascent(args.quick),
    }
    C.output_path(JSON_PATH, args.quick).write_text(json.dumps(data, indent=1, default=float))
    print(markdown(data))


if __name__ == "__main__":
    main()
