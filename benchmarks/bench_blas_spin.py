"""How much do a peer's spinning BLAS threads slow our numba threads when both share one process?

OpenBLAS worker threads busy-wait for ``2^OPENBLAS_THREAD_TIMEOUT`` cycles (default 2^28, ~0.1 s)
after every call. When ``mdp.solve`` and QuantEcon's MPI are timed interleaved in one process with
two threads each (as ``benchmarks.run_all`` does, so that both see the same machine load), a
spinning OpenBLAS thread holds one of the two cores while numba's parallel kernels need both.

This script times ``mdp.solve(m, tol=1e-8)`` against QuantEcon's ``modified_policy_iteration``
(``epsilon = 2e-8``) on the dense S = 2000, A = 8, gamma = 0.99 model, interleaved, in fresh
processes with the default spin time and with ``OPENBLAS_THREAD_TIMEOUT=4`` (threads sleep at once),
and prints both ratios::

    python -m benchmarks.bench_blas_spin [--threads 2] [--reps 7]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

_CHILD = r"""
import json, sys, time
import numpy as np
import mdp, quantecon as qe
m = mdp.generators.random_mdp(2000, 8, rng=np.random.default_rng(0), gamma=0.99)
ddp = qe.markov.DiscreteDP(m.R, m.P, 0.99)
ours = lambda: mdp.solve(m, tol=1e-8)
peer = lambda: ddp.solve(method="modified_policy_iteration", epsilon=2e-8, max_iter=10**7)
ours(); peer()
to, tp = [], []
for _ in range(int(sys.argv[1])):
    t = time.perf_counter(); ours(); to.append(time.perf_counter() - t)
    t = time.perf_counter(); peer(); tp.append(time.perf_counter() - t)
print(json.dumps({"ours_min": min(to), "peer_min": min(tp), "ours_median": float(np.median(to)),
                  "peer_median": float(np.median(tp))}))
"""


def run(threads: int, reps: int, extra: dict) -> dict:
    from mdp._threads import thread_env

    env = {**os.environ, **thread_env(threads), **extra}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(reps)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args(argv)
    for label, extra in (
        ("default OpenBLAS spin", {}),
        ("OPENBLAS_THREAD_TIMEOUT=4", {"OPENBLAS_THREAD_TIMEOUT": "4"}),
    ):
        r = run(args.threads, args.reps, extra)
        print(
            f"{label:28s} threads={args.threads}: mdp.solve {r['ours_min'] * 1e3:6.1f} ms, "
            f"QuantEcon MPI {r['peer_min'] * 1e3:6.1f} ms, ratio {r['ours_min'] / r['peer_min']:.2f} "
            f"(medians {r['ours_median'] / r['peer_median']:.2f})"
        )


if __name__ == "__main__":
    main()
