"""Lab ``bisim_compression``: how much exact bisimulation compresses, and what solving the quotient
saves, against model size.

Families (all ``gamma``, accuracy ``tol`` shared):

* ``stripe``: sparse ``side x side`` gridworlds whose bottom row is an absorbing goal
  (:func:`mdp.abstraction.partition.stripe_gridworld`): one block per row, ``Q = side``;
* ``planted``: dense random MDPs with every state copied ``copies`` times
  (:func:`~mdp.abstraction.partition.planted_copies`): ``Q = S / copies``;
* ``corner``: the standard sparse gridworld with one corner goal (:func:`mdp.generators.gridworld`):
  structured but without bisimilar cells (actions are labels; a mirror image would need E/S swapped);
* ``random``: dense random MDPs (``Dirichlet(1)`` rows, ``U[0, 1]`` rewards): no compression.

For each model: the time of :func:`mdp.abstraction.bisimulation` (refinement and quotient
construction), of :func:`mdp.solve` on the quotient and of lifting the values and the policy back
(``t_pipeline`` is their sum), against :func:`mdp.solve` on the full model (``t_full``), each the
minimum over ``repeats`` runs after a warm-up (JIT compiled) on 1 numba thread; ``speedup =
t_full / t_pipeline``; ``value_error = ||lift(v_Q) - v_full||_inf`` (both certified to ``tol``).

The lab is ``timed``: :func:`labs.run_lab` runs its seeds one at a time, so that they do not contend
for the cores (``provenance.json`` records the worker count and thread pins).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab
from labs.executors import limit_threads

__all__ = ["BisimCompressionConfig", "FAMILIES", "run", "plot", "LAB"]

#: family -> legend label, in plotting order
FAMILIES = {
    "stripe": "stripe gridworld (goal row)",
    "planted": "planted copies of a random MDP",
    "corner": "corner-goal gridworld",
    "random": "random dense MDP",
}


@dataclass(frozen=True)
class BisimCompressionConfig:
    """Sizes and protocol of the compression lab."""

    grid_sides: tuple[int, ...] = (8, 16, 32, 64, 128, 256)
    dense_sizes: tuple[int, ...] = (48, 96, 192, 384)
    copies: int = 4
    n_actions: int = 4
    gamma: float = 0.99
    slip: float = 0.1
    tol: float = 1e-8
    families: tuple[str, ...] = tuple(FAMILIES)
    repeats: int = 3
    threads: int = 1

    def __post_init__(self):
        unknown = sorted(set(self.families) - set(FAMILIES))
        if unknown:
            raise ValueError(
                f"unknown famil{'y' if len(unknown) == 1 else 'ies'} {unknown}; choose from {list(FAMILIES)}"
            )
        if self.repeats < 1 or self.threads < 1 or self.copies < 1:
            raise ValueError("repeats, threads and copies must be positive")
        if not 0 < self.gamma < 1:
            raise ValueError(f"gamma must lie in (0, 1), got {self.gamma}")


def _model(family: str, size: int, config: BisimCompressionConfig, rng):
    import mdp
    from mdp.abstraction.partition import planted_copies, stripe_gridworld

    if family == "stripe":
        return stripe_gridworld(size, size, slip=config.slip, gamma=config.gamma)
    if family == "corner":
        return mdp.generators.gridworld(size, size, slip=config.slip, gamma=config.gamma)
    if family == "random":
        return mdp.generators.random_mdp(size, config.n_actions, rng=rng, gamma=config.gamma)
    base = mdp.generators.random_mdp(max(1, size // config.copies), config.n_actions, rng=rng, gamma=config.gamma)
    return planted_copies(base, config.copies, rng=rng)[0]


def _best(fn, repeats):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def run(config: BisimCompressionConfig, rng: np.random.Generator) -> list[dict]:
    import warnings

    import mdp
    from mdp.abstraction.partition import bisimulation

    rng = np.random.default_rng(rng)
    rows = []
    with limit_threads(config.threads) as threads, warnings.catch_warnings():
        warnings.simplefilter("ignore", mdp.ConvergenceWarning)
        for family in config.families:
            sizes = config.grid_sides if family in ("stripe", "corner") else config.dense_sizes
            if not sizes:
                continue
            warm = _model(family, min(sizes), config, np.random.default_rng(0))
            wb = bisimulation(warm)
            mdp.solve(warm, tol=config.tol)
            mdp.solve(wb.quotient, tol=config.tol)
            for size in sorted(sizes):
                m = _model(family, size, config, rng)
                t_bisim, res = _best(lambda: bisimulation(m), config.repeats)
                t_q, sol_q = _best(lambda: mdp.solve(res.quotient, tol=config.tol), config.repeats)
                t_lift, (v_lift, _) = _best(
                    lambda: (res.lift_values(sol_q.v), res.lift_policy(sol_q.pi)), config.repeats
                )
                t_full, sol = _best(lambda: mdp.solve(m, tol=config.tol), config.repeats)
                t_pipe = t_bisim + t_q + t_lift
                rows.append(
                    {
                        "family": family,
                        "size": int(size),
                        "S": m.n_states,
                        "A": m.n_actions,
                        "nnz": int(m.nnz),
                        "n_blocks": res.n_blocks,
                        "compression": m.n_states / res.n_blocks,
                        "t_bisim": t_bisim,
                        "t_quotient_solve": t_q,
                        "t_lift": t_lift,
                        "t_pipeline": t_pipe,
                        "t_full": t_full,
                        "speedup": t_full / t_pipe,
                        "value_error": float(np.abs(v_lift - sol.v).max()),
                        "n_splitters": res.n_splitters,
                        "scans_per_nnz": res.n_scanned / m.nnz,
                        "gamma": config.gamma,
                        "threads": int(threads),
                    }
                )
    return rows


def plot(table, config: BisimCompressionConfig):
    from labs.plotting import PALETTE, TEXT_WIDTH, new_figure

    markers = {"stripe": "o", "planted": "s", "corner": "^", "random": "D"}
    fig, axes = new_figure(3, width=TEXT_WIDTH, height=2.5)
    for k, family in enumerate(FAMILIES):
        sub = table[table["family"] == family]
        if sub.empty:
            continue
        g = sub.groupby("S")
        colour = PALETTE[k % len(PALETTE)]
        kw = dict(marker=markers[family], color=colour, label=FAMILIES[family])
        q = g["n_blocks"].median()
        axes[0].plot(q.index, q.values, **kw)
        sp_med, sp_lo, sp_hi = g["speedup"].median(), g["speedup"].min(), g["speedup"].max()
        axes[1].plot(sp_med.index, sp_med.values, **kw)
        if sub["seed"].nunique() > 1:
            axes[1].fill_between(sp_med.index, sp_lo.values, sp_hi.values, color=colour, alpha=0.15, lw=0)
        tb = sub.groupby("nnz")["t_bisim"].median()
        axes[2].plot(tb.index, tb.values, **kw)
    s_all = np.array(sorted(table["S"].unique()), dtype=float)
    if s_all.size:
        axes[0].plot(s_all, s_all, color="0.6", lw=0.8, ls="--", label=r"$Q = S$ (no compression)")
        # a linear-time reference through the median time at the largest model
        m_all = np.array(sorted(table["nnz"].unique()), dtype=float)
        big = table[table["nnz"] == table["nnz"].max()]["t_bisim"].median()
        axes[2].plot(
            m_all,
            big * m_all / m_all.max(),
            color="0.6",
            lw=0.8,
            ls="--",
            label=r"$\propto m$ (linear in stored transitions)",
        )
    uncompressed = [
        FAMILIES[f].split(" (")[0]
        for f in FAMILIES
        if f in set(table["family"]) and (table.loc[table["family"] == f, "compression"] == 1).all()
    ]
    if uncompressed:  # their curves lie on the dashed Q = S line and hide it
        axes[0].text(
            0.03,
            0.97,
            "on the dashed line (Q = S):\n" + "\n".join(uncompressed),
            transform=axes[0].transAxes,
            ha="left",
            va="top",
            fontsize=6,
        )
    axes[1].axhline(1.0, color="0.4", lw=0.8, ls=":")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"number of states $S$")
    axes[2].set_xlabel(r"stored transitions $m$")
    axes[0].set_ylabel(r"quotient size $Q$")
    axes[0].set_title("(a) coarsest bisimulation")
    axes[1].set_ylabel(r"$t_\mathrm{full} / (t_\mathrm{bisim} + t_\mathrm{quotient} + t_\mathrm{lift})$")
    axes[1].set_title("(b) speed-up of quotient + lift")
    axes[2].set_ylabel(r"$t_\mathrm{bisim}$ [s]")
    axes[2].set_title("(c) refinement + quotient build")
    handles, labels = axes[0].get_legend_handles_labels()
    h2, l2 = axes[2].get_legend_handles_labels()
    for h, lab in zip(h2, l2):
        if lab not in labels:
            handles.append(h)
            labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3) or 1)
    threads = sorted(set(int(t) for t in table["threads"]))
    fig.suptitle(
        rf"Exact bisimulation quotients ($\gamma = {config.gamma:g}$, tol = {config.tol:g}, "
        f"{config.copies} planted copies, numba threads = {','.join(map(str, threads))})\n"
        f"seeds run one at a time; median over {table['seed'].nunique()} seed(s), band = range",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="bisim_compression",
        subjects=("mdp.abstraction.bisimulation", "mdp.solve"),
        config_cls=BisimCompressionConfig,
        run=run,
        plot=plot,
        description="Bisimulation quotient size and solve-time savings vs model size (structured and random MDPs).",
        version=2,
        timed=True,
    )
)
