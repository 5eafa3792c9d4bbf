"""Lab ``mean_field_swarm``: Dec-POMFC decision rules on finite swarms of growing size.

``docs/papers/dec_pomfc.md``, the CPU-scale experiment: aggregation on a ring of 8 cells observed through
4 sectors (:func:`marl.mean_field.ring_aggregation`: actions left / stay / right, slip 0.1, horizon 12,
``mu_0`` uniform, ``r(mu) = -||mu - mu_target||_1`` with the target on cells 0 and 1). Methods:

* ``mean-field``: open-loop decision rules optimised on the mean-field MDP by Adam with exact gradients
  (:func:`marl.mean_field.mf_open_loop`, ``ol_steps`` steps);
* ``independent``: ``n_learners`` independent tabular REINFORCE learners trained in the ``n_learners``-agent
  swarm (:func:`marl.mean_field.swarm_reinforce`); on a swarm of ``N`` agents agent ``j`` runs learner
  ``j mod n_learners``;
* ``deterministic``: the best deterministic rules found by coordinate search from the mean-field rules'
  argmax (:func:`marl.mean_field.mf_deterministic_search`; D4 ablation).

Every policy is evaluated on swarms of each size in ``sizes`` for ``episodes`` episodes
(:func:`marl.mean_field.swarm_simulate`); the table has one row per (method, ``N``, episode) with the
mean-field value ``J`` of the method's rules (``nan`` for the independent learners, whose rules differ
per agent), plus the learners' training curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["LAB", "MeanFieldSwarmConfig", "plot", "run"]

METHODS = ("mean-field", "independent", "deterministic")


@dataclass(frozen=True)
class MeanFieldSwarmConfig:
    """Budgets of the mean_field_swarm lab."""

    sizes: tuple[int, ...] = (10, 50, 200, 1000, 5000)
    episodes: int = 200
    ol_steps: int = 500
    ol_lr: float = 0.1
    n_learners: int = 50
    reinforce_updates: int = 1000
    reinforce_batch: int = 16
    reinforce_lr: float = 2.0

    def __post_init__(self):
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError(f"sizes must be a non-empty tuple of swarm sizes >= 1, got {self.sizes}")
        if min(self.episodes, self.ol_steps, self.n_learners, self.reinforce_updates) < 1 or self.reinforce_batch < 2:
            raise ValueError("episodes, ol_steps, n_learners, reinforce_updates must be >= 1 and reinforce_batch >= 2")
        if not (self.ol_lr > 0 and self.reinforce_lr > 0):
            raise ValueError("ol_lr and reinforce_lr must be positive")


def run(config: MeanFieldSwarmConfig, rng: np.random.Generator) -> list[dict]:
    from marl.mean_field import (
        mf_deterministic_search,
        mf_objective,
        mf_open_loop,
        ring_aggregation,
        swarm_reinforce,
        swarm_simulate,
    )

    rng = np.random.default_rng(rng)
    m = ring_aggregation()
    ol = mf_open_loop(m, steps=config.ol_steps, lr=config.ol_lr)
    det = mf_deterministic_search(m, h0=ol.h)
    ind = swarm_reinforce(
        m,
        config.n_learners,
        n_updates=config.reinforce_updates,
        batch=config.reinforce_batch,
        lr=config.reinforce_lr,
        rng=np.random.default_rng(rng.integers(2**63)),
    )
    rules = {
        "mean-field": (ol.h, mf_objective(m, ol.h)),
        "independent": (ind.h, np.nan),
        "deterministic": (det.h, det.value),
    }
    rows = []
    for k, r in enumerate(ind.returns):
        rows.append(
            {
                "part": "training",
                "method": "independent",
                "N": config.n_learners,
                "episode": k,
                "return": float(r),
                "mf_value": np.nan,
            }
        )
    for method in METHODS:
        h, J = rules[method]
        for N in config.sizes:
            res = swarm_simulate(m, h, N, n_episodes=config.episodes, rng=np.random.default_rng(rng.integers(2**63)))
            for e, ret in enumerate(res.returns):
                rows.append(
                    {
                        "part": "evaluation",
                        "method": method,
                        "N": int(N),
                        "episode": e,
                        "return": float(ret),
                        "mf_value": float(J),
                    }
                )
    return rows


_COLOURS = {"mean-field": "blue", "independent": "vermillion", "deterministic": "bluish_green"}


def slope_fit(table, min_n: int = 1):
    """Per seed: the least-squares slope of ``log mean |J^N - J|`` on ``log N`` (``N >= min_n``) for the
    mean-field rules."""
    ev = table[(table.part == "evaluation") & (table.method == "mean-field") & (table.N >= min_n)]
    out = {}
    for seed, g in ev.groupby("seed"):
        err = (g["return"] - g["mf_value"]).abs().groupby(g["N"]).mean()
        out[seed] = float(np.polyfit(np.log(err.index.to_numpy(float)), np.log(err.to_numpy()), 1)[0])
    return out


def plot(table, config: MeanFieldSwarmConfig):
    from matplotlib.lines import Line2D

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    ev = table[table.part == "evaluation"]
    n_seeds = table["seed"].nunique()
    fig, axes = new_figure(3, 1, width=TEXT_WIDTH, height=2.6, squeeze=False)
    axes = axes[0]
    # (a) return vs N
    ax = axes[0]
    for method in METHODS:
        sub = ev[ev.method == method]
        per = sub.groupby(["seed", "N"])["return"].mean().unstack(0)
        col = OKABE_ITO[_COLOURS[method]]
        ax.plot(per.index, per.mean(axis=1), "o-", color=col, ms=3, lw=1.4, label=method)
        se = sub.groupby("N")["return"].std() / np.sqrt(sub.groupby("N").size())
        ax.fill_between(per.index, per.mean(axis=1) - 2 * se, per.mean(axis=1) + 2 * se, color=col, alpha=0.2, lw=0)
        J = sub["mf_value"].mean()
        if np.isfinite(J):
            ax.axhline(J, color=col, ls=":", lw=1.0)
    ax.set_xscale("log")
    ax.set_xlabel("swarm size $N$")
    ax.set_ylabel(f"mean return ({config.episodes} episodes)")
    ax.set_title("(a) finite-swarm return\n(dotted: mean-field value $J$)")
    # (b) |J^N - J| vs N for the mean-field rules, with the fitted slope
    ax = axes[1]
    sub = ev[ev.method.isin(["mean-field", "deterministic"])]
    slopes = slope_fit(table)
    for method in ("mean-field", "deterministic"):
        s = sub[sub.method == method]
        err = (s["return"] - s["mf_value"]).abs().groupby([s["seed"], s["N"]]).mean().unstack(0)
        col = OKABE_ITO[_COLOURS[method]]
        ax.plot(err.index, err.mean(axis=1), "o-", color=col, ms=3, lw=1.4)
    Ns = np.asarray(sorted(ev.N.unique()), float)
    s0 = ev[(ev.method == "mean-field") & (ev.N == Ns[0])]
    c0 = (s0["return"] - s0["mf_value"]).abs().mean()
    ax.plot(Ns, c0 * (Ns / Ns[0]) ** -0.5, "k--", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("swarm size $N$")
    ax.set_ylabel(r"mean $|J^N - J|$")
    sl = np.array(list(slopes.values()))
    big = np.array(list(slope_fit(table, 200).values())) if ev[ev.N >= 200].N.nunique() > 1 else sl
    ax.set_title(f"(b) fitted slope {sl.mean():.2f} (all $N$),\n{big.mean():.2f} ($N \\geq 200$); dashed: $N^{{-1/2}}$")
    # (c) training curve of the independent learners
    ax = axes[2]
    tr = table[table.part == "training"]
    curve = tr.groupby(["seed", "episode"])["return"].mean().unstack(0)
    k = max(1, len(curve) // 100)
    sm = curve.rolling(k, min_periods=1).mean()
    ax.plot(sm.index, sm.to_numpy(), color=OKABE_ITO["vermillion"], lw=0.6, alpha=0.5)
    ax.plot(sm.index, sm.mean(axis=1), color=OKABE_ITO["vermillion"], lw=1.4)
    J_ol = ev[ev.method == "mean-field"]["mf_value"].mean()
    ax.axhline(J_ol, color=OKABE_ITO["blue"], ls=":", lw=1.0)
    ax.set_xlabel(f"REINFORCE update ({config.reinforce_batch} episodes each)")
    ax.set_ylabel("batch-mean return")
    ax.set_title(f"(c) {config.n_learners} independent learners\n(dotted: mean-field optimum)")
    handles = [Line2D([], [], color=OKABE_ITO[_COLOURS[mm]], marker="o", ms=3, lw=1.4, label=mm) for mm in METHODS]
    handles.append(Line2D([], [], color="grey", lw=0.6, label="one seed"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle(
        f"Dec-POMFC on the 8-cell ring (4 sectors observed, horizon 12), {n_seeds} seeds; bands: 2 SE", fontsize=8
    )
    return fig


LAB = register_lab(
    Lab(
        name="mean_field_swarm",
        config_cls=MeanFieldSwarmConfig,
        run=run,
        plot=plot,
        description="Dec-POMFC ring aggregation: mean-field rules vs independent learners vs deterministic rules on swarms of 10-5000 agents.",
        subjects=(
            "marl.mean_field.mf_open_loop",
            "marl.mean_field.swarm_simulate",
            "marl.mean_field.swarm_reinforce",
            "marl.mean_field.mf_deterministic_search",
        ),
    )
)
