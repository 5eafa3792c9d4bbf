"""Lab ``edge_of_reach``: offline model-based RL with the *true* dynamics still collapses (and RAVL does not).

Environment (``docs/papers/edge_of_reach.md``, "CPU-scale lab experiment"): a ``side x side``
deterministic grid (actions N, S, E, W), reward ``-1`` per step, ``0`` at an absorbing goal in the
left half, ``gamma = 0.95``. Offline data: ``n_episodes`` episodes of ``horizon`` steps of a noisy
behaviour policy (half optimal, half uniform over the moves that stay in the left half) from random
left-half cells; ``D_0`` = the states in the data. Per seed, for every rollout length ``k`` (``-1``:
full rollouts of ``side^2`` steps) and agent, ``n_rounds`` rounds of "``n_rollouts`` rollouts of the
epsilon-greedy policy in the true model, then ``n_updates`` synchronous sweeps"
(:func:`mdp.offline.offline_model_based`):

* ``Q``: one critic initialised ``N(0, init_sigma^2)`` (the notes' ``U[0, 20]`` replaced by a normal
  so that E4's exact order statistics apply; see the page);
* ``RAVL``: ``n_critics`` i.i.d. critics, min target;
* ``MOPO (true model)``: the penalty of a true-model ensemble (identically 0), same seed as ``Q``.

Second part: RAVL with ``N`` in ``ensemble_sizes`` at ``k = ensemble_k``: the mean of
``min_j Q_j`` over the final buffer's edge pairs against the exact order statistic
(:func:`mdp.offline.min_normal_mean`) and the asymptotic ``-sigma sqrt(2 ln N)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["EdgeOfReachConfig", "edge_grid", "run", "plot", "LAB"]


@dataclass(frozen=True)
class EdgeOfReachConfig:
    """Grid, data and loop sizes of the edge_of_reach lab."""

    side: int = 15
    gamma: float = 0.95
    n_episodes: int = 200
    horizon: int = 10
    ks: tuple[int, ...] = (1, 3, 5, 10, -1)
    n_rounds: int = 50
    n_updates: int = 200
    n_rollouts: int = 200
    n_critics: int = 10
    init_sigma: float = 10.0
    epsilon: float = 0.1
    ensemble_sizes: tuple[int, ...] = (1, 2, 5, 10, 20)
    ensemble_k: int = 5

    def __post_init__(self):
        if self.side < 4 or not 0 < self.gamma < 1:
            raise ValueError(f"side must be >= 4 and gamma in (0, 1), got {self.side}, {self.gamma}")
        if not self.ks or any(k == 0 or k < -1 for k in self.ks):
            raise ValueError(f"ks must be rollout lengths >= 1 or -1 (full rollouts), got {self.ks}")
        if min(self.n_episodes, self.horizon, self.n_rounds, self.n_updates, self.n_rollouts, self.n_critics) < 1:
            raise ValueError("n_episodes, horizon, n_rounds, n_updates, n_rollouts and n_critics must be >= 1")
        if not self.ensemble_sizes or min(self.ensemble_sizes) < 1 or self.ensemble_k < 1:
            raise ValueError("ensemble_sizes must be >= 1 and ensemble_k >= 1")
        if not self.init_sigma > 0 or not 0 <= self.epsilon <= 1:
            raise ValueError("init_sigma must be > 0 and epsilon in [0, 1]")


def edge_grid(config: EdgeOfReachConfig, rng):
    """``(model, behaviour policy (S, A), dataset, start state)`` of the lab."""
    import mdp
    from mdp import offline as off

    n = config.side
    half = n // 2
    goal = (half // 2, n // 2)
    m = mdp.generators.gridworld(
        n, n, slip=0.0, goal=goal, goal_reward=0.0, step_reward=-1.0, gamma=config.gamma
    )  # sparse: policy evaluation by a sparse solve
    S, A = m.n_states, m.n_actions
    xs = np.arange(S) % n
    opt = np.asarray(mdp.solve(m, tol=1e-10).pi)
    pb = np.zeros((S, A))
    for s in range(S):
        allowed = [a for a in range(A) if not (a == 2 and xs[s] >= half - 1)]  # never step east out of the left half
        pb[s, allowed] += 0.5 / len(allowed)
        if opt[s] in allowed:
            pb[s, opt[s]] += 0.5
        else:
            pb[s, allowed] += 0.5 / len(allowed)
    left = np.flatnonzero(xs < half)
    data = off.collect_dataset(m, pb, n_episodes=config.n_episodes, horizon=config.horizon, start=left, rng=rng)
    return m, pb, data, 0


def run(config: EdgeOfReachConfig, rng) -> list[dict]:
    import mdp
    from mdp import offline as off

    rng = np.random.default_rng(rng)
    c = config
    m, _, data, start = edge_grid(c, rng)
    S, A = m.n_states, m.n_actions
    vstar = float(mdp.solve(m, tol=1e-10).v[start])
    pen = off.mopo_penalty([m, m, m, m, m])
    rows = []
    kw = dict(n_rounds=c.n_rounds, n_updates=c.n_updates, n_rollouts=c.n_rollouts, epsilon=c.epsilon, start=start)
    for k in c.ks:
        kk = None if k == -1 else int(k)
        seed = int(rng.integers(2**62))
        q1 = np.random.default_rng(seed).normal(0.0, c.init_sigma, (1, S, A))
        qN = rng.normal(0.0, c.init_sigma, (c.n_critics, S, A))
        runs = {
            "Q (one critic)": off.offline_model_based(m, data, q1, k=kk, rng=np.random.default_rng(seed + 1), **kw),
            f"RAVL (N={c.n_critics})": off.offline_model_based(m, data, qN, k=kk, rng=rng, **kw),
            "MOPO (true model)": off.offline_model_based(
                m, data, q1, k=kk, rng=np.random.default_rng(seed + 1), penalty=pen, **kw
            ),
        }
        for agent, r in runs.items():
            for i in range(c.n_rounds):
                rows.append(
                    {
                        "kind": "run",
                        "agent": agent,
                        "k": int(k),
                        "round": i,
                        "edge_size": int(r.edge_size[i]),
                        "edge_hits": float(r.edge_hits[i]),
                        "overestimation": float(r.overestimation[i]),
                        "true_return": float(r.true_return[i]),
                        "member_gap": float(r.member_gap[i]),
                        "v_star": vstar,
                        "n_data_states": int(np.unique(data.states).size),
                    }
                )
    for N in c.ensemble_sizes:
        q0 = rng.normal(0.0, c.init_sigma, (int(N), S, A))
        r = off.offline_model_based(m, data, q0, k=c.ensemble_k, rng=rng, **kw)
        qm = np.asarray(r.q).min(axis=0)[r.edge]
        rows.append(
            {
                "kind": "ensemble",
                "N": int(N),
                "edge_mean": float(qm.mean()) if qm.size else float("nan"),
                "edge_count": int(qm.size),
                "exact": off.min_normal_mean(int(N), sigma=c.init_sigma),
                "asymptotic": -c.init_sigma * float(np.sqrt(2 * np.log(N))),
                "edge_hits": float(r.edge_hits[-5:].mean()),
                "true_return": float(r.true_return[-1]),
                "v_star": vstar,
            }
        )
    return rows


def plot(table, config: EdgeOfReachConfig):
    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    c = config
    fig, axes = new_figure(2, 2, width=TEXT_WIDTH, height=5.0)
    (ax_o, ax_r), (ax_e, ax_n) = axes
    rn = table[table["kind"] == "run"]
    ks = list(c.ks)
    xpos = {k: i for i, k in enumerate(ks)}
    labels = ["full" if k == -1 else str(k) for k in ks]
    style = {
        "Q (one critic)": (OKABE_ITO["vermillion"], "o", "-", 5),
        f"RAVL (N={c.n_critics})": (OKABE_ITO["blue"], "s", "-", 4),
        "MOPO (true model)": (OKABE_ITO["yellow"], "x", "--", 4),
    }
    last = rn[rn["round"] == rn["round"].max()]
    for agent, (col, mk, ls, ms) in style.items():
        sub = last[last["agent"] == agent]
        if sub.empty:
            continue
        x = sub["k"].map(xpos).to_numpy(dtype=float)
        lab = agent + (" = Q (penalty 0)" if agent.startswith("MOPO") else "")
        for ax, col_name in ((ax_o, "overestimation"), (ax_r, "true_return")):
            ax.scatter(x, sub[col_name], color=col, marker=mk, s=8, alpha=0.35, lw=0.6)
            agg = sub.groupby("k")[col_name].mean()
            order = sorted(agg.index, key=xpos.get)
            ax.plot([xpos[k] for k in order], agg[order].values, color=col, marker=mk, ms=ms, ls=ls, lw=1.2, label=lab)
    for ax in (ax_o, ax_r):
        ax.set_xticks(range(len(ks)))
        ax.set_xticklabels(labels)
        ax.set_xlabel(r"rollout length $k$ (true dynamics)")
    ax_o.set_yscale("symlog", linthresh=1.0)
    ax_o.axhline(0, color="0.5", lw=0.6)
    ax_o.set_ylabel(r"$\max_{s \in U} [Q(s, \pi(s)) - V^\pi_{true}(s)]$")
    ax_o.set_title("(a) overestimation after the last round")
    if float(last["overestimation"].min()) > -0.1:  # no real underestimation: no empty negative decade
        ax_o.set_ylim(bottom=-0.3)
    # one legend for panels (a)-(c), below the figure: inside (a) it covered the curves
    handles, labels = ax_o.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels))
    vstar = float(rn["v_star"].iloc[0])
    ax_r.axhline(vstar, color="0.2", ls=":", lw=0.9)
    ax_r.text(len(ks) - 1.25, vstar + 0.6, r"$V^*$(start)", fontsize=6, ha="right", color="0.2")
    floor = -1 / (1 - c.gamma)
    ax_r.axhline(floor, color="0.6", ls="--", lw=0.7)
    ax_r.text(0.15, floor + 0.8, "never reaches the goal", fontsize=6, color="0.4")
    ax_r.set_ylim(floor - 1.5, 0.5)
    ax_r.set_ylabel(r"true return $V^\pi_{true}$(start)")
    ax_r.set_title("(b) true return of the greedy policy")
    k_show = c.ensemble_k if c.ensemble_k in ks else ks[0]
    sub_k = rn[rn["k"] == k_show]
    for agent, (col, mk, ls, ms) in style.items():
        s2 = sub_k[sub_k["agent"] == agent]
        if s2.empty:
            continue
        agg = s2.groupby("round")["edge_hits"].mean()
        ax_e.plot(agg.index + 1, agg.values, color=col, ls=ls, lw=1.2, label=agent)
    ax_e.set_xlabel("round")
    ax_e.set_ylabel("fraction of rollout steps\nending in the edge set")
    ax_e.set_title(f"(c) the policy is drawn to the edge (k = {k_show})")
    ax_e.set_yscale("symlog", linthresh=1e-3)
    ax_e.set_ylim(0, 1.05)
    ens = table[table["kind"] == "ensemble"]
    agg = ens.groupby("N")[["edge_mean", "exact", "asymptotic"]].mean()
    ax_n.scatter(ens["N"], ens["edge_mean"], color=OKABE_ITO["blue"], s=8, alpha=0.35, lw=0)
    ax_n.plot(
        agg.index,
        agg["edge_mean"],
        color=OKABE_ITO["blue"],
        marker="s",
        ms=4,
        lw=1.2,
        label=r"measured mean of $\min_j Q_j$ on $E$",
    )
    ax_n.plot(agg.index, agg["exact"], color="0.1", ls="-", lw=0.9, label=r"exact $\sigma_0 E[\min_{j=1..N} Z_j]$")
    ax_n.plot(agg.index, agg["asymptotic"], color="0.5", ls="--", lw=0.9, label=r"asymptotic $-\sigma_0\sqrt{2 \ln N}$")
    ax_n.set_xscale("log")
    ax_n.set_xticks(list(agg.index))
    ax_n.set_xticklabels([str(int(n)) for n in agg.index])
    ax_n.minorticks_off()
    ax_n.set_xlabel(r"ensemble size $N$")
    ax_n.set_ylabel(r"edge value (init $N(0, \sigma_0^2)$, $\sigma_0 = %g$)" % c.init_sigma)
    ax_n.set_title(f"(d) RAVL's pessimism at the edge (k = {c.ensemble_k}, final buffer)")
    ax_n.legend(fontsize=5.5, loc="lower left")
    nseeds = int(last.groupby(["agent", "k"]).size().max())
    fig.suptitle(
        f"Edge of reach on a {c.side}x{c.side} grid with the true dynamics: {c.n_rounds} rounds of "
        f"{c.n_rollouts} rollouts + {c.n_updates} sweeps; {nseeds} seed(s)",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="edge_of_reach",
        config_cls=EdgeOfReachConfig,
        run=run,
        plot=plot,
        description="Offline model-based RL with the true dynamics: overestimation and true return vs rollout "
        "length for one critic, RAVL and a MOPO penalty; ensemble pessimism at the edge vs exact order statistics.",
        subjects=(
            "mdp.offline.offline_model_based",
            "mdp.offline.buffer_q_iteration",
            "mdp.offline.model_rollouts",
            "mdp.offline.min_normal_mean",
        ),
    )
)
