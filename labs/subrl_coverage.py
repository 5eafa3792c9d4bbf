"""Lab ``subrl_coverage``: coverage on a grid vs epochs for SubPO and its baselines.

The experiment of ``docs/papers/subrl.md`` ("CPU-scale lab experiment"): a ``side x side`` grid,
5 deterministic actions (stay, N, S, E, W), start in the corner, horizon ``H``, coverage
``F(A) = |union_{s in A} N(s)|`` with ``N(s)`` the cell and its 4 neighbours (and, second objective,
the same with bimodal item weights: two Gaussian bumps). Agents (tabular time-indexed softmax,
:func:`mdp.submodular.subpo`, ``n_epochs`` x ``batch`` rollouts): SubPO reward-to-go, SubPO greedy
credit, the additive-reward baseline (coverage counted with multiplicity), the greedy lookahead-1
oracle that knows ``F``, and the uniform random policy. Metric: mean ``F(tau)`` per epoch normalised
by ``F`` of the whole grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["SubrlCoverageConfig", "grid5", "run", "plot", "LAB"]


@dataclass(frozen=True)
class SubrlCoverageConfig:
    """Grid, horizon and budget of the subrl_coverage lab."""

    side: int = 10
    horizon: int = 30
    n_epochs: int = 300
    batch: int = 256
    lr: float = 200.0
    objectives: tuple[str, ...] = ("coverage", "bimodal")

    def __post_init__(self):
        if self.side < 2 or self.horizon < 1 or self.n_epochs < 1 or self.batch < 2:
            raise ValueError("side >= 2, horizon >= 1, n_epochs >= 1 and batch >= 2 are required")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not self.objectives or any(o not in ("coverage", "bimodal") for o in self.objectives):
            raise ValueError(f"objectives must be drawn from ('coverage', 'bimodal'), got {self.objectives}")


def grid5(side: int):
    """``side x side`` grid with actions stay, N, S, E, W (deterministic, walls keep the agent in place)."""
    import mdp

    S = side * side
    P = np.zeros((S, 5, S))
    for s in range(S):
        y, x = divmod(s, side)
        for a, (dy, dx) in enumerate(((0, 0), (-1, 0), (1, 0), (0, 1), (0, -1))):
            P[s, a, min(max(y + dy, 0), side - 1) * side + min(max(x + dx, 0), side - 1)] = 1.0
    return mdp.TabularMDP(P, np.zeros((S, 5)), 0.9)


def _objective(name, side):
    from mdp import submodular as sm

    if name == "coverage":
        return sm.grid_coverage(side)
    yy, xx = np.divmod(np.arange(side * side), side)
    c1, c2 = (0.25 * side, 0.75 * side), (0.75 * side, 0.25 * side)
    w = sum(np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (0.15 * side) ** 2)) for cy, cx in (c1, c2))
    return sm.grid_coverage(side, w / w.max())


def run(config: SubrlCoverageConfig, rng) -> list[dict]:
    from mdp import submodular as sm

    rng = np.random.default_rng(rng)
    c = config
    m = grid5(c.side)
    rows = []
    for obj in c.objectives:
        f = _objective(obj, c.side)
        total = f.value(range(m.n_states))
        for credit, name in (
            ("reward_to_go", "SubPO (reward-to-go)"),
            ("greedy", "SubPO (greedy credit)"),
            ("additive", "additive reward (SRL)"),
        ):
            r = sm.subpo(
                m, f, horizon=c.horizon, start=0, rng=rng, credit=credit, n_epochs=c.n_epochs, batch=c.batch, lr=c.lr
            )
            rows += [
                {"objective": obj, "agent": name, "epoch": e, "value": float(v) / total} for e, v in enumerate(r.values)
            ]
        oracle = float(sm.greedy_oracle(m, f, horizon=c.horizon, start=0, rng=rng)[0]) / total
        states, _ = sm.rollouts(m, np.zeros((c.horizon, m.n_states, 5)), 0, n_rollouts=c.batch, rng=rng)
        rand = float(sm.marginal_gains(f, states).sum(axis=1).mean()) / total
        rows += [{"objective": obj, "agent": "greedy oracle (knows F)", "epoch": -1, "value": oracle}]
        rows += [{"objective": obj, "agent": "uniform random", "epoch": -1, "value": rand}]
    return rows


def plot(table, config: SubrlCoverageConfig):
    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    c = config
    objs = list(dict.fromkeys(table["objective"]))
    fig, axes = new_figure(len(objs), 1, width=TEXT_WIDTH if len(objs) > 1 else None, height=2.6, squeeze=False)
    style = {
        "SubPO (reward-to-go)": (OKABE_ITO["blue"], "-"),
        "SubPO (greedy credit)": (OKABE_ITO["sky_blue"], "-"),
        "additive reward (SRL)": (OKABE_ITO["vermillion"], "-"),
        "greedy oracle (knows F)": ("0.2", "--"),
        "uniform random": ("0.55", ":"),
    }
    for ax, obj in zip(axes[0], objs):
        sub = table[table["objective"] == obj]
        for agent, (col, ls) in style.items():
            s2 = sub[sub["agent"] == agent]
            if s2.empty:
                continue
            if (s2["epoch"] < 0).all():
                ax.axhline(s2["value"].mean(), color=col, ls=ls, lw=1.1, label=f"{agent}")
                continue
            g = s2.groupby("epoch")["value"]
            mean, lo, hi = g.mean(), g.min(), g.max()
            ax.plot(mean.index, mean.values, color=col, ls=ls, lw=1.3, label=agent)
            ax.fill_between(mean.index, lo.values, hi.values, color=col, alpha=0.15, lw=0)
        ax.set_xlabel("epoch")
        ax.set_ylabel(r"$F(\tau) / F(\mathrm{grid})$ (batch mean)")
        ax.set_ylim(0, 1.0)
        ax.set_title(
            f"({'ab'[objs.index(obj)]}) {obj}"
            + (" (two Gaussian bumps)" if obj == "bimodal" else " (cell + 4 neighbours)")
        )
    axes[0][-1].legend(fontsize=5.5, loc="upper right", bbox_to_anchor=(1.0, 0.82))
    n = table[table["epoch"] == 0].groupby(["objective", "agent"]).size().max()
    fig.suptitle(
        f"Submodular coverage on a {c.side}x{c.side} grid, H = {c.horizon}, {c.batch} rollouts/epoch, "
        f"lr {c.lr:g}; band: min-max over {n} seed(s)",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="subrl_coverage",
        config_cls=SubrlCoverageConfig,
        run=run,
        plot=plot,
        description="Coverage vs epochs on a grid: SubPO (reward-to-go, greedy credit), additive baseline, "
        "greedy oracle, random.",
        subjects=("mdp.submodular.subpo", "mdp.submodular.greedy_oracle", "mdp.submodular.rollouts"),
    )
)
