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

Figure: one row per model, one column per ``gamma``; per-seed curves light, median bold; the five curves of
each panel in the Okabe-Ito palette. Curves whose medians stay within 25 % of each other (on the random
MDPs the error of ``V_t``, F2 and F3) hide each other: a note in the panel names them. Where the error
of ``V_t`` takes more than 3 times as many sweeps as the MacQueen certificate to reach round-off, the
panel ends at 1.5 times the certificate's sweeps and the note gives the sweep where ``V_t`` gets there.
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
                rows.append(
                    {
                        "model": name,
                        "gamma": gamma,
                        "t": t,
                        "error": float(np.max(np.abs(v - v_star))),
                        "bound_apriori": gamma**t * e0,
                        "bound_aposteriori": c * float(np.max(np.abs(d))),
                        "error_midpoint": float(np.max(np.abs(mid - v_star))),
                        "bound_midpoint": c * float(d.max() - d.min()) / 2,
                    }
                )
    return rows


_CURVES = (
    # column, label, colour key, line style
    ("error", r"error of $V_t$", "blue", "-"),
    ("bound_apriori", r"a priori $\gamma^t\|V_0 - V^\star\|_\infty$ (F2)", "orange", "--"),
    ("bound_aposteriori", r"stopping rule $\frac{\gamma}{1-\gamma}\|V_t - V_{t-1}\|_\infty$ (F3)", "bluish_green", ":"),
    ("error_midpoint", "error of the MacQueen midpoint", "vermillion", "-"),
    (
        "bound_midpoint",
        r"its certificate $\frac{\gamma}{1-\gamma}\,\mathrm{span}(V_t - V_{t-1})/2$",
        "reddish_purple",
        "-.",
    ),
)


def _last_live(sub, col: str) -> int:
    """Last sweep at which the median of ``col`` over seeds is above round-off (``1e3 * _FLOOR``)."""
    med = sub.groupby("t")[col].median()
    live = med[med > 1e3 * _FLOOR]
    return int(live.index.max()) if not live.empty else 1


def _xmax(sub, gamma: float, config: QuickstartConfig) -> tuple[int, int | None]:
    """``(last sweep shown, cut)``: the panel ends 10 % after the error of ``V_t`` and the MacQueen
    certificate reach round-off; when ``V_t`` takes more than 3 times as long as the certificate (fast
    mixing: the span collapses long before the sup norm), the panel ends at 1.5 times the
    certificate's sweeps and ``cut`` is the sweep where the error of ``V_t`` reaches round-off (written
    on the panel instead of drawn)."""
    t_err = max(_last_live(sub, "error"), _last_live(sub, "bound_aposteriori"))
    t_mid = _last_live(sub, "bound_midpoint")
    if t_err > 3 * t_mid:
        return int(min(horizon(config, gamma), max(20, math.ceil(1.5 * t_mid)))), t_err
    return int(min(horizon(config, gamma), max(20, math.ceil(1.1 * max(t_err, t_mid))))), None


def _coinciding(sub, xmax: int, factor: float = 1.25) -> list[list[str]]:
    """Groups of curves (columns of ``_CURVES``) whose medians stay within ``factor`` of each other
    over sweeps ``1..xmax`` wherever both are above round-off: they hide each other on the figure."""
    med = sub[sub["t"] <= xmax].groupby("t")[[c[0] for c in _CURVES]].median()
    cols = list(med.columns)
    groups: list[list[str]] = []
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            both = (med[a] > 1e3 * _FLOOR) & (med[b] > 1e3 * _FLOOR)
            if both.sum() < 5:
                continue
            ratio = np.abs(np.log(med.loc[both, a] / med.loc[both, b]))
            if float(ratio.max()) <= math.log(factor):
                g = next((g for g in groups if a in g or b in g), None)
                if g is None:
                    groups.append([a, b])
                else:
                    g.extend(x for x in (a, b) if x not in g)
    return groups


_SHORT = {
    "error": r"$V_t$ error",
    "bound_apriori": "F2",
    "bound_aposteriori": "F3",
    "error_midpoint": "midpoint error",
    "bound_midpoint": "its certificate",
}


def plot(table, config: QuickstartConfig):
    from matplotlib.lines import Line2D

    from labs.plotting import OKABE_ITO, TEXT_WIDTH, new_figure

    models, gammas = list(config.models), list(config.gammas)
    fig, axes = new_figure(
        len(gammas),
        len(models),
        width=TEXT_WIDTH if len(gammas) > 1 else 3.4,
        height=1.9 * len(models) + 0.9,
        squeeze=False,
    )
    titles = {
        "random": f"random MDP, S = {config.n_states}, A = {config.n_actions}, $\\alpha$ = {config.alpha:g}",
        "gridworld": f"gridworld {config.grid_side}$\\times${config.grid_side} (10% walls), slip {config.slip:g}",
    }
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
            xmax, cut = _xmax(sub, gamma, config)
            ax.set_xlim(0, xmax)
            notes = [r" $\approx$ ".join(_SHORT[c] for c in g) + " (overlap)" for g in _coinciding(sub, xmax)]
            if cut is not None:
                notes.append(rf"$V_t$ error at round-off only at $t$ = {cut}")
            if notes:  # a legend without a handle: placed where it hides the fewest curve points
                ax.legend(
                    [Line2D([], [], ls="none")],
                    ["\n".join(notes)],
                    loc="best",
                    handlelength=0,
                    handletextpad=0,
                    fontsize=6,
                    frameon=True,
                    framealpha=0.9,
                    edgecolor="0.8",
                )
            ax.set_title(f"{titles[mdl]}, $\\gamma = {gamma:g}$")
            if i == len(models) - 1:
                ax.set_xlabel(r"sweep $t$")
        axes[i, 0].set_ylabel(r"sup-norm distance to $V^\star$")
    handles = [Line2D([], [], color=OKABE_ITO[colour], lw=1.3, ls=ls, label=label) for _, label, colour, ls in _CURVES]
    fig.legend(handles=handles, loc="outside lower center", ncols=3)
    fig.suptitle(
        f"Value iteration from $V_0 = 0$: error and certified bounds "
        "\n"
        f"median of {table['seed'].nunique()} seeds bold, each seed light; values below "
        f"{_FLOOR:g} shown at {_FLOOR:g}",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="quickstart",
        subjects=("mdp.value_iteration", "mdp.certify", "mdp.bellman_operator"),
        config_cls=QuickstartConfig,
        run=run,
        plot=plot,
        description="Value-iteration error vs sweeps with the F2, F3 and MacQueen bounds (random and gridworld MDPs).",
        version=2,
    )
)
