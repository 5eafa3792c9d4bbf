"""Zero-sum matrix and Markov game benchmarks (issue 3): ``benchmarks/latest_games.json`` and the
"Matrix and Markov games" section of ``docs/benchmarks.md``.

    python -m benchmarks.bench_games [--quick] [--threads 1 2] [--only matrix shapley jit] [--cap 120]

* ``matrix``: 1000 seeded random 5x5 games (standard normal payoffs), every contender solving all of
  them, best of several interleaved rounds with JIT already warm: ``marl.zero_sum_matrix_game``
  (batched numba simplex; serial, and ``parallel=True`` at 2 numba threads), scipy ``linprog``
  (HiGHS) one LP per game, ``marl.zero_sum_lp`` (two HiGHS LPs per game), nashpy
  ``Game.linear_program``, cvxpy with one parametrised problem re-solved per game, QuantEcon
  ``optimize.minmax`` from a Python loop and from an ``@njit`` loop, QuantEcon ``lemke_howson``.
* ``shapley``: Shapley value iteration to a certified 1e-8 on 1000-state games with 5x5 actions;
  ``marl.shapley_value_iteration`` and ``marl.hoffman_karp`` against the same iteration with each
  state's stage game solved by scipy HiGHS (one LP per state) or by QuantEcon ``minmax``. All use
  the same MacQueen stopping certificate (``marl.markov._certify``), so iteration counts agree.
* ``jit``: first-call cost in a fresh process with an empty ``NUMBA_CACHE_DIR``, then in a second
  fresh process with the warm on-disk cache.

Each job is a fresh subprocess with numba and BLAS pinned (``mdp._threads``), like ``run_all``.
Peer-library contenders need the ``bench`` extra (quantecon, nashpy); missing ones are reported as
missing, never silently dropped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks import _common as C

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "benchmarks" / "latest_games.json"
MD_PATH = ROOT / "docs" / "benchmarks.md"


# ----------------------------------------------------------------------------- timing
def best_of(fns: dict, rounds: int, budget_s: float, warmup: int = 1):
    """Interleaved rounds (order rotates); returns ``({name: {min_s, median_s, n}}, {name: last output})``."""
    names = list(fns)
    outs = {}
    for _ in range(warmup):
        for n in names:
            outs[n] = fns[n]()
    times = {n: [] for n in names}
    t0 = time.perf_counter()
    for r in range(rounds):
        for n in names[r % len(names) :] + names[: r % len(names)]:
            t = time.perf_counter()
            outs[n] = fns[n]()
            times[n].append(time.perf_counter() - t)
        if time.perf_counter() - t0 > budget_s and r >= 1:
            break
    return ({n: {"min_s": min(ts), "median_s": float(np.median(ts)), "n": len(ts)} for n, ts in times.items()}, outs)


# ----------------------------------------------------------------------------- matrix games
def _row_lp(A):
    """Row player's LP with scipy HiGHS: ``max v s.t. x^T A >= v, sum x = 1, x >= 0``; returns ``v``."""
    from scipy.optimize import linprog

    k1, k2 = A.shape
    c = np.zeros(k1 + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-A.T, np.ones((k2, 1))])
    A_eq = np.ones((1, k1 + 1))
    A_eq[0, -1] = 0.0
    res = linprog(
        c, A_ub=A_ub, b_ub=np.zeros(k2), A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * k1 + [(None, None)], method="highs"
    )
    return -res.fun


def _qe_njit_loop():
    from numba import njit
    from quantecon.optimize import minmax

    @njit
    def loop(Ms, vals, xs, ys):
        for g in range(Ms.shape[0]):
            v, x, y = minmax(Ms[g])
            vals[g] = v
            xs[g] = x
            ys[g] = y

    return loop


