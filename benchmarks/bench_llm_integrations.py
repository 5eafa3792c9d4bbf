"""Per-step cost of RlabGRPOTrainer's hooks against TRL's own GRPOTrainer, same run, tiny model.

    OMP_NUM_THREADS=1 python -m benchmarks.bench_llm_integrations [--steps 6] [--rounds 2]

Needs ``trl`` (``pip install -e .[llm]``). Writes ``benchmarks/latest_llm_integrations.json``.

Workload: the tiny random 2-layer Llama (hidden size 16) and character tokenizer of
:mod:`mdp.llm.integrations.tiny`, CPU, 4 completions of at most 8 tokens per step (one prompt,
``num_generations=4``), a character-count reward. Contenders, built from the same seed and data:

* ``trl``: ``trl.GRPOTrainer`` (its GRPO advantages, its ``dapo`` loss);
* ``rlab advantage``: ``RlabGRPOTrainer(advantage="grpo")`` (rlab advantages, TRL's loss);
* ``rlab advantage + loss``: ``RlabGRPOTrainer(advantage="grpo", loss="ppo")``.

Each round trains every contender for ``--steps`` optimisation steps in rotating order; reported are
the medians over rounds and steps (the first step of every run, which carries one-time set-up, is
dropped) of TRL's logged ``step_time``, of the time inside ``_generate_and_score_completions``
(rollout, scoring, advantages), of the rlab part of it (``rlab_last["hook_seconds"]``) and inside
``_compute_loss`` (forward + loss; backward excluded). For the loss, the last contender also runs
TRL's own ``_compute_loss`` on the same inputs just before its own (result discarded), a paired
comparison under the same load. Whole-step times differ between contenders also because their
models diverge after the first update (different completion lengths).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
JSON_PATH = ROOT / "benchmarks" / "latest_llm_integrations.json"


def _reward(completions, **kw):
    return [float(c.count("r")) - 0.5 * c.count("l") for c in completions]


def _one_run(kind: str, steps: int, seed: int) -> dict:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    from mdp.llm.integrations.tiny import tiny_model, tiny_tokenizer
    from mdp.llm.integrations.trl import RlabGRPOTrainer

    tok = tiny_tokenizer()
    args = GRPOConfig(
        output_dir=tempfile.mkdtemp(),
        use_cpu=True,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=8,
        max_steps=steps,
        learning_rate=1e-2,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        seed=seed,
        disable_tqdm=True,
    )
    common = dict(
        model=tiny_model(len(tok.get_vocab()), seed=seed),
        reward_funcs=[_reward],
        args=args,
        train_dataset=Dataset.from_dict({"prompt": ["go r:", "pos 0:"] * 4 * steps}),
        processing_class=tok,
    )
    if kind == "trl":
        tr = GRPOTrainer(**common)
    elif kind == "rlab advantage":
        tr = RlabGRPOTrainer(advantage="grpo", **common)
    else:
        tr = RlabGRPOTrainer(advantage="grpo", loss="ppo", **common)
    timings = {"generate_and_score": [], "compute_loss": [], "hook": [], "trl_loss_same_inputs": []}
    for name, attr in (("generate_and_score", "_generate_and_score_completions"), ("compute_loss", "_compute_loss")):
        fn = getattr(tr, attr)

        def timed(*a, _fn=fn, _name=name, **k):
            t = time.perf_counter()
            out = _fn(*a, **k)
            timings[_name].append(time.perf_counter() - t)
            return out

        setattr(tr, attr, timed)
    if kind != "trl":
        inner = tr._generate_and_score_completions

        def with_hook(*a, _inner=inner, **k):
            out = _inner(*a, **k)
            timings["hook"].append(tr.rlab_last["hook_seconds"])
            return out

        tr._generate_and_score_completions = with_hook
    if kind == "rlab advantage + loss":
        ours = tr._compute_loss

        def paired(model, inputs, _ours=ours):
            # TRL's own loss on the same inputs, timed and discarded (forward + loss, no backward)
            t = time.perf_counter()
            GRPOTrainer._compute_loss(tr, model, inputs)
            timings["trl_loss_same_inputs"].append(time.perf_counter() - t)
            return _ours(model, inputs)

        tr._compute_loss = paired
    tr.train()
    step_times = [float(h["step_time"]) for h in tr.state.log_history if "step_time" in h]
    return {
        "step_time": step_times[1:],
        "generate_and_score": timings["generate_and_score"][1:],
        "compute_loss": timings["compute_loss"][1:],
        "hook": timings["hook"][1:],
        "trl_loss_same_inputs": timings["trl_loss_same_inputs"][1:],
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args(argv)
    import torch
    import trl

    torch.set_num_threads(1)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    kinds = ["trl", "rlab advantage", "rlab advantage + loss"]
    keys = ("step_time", "generate_and_score", "compute_loss", "hook", "trl_loss_same_inputs")
    acc = {k: {key: [] for key in keys} for k in kinds}
    for r in range(a.rounds):
        order = kinds[r % 3 :] + kinds[: r % 3]
        for k in order:
            res = _one_run(k, a.steps, seed=r)
            for key, vals in res.items():
                acc[k][key] += vals
    out = {
        "trl": trl.__version__,
        "torch": torch.__version__,
        "steps": a.steps,
        "rounds": a.rounds,
        "load": os.getloadavg(),
    }
    rows = {}
    for k in kinds:
        rows[k] = {key: 1e3 * float(np.median(v)) for key, v in acc[k].items() if v}
    out["median_ms"] = rows
    base = rows["trl"]
    print(
        "| contender | step (ms) | generate+score+advantages (ms) | rlab hook in it (ms) | forward+loss (ms) | step vs TRL |"
    )
    print("|---|---|---|---|---|---|")
    for k in kinds:
        v = rows[k]
        hook = f"{v['hook']:.2f}" if "hook" in v else "-"
        print(
            f"| {k} | {v['step_time']:.1f} | {v['generate_and_score']:.1f} | {hook} | {v['compute_loss']:.1f} | "
            f"{v['step_time'] / base['step_time']:.2f}x |"
        )
    v = rows["rlab advantage + loss"]
    print(
        f"forward+loss on the same inputs: rlab ppo {v['compute_loss']:.1f} ms, "
        f"TRL dapo {v['trl_loss_same_inputs']:.1f} ms"
    )
    JSON_PATH.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
