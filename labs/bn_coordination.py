"""Lab ``bn_coordination``: when one action edge helps independent learners coordinate, and what survives pruning.

Claus & Boutilier's (1998) climbing and penalty games (common payoff, 3 x 3), exact softmax
policy-gradient ascent from ``n_init`` random initialisations (logits ``N(0, 1)``, ``steps`` steps at
``lr``; :func:`marl.bn.bn_matrix_ascent`), four methods:

* ``independent``: both agents independent;
* ``edge``: agent 2 observes agent 1's action (BN with the edge ``1 -> 2``);
* ``learned``: the edge exists with a learned probability ``sigmoid(e)`` (``e_0 = 0``) under a
  sparsity penalty growing linearly from 0 to 1, then executed *without* the edge (the schedule of
  ``docs/papers/bn_marl.md``, BN4);
* ``learned+distill``: the same with ``e_0 = 3``, a penalty growing to 5 and the edge-free policy pulled
  towards agent 2's marginal play (weight 1) -- a schedule found by a 9-setting search on these two
  games with one batch of 1000 initialisations drawn outside the lab (the lab's seeds draw fresh
  ones: out of sample in the initialisations, not in the games).

Recorded per run: the executed payoff, the payoff before pruning, the final edge probability and the
Nash gap over conditional policies of the executed policy. Success: payoff within 0.1 of the optimum.

Markov extension: a 2-state game (state 0 plays the climbing payoffs, state 1 the penalty payoffs;
the state switches with probability 0.2 when the agents play equal action indices, 0.6 otherwise;
``gamma = 0.5``, uniform start), ``n_markov_init`` initialisations of :func:`marl.bn.bn_exact_pg`
for ``independent`` and ``edge``: success is ``J >= J* - 0.1`` (``J*`` the centralised optimum from
:func:`mdp.solve` on the joint-action MDP) and the Nash gap (:func:`marl.bn.bn_nash_gap`) is BN2 with a
policy-dependent visitation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["LAB", "METHODS", "BNCoordinationConfig", "markov_game", "plot", "run"]

#: method -> keyword arguments of marl.bn.bn_matrix_ascent
METHODS = {
    "independent": {"mode": "independent"},
    "edge": {"mode": "edge"},
    "learned": {"mode": "learned_edge", "edge_logit0": 0.0, "beta": 1.0, "distill": 0.0},
    "learned+distill": {"mode": "learned_edge", "edge_logit0": 3.0, "beta": 5.0, "distill": 1.0},
}
_GAMES = ("climbing", "penalty")


@dataclass(frozen=True)
class BNCoordinationConfig:
    """Budgets of the bn_coordination lab."""

    games: tuple[str, ...] = ("climbing", "penalty")
    methods: tuple[str, ...] = ("independent", "edge", "learned", "learned+distill")
    n_init: int = 1000
    steps: int = 5000
    lr: float = 0.1
    n_markov_init: int = 100
    markov_steps: int = 5000

    def __post_init__(self):
        if not self.games or any(g not in _GAMES for g in self.games):
            raise ValueError(f"games must be drawn from {_GAMES}, got {self.games}")
        if not self.methods or any(m not in METHODS for m in self.methods):
            raise ValueError(f"unknown method in {self.methods}; methods are {tuple(METHODS)}")
        if min(self.n_init, self.steps, self.markov_steps) < 1 or self.n_markov_init < 0:
            raise ValueError("n_init, steps and markov_steps must be >= 1 and n_markov_init >= 0")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")


def markov_game():
    """The 2-state climbing/penalty game of the Markov extension (:func:`marl.bn.matrix.climbing_penalty_game`)."""
    from marl.bn.matrix import climbing_penalty_game

    return climbing_penalty_game(0.5)


def run(config: BNCoordinationConfig, rng: np.random.Generator) -> list[dict]:
    import mdp
    from marl.bn import bn_exact_pg, bn_nash_gap, random_theta
    from marl.bn.matrix import CLIMBING, PENALTY, bn_matrix_ascent

    rng = np.random.default_rng(rng)
    rows = []
    for game in config.games:
        R = {"climbing": CLIMBING, "penalty": PENALTY}[game]
        for method in config.methods:
            sub = np.random.default_rng(rng.integers(2**63))
            res = bn_matrix_ascent(
                R, n_init=config.n_init, steps=config.steps, lr=config.lr, rng=sub, **METHODS[method]
            )
            for k in range(config.n_init):
                rows.append(
                    {
                        "part": "matrix",
                        "game": game,
                        "method": method,
                        "run": k,
                        "value": float(res.value[k]),
                        "value_with_edge": float(res.value_with_edge[k]),
                        "edge_probability": float(res.edge_probability[k]),
                        "nash_gap": float(res.nash_gap[k]),
                        "success": bool(res.success[k]),
                        "optimum": res.optimum,
                    }
                )
    if config.n_markov_init:
        g = markov_game()
        j_star = float(np.asarray(g.mu) @ np.asarray(mdp.solve(g.joint_mdp, tol=1e-12).v))
        for method, parents in (("independent", [(), ()]), ("edge", [(), (0,)])):
            for k in range(config.n_markov_init):
                th = random_theta(g, parents, rng=rng)
                res = bn_exact_pg(g, parents, th, lr=config.lr, steps=config.markov_steps)
                gap = bn_nash_gap(g, parents, res.theta)
                rows.append(
                    {
                        "part": "markov",
                        "game": "2-state",
                        "method": method,
                        "run": k,
                        "value": res.value,
                        "value_with_edge": res.value,
                        "edge_probability": float(method == "edge"),
                        "nash_gap": gap.value,
                        "success": bool(res.value >= j_star - 0.1),
                        "optimum": j_star,
                    }
                )
    return rows


_COLOURS = {"independent": "vermillion", "edge": "blue", "learned": "orange", "learned+distill": "bluish_green"}


def summary(table):
    """Per (part, game, method, seed): success rate, median Nash gap, mean edge probability, and the
    share of the edge's advantage that the executed policy keeps ``(p - p_ind) / (p_edge - p_ind)``."""
    t = table.assign(success_with_edge=table["value_with_edge"] >= table["optimum"] - 0.1)
    agg = (
        t.groupby(["part", "game", "method", "seed"], sort=False)
        .agg(
            success_rate=("success", "mean"),
            success_with_edge=("success_with_edge", "mean"),
            median_gap=("nash_gap", "median"),
            edge_probability=("edge_probability", "mean"),
        )
        .reset_index()
    )
    kept = []
    for _, r in agg.iterrows():
        base = agg[(agg.part == r.part) & (agg.game == r.game) & (agg.seed == r.seed)].set_index("method")[
            "success_rate"
        ]
        if "independent" in base and "edge" in base and base["edge"] > base["independent"]:
            kept.append((r.success_rate - base["independent"]) / (base["edge"] - base["independent"]))
        else:
            kept.append(np.nan)
    agg["advantage_kept"] = kept
    return agg


