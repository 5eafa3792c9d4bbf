"""Lab ``bq_tsp``: optimality gap of a learned TSP policy against instance size (BQ-NCO, ``docs/papers/bq_nco.md``).

Part B of the BQ-NCO lab: two tiny attention policies (:mod:`mdp.cop.policy`; 2 ReZero layers,
``d = 32``, 4 heads, no positional encoding) are trained by behaviour cloning on ``n_instances``
random Euclidean TSP-``n_train`` instances labelled by Held-Karp, with suffix sub-problem sampling
(one size ``L ~ U{4, ..., n_train + 1}`` per minibatch):

* ``bq``: the bisimulation-quotient view, the policy sees only the remaining sub-problem
  ``[origin, remaining..., destination]`` (Drakulic et al., NeurIPS 2023);
* ``direct``: the same network on all ``n`` nodes with ``(visited, current, first)`` flags, trained
  on the same states and expert actions;
* ``nearest_neighbour``: the greedy nearest-neighbour heuristic (no learning), for scale.

Each is decoded greedily on ``eval_instances`` fresh random instances of every size in ``eval_sizes``
(Held-Karp optima, so sizes are limited to ``n <= 20``); one row per (model, n) with the mean
optimality gap ``length / optimal - 1`` in percent, its spread, the fraction of instances solved
optimally and the number of network calls of the decoding (``n - 1``; BQ on sizes ``n + 1, ..., 3``).
``gen_gap_pct`` is the generalisation gap, the mean gap at ``n`` minus the mean gap at the training
size (NaN when ``n_train`` is not evaluated). The paper's expected direction: similar in-distribution
gaps, and a gap that grows less with ``n`` for ``bq`` than for ``direct``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["BQTSPConfig", "MODELS", "run", "plot", "LAB"]

#: model -> legend label, in plotting order
MODELS = {
    "bq": "BQ policy (sub-problem view)",
    "direct": "direct policy (all nodes + flags)",
    "nearest_neighbour": "nearest-neighbour heuristic",
}
SHORT = {"bq": "BQ", "direct": "direct", "nearest_neighbour": "NN"}


@dataclass(frozen=True)
class BQTSPConfig:
    """Training and evaluation protocol (defaults: 26-38 s per seed on one thread of a busy 2-core machine)."""

    n_train: int = 10
    n_instances: int = 2000
    steps: int = 1000
    batch_size: int = 128
    lr: float = 2e-3
    lr_decay: float = 0.1
    d_model: int = 32
    n_heads: int = 4
    n_layers: int = 2
    d_ff: int = 64
    eval_sizes: tuple[int, ...] = (8, 10, 12, 14, 16)
    eval_instances: int = 256
    models: tuple[str, ...] = tuple(MODELS)
    threads: int = 1

    def __post_init__(self):
        unknown = sorted(set(self.models) - set(MODELS))
        if unknown:
            raise ValueError(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
        if not 3 <= self.n_train <= 20:
            raise ValueError(f"n_train must lie in [3, 20] (Held-Karp labels), got {self.n_train}")
        if not self.eval_sizes or any(not 3 <= n <= 20 for n in self.eval_sizes):
            raise ValueError(
                f"eval_sizes must be non-empty with every n in [3, 20] (Held-Karp optima), got {self.eval_sizes}"
            )
        for name in ("n_instances", "steps", "batch_size", "eval_instances", "threads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


def _rows_for(model_name, n, ev, config, extra):
    gaps = 100.0 * ev.gaps
    return {
        "model": model_name,
        "n": int(n),
        "n_train": config.n_train,
        "mean_gap_pct": float(gaps.mean()),
        "std_gap_pct": float(gaps.std(ddof=1)) if gaps.size > 1 else 0.0,
        "sem_gap_pct": float(gaps.std(ddof=1) / np.sqrt(gaps.size)) if gaps.size > 1 else 0.0,
        "median_gap_pct": float(np.median(gaps)),
        "max_gap_pct": float(gaps.max()),
        "opt_rate": float(np.mean(ev.gaps < 1e-9)),
        "n_calls": int(ev.n_calls),
        "eval_instances": int(gaps.size),
        "eval_seconds": float(ev.seconds),
        **extra,
    }


def run(config: BQTSPConfig, rng: np.random.Generator) -> list[dict]:
    from mdp.cop import nearest_neighbour_scores, random_euclidean_tsp, solve_tsp_batch
    from mdp.cop.policy import evaluate, train_bq_policy, train_direct_policy

    rng = np.random.default_rng(rng)
    t_start = time.perf_counter()
    arch = dict(d_model=config.d_model, n_heads=config.n_heads, n_layers=config.n_layers, d_ff=config.d_ff)
    train_kw = dict(
        batch_size=config.batch_size, lr=config.lr, lr_decay=config.lr_decay, threads=config.threads, **arch
    )
    # one training set for both learned policies (same instances, expert tours and sub-problem states)
    train_coords = random_euclidean_tsp(config.n_train, config.n_instances, rng=rng)
    trainers = {"bq": train_bq_policy, "direct": train_direct_policy}
    policies, info = {}, {}
    for name in config.models:
        if name in trainers:
            model, hist = trainers[name](
                config.n_train, config.n_instances, config.steps, rng=rng, instances=train_coords, **train_kw
            )
            policies[name] = model
            tail = max(1, config.steps // 10)
            info[name] = {
                "train_seconds": hist.seconds,
                "label_seconds": hist.label_seconds,
                "final_loss": float(hist.losses[-tail:].mean()),
                "final_accuracy": float(hist.accuracy[-tail:].mean()),
                "initial_loss": float(hist.losses[:tail].mean()),
            }
        else:
            policies[name] = nearest_neighbour_scores
            info[name] = {
                "train_seconds": 0.0,
                "label_seconds": 0.0,
                "final_loss": np.nan,
                "final_accuracy": np.nan,
                "initial_loss": np.nan,
            }
    rows = []
    for n in sorted(set(config.eval_sizes)):
        coords = random_euclidean_tsp(n, config.eval_instances, rng=rng)
        t0 = time.perf_counter()
        optimal = solve_tsp_batch(coords, kind="coords").lengths
        hk_seconds = time.perf_counter() - t0
        for name in config.models:
            view = None if name in trainers else "bq"
            ev = evaluate(policies[name], coords, view, optimal=optimal, threads=config.threads)
            rows.append(_rows_for(name, n, ev, config, {**info[name], "held_karp_seconds": hk_seconds}))
    # generalisation gap: gap at n minus gap at the training size, per model
    base = {r["model"]: r["mean_gap_pct"] for r in rows if r["n"] == config.n_train}
    total = time.perf_counter() - t_start
    for r in rows:
        r["gen_gap_pct"] = r["mean_gap_pct"] - base[r["model"]] if r["model"] in base else np.nan
        r["run_seconds"] = total
        r["threads"] = config.threads
    return rows


def plot(table, config: BQTSPConfig):
    from labs.plotting import PALETTE, TEXT_WIDTH, new_figure

    markers = {"bq": "o", "direct": "s", "nearest_neighbour": "^"}
    styles = {"bq": "-", "direct": "-", "nearest_neighbour": "--"}
    fig, axes = new_figure(2, width=TEXT_WIDTH, height=2.5)
    multi = "seed" in table and table["seed"].nunique() > 1
    summary = []
    for k, name in enumerate(MODELS):
        sub = table[table["model"] == name]
        if sub.empty:
            continue
        colour = PALETTE[k % len(PALETTE)]
        g = sub.groupby("n")
        mean = g["mean_gap_pct"].mean()
        kw = dict(marker=markers[name], color=colour, ls=styles[name], label=MODELS[name])
        if multi:  # spread over seeds
            axes[0].plot(mean.index, mean.values, **kw)
            axes[0].fill_between(
                mean.index,
                g["mean_gap_pct"].min().values,
                g["mean_gap_pct"].max().values,
                color=colour,
                alpha=0.15,
                lw=0,
            )
        else:  # standard error over instances
            axes[0].errorbar(mean.index, mean.values, yerr=g["sem_gap_pct"].mean().values, capsize=2, **kw)
        opt = g["opt_rate"].mean()
        axes[1].plot(opt.index, 100 * opt.values, **kw)
        gen = g["gen_gap_pct"].mean()
        if np.isfinite(gen.values).any():
            summary.append(f"{SHORT[name]} {gen.values[-1]:+.2f} pp")
    for ax in axes:
        ax.axvline(config.n_train, color="0.5", lw=0.8, ls=":")
        ax.set_xlabel(r"instance size $n$ (nodes)")
        ax.set_xticks(sorted(table["n"].unique()))
    ymax = axes[0].get_ylim()[1]
    axes[0].text(config.n_train, ymax, " training size", ha="left", va="top", fontsize=7, color="0.35")
    axes[0].set_ylim(bottom=0)
    axes[0].set_ylabel("mean optimality gap [%]")
    axes[0].set_title("(a) greedy decoding vs Held-Karp optimum")
    axes[1].set_ylim(0, 100)
    axes[1].set_ylabel("instances solved optimally [%]")
    axes[1].set_title("(b) exact solutions")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels) or 1)
    band = "band = range over seeds" if multi else "bars = standard error over instances"
    head = (
        f"TSP, behaviour cloning on {config.n_instances} Held-Karp tours of n = {config.n_train} "
        f"({config.steps} steps, d = {config.d_model}, {config.n_layers} layers); {band}"
    )
    if summary:
        n_max = int(table["n"].max())
        head += f"\ngeneralisation gap (gap at n = {n_max} minus gap at n = {config.n_train}): " + ", ".join(summary)
    fig.suptitle(head, fontsize=8)
    return fig


LAB = register_lab(
    Lab(
        name="bq_tsp",
        subjects=("mdp.cop.train_bq_policy", "mdp.cop.train_direct_policy", "mdp.cop.solve_tsp_batch"),
        config_cls=BQTSPConfig,
        run=run,
        plot=plot,
        description="BQ-NCO: optimality gap vs n of a tiny BQ transformer vs a direct-view baseline (TSP, imitation).",
    )
)
