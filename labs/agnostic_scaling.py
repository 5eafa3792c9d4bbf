"""Lab ``agnostic_scaling``: the trajectory-tree learner vs a model-based learner as ``|S_h|`` grows,
and PSDP's failure without policy completeness.

Instances (the corrected design of ``docs/papers/agnostic_rl.md``): sparse-branching layered MDPs
(:func:`mdp.agnostic.sparse_branching`) with a fixed start state, ``branching`` successors per
``(h, s, a)``, rewards ``U[0, 1]`` at the last layer only (returns in ``[0, 1]``), a class of ``K``
random deterministic policies (agnostic: it need not contain the optimal policy). For every
``|S_h|`` in ``sizes`` and every run:

* the trajectory-tree learner (:func:`mdp.agnostic.trajectory_tree`) at ``eps``, ``delta``, with
  ``n = ceil(2 log(2K/delta)/eps^2)`` trees;
* the model-based learner (:func:`mdp.agnostic.model_based`) given *the same number of generative
  queries*, spread uniformly over the ``(H - 1) S A`` triples;
* suboptimality ``max_{pi in Pi} V(pi) - V(chosen)`` (exact values by backward induction), failure
  ``= suboptimality > eps``, queries per tree against ``sum_h C_h(Pi)`` (certified upper bound of
  :func:`mdp.agnostic.spanning_capacity`; the search does not finish for 20 random policies on
  thousands of states, so its lower bound is shown too).

Second part: PSDP on the two-layer counterexample (claim AR5) as the reset mass ``mu_x`` on ``x``
varies, with and without the completing policy (exact evaluation; deterministic).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["AgnosticScalingConfig", "run", "plot", "LAB"]


@dataclass(frozen=True)
class AgnosticScalingConfig:
    """Sizes, class and accuracy of the agnostic_scaling lab."""

    sizes: tuple[int, ...] = (500, 5000, 50000)
    horizon: int = 6
    n_actions: int = 3
    branching: int = 2
    n_policies: int = 20
    eps: float = 0.1
    delta: float = 0.1
    runs: int = 10
    capacity_nodes: int = 300
    mu_grid: int = 41

    def __post_init__(self):
        if not self.sizes or any(int(s) < 1 for s in self.sizes):
            raise ValueError(f"sizes must be positive state counts, got {self.sizes}")
        if self.horizon < 2 or self.n_actions < 2 or self.branching < 1 or self.n_policies < 1:
            raise ValueError("horizon >= 2, n_actions >= 2, branching >= 1 and n_policies >= 1 are required")
        if not (0 < self.eps < 1 and 0 < self.delta < 1):
            raise ValueError(f"eps and delta must lie in (0, 1), got {self.eps}, {self.delta}")
        if self.runs < 1 or self.capacity_nodes < 1 or self.mu_grid < 2:
            raise ValueError("runs, capacity_nodes must be >= 1 and mu_grid >= 2")


def run(config: AgnosticScalingConfig, rng) -> list[dict]:
    from mdp import agnostic as ag
    from theory_checks.agnostic import psdp_counterexample

    rng = np.random.default_rng(rng)
    c = config
    rows = []
    for S in c.sizes:
        S = int(S)
        m = ag.sparse_branching(c.horizon, S, c.n_actions, rng=rng, branching=c.branching, start=0)
        pol = ag.random_policies(c.n_policies, c.horizon, S, c.n_actions, rng=rng)
        v = ag.policy_values(m, pol)
        vstar, _ = ag.optimal_policy(m)
        cap = ag.spanning_capacity(pol, c.n_actions, max_nodes=c.capacity_nodes)
        for r in range(c.runs):
            tr = ag.trajectory_tree(m, pol, c.eps, c.delta, rng=rng)
            budget = int(tr.queries.sum())
            mb = ag.model_based(m, pol, budget, rng=rng)
            common = {
                "kind": "scaling",
                "S": S,
                "run": r,
                "budget": budget,
                "v_best": float(v.max()),
                "v_spread": float(v.max() - v.min()),
                "v_star": vstar,
                "sum_C_upper": int(cap.per_layer_upper.sum()),
                "sum_C_lower": int(cap.per_layer.sum()),
                "H_C_upper": c.horizon * int(cap.upper),
            }
            rows.append(
                {
                    **common,
                    "learner": "trajectory tree",
                    "subopt": float(v.max() - v[tr.best]),
                    "q_mean": float(tr.queries.mean()),
                    "q_max": int(tr.queries.max()),
                    "n_trees": tr.n_trees,
                }
            )
            rows.append(
                {**common, "learner": "model-based", "subopt": float(v.max() - v[mb.best]), "per_triple": mb.per_triple}
            )
    for complete in (False, True):
        for mu_x in np.linspace(0.0, 1.0, c.mu_grid + 1)[1:]:  # mu_x = 0 is a tie between g and h
            mod, classes, mus, pi_star = psdp_counterexample(complete, float(mu_x))
            res = ag.psdp(mod, classes, mus)
            rows.append(
                {
                    "kind": "psdp",
                    "complete": complete,
                    "mu_x": float(mu_x),
                    "value": res.value,
                    "chosen": int(res.chosen[1]),
                }
            )
    return rows


def plot(table, config: AgnosticScalingConfig):
    from matplotlib.lines import Line2D

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    c = config
    fig, axes = new_figure(4, 1, width=TEXT_WIDTH, height=2.5, squeeze=False)
    ax_sub, ax_fail, ax_q, ax_psdp = axes[0]
    sc = table[table["kind"] == "scaling"].copy()
    sc["fail"] = sc["subopt"] > c.eps
    sizes = sorted(sc["S"].unique())
    colours = {"trajectory tree": OKABE_ITO["blue"], "model-based": OKABE_ITO["vermillion"]}
    markers = {"trajectory tree": "o", "model-based": "s"}
    jitter = {"trajectory tree": 0.94, "model-based": 1.06}
    for learner, sub in sc.groupby("learner"):
        col = colours[learner]
        ax_sub.scatter(
            sub["S"] * jitter[learner],
            sub["subopt"].clip(lower=1e-4),
            s=6,
            color=col,
            alpha=0.35,
            marker=markers[learner],
            lw=0,
        )
        agg = sub.groupby("S")["subopt"].mean()
        ax_sub.plot(agg.index, agg.clip(lower=1e-4).values, color=col, marker=markers[learner], ms=3, lw=1.2)
        f = sub.groupby("S")["fail"].agg(["mean", "count"])
        se = np.sqrt(f["mean"] * (1 - f["mean"]) / f["count"])
        ax_fail.errorbar(f.index, f["mean"], yerr=se, color=col, marker=markers[learner], ms=3, lw=1.2, capsize=2)
    ax_sub.axhline(c.eps, color="0.3", ls="--", lw=0.8)
    ax_sub.text(sizes[0], c.eps * 1.15, r"$\epsilon$", fontsize=7, color="0.3")
    ax_sub.set_yscale("log")
    ax_sub.set_ylim(8e-5, 1)
    ax_sub.set_ylabel(r"$\max_{\Pi} V - V(\hat\pi)$ (floor $10^{-4}$)")
    ax_sub.set_title("(a) suboptimality")
    ax_fail.axhline(c.delta, color="0.3", ls="--", lw=0.8)
    ax_fail.text(sizes[0], c.delta + 0.02, r"$\delta$", fontsize=7, color="0.3")
    ax_fail.set_ylim(-0.03, 1.03)
    ax_fail.set_ylabel(r"failure frequency ($> \epsilon$)")
    ax_fail.set_title("(b) failures (equal budgets)")
    tt = sc[sc["learner"] == "trajectory tree"]
    qm = tt.groupby("S")[["q_mean", "q_max", "sum_C_upper", "sum_C_lower", "H_C_upper"]].max()
    qmean = tt.groupby("S")["q_mean"].mean()
    ax_q.plot(qmean.index, qmean.values, color=OKABE_ITO["blue"], marker="o", ms=3, lw=1.2, label="mean per tree")
    ax_q.plot(qm.index, qm["q_max"], color=OKABE_ITO["sky_blue"], marker="^", ms=3, lw=1.0, label="max per tree")
    lo = tt.groupby("S")["sum_C_lower"].min()
    ax_q.fill_between(
        lo.index, lo.values, qm["sum_C_upper"].values, color="0.85", lw=0, label=r"$\sum_h C_h$ certified bracket"
    )
    ax_q.plot(qm.index, qm["sum_C_upper"], color="0.2", ls="--", lw=1.0, label=r"$\sum_h C_h$ (certified upper)")
    ax_q.plot(qm.index, qm["H_C_upper"], color="0.55", ls=":", lw=1.0, label=r"$H\,C(\Pi)$ (upper)")
    ax_q.set_ylim(0, qm["H_C_upper"].max() * 1.1)
    ax_q.set_ylabel("generative queries per tree")
    ax_q.set_title("(c) queries per tree")
    ax_q.legend(loc="lower center", fontsize=5.5)
    for ax in (ax_sub, ax_fail, ax_q):
        ax.set_xscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([f"{int(s):,}" for s in sizes])
        ax.minorticks_off()
        ax.set_xlabel(r"states per layer $|S_h|$")
    ps = table[table["kind"] == "psdp"]
    for complete, col, ls, lab in (
        (False, OKABE_ITO["vermillion"], "-", r"$\Pi_2 = \{f, g\}$"),
        (True, OKABE_ITO["bluish_green"], "-", r"$\Pi_2 = \{f, g, h\}$ (completed)"),
    ):
        sub = ps[ps["complete"] == complete].drop_duplicates("mu_x").sort_values("mu_x")
        ax_psdp.plot(
            sub["mu_x"],
            sub["value"],
            color=col,
            ls=ls,
            lw=2.2 if complete else 1.3,
            label=lab,
            zorder=3 if complete else 2,
        )
    ax_psdp.axhline(1.0, color="0.2", ls=":", lw=0.8, zorder=4)
    ax_psdp.axvline(2 / 3, color="0.6", lw=0.6)
    ax_psdp.text(2 / 3 + 0.02, 0.62, r"$\mu_x = 2/3$", fontsize=6, color="0.4")
    ax_psdp.set_ylim(0.4, 1.08)
    ax_psdp.set_xlabel(r"reset mass $\mu_2(x)$")
    ax_psdp.set_ylabel(r"$V(\pi_{\mathrm{PSDP}})$ ($V(\pi^\star) = 1$)")
    ax_psdp.set_title("(d) PSDP, AR5 instance")
    ax_psdp.legend(loc="center left", bbox_to_anchor=(0.04, 0.74), fontsize=5.5)
    handles = [Line2D([], [], color=colours[k], marker=markers[k], ms=3, lw=1.2, label=k) for k in colours]
    fig.legend(handles=handles, loc="outside lower center", ncols=2)
    n = sc.groupby(["S", "learner"]).size().max()
    fig.suptitle(
        f"Agnostic learning with a generative model: H = {c.horizon}, A = {c.n_actions}, {c.branching} "
        f"successors, |Pi| = {c.n_policies} random policies, eps = {c.eps:g}, delta = {c.delta:g}; "
        f"{n} runs per point",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="agnostic_scaling",
        config_cls=AgnosticScalingConfig,
        run=run,
        plot=plot,
        description="Trajectory trees vs a model-based learner as |S_h| grows (equal budgets); PSDP without completeness.",
        subjects=(
            "mdp.agnostic.trajectory_tree",
            "mdp.agnostic.model_based",
            "mdp.agnostic.spanning_capacity",
            "mdp.agnostic.psdp",
        ),
    )
)
