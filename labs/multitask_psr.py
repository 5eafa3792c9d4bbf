"""Lab ``multitask_psr``: joint vs per-task maximum likelihood over a shared-emission POMDP class.

The notes' CPU-scale experiment (``docs/papers/multitask_psr.md``; UMT-PSR, Huang et al., ICLR 2024):
``N`` tasks are small POMDPs (``S = 3``, ``O = 3``, ``A = 2``, ``H = 4``) that share one emission
matrix drawn from ``M_O = 200`` Dirichlet candidates and have task-specific transitions from
``M_T = 5`` candidates (:func:`mdp.pomdp.random_factored_class`; a fresh class per run). Rewards are
known, ``r_n(o) ~ U[0, 1/H]`` per task and observation. Each task gets ``n`` episodes with uniformly
random actions (nested: the first 10 of the first 30, and so on). Learners:

* **joint MLE** over ``P_joint`` (``M_O M_T^N`` members), by profiling (:func:`mdp.pomdp.joint_mle`);
* **per-task MLE** over each task's ``M_O M_T`` pairs (:func:`mdp.pomdp.per_task_mle`).

Then exact planning in each task's estimated model (:func:`mdp.pomdp.plan`, backward induction over
all 3 888 histories) and evaluation of that plan in the true model (:func:`mdp.pomdp.policy_value`).
Metrics, averaged over the ``N`` tasks: TV between the estimated and true trajectory distributions
under uniform actions (exact tables), suboptimality ``V*_n - V_n(plan)``, and whether the emission
was identified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["MultitaskPSRConfig", "run", "plot", "LAB"]


@dataclass(frozen=True)
class MultitaskPSRConfig:
    """Sizes of the multitask_psr lab."""

    tasks: tuple[int, ...] = (1, 2, 5, 10)
    episodes: tuple[int, ...] = (10, 30, 100, 300)
    n_emissions: int = 200
    n_transitions: int = 5
    n_states: int = 3
    n_obs: int = 3
    n_actions: int = 2
    horizon: int = 4
    runs: int = 10

    def __post_init__(self):
        if not self.tasks or any(int(t) < 1 for t in self.tasks):
            raise ValueError(f"tasks must be positive task counts, got {self.tasks}")
        if not self.episodes or any(int(n) < 1 for n in self.episodes):
            raise ValueError(f"episodes must be positive episode counts, got {self.episodes}")
        if min(self.n_emissions, self.n_transitions, self.n_states, self.n_obs, self.n_actions, self.horizon) < 1:
            raise ValueError("n_emissions, n_transitions, n_states, n_obs, n_actions and horizon must be >= 1")
        if self.runs < 1:
            raise ValueError(f"runs must be >= 1, got {self.runs}")


def run(config: MultitaskPSRConfig, rng) -> list[dict]:
    from mdp import pomdp as P

    rng = np.random.default_rng(rng)
    c = config
    ns = sorted(int(n) for n in c.episodes)
    rows = []
    for r in range(c.runs):
        fc = P.random_factored_class(
            c.n_emissions, c.n_transitions, c.n_states, c.n_actions, c.n_obs, c.horizon, rng=rng
        )
        mc = fc.members()
        tables = P.trajectory_probabilities(mc)  # (K, A^H, O^(H+1))
        M_T = c.n_transitions
        for N in c.tasks:
            N = int(N)
            i0 = int(rng.integers(c.n_emissions))
            js = rng.integers(M_T, size=N)
            rewards = rng.random((N, c.n_obs)) / c.horizon
            truths = [fc.model(i0, int(j)) for j in js]
            v_star = [P.plan(truths[t], rewards[t]).value for t in range(N)]
            cum = []
            for t in range(N):
                obs, acts = P.sample_trajectories(truths[t], ns[-1], rng=rng)
                cum.append(np.cumsum(P.log_likelihoods(mc, obs, acts), axis=1))
            plans = {}
            for n in ns:
                L = np.stack([cm[:, n - 1].reshape(c.n_emissions, M_T) for cm in cum])
                for learner, est in (("joint", P.joint_mle(L)), ("per-task", P.per_task_mle(L))):
                    k_hat = est.emissions * M_T + est.transitions
                    k_true = i0 * M_T + js
                    tv = 0.5 * np.abs(tables[k_hat] - tables[k_true]).sum(axis=2).mean(axis=1)
                    sub = []
                    for t in range(N):
                        key = (int(k_hat[t]), t)
                        if key not in plans:
                            plans[key] = P.plan(mc[key[0]], rewards[t]).pi
                        sub.append(v_star[t] - P.policy_value(truths[t], rewards[t], plans[key]))
                    rows.append(
                        {
                            "run": r,
                            "N": N,
                            "n": n,
                            "learner": learner,
                            "tv": float(tv.mean()),
                            "subopt": float(np.mean(sub)),
                            "emission_ok": float(np.mean(est.emissions == i0)),
                            "v_star": float(np.mean(v_star)),
                        }
                    )
    return rows


def plot(table, config: MultitaskPSRConfig):
    from matplotlib.lines import Line2D

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    c = config
    fig, axes = new_figure(3, 1, width=TEXT_WIDTH, height=2.5, squeeze=False)
    ax_tv, ax_sub, ax_id = axes[0]
    cols = [OKABE_ITO[k] for k in ("black", "sky_blue", "orange", "vermillion", "blue", "bluish_green")]
    Ns = sorted(table["N"].unique())
    colour = {N: cols[i % len(cols)] for i, N in enumerate(Ns)}
    style = {"joint": ("-", "o"), "per-task": ("--", "s")}
    agg = table.groupby(["N", "n", "learner"]).agg(
        tv=("tv", "mean"),
        tv_se=("tv", "sem"),
        subopt=("subopt", "mean"),
        sub_se=("subopt", "sem"),
        ok=("emission_ok", "mean"),
    )
    agg = agg.reset_index().fillna({"tv_se": 0.0, "sub_se": 0.0})
    floor = 1e-4
    for (N, learner), sub in agg.groupby(["N", "learner"]):
        ls, mk = style[learner]
        kw = dict(color=colour[N], ls=ls, marker=mk, ms=3, lw=1.2, capsize=1.5, alpha=0.9)
        for ax, m, se in ((ax_tv, sub["tv"], sub["tv_se"]), (ax_sub, sub["subopt"], sub["sub_se"])):
            y = m.clip(lower=floor).to_numpy()
            lo = y - np.maximum(m.to_numpy() - se.to_numpy(), floor)  # error bars stop at the floor
            hi = np.maximum(m.to_numpy() + se.to_numpy(), floor) - y
            ax.errorbar(sub["n"], y, yerr=np.vstack([np.maximum(lo, 0), hi]), **kw)
        ax_id.plot(sub["n"], sub["ok"], color=colour[N], ls=ls, marker=mk, ms=3, lw=1.2)
    for ax in (ax_tv, ax_sub, ax_id):
        ax.set_xscale("log")
        ax.set_xticks(sorted(table["n"].unique()))
        ax.set_xticklabels([str(int(n)) for n in sorted(table["n"].unique())])
        ax.minorticks_off()
        ax.set_xlabel("episodes per task $n$")
    ax_tv.set_yscale("log")
    ax_tv.set_ylabel(rf"mean per-task TV" "\n" rf"(floor $10^{{{int(np.log10(floor))}}}$)")
    ax_tv.set_title("(a) estimation error")
    ax_sub.set_yscale("log")
    ax_sub.set_ylabel(r"mean $V^\star_n - V_n(\hat\pi_n)$" "\n" rf"(floor $10^{{{int(np.log10(floor))}}}$)")
    ax_sub.set_title("(b) suboptimality of the plan")
    ax_id.set_ylim(-0.03, 1.03)
    ax_id.set_ylabel("fraction of tasks\nwith the true emission")
    ax_id.set_title("(c) shared part identified")
    handles = [
        Line2D([], [], color=colour[N], lw=1.5, label=f"N = {int(N)}" + (" (joint = per-task)" if N == 1 else ""))
        for N in Ns
    ]
    handles += [Line2D([], [], color="0.3", ls=style[k][0], marker=style[k][1], ms=3, label=f"{k} MLE") for k in style]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles))
    runs = table.groupby(["N", "n", "learner"]).size().max()
    fig.suptitle(
        f"Joint vs per-task MLE: shared emission ({c.n_emissions} candidates), task-specific transitions "
        f"({c.n_transitions} candidates)\nS = {c.n_states}, O = {c.n_obs}, A = {c.n_actions}, H = {c.horizon}, "
        f"uniform-action data, exact planning; {runs} runs per point (mean $\\pm$ s.e.)",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="multitask_psr",
        config_cls=MultitaskPSRConfig,
        run=run,
        plot=plot,
        description="Joint vs per-task MLE over a shared-emission POMDP class: TV error and suboptimality "
        "of exact plans vs episodes per task, N = 1, 2, 5, 10 tasks.",
        subjects=("mdp.pomdp.joint_mle", "mdp.pomdp.per_task_mle", "mdp.pomdp.plan", "mdp.pomdp.log_likelihoods"),
    )
)
