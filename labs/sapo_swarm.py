"""Lab ``sapo_swarm``: reward gain of SAPO's rollout sharing against the share of external rollouts
(docs/papers/sapo.md, CPU-scale lab).

A swarm of ``N`` tabular softmax policies (:func:`mdp.llm.sapo.make_swarm_task`: ``F`` task families x
``q`` questions, ``A`` candidate answers, one correct; each node starts good at ``easy`` families of its
own) trains for ``n_rounds`` synchronous rounds with ``I`` local and ``J`` external groups of ``L``
answers per round (:func:`mdp.llm.sapo.sapo_swarm`; external groups drawn uniformly from the other
nodes' publications of the round after dropping those with one reward under the receiving node).
Arms: the paper's ``(I, J)`` mixes ``8/0`` (silo), ``6/2``, ``4/4``, ``2/6`` with the paper's
on-policy treatment of external answers, plus ``4/4`` with truncated importance weights
``min(pi_n / pi_m, 2)`` (the notes' claim 3). Every arm of a seed starts from the same swarm.

Metric: each node's exact expected reward ``mean_q sum_a pi_n(a | q) rho_n(q, a)`` after every round,
averaged over nodes; the cumulative reward is its sum over rounds; the gain is relative to the silo
arm of the same seed. ``dask_workers > 0`` runs every round's per-node work as tasks on an in-process
Dask cluster (``LocalCluster(processes=False)``); the numbers are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab
from labs.executors import limit_threads

__all__ = ["SapoSwarmConfig", "ARMS", "run", "plot", "LAB"]

#: arm -> (local items I, external items J, weighting)
ARMS = {
    "8/0 (silo)": (8, 0, "onpolicy"),
    "6/2": (6, 2, "onpolicy"),
    "4/4": (4, 4, "onpolicy"),
    "2/6": (2, 6, "onpolicy"),
    "4/4, importance-weighted": (4, 4, "importance"),
}


@dataclass(frozen=True)
class SapoSwarmConfig:
    """Swarm, task and training run."""

    n_nodes: int = 5
    n_families: int = 9
    questions_per_family: int = 4
    n_answers: int = 16
    easy_families: int = 3
    easy_bonus: float = 2.0
    group_size: int = 8
    n_rounds: int = 300
    learning_rate: float = 1.0
    arms: tuple[str, ...] = tuple(ARMS)
    dask_workers: int = 0
    threads: int = 1

    def __post_init__(self):
        unknown = sorted(set(self.arms) - set(ARMS))
        if unknown or not self.arms:
            raise ValueError(f"arms must be drawn from {list(ARMS)}, got {unknown or self.arms}")
        if "8/0 (silo)" not in self.arms:
            raise ValueError("arms must include '8/0 (silo)' (the gains are relative to it)")
        if self.n_nodes < 2 or self.n_rounds < 1 or self.group_size < 2:
            raise ValueError("n_nodes >= 2, n_rounds >= 1 and group_size >= 2 are required")
        if self.n_families * self.questions_per_family < 8:
            raise ValueError("the swarm needs at least 8 questions (8 local items per round in the silo arm)")
        if self.dask_workers < 0:
            raise ValueError(f"dask_workers must be >= 0, got {self.dask_workers}")


def run(config: SapoSwarmConfig, rng: np.random.Generator) -> list[dict]:
    import contextlib

    rng = np.random.default_rng(rng)
    rows = []
    with limit_threads(config.threads), contextlib.ExitStack() as stack:
        import torch

        from mdp.llm.sapo import make_swarm_task, sapo_swarm

        torch.set_num_threads(max(1, int(config.threads)))
        client = None
        if config.dask_workers:
            from distributed import Client, LocalCluster

            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=1, threads_per_worker=config.dask_workers, processes=False, dashboard_address=None
                )
            )
            client = stack.enter_context(Client(cluster))
        task = make_swarm_task(
            n_nodes=config.n_nodes,
            n_families=config.n_families,
            questions_per_family=config.questions_per_family,
            n_answers=config.n_answers,
            easy_families=config.easy_families,
            easy_bonus=config.easy_bonus,
            rng=rng,
        )
        seed = int(rng.integers(2**62))
        for arm in config.arms:
            I, J, weighting = ARMS[arm]
            res = sapo_swarm(
                task,
                local_items=I,
                external_items=J,
                n_rounds=config.n_rounds,
                group_size=config.group_size,
                learning_rate=config.learning_rate,
                weighting=weighting,
                client=client,
                rng=np.random.default_rng(seed),
            )
            er = res.expected_reward.mean(1)
            for r in range(config.n_rounds + 1):
                rows.append(
                    {
                        "arm": arm,
                        "external_share": J / (I + J),
                        "round": r,
                        "expected_reward": float(er[r]),
                        "n_external": float(res.n_external[r - 1].mean()) if r else 0.0,
                        "cumulative": float(res.cumulative_reward.mean()) if r == config.n_rounds else np.nan,
                        "min_node_reward": float(res.expected_reward[r].min()),
                    }
                )
    return rows


def plot(table, config: SapoSwarmConfig):
    from labs.plotting import PALETTE, TEXT_WIDTH, new_figure

    fig, axes = new_figure(3, 1, width=TEXT_WIDTH, height=2.4)
    colours = dict(zip(ARMS, (PALETTE[6], PALETTE[0], PALETTE[2], PALETTE[1], PALETTE[3])))
    styles = {a: ("--" if ARMS[a][2] == "importance" else "-") for a in ARMS}
    n_seeds = int(table["seed"].nunique()) if "seed" in table else 1
    for arm in config.arms:
        s = table[table["arm"] == arm].groupby("round")
        m = s["expected_reward"].mean()
        axes[0].plot(m.index, m.values, color=colours[arm], ls=styles[arm], label=arm)
        n = s["n_external"].mean().iloc[1:].rolling(10, min_periods=1).mean()
        if ARMS[arm][1]:
            axes[2].plot(n.index, n.values, color=colours[arm], ls=styles[arm], label=arm)
    axes[0].set_xlabel("round")
    axes[0].set_ylabel("expected reward\n(mean over nodes)")
    axes[0].set_title("(a) learning curves")
    # one legend for all panels (same colour per arm), below the figure: inside (a) it covered the curves
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="outside lower center", ncols=len(labels), title="local / external groups per round (I/J)"
    )
    # gain in cumulative reward over the silo arm, per seed
    fin = table.dropna(subset=["cumulative"])
    silo = fin[fin["arm"] == "8/0 (silo)"].set_index("seed")["cumulative"]
    for arm in config.arms:
        f = fin[fin["arm"] == arm].set_index("seed")["cumulative"]
        gain = 100 * (f / silo.loc[f.index] - 1)
        x = float(fin[fin["arm"] == arm]["external_share"].iloc[0])
        off = 0.02 if ARMS[arm][2] == "importance" else 0.0
        axes[1].scatter(np.full(gain.size, x + off), gain.values, color=colours[arm], s=9, alpha=0.6, lw=0)
        axes[1].errorbar(
            [x + off],
            [gain.mean()],
            yerr=[[gain.mean() - gain.min()], [gain.max() - gain.mean()]] if gain.size > 1 else None,
            color=colours[arm],
            marker="D" if ARMS[arm][2] == "importance" else "o",
            ms=4,
            capsize=2,
            label=arm,
        )
    axes[1].axhline(0, color="0.5", lw=0.7)
    axes[1].set_xlabel("share of external groups $J/(I+J)$")
    axes[1].set_ylabel("cumulative-reward gain\nover 8/0 (silo), %")
    axes[1].set_title(f"(b) gain after {config.n_rounds} rounds\n(dots: seeds; bar: range)")
    axes[2].set_xlabel("round")
    axes[2].set_ylabel("external groups\nused per node")
    axes[2].set_title("(c) external groups kept by the\nzero-variance filter (10-round mean)")
    fig.suptitle(
        f"SAPO swarm: {config.n_nodes} tabular softmax nodes, {config.n_families * config.questions_per_family} questions "
        f"x {config.n_answers} answers, L = {config.group_size}; mean of {n_seeds} seed(s)",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="sapo_swarm",
        subjects=("mdp.llm.sapo.sapo_swarm", "mdp.llm.compute_advantages"),
        config_cls=SapoSwarmConfig,
        run=run,
        plot=plot,
        description="SAPO rollout sharing in a swarm of tabular policies: reward gain vs share of external rollouts.",
    )
)
