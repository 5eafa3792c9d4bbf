"""Agentic advantage benchmarks (issue 5): GiGPO and HGPO on 10^5 step rows vs the verl-agent
reference functions run side by side in the same process, same inputs, same outputs.

    python -m benchmarks.bench_llm [--rows 100000] [--ref-dir DIR] [--rounds 5] [--quick]

Writes ``benchmarks/latest_llm.json`` and ``benchmarks/llm_section.md`` (a section for
``docs/benchmarks.md``).

Workload: episode groups of 8 random-walk trajectories on a corridor (cells recur within and across
trajectories, so anchor-state and history groups have realistic sizes; ALFWorld-like horizon 50,
penalty -0.125 for bumping the left wall, +1 on reaching the goal), rows interleaved across
trajectories (time order kept inside each), enough groups for ``--rows`` step rows. verl-agent
defaults otherwise (GiGPO ``mean_std_norm``, omega 1, gamma 0.95; HGPO K = 2, alpha 1,
``mean_std_norm``). HGPO runs with gamma 1: the reference computes in float32, and with returns
float32 cannot represent exactly (powers of 0.95) a zero-variance group's float32 mean can be one
ulp off, which the reference turns into O(0.1) advantages (see ``mdp.llm.agentic.hgpo``); with
rewards in multiples of 1/8 (penalty -0.125) and gamma 1 every return is float32-exact and the
outputs agree to float32 rounding.

Contenders, each timed on the same batch (torch pinned to one thread on both sides):

* ``mdp.llm.compute_advantages("gigpo" | "hgpo", RolloutBatch(...))`` -- the time includes building
  and validating the ``RolloutBatch`` from numpy arrays and computing the discounted step returns.
* verl-agent ``gigpo/core_gigpo.py::compute_gigpo_outcome_advantage`` and
  ``recipe/hgpo/core_hgpo.py::compute_hgpo_outcome_advantage`` given *precomputed* step returns
  (their ``compute_step_discounted_returns`` is O(rows^2) -- it searches the whole batch for every
  row -- so it is left out of the reference time; including it would only widen the gap).

The reference code is *not* part of rlab: point ``--ref-dir`` (or ``RLAB_VERL_AGENT_DIR``) at a
verl-agent checkout (``gigpo/core_gigpo.py``, ``recipe/hgpo/core_hgpo.py``) or at a directory
holding ``core_gigpo.py`` and ``core_hgpo.py``; without it the reference columns are reported
missing. ``verl.DataProto`` (imported, unused by these functions) is stubbed when verl is absent.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "benchmarks" / "latest_llm.json"
MD_PATH = ROOT / "benchmarks" / "llm_section.md"
UPSTREAM = {
    "repo": "langfengQ/verl-agent",
    "commit": "20bd331bdbc9026a5668e11362178e10ab7400c8",
    "gigpo_file_commit": "29e3e8b3e3412aff53b1e4a461dac77a8eec19bd",
    "hgpo_file_commit": "b4918ccb69a1f9c9d6857419b60952999d18f458",
}


# ----------------------------------------------------------------------------- workload
def corridor_steps(rng, rows, n_traj=8, n_cells=8, horizon=50, penalty=-0.125, success=1.0):
    """Per-step rows (dict of numpy arrays) until at least ``rows`` rows, then truncated by group."""
    g_l, tr_l, st_l, ob_l, rw_l = [], [], [], [], []
    tid, g, n = 0, 0, 0
    while n < rows:
        p = rng.dirichlet([2.0, 3.0, 1.0])
        acts = rng.choice(3, size=(n_traj, horizon), p=p)
        for i in range(n_traj):
            pos = 0
            for t in range(horizon):
                a = acts[i, t]
                r = 0.0
                g_l.append(g)
                tr_l.append(tid)
                st_l.append(t)
                ob_l.append(pos + 100 * g)
                if a == 0:
                    if pos == 0:
                        r = penalty
                    else:
                        pos -= 1
                elif a == 1:
                    pos += 1
                n += 1
                if pos == n_cells - 1:
                    rw_l.append(r + success)
                    break
                rw_l.append(r)
            tid += 1
        g += 1
    d = {
        k: np.asarray(v)
        for k, v in dict(group_ids=g_l, trajectory_ids=tr_l, step_ids=st_l, observation_keys=ob_l, rewards=rw_l).items()
    }
    d["rewards"] = d["rewards"].astype(np.float64)
    # interleave rows across trajectories, keeping time order inside each trajectory
    n = d["rewards"].size
    slots = rng.permutation(n)
    order = np.lexsort((d["step_ids"], d["trajectory_ids"]))
    s_by = slots[order]
    s_by = s_by[np.lexsort((s_by, d["trajectory_ids"][order]))]
    new_slot = np.empty(n, np.int64)
    new_slot[order] = s_by
    inv = np.argsort(new_slot)
    return {k: v[inv] for k, v in d.items()}


def returns_numpy(traj, rewards, gamma):
    """Discounted step returns for the reference inputs (vectorised per time step, float64)."""
    order = np.lexsort((np.arange(traj.size), traj))
    t_sorted = traj[order]
    r = rewards[order]
    out = np.zeros_like(r)
    last = np.r_[t_sorted[1:] != t_sorted[:-1], True]
    run = 0.0
    for i in range(r.size - 1, -1, -1):  # one pass (reference input only, not timed)
        if last[i]:
            run = 0.0
        run = r[i] + gamma * run
        out[i] = run
    res = np.empty_like(out)
    res[order] = out
    return res


# ----------------------------------------------------------------------------- reference
def load_reference(ref_dir):
    """``(gigpo_module, hgpo_module)`` from a verl-agent checkout or a flat directory, or ``None``."""
    if not ref_dir:
        return None
    ref = Path(ref_dir)
    cands = [
        (ref / "gigpo" / "core_gigpo.py", ref / "recipe" / "hgpo" / "core_hgpo.py"),
        (ref / "core_gigpo.py", ref / "core_hgpo.py"),
        (ref / "core_gigpo.py", ref / "core_hgpo_dropzeros.py"),
    ]
    for gp, hp in cands:
        if gp.exists() and hp.exists():
            break
    else:
        return None
    if importlib.util.find_spec("verl") is None:
        stub = types.ModuleType("verl")
        stub.DataProto = type("DataProto", (), {})
        sys.modules["verl"] = stub
    mods = []
    for name, path in (("_ref_core_gigpo", gp), ("_ref_core_hgpo", hp)):
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        mods.append(mod)
    return tuple(mods) + (str(gp), str(hp))


def _quiet(fn):
    import contextlib
    import io

    def run():
        with contextlib.redirect_stdout(io.StringIO()):  # build_step_group prints a summary line
            return fn()

    return run


# ----------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--ref-dir", default=os.environ.get("RLAB_VERL_AGENT_DIR", "/tmp/refs_agentic"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ref-rounds", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="10^4 rows, for a smoke run")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    rows = 10_000 if args.quick else args.rows

    import torch

    from benchmarks import _common as Cm
    from mdp.llm import RolloutBatch, compute_advantages

    torch.set_num_threads(1)
    gamma, L = 0.95, 4
    rng = np.random.default_rng(20260601)
    d = corridor_steps(rng, rows)
    n = d["rewards"].size
    ret = returns_numpy(d["trajectory_ids"], d["rewards"], gamma)
    hgamma = 1.0
    ret_h = returns_numpy(d["trajectory_ids"], d["rewards"], hgamma)
    uniq, inv = np.unique(d["trajectory_ids"], return_inverse=True)
    sums = np.zeros(uniq.size)
    np.add.at(sums, inv, d["rewards"])
    lens = rng.integers(1, L + 1, size=n)
    mask = (np.arange(L)[None, :] < lens[:, None]).astype(np.float64)
    tlr = np.zeros((n, L))
    tlr[np.arange(n), lens - 1] = sums[inv]
    obs_obj = d["observation_keys"].astype(object)

    def batch():
        return RolloutBatch(
            rewards=d["rewards"],
            group_ids=d["group_ids"],
            trajectory_ids=d["trajectory_ids"],
            step_ids=d["step_ids"],
            observation_keys=d["observation_keys"],
        )

    ours = {
        "gigpo": lambda: compute_advantages("gigpo", batch(), gamma=gamma, mode="mean_std_norm"),
        "hgpo": lambda: compute_advantages(
            "hgpo", batch(), gamma=hgamma, history_length=2, mode="mean_std_norm", alpha=1.0, zero_items="drop"
        ),
    }
    refmods = load_reference(args.ref_dir)
    refs = {}
    if refmods is not None:
        G, H, gpath, hpath = refmods
        refs = {
            "gigpo": _quiet(
                lambda: G.compute_gigpo_outcome_advantage(
                    torch.tensor(tlr),
                    torch.tensor(ret),
                    torch.tensor(mask),
                    obs_obj,
                    d["group_ids"],
                    d["trajectory_ids"],
                    epsilon=1e-6,
                    step_advantage_w=1.0,
                    mode="mean_std_norm",
                )[0][:, 0]
            ),
            "hgpo": _quiet(
                lambda: H.compute_hgpo_outcome_advantage(
                    torch.tensor(tlr, dtype=torch.float32),
                    torch.tensor(ret_h),
                    torch.tensor(mask, dtype=torch.float32),
                    obs_obj,
                    d["group_ids"],
                    d["trajectory_ids"],
                    history_length=2,
                    epsilon=1e-6,
                    mode="mean_std_norm",
                    length_weight_alpha=1.0,
                    base_group=False,
                )[0][:, 0]
            ),
        }
    results = {}
    for m in ("gigpo", "hgpo"):
        ours[m]()  # warm-up
        ts, out = [], None
        for _ in range(args.rounds):
            t = time.perf_counter()
            out = ours[m]()
            ts.append(time.perf_counter() - t)
        res = {"ours_min_s": min(ts), "ours_median_s": float(np.median(ts)), "ours_rounds": len(ts)}
        if m in refs:
            rts, rout = [], None
            for _ in range(args.ref_rounds):
                t = time.perf_counter()
                rout = refs[m]()
                rts.append(time.perf_counter() - t)
            # reference output is (rows, tokens) = scalar * mask; token 0 is always on the mask
            delta = (out.double() - rout.double()).abs()
            diff = float(delta.max())
            rel = float((delta / (1.0 + rout.double().abs())).max())
            res.update(
                ref_min_s=min(rts), ref_rounds=len(rts), speedup=min(rts) / min(ts), max_abs_diff=diff, max_rel_diff=rel
            )
        else:
            res.update(ref_min_s=None, speedup=None, max_abs_diff=None, note="reference not found")
        results[m] = res
        print(m, json.dumps(res), flush=True)

    groups = int(np.unique(d["group_ids"]).size)
    trajs = int(np.unique(d["trajectory_ids"]).size)
    b = batch()
    from mdp.llm._agentic_core import combine
    from mdp.llm.segments import dense_codes, segment_count

    g, _ = dense_codes(b.group_ids)
    o, no = dense_codes(b.observation_keys)
    c, nc = combine(g, o, no)
    sizes = segment_count(c, nc, dtype=torch.int64)
    report = {
        "rows": n,
        "episode_groups": groups,
        "trajectories": trajs,
        "gamma_gigpo": gamma,
        "gamma_hgpo": hgamma,
        "mean_anchor_group_size": float(n / nc),
        "rows_in_nonsingleton_anchor_groups": float((sizes[c] > 1).double().mean()),
        "torch": torch.__version__,
        "torch_threads": 1,
        "reference": dict(
            UPSTREAM,
            gigpo_path=refmods[2] if refmods else None,
            hgpo_path=refmods[3] if refmods else None,
            hgpo_variant="upstream (drops zero items)",
            reference_inputs="precomputed float64 step returns (returns time excluded)",
        ),
        "results": results,
        "machine": Cm.machine_info(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    md = render_md(report)
    if not args.no_write:
        Cm.output_path(JSON_PATH, args.quick).write_text(json.dumps(report, indent=1, default=str) + "\n")
        Cm.output_path(MD_PATH, args.quick).write_text(md)
    print(md)


def render_md(rep) -> str:
    lines = [
        "## LLM agentic advantages (GiGPO, HGPO)",
        "",
        f"{rep['rows']:,} step rows ({rep['episode_groups']} episode groups x 8 trajectories, corridor random "
        f"walks, horizon 50; mean anchor-group size {rep['mean_anchor_group_size']:.1f}, "
        f"{100 * rep['rows_in_nonsingleton_anchor_groups']:.0f}% of rows in non-singleton anchor groups), "
        f"gamma {rep['gamma_gigpo']} (GiGPO) / {rep['gamma_hgpo']} (HGPO, float32-exact returns), torch {rep['torch']} on 1 thread. Reference: verl-agent "
        f"(`{rep['reference']['repo']}` @ `{rep['reference']['commit'][:12]}`) "
        "`compute_gigpo_outcome_advantage` / `compute_hgpo_outcome_advantage`, run in the same process on the "
        "same batch with precomputed step returns (their O(rows^2) `compute_step_discounted_returns` "
        "excluded); ours includes building the `RolloutBatch` and the returns.",
        "",
        "| method | verl-agent (s) | mdp.llm (s, best of n) | speed-up | max abs diff | max diff / (1 + abs ref) |",
        "|---|---|---|---|---|---|",
    ]
    for m, r in rep["results"].items():
        if r.get("ref_min_s") is None:
            lines.append(f"| {m} | missing | {r['ours_min_s']:.3f} | - | - | - |")
        else:
            lines.append(
                f"| {m} | {r['ref_min_s']:.2f} | {r['ours_min_s']:.3f} (median "
                f"{r['ours_median_s']:.3f}, n={r['ours_rounds']}) | {r['speedup']:.0f}x | "
                f"{r['max_abs_diff']:.1e} | {r['max_rel_diff']:.1e} |"
            )
    lines += [
        "",
        "Settings: GiGPO `mean_std_norm`, omega 1, step-row episode statistics (verl-agent's default); "
        'HGPO K = 2, alpha 1, `mean_std_norm`, upstream zero-item convention (`zero_items="drop"`). '
        "The HGPO reference computes in float32, hence differences at float32 resolution. "
        f"Machine: {rep['machine'].get('cpu', '?')}; {rep['date']}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
