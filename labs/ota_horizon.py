"""Lab ``ota_horizon``: why HIQL's high-level advantages lose their sign at long goal distances,
and how OTA's option-aware value keeps it (``docs/papers/ota.md``).

Per seed: a random perfect maze (:func:`mdp.goal.maze`, ``51 x 51``: the notes' ``41 x 41`` mazes have
diameters of 430-520 steps, too short for the 600-step goals), 2000 random walks with momentum of
1000 steps, ``n_goals`` evaluation goals with a state at least ``1.05 * 600`` steps away. The value
columns ``V(., g)`` of those goals are learned by tabular expectile TD (``kappa = 0.7``,
``gamma = 0.99``) on every data window relabelled with each goal (:func:`mdp.goal.goal_window_transitions`):
``n = 1`` (HIQL's value ``V``) and ``n = 25`` (OTA's ``V_h``, convention ``"start"``). Function-
approximation error is mimicked by i.i.d. ``N(0, sigma^2)`` noise on every table entry (one draw per
seed, shared by all measurements of that seed).

Measured: (a) sign accuracy of ``A = V(s_{t+25}, g) - V(s_t, g)`` on data triples, binned by
``d*(s_t, g)``, for the learned tables and the closed-form ones, with OT3's prediction
``Phi(|A| / (sqrt 2 sigma))``; (b) success of a hierarchical controller (high level: the candidate
``s_{t+25}`` of the current state with the highest noisy value towards ``g``; low level: an oracle
shortest path to the subgoal) for goals at distance 100 / 300 / 600 (+-5 %) within ``2 d + 100``
steps; (c) the learned values along the distance to one goal.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["OTAHorizonConfig", "run", "plot", "LAB"]


@dataclass(frozen=True)
class OTAHorizonConfig:
    """Maze, data, learning and evaluation sizes of the ota_horizon lab."""

    maze_size: int = 51
    n_trajectories: int = 2000
    length: int = 1000
    momentum: float = 0.8
    gamma: float = 0.99
    expectile: float = 0.7
    k: int = 25
    n_option: int = 25
    sigma: float = 0.5
    n_goals: int = 8
    n_windows: int = 200_000
    tol: float = 1e-4
    distances: tuple[int, ...] = (100, 300, 600)
    starts_per_goal: int = 3
    n_triples: int = 200_000
    bin_width: int = 50

    def __post_init__(self):
        if self.maze_size < 5 or self.maze_size % 2 == 0:
            raise ValueError(f"maze_size must be odd and >= 5, got {self.maze_size}")
        if not (0 < self.expectile < 1):
            raise ValueError(f"expectile must lie in (0, 1), got {self.expectile}")
        if not (0 <= self.gamma < 1) or self.sigma < 0:
            raise ValueError("gamma must lie in [0, 1) and sigma must be >= 0")
        if self.k < 1 or self.n_option < 1 or self.k >= self.length or self.n_option >= self.length:
            raise ValueError("k and n_option must lie in [1, length)")
        if not self.distances or min(self.distances) < 1:
            raise ValueError(f"distances must be positive goal distances, got {self.distances}")
        if min(self.n_goals, self.n_windows, self.n_triples, self.starts_per_goal, self.bin_width) < 1:
            raise ValueError("n_goals, n_windows, n_triples, starts_per_goal and bin_width must be >= 1")


def _learn(data, goals, c, n, rng):
    from mdp import goal as G

    tr = G.goal_window_transitions(data, goals, rng=rng, n_windows=c.n_windows, n=n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the error bound is recorded instead
        r = G.expectile_td(tr, gamma=c.gamma, expectile=c.expectile, tol=c.tol, max_iter=20_000)
    return r


def run(config: OTAHorizonConfig, rng) -> list[dict]:
    from mdp import goal as G

    rng = np.random.default_rng(rng)
    c = config
    far = 1.05 * max(c.distances)
    for _ in range(50):
        m = G.maze(c.maze_size, rng=rng)
        d = m.distances()
        ecc = d.max(axis=0)
        if (ecc >= far).sum() >= c.n_goals:
            break
    else:
        raise ValueError(f"no {c.maze_size}x{c.maze_size} maze in 50 draws has {c.n_goals} goals {far:.0f} steps away")
    S = m.n_states
    goals = rng.choice(np.flatnonzero(ecc >= far), size=c.n_goals, replace=False)
    data = G.random_walks(m, c.n_trajectories, c.length, rng=rng, momentum=c.momentum)
    learned = {
        "HIQL (n = 1)": _learn(data, goals, c, 1, rng),
        f"OTA (n = {c.n_option})": _learn(data, goals, c, c.n_option, rng),
    }
    exact = {
        "HIQL (n = 1)": G.goal_values(d, c.gamma),
        f"OTA (n = {c.n_option})": G.goal_values(d, c.gamma, n=c.n_option),
    }
    noise = c.sigma * rng.standard_normal((S, S))  # one noise table per seed, shared by all arms
    rows = []
    # (a) sign accuracy on data triples
    i = rng.integers(c.n_trajectories, size=c.n_triples)
    t = rng.integers(c.length - c.k + 1, size=c.n_triples)
    s, sub = data.states[i, t], data.states[i, t + c.k]
    g = goals[rng.integers(c.n_goals, size=c.n_triples)]
    for name in learned:
        for source, table in (("learned", learned[name].v), ("closed form", exact[name])):
            for noisy in (False, True):
                v = table + noise if noisy else table
                res = G.sign_accuracy(v, d, s, sub, g, sigma=0.0, rng=rng)
                pred = G.sign_accuracy(table, d, s, sub, g, sigma=c.sigma, rng=rng).predicted
                dk = d[s, g][res.keep]
                b = (dk // c.bin_width).astype(np.int64)
                for bb in np.unique(b):
                    sel = b == bb
                    rows.append(
                        {
                            "kind": "sign",
                            "method": name,
                            "source": source,
                            "noisy": noisy,
                            "d_mid": float((bb + 0.5) * c.bin_width),
                            "accuracy": float(res.accuracy[sel].mean()),
                            "predicted": float(pred[sel].mean()),
                            "count": int(sel.sum()),
                        }
                    )
    # (b) hierarchical controller, oracle low level
    cand = G.subgoal_candidates(data, c.k)
    low = G.oracle_low_level(m)
    for gi, goal in enumerate(goals):
        for target in c.distances:
            pool = np.flatnonzero(np.abs(d[:, goal] - target) <= 0.05 * target)
            if pool.size == 0:
                continue
            starts = rng.choice(pool, size=min(c.starts_per_goal, pool.size), replace=False)
            for s0 in starts:
                for name in learned:
                    for source, table in (("learned", learned[name].v), ("closed form", exact[name])):
                        v = table + noise

                        def high(x, gg, v=v):
                            return G.select_subgoal(v, x, gg, cand.of(x))

                        r = G.hierarchical_rollout(
                            m, int(s0), int(goal), high=high, low=low, subgoal_steps=c.k, max_steps=2 * target + 100
                        )
                        rows.append(
                            {
                                "kind": "success",
                                "method": name,
                                "source": source,
                                "target": int(target),
                                "d0": float(d[s0, goal]),
                                "success": bool(r.success),
                                "steps": int(r.steps),
                            }
                        )
    # (c) learned value profile towards the first goal
    goal = goals[0]
    for name, r in learned.items():
        for x in range(S):
            rows.append({"kind": "profile", "method": name, "d": float(d[x, goal]), "v": float(r.v[x, goal])})
        rows.append(
            {
                "kind": "fit",
                "method": name,
                "n_iter": int(r.n_iter),
                "error_bound": float(r.error_bound),
                "n_states": int(S),
                "diameter": float(d.max()),
            }
        )
    return rows


def plot(table, config: OTAHorizonConfig):
    from matplotlib.lines import Line2D

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    c = config
    fig, axes = new_figure(3, 1, width=TEXT_WIDTH, height=2.6, squeeze=False)
    ax_sign, ax_succ, ax_prof = axes[0]
    hiql, ota = "HIQL (n = 1)", f"OTA (n = {c.n_option})"
    colours = {hiql: OKABE_ITO["vermillion"], ota: OKABE_ITO["blue"]}
    sg = table[table["kind"] == "sign"]
    for name in (hiql, ota):
        for source, noisy, ls, lw, lab in (
            ("learned", True, "-", 1.4, "learned + noise"),
            ("learned", False, ":", 1.0, "learned"),
            ("closed form", True, "--", 1.0, "closed form + noise"),
        ):
            sub = sg[(sg["method"] == name) & (sg["source"] == source) & (sg["noisy"] == noisy)]
            agg = sub.groupby("d_mid").apply(
                lambda x: np.average(x["accuracy"], weights=x["count"]), include_groups=False
            )
            ax_sign.plot(agg.index, agg.values, color=colours[name], ls=ls, lw=lw)
        sub = sg[(sg["method"] == name) & (sg["source"] == "closed form") & sg["noisy"]]
        agg = sub.groupby("d_mid").apply(lambda x: np.average(x["predicted"], weights=x["count"]), include_groups=False)
        ax_sign.plot(agg.index, agg.values, color="0.2", ls="none", marker=".", ms=2.5, zorder=4)
    ax_sign.axhline(0.5, color="0.6", lw=0.6)
    ax_sign.set_ylim(0.4, 1.02)
    ax_sign.set_xlabel(r"goal distance $d^*(s_t, g)$ (steps)")
    ax_sign.set_ylabel("sign accuracy of $A$")
    ax_sign.set_title(rf"(a) advantage sign, $\sigma = {c.sigma:g}$")
    # one legend for the whole figure: colour = value function (all panels), line style = source of
    # the values in panel (a), dots = the OT3 prediction in panel (a)
    handles = [Line2D([], [], color=colours[name], lw=1.4, label=name) for name in (hiql, ota)]
    handles += [
        Line2D([], [], color="0.3", ls=ls, lw=lw, label=f"(a) {lab}")
        for ls, lw, lab in (("-", 1.4, "learned + noise"), (":", 1.0, "learned"), ("--", 1.0, "closed form + noise"))
    ]
    handles.append(
        Line2D([], [], color="0.2", ls="none", marker=".", ms=4, label=r"(a) OT3: $\Phi(|A|/\sqrt{2}\sigma)$")
    )
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=6)
    sc = table[table["kind"] == "success"]
    width = 0.2
    xs = np.arange(len(c.distances))
    for j, (name, source, hatch) in enumerate(
        ((hiql, "learned", None), (ota, "learned", None), (hiql, "closed form", "///"), (ota, "closed form", "///"))
    ):
        sub = sc[(sc["method"] == name) & (sc["source"] == source)]
        f = sub.assign(ok=sub["success"].astype(float)).groupby("target")["ok"].agg(["mean", "count"])
        f = f.reindex(list(c.distances)).astype(float)
        se = np.sqrt(f["mean"] * (1 - f["mean"]) / f["count"].clip(lower=1))
        ax_succ.bar(
            xs + (j - 1.5) * width,
            f["mean"],
            width,
            yerr=se,
            color=colours[name],
            alpha=1.0 if source == "learned" else 0.45,
            hatch=hatch,
            edgecolor="white" if hatch else None,
            lw=0,
            capsize=1.5,
            error_kw={"lw": 0.6},
            label=f"{name.split(' ')[0]}, {source}",
        )
    ax_succ.set_xticks(xs)
    ax_succ.set_xticklabels([str(x) for x in c.distances])
    ax_succ.set_xlabel("goal distance (steps, ±5 %)")
    ax_succ.set_ylabel("success rate")
    ax_succ.set_ylim(0, 1.05)
    ax_succ.set_title("(b) success, oracle low level")
    ax_succ.legend(fontsize=5, loc="upper right")
    for j in range(4):  # mark zero-height bars so that an empty slot reads as 0, not as missing
        ax_succ.plot(xs + (j - 1.5) * width, np.zeros(len(xs)), ls="none", marker="_", ms=4, color="0.3", zorder=5)
    pr = table[table["kind"] == "profile"]
    seed0 = pr["seed"].min() if "seed" in pr else None
    if seed0 is not None:
        pr = pr[pr["seed"] == seed0]
    for name in (hiql, ota):
        sub = pr[pr["method"] == name].sort_values("d")
        ax_prof.plot(sub["d"], sub["v"], color=colours[name], ls="none", marker=".", ms=1.5, label=name)
    ax_prof.axhline(-1 / (1 - c.gamma), color="0.6", lw=0.6)
    ax_prof.set_xlabel(r"goal distance $d^*(s, g)$ (steps)")
    ax_prof.set_ylabel(r"learned $V(s, g)$")
    ax_prof.set_title("(c) learned $V$, one goal")
    fit = table[table["kind"] == "fit"]
    n_seeds = table["seed"].nunique() if "seed" in table else 1
    fig.suptitle(
        f"OTA vs HIQL values on {c.maze_size}x{c.maze_size} mazes ({int(fit['n_states'].iloc[0])} cells), "
        f"{c.n_trajectories} random walks x {c.length}, expectile {c.expectile:g}, gamma {c.gamma:g}, "
        f"k = {c.k}; {n_seeds} seeds x {c.n_goals} goals",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="ota_horizon",
        config_cls=OTAHorizonConfig,
        run=run,
        plot=plot,
        description="Sign accuracy of high-level advantages and hierarchical success vs goal distance: HIQL vs OTA values.",
        subjects=(
            "mdp.goal.expectile_td",
            "mdp.goal.goal_window_transitions",
            "mdp.goal.sign_accuracy",
            "mdp.goal.hierarchical_rollout",
        ),
    )
)
