"""Lab ``vsc_doorways``: success vs environment steps on the 15 x 15 three-doorway grid for
VSC-RL and its ablations (``docs/papers/vsc_rl.md``; the whole loop is a **reconstruction**).

Environment :func:`mdp.goal.doorway_grid` (shortest route 60 steps), horizon ``horizon``, success =
standing on the goal. The "VLM decomposer" is an oracle listing the three doorways, then the goal
(segment ``k = 0..3``); the reference policy is a noisy shortest-path expert towards the *final* goal
(``(1 - eps)`` on a shortest-path action, ``eps`` spread uniformly). Each iteration collects
``episodes`` episodes with the current policy, then refits it on all data so far by tabular AWR
(:func:`mdp.goal.awr`, closed form) with Monte-Carlo advantages ``G_t - mean G`` per context:

* ``VSC-RL``: context ``(s, k)``, reward 1 on reaching subgoal ``k`` (``G_t = gamma^(steps to it)``),
  plus ``lam`` times the cross-entropy to the reference (VSC-RL's imitation surrogate of the KL);
* ``VSC-RL without KL``: the same with ``lam = 0``;
* ``VSC-RL without subgoals``: context ``s``, sparse reward on the final goal, with the KL term;
* ``goal-conditioned AWR``: context ``s``, sparse reward, no KL.

Policies without data in a context act uniformly, or like the reference when ``lam > 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["VSCDoorwaysConfig", "run", "plot", "LAB", "ARMS"]

ARMS = ("VSC-RL", "VSC-RL without KL", "VSC-RL without subgoals", "goal-conditioned AWR")


@dataclass(frozen=True)
class VSCDoorwaysConfig:
    """Budget and hyperparameters of the vsc_doorways lab."""

    horizon: int = 80
    eps: float = 0.3
    lam: float = 0.1
    beta: float = 10.0
    gamma: float = 0.98
    episodes: int = 20
    iterations: int = 25

    def __post_init__(self):
        if not (0 <= self.eps <= 1):
            raise ValueError(f"eps must lie in [0, 1], got {self.eps}")
        if self.lam < 0 or self.beta < 0 or not (0 < self.gamma <= 1):
            raise ValueError("lam and beta must be >= 0 and gamma in (0, 1]")
        if min(self.horizon, self.episodes, self.iterations) < 1:
            raise ValueError("horizon, episodes and iterations must be >= 1")


def _setup(c):
    from mdp import goal as G

    m = G.doorway_grid()
    idx = {tuple(int(v) for v in xy): i for i, xy in enumerate(m.coords)}
    subgoals = [idx[(13, 4)], idx[(1, 7)], idx[(13, 10)], idx[G.DOORWAY_GOAL]]
    d = m.distances()
    S, A = m.n_states, m.n_actions
    ref = np.full((S, A), c.eps / A)
    best = np.argmin(d[m.next_state, subgoals[-1]], axis=1)
    ref[np.arange(S), best] += 1.0 - c.eps
    return m, idx[G.DOORWAY_START], subgoals, ref


def _episode(m, start, subgoals, table, use_sub, horizon, rng):
    """Roll out the tabular policy ``table[context]``; returns states, actions, segments, success."""
    s, k = start, 0
    S, A = m.n_states, m.n_actions
    states, actions, segs = [], [], []
    for _ in range(horizon):
        ctx = k * S + s if use_sub else s
        a = int(min(np.searchsorted(np.cumsum(table[ctx]), rng.random() * table[ctx].sum(), side="right"), A - 1))
        states.append(s)
        actions.append(a)
        segs.append(k)
        s = int(m.next_state[s, a])
        while k < len(subgoals) - 1 and s == subgoals[k]:
            k += 1
        if s == subgoals[-1]:
            return states, actions, segs, True, s
    return states, actions, segs, False, s


def _returns(states, segs, final, success, subgoals, use_sub, gamma):
    """Monte-Carlo returns: time to the next subgoal (subgoal arms) or to the goal (sparse arms)."""
    T = len(states)
    G = np.zeros(T)
    path = states[1:] + [final]  # state after each action
    if use_sub:
        for t in range(T):
            k = segs[t]
            for u in range(t, T):
                if path[u] == subgoals[k]:
                    G[t] = gamma ** (u - t)
                    break
    elif success:
        G = gamma ** (T - 1 - np.arange(T))
    return G


def run(config: VSCDoorwaysConfig, rng) -> list[dict]:
    from mdp import goal as G

    rng = np.random.default_rng(rng)
    c = config
    m, start, subgoals, ref = _setup(c)
    S, A = m.n_states, m.n_actions
    K = len(subgoals)
    rows = []
    for arm in ARMS:
        use_sub = arm in ("VSC-RL", "VSC-RL without KL")
        lam = c.lam if arm in ("VSC-RL", "VSC-RL without subgoals") else 0.0
        n_ctx = K * S if use_sub else S
        reference = np.tile(ref, (K, 1)) if use_sub else ref
        table = reference.copy() if lam > 0 else np.full((n_ctx, A), 1.0 / A)
        data = {"ctx": [], "a": [], "G": []}
        steps = 0
        for it in range(c.iterations):
            succ = 0
            for _ in range(c.episodes):
                st, ac, sg, ok, final = _episode(m, start, subgoals, table, use_sub, c.horizon, rng)
                succ += ok
                steps += len(st)
                ret = _returns(st, sg, final, ok, subgoals, use_sub, c.gamma)
                ctx = np.array(sg) * S + np.array(st) if use_sub else np.array(st)
                data["ctx"].append(ctx)
                data["a"].append(np.array(ac))
                data["G"].append(ret)
            rows.append({"arm": arm, "iteration": it, "env_steps": steps, "success": succ / c.episodes})
            x, a, g = (np.concatenate(data[k]) for k in ("ctx", "a", "G"))
            base = np.bincount(x, weights=g, minlength=n_ctx) / np.maximum(np.bincount(x, minlength=n_ctx), 1)
            pol = G.awr(x, a, g - base[x], n_contexts=n_ctx, n_actions=A, beta=c.beta, reference=reference, lam=lam)
            table = pol.dense()
    return rows


def plot(table, config: VSCDoorwaysConfig):
    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    c = config
    fig, axes = new_figure(1, 1, width=TEXT_WIDTH * 0.55, height=2.6, squeeze=False)
    ax = axes[0][0]
    colours = dict(zip(ARMS, (OKABE_ITO["blue"], OKABE_ITO["sky_blue"], OKABE_ITO["orange"], OKABE_ITO["vermillion"])))
    for arm in ARMS:
        sub = table[table["arm"] == arm]
        agg = sub.groupby("iteration").agg(
            steps=("env_steps", "mean"), mean=("success", "mean"), sd=("success", "std"), n=("success", "size")
        )
        se = (agg["sd"].fillna(0) / np.sqrt(agg["n"])).values
        style = {"VSC-RL without KL": dict(ls="--", lw=1.6, zorder=4), "goal-conditioned AWR": dict(ls="-", lw=3.0)}
        ax.plot(agg["steps"], agg["mean"], color=colours[arm], label=arm, **style.get(arm, dict(lw=1.4)))
        ax.fill_between(agg["steps"], agg["mean"] - se, agg["mean"] + se, color=colours[arm], alpha=0.2, lw=0)
    zero = [a for a in ARMS if table[table["arm"] == a]["success"].max() == 0]
    if zero:
        ax.text(0.98, 0.05, "no success at all: " + ", ".join(zero), transform=ax.transAxes, ha="right", fontsize=5.5)
    ax.set_xlabel("environment steps")
    ax.set_ylabel(f"success rate (episodes of {c.horizon} steps)")
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=5.5, loc="center right")
    n_seeds = table["seed"].nunique() if "seed" in table else 1
    ax.set_title(
        f"Three-doorway grid: AWR ($\\beta$ = {c.beta:g}), KL weight {c.lam:g}, expert $\\epsilon$ = {c.eps:g}\n"
        f"mean of {n_seeds} seeds, band $\\pm$ 1 s.e.",
        fontsize=7,
    )
    return fig


LAB = register_lab(
    Lab(
        name="vsc_doorways",
        config_cls=VSCDoorwaysConfig,
        run=run,
        plot=plot,
        description="Success vs environment steps on the three-doorway grid: VSC-RL, without KL, without subgoals, GC-AWR.",
        subjects=("mdp.goal.awr", "mdp.goal.doorway_grid"),
    )
)
