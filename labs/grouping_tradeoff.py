"""Lab ``grouping_tradeoff``: loss vs number of action groups at several sample budgets (the U shape).

The experiment of ``docs/papers/action_grouping.md`` (Li, Ju & Shroff, ICLR 2024). Each lab seed draws
``replicates`` planted-cluster MDPs per ``sigma`` (:func:`mdp.abstraction.grouping.planted_cluster_mdp`:
``S = 10``, 4 clusters x 16 actions, ``gamma = 0.9``); for each it builds the nested Ward family of
groupings from the exact action signatures (``G`` in ``1, 2, 4, ..., 64``, ``mu`` uniform), and
for each total budget ``N_tot`` and each ``G`` runs the grouped learner with
``N = N_tot // (S G)`` samples per state-group pair and ``T`` sweeps, recording the true loss
``mean_s (V*_M - V^{pi_hat o mu}_M)(s)`` (uniform start distribution; exact linear solves), its
sup-norm version, and the AG5 bound with its three terms (exact ``eps_P, eps_R``). The default of 3
seeds x 10 replicates gives the note's 30 instances.

Reward observations are Bernoulli with mean ``R(s, a)`` by default (the paper's stochastic-reward
setting). With noise-free rewards (``reward_noise=none``) the finest grouping wins at every budget
on this instance, because only the transitions have to be estimated and the planted clusters differ
strongly: the trade-off of AG6 is then invisible at these budgets.

The figure: one panel per ``sigma``, mean realised loss vs ``G`` (log-log) per budget with a
bootstrap-free band of +- 2 standard errors over instances, the argmin marked; a second row shows
the AG5 bound (same colours, dashed; it is 15-400x larger, so it gets its own axes) with its argmin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab
from labs.executors import limit_threads
from theory_checks.core import solve_exact

__all__ = ["GroupingTradeoffConfig", "run", "plot", "LAB"]


@dataclass(frozen=True)
class GroupingTradeoffConfig:
    """The note's experiment; ``replicates`` instances per seed and ``sigma``."""

    budgets: tuple[int, ...] = (2_000, 20_000, 200_000)
    n_groups: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    sigmas: tuple[float, ...] = (0.05, 0.2)
    n_states: int = 10
    n_clusters: int = 4
    cluster_size: int = 16
    gamma: float = 0.9
    T: int = 100
    delta: float = 0.05
    replicates: int = 10
    reward_noise: str = "bernoulli"
    linkage: str = "ward"
    threads: int = 1

    def __post_init__(self):
        A = self.n_clusters * self.cluster_size
        if not self.budgets or any(b < 1 for b in self.budgets):
            raise ValueError(f"budgets must be positive sample counts, got {self.budgets}")
        if not self.n_groups or any(not 1 <= g <= A for g in self.n_groups):
            raise ValueError(f"n_groups must lie in [1, A = {A}], got {self.n_groups}")
        if not self.sigmas or any(not 0 <= s <= 1 for s in self.sigmas):
            raise ValueError(f"sigmas must lie in [0, 1], got {self.sigmas}")
        if not 0 < self.gamma < 1:
            raise ValueError(f"gamma must lie in (0, 1), got {self.gamma}")
        if not 0 < self.delta < 1:
            raise ValueError(f"delta must lie in (0, 1), got {self.delta}")
        if self.replicates < 1 or self.T < 0 or self.n_states < 1:
            raise ValueError("replicates and n_states must be >= 1 and T >= 0")
        if self.reward_noise not in ("none", "bernoulli"):
            raise ValueError(f"reward_noise must be 'none' or 'bernoulli', got {self.reward_noise!r}")


def run(config: GroupingTradeoffConfig, rng: np.random.Generator) -> list[dict]:
    from mdp.abstraction import grouping as AG

    rng = np.random.default_rng(rng)
    rows = []
    sizes = sorted(set(config.n_groups))
    with limit_threads(config.threads):
        for sigma in config.sigmas:
            for rep in range(config.replicates):
                m, _ = AG.planted_cluster_mdp(
                    rng,
                    n_states=config.n_states,
                    n_clusters=config.n_clusters,
                    cluster_size=config.cluster_size,
                    sigma=sigma,
                    gamma=config.gamma,
                )
                v_star = np.asarray(solve_exact(m, 1e-12).v)
                fam = AG.nested_groupings(AG.action_signatures(m), sizes, method=config.linkage)
                errs = [AG.grouping_errors(m, g) for g in fam]
                for budget in config.budgets:
                    for g, e in zip(fam, errs):
                        G = g.n_groups
                        N = budget // (config.n_states * G)
                        row = {
                            "sigma": sigma,
                            "replicate": rep,
                            "budget": budget,
                            "G": G,
                            "N": N,
                            "eps_P": e.eps_P,
                            "eps_R": e.eps_R,
                        }
                        if N < 1:
                            rows.append(
                                {
                                    **row,
                                    "loss": np.nan,
                                    "loss_sup": np.nan,
                                    "bound": np.nan,
                                    "approximation": np.nan,
                                    "estimation": np.nan,
                                    "computation": np.nan,
                                }
                            )
                            continue
                        res = AG.grouped_learner(
                            m, g, N, config.T, rng=rng, reward_noise=config.reward_noise, v_star=v_star
                        )
                        b = AG.grouping_loss_bound(
                            m, g, N, config.T, delta=config.delta, reward_noise=config.reward_noise
                        )
                        rows.append(
                            {
                                **row,
                                "loss": float(np.mean(res.loss_per_state)),
                                "loss_sup": res.loss,
                                "bound": b.total,
                                "approximation": b.approximation,
                                "estimation": b.estimation,
                                "computation": b.computation,
                                "n_samples": res.n_samples,
                            }
                        )
    return rows


