"""One benchmark job in a fresh process: ``python -m benchmarks.worker '<json spec>'``.

The parent sets the thread environment (``mdp._threads.thread_env``) before this process imports
numpy; here the pools are pinned again with ``pinned_threads`` and reported. The last line printed
is the job's JSON result.
"""

from __future__ import annotations

import json
import sys
import time
import warnings

import numpy as np

from benchmarks import _common as C


def _floor_sparse_kernel():
    from numba import njit, prange

    @njit(cache=True, parallel=True, fastmath={"reassoc", "contract"})
    def stream_csr(indptr, indices, data, out):
        # the same CSR bytes a sparse sweep streams (indptr, indices, data), one add per entry;
        # the gathers from v that the sweep also does are what the floor leaves out
        n = indptr.shape[0] - 1
        for i in prange(n):
            acc = 0.0
            for k in range(indptr[i], indptr[i + 1]):
                acc += data[k] + indices[k]
            out[i] = acc

    return stream_csr


def _floor_f32_sum_kernel():
    from numba import float32, njit, prange

    @njit(cache=True, parallel=True, fastmath={"reassoc", "contract"})
    def stream_sum_rows_f32(X, out):
        # Diagnostic, not a floor any sweep of ours can reach: the float32 bytes of P summed in
        # float32, i.e. read without the float32 -> float64 conversion that our float32 sweep (and
        # the float32 floor, stream_sum_rows) does per entry to keep float64 accumulation
        n, L = X.shape
        for i in prange(n):
            acc = float32(0.0)
            r = X[i]
            for t in range(L):
                acc += r[t]
            out[i] = acc

    return stream_sum_rows_f32


def build(inst: dict):
    import mdp

    if inst["kind"] == "dense":
        return mdp.generators.random_mdp(
            inst["S"], inst["A"], rng=np.random.default_rng(inst.get("seed", 0)), gamma=inst["gamma"]
        )
    return mdp.generators.gridworld(inst["W"], inst["W"], slip=0.1, gamma=inst["gamma"])


# ----------------------------------------------------------------------------- sweep
def task_sweep(spec):
    from mdp._common import bellman as K

    m = build(spec["instance"])
    S, A, g = m.n_states, m.n_actions, m.gamma
    rng = np.random.default_rng(1)
    v = rng.random(S)
    vo = np.empty(S)
    pi = np.empty(S, dtype=np.int64)
    q = np.empty((S, A))
    fns = {}
    info = {}
    if not m.is_sparse:
        P = m.P
        P32 = m.astype(np.float32).P
        out = np.empty(S * A)
        fns["floor_f64"] = lambda: K.stream_sum_rows(P.reshape(S * A, S), out)
        fns["floor_f32"] = lambda: K.stream_sum_rows(P32.reshape(S * A, S), out)
        f32sum, out32 = _floor_f32_sum_kernel(), np.empty(S * A, dtype=np.float32)
        fns["floor_f32_f32sum"] = lambda: f32sum(P32.reshape(S * A, S), out32)
        fns["ours_f64"] = lambda: K.bellman_dense(P, m.R, g, v, vo, pi)
        fns["ours_f64_q"] = lambda: K.bellman_q_dense(P, m.R, g, v, q, vo, pi)
        fns["ours_f32"] = lambda: K.bellman_dense(P32, m.R, g, v, vo, pi)
        P2 = P.reshape(S * A, S)
        fns["numpy_gemv"] = lambda: P2 @ v
        info["bytes_f64"] = P.nbytes
    else:
        indptr, indices, data = m.csr_arrays()
        m32 = m.astype(np.float32)
        i32, j32, d32 = m32.csr_arrays()
        out = np.empty(S * A)
        fl = _floor_sparse_kernel()
        fns["floor_f64"] = lambda: fl(indptr, indices, data, out)
        fns["floor_f32"] = lambda: fl(i32, j32, d32, out)
        fns["ours_f64"] = lambda: K.bellman_sparse(indptr, indices, data, m.R, g, v, vo, pi)
        fns["ours_f64_q"] = lambda: K.bellman_q_sparse(indptr, indices, data, m.R, g, v, q, vo, pi)
        fns["ours_f32"] = lambda: K.bellman_sparse(i32, j32, d32, m.R, g, v, vo, pi)
        Q = m.P
        fns["scipy_csr_matvec"] = lambda: Q @ v
        info["bytes_f64"] = indptr.nbytes + indices.nbytes + data.nbytes
    if C.have("quantecon"):
        ddp = C.qe_sparse(m) if m.is_sparse else C.qe_dense(m)
        tv, sig = np.empty(S), np.empty(S, dtype=int)
        fns["quantecon"] = lambda: ddp.bellman_operator(v, Tv=tv, sigma=sig)
    if C.have("mdptoolbox"):
        C.mdptoolbox_shims()
        import mdptoolbox.mdp as MT

        Pm, Rm = C.mdptoolbox_arrays(m)
        # the base class: ValueIteration.__init__ also runs _boundIter, which is O(S^2) for sparse P
        base = MT.MDP(Pm, Rm, g, 1e-8, 10)
        fns["pymdptoolbox"] = lambda: base._bellmanOperator(v)
    group = spec.get("group")
    if group is not None:
        # one process per group: numba contenders (ours and the floor) never share a process with a
        # BLAS or scipy anchor, whose spinning OpenBLAS workers would hold a core (bench_blas_spin)
        ours = {k for k in fns if k.startswith(("ours_", "floor_"))}
        fns = {k: f for k, f in fns.items() if (k in ours) == (group == "numba")}
    res = C.interleaved(
        fns,
        rounds=spec.get("rounds", 15),
        budget_s=spec.get("budget_s", 60),
        min_sample_ms=spec.get("min_sample_ms", 0.0),
    )
    return {"timings": res, "group": group, **info}


