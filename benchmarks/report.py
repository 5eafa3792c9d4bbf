"""Turn ``benchmarks/latest.json`` into ``docs/benchmarks.md`` (``python -m benchmarks.report``), and
``benchmarks/latest_games.json`` into its games section (``python -m benchmarks.report --games``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ANCHOR_SOLVERS = (
    "quantecon:policy_iteration",
    "quantecon:modified_policy_iteration",
    "pymdptoolbox:PolicyIteration",
    "pymdptoolbox:PolicyIterationModified",
)


NOTES = """## How `mdp.solve` gets there (and stays certified)

`mdp.solve` is modified policy iteration with MacQueen span bounds and adaptive evaluation
(`mdp/solvers/solve.py`). Every outer step is a check: one Jacobi Bellman application at `v` giving
`T v`, the greedy policy and `D = T v - v`; then `v + min(D)/(1-gamma) <= v* <= v + max(D)/(1-gamma)`
(Puterman 1994, Thm 6.6.3 plus `min D <= D <= max D`), so the answer `v + (min D + max D)/(2(1-gamma))`
is certified to `span(D)/(2(1-gamma)) <= tol`. The first check at `v = 0` costs nothing (`q = R`).

* dense checks read only the rows of `P` that can win (added 2026-11-26; a per-sweep test for
  suboptimal actions after MacQueen 1967 and Puterman 1994 Sec. 6.7, inequality derived in the
  module docstring). Upper bounds `ub >= q` are kept from the previous check; as `P >= 0`, `q(s, a)`
  can have grown by at most `gamma sigma max(v - v_prev)`. The previous greedy action is computed
  from the gathered `P_pi` block, and an action whose grown bound is below a `q` already computed
  at `s` is skipped. `T v`, the greedy policy and the certificate are those of a full sweep (a
  hypothesis test compares the kernel with a full sweep and a numpy twin). On the S=2000 model the
  two checks read 24% and 14% of `P` (the `P_pi` block alone is 12.5%), which took the solve from
  37 ms to 22 ms at one thread and from 30 ms to 14 ms at two. The other entries of `q` are then not
  at hand, so a dense solve's `q` is computed on first access (one sweep, then kept; pickling or
  copying the result computes it first). Peers return no `q`; the `mdp.solve+q` rows time the
  solve plus that access (with it: 0.41x and 0.35x of the best anchor at one thread, 0.44x and 0.47x
  at two, S = 500 and 2000, in the 2026-12-06 run; 0.29-0.54x in earlier runs).
* sparse checks are full sweeps; their `q` is the sweep's `q` shifted by a constant (no extra sweep).

Between checks:

* dense: `P_pi` is gathered into a contiguous `(S, S)` block and iterated (Jacobi, multithreaded)
  until `span(T_pi u - u) <= (1-gamma) tol / 2`, or until the observed contraction predicts that
  the next application (done by the check) gets there, or `4A` sweeps; each costs `1/A` of a
  full sweep.
* sparse: Gauss-Seidel sweeps alternating the state order: Bellman sweeps (improving the policy
  in place; values cross a gridworld in one pass) until no action switches, then `T_pi` sweeps
  (one CSR row per state). Policy iteration with an exact sparse solve was tried during development
  (on this machine, not part of this suite) and rejected: one SuperLU factorisation of the
  10^6-state gridworld's policy system took 9 s (MMD_AT_PLUS_A) to 17 s (COLAMD), and Howard PI
  from the default policy needs on the order of the grid's side length of them. Over-relaxation
  (SOR) and Aitken extrapolation of the Gauss-Seidel sweeps were also tried; neither helped.
* rows that are stochastic only up to the model's `atol` or float32 rounding (~1e-7): every
  `1/(1-gamma)` above becomes `1/(1-gamma sigma)` with `sigma` the largest or smallest stored row
  sum, whichever keeps the bound valid for the sign of the shift (`mdp.solvers._core.macqueen_bounds`),
  and `q` is shifted by `gamma * shift * (P 1)`; float32 models therefore need a few more sweeps.

Kernel calls touching fewer than 2^21 entries (the full sweeps of the S=500 model, the evaluation
sweeps of any model with S < 1449) run single-threaded: they take well under a millisecond, and on
this busy 2-core machine a parallel launch can wait a whole scheduler slice for a worker thread
(see the 2-thread medians in the sweep table). That is why the 2-thread S=500 solve uses 1 thread.

## Interference between contenders at 2 threads

After every BLAS call OpenBLAS keeps its worker thread spinning for `2^28` cycles (~0.1 s),
holding one of the two cores while numba's parallel kernels need both
(`python -m benchmarks.bench_blas_spin` measures it: `mdp.solve` 0.71x QuantEcon MPI with the default
spin, 0.42x with `OPENBLAS_THREAD_TIMEOUT=4`, in one run). Since 2026-11-26 the sweep benchmark runs
the numba contenders (ours and the floor) and the BLAS/scipy anchors in two separate processes per
instance, and every `solve` job times one method in its own process, so the spin no longer reaches
our kernels. What remains is the machine: this is a 2-core virtual machine, and three sweep runs on
the same day gave, at 2 threads on dense S=2000, floor times of 4.3, 7.4 and 7.0 ms and anchor
times of 5.4, 5.7 and 7.1 ms for the same code. 2-thread ratios should be read with that spread.

