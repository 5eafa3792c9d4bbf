"""Lab ``mra_populations``: one policy vs a latent set of modes across population-varying capacity games.

``docs/papers/mra.md``: the symmetric ``n``-player capacity game (capacity 2, outside option 0.4), training
populations ``train`` = {3, 5, 8, 12}, held-out populations ``held_out`` = {4, 6, 10, 16}. Per seed and
``K in ks``: ``K`` latent modes trained by the alternating scheme (:func:`marl.population.train_latent_modes`,
random initial modes), evaluated on the held-out populations zero-shot (the best existing mode) and
few-shot (``adapt_steps`` steps of :func:`marl.population.adapt_mode` from that mode); the uniform grid of
``K`` midpoint modes (MR2) and the best single policy (the minimax ``p``, MR1) as references; and the
adaptation curves from the best ``K = 4`` mode and from ``n_random`` uniform random starts (MR4).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["LAB", "MRAConfig", "plot", "run"]


@dataclass(frozen=True)
class MRAConfig:
    """Budgets of the mra_populations lab."""

    train: tuple[int, ...] = (3, 5, 8, 12)
    held_out: tuple[int, ...] = (4, 6, 10, 16)
    ks: tuple[int, ...] = (1, 2, 4, 8)
    steps: int = 2000
    adapt_steps: int = 5
    curve_steps: int = 20
    n_random: int = 10
    capacity: int = 2
    outside: float = 0.4
    markov_ns: tuple[int, ...] = (5, 7, 9, 12)
    markov_episodes: int = 1000

    def __post_init__(self):
        if not self.train or not self.held_out or min(self.train + self.held_out) <= self.capacity:
            raise ValueError("train and held_out must be non-empty populations larger than the capacity")
        if not self.ks or min(self.ks) < 1:
            raise ValueError(f"ks must be latent-set sizes >= 1, got {self.ks}")
        if min(self.steps, self.adapt_steps, self.curve_steps, self.n_random) < 1:
            raise ValueError("steps, adapt_steps, curve_steps and n_random must be >= 1")
        if not 0 < self.outside < 1:
            raise ValueError(f"outside must lie in (0, 1), got {self.outside}")


def run(config: MRAConfig, rng: np.random.Generator) -> list[dict]:
    from marl.population import (
        adapt_mode,
        best_mode_exploitability,
        capacity_exploitability,
        minimax_policy,
        train_latent_modes,
    )

    rng = np.random.default_rng(rng)
    kw = dict(capacity=config.capacity, outside=config.outside)
    rows = []

    def evaluate(method, K, modes):
        for n in config.held_out:
            e = capacity_exploitability(modes, n, **kw)
            z = float(modes[int(np.argmin(e))])
            few = adapt_mode(z, n, steps=config.adapt_steps, **kw).exploitability[-1]
            rows.append(
                {
                    "part": "held_out",
                    "method": method,
                    "K": K,
                    "n": n,
                    "zero_shot": float(e.min()),
                    "few_shot": float(few),
                }
            )

    p1, _ = minimax_policy(config.train, **kw)
    evaluate("single (minimax)", 1, np.array([p1]))
    learned = {}
    for K in config.ks:
        res = train_latent_modes(
            config.train, K, steps=config.steps, rng=np.random.default_rng(rng.integers(2**63)), **kw
        )
        learned[K] = res.modes
        evaluate("learned modes", K, res.modes)
        evaluate("uniform grid", K, (np.arange(K) + 0.5) / K)
        for z, pz in enumerate(res.modes):
            rows.append(
                {
                    "part": "modes",
                    "method": "learned modes",
                    "K": K,
                    "n": -1,
                    "zero_shot": float(pz),
                    "few_shot": np.nan,
                }
            )
        rows.append(
            {
                "part": "train",
                "method": "learned modes",
                "K": K,
                "n": -1,
                "zero_shot": float(best_mode_exploitability(res.modes, config.train, **kw).max()),
                "few_shot": np.nan,
            }
        )
    from marl.population import ring_capacity_exploitability

    markov_seed = int(rng.integers(2**63))
    for n in config.markov_ns:
        for p in np.linspace(0, 1, 11):
            e = ring_capacity_exploitability(
                float(p), n, n_episodes=config.markov_episodes, rng=np.random.default_rng(markov_seed)
            )
            rows.append({"part": "markov", "method": "ring", "K": 1, "n": n, "zero_shot": e, "few_shot": float(p)})
    K0 = 4 if 4 in learned else max(learned)
    for n in config.held_out:
        modes = learned[K0]
        z = float(modes[int(np.argmin(capacity_exploitability(modes, n, **kw)))])
        starts = [("best mode", z)] + [("random start", float(u)) for u in rng.uniform(0, 1, config.n_random)]
        for label, p0 in starts:
            curve = adapt_mode(p0, n, steps=config.curve_steps, **kw).exploitability
            for t, e in enumerate(curve):
                rows.append(
                    {"part": "curve", "method": label, "K": K0, "n": n, "zero_shot": float(e), "few_shot": float(t)}
                )
    return rows


_COLOURS = {"learned modes": "blue", "uniform grid": "bluish_green", "single (minimax)": "vermillion"}


def plot(table, config: MRAConfig):
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure
    from marl.population import capacity_equilibrium, capacity_exploitability

    kw = dict(capacity=config.capacity, outside=config.outside)
    n_seeds = table["seed"].nunique()
    markov = table[table.part == "markov"]
    # 2 x 2 at the paper's text width (a 1 x 4 row was wider than the page)
    fig, axes = new_figure(2, 2 if len(markov) else 1, width=TEXT_WIDTH, height=5.2 if len(markov) else 2.7)
    axes = np.ravel(axes)
    # (a) the game family
    ax = axes[0]
    g = np.linspace(0, 1, 801)
    ns = sorted(set(config.train) | set(config.held_out))
    # one colour per population size n, the same in (a) and (d): viridis on log n over every n drawn
    # (cut before its pale yellow end, which is unreadable on white)
    from matplotlib.colors import LogNorm

    all_ns = ns + sorted(markov.n.unique()) if len(markov) else ns
    norm = LogNorm(min(all_ns), max(all_ns))
    cmap = __import__("matplotlib").colormaps["viridis"].resampled(256)

    def n_colour(n):
        return cmap(0.85 * float(norm(n)))

    for n in ns:
        col = n_colour(n)
        ax.plot(g, capacity_exploitability(g, n, **kw), color=col, lw=1.0, ls="-" if n in config.train else "--")
        ax.plot([capacity_equilibrium(n, **kw)], [0], "o", color=col, ms=3)
    seed0 = table[table.seed == table.seed.min()]
    K0 = 4 if 4 in config.ks else max(config.ks)
    modes = seed0[(seed0.part == "modes") & (seed0.K == K0)]["zero_shot"].to_numpy()
    for pz in modes:
        ax.axvline(pz, color=OKABE_ITO["blue"], lw=0.8, alpha=0.7)
    p1 = table[(table.part == "held_out") & (table.method == "single (minimax)")]
    ax.set_xlabel("probability of picking the capacity resource $p$")
    ax.set_ylabel(r"$\mathrm{Expl}_n(p)$")
    ax.set_title(f"(a) n = {ns[0]}..{ns[-1]} (solid train, dashed held out)\nblue: K = {K0} learned modes (1st seed)")
    for i, n in enumerate(ns):  # name each curve at its equilibrium (staggered: the large n crowd together)
        ax.annotate(
            str(n),
            (capacity_equilibrium(n, **kw), 0),
            xytext=(0, -4 if i % 2 else -10),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=5,
            color=n_colour(n),
        )
    ax.set_ylim(bottom=-0.1)
    ax.set_yticks(np.arange(0, 0.61, 0.1))  # no tick below 0: the room there only holds the n labels
    # (b) worst held-out exploitability vs K
    ax = axes[1]
    ho = table[table.part == "held_out"]
    for method, field, ls in (
        ("learned modes", "zero_shot", "-"),
        ("learned modes", "few_shot", ":"),
        ("uniform grid", "zero_shot", "-"),
    ):
        sub = ho[ho.method == method]
        worst = sub.groupby(["seed", "K"])[field].max().unstack(0)
        col = OKABE_ITO[_COLOURS[method]]
        ax.plot(worst.index, worst.mean(axis=1), marker="o", ms=3, ls=ls, color=col, lw=1.4)
        ax.plot(worst.index, worst.to_numpy(), ls=ls, color=col, lw=0.4, alpha=0.4)
    single = p1.groupby("seed")["zero_shot"].max().mean()
    ax.axhline(single, color=OKABE_ITO["vermillion"], lw=1.0)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(list(config.ks), [str(k) for k in config.ks])
    ax.set_xlabel("latent modes K")
    ax.set_ylabel("worst held-out exploitability")
    ho_txt = ", ".join(map(str, sorted(config.held_out)))
    ax.set_title(f"(b) n in {{{ho_txt}}}: zero-shot (solid),\nafter {config.adapt_steps} adaptation steps (dotted)")
    # (c) adaptation curves
    ax = axes[2]
    cv = table[table.part == "curve"]
    for label, col, text in (
        ("best mode", OKABE_ITO["blue"], "from the best mode"),
        ("random start", OKABE_ITO["orange"], f"from {config.n_random} random starts"),
    ):
        sub = cv[cv.method == label]
        med = sub.groupby("few_shot")["zero_shot"].median()
        q = sub.groupby("few_shot")["zero_shot"].quantile([0.25, 0.75]).unstack()
        ax.plot(med.index, med.to_numpy(), color=col, lw=1.4, label=text)
        ax.fill_between(q.index, q[0.25], q[0.75], color=col, alpha=0.2, lw=0)
    ax.axhline(1e-3, color="k", lw=0.6, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("first-order adaptation step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    ax.set_ylabel("exploitability (median, IQR)")
    ax.set_title(f"(c) few-shot adaptation on held-out n\n(K = {K0}; dashed: 1e-3)")
    ax.legend(fontsize=6, loc="upper right")
    if len(markov):
        ax = axes[3]
        mns = sorted(markov.n.unique())
        curves = markov.groupby(["n", "few_shot"])["zero_shot"].mean().unstack(0)
        for i, n in enumerate(mns):
            ax.plot(
                curves.index,
                curves[n],
                marker="o",
                ms=2.5,
                color=n_colour(n),
                lw=1.0,
                label=f"n = {n}",
            )
        worst = curves.max(axis=1)
        ax.plot(curves.index, worst, color="k", lw=0.8, ls="--", label="worst over n")
        ax.set_xlabel("move probability when crowded $p$")
        ax.set_ylabel("Monte-Carlo exploitability")
        ax.set_title(
            f"(d) Markov version: 3-cell ring, capacity\n{config.capacity} per cell, horizon 5 "
            f"({config.markov_episodes} episodes)"
        )
        ax.legend(fontsize=5.5, loc="upper center")
    handles = [
        Line2D([], [], color=OKABE_ITO["blue"], marker="o", ms=3, lw=1.4, label="learned modes (alternating)"),
        Line2D([], [], color=OKABE_ITO["bluish_green"], marker="o", ms=3, lw=1.4, label="uniform grid of modes"),
        Line2D([], [], color=OKABE_ITO["vermillion"], lw=1.0, label="best single policy (minimax over train)"),
    ]
    # the key of (b), inside it, where no curve runs (below the figure it read as a key of every panel)
    axes[1].legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, 0.82), fontsize=6)
    fig.suptitle(
        f"Capacity games (capacity {config.capacity}, outside option {config.outside:g}), train populations "
        f"{{{', '.join(map(str, sorted(config.train)))}}}, "
        f"{n_seeds} seeds",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="mra_populations",
        config_cls=MRAConfig,
        run=run,
        plot=plot,
        description="MRA capacity games: held-out exploitability of a single policy vs K latent modes, zero- and few-shot.",
        subjects=("marl.population.train_latent_modes", "marl.population.adapt_mode", "marl.population.minimax_policy"),
    )
)