# ----------------------------------------------------------------------------- where the dense gap comes from
def _short_v_kernel():
    from numba import njit, prange

    @njit(cache=True, parallel=True, fastmath={"reassoc", "contract"})
    def dot_short_v(X, v, out):
        # Diagnostic, not a Bellman sweep: row i of X times [v[:h], v[:L-h]] (h = L // 2), i.e. the
        # same stream of X and the same loads and FMAs per element as a sweep, but the vector it
        # reads is half as long (L/2 doubles), so it stays in L1 while a row of X streams past
        n, L = X.shape
        h = L // 2
        for i in prange(n):
            r = X[i]
            a = 0.0
            for t in range(h):
                a += r[t] * v[t]
            b = 0.0
            for t in range(L - h):
                b += r[h + t] * v[t]
            out[i] = a + b

    return dot_short_v


def task_l1scan(spec):
    """Sweep / floor ratio as the row length ``S`` grows, with a control whose ``v`` fits in L1.

    One row of ``P`` and ``v`` are each ``8 S`` bytes; a core's L1 data cache holds 32 KiB here. Once
    ``16 S`` bytes approach it, ``v`` no longer survives in L1 from one row to the next and every
    element's ``v`` load goes to L2 alongside the streaming ``P`` load.
    """
    from mdp._common import bellman as K

    ctl = _short_v_kernel()
    out = {"points": []}
    for S in spec["sizes"]:
        A = spec.get("A", 8)
        rng = np.random.default_rng(0)
        P = rng.random((S, A, S))
        P /= P.sum(axis=2, keepdims=True)
        R = rng.random((S, A))
        v = rng.random(S)
        vo = np.empty(S)
        pi = np.empty(S, dtype=np.int64)
        X = P.reshape(S * A, S)
        o = np.empty(S * A)
        fns = {
            "floor_f64": lambda: K.stream_sum_rows(X, o),
            "ours_f64": lambda: K.bellman_dense(P, R, 0.9, v, vo, pi),
            "short_v": lambda: ctl(X, v, o),
        }
        t = C.interleaved(
            fns,
            rounds=spec.get("rounds", 25),
            budget_s=spec.get("budget_s", 30),
            min_sample_ms=spec.get("min_sample_ms", 0.0),
        )
        out["points"].append({"S": S, "A": A, "bytes": int(P.nbytes), "timings": t})
        fns.clear()  # free P before the next size
    return out


# ----------------------------------------------------------------------------- solve
def _ref_value(m, inst):
    """``V*``: exact policy iteration (LU) for dense models, ``mdp.solve`` to 1e-11 for gridworlds
    (or 4x the model's float64 round-off floor where that is larger)."""
    import mdp

    if m.is_sparse:
        tol = mdp.attainable_tol(m, 1e-11)
        r = mdp.solve(m, tol=tol)
        return r.v, f"mdp.solve(tol={tol:.2g}) (certified error_bound {r.error_bound:.2g})"
    r = mdp.policy_iteration(m)
    return r.v, f"mdp.policy_iteration (exact LU evaluation; certified error_bound {r.error_bound:.2g})"


