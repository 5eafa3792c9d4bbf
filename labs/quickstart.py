"""Lab ``quickstart``: value iteration's error against its bounds, and what a certificate buys.

Run ``V_{t+1} = T V_t`` from ``V_0 = 0`` on two model families and record, for every iteration,

* the error ``||V_t - V*||_inf`` (``V*`` from :func:`mdp.policy_iteration`, exact to round-off);
* the a-priori bound ``gamma^t ||V_0 - V*||_inf`` (foundations F2: ``T`` is a ``gamma``-contraction);
* the a-posteriori stopping-rule bound ``gamma / (1 - gamma) ||V_t - V_{t-1}||_inf`` (F3), the
  bound :func:`mdp.value_iteration` stops on;
* the error of the MacQueen midpoint ``V_t + gamma/(1-gamma) (max D + min D) / 2``,
  ``D = V_t - V_{t-1}``, and its certified bound ``gamma/(1-gamma) span(D) / 2`` (Puterman 1994,
  Thm 6.6.3; what :func:`mdp.certify` and :func:`mdp.solve` use).

Models: ``random`` (dense, ``P[s, a, :] ~ Dirichlet(alpha 1)``, ``R ~ U[0, 1]``; fast mixing, so the
span of ``D`` collapses long before its sup norm) and ``gridworld`` (sparse, slippery, one
absorbing goal; slow mixing, where the span bound gains less). Each run lasts until the F2 bound
falls below ``1e-12`` (at most ``n_iter`` sweeps).

Figure: one row per model, one column per ``gamma``; per-seed curves light, median bold; the four curves of
each panel in the Okabe-Ito palette.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab

__all__ = ["QuickstartConfig", "run", "plot", "LAB"]

_MODELS = ("random", "gridworld")
_FLOOR = 1e-13


@dataclass(frozen=True)
class QuickstartConfig:
    """Model families, sizes and discounts of the quickstart lab."""

    models: tuple[str, ...] = ("random", "gridworld")
    gammas: tuple[float, ...] = (0.9, 0.99)
    n_states: int = 100
    n_actions: int = 4
    alpha: float = 0.1
    grid_side: int = 10
    slip: float = 0.2
    n_iter: int = 3000

    def __post_init__(self):
        if self.n_states < 1 or self.n_actions < 1 or self.n_iter < 1 or self.grid_side < 2:
            raise ValueError("n_states, n_actions and n_iter must be positive and grid_side >= 2")
        if not self.models or any(mdl not in _MODELS for mdl in self.models):
            raise ValueError(f"models must be drawn from {_MODELS}, got {self.models}")
        if not self.gammas or any(not 0 < g < 1 for g in self.gammas):
            raise ValueError(f"gammas must lie in (0, 1), got {self.gammas}")
        if self.alpha <= 0:
            raise ValueError(f"alpha must be positive, got {self.alpha}")
        if not 0 <= self.slip <= 1:
            raise ValueError(f"slip must lie in [0, 1], got {self.slip}")


def horizon(config: QuickstartConfig, gamma: float) -> int:
    """Iterations recorded for ``gamma``: until ``gamma^t`` reaches ``1e-12`` (at most ``n_iter``)."""
    return int(min(config.n_iter, math.ceil(math.log(1e-12) / math.log(gamma))))


def _model(name: str, config: QuickstartConfig, gamma: float, rng: np.random.Generator):
    import mdp

    if name == "random":
        return mdp.generators.random_mdp(config.n_states, config.n_actions, rng=rng, alpha=config.alpha, gamma=gamma)
    # random walls (10 % of the cells, never the goal) make every seed a different maze
    n = config.grid_side
    walls = rng.random((n, n)) < 0.1
    walls[n - 1, n - 1] = False
    return mdp.generators.gridworld(n, n, slip=config.slip, walls=walls, gamma=gamma)


def run(config: QuickstartConfig, rng: np.random.Generator) -> list[dict]:
    import mdp

    rng = np.random.default_rng(rng)
    rows = []
    for name in config.models:
        for gamma in config.gammas:
            m = _model(name, config, gamma, rng)
            v_star = np.asarray(mdp.policy_iteration(m).v)
            v = np.zeros(m.n_states)
            e0 = float(np.max(np.abs(v - v_star)))
            c = gamma / (1 - gamma)
            for t in range(1, horizon(config, gamma) + 1):
                v_new, _ = mdp.bellman_operator(m, v)
                d = np.asarray(v_new) - v
                v = np.asarray(v_new)
                mid = v + c * (d.max() + d.min()) / 2
                rows.append({
                    "model": name, "gamma": gamma, "t": t,
                    "error": float(np.max(np.abs(v - v_star))),
                    "bound_apriori": gamma**t * e0,
                    "bound_aposteriori": c * float(np.max(np.abs(d))),
                    "error_midpoint": float(np.max(np.abs(mid - v_star))),
                    "bound_midpoint": c * float(d.max() - d.min()) / 2,
                })
    return rows


_CURVES = (
    # column, label, colour key, line style
    ("error", r"error of $V_t$", "blue", "-"),
    ("bound_apriori", r"a priori $\gamma^t\|V_0 - V^\star\|_\infty$ (F2)", "orange", "--"),
    ("bound_aposteriori", r"stopping rule $\frac{\gamma}{1-\gamma}\|V_t - V_{t-1}\|_\infty$ (F3)", "bluish_green", ":"),
    ("error_midpoint", "error of the MacQueen midpoint", "vermillion", "-"),
    ("bound_midpoint", r"its certificate $\frac{\gamma}{1-\gamma}\,\mathrm{span}(V_t - V_{t-1})/2$", "reddish_purple", "-."),
)


def _xmax(sub, gamma: float, config: QuickstartConfig) -> int:
    """Last sweep worth showing: where the slowest non-a-priori curve reaches round-off (+10 %)."""
    live = sub[(sub[["error", "bound_aposteriori"]].max(axis=1) > 1e3 * _FLOOR)]
    last = int(live["t"].max()) if not live.empty else 1
    return int(min(horizon(config, gamma), max(20, math.ceil(1.1 * last))))


def plot(table, config: QuickstartConfig):
    from matplotlib.lines import Line2D

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    models, gammas = list(config.models), list(config.gammas)
    fig, axes = new_figure(len(gammas), len(models), width=TEXT_WIDTH if len(gammas) > 1 else 3.4,
                           height=1.9 * len(models) + 0.9, squeeze=False)
    titles = {"random": f"random MDP, S = {config.n_states}, A = {config.n_actions}, $\\alpha$ = {config.alpha:g}",
              "gridworld": f"gridworld {config.grid_side}$\\times${config.grid_side} (10% walls), slip {config.slip:g}"}
    for i, mdl in enumerate(models):
        for j, gamma in enumerate(gammas):
            ax = axes[i, j]
            sub = table[(table["model"] == mdl) & (table["gamma"] == gamma)]
            for col, _, colour, ls in _CURVES:
                wide = sub.pivot(index="t", columns="seed", values=col).clip(lower=_FLOOR)
                if wide.shape[1] > 1:
                    for seed in wide.columns:
                        ax.plot(wide.index, wide[seed], color=OKABE_ITO[colour], lw=0.4, alpha=0.3, ls=ls)
                ax.plot(wide.index, wide.median(axis=1), color=OKABE_ITO[colour], lw=1.3, ls=ls)
            ax.set_yscale("log")
            ax.set_ylim(_FLOOR, None)
            ax.set_xlim(0, _xmax(sub, gamma, config))
            ax.set_title(f"{titles[mdl]}, $\\gamma = {gamma:g}$")
            if i == len(models) - 1:
                ax.set_xlabel(r"sweep $t$")
        axes[i, 0].set_ylabel(r"sup-norm distance to $V^\star$")
    handles = [Line2D([], [], color=OKABE_ITO[colour], lw=1.3, ls=ls, label=label) for _, label, colour, ls in _CURVES]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    fig.suptitle(f"Value iteration from $V_0 = 0$: error and certified bounds "
                 f"(median of {table['seed'].nunique()} seeds bold, each seed light)", fontsize=8)
    return fig


LAB = register_lab(Lab(
    name="quickstart",
    subjects=("mdp.value_iteration", "mdp.certify", "mdp.bellman_operator"),
    config_cls=QuickstartConfig,
    run=run,
    plot=plot,
    description="Value-iteration error vs sweeps with the F2, F3 and MacQueen bounds (random and gridworld MDPs).",
))
