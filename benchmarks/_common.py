"""Shared helpers: interleaved timing, machine/library info, peer-library adapters."""

from __future__ import annotations

import json
import os
import platform
import time

import numpy as np


def interleaved(
    fns: dict, rounds: int = 15, warmup: int = 2, budget_s: float | None = None, min_sample_ms: float = 0.0
) -> dict:
    """Time each callable ``rounds`` times, interleaved (the order rotates every round).

    Interleaving puts every contender under the same background load, which matters on a shared
    machine. With ``min_sample_ms`` each sample times ``reps`` back-to-back calls (the same ``reps``
    for every contender, calibrated in the warm-up so the fastest one's sample lasts at least that
    long) and reports the time per call, which keeps sub-millisecond calls above the timer and
    scheduler noise. Returns ``{name: {"min_ms", "median_ms", "n", "reps", "samples_ms"}}``; ``min`` is
    the usual estimator of the undisturbed cost, ``median`` shows the noise, and ``samples_ms`` (in
    round order) lets a caller form per-round ratios between contenders (:func:`paired_ratio`).
    """
    names = list(fns)
    for _ in range(warmup):
        for n in names:
            fns[n]()
    reps = 1
    if min_sample_ms > 0:
        fastest = float("inf")
        for n in names:
            t = time.perf_counter()
            fns[n]()
            fastest = min(fastest, time.perf_counter() - t)
        reps = max(1, int(np.ceil(min_sample_ms * 1e-3 / max(fastest, 1e-9))))
    times = {n: [] for n in names}
    t_start = time.perf_counter()
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for n in order:
            f = fns[n]
            t = time.perf_counter()
            for _ in range(reps):
                f()
            times[n].append((time.perf_counter() - t) / reps)
        if budget_s is not None and time.perf_counter() - t_start > budget_s and r >= 2:
            break
    return {
        n: {
            "min_ms": 1e3 * min(ts),
            "median_ms": 1e3 * float(np.median(ts)),
            "n": len(ts),
            "reps": reps,
            "samples_ms": [1e3 * x for x in ts],
        }
        for n, ts in times.items()
    }


def paired_ratio(timings: dict, num: str, den: str) -> float | None:
    """Median over rounds of ``num``'s time over ``den``'s time in the same round.

    Both were timed back to back in one process (:func:`interleaved`), so a slow phase of the machine
    (another tenant, memory bandwidth drifting) scales both and cancels in the ratio; the median
    then discards the rounds where it hit only one of them. ``None`` if either is missing.
    """
    a = timings.get(num, {}).get("samples_ms")
    b = timings.get(den, {}).get("samples_ms")
    if not a or not b:
        return None
    n = min(len(a), len(b))
    return float(np.median(np.asarray(a[:n]) / np.asarray(b[:n])))


def _version(mod: str):
    try:
        from importlib.metadata import version

        return version(mod)
    except Exception:
        return None


def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gb = None
    try:
        with open("/proc/meminfo") as f:
            mem_gb = round(int(f.readline().split()[1]) / 2**20, 1)
    except OSError:
        pass
    from mdp._threads import available_cores

    return {
        "cpu": cpu,
        "cores": available_cores(),
        "mem_gb": mem_gb,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            k: _version(k)
            for k in ("numpy", "scipy", "numba", "llvmlite", "threadpoolctl", "quantecon", "pymdptoolbox")
        },
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def have(mod: str) -> bool:
    try:
        __import__(mod)
        return True
    except Exception:
        return False


# ----------------------------------------------------------------------------- peer adapters
def qe_dense(m):
    """QuantEcon ``DiscreteDP`` on the dense ``(S, A, S)`` form of ``m``."""
    from quantecon.markov import DiscreteDP

    return DiscreteDP(np.array(m.R), np.asarray(m.dense_P(), dtype=np.float64), m.gamma)


def qe_sparse(m):
    """QuantEcon ``DiscreteDP`` in its state-action-pair form with a CSR ``Q`` (rows ``s * A + a``)."""
    from quantecon.markov import DiscreteDP

    S, A = m.n_states, m.n_actions
    s_idx = np.repeat(np.arange(S), A)
    a_idx = np.tile(np.arange(A), S)
    Q = m.P.astype(np.float64).tocsr()
    return DiscreteDP(np.array(m.R).ravel(), Q, m.gamma, s_idx, a_idx)