def plot(table, config: BNCoordinationConfig):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    s = summary(table)
    methods = [m for m in config.methods]
    has_markov = bool((table["part"] == "markov").any())
    ncols = 3 if has_markov else 2
    fig, axes = new_figure(ncols, 1, width=TEXT_WIDTH, height=2.7, squeeze=False)
    axes = axes[0]
    # (a) success fraction per game and method, mean over seeds (bars) and each seed (dots)
    ax = axes[0]
    width = 0.8 / len(methods)
    for gi, game in enumerate(config.games):
        for mi, m in enumerate(methods):
            sub = s[(s.part == "matrix") & (s.game == game) & (s.method == m)]
            xpos = gi + (mi - (len(methods) - 1) / 2) * width
            ax.bar(xpos, sub.success_rate.mean(), width * 0.9, color=OKABE_ITO[_COLOURS[m]])
            ax.plot([xpos] * len(sub), sub.success_rate, "k.", ms=2)
            if m.startswith("learned"):
                ax.plot([xpos], [sub.success_with_edge.mean()], marker="_", color="k", ms=7, mew=1.0)
                kept = sub.advantage_kept.mean()
                ax.annotate(
                    f"{100 * kept:.0f}%",
                    (xpos, sub.success_rate.mean()),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=5.5,
                )
    ax.set_xticks(range(len(config.games)), [f"{g} game" for g in config.games])
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(f"fraction of {config.n_init} inits\nreaching the optimum")
    ax.set_title("(a) success (%: edge advantage kept\nafter pruning)")
    # (b) where the runs end: executed payoff rounded to a pure outcome of the first game
    ax = axes[1]
    game = config.games[0]
    R = table[(table.part == "matrix") & (table.game == game)]
    levels = sorted({11.0, 7.0, 6.0, 5.0} if game == "climbing" else {10.0, 2.0, 0.0}, reverse=True)
    shades = ["#000000", "#555555", "#8c8c8c", "#bdbdbd", "#e6e6e6"]
    for mi, m in enumerate(methods):
        v = R[R.method == m]["value"].to_numpy()
        bottom = 0.0
        for li, lev in enumerate(levels + [None]):
            frac = (
                np.mean(np.abs(v - lev) <= 0.1)
                if lev is not None
                else 1.0 - np.mean(np.min(np.abs(v[:, None] - np.array(levels)[None]), axis=1) <= 0.1)
            )
            ax.bar(mi, frac, 0.7, bottom=bottom, color=shades[li], edgecolor=OKABE_ITO[_COLOURS[m]], lw=1.2)
            bottom += frac
    ax.set_xticks(range(len(methods)), methods, rotation=20, fontsize=6)
    ax.set_ylim(0, 1.32)
    ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.set_ylabel("fraction of runs")
    ax.set_title(f"(b) {game}: executed payoff\n(grey levels, see legend)")
    ax.legend(
        handles=[
            Patch(facecolor=shades[i], edgecolor="k", lw=0.5, label=(f"{levels[i]:g}" if i < len(levels) else "other"))
            for i in range(len(levels) + 1)
        ],
        fontsize=5.5,
        loc="upper center",
        ncols=len(levels) + 1,
        title="payoff",
        title_fontsize=5.5,
        handlelength=1.0,
        columnspacing=0.6,
        framealpha=0.9,
    )
    if has_markov:
        ax = axes[2]
        mk = s[s.part == "markov"]
        for mi, m in enumerate(["independent", "edge"]):
            sub = mk[mk.method == m]
            ax.bar(mi, sub.success_rate.mean(), 0.6, color=OKABE_ITO[_COLOURS[m]])
            ax.plot([mi] * len(sub), sub.success_rate, "k.", ms=2)
            gaps = table[(table.part == "markov") & (table.method == m)]["nash_gap"]
            ax.annotate(
                f"Nash gap: median {gaps.median():.0e}\n< 0.01 in {100 * (gaps < 0.01).mean():.0f}% of runs",
                (mi, 1.02),
                ha="center",
                va="bottom",
                fontsize=5.5,
            )
        ax.set_xticks([0, 1], ["independent", "edge"])
        ax.set_ylim(0, 1.2)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.set_ylabel(r"fraction with $J \geq J^\star - 0.1$")
        ax.set_title(
            f"(c) 2-state climbing/penalty game\n($\\gamma$ = 0.5, {config.n_markov_init} inits, "
            f"{config.markov_steps} steps)"
        )
    handles = [Patch(color=OKABE_ITO[_COLOURS[m]], label=m) for m in methods]
    handles.append(Line2D([], [], color="k", marker=".", ls="", ms=3, label="one seed"))
    handles.append(Line2D([], [], color="k", marker="_", ls="", ms=7, mew=1.0, label="learned, before pruning"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    fig.suptitle(
        f"Exact softmax policy gradient, lr {config.lr:g}, {config.steps} steps: one action edge vs "
        f"independent agents ({table['seed'].nunique()} seeds)",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="bn_coordination",
        config_cls=BNCoordinationConfig,
        run=run,
        plot=plot,
        description="Climbing/penalty games: success of independent, edge and learned-then-pruned BN policies.",
        subjects=("marl.bn.bn_matrix_ascent", "marl.bn.bn_exact_pg", "marl.bn.bn_nash_gap"),
    )
)
