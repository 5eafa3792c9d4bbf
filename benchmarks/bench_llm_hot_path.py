"""LLM hot path (issue 21): GRPO advantages and the PPO-clip loss against verl and TRL, same run.

    python -m benchmarks.bench_llm_hot_path [--rows 512] [--tokens 2048] [--rounds 15]

Needs an environment with torch, verl and trl (their functions are imported at run time, nothing of
theirs is copied here); a contender that does not import is reported missing. Writes
``benchmarks/latest_llm_hot_path.json`` and ``benchmarks/llm_hot_path_section.md`` (the section of
``docs/benchmarks.md`` it produced).

Contenders, float32 on CPU, torch pinned to one thread, interleaved rounds (``_common.interleaved``):

* GRPO on verl-style inputs: ``token_level_rewards`` and ``response_mask`` float32 ``(rows, tokens)``,
  group ids a numpy object array of uuid strings (verl's ``uid``), groups of 8, output the
  ``(rows, tokens)`` advantage. verl 0.9.1 ``compute_grpo_vectorized_outcome_advantage`` against
  ``compute_advantages("grpo", RolloutBatch(...), broadcast=True, convention="verl")`` (building and
  validating the batch included) and the same with ``RolloutBatch(..., validate=False)``.
* PPO-clip forward + backward, token-mean, clip 0.2 / 0.28: verl 0.9.1
  ``compute_policy_loss_vanilla`` (dual clip c = 3, token-level advantages) and TRL 1.16.0
  ``GRPOTrainer._compute_loss`` (``loss_type="bnpo"``, row advantages; called unbound on a stand-in
  for the trainer whose ``_get_per_token_logps_and_entropies`` returns the prepared log-probabilities,
  so TRL's own loss code runs, metrics included; its entropy input is one value per row, which keeps
  TRL's entropy metric out of the timing) against ``policy_loss("ppo", ...)`` with the same options.

Peak memory: each contender runs in a fresh subprocess (glibc's mmap threshold fixed at 128 KiB so
freed tensors leave the resident set at once); after two warm-up calls the kernel's peak-RSS mark is
reset and one more call is run: the figure is its peak resident set above the resident set before
it, i.e. the temporaries of one call plus what it returns (loss, gradient, result tensors).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import interleaved, machine_info, paired_ratio  # noqa: E402

JSON_PATH = ROOT / "benchmarks" / "latest_llm_hot_path.json"
MD_PATH = ROOT / "benchmarks" / "llm_hot_path_section.md"
CONTENDERS = {
    "grpo": ("verl", "ours", "ours_trusted"),
    "ppo_verl": ("verl", "ours", "ours_trusted"),
    "ppo_trl": ("trl", "ours", "ours_trusted"),
    "rloo": ("verl", "ours", "ours_trusted"),
    "gspo": ("verl", "ours"),
}
DEFAULT_WORK = ("grpo", "ppo_verl", "ppo_trl")  # the goals; --work all adds rloo and gspo


# ----------------------------------------------------------------------------- peers
def import_verl():
    """verl's ``core_algos`` (None when verl is absent or its import chain is broken).

    verl 0.9.1 imports transformers, which imports the ``kernels`` package when it is installed; some
    ``kernels`` releases raise at import ("Either a revision or a version must be specified"). verl's
    loss functions do not use it, so on that failure ``kernels`` is hidden and the import retried.
    """
    try:
        from verl.trainer.ppo import core_algos

        return core_algos
    except ImportError:
        return None
    except Exception:
        for k in [k for k in sys.modules if k.split(".")[0] in ("verl", "transformers", "kernels")]:
            del sys.modules[k]
        sys.modules["kernels"] = None
        try:
            from verl.trainer.ppo import core_algos

            return core_algos
        except Exception:
            return None


def import_trl():
    try:
        import_verl()  # the same transformers workaround, if needed
        from trl.trainer.grpo_trainer import GRPOTrainer

        return GRPOTrainer
    except Exception:
        return None


class _VerlConfig(dict):
    def __getattr__(self, k):
        return self[k]


def _trl_standin(logp, loss_type="bnpo"):
    """The attributes ``GRPOTrainer._compute_loss`` reads, for one process, no vLLM, no KL."""
    from collections import defaultdict

    rows = logp.shape[0]
    ent = logp.new_zeros(rows, 1)
    acc = types.SimpleNamespace(
        num_processes=1,
        gather=lambda x: x,
        gather_for_metrics=lambda x: x,
        reduce=lambda x, reduction="sum": x,
        sync_gradients=True,
    )
    return types.SimpleNamespace(
        _get_per_token_logps_and_entropies=lambda *a, **k: (logp, ent, None),
        aux_loss_enabled=False,
        top_entropy_quantile=1.0,
        off_policy_mask_threshold=None,
        importance_sampling_level="token",
        beta=0.0,
        loss_type=loss_type,
        epsilon_low=0.2,
        epsilon_high=0.28,
        args=types.SimpleNamespace(delta=None, steps_per_generation=1, use_bias_correction_kl=False),
        use_vllm=False,
        vllm_importance_sampling_correction=False,
        model=types.SimpleNamespace(training=True),
        current_gradient_accumulation_steps=1,
        accelerator=acc,
        _entropy_bonus_enabled=False,
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
    )


# ----------------------------------------------------------------------------- workloads
def make_inputs(rows, tokens, seed=0, device="cpu"):
    import uuid

    import torch

    rng = np.random.default_rng(seed)
    lengths = rng.integers(tokens // 8, tokens + 1, rows)
    mask = torch.from_numpy((np.arange(tokens)[None, :] < lengths[:, None]).astype(np.float32))
    tlr = np.zeros((rows, tokens), np.float32)
    tlr[np.arange(rows), lengths - 1] = rng.integers(0, 2, rows)
    uids = [str(uuid.UUID(int=int(rng.integers(2**62)))) for _ in range(rows // 8 + 1)]
    index = np.array([uids[i // 8] for i in range(rows)], dtype=object)
    old = torch.from_numpy(np.log(rng.uniform(0.05, 1.0, (rows, tokens))).astype(np.float32))
    logp = old + torch.from_numpy(rng.normal(0, 0.2, (rows, tokens)).astype(np.float32))
    adv_row = torch.from_numpy(rng.normal(size=rows).astype(np.float32))
    d = {
        "token_level_rewards": torch.from_numpy(tlr),
        "response_mask": mask,
        "old": old,
        "logp": logp,
        "adv_row": adv_row,
        "adv_tok": adv_row[:, None] * mask,
    }
    d = {k: v.to(device) for k, v in d.items()}
    d["index"] = index
    return d


def make_calls(work, who, d):
    """A zero-argument callable running contender ``who`` of workload ``work`` on inputs ``d``."""
    import torch

    from mdp.llm import RolloutBatch, compute_advantages, policy_loss

    if work in ("grpo", "rloo"):
        if who == "verl":
            C = import_verl()
            if C is None:
                return None
            fn = getattr(C, f"compute_{work}_vectorized_outcome_advantage")
            return lambda: fn(d["token_level_rewards"], d["response_mask"], d["index"])[0]
        validate = who == "ours"
        conv = {"convention": "verl_vectorized"} if work == "rloo" else {}

        def ours():
            b = RolloutBatch(
                rewards=d["token_level_rewards"],
                group_ids=d["index"],
                response_mask=d["response_mask"],
                validate=validate,
            )
            return compute_advantages(work, b, broadcast=True, **conv)

        return ours
    lp = d["logp"].clone().requires_grad_(True)
    old, mask = d["old"], d["response_mask"]
    if work == "gspo":
        adv = d["adv_tok"]
        if who == "verl":
            C = import_verl()
            if C is None:
                return None
            cfg = _VerlConfig(clip_ratio=3e-4, clip_ratio_low=3e-4, clip_ratio_high=4e-4, global_batch_info={})

            def f():
                lp.grad = None
                loss, _ = C.compute_policy_loss_gspo(old, lp, adv, mask, "seq-mean-token-mean", cfg)
                loss.backward()
                return loss

            f.leaf = lp
            return f

        def f():
            lp.grad = None
            r = policy_loss("gspo", lp, old, adv, mask, agg="seq-mean-token-mean", eps_low=3e-4, eps_high=4e-4)
            r.loss.backward()
            return r.loss

        f.leaf = lp
        return f
    if work == "ppo_verl":
        adv = d["adv_tok"]
        if who == "verl":
            C = import_verl()
            if C is None:
                return None
            cfg = _VerlConfig(clip_ratio=0.2, clip_ratio_low=0.2, clip_ratio_high=0.28, clip_ratio_c=3.0)
            cfg["global_batch_info"] = {}

            def f():
                lp.grad = None
                loss, _ = C.compute_policy_loss_vanilla(old, lp, adv, mask, "token-mean", cfg)
                loss.backward()
                return loss

            f.leaf = lp
            return f
        opts = {"dual_clip": 3.0}
    else:
        adv = d["adv_row"]
        if who == "trl":
            G = import_trl()
            if G is None:
                return None
            fake = _trl_standin(lp)
            inputs = {
                "prompt_ids": torch.zeros(lp.shape[0], 1, dtype=torch.long),
                "prompt_mask": torch.ones(lp.shape[0], 1, dtype=torch.long),
                "completion_ids": torch.zeros(lp.shape[0], 0, dtype=torch.long),
                "completion_mask": mask,
                "advantages": adv,
                "old_per_token_logps": old,
            }

            def f():
                lp.grad = None
                loss = G._compute_loss(fake, None, inputs)
                loss.backward()
                return loss

            f.leaf = lp
            return f
        opts = {}
    validate = who == "ours"

    def f():
        lp.grad = None
        r = policy_loss(
            "ppo", lp, old, adv, mask, agg="token-mean", eps_low=0.2, eps_high=0.28, validate=validate, **opts
        )
        r.loss.backward()
        return r.loss

    f.leaf = lp
    return f


def check_agreement(work, d):
    """Max |ours - peer| of the output (grpo) or of loss and gradient (ppo)."""
    peer = CONTENDERS[work][0]
    f_peer, f_ours = make_calls(work, peer, d), make_calls(work, "ours", d)
    if f_peer is None:
        return None
    if work in ("grpo", "rloo"):
        return float((f_peer() - f_ours()).abs().max())
    a = float(f_peer().detach())
    ga = f_peer.leaf.grad.clone()
    b = float(f_ours().detach())
    gb = f_ours.leaf.grad.clone()
    return max(abs(a - b), float((ga - gb).abs().max()))


# ----------------------------------------------------------------------------- memory
def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _peak_child(work, who, rows, tokens):
    """In a subprocess: peak resident memory (MB) over one call, above the resident set before it.

    Run with ``MALLOC_MMAP_THRESHOLD_`` fixed (see :func:`peak_memory`) so that glibc returns freed
    large blocks at once and the resident set tracks live tensors; the kernel's high-water mark is
    reset before the call (``/proc/self/clear_refs`` = 5, Linux) and read after it (``VmHWM``).
    """
    import gc

    import torch

    torch.set_num_threads(1)
    d = make_inputs(rows, tokens)
    f = make_calls(work, who, d)
    if f is None:
        return None
    for _ in range(2):
        f()
    gc.collect()
    before = _status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    out = f()
    peak = _status_kb("VmHWM")
    del out
    return (peak - before) / 1024.0


def peak_memory(work, who, rows, tokens):
    import os

    code = (
        "import json, sys; sys.path.insert(0, %r); from benchmarks.bench_llm_hot_path import _peak_child; "
        "print(json.dumps(_peak_child(%r, %r, %d, %d)))" % (str(ROOT), work, who, rows, tokens)
    )
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072", OMP_NUM_THREADS="1")
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=600, check=True, env=env
        )
        return json.loads(out.stdout.strip().splitlines()[-1])
    except Exception as exc:  # report, do not hide
        return f"failed: {type(exc).__name__}"


# ----------------------------------------------------------------------------- main
def _cuda_peak_mb(f):
    """Peak CUDA memory (MB) of one call above what was allocated before it."""
    import torch

    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    out = f()
    torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated()
    del out
    return (peak - base) / 2**20


def run(rows, tokens, rounds, memory=True, device="cpu", works=DEFAULT_WORK, min_sample_ms=0.0):
    import torch

    torch.set_num_threads(1)
    cuda = str(device).startswith("cuda")
    d = make_inputs(rows, tokens, device=device)
    rep = {
        "rows": rows,
        "tokens": tokens,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "machine": machine_info(),
        "torch": torch.__version__,
        "verl": _dist_version("verl"),
        "trl": _dist_version("trl"),
        "results": {},
    }
    for work in works:
        names = CONTENDERS[work]
        fns = {n: make_calls(work, n, d) for n in names}
        fns = {n: f for n, f in fns.items() if f is not None}
        if cuda:  # time the kernels, not the launches
            fns = {n: (lambda f=f: (f(), torch.cuda.synchronize())) for n, f in fns.items()}
        t = interleaved(fns, rounds=rounds, warmup=2, min_sample_ms=min_sample_ms)
        peer = names[0]
        res = {"timings": {n: {k: v for k, v in t[n].items() if k != "samples_ms"} for n in t}, "missing": []}
        res["missing"] = [n for n in names if n not in fns]
        for n in t:
            res["timings"][n]["tokens_per_s"] = rows * tokens / (t[n]["median_ms"] * 1e-3)
            if n != peer:
                res["timings"][n]["ratio_to_" + peer] = paired_ratio(t, n, peer)
        res["max_abs_diff"] = check_agreement(work, d)
        if memory:
            if cuda:
                res["peak_mb"] = {n: _cuda_peak_mb(make_calls(work, n, d)) for n in fns}
            else:
                res["peak_mb"] = {n: peak_memory(work, n, rows, tokens) for n in names}
        rep["results"][work] = res
        print(work, json.dumps(res, default=str), flush=True)
    return rep


def _dist_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return None


LABELS = {
    "grpo": "GRPO advantage, verl-style inputs",
    "rloo": "RLOO advantage, verl-style inputs",
    "ppo_verl": "PPO-clip fwd+bwd vs verl (dual clip 3, token advantages)",
    "ppo_trl": "PPO-clip fwd+bwd vs TRL (bnpo, row advantages)",
    "gspo": "GSPO fwd+bwd vs verl (seq-mean-token-mean)",
}


def render_md(rep) -> str:
    dev = rep.get("device", "cpu")
    where = "CPU, torch on 1 thread" if dev == "cpu" else f"GPU {dev}"
    peak = (
        "Peak = peak resident set of one call above the resident set before it, in a fresh process "
        "(inputs excluded, outputs and gradient included)."
        if dev == "cpu"
        else "Peak = torch.cuda.max_memory_allocated over one call above the memory allocated before it."
    )
    lines = [
        f"{rep['rows']} rows x {rep['tokens']} tokens, float32, {where} (torch {rep['torch']}); "
        f"verl {rep['verl']}, TRL {rep['trl']} run in the same process on the same inputs "
        "(interleaved rounds; ratio = median over rounds of ours / peer in the same round). " + peak,
        "",
        "| workload | contender | median (ms) | min (ms) | Mtokens/s | ratio to peer | peak (MB) | max abs diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for work, res in rep["results"].items():
        peer = CONTENDERS[work][0]
        for n, t in res["timings"].items():
            ratio = t.get("ratio_to_" + peer)
            pk = res.get("peak_mb", {}).get(n)
            pk = f"{pk:.1f}" if isinstance(pk, (int, float)) else (pk or "—")
            diff = res["max_abs_diff"] if n == "ours" else None
            lines.append(
                f"| {LABELS[work]} | {n} | {t['median_ms']:.2f} | {t['min_ms']:.2f} | {t['tokens_per_s'] / 1e6:.0f} | "
                f"{'%.2fx' % ratio if ratio else '—'} | {pk} | {'%.1e' % diff if diff is not None else ''} |"
            )
        for n in res["missing"]:
            lines.append(f"| {LABELS[work]} | {n} | missing | | | | | |")
    lines += ["", f"Machine: {rep['machine'].get('cpu', '?')}; {time.strftime('%Y-%m-%d %H:%M:%S')}."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=512)
    p.add_argument("--tokens", type=int, default=2048)
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--device", default="cpu")
    p.add_argument("--work", default=",".join(DEFAULT_WORK), help="comma list of %s, or 'all'" % ", ".join(CONTENDERS))
    p.add_argument("--out", default=None, help="directory for the JSON and markdown (default: benchmarks/)")
    p.add_argument("--min-sample-ms", type=float, default=0.0, help="repeat fast calls so one sample lasts this long")
    p.add_argument("--no-memory", action="store_true")
    p.add_argument("--no-write", action="store_true")
    a = p.parse_args(argv)
    works = tuple(CONTENDERS) if a.work == "all" else tuple(w for w in a.work.split(",") if w)
    unknown = [w for w in works if w not in CONTENDERS]
    if unknown:
        p.error(f"unknown workload(s) {unknown}; known: {list(CONTENDERS)}")
    rep = run(
        a.rows, a.tokens, a.rounds, memory=not a.no_memory, device=a.device, works=works, min_sample_ms=a.min_sample_ms
    )
    md = render_md(rep)
    print(md)
    if not a.no_write:
        json_path, md_path = JSON_PATH, MD_PATH
        if a.out:
            out = Path(a.out)
            out.mkdir(parents=True, exist_ok=True)
            json_path, md_path = out / "llm_hot_path.json", out / "llm_hot_path.md"
        json_path.write_text(json.dumps(rep, indent=1, default=str))
        md_path.write_text(md)


if __name__ == "__main__":
    main()
