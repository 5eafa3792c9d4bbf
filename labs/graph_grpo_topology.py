"""Lab ``graph_grpo_topology``: Graph-GRPO against absolute-reward REINFORCE on a toy multi-agent
topology task in which one edge matters (docs/papers/graph_grpo.md, CPU-scale lab).

Task (:func:`mdp.llm.graph_grpo.make_topology_task`): ``n`` agents, candidate edges ``i -> j`` (``i < j``),
query types with one critical edge each; a query of difficulty ``d ~ N(0, s^2)`` is answered correctly
with probability ``sigmoid(d + beta a_{e*})``. Topology policy: one logit per (type, edge), from 0
(every edge with probability 1/2).

Panels:

* edge credit at the initial policy: mean ``Delta_e`` (:func:`mdp.llm.graph_grpo.edge_credit`) with
  its standard error over ``credit_groups`` queries of ``K`` graphs, the critical edge marked (claim 3 /
  GG2);
* gradient noise at the initial policy: relative variance ``tr Cov(g) / ||E g||^2`` of one query's
  gradient estimate ``g = (1/K) sum_k A_k (a_k - p)`` for Graph-GRPO (group baseline), REINFORCE with
  the absolute reward, and REINFORCE with the exact mean success as baseline (what a moving average
  converges to), against the group size ``K`` (the notes' claim 2);
* training: exact expected accuracy over a fixed set of evaluation queries for Graph-GRPO, REINFORCE
  and REINFORCE with a moving-average baseline (equal samples per update, equal learning rate);
* the learned probability of the critical edge during training (the critical-edge AUC of the ranking
  by ``p_e``, the share of other edges ranked below the critical one with ties counting 1/2, averaged
  over types, is in the CSV: it reaches 1 within a few tens of updates for every method here).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab
from labs.executors import limit_threads

__all__ = ["GraphGrpoConfig", "METHOD_LABELS", "run", "plot", "LAB"]

METHOD_LABELS = {
    "graph_grpo": "Graph-GRPO",
    "reinforce": "REINFORCE (absolute reward)",
    "reinforce_ema": "REINFORCE, moving-average baseline",
}


@dataclass(frozen=True)
class GraphGrpoConfig:
    """Task, credit and variance estimates, training run."""

    n_agents: int = 5
    n_types: int = 3
    effect: float = 2.0
    difficulty_sd: float = 2.0
    group_size: int = 8
    credit_groups: int = 3000
    variance_groups: int = 4000
    variance_sizes: tuple[int, ...] = (2, 4, 8, 16)
    n_iter: int = 300
    queries_per_iter: int = 4
    learning_rate: float = 0.5
    ema: float = 0.9
    n_eval: int = 2000
    auc_every: int = 10
    threads: int = 1

    def __post_init__(self):
        if self.n_agents < 2 or self.n_types < 1:
            raise ValueError("n_agents >= 2 and n_types >= 1 are required")
        if self.group_size < 2 or any(int(k) < 2 for k in self.variance_sizes) or not self.variance_sizes:
            raise ValueError("group sizes must be >= 2")
        for name in ("credit_groups", "variance_groups", "queries_per_iter", "n_eval", "auc_every"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_iter < 0 or not self.learning_rate > 0 or not 0 <= self.ema < 1:
            raise ValueError("n_iter >= 0, learning_rate > 0 and ema in [0, 1) are required")


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=float)))


def _auc(probs, critical) -> float:
    """Share of other edges ranked below the critical one (ties count 1/2), mean over types."""
    out = []
    for t in range(len(critical)):
        pc, rest = probs[t][critical[t]], np.delete(probs[t], critical[t])
        out.append((pc > rest).mean() + 0.5 * (pc == rest).mean())
    return float(np.mean(out))


def run(config: GraphGrpoConfig, rng: np.random.Generator) -> list[dict]:
    rng = np.random.default_rng(rng)
    rows = []
    with limit_threads(config.threads):
        import torch

        from mdp.llm import RolloutBatch, compute_advantages
        from mdp.llm.graph_grpo import (
            edge_credit,
            make_topology_task,
            sample_graphs,
            success_probability,
            train_topology,
        )

        torch.set_num_threads(max(1, int(config.threads)))
        task = make_topology_task(
            n_agents=config.n_agents,
            n_types=config.n_types,
            effect=config.effect,
            difficulty_sd=config.difficulty_sd,
            rng=rng,
        )
        E = task.n_edges
        # edge credit at p = 1/2, queries of type 0
        n, K = config.credit_groups, config.group_size
        acts = sample_graphs(np.full(E, 0.5), n * K, rng=rng)
        d = np.repeat(task.difficulty_sd * rng.standard_normal(n), K)
        r = (rng.random(n * K) < success_probability(task, np.zeros(n * K, np.int64), d, acts)).astype(float)
        gid = np.repeat(np.arange(n), K)
        A = compute_advantages("graph_grpo", RolloutBatch(rewards=r, group_ids=gid)).numpy()
        ec = edge_credit(A, acts, gid)
        e_star = int(task.critical[0])
        for e in range(E):
            rows.append(
                {
                    "panel": "credit",
                    "method": "graph_grpo",
                    "x": e,
                    "value": float(ec.delta[e]),
                    "stderr": float(ec.stderr[e]),
                    "critical": e == e_star,
                }
            )
        # gradient noise of one query's estimate at p = 1/2 (type 0), against K
        p = np.full(E, 0.5)
        dd = task.difficulty_sd * rng.standard_normal(200_000)
        mean_success = float(np.mean(0.5 * _sigmoid(dd) + 0.5 * _sigmoid(dd + task.effect)))
        for Kv in config.variance_sizes:
            nv = config.variance_groups
            acts = sample_graphs(p, nv * Kv, rng=rng)
            d = np.repeat(task.difficulty_sd * rng.standard_normal(nv), Kv)
            r = (rng.random(nv * Kv) < success_probability(task, np.zeros(nv * Kv, np.int64), d, acts)).astype(float)
            batch = RolloutBatch(rewards=r, group_ids=np.repeat(np.arange(nv), Kv))
            for method, adv in (
                ("graph_grpo", compute_advantages("graph_grpo", batch).numpy()),
                ("reinforce", r),
                ("reinforce_ema", r - mean_success),
            ):
                g = ((adv[:, None] * (acts - p)).reshape(nv, Kv, E)).mean(1)
                mean = g.mean(0)
                rows.append(
                    {
                        "panel": "gradvar",
                        "method": method,
                        "x": int(Kv),
                        "value": float(g.var(0, ddof=1).sum() / (mean @ mean)),
                        "stderr": np.nan,
                        "critical": False,
                    }
                )
        seed = int(rng.integers(2**62))
        for method in METHOD_LABELS:
            res = train_topology(
                task,
                method=method,
                n_iter=config.n_iter,
                group_size=config.group_size,
                queries_per_iter=config.queries_per_iter,
                learning_rate=config.learning_rate,
                ema=config.ema,
                n_eval=config.n_eval,
                rng=np.random.default_rng(seed),
            )
            for i, a in enumerate(res.accuracy):
                rows.append(
                    {"panel": "train", "method": method, "x": i, "value": float(a), "stderr": np.nan, "critical": False}
                )
            for i in range(0, config.n_iter + 1, config.auc_every):
                pc = float(res.probs[i][np.arange(task.n_types), task.critical].mean())
                auc = _auc(res.probs[i], task.critical)
                for panel, v in (("auc", auc), ("p_critical", pc)):
                    rows.append(
                        {"panel": panel, "method": method, "x": i, "value": v, "stderr": np.nan, "critical": False}
                    )
    return rows


def plot(table, config: GraphGrpoConfig):
    from labs.plotting import PALETTE, TEXT_WIDTH, new_figure

    fig, axes = new_figure(4, 1, width=TEXT_WIDTH, height=2.9)
    colours = dict(zip(METHOD_LABELS, (PALETTE[0], PALETTE[1], PALETTE[3])))
    n_seeds = int(table["seed"].nunique()) if "seed" in table else 1
    c = table[table["panel"] == "credit"]
    first = c[c["seed"] == c["seed"].min()] if "seed" in c else c
    ax = axes[0]
    x = first["x"].to_numpy()
    ax.errorbar(
        x, first["value"], yerr=2 * first["stderr"], fmt="o", color="0.3", ms=3, capsize=1.5, label="other edges"
    )
    crit = first[first["critical"].astype(bool)]
    ax.errorbar(
        crit["x"],
        crit["value"],
        yerr=2 * crit["stderr"],
        fmt="D",
        color=PALETTE[4],  # reddish purple: vermillion is REINFORCE's colour in (b)-(d)
        ms=4,
        capsize=1.5,
        label="critical edge $e^*$",
    )
    ax.axhline(0, color="0.5", lw=0.7)
    ax.set_xlabel("candidate edge $e$")
    ax.set_ylabel(r"edge credit $\Delta_e$ ($\pm$ 2 s.e.)")
    ax.set_title(f"(a) credit at $p_e = 1/2$, first seed\n({config.credit_groups} queries x K = {config.group_size})")
    ax.legend(loc="center left", fontsize=6)
    ax.set_xticks(range(0, int(x.max()) + 1, 2))
    for i, (panel, axi, xlabel, ylabel, title) in enumerate(
        (
            (
                "gradvar",
                axes[1],
                "group size K",
                r"tr Cov$(g)$ / $\|E g\|^2$",
                "(b) gradient noise, one\nquery (initial policy)",
            ),
            ("train", axes[2], "update", "expected accuracy", f"(c) training, lr {config.learning_rate:g}"),
            (
                "p_critical",
                axes[3],
                "update",
                "$p_{e^*}$ (mean over types)",
                "(d) probability of the\ncritical edge",
            ),
        )
    ):
        t = table[table["panel"] == panel]
        for method, label in METHOD_LABELS.items():
            s = t[t["method"] == method].groupby("x")["value"]
            m = s.mean()
            axi.plot(m.index, m.values, color=colours[method], marker="o" if panel == "gradvar" else None, label=label)
            if n_seeds > 1 and panel != "gradvar":
                axi.fill_between(m.index, s.min().values, s.max().values, color=colours[method], alpha=0.15, lw=0)
        axi.set_xlabel(xlabel)
        axi.set_ylabel(ylabel)
        axi.set_title(title)
    axes[1].set_xscale("log", base=2)
    axes[1].set_yscale("log")
    axes[1].set_xticks(list(config.variance_sizes))
    axes[1].set_xticklabels([str(k) for k in config.variance_sizes])
    axes[3].set_ylim(0, 1.02)
    handles, labels = axes[2].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    fig.suptitle(
        f"Graph-GRPO on a toy topology task: {config.n_agents} agents, {config.n_types} query types, one critical edge "
        f"each (log-odds +{config.effect:g}), difficulty sd {config.difficulty_sd:g};\n"
        f"{config.queries_per_iter} queries x K = {config.group_size} graphs per update; mean of {n_seeds} seed(s), band = range",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="graph_grpo_topology",
        subjects=("mdp.llm.graph_grpo.train_topology", "mdp.llm.graph_grpo.edge_credit", "mdp.llm.compute_advantages"),
        config_cls=GraphGrpoConfig,
        run=run,
        plot=plot,
        description="Graph-GRPO vs REINFORCE on a toy multi-agent topology task with one critical edge per query type.",
    )
)
