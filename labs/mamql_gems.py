"""Lab ``mamql_gems``: multi-agent inverse RL on the two-agent gems game (tabular).

Experts play the logit equilibrium (:func:`marl.logit_equilibrium`, ``lam = 5``) of
:mod:`marl.envs.gems_v0` (256 joint states, 5 x 5 actions, ``gamma = 0.9``); demonstrations are
``n`` trajectories of length 30 from the start state. Methods:

* MAMQL (:func:`marl.irl.mamql`) from the sampled demonstrations, model-free, with IQ-Learn's
  chi^2 regulariser (``alpha = 0.5``) and with the linear ``phi``;
* the adversarial tabular max-ent MA-IRL baseline (:func:`marl.irl.adversarial_irl`, model-based:
  it uses the game's dynamics in its inner soft value iterations);
* behaviour cloning (:func:`marl.irl.behaviour_cloning`; no reward).

(Independent IQ-Learn is the same estimator as MAMQL in this tabular offline setting; see
``docs/papers/mamql.md``.) Metrics: the mean over agents of the return of the recovered profile in
the true game (from the start state) divided by the experts', and the reward recovery: the Pearson
correlation between the recovered and the true marginal rewards ``rbar_i`` (under the expert's
other-agent policy) after removing the best potential shaping (:func:`marl.irl.remove_shaping`),
both weighted by the experts' occupancy. Also: the return against L-BFGS iterations (MAMQL) and
rounds of inner soft-VI solves (adversarial; two solves per round), at ``n_curve`` demonstrations
(both metrics are recorded in the table for every point).
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["LAB", "MamqlGemsConfig", "plot", "run"]


@dataclass(frozen=True)
class MamqlGemsConfig:
    """Sizes and budgets of the ``mamql_gems`` lab."""

    n_demos: tuple[int, ...] = (10, 30, 100, 300)
    horizon: int = 30
    lam: float = 5.0
    gamma: float = 0.9
    slip: float = 0.1
    alpha: float = 0.5
    airl_rounds: int = 60
    airl_lr: float = 0.05
    n_curve: int = 100
    mamql_steps: tuple[int, ...] = (1, 3, 10, 30, 100)
    record_every: int = 10

    def __post_init__(self):
        if not self.n_demos or min(self.n_demos) < 1 or self.horizon < 1 or self.n_curve < 1:
            raise ValueError("n_demos, horizon and n_curve must be positive")
        if not (self.lam > 0 and 0 < self.gamma < 1 and 0 <= self.slip < 1 and self.alpha > 0):
            raise ValueError("need lam > 0, gamma in (0, 1), slip in [0, 1), alpha > 0")
        if self.airl_rounds < 1 or self.record_every < 1 or not self.mamql_steps or min(self.mamql_steps) < 1:
            raise ValueError("airl_rounds, record_every and mamql_steps must be positive")


@functools.lru_cache(maxsize=2)
def _experts(lam, gamma, slip):
    from marl.envs import gems_v0
    from marl.irl import induced_mdp, logit_equilibrium, occupancy_measure

    g = gems_v0.model(gamma, slip=slip)
    eq = logit_equilibrium(g, lam)
    mu = gems_v0.start_distribution()
    occ = occupancy_measure(g, eq.policies, mu)
    rho_i = (occ.rho.sum(axis=2), occ.rho.sum(axis=1))
    induced = tuple(induced_mdp(g, i, eq.policies[1 - i]) for i in (0, 1))
    return g, eq, mu, rho_i, induced, _returns(g, mu, eq.policies)


def _returns(g, mu, pols):
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    P, r = g.pair_chain(*pols)
    M = sp.identity(g.n_states, format="csc") - g.gamma * sp.csc_matrix(P)
    return np.array([float(mu @ spla.spsolve(M, r[i])) for i in (0, 1)])


def _metrics(ctx, pols, rewards):
    from marl.irl import remove_shaping

    g, _, mu, rho_i, induced, expert_return = ctx
    ret = float(np.mean(_returns(g, mu, pols) / expert_return))
    if rewards is None:
        return ret, float("nan")
    corr = np.mean(
        [
            remove_shaping(rewards[i], induced[i].R, induced[i], g.gamma, weights=rho_i[i]).correlation_after
            for i in (0, 1)
        ]
    )
    return ret, float(corr)


def run(config: MamqlGemsConfig, rng: np.random.Generator) -> list[dict]:
    from labs.executors import limit_threads

    with limit_threads(1):  # small dense solves: a multithreaded BLAS only oversubscribes the cores
        return _run(config, np.random.default_rng(rng))


def _run(config: MamqlGemsConfig, rng: np.random.Generator) -> list[dict]:
    from marl.irl import (
        adversarial_irl,
        behaviour_cloning,
        mamql,
        sample_demonstrations,
    )

    ctx = _experts(config.lam, config.gamma, config.slip)
    g, eq, mu = ctx[:3]
    rows = []
    sizes = sorted(set(config.n_demos) | {config.n_curve})
    for n in sizes:
        demos = sample_demonstrations(g, eq.policies, mu, n_trajectories=n, horizon=config.horizon, rng=rng)
        fits = []
        for label, phi in (("MAMQL (chi2)", "chi2"), ("MAMQL (linear)", "linear")):
            t0 = time.perf_counter()
            r = mamql(g, demos, config.lam, phi=phi, alpha=config.alpha)
            fits.append((label, r.policies, r.rewards, time.perf_counter() - t0, int(r.n_iter.sum())))
        t0 = time.perf_counter()
        a = adversarial_irl(
            g,
            demos,
            config.lam,
            mu,
            n_iter=config.airl_rounds,
            lr=config.airl_lr,
            record_every=config.record_every if n == config.n_curve else 0,
        )
        fits.append(("adversarial MA-IRL", a.policies, a.rewards, time.perf_counter() - t0, a.n_inner_solves))
        b = behaviour_cloning(g, demos)
        fits.append(("behaviour cloning", b.policies, None, 0.0, 0))
        if n in config.n_demos:
            for label, pols, rew, secs, work in fits:
                ret, corr = _metrics(ctx, pols, rew)
                rows.append(
                    {
                        "panel": "size",
                        "method": label,
                        "n_demos": n,
                        "steps": work,
                        "return": ret,
                        "reward_corr": corr,
                        "seconds": secs,
                    }
                )
        if n == config.n_curve:
            for k in config.mamql_steps:
                for label, phi in (("MAMQL (chi2)", "chi2"), ("MAMQL (linear)", "linear")):
                    r = mamql(g, demos, config.lam, phi=phi, alpha=config.alpha, max_iter=k)
                    ret, corr = _metrics(ctx, r.policies, r.rewards)
                    rows.append(
                        {
                            "panel": "steps",
                            "method": label,
                            "n_demos": n,
                            "steps": int(r.n_iter.max()),
                            "return": ret,
                            "reward_corr": corr,
                            "seconds": float("nan"),
                        }
                    )
            for solves, theta, pols in a.history:
                ret, corr = _metrics(ctx, pols, theta)
                rows.append(
                    {
                        "panel": "steps",
                        "method": "adversarial MA-IRL",
                        "n_demos": n,
                        "steps": solves // 2,
                        "return": ret,
                        "reward_corr": corr,
                        "seconds": float("nan"),
                    }
                )
    return rows


_STYLE = {
    "MAMQL (chi2)": ("blue", "-", "o"),
    "MAMQL (linear)": ("sky_blue", "--", "s"),
    "adversarial MA-IRL": ("vermillion", "-", "^"),
    "behaviour cloning": ("black", ":", "x"),
}


def plot(table, config: MamqlGemsConfig):
    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    fig, axes = new_figure(3, 1, width=TEXT_WIDTH, height=2.5, squeeze=False)
    size = table[table["panel"] == "size"]
    steps = table[table["panel"] == "steps"]
    panels = (
        (
            axes[0, 0],
            size,
            "n_demos",
            "reward_corr",
            "demonstrations (trajectories of 30 steps)",
            "reward correlation\n(after shaping removal)",
        ),
        (axes[0, 1], size, "n_demos", "return", "demonstrations (trajectories of 30 steps)", "return / expert return"),
        (
            axes[0, 2],
            steps,
            "steps",
            "return",
            "L-BFGS iterations (MAMQL) or\nsoft-VI rounds (adversarial)",
            "return / expert return",
        ),
    )
    for ax, sub, x, y, xl, yl in panels:
        for method, (colour, ls, mk) in _STYLE.items():
            part = sub[sub["method"] == method]
            if part.empty or part[y].isna().all():
                continue
            med = part.groupby(x)[y].median()
            lo, hi = part.groupby(x)[y].min(), part.groupby(x)[y].max()
            ax.plot(med.index, med.values, color=OKABE_ITO[colour], ls=ls, marker=mk, ms=3, lw=1.2, label=method)
            if part["seed"].nunique() > 1:
                ax.fill_between(med.index, lo.values, hi.values, color=OKABE_ITO[colour], alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
    axes[0, 2].set_title(f"at {config.n_curve} demonstrations", fontsize=7)
    axes[0, 0].set_ylim(0, 1.02)
    handles, labels = axes[0, 1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=4)
    fig.suptitle(
        f"Gems (256 joint states), logit-equilibrium experts ($\\lambda$ = {config.lam:g}, "
        f"$\\gamma$ = {config.gamma:g}); median over {table['seed'].nunique()} seeds, band = range",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="mamql_gems",
        config_cls=MamqlGemsConfig,
        run=run,
        plot=plot,
        description="MAMQL vs adversarial max-ent MA-IRL and BC on the gems game: reward recovery and return.",
        subjects=("marl.irl.mamql", "marl.irl.adversarial_irl", "marl.irl.behaviour_cloning", "marl.logit_equilibrium"),
    )
)