def mdptoolbox_arrays(m):
    """``(P, R)`` in pymdptoolbox's layout: ``P`` ``(A, S, S)`` (a list of CSR for sparse ``m``)."""
    A = m.n_actions
    R = np.array(m.R)
    if m.is_sparse:
        csr = m.P.astype(np.float64).tocsr()
        return [csr[a::A].tocsr() for a in range(A)], R
    return np.ascontiguousarray(np.asarray(m.P, dtype=np.float64).transpose(1, 0, 2)), R


def mdptoolbox_shims():
    """Call-site shims for pymdptoolbox 4.0b3 (applied in the benchmark process only).

    * numpy-2 aliases (``np.float`` etc.) in case a code path reaches for them;
    * ``mdptoolbox.util.isNonNegative`` compares a sparse matrix with 0 (dense ``S x S`` result);
      replaced by the same test on the stored entries;
    * ``mdptoolbox.util.isStochastic`` computes ``matrix.sum(axis=1) - ones(S)``; for a scipy sparse
      matrix the sum is an ``(S, 1)`` np.matrix, so this broadcasts to a dense ``S x S`` array
      (60 GB at S = 90000) and the input check dies before solving. The replacement does the same
      test (max row-sum deviation <= 10 ulp(1), their tolerance) on a flat vector.
    """
    for name, val in (("float", float), ("int", int), ("bool", bool)):
        if not hasattr(np, name):
            setattr(np, name, val)
    import mdptoolbox.util as U
    import scipy.sparse as sp

    if getattr(U.isStochastic, "_rlab_shim", False):
        return
    orig = U.isStochastic

    def isStochastic(matrix):
        if sp.issparse(matrix):
            sums = np.asarray(matrix.sum(axis=1)).ravel()
            return bool(np.abs(sums - 1.0).max() <= 10 * np.spacing(np.float64(1)))
        return orig(matrix)

    orig_nn = U.isNonNegative

    def isNonNegative(matrix):
        # ``matrix >= 0`` on a sparse matrix is True at every implicit zero: S x S entries
        if sp.issparse(matrix):
            return bool(matrix.data.size == 0 or matrix.data.min() >= 0)
        return orig_nn(matrix)

    isStochastic._rlab_shim = True
    U.isStochastic = isStochastic
    U.isNonNegative = isNonNegative


def dump(obj) -> str:
    return json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))


def run_job(module_args: list, spec: dict, threads: int, timeout: float, extra_env: dict | None = None) -> dict:
    """Run ``python -m <module_args...> '<json spec>'`` in a fresh process with numba and BLAS pinned to
    ``threads`` (``mdp._threads.thread_env``); return the JSON of its last output line, or
    ``{"capped": True, ...}`` past ``timeout`` seconds, or ``{"error": stderr tail}``."""
    import json
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from mdp._threads import thread_env

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, **thread_env(threads), "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    if extra_env:
        env.update(extra_env)
    spec = {**spec, "threads": threads}
    t = time.perf_counter()
    try:
        p = subprocess.run(
            [sys.executable, "-m", *module_args, json.dumps(spec)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"capped": True, "cap_s": timeout, "wall_s": time.perf_counter() - t}
    if p.returncode != 0:
        return {"error": p.stderr[-2000:], "wall_s": time.perf_counter() - t}
    return json.loads(p.stdout.strip().splitlines()[-1])


def output_path(path, quick: bool):
    """Where a benchmark writes ``path`` (a committed ``benchmarks/latest_*.json`` or section file):
    ``path`` itself for a full run; for a ``--quick`` smoke run ``bench_results/<stem>_quick<suffix>``
    (git-ignored), so a quick run never overwrites the recorded results."""
    from pathlib import Path

    path = Path(path)
    if not quick:
        return path
    out = Path(__file__).resolve().parent.parent / "bench_results" / f"{path.stem}_quick{path.suffix}"
    out.parent.mkdir(parents=True, exist_ok=True)
    return out
