"""Lab ``spgg``: free riding vs full effort in sequential public-goods games (MAC-SPGG, reconstructed payoff).

``docs/papers/mac_spgg.md``: 3 agents move in order, ``c = 1``, ``rho = 2``; the classic payoff
(bonus 0, penalty 0) and the redesigned one (bonus 0.8, threshold ``B = 3``, penalty 2). Two parts:

* ``learning``: independent tabular REINFORCE learners (:func:`marl.spgg.spgg_reinforce`, each agent a
  softmax over the effort levels per predecessors' index sum, ``n_updates`` updates of ``batch``
  episodes at ``lr``), on each effort grid of ``grids`` (levels ``linspace(0, 1, G)``); the table keeps the
  batch-mean effort of each agent every ``record_every`` updates;
* ``region``: the exact SPNE (:func:`marl.spgg.spgg_region`) over a ``bonus x penalty`` grid for
  ``N = 3`` on the 11-level grid with ``B = 3``: unique full effort or not, the path's mean effort, and
  the analytic sufficient (SPG2) and necessary (SPG3) conditions. It is deterministic (every seed
  computes the same map; the figure draws the first seed's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["LAB", "SPGGConfig", "games", "plot", "run"]


@dataclass(frozen=True)
class SPGGConfig:
    """Budgets of the spgg lab."""

    n_agents: int = 3
    grids: tuple[int, ...] = (5, 11)
    n_updates: int = 3000
    batch: int = 32
    lr: float = 1.0
    record_every: int = 10
    region_bonus: int = 61
    region_penalty: int = 61

    def __post_init__(self):
        if self.n_agents < 1 or not self.grids or min(self.grids) < 2:
            raise ValueError("n_agents must be >= 1 and grids a non-empty tuple of level counts >= 2")
        if min(self.n_updates, self.batch - 1, self.record_every) < 1:
            raise ValueError("n_updates and record_every must be >= 1 and batch >= 2")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.region_bonus < 0 or self.region_penalty < 0 or (self.region_bonus == 0) != (self.region_penalty == 0):
            raise ValueError("region_bonus and region_penalty must both be 0 (no region) or both >= 1")


def games(n_agents: int, levels: int):
    """``(classic, redesigned)`` on ``linspace(0, 1, levels)``: ``c = 1``, ``rho = 2``; redesigned bonus 0.8,
    ``B = n_agents``, penalty 2."""
    from marl.spgg import SPGGame

    grid = np.linspace(0, 1, levels)
    return (
        SPGGame.classic(n_agents, grid, cost=1.0, multiplier=2.0),
        SPGGame(n_agents, grid, cost=1.0, multiplier=2.0, bonus=0.8, threshold=float(n_agents), penalty=2.0),
    )


def run(config: SPGGConfig, rng: np.random.Generator) -> list[dict]:
    from marl.spgg import spgg_region, spgg_reinforce

    rng = np.random.default_rng(rng)
    rows = []
    for G in config.grids:
        for name, game in zip(("classic", "redesigned"), games(config.n_agents, G)):
            res = spgg_reinforce(
                game,
                n_updates=config.n_updates,
                batch=config.batch,
                lr=config.lr,
                rng=np.random.default_rng(rng.integers(2**63)),
            )
            for t in range(config.record_every - 1, config.n_updates, config.record_every):
                lo = t + 1 - config.record_every
                for i in range(config.n_agents):
                    rows.append(
                        {
                            "part": "learning",
                            "levels": G,
                            "payoff": name,
                            "update": t + 1,
                            "agent": i,
                            "effort": float(res.effort[lo : t + 1, i].mean()),
                            "penalised": float(res.penalised[lo : t + 1].mean()),
                        }
                    )
    if config.region_bonus:
        base = games(config.n_agents, 11)[1]
        b = np.linspace(0, 1.5, config.region_bonus)
        p = np.linspace(0, 1.5, config.region_penalty)
        reg = spgg_region(base, b, p)
        for i, bi in enumerate(b):
            for j, pj in enumerate(p):
                rows.append(
                    {
                        "part": "region",
                        "levels": 11,
                        "bonus": float(bi),
                        "penalty_value": float(pj),
                        "full_effort": bool(reg.full_effort[i, j]),
                        "unique": bool(reg.unique[i, j]),
                        "effort": float(reg.mean_effort[i, j]),
                        "sufficient": bool(reg.sufficient[i, j]),
                        "necessary": bool(reg.necessary[i, j]),
                    }
                )
    return rows


_COLOURS = {"classic": "vermillion", "redesigned": "blue"}


def plot(table, config: SPGGConfig):
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    learn = table[table.part == "learning"]
    region = table[table.part == "region"]
    has_region = len(region) > 0
    ncols = len(config.grids) + int(has_region)
    fig, axes = new_figure(ncols, 1, width=TEXT_WIDTH, height=3.0, squeeze=False)
    axes = axes[0]
    n_seeds = table["seed"].nunique()
    for k, G in enumerate(config.grids):
        ax = axes[k]
        for name in ("classic", "redesigned"):
            sub = learn[(learn.levels == G) & (learn.payoff == name)]
            per_seed = sub.groupby(["seed", "update"])["effort"].mean().unstack(0)
            col = OKABE_ITO[_COLOURS[name]]
            ax.plot(per_seed.index, per_seed.to_numpy(), color=col, lw=0.5, alpha=0.35)
            ax.plot(per_seed.index, per_seed.mean(axis=1), color=col, lw=1.6)
            final = per_seed.iloc[-10:].mean(axis=0)
            reached = int(np.sum(final >= 0.9)) if name == "redesigned" else int(np.sum(final <= 0.1))
            what = "reach full effort" if name == "redesigned" else "free ride"
            # the counts sit in a band above effort 1 that no curve enters (inside the data they overlapped it)
            ax.annotate(
                f"{reached}/{n_seeds} seeds {what}",
                (0.98, 0.95 if name == "redesigned" else 0.87),
                xycoords="axes fraction",
                ha="right",
                va="top",
                fontsize=6,
                color=col,
            )
        ax.set_ylim(-0.03, 1.3)
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.set_xlabel(f"update ({config.batch} episodes each)")
        if k == 0:
            ax.set_ylabel("mean effort of the 3 agents")
        ax.set_title(f"({chr(97 + k)}) REINFORCE, {G} effort levels")
    if has_region:
        ax = axes[-1]
        r = region[region.seed == region.seed.min()]
        b = np.sort(r.bonus.unique())
        p = np.sort(r.penalty_value.unique())
        grid = r.set_index(["bonus", "penalty_value"]).sort_index()
        full = grid["full_effort"].to_numpy().astype(bool).reshape(b.size, p.size)
        suff = grid["sufficient"].to_numpy().astype(bool).reshape(b.size, p.size)
        nec = grid["necessary"].to_numpy().astype(bool).reshape(b.size, p.size)
        uniq = grid["unique"].to_numpy().astype(bool).reshape(b.size, p.size)
        # 0: last mover's condition fails, 1: necessary holds but SPNE not unique full effort, 2: unique full effort
        cat = np.where(full, 2, np.where(nec, 1, 0)).T
        cmap = ListedColormap(["#f2f2f2", OKABE_ITO["sky_blue"], OKABE_ITO["blue"]])
        db, dp = b[1] - b[0], p[1] - p[0]
        ax.imshow(
            cat,
            origin="lower",
            aspect="auto",
            cmap=cmap,
            vmin=0,
            vmax=2,
            extent=(b[0] - db / 2, b[-1] + db / 2, p[0] - dp / 2, p[-1] + dp / 2),
            interpolation="nearest",
        )
        ax.contour(b, p, suff.T.astype(float), levels=[0.5], colors="k", linewidths=1.0, linestyles="--")
        ties = np.argwhere(~uniq)
        if len(ties):
            ax.plot(b[ties[:, 0]], p[ties[:, 1]], "x", color="k", ms=2.5, mew=0.6)
        ax.set_xlabel(r"cooperation bonus $\gamma$")
        ax.set_ylabel("collective penalty $P$")
        ax.set_title(f"({chr(97 + ncols - 1)}) exact SPNE, 11 levels")
        # key of the map, below the figure beside the key of (a)-(b): inside (c) it covered the map
        fig.legend(
            handles=[
                Patch(color=OKABE_ITO["blue"], label="unique SPNE = full effort"),
                Patch(color=OKABE_ITO["sky_blue"], label="other SPNE, last mover's\ncondition (SPG3) holds"),
                Patch(color="#f2f2f2", label="last mover's condition fails"),
                Line2D([], [], color="k", ls="--", lw=1.0, label="sufficient condition (C)"),
                Line2D([], [], color="k", marker="x", ls="", ms=3, label="tie: SPNE not unique"),
            ],
            fontsize=6,
            loc="outside lower right",
            ncols=2,
            title=f"({chr(97 + ncols - 1)})",
            alignment="left",
        )
    handles = [
        Line2D([], [], color=OKABE_ITO[_COLOURS[n]], lw=1.6, label=f"{n} payoff (mean of seeds)") for n in _COLOURS
    ]
    handles.append(Line2D([], [], color="grey", lw=0.5, label="one seed"))
    fig.legend(
        handles=handles,
        loc="outside lower left",
        ncols=1,
        fontsize=6,
        title=f"(a)-({chr(97 + len(config.grids) - 1)})",
        alignment="left",
    )
    fig.suptitle(
        f"Sequential public-goods game, 3 agents, c = 1, $\\rho$ = 2 (redesigned: bonus 0.8, B = 3, P = 2), {n_seeds} seeds",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="spgg",
        config_cls=SPGGConfig,
        run=run,
        plot=plot,
        description="Sequential public-goods games: REINFORCE free riding vs full effort, and the exact SPNE region.",
        subjects=("marl.spgg.spgg_reinforce", "marl.spgg.spgg_region", "marl.spgg.spgg_spne"),
    )
)