## Goals not met, and why

* **Dense float64 sweep vs the streaming floor (goal 1.1x).** This run's per-round paired ratios
  are in the goals table; the runs since 2026-11-25 gave 1.15-1.25x (S=500) and 1.14-1.34x (S=2000)
  at one thread, 1.22-1.35x and 1.08-1.21x at two (as ratios of minima, 1.09-1.46x). The S=2000
  two-thread case met the goal in two of these four runs (1.08x, 1.09x). The sweep is faster than both anchors at one
  thread in every run (0.58-0.92x) and at two threads on S=2000 (0.67-0.94x); at two threads on
  S=500 (a 0.1 ms sweep) it was 0.83-1.06x. Two separate causes, both measured:
  - *`v` falls out of L1 once a row of `P` plus `v` fill it* (S >= ~2000 doubles; see the L1 scan
    above). The sweep streams `P` exactly like the floor, but rereads all of `v` for every row; with
    16 S bytes at or above the 32 KiB L1, the row streaming past evicts `v` before the next row needs
    it. The scans show sweep/floor rising from 0.94-1.02x (S=1024) to 1.40-1.58x (S=2560) while the
    short-`v` control (same stream, same loads and FMAs, an 8 S-byte vector) stays at 0.90-1.04x
    at every size. So the gap is the L2 refills of `v`, not arithmetic or the `P` stream.
  - *At S=500 `P` (16 MB) is L3-resident*, so the "floor" is an L3 floor and a dot product's
    second load per element (of `v`) costs what a sum does not: a bare row-by-row dot product over
    `P` as `(S*A, S)`, with no maximum and no `R`, measured 1.19-1.28x the floor in the same process
    (2026-12-06), as slow as the sweep itself (1.22-1.30x); with 256-bit instead of 512-bit vectors
    (`NUMBA_CPU_NAME=znver3`) both stay the same (1.23-1.27x).
  Tried on 2026-11-26 and rejected (each measured against the floor in the same process, numbers in
  the commit log): blocking over `v` across the A rows of a state (8 interleaved streams, 1.9-2.8x),
  register-sharing `v` over 2 or 4 rows (1.2-1.45x), alternating row direction so `v` is reused from
  the end (descending streams defeat the prefetchers here: 2-7x), a column-panel copy of `P` (the dot
  alone reached 0.95x, the full Bellman sweep over it 1.2-1.45x, plus a copy of `P`), two or three
  column passes over all rows (1.7-3.3x), and software prefetch (`prefetchnta`/`prefetcht0`,
  1.3-1.9x). Tried in a later session and rejected as well: a "snake" over column chunks (each
  row read in 2-8 KB ascending chunks, chunk order reversed on every other row so the part of `v`
  used last is reused first; 1.7-2.5x at S=2000/2560), and storing every other row reversed so
  memory stays ascending while `v` is read descending (1.5-2.1x; with a reversed copy of `v`
  instead, 1.5-1.7x). Tried on 2026-12-06 (one thread, S=2000 unless said): the A rows of a state
  interleaved in 0.5-4 KB chunks with row `a` skewed `a` chunks behind (so the streams never share
  an L1 set and each chunk of `v` is reused A times within a few KB; 1.7-2.4x, 2.3x at S=500; 1.32x
  with 8 KB chunks);
  register-sharing `v` over 2 and 4 rows again (1.48x and 1.26x; 1.5x and 1.4x at S=500);
  evicting each consumed 512 B-2 KB chunk of `P` with `clflushopt` so that only `v` stays in L1
  (1.53-1.63x, against 1.17-1.22x for the same chunked loop without it); and `prefetchnta` four
  chunks ahead (1.5-1.6x). This VM's prefetchers want one ascending stream per core, and with one
  stream the vector that a row is multiplied with has to be the whole `v`.
* **Float32 sweep <= 0.6x the anchors' float64 sweep**: met at one thread and at two threads on
  S=2000 in every run, not at two threads on S=500 (0.63-0.8x). There `P` (16 MB) is L3-resident,
  and the float32 sweep is bound by converting each entry to float64 (the sweep accumulates in
  float64, which its round-off certificate needs), not by bytes: the goals table's f32 rows compare
  the float32 streaming floor, which converts and adds each entry and does nothing else, with the
  anchors. In this run it alone takes 0.66x the anchors at two threads on S=500, above the goal, and
  our float32 sweep matches it (0.66x); the same bytes summed in float32 take 0.37x. Meeting the
  goal there would take float32 arithmetic, whose unit round-off (2^-24) would raise every
  certificate's round-off floor by a factor of 2^29.
* **Two-thread comparisons with the anchors** move with the machine: in an earlier run the 2-thread
  S=2000 anchor gemv took 5.3 ms in the anchor passes and 8.3 ms twenty minutes later in a
  standalone check, while our floor and sweep stayed at 7.0-7.3 ms. Numba and BLAS never run in one
  process (see above), so these ratios compare different moments of a shared machine even with the
  two alternating passes now used (at two threads, float64 0.92-0.94x and float32 0.51-0.66x of the
  anchors' float64 on 2026-12-06; 0.67-1.06x and 0.38-0.8x in the run before, 0.83-0.99x and
  0.52-0.63x before that, 0.47-1.9x and 0.41-1.18x earlier).