def matrix_contenders(Ms: np.ndarray, threads: int):
    """``(fast, slow, missing)``: dicts name -> callable returning the ``(n,)`` values."""
    import marl

    n, k1, k2 = Ms.shape
    fast, slow, missing = {}, {}, {}
    fast["marl.zero_sum_matrix_game"] = lambda: marl.zero_sum_matrix_game(Ms, parallel=False).value
    from marl import _simplex as K

    kv, klo, kup, kx, ky, kst = (
        np.empty(n),
        np.empty(n),
        np.empty(n),
        np.empty((n, k1)),
        np.empty((n, k2)),
        np.zeros(n, dtype=np.int64),
    )

    def kernel():
        K.solve_batch(Ms, kv, klo, kup, kx, ky, kst)
        return kv.copy()

    fast["marl._simplex.solve_batch (kernel only)"] = kernel
    if threads > 1:
        fast[f"marl.zero_sum_matrix_game parallel ({threads} thr)"] = lambda: (
            marl.zero_sum_matrix_game(Ms, parallel=True).value
        )
    if C.have("quantecon"):
        from quantecon.optimize import minmax

        loop = _qe_njit_loop()
        qv, qx, qy = np.empty(n), np.empty((n, k1)), np.empty((n, k2))

        def qe_njit():
            loop(Ms, qv, qx, qy)
            return qv.copy()

        fast["quantecon minmax (@njit loop)"] = qe_njit
        fast["quantecon minmax (Python loop)"] = lambda: np.array([minmax(Ms[g])[0] for g in range(n)])
        from quantecon.game_theory import NormalFormGame, lemke_howson

        nfgs = [NormalFormGame(np.stack([Ms[g], -Ms[g]], axis=-1)) for g in range(n)]

        def lh():
            out = np.empty(n)
            for g in range(n):
                x, y = lemke_howson(nfgs[g])
                out[g] = x @ Ms[g] @ y
            return out

        fast["quantecon lemke_howson"] = lh
    else:
        missing["quantecon"] = "not installed (pip install rlab[bench])"
    slow["scipy linprog HiGHS (1 LP/game)"] = lambda: np.array([_row_lp(Ms[g]) for g in range(n)])
    slow["marl.zero_sum_lp (HiGHS, 2 LPs/game)"] = lambda: np.asarray(marl.zero_sum_lp(Ms).value)
    if C.have("nashpy"):
        import nashpy

        games = [nashpy.Game(Ms[g], -Ms[g]) for g in range(n)]

        def nash_lp():
            out = np.empty(n)
            for g in range(n):
                x, y = games[g].linear_program()
                out[g] = x @ Ms[g] @ y
            return out

        slow["nashpy Game.linear_program"] = nash_lp
    else:
        missing["nashpy"] = "not installed (pip install rlab[bench])"
    import cvxpy as cp

    A = cp.Parameter((k1, k2))
    x = cp.Variable(k1)
    v = cp.Variable()
    prob = cp.Problem(cp.Maximize(v), [A.T @ x >= v, cp.sum(x) == 1, x >= 0])
    for solver in ("HIGHS", "CLARABEL"):
        if solver not in cp.installed_solvers():
            missing[f"cvxpy {solver}"] = "solver not installed"
            continue

        def cvx(solver=solver):
            out = np.empty(n)
            for g in range(n):
                A.value = Ms[g]
                prob.solve(solver=solver)
                out[g] = v.value
            return out

        slow[f"cvxpy Parameter reuse ({solver})"] = cvx
    return fast, slow, missing


