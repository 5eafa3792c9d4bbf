"""Lab ``mamql_gems_deep``: deep MAMQL (torch MLP critics) on the PettingZoo gems environment.

Demonstrations are episodes of :mod:`marl.envs.gems_v0` (PettingZoo Parallel API, ``max_cycles``
steps) played by the logit-equilibrium experts (``lam = 5``). Each agent's marginal critic is an MLP on
the one-hot cells of both agents (:func:`marl.irl.torch.one_hot_positions`), trained by
:func:`marl.irl.torch.deep_mamql` (chi^2, ``alpha = 0.5``, Adam). The recovered profile is
``softmax(lam Qbar_i)`` on all 256 states. Its return in the exact game is divided by the experts',
and the reward read off the critic with the true ``Pbar_i`` (:func:`marl.irl.recover_reward`) is
compared with the true marginal reward after removing the best potential. Both metrics are as in
``mamql_gems``; behaviour cloning is the reference. The default is small (three data sizes, 300 Adam
steps) so that the lab runs in about a minute per seed on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["LAB", "MamqlGemsDeepConfig", "plot", "run"]


@dataclass(frozen=True)
class MamqlGemsDeepConfig:
    """Sizes and budgets of the ``mamql_gems_deep`` lab."""

    n_episodes: tuple[int, ...] = (10, 30, 100)
    max_cycles: int = 30
    lam: float = 5.0
    gamma: float = 0.9
    alpha: float = 0.5
    hidden: tuple[int, ...] = (64, 64)
    steps: int = 300
    lr: float = 1e-2
    batch_size: int = 256

    def __post_init__(self):
        if not self.n_episodes or min(self.n_episodes) < 1 or self.max_cycles < 1 or self.steps < 1:
            raise ValueError("n_episodes, max_cycles and steps must be positive")
        if not (self.lam > 0 and 0 < self.gamma < 1 and self.alpha > 0 and self.lr > 0):
            raise ValueError("need lam > 0, gamma in (0, 1), alpha > 0, lr > 0")


def run(config: MamqlGemsDeepConfig, rng: np.random.Generator) -> list[dict]:
    import torch

    from labs.executors import limit_threads
    from labs.mamql_gems import _experts, _metrics
    from marl.envs import gems_v0
    from marl.irl import behaviour_cloning, recover_reward
    from marl.irl.torch import collect_demonstrations, deep_mamql, one_hot_positions
    from mdp.solvers.soft_value_iteration import softmax_policy

    rng = np.random.default_rng(rng)
    with limit_threads(1):
        torch.set_num_threads(1)
        ctx = _experts(config.lam, config.gamma, 0.1)
        g, eq = ctx[0], ctx[1]
        induced = ctx[4]
        feats = torch.as_tensor(one_hot_positions(np.arange(g.n_states)))
        rows = []
        for n in config.n_episodes:
            seed = int(rng.integers(2**31))
            demos = collect_demonstrations(
                gems_v0.parallel_env(max_cycles=config.max_cycles), eq.policies, n_episodes=n, seed=seed
            )
            res = deep_mamql(
                demos,
                one_hot_positions,
                g.n_actions,
                config.gamma,
                config.lam,
                alpha=config.alpha,
                hidden=config.hidden,
                steps=config.steps,
                lr=config.lr,
                batch_size=config.batch_size,
                seed=seed,
            )
            with torch.no_grad():
                qs = [c(feats).double().numpy() for c in res.critics]
            pols = tuple(softmax_policy(q, config.lam) for q in qs)
            rews = tuple(recover_reward(qs[i], induced[i], config.gamma, config.lam) for i in (0, 1))
            ret, corr = _metrics(ctx, pols, rews)
            rows.append(
                {
                    "method": "deep MAMQL (MLP, chi2)",
                    "n_episodes": n,
                    "return": ret,
                    "reward_corr": corr,
                    "final_loss": float(res.losses[:, -1].mean()),
                }
            )
            b = behaviour_cloning(g, demos)
            ret, _ = _metrics(ctx, b.policies, None)
            rows.append(
                {
                    "method": "behaviour cloning",
                    "n_episodes": n,
                    "return": ret,
                    "reward_corr": float("nan"),
                    "final_loss": float("nan"),
                }
            )
    return rows


def plot(table, config: MamqlGemsDeepConfig):
    from labs.plotting import OKABE_ITO, new_figure

    fig, axes = new_figure(2, 1, width=5.2, height=2.3, squeeze=False)
    style = {"deep MAMQL (MLP, chi2)": ("blue", "-", "o"), "behaviour cloning": ("black", ":", "x")}
    for ax, col, label in (
        (axes[0, 0], "return", "return / expert return"),
        (axes[0, 1], "reward_corr", "reward correlation\n(after shaping removal)"),
    ):
        for method, (colour, ls, mk) in style.items():
            part = table[table["method"] == method]
            if part[col].isna().all():
                continue
            med = part.groupby("n_episodes")[col].median()
            ax.plot(med.index, med.values, color=OKABE_ITO[colour], ls=ls, marker=mk, ms=3, lw=1.2, label=method)
        ax.set_xscale("log")
        ax.set_xlabel(f"PettingZoo episodes ({config.max_cycles} steps)")
        ax.set_ylabel(label)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    fig.suptitle(
        f"Deep MAMQL on gems: MLP {config.hidden} critics, {config.steps} Adam steps; "
        f"median of {table['seed'].nunique()} seeds",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="mamql_gems_deep",
        config_cls=MamqlGemsDeepConfig,
        run=run,
        plot=plot,
        description="Deep MAMQL (torch MLP critics) on the PettingZoo gems env: return and reward recovery vs episodes.",
        subjects=("marl.irl.torch.deep_mamql", "marl.irl.torch.collect_demonstrations"),
    )
)