* **`mdp.solve` <= 0.5x the best anchor** is met at both thread counts since the dense checks skip
  the rows that cannot win (0.23-0.27x at one thread, 0.2-0.39x at two, S = 500 and 2000, in the
  runs since; before that 0.33-0.45x at one thread and 0.44-0.57x at two). On the gridworlds it is
  0.06x or better everywhere. The certificate covers the float64 round-off of its check sweep
  (`docs/algorithms.md`); the worst-case floor is 2.2e-9 on the S = 2000 model, so the certified
  1e-8 costs no extra sweep there (2 checks).
* Fixed on 2026-11-26: the running maximum over actions is now branch-free. The data-dependent
  branch mispredicted and made the sparse sweep of the 10^6-state gridworld take 42 ms at one thread
  (1.28x QuantEcon's scipy matvec + max); it now takes 22 ms (0.64x), 11 ms at two threads (0.33x).
"""


def _f(x, nd=2):
    if x is None:
        return "-"
    if isinstance(x, str):
        return x
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 1 or x == 0:
        return f"{x:.{nd}f}"
    return f"{x:.{nd}g}" if abs(x) >= 1e-3 else f"{x:.1e}"


def _floor_ratio(t, num, den):
    """Paired (per-round median) ratio when the samples are there, else the ratio of the minima."""
    from benchmarks._common import paired_ratio

    x = paired_ratio(t, num, den)
    if x is None:
        a, b = t.get(num, {}).get("min_ms"), t.get(den, {}).get("min_ms")
        x = None if a is None or b is None else a / b
    return x


def l1scan_section(res):
    """Sweep / floor as rows get longer, with the short-``v`` control (``worker.task_l1scan``)."""
    sc = res.get("l1scan")
    if not sc or not sc.get("points"):
        return []
    L = [
        "## Where the dense float64 gap comes from: `v` and one row of `P` against L1",
        "",
        "One thread, dense random `P` with A = 8 and growing S; per-round median ratios as above.",
        "A row of `P` and `v` are `8 S` bytes each and a core's L1 data cache is 32 KiB, so from about",
        "S = 2000 on `v` is evicted by the row streaming past before the next row needs it, and each",
        "element's `v` load is served by L2 next to the `P` stream. `short-v control` streams the same",
        "`P` with the same loads and FMAs per element, but multiplies each half of a row with the *first*",
        "half of `v` (`benchmarks/worker.py:_short_v_kernel`, a diagnostic, not a Bellman sweep): only the",
        "length of the vector it rereads differs.",
        "",
        "| S | P MB | 16 S bytes vs 32 KiB L1 | floor GB/s | ours / floor | short-v control / floor |",
        "|---|---|---|---|---|---|",
    ]
    for pt in sc["points"]:
        t = pt["timings"]
        fl = t["floor_f64"]["min_ms"]
        L.append(
            f"| {pt['S']} | {pt['bytes'] / 1e6:.0f} | {16 * pt['S'] / 32768:.2f}x | {pt['bytes'] / fl / 1e6:.1f} | "
            f"**{_f(_floor_ratio(t, 'ours_f64', 'floor_f64'))}x** | {_f(_floor_ratio(t, 'short_v', 'floor_f64'))}x |"
        )
    return L


def sweep_section(res):
    L = [
        "## One Bellman sweep",
        "",
        "Minimum over interleaved rounds (median in parentheses), milliseconds per call; each sample",
        "times enough back-to-back calls to last >= 5 ms, and each configuration runs as two alternating",
        "pairs of processes (ours+floor, anchors), minimum taken over both. `ours/floor` is the median",
        "over rounds of the per-round ratio (both timed back to back in one process; the ratio of the",
        "minima is in parentheses). `floor` is a streaming",
        "read of the same bytes (`mdp._common.bellman.stream_sum_rows` over `P` as `(S*A, S)` for dense,",
        "a sum over `indptr/indices/data` for CSR) with the same `prange` and thread count. `ours` is",
        "`bellman_dense`/`bellman_sparse` (`T v` and greedy actions); `ours+q` also writes `q`",
        "(`bellman_q_dense`/`bellman_q_sparse`: the sparse check of `mdp.solve`; its dense checks read",
        "only the rows that can win, see below). Anchors: QuantEcon `DiscreteDP.bellman_operator`",
        "(one BLAS gemv + row max for dense; scipy CSR matvec for the sparse sa-pair form) and",
        "pymdptoolbox `ValueIteration._bellmanOperator` (A gemvs / CSR matvecs).",
        "",
        "| instance | thr | floor f64 | ours f64 | ours/floor | ours+q | floor f32 | ours f32 | f32/floor32 | QuantEcon | pymdptoolbox | ours f64 / best anchor | ours f32 / best anchor f64 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in res["sweep"]:
        t = r.get("timings")
        if not t:
            L.append(f"| {r['label']} | {r['threads']} | error: {str(r.get('error', r))[:80]} |")
            continue
        g = lambda k: t.get(k, {}).get("min_ms")  # noqa: E731
        gm = lambda k: t.get(k, {}).get("median_ms")  # noqa: E731
        cell = lambda k: "-" if g(k) is None else f"{_f(g(k))} ({_f(gm(k))})"  # noqa: E731
        anchors = [x for x in (g("quantecon"), g("pymdptoolbox")) if x is not None]
        best = min(anchors) if anchors else None
        L.append(
            f"| {r['label']} | {r['threads']} | {cell('floor_f64')} | {cell('ours_f64')} | "
            f"**{_f(_floor_ratio(t, 'ours_f64', 'floor_f64'))}x** ({_f(g('ours_f64') / g('floor_f64'))}x) | "
            f"{cell('ours_f64_q')} | {cell('floor_f32')} | {cell('ours_f32')} | "
            f"{_f(_floor_ratio(t, 'ours_f32', 'floor_f32'))}x | {cell('quantecon')} | {cell('pymdptoolbox')} | "
            f"**{_f(g('ours_f64') / best) if best else '-'}x** | **{_f(g('ours_f32') / best) if best else '-'}x** |"
        )
    return L


def solve_section(res):
    L = [
        "## Solving to a certified 1e-8",
        "",
        "Wall time of one call (minimum over up to 3 calls, one if it took > 5 s; dense models: best of two alternating passes over all methods), `mdp.solve(m, tol=1e-8)`",
        "against the peers' solvers on the same model in the same thread configuration. JIT compilation",
        "is excluded (compiled on a small model first). `err` is `max |v - V*|` against the reference",
        "named below, so a wrong answer shows. Peers were called with `epsilon = 2e-8` for their",
        "span-based rules (QuantEcon MPI/VI and pymdptoolbox MPI/VI stop when",
        "`span(T v - v) < epsilon (1 - gamma) / gamma`; for QuantEcon's midpoint answer this is the same",
        "guarantee, `||v - v*|| <= 1e-8`) and `max_iter = 10^7` (QuantEcon) / `10^6` (pymdptoolbox) so",
        "that no default iteration cap (QuantEcon's 250, pymdptoolbox MPI's 10) stops them silently.",
        "Policy iteration has no epsilon. Peers that ran past the cap were killed: `capped`.",
        "",
    ]
    by_inst = {}
    for r in res["solve"]:
        by_inst.setdefault((r["label"], r["threads"]), []).append(r)
    L += [
        "| instance | thr | method | time s | iters | err vs V* | time / mdp.solve |",
        "|---|---|---|---|---|---|---|",
    ]
    summary = []
    for (lab, nt), rows in by_inst.items():
        ours = None
        for r in rows:
            m = r.get("methods", {}).get(r["method"])
            if r["method"] == "mdp.solve" and m:
                ours = m["min_s"]
        best = None
        for r in rows:
            m = r.get("methods", {}).get(r["method"])
            if m is None:
                what = (
                    f"killed at {r.get('cap_s', 0):.0f} s (cap {res['cap_s']:.0f} s + 20 s setup)"
                    if r.get("capped")
                    else f"error: {str(r.get('error'))[-120:]}".replace("\n", " ").replace("|", "/")
                )
                L.append(
                    f"| {lab} | {nt} | {r['method']} | {what} | - | - | > {_f(res['cap_s'] / ours) if (ours and r.get('capped')) else '-'} |"
                )
                continue
            ratio = m["min_s"] / ours if ours else None
            L.append(
                f"| {lab} | {nt} | {r['method']} | {_f(m['min_s'], 3)} | {m['n_iter']} | {_f(m.get('err_vs_vstar'))} | {_f(ratio)}x |"
            )
            if r["method"] in ANCHOR_SOLVERS and (best is None or m["min_s"] < best[1]):
                best = (r["method"], m["min_s"])
        ref = next((r.get("reference") for r in rows if r.get("reference")), None)
        if ours and best:
            summary.append(
                f"| {lab} | {nt} | {_f(ours, 3)} | {best[0]} | {_f(best[1], 3)} | **{_f(ours / best[1])}x** |"
            )
        elif ours:
            peers_here = [r for r in rows if r["method"] != "mdp.solve"]
            if peers_here:
                summary.append(
                    f"| {lab} | {nt} | {_f(ours, 3)} | all anchors capped/failed | > {res['cap_s']:.0f} | < {_f(ours / res['cap_s'])}x |"
                )
            else:
                summary.append(
                    f"| {lab} | {nt} | {_f(ours, 3)} | (peers run at thr={min(res['threads'])} only) | - | - |"
                )
        if ref:
            L.append(f"| {lab} | {nt} | *reference V\\**: {ref} | | | | |")
    L += [
        "",
        "### mdp.solve vs the best anchor (their PI or MPI)",
        "",
        "| instance | thr | mdp.solve s | best anchor | its time s | ratio (goal <= 0.5) |",
        "|---|---|---|---|---|---|",
    ]
    return L + summary


def jit_section(res):
    j = res.get("jit") or {}
    if not j:
        return []
    L = [
        "## JIT cost",
        "",
        "Fresh process, `NUMBA_CACHE_DIR` pointing at an empty folder (`cold`: everything compiles), then",
        "a second fresh process with the same folder (`warm`: kernels load from the cache). `first` is",
        "the first call in the process, `second` the next call (compiled code only). All kernels use",
        "`cache=True`.",
        "",
        "| phase | import mdp s | solve dense first / second s | solve sparse first / second s | value_iteration first / second s |",
        "|---|---|---|---|---|",
    ]
    for ph in ("cold", "warm"):
        r = j.get(ph, {})
        if "import_s" not in r:
            L.append(f"| {ph} | error: {str(r)[:100]} |")
            continue
        c = lambda k: f"{_f(r[k]['first_s'], 3)} / {r[k]['second_s'] * 1e3:.2f} ms"  # noqa: E731
        L.append(
            f"| {ph} | {_f(r['import_s'], 3)} | {c('solve_dense')} | {c('solve_sparse')} | {c('value_iteration_dense')} |"
        )
    return L


def goals_section(res):
    """Each stated goal against this run's numbers (computed, not hand-written)."""
    L = [
        "## Goals, checked against this run",
        "",
        "| goal | instance | thr | measured | met? |",
        "|---|---|---|---|---|",
    ]
    for r in res["sweep"]:
        t = r.get("timings")
        if not t:
            continue
        g = lambda k: t.get(k, {}).get("min_ms")  # noqa: E731
        anchors = [x for x in (g("quantecon"), g("pymdptoolbox")) if x is not None]
        best = min(anchors) if anchors else None
        if r["instance"]["kind"] == "dense":
            x = _floor_ratio(t, "ours_f64", "floor_f64")
            L.append(
                f"| f64 sweep <= 1.1x bandwidth floor | {r['label']} | {r['threads']} | {_f(x)}x | {'yes' if x <= 1.1 else 'no'} |"
            )
            if best:
                x = g("ours_f64") / best
                L.append(
                    f"| f64 sweep <= anchors at equal threads | {r['label']} | {r['threads']} | {_f(x)}x | {'yes' if x <= 1.0 else 'no'} |"
                )
                x = g("ours_f32") / best
                why = ""
                if g("floor_f32") and g("floor_f32_f32sum"):
                    # what float64 accumulation allows: its streaming read alone, against the anchors
                    why = (
                        f" (f32 floor with f64 accumulation alone: {_f(g('floor_f32') / best)}x; "
                        f"f32 bytes summed in f32: {_f(g('floor_f32_f32sum') / best)}x)"
                    )
                L.append(
                    f"| f32 sweep <= 0.6x anchors' f64 sweep | {r['label']} | {r['threads']} | {_f(x)}x{why} | {'yes' if x <= 0.6 else 'no'} |"
                )
    by = {}
    for r in res["solve"]:
        by.setdefault((r["label"], r["threads"]), []).append(r)
    for (lab, nt), rows in by.items():
        ours = next(
            (r["methods"]["mdp.solve"]["min_s"] for r in rows if r["method"] == "mdp.solve" and "methods" in r), None
        )
        anchors = [r["methods"][r["method"]]["min_s"] for r in rows if r["method"] in ANCHOR_SOLVERS and "methods" in r]
        capped = [r for r in rows if r["method"] in ANCHOR_SOLVERS and r.get("capped")]
        if ours is None or not (anchors or capped):
            continue
        if anchors:
            x = ours / min(anchors)
            L.append(f"| solve <= 0.5x best anchor PI/MPI | {lab} | {nt} | {_f(x)}x | {'yes' if x <= 0.5 else 'no'} |")
        else:
            L.append(
                f"| solve <= 0.5x best anchor PI/MPI | {lab} | {nt} | < {_f(ours / res['cap_s'])}x (every anchor PI/MPI capped at {res['cap_s']:.0f} s) | yes |"
            )
    return L


def write_markdown(res, path):
    m = res["machine"]
    L = [
        "# Benchmarks: rlab's MDP core vs pymdptoolbox and QuantEcon",
        "",
        "Generated by `benchmarks/report.py` from the run's JSON (`benchmarks/latest.json` for the full run). Reproduce with:",
        "",
        f"    {res['command']}",
        "",
        "The other sections come from their own `benchmarks/bench_<topic>.py` scripts:",
        "`python -m benchmarks.run_all --list` lists them with their commands, `--all` runs every one.",
        "",
        f"Run {res['started']} - {res['finished']}. Machine: {m['cpu']}, {m['cores']} cores, {m['mem_gb']} GB,",
        f"{m['platform']}, Python {m['python']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items())
        + ".",
        f"Load average at start {m['loadavg']}, at end {m.get('loadavg_end')}: this is a shared 2-core",
        "virtual machine. Sweeps: our kernels and the floor in one process, the anchors in another",
        "(each timed interleaved, so contenders in a process see the same load); solves: one method",
        "per process, each dense configuration in two alternating passes. Minima are the headline",
        "numbers, except sweep/floor ratios: the median of per-round ratios (see the sweep table).",
        "",
        "Thread counts: each configuration `thr` pins numba (`numba.set_num_threads`) and BLAS",
        "(`threadpoolctl` plus `OMP/OPENBLAS/MKL_NUM_THREADS` set before numpy is imported) to `thr`",
        "threads in a fresh process (`mdp._threads.pinned_threads`); each job's JSON records the pools it saw.",
        "scipy's sparse matvec is single-threaded whatever the setting.",
        "",
    ]
    L += (
        goals_section(res)
        + [""]
        + sweep_section(res)
        + [""]
        + l1scan_section(res)
        + [""]
        + solve_section(res)
        + [""]
        + jit_section(res)
        + [""]
    )
    L += NOTES.splitlines()
    Path(path).write_text("\n".join(L) + "\n")
    # the games section has its own JSON (python -m benchmarks.bench_games): keep it in the docs file
    games_json = Path(__file__).resolve().parent / "latest_games.json"
    if (
        Path(path).resolve() == (Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md")
        and games_json.exists()
    ):
        splice_games(json.loads(games_json.read_text()), path)
    if Path(path).resolve() == (Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"):
        splice_snippets(path)


# ============================================================================ other sections
#: markdown snippets written by other benchmark scripts, spliced in this order (benchmarks/<name>_section.md)
SNIPPETS = ("llm", "bisim")


def splice_snippets(path):
    """Replace (or append) each ``benchmarks/<name>_section.md`` between its markers in ``path``."""
    here = Path(__file__).resolve().parent
    p = Path(path)
    text = p.read_text()
    for name in SNIPPETS:
        snippet = here / f"{name}_section.md"
        if not snippet.exists():
            continue
        begin = f"<!-- {name} section: benchmarks/{name}_section.md -->"
        end = f"<!-- end of {name} section -->"
        block = begin + "\n" + snippet.read_text().strip("\n") + "\n" + end
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            text = head + block + rest.split(end, 1)[1]
        else:
            text = text.rstrip("\n") + "\n\n" + block + "\n"
    p.write_text(text)


# ============================================================================ matrix and Markov games
GAMES_BEGIN = "<!-- games section: generated by benchmarks/report.py from benchmarks/latest_games.json -->"
GAMES_END = "<!-- end of games section -->"

OURS_MATRIX = "marl.zero_sum_matrix_game"
QE_NJIT = "quantecon minmax (@njit loop)"
QE_PY = "quantecon minmax (Python loop)"
SCIPY_1LP = "scipy linprog HiGHS (1 LP/game)"
LP_LOOP = "per-state scipy linprog HiGHS loop"
QE_LOOP = "per-state quantecon minmax (Python loop)"

GAMES_NOTES = """### Why the batched simplex is exact, and what the certificate says

`marl.zero_sum_matrix_game` rescales each game to positive payoffs and runs a dense tableau
simplex (Dantzig's rule, then Bland's rule, which cannot cycle) on von Neumann's LP
`max 1^T z s.t. B z <= 1, z >= 0` (`marl/_simplex.py`). The simplex method stops at an optimal
*basic* solution: the returned strategies solve the square linear system of one optimal basis
(a Shapley-Snow kernel of the game), so they are the exact equilibrium of the game up to the
floating-point round-off of a handful of pivots on a well-scaled `(k1 + 1) x (k1 + k2 + 1)`
tableau. It is not an iterate that approaches the equilibrium, which is what interior-point
methods return (the cvxpy CLARABEL rows: differences near 1e-8). Every game also carries its own
proof: `lower = min_j (x^T M)_j <= val(M) <= max_i (M y)_i = upper`, computed from the returned
strategies in the original payoffs (weak duality); `value` is the midpoint, so
`|value - val(M)| <= gap / 2`. The *certificate gaps* rows above give the largest `upper - lower`
over the 1000 games (the "exact" goal is read as: that gap <= 1e-12, i.e. round-off only). QuantEcon's `minmax` and `lemke_howson` are
pivoting methods too (exact in the same sense, without a returned certificate); the HiGHS
reference is the two LPs' optima recomputed from their strategies (its own gap is shown).

Calling conventions: game objects of nashpy (`nashpy.Game(A, -A)`) and QuantEcon
(`NormalFormGame` of `(A, -A)`) are built once outside the timed loop; the cvxpy problem
(`Maximize(v)` s.t. `A^T x >= v`, `sum x = 1`, `x >= 0`, `A` a `cp.Parameter`) is built once and
re-solved after each `A.value = M` (DPP: no re-canonicalisation). The scipy contender is one
`linprog(method="highs")` per game (the row player's LP: value and row strategy); `marl.zero_sum_lp`
solves both players' LPs. `marl._simplex.solve_batch` is our kernel without the public wrapper's
validation and result allocation, shown to separate the two costs. The `@njit` loop over
`quantecon.optimize.minmax` is the fair numba-to-numba comparison (no per-game Python dispatch).
"""


def _rate(x):
    if x is None:
        return "-"
    return f"{x / 1e3:,.0f} k" if x >= 1e4 else f"{x:,.0f}"


def _matrix_rows(res):
    L = [
        "### 1000 random 5x5 zero-sum games",
        "",
        "All contenders solve the same 1000 games (standard normal payoffs, seed 0) in the same process,",
        "interleaved, JIT warm; best of the rounds shown (median per game in parentheses).",
        "`time / ours` is relative to `marl.zero_sum_matrix_game` (serial) in the same job;",
        "`max |v - HiGHS|` is against `marl.zero_sum_lp` (both players' HiGHS LPs).",
        "",
        "| thr | contender | games/s | us/game (median) | rounds | time / ours | max abs(v - HiGHS) |",
        "|---|---|---|---|---|---|---|",
    ]
    for job in res.get("matrix", []):
        c = job.get("contenders")
        if not c:
            L.append(f"| {job['threads']} | error: {str(job.get('error', job))[-150:]} |".replace("\n", " "))
            continue
        ours = c[OURS_MATRIX]["min_s"]
        for name, r in c.items():
            L.append(
                f"| {job['threads']} | {name} | {_rate(r['games_per_s'])} | {_f(r['us_per_game'])} "
                f"({_f(1e6 * r['median_s'] / job['n'])}) | {r['n']} | {_f(r['min_s'] / ours)}x | {r['max_abs_diff_vs_highs']:.1e} |"
            )
        for name, why in job.get("missing", {}).items():
            L.append(f"| {job['threads']} | {name} | {why} | | | | |")
        L.append(
            f"| {job['threads']} | *certificate gaps*: ours max `upper - lower` = {job['ours_max_gap']:.1e}; "
            f"HiGHS reference {job['ref_max_gap']:.1e} | | | | | |"
        )
    return L


def _shapley_rows(res):
    L = [
        "### Shapley iteration to a certified 1e-8 (1000 states, 5x5 actions)",
        "",
        "Every contender runs Shapley value iteration from `v = 0` with the same stopping rule: the",
        "MacQueen bounds of the Shapley operator (`marl.markov._certify`, half-width <= 1e-8), so",
        "the iteration counts agree. They differ only in the stage-game solver: the batched numba simplex",
        "(`marl.shapley_value_iteration`), scipy HiGHS one LP per state in a Python loop, QuantEcon",
        "`minmax` per state from a Python loop, and (for reference) from an `@njit` loop. `marl.hoffman_karp`",
        "(strategy iteration; its outer iterations are not Shapley backups) stops on the same certificate.",
        "Best of up to 3 calls (one call for loops over 10 s). A per-state loop still running after the",
        f"cap ({res.get('cap_s', 120):.0f} s) was stopped; its total is then **extrapolated** as",
        "(measured seconds per iteration) x (the iteration count of `marl.shapley_value_iteration`) and",
        "marked `~`. The per-state loops run at the smallest thread count only (they are single-threaded).",
        "`marl.shapley_value_iteration` does one backup more than the loops: at the answer it recomputes",
        "`Q(v)` and solves all stage games with strategies (its `row_policy`/`col_policy`); on the dense",
        "instance that extra pass over the 200 MB `P` is most of the gap to the `@njit` minmax loop, whose",
        "time is almost all the same `q_values` backups.",
        "",
        "| instance | thr | method | time s | iterations | certified bound | max abs(v - SVI) | time / SVI |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for job in res.get("shapley", []):
        ms = job.get("methods")
        if not ms:
            L.append(
                f"| {job['label']} | {job['threads']} | error: {str(job.get('error', job))[-150:]} |".replace("\n", " ")
            )
            continue
        svi = ms["marl.shapley_value_iteration"]["min_s"]
        for name, r in ms.items():
            if r.get("capped"):
                t = r["extrapolated_s"]
                L.append(
                    f"| {job['label']} | {job['threads']} | {name} | ~{_f(t)} (stopped at {_f(r['time_done_s'])} s "
                    f"after {r['n_iter_done']} iterations, {_f(r['s_per_iter'], 3)} s/iteration) | "
                    f"~{r['extrapolated_to_n_iter']} | - | - | ~{_f(t / svi)}x |"
                )
                continue
            L.append(
                f"| {job['label']} | {job['threads']} | {name} | {_f(r['min_s'], 3)} | {r['n_iter']} | "
                f"{_f(r['error_bound']) if 'error_bound' in r else '-'} | {r['max_abs_diff_vs_svi']:.1e} | {_f(r['min_s'] / svi)}x |"
            )
    return L


def _jit_rows(res):
    j = res.get("jit") or {}
    if not j:
        return []
    L = [
        "### JIT cost (games)",
        "",
        "Fresh process with `NUMBA_CACHE_DIR` set to an empty folder (`cold`: every kernel compiles, the",
        "`mdp` kernels that Shapley's backups use included), then a second fresh process on the same",
        "folder (`warm`: kernels load from the on-disk cache). Matrix calls on 100 games of 5x5;",
        "Shapley on a 20-state dense game. `first` is the first call in the process, `second` the next.",
        "`import marl` is lazy (numba and the kernel modules load on first use), so `first` also includes",
        "importing them: that is most of the warm `zero_sum_matrix_game` first call.",
        "",
        "| phase | import marl s | zero_sum_matrix_game first s / second ms | parallel first s / second ms | shapley_value_iteration first s / second ms |",
        "|---|---|---|---|---|",
    ]
    for ph in ("cold", "warm"):
        r = j.get(ph, {})
        if "import_s" not in r:
            L.append(f"| {ph} | error: {str(r)[-150:]} |".replace("\n", " "))
            continue
        c = lambda k: f"{_f(r[k]['first_s'], 3)} / {r[k]['second_s'] * 1e3:.2f}"  # noqa: E731
        L.append(
            f"| {ph} | {_f(r['import_s'], 3)} | {c('zero_sum_matrix_game')} | {c('zero_sum_matrix_game_parallel')} | "
            f"{c('shapley_value_iteration')} |"
        )
    return L


def _games_goals(res):
    L = ["| goal | thr | measured | met? |", "|---|---|---|---|"]
    for job in res.get("matrix", []):
        c = job.get("contenders")
        if not c:
            continue
        nt = job["threads"]
        ours = c[OURS_MATRIX]["min_s"]
        best_ours = min(r["min_s"] for k, r in c.items() if k.startswith(OURS_MATRIX))
        best_name = min((k for k in c if k.startswith(OURS_MATRIX)), key=lambda k: c[k]["min_s"])
        if QE_NJIT in c:
            x = ours / c[QE_NJIT]["min_s"]
            L.append(
                f"| batched solver <= QuantEcon minmax (@njit loop), same games, serial | {nt} | {_f(x)}x | {'yes' if x <= 1 else 'no'} |"
            )
            if best_name != OURS_MATRIX:
                x = best_ours / c[QE_NJIT]["min_s"]
                L.append(
                    f"| same, {best_name} (QuantEcon's loop is single-threaded) | {nt} | {_f(x)}x | {'yes' if x <= 1 else 'no'} |"
                )
        if QE_PY in c:
            x = ours / c[QE_PY]["min_s"]
            L.append(
                f"| batched solver <= QuantEcon minmax (Python loop) | {nt} | {_f(x)}x | {'yes' if x <= 1 else 'no'} |"
            )
        if SCIPY_1LP in c:
            x = c[SCIPY_1LP]["min_s"] / ours
            L.append(f"| >= 300x scipy linprog HiGHS per game | {nt} | {_f(x)}x | {'yes' if x >= 300 else 'no'} |")
        d = job["ours_max_abs_diff_vs_highs"]
        L.append(f"| same values as HiGHS to 1e-9 | {nt} | max diff {d:.1e} | {'yes' if d <= 1e-9 else 'no'} |")
        L.append(
            f"| exact (optimal basis; certified gap) | {nt} | max gap {job['ours_max_gap']:.1e} | "
            f"{'yes' if job['ours_max_gap'] <= 1e-12 else 'no'} |"
        )
    for job in res.get("shapley", []):
        ms = job.get("methods") or {}
        if "marl.shapley_value_iteration" not in ms:
            continue
        svi = ms["marl.shapley_value_iteration"]["min_s"]
        for peer in (LP_LOOP, QE_LOOP):
            r = ms.get(peer)
            if r is None:
                continue
            t = r["extrapolated_s"] if r.get("capped") else r["min_s"]
            pre = "~" if r.get("capped") else ""
            L.append(
                f"| Shapley to 1e-8 faster than the {peer} | {job['threads']} ({job['label']}) | "
                f"{pre}{_f(t / svi)}x faster | {'yes' if t > svi else 'no'} |"
            )
    if res.get("jit"):
        L.append("| first-call JIT cost and cached cost reported | 1 | see JIT table | yes |")
    return L


def games_section(res) -> list:
    """Markdown lines of the "Matrix and Markov games" section from ``latest_games.json``."""
    m = res["machine"]
    L = [
        GAMES_BEGIN,
        "## Matrix and Markov games",
        "",
        "Generated by `benchmarks/report.py` from `benchmarks/latest_games.json` (its own JSON: rerunning",
        "it leaves the MDP sections above untouched). Reproduce with:",
        "",
        f"    {res['command']}",
        "",
        f"Run {res['started']} - {res['finished']}. Versions: "
        + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
        + ".",
        f"Load average at start {[round(x, 2) for x in m['loadavg']]}, at end {[round(x, 2) for x in m.get('loadavg_end', [])]}"
        " on this shared 2-core machine (other engineers' tests were running): medians are noisy,",
        "minima are the headline numbers. Each job is a fresh process with numba and BLAS pinned to `thr`",
        "threads before numpy is imported (`mdp._threads.thread_env` + `pinned_threads`); the pools each job saw:",
        "",
    ]
    seen = set()
    for job in res.get("matrix", []) + res.get("shapley", []):
        ti = job.get("thread_info")
        if ti and job["threads"] not in seen:
            seen.add(job["threads"])
            L.append(
                f"* thr={job['threads']}: numba {ti.get('numba')} (pool {ti.get('numba_max')}, layer {ti.get('numba_layer')}), "
                f"BLAS {ti.get('blas') or 'pinned by environment only (threadpoolctl not installed)'}"
            )
    L += ["", "### Goals, checked against this run", ""] + _games_goals(res)
    L += [""] + _matrix_rows(res) + [""] + _shapley_rows(res) + [""] + _jit_rows(res) + [""]
    L += GAMES_NOTES.splitlines() + [GAMES_END]
    return L


def splice_games(res, path):
    """Replace (or append) the games section of the markdown file ``path``."""
    p = Path(path)
    text = p.read_text() if p.exists() else "# Benchmarks\n"
    block = "\n".join(games_section(res))
    if GAMES_BEGIN in text and GAMES_END in text:
        head, rest = text.split(GAMES_BEGIN, 1)
        tail = rest.split(GAMES_END, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    p.write_text(text)


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    args = sys.argv[1:]
    if args[:1] == ["--games"]:  # python -m benchmarks.report --games [latest_games.json] [benchmarks.md]
        src = args[1] if len(args) > 1 else str(here / "latest_games.json")
        out = args[2] if len(args) > 2 else str(here.parent / "docs" / "benchmarks.md")
        splice_games(json.loads(Path(src).read_text()), out)
    elif args[:1] == ["--snippets"]:  # python -m benchmarks.report --snippets [benchmarks.md]
        splice_snippets(args[1] if len(args) > 1 else str(here.parent / "docs" / "benchmarks.md"))
    else:
        src = args[0] if args else str(here / "latest.json")
        out = args[1] if len(args) > 1 else str(here.parent / "docs" / "benchmarks.md")
        write_markdown(json.loads(Path(src).read_text()), out)