def job_matrix(spec):
    import marl

    rng = np.random.default_rng(spec.get("seed", 0))
    n, k = spec.get("n", 1000), spec.get("k", 5)
    Ms = rng.standard_normal((n, k, k))
    ref = marl.zero_sum_lp(Ms)
    ours = marl.zero_sum_matrix_game(Ms)
    fast, slow, missing = matrix_contenders(Ms, spec["threads"])
    tf, of = best_of(fast, rounds=spec.get("fast_rounds", 30), budget_s=spec.get("fast_budget_s", 30))
    ts, os_ = best_of(slow, rounds=spec.get("slow_rounds", 3), budget_s=spec.get("slow_budget_s", 60))
    outs = {**of, **os_}
    res = {}
    for name, t in {**tf, **ts}.items():
        res[name] = {
            **t,
            "games_per_s": n / t["min_s"],
            "us_per_game": 1e6 * t["min_s"] / n,
            "max_abs_diff_vs_highs": float(np.abs(np.asarray(outs[name]) - ref.value).max()),
            "max_abs_diff_vs_ours": float(np.abs(np.asarray(outs[name]) - ours.value).max()),
        }
    return {
        "n": n,
        "k": k,
        "seed": spec.get("seed", 0),
        "payoffs": "standard normal",
        "reference": "marl.zero_sum_lp (scipy HiGHS, both players' LPs; value = certificate midpoint)",
        "ref_max_gap": float(np.max(ref.gap)),
        "ours_max_gap": float(np.max(ours.gap)),
        "ours_max_abs_diff_vs_highs": float(np.abs(ours.value - ref.value).max()),
        "contenders": res,
        "missing": missing,
    }


# ----------------------------------------------------------------------------- Shapley iteration
def build_game(inst):
    import marl

    return marl.generators.random_zero_sum_game(
        inst["S"],
        inst["A"],
        rng=np.random.default_rng(inst.get("seed", 0)),
        gamma=inst["gamma"],
        concentration=inst.get("concentration", 1.0),
        branching=inst.get("branching"),
        sparse=inst.get("sparse", False),
    )


def shapley_loop(game, stage_values, tol, cap_s):
    """Shapley iteration with a per-state stage solver ``stage_values(q (S, A1, A2)) -> (S,)`` and
    the same MacQueen certificate as ``marl.shapley_value_iteration`` (stage gap taken as 0)."""
    from marl.markov import _certify

    v = np.zeros(game.n_states)
    t0 = time.perf_counter()
    n = 0
    while True:
        q = game.q_values(v)
        tv = stage_values(q)
        n += 1
        mid, half = _certify(game, v, q, tv, 0.0)
        el = time.perf_counter() - t0
        if half <= tol:
            return {"v": mid, "n_iter": n, "time_s": el, "capped": False, "half": half}
        if el > cap_s:
            return {"v": None, "n_iter_done": n, "time_s": el, "capped": True, "half": half, "s_per_iter": el / n}
        v = tv


