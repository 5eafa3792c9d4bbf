"""Lab ``hecrl_entities``: success vs number of entities for flat, hierarchical, factored-sampler and
joint-sampler agents on HECRL's block track (``docs/papers/hecrl.md``).

Per seed and ``N`` in ``n_blocks``: ``N`` blocks on a track of ``track_length`` positions
(:func:`mdp.goal.block_track`, ``ordered=True``: blocks cannot pass each other, so the sorted
configurations are the reachable component; the notes' track of 7 positions has goal distances of at
most 12, too short for their 10-30 goals, hence 12 positions); random-action data
(``n_trajectories`` x ``length``); one value table ``V(s, g)`` by expectile TD (``kappa = 0.9``,
``gamma = 0.99``, targets clamped to ``[-1/(1-gamma), 0]``, value goals 20 % current / 80 % future
state, HECRL's defaults) shared by every agent and used greedily as the low level (one-step
lookahead on the known dynamics). Agents:

* ``flat``: the low level aimed at ``g``;
* ``HIQL-like``: tabular AWR subgoal policy (``beta = 3``) over data subgoals ``s_{t+K}`` for the
  context ``(s, g)``, the goal itself in unseen contexts;
* ``factored`` / ``joint``: ``n_candidates`` samples of :class:`mdp.goal.FactoredSampler` /
  :class:`mdp.goal.JointSampler`, chosen by HECRL's rule (max ``V(c, g)`` among candidates with
  ``V(s, c)`` above the competence radius of ``radius_steps`` steps, ``g`` when already closer).

A new subgoal every ``K`` steps; success within ``max_steps`` on ``n_eval`` start-goal pairs at distance
``d_min..d_max`` (as available).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["HECRLEntitiesConfig", "run", "plot", "LAB"]

AGENTS = ("flat", "HIQL-like", "joint sampler", "factored sampler")


@dataclass(frozen=True)
class HECRLEntitiesConfig:
    """Track, data, learning and evaluation sizes of the hecrl_entities lab."""

    n_blocks: tuple[int, ...] = (2, 3, 4)
    track_length: int = 12
    n_trajectories: int = 2000
    length: int = 50
    gamma: float = 0.99
    expectile: float = 0.9
    n_value_samples: int = 400_000
    tol: float = 1e-3
    k: int = 10
    n_candidates: int = 64
    radius_steps: int = 10
    beta: float = 3.0
    n_eval: int = 40
    d_min: int = 10
    d_max: int = 30
    max_steps: int = 200

    def __post_init__(self):
        if not self.n_blocks or min(self.n_blocks) < 1 or max(self.n_blocks) >= self.track_length:
            raise ValueError(f"n_blocks must lie in [1, track_length), got {self.n_blocks}")
        if not (0 < self.expectile < 1):
            raise ValueError(f"expectile must lie in (0, 1), got {self.expectile}")
        if not (0 <= self.gamma < 1):
            raise ValueError(f"gamma must lie in [0, 1), got {self.gamma}")
        if min(self.k, self.n_candidates, self.radius_steps, self.n_eval, self.max_steps, self.length) < 1:
            raise ValueError("k, n_candidates, radius_steps, n_eval, max_steps and length must be >= 1")
        if self.d_min > self.d_max:
            raise ValueError(f"d_min must be <= d_max, got {self.d_min} > {self.d_max}")


def run(config: HECRLEntitiesConfig, rng) -> list[dict]:
    from mdp import goal as G

    rng = np.random.default_rng(rng)
    c = config
    rows = []
    radius = float(G.goal_values(float(c.radius_steps), c.gamma))
    for N in c.n_blocks:
        m = G.block_track(int(N), c.track_length, ordered=True)
        d = m.distances()
        S = m.n_states
        data = G.random_walks(m, c.n_trajectories, c.length, rng=rng)
        tr = G.aggregate_transitions(
            G.hindsight_transitions(
                data, rng=rng, n_samples=c.n_value_samples, p_current=0.2, p_future=0.8, p_random=0.0
            )
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            val = G.expectile_td(tr, gamma=c.gamma, expectile=c.expectile, tol=c.tol, clip=True, max_iter=20_000)
        V = val.v
        s, sub, g = G.subgoal_triples(data, c.k, rng=rng)
        joint = G.fit_joint_sampler(s, sub, g, S)
        fact = G.fit_factored_sampler(m, s, sub, g, c.track_length)
        hiql = G.awr(s * S + g, sub, V[sub, g] - V[s, g], n_contexts=S * S, n_actions=S, beta=c.beta)
        low = G.greedy_low_level(m, V)
        conf = m.coords

        def high_flat(x, gg):
            return gg

        def high_hiql(x, gg):
            key = x * S + gg
            return hiql.greedy(key) if hiql.has(key) else gg

        def high_joint(x, gg):
            cand = joint.sample(x, gg, c.n_candidates, rng)
            return G.select_subgoal(V, x, gg, cand, radius=radius, goal_fallback=True)

        def high_fact(x, gg):
            cand = fact.sample(conf[x], conf[gg], c.n_candidates, rng)
            return G.select_subgoal(V, x, gg, cand, radius=radius, goal_fallback=True)

        highs = dict(zip(AGENTS, (high_flat, high_hiql, high_joint, high_fact)))
        pairs = np.argwhere((d >= c.d_min) & (d <= c.d_max))
        pick = pairs[rng.choice(len(pairs), size=min(c.n_eval, len(pairs)), replace=False)]
        for s0, goal in pick:
            for name, high in highs.items():
                k = c.max_steps if name == "flat" else c.k
                r = G.hierarchical_rollout(
                    m, int(s0), int(goal), high=high, low=low, subgoal_steps=k, max_steps=c.max_steps
                )
                rows.append(
                    {
                        "kind": "episode",
                        "N": int(N),
                        "agent": name,
                        "d0": float(d[s0, goal]),
                        "success": bool(r.success),
                        "steps": int(r.steps),
                    }
                )
        seen = np.unique(s * S + g).size
        rows.append(
            {
                "kind": "model",
                "N": int(N),
                "S": int(S),
                "td_sweeps": int(val.n_iter),
                "td_error_bound": float(val.error_bound),
                "joint_contexts_seen": int(seen),
                "joint_context_fraction": float(seen / (S * S)),
                "factored_cells_seen": int((fact.counts.sum(axis=3) > 0).sum()),
                "factored_cells": int(N * c.track_length**2),
            }
        )
    return rows


def plot(table, config: HECRLEntitiesConfig):
    from matplotlib.ticker import NullFormatter

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    c = config
    fig, axes = new_figure(2, 1, width=TEXT_WIDTH * 0.8, height=2.5, squeeze=False)
    ax, ax_m = axes[0]
    colours = dict(
        zip(AGENTS, (OKABE_ITO["vermillion"], OKABE_ITO["orange"], OKABE_ITO["sky_blue"], OKABE_ITO["blue"]))
    )
    markers = dict(zip(AGENTS, ("s", "^", "D", "o")))
    ep = table[table["kind"] == "episode"]
    dodge = 0.06  # agents side by side at each N, as the title says, so that equal points do not hide each other
    for j, name in enumerate(AGENTS):
        sub = ep[ep["agent"] == name]
        f = sub.assign(ok=sub["success"].astype(float)).groupby("N")["ok"].agg(["mean", "count"]).astype(float)
        se = np.sqrt(f["mean"] * (1 - f["mean"]) / f["count"])
        ax.errorbar(
            f.index + (j - (len(AGENTS) - 1) / 2) * dodge,
            f["mean"],
            yerr=se,
            color=colours[name],
            marker=markers[name],
            ms=3.5,
            lw=1.3,
            capsize=2,
            label=name,
        )
    ax.set_xticks(list(c.n_blocks))
    ax.set_xlabel("number of entities $N$")
    ax.set_ylabel(f"success within {c.max_steps} steps")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title(f"(a) goals at distance {c.d_min}-{c.d_max} (agents offset in x)")
    ax.legend(fontsize=5.5, loc="lower left")
    md = table[table["kind"] == "model"].groupby("N").mean(numeric_only=True)
    ax_m.plot(
        md.index,
        md["joint_context_fraction"],
        color=OKABE_ITO["sky_blue"],
        marker="D",
        ms=3.5,
        label="joint: (s, g) contexts seen",
    )
    ax_m.plot(
        md.index,
        md["factored_cells_seen"] / md["factored_cells"],
        color=OKABE_ITO["blue"],
        marker="o",
        ms=3.5,
        label=r"factored: $(s_b, g_b)$ cells seen",
    )
    ax_m.set_yscale("log")
    shown = np.concatenate([md["joint_context_fraction"], md["factored_cells_seen"] / md["factored_cells"]])
    lo, hi = float(np.nanmin(shown)) / 1.15, min(1.0, float(np.nanmax(shown)) * 1.15)
    ticks = [t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.6, 0.8, 1.0) if lo <= t <= hi]
    ax_m.set_yticks(ticks, [f"{t:g}" for t in ticks])  # plain decimals, not 6 x 10^-1
    ax_m.set_ylim(lo, hi)
    ax_m.yaxis.set_minor_formatter(NullFormatter())
    ax_m.set_xticks(list(c.n_blocks))
    ax_m.set_xlabel("number of entities $N$")
    ax_m.set_ylabel("fraction of contexts with data")
    ax_m.set_title("(b) sampler coverage")
    ax_m.legend(fontsize=5.5, loc="lower left")
    n_seeds = table["seed"].nunique() if "seed" in table else 1
    fig.suptitle(
        f"HECRL block track (L = {c.track_length}): {c.n_trajectories} random trajectories x {c.length},\n"
        f"expectile {c.expectile:g}, K = {c.k}, {c.n_candidates} candidates; {n_seeds} seeds x {c.n_eval} goals",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="hecrl_entities",
        config_cls=HECRLEntitiesConfig,
        run=run,
        plot=plot,
        description="Success vs number of entities: flat, HIQL-like, joint- and factored-sampler agents on the block track.",
        subjects=(
            "mdp.goal.fit_factored_sampler",
            "mdp.goal.fit_joint_sampler",
            "mdp.goal.select_subgoal",
            "mdp.goal.awr",
            "mdp.goal.expectile_td",
        ),
    )
)