def _summary(table, sigma, budget, col):
    s = table[(table["sigma"] == sigma) & (table["budget"] == budget)].dropna(subset=[col])
    g = s.groupby("G")[col]
    mean = g.mean()
    se = g.std(ddof=1).fillna(0.0) / np.sqrt(g.count())
    return mean, se


def _budget_label(budget) -> str:
    exp = int(np.floor(np.log10(budget)))
    mant = budget / 10**exp
    mant_s = f"{mant:g}\\cdot " if mant != 1 else ""
    return rf"$N_{{tot}} = {mant_s}10^{{{exp}}}$"


def plot(table, config: GroupingTradeoffConfig):
    from labs.plotting import PALETTE, TEXT_WIDTH, new_figure

    sigmas = sorted(table["sigma"].unique())
    budgets = sorted(table["budget"].unique())
    fig, axes = new_figure(
        len(sigmas), 2, width=TEXT_WIDTH if len(sigmas) > 1 else 3.6, height=4.6, squeeze=False, sharex=True
    )
    n_inst = table.groupby(["seed", "replicate"]).ngroups
    for j, sigma in enumerate(sigmas):
        top, bottom = axes[0, j], axes[1, j]
        for k, budget in enumerate(budgets):
            colour = PALETTE[k % len(PALETTE)]
            label = _budget_label(budget)
            mean, se = _summary(table, sigma, budget, "loss")
            if mean.empty:
                continue
            top.plot(mean.index, mean.values, color=colour, marker="o", label=label)
            top.fill_between(
                mean.index,
                np.maximum(mean - 2 * se, 1e-6).values,
                (mean + 2 * se).values,
                color=colour,
                alpha=0.18,
                lw=0,
            )
            kmin = mean.idxmin()
            top.plot([kmin], [mean[kmin]], marker="*", ms=10, color=colour, mec="black", mew=0.5, zorder=5)
            bmean, bse = _summary(table, sigma, budget, "bound")
            bottom.plot(bmean.index, bmean.values, color=colour, ls="--", marker="s", ms=2.5, label=label)
            bottom.fill_between(
                bmean.index, (bmean - 2 * bse).values, (bmean + 2 * bse).values, color=colour, alpha=0.15, lw=0
            )
            bmin = bmean.idxmin()
            bottom.plot([bmin], [bmean[bmin]], marker="*", ms=10, color=colour, mec="black", mew=0.5, zorder=5)
            ratio = float(np.median((bmean / mean).values))
            bottom.annotate(
                f"{ratio:.0f}x",
                (bmean.index[-1], bmean.values[-1]),
                textcoords="offset points",
                xytext=(3, 0),
                fontsize=6,
                color=colour,
                va="center",
            )
        for ax in (top, bottom):
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
        top.set_title(rf"$\sigma = {sigma:g}$: realised loss (mean $\pm$ 2 s.e., {n_inst} inst.)")
        bottom.set_title(rf"$\sigma = {sigma:g}$: AG5 bound (median bound/loss at right)")
        bottom.set_xlabel(r"number of groups $G$ ($G = |A|$: no grouping)")
        top.set_ylabel(r"$\mathrm{mean}_s\,V^*_M - V^{\hat\pi\circ\mu}_M$")
        bottom.set_ylabel("bound on the loss")
        xs = sorted(table["G"].unique())
        bottom.set_xticks(xs, [str(x) for x in xs])
    handles, labels_ = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels_, loc="outside lower center", ncols=len(labels_))
    fig.suptitle(
        rf"Action grouping: $|S| = {config.n_states}$, "
        rf"$|A| = {config.n_clusters}\times{config.cluster_size}$ (planted clusters), $\gamma = {config.gamma:g}$, "
        rf"$T = {config.T}$, $N = N_{{tot}} / (|S| G)$, {config.reward_noise} rewards; "
        r"$\bigstar$ = argmin",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="grouping_tradeoff",
        subjects=(
            "mdp.abstraction.grouped_learner",
            "mdp.abstraction.grouping_loss_bound",
            "mdp.abstraction.grouping_errors",
            "mdp.abstraction.nested_groupings",
        ),
        config_cls=GroupingTradeoffConfig,
        run=run,
        plot=plot,
        description="Action grouping: loss vs number of groups per sample budget (U shape) with the AG5 bound.",
    )
)