def job_shapley(spec):
    import marl

    inst = spec["instance"]
    tol = spec.get("tol", 1e-8)
    cap = spec.get("cap_s", 120.0)
    game = build_game(inst)
    small = build_game({**inst, "S": 20})
    marl.shapley_value_iteration(small, tol=tol)
    marl.hoffman_karp(small, tol=tol)
    out = {"methods": {}}
    res, outs = best_of(
        {
            "marl.shapley_value_iteration": lambda: marl.shapley_value_iteration(game, tol=tol),
            "marl.hoffman_karp": lambda: marl.hoffman_karp(game, tol=tol),
        },
        rounds=spec.get("reps", 3),
        budget_s=spec.get("budget_s", 30),
        warmup=0,
    )
    svi = outs["marl.shapley_value_iteration"]
    n_ref = int(svi.n_iter)
    for name, r in outs.items():
        out["methods"][name] = {
            **res[name],
            "n_iter": int(r.n_iter),
            "error_bound": float(r.error_bound),
            "converged": bool(r.converged),
            "max_abs_diff_vs_svi": float(np.abs(r.v - svi.v).max()),
        }
    if not spec.get("peers", True):
        return out
    S = game.n_states
    loops = {}
    from scipy.optimize import linprog  # noqa: F401  (import outside the timed loop)

    loops["per-state scipy linprog HiGHS loop"] = lambda q: np.array([_row_lp(q[s]) for s in range(S)])
    if C.have("quantecon"):
        from quantecon.optimize import minmax

        loops["per-state quantecon minmax (Python loop)"] = lambda q: np.array([minmax(q[s])[0] for s in range(S)])
        qloop = _qe_njit_loop()
        A1, A2 = game.n_actions
        qloop(np.ascontiguousarray(small.q_values(np.zeros(20))), np.empty(20), np.empty((20, A1)), np.empty((20, A2)))

        def qe_njit(q):
            vals = np.empty(S)
            qloop(np.ascontiguousarray(q), vals, np.empty((S, A1)), np.empty((S, A2)))
            return vals

        loops["per-state quantecon minmax (@njit loop)"] = qe_njit
    else:
        out["missing"] = {"quantecon": "not installed"}
    for name, fn in loops.items():
        r = shapley_loop(game, fn, tol, cap)
        rec = {"capped": r["capped"], "cap_s": cap}
        if r["capped"]:
            rec.update(
                {
                    "n_iter_done": r["n_iter_done"],
                    "time_done_s": r["time_s"],
                    "s_per_iter": r["s_per_iter"],
                    "extrapolated_s": r["s_per_iter"] * n_ref,
                    "extrapolated_to_n_iter": n_ref,
                }
            )
        else:
            rec.update(
                {
                    "min_s": r["time_s"],
                    "n": 1,
                    "n_iter": r["n_iter"],
                    "max_abs_diff_vs_svi": float(np.abs(r["v"] - svi.v).max()),
                }
            )
            if r["time_s"] < spec.get("repeat_below_s", 10):  # cheap enough: best of 3
                for _ in range(2):
                    rec["min_s"] = min(rec["min_s"], shapley_loop(game, fn, tol, cap)["time_s"])
                    rec["n"] += 1
        out["methods"][name] = rec
    return out


# ----------------------------------------------------------------------------- JIT
def job_jit(spec):
    t = time.perf_counter()
    import marl
    from marl import matrix  # noqa: F401

    res = {"import_s": time.perf_counter() - t}
    Ms = np.random.default_rng(0).standard_normal((100, 5, 5))
    game = marl.generators.random_zero_sum_game(20, 5, rng=np.random.default_rng(0), gamma=0.9)
    for label, fn in (
        ("zero_sum_matrix_game", lambda: marl.zero_sum_matrix_game(Ms, parallel=False)),
        ("zero_sum_matrix_game_parallel", lambda: marl.zero_sum_matrix_game(Ms, parallel=True)),
        ("shapley_value_iteration", lambda: marl.shapley_value_iteration(game)),
    ):
        t = time.perf_counter()
        fn()
        first = time.perf_counter() - t
        t = time.perf_counter()
        fn()
        res[label] = {"first_s": first, "second_s": time.perf_counter() - t}
    return res


# ----------------------------------------------------------------------------- driver
def _job_main(spec):
    from mdp._threads import pinned_threads, thread_info

    with pinned_threads(spec["threads"]):
        t = time.perf_counter()
        out = {"matrix": job_matrix, "shapley": job_shapley, "jit": job_jit}[spec["task"]](spec)
        out["wall_s"] = time.perf_counter() - t
        out["thread_info"] = thread_info()
    out["loadavg_end"] = list(os.getloadavg())
    print(C.dump(out))


def run_job(spec: dict, threads: int, timeout: float, extra_env: dict | None = None) -> dict:
    return C.run_job(["benchmarks.bench_games", "--job"], spec, threads, timeout, extra_env)


def shapley_instances(quick: bool):
    S = 200 if quick else 1000
    return [
        {"kind": "dense", "S": S, "A": 5, "gamma": 0.9, "concentration": 1.0, "seed": 0},
        {"kind": "sparse", "S": S, "A": 5, "gamma": 0.9, "branching": 10, "sparse": True, "seed": 0},
        {"kind": "sparse", "S": S, "A": 5, "gamma": 0.99, "branching": 10, "sparse": True, "seed": 0},
    ]