def run_method(name, m, tol):
    """Run one method once; returns ``(v, n_iter, extra)``."""
    import mdp

    eps = 2.0 * tol  # peers' span rule: span(Tv - v) < eps (1-g)/g  =>  ||v_mid - v*|| < eps / 2 = tol
    if name in ("mdp.solve", "mdp.solve+q"):
        r = mdp.solve(m, tol=tol)
        if name == "mdp.solve+q":
            r.q  # noqa: B018 - dense models compute q on first access: time that sweep too
        return r.v, r.n_iter, {"error_bound": r.error_bound, "method": r.method}
    if name.startswith("quantecon"):
        ddp = C.qe_sparse(m) if m.is_sparse else C.qe_dense(m)
        meth = name.split(":")[1]
        kw = {} if meth == "policy_iteration" else {"epsilon": eps}
        r = ddp.solve(meth, max_iter=10**7, **kw)
        return r.v, int(r.num_iter), {}
    if name.startswith("pymdptoolbox"):
        C.mdptoolbox_shims()
        import mdptoolbox.mdp as MT

        Pm, Rm = C.mdptoolbox_arrays(m)
        meth = name.split(":")[1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if meth == "PolicyIteration":
                x = MT.PolicyIteration(Pm, Rm, m.gamma, max_iter=10**6)
            elif meth == "PolicyIterationModified":
                x = MT.PolicyIterationModified(Pm, Rm, m.gamma, epsilon=eps, max_iter=10**6)
            else:
                x = MT.ValueIteration(Pm, Rm, m.gamma, epsilon=eps, max_iter=10**6)
            x.run()
        return np.asarray(x.V, dtype=np.float64), int(x.iter), {}
    raise ValueError(name)


def task_solve(spec):
    import mdp

    m = build(spec["instance"])
    tol = spec.get("tol", 1e-8)
    # compile everything once on a small model of the same kind, so no JIT time is counted
    small = build({**spec["instance"], "S": 20, "W": 5})
    mdp.solve(small, tol=tol)
    vstar, ref_note = (None, None)
    if spec.get("reference", True):
        import os

        ref = spec.get("ref_path")
        if ref and os.path.exists(ref):
            vstar = np.load(ref)
            ref_note = open(ref + ".txt").read()
        else:
            vstar, ref_note = _ref_value(m, spec["instance"])
            if ref:
                np.save(ref, vstar)
                open(ref + ".txt", "w").write(ref_note)
    out = {"reference": ref_note, "methods": {}}
    for name in spec["methods"]:
        reps = spec.get("reps", 3)
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            v, n_iter, extra = run_method(name, m, tol)
            ts.append(time.perf_counter() - t)
            if ts[-1] > spec.get("rep_budget_s", 5):
                break
        rec = {"min_s": min(ts), "median_s": float(np.median(ts)), "n": len(ts), "n_iter": n_iter, **extra}
        if vstar is not None:
            rec["err_vs_vstar"] = float(np.abs(np.asarray(v) - vstar).max())
        out["methods"][name] = rec
    return out


# ----------------------------------------------------------------------------- jit
_IMPORT_S = [float("nan")]


def task_jit(spec):
    """Time ``import mdp`` and the first and second ``mdp.solve`` / ``value_iteration`` calls."""
    import mdp

    dense = mdp.generators.random_mdp(50, 4, rng=np.random.default_rng(0), gamma=0.9)
    grid = mdp.generators.gridworld(10, 10, gamma=0.9)
    res = {"import_s": _IMPORT_S[0]}
    for label, fn in (
        ("solve_dense", lambda: mdp.solve(dense)),
        ("solve_sparse", lambda: mdp.solve(grid)),
        ("value_iteration_dense", lambda: mdp.value_iteration(dense)),
    ):
        t = time.perf_counter()
        fn()
        first = time.perf_counter() - t
        t = time.perf_counter()
        fn()
        second = time.perf_counter() - t
        res[label] = {"first_s": first, "second_s": second}
    return res


def main():
    spec = json.loads(sys.argv[1])
    t0 = time.perf_counter()
    import mdp  # noqa: F401  (timed: the JIT benchmark reports it)
    from mdp._threads import pinned_threads

    _IMPORT_S[0] = time.perf_counter() - t0

    with pinned_threads(spec["threads"]):
        t = time.perf_counter()
        out = {"sweep": task_sweep, "solve": task_solve, "jit": task_jit, "l1scan": task_l1scan}[spec["task"]](spec)
        out["wall_s"] = time.perf_counter() - t
        from mdp._threads import thread_info

        out["threads"] = thread_info()
    out["loadavg_end"] = list(__import__("os").getloadavg())
    print(C.dump(out))


if __name__ == "__main__":
    main()