def shapley_label(inst):
    if inst["kind"] == "dense":
        return f"dense Dirichlet(1) S={inst['S']} 5x5 gamma={inst['gamma']}"
    return f"CSR branching={inst['branching']} S={inst['S']} 5x5 gamma={inst['gamma']}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--job", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="200-state games, fewer rounds")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--only", nargs="+", default=["matrix", "shapley", "jit"], choices=["matrix", "shapley", "jit"])
    ap.add_argument(
        "--cap",
        type=float,
        default=None,
        help="seconds before a per-state peer loop is cut off "
        "(its total is then extrapolated from its per-iteration time); default 120 (30 with --quick)",
    )
    ap.add_argument(
        "--json",
        default=None,
        help="default benchmarks/latest_games.json for a full run, bench_results/games_<topics>.json otherwise",
    )
    ap.add_argument(
        "--md",
        default=None,
        help="markdown file whose games section is replaced (default "
        "docs/benchmarks.md for a full run, bench_results/games_<topics>.md otherwise)",
    )
    a = ap.parse_args(argv)
    if a.job is not None:
        _job_main(json.loads(a.job))
        return
    from benchmarks.report import splice_games

    full = set(a.only) == {"matrix", "shapley", "jit"} and not a.quick
    tag = "games_" + "_".join(a.only) + ("_quick" if a.quick else "")
    a.json = a.json or str(JSON_PATH if full else ROOT / "bench_results" / f"{tag}.json")
    a.md = a.md or str(MD_PATH if full else ROOT / "bench_results" / f"{tag}.md")
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.md).parent.mkdir(parents=True, exist_ok=True)
    cap = a.cap if a.cap is not None else (30.0 if a.quick else 120.0)
    argv_s = argv if argv is not None else sys.argv[1:]
    results = {
        "command": ("python -m benchmarks.bench_games " + " ".join(argv_s)).strip(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": C.machine_info(),
        "threads": a.threads,
        "cap_s": cap,
        "matrix": [],
        "shapley": [],
        "jit": {},
    }
    results["machine"]["versions"].update({k: C._version(k) for k in ("nashpy", "cvxpy", "highspy", "clarabel")})

    def log(msg):
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)

    if "matrix" in a.only:
        for nt in a.threads:
            log(f"matrix games threads={nt}")
            spec = {
                "task": "matrix",
                "n": 1000,
                "k": 5,
                "seed": 0,
                "fast_rounds": 10 if a.quick else 30,
                "slow_rounds": 2 if a.quick else 3,
            }
            results["matrix"].append({"threads": nt, **run_job(spec, nt, timeout=900)})
    if "shapley" in a.only:
        for inst in shapley_instances(a.quick):
            for nt in a.threads:
                peers = nt == min(a.threads)  # the per-state loops are single-threaded: run them once
                log(f"shapley {shapley_label(inst)} threads={nt} peers={peers}")
                spec = {"task": "shapley", "instance": inst, "tol": 1e-8, "cap_s": cap, "peers": peers}
                results["shapley"].append(
                    {
                        "instance": inst,
                        "label": shapley_label(inst),
                        "threads": nt,
                        **run_job(spec, nt, timeout=4 * cap + 600),
                    }
                )
    if "jit" in a.only:
        cache = tempfile.mkdtemp(prefix="rlab_numba_cache_games_")
        for phase in ("cold", "warm"):
            log(f"jit {phase}")
            results["jit"][phase] = run_job({"task": "jit"}, 1, timeout=900, extra_env={"NUMBA_CACHE_DIR": cache})
        results["jit"]["numba_cache_dir"] = "fresh temporary folder (tempfile.mkdtemp)"
    results["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["machine"]["loadavg_end"] = list(os.getloadavg())
    Path(a.json).write_text(json.dumps(results, indent=1, default=str))
    splice_games(results, a.md)
    log(f"wrote {a.json} and the games section of {a.md}")


if __name__ == "__main__":
    main()
