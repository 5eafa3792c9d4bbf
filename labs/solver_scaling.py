"""Lab ``solver_scaling``: wall time against the number of states for every exact solver.

Two families:

* ``dense``: random MDPs (``P[s, a, :] ~ Dirichlet(1)``, dense ``(S, A, S)``), ``S`` in
  ``dense_sizes``;
* ``sparse``: slippery gridworlds (CSR, 3 successors per pair), ``S = side^2`` for ``side`` in
  ``grid_sides``.

Solvers: value iteration (Jacobi and Gauss-Seidel), Howard policy iteration, modified policy
iteration, the linear program (HiGHS) and :func:`mdp.solve`. Every solver is first run once on
the smallest instance of the family (JIT compilation and caches warm), then timed ``repeats``
times with :func:`time.perf_counter` (fewer once the repeats took ``repeat_budget`` seconds); the
minimum is reported (``seconds``) with the median (``seconds_median``) and the count
(``repeats``). numba runs on ``threads`` threads (default 1, so times are per core and not
disturbed by the other seeds' processes); BLAS is limited likewise when threadpoolctl is installed.
The thread count actually used is recorded in each row.

A solver whose time at one size exceeds ``max_seconds`` is not run at the larger sizes of that
family, so a big sweep (``--set dense_sizes=500,1000,2000``) stays bounded: its rows there say
``status = "capped"`` (and ``skipped``; ``seconds`` NaN, ``cap_seconds`` the cap). The figure counts
a capped run as at least the time that exceeded the cap (see :mod:`labs.timing`): medians are over
all seeds, a median that capped runs leave undetermined is drawn as its lower bound (hollow
triangle), and ``k/n`` marks sizes where only ``k`` of ``n`` seeds finished.

The lab is ``timed``: :func:`labs.run_lab` runs its seeds one at a time, so that they do not contend
for the cores (``provenance.json`` records the worker count and thread pins).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab
from labs.executors import limit_threads

__all__ = ["SolverScalingConfig", "SOLVERS", "run", "plot", "LAB"]

#: Solver names and labels (figure legend) in plotting order.
SOLVERS = {
    "vi_jacobi": "VI (Jacobi)",
    "vi_gauss_seidel": "VI (Gauss-Seidel)",
    "policy_iteration": "policy iteration",
    "modified_policy_iteration": "modified PI",
    "linear_programming": "LP (HiGHS)",
    "solve": "mdp.solve",
}


@dataclass(frozen=True)
class SolverScalingConfig:
    """Sizes, discount, accuracy and timing protocol of the solver-scaling lab."""

    dense_sizes: tuple[int, ...] = (25, 50, 100, 200, 400)
    grid_sides: tuple[int, ...] = (5, 10, 20, 40, 80)
    n_actions: int = 4
    gamma: float = 0.95
    slip: float = 0.1
    tol: float = 1e-6
    solvers: tuple[str, ...] = tuple(SOLVERS)
    repeats: int = 3
    repeat_budget: float = 1.0
    threads: int = 1
    max_seconds: float = 10.0

    def __post_init__(self):
        unknown = sorted(set(self.solvers) - set(SOLVERS))
        if unknown:
            raise ValueError(f"unknown solver(s) {unknown}; choose from {list(SOLVERS)}")
        if self.repeats < 1 or self.threads < 1:
            raise ValueError("repeats and threads must be positive")
        if not 0 < self.gamma < 1:
            raise ValueError(f"gamma must lie in (0, 1), got {self.gamma}")


def _solver(name: str, tol: float):
    import mdp

    return {
        "vi_jacobi": lambda m: mdp.value_iteration(m, tol=tol, method="jacobi"),
        "vi_gauss_seidel": lambda m: mdp.value_iteration(m, tol=tol, method="gauss-seidel"),
        "policy_iteration": lambda m: mdp.policy_iteration(m),
        "modified_policy_iteration": lambda m: mdp.modified_policy_iteration(m, tol=tol),
        "linear_programming": lambda m: mdp.linear_programming(m, method="highs"),
        "solve": lambda m: mdp.solve(m, tol=tol),
    }[name]


def _model(family: str, size: int, config: SolverScalingConfig, rng):
    import mdp

    if family == "dense":
        return mdp.generators.random_mdp(size, config.n_actions, rng=rng, gamma=config.gamma)
    return mdp.generators.gridworld(size, size, slip=config.slip, gamma=config.gamma)


def run(config: SolverScalingConfig, rng: np.random.Generator) -> list[dict]:
    import warnings

    import mdp

    rng = np.random.default_rng(rng)
    rows = []
    families = [("dense", config.dense_sizes), ("sparse", config.grid_sides)]
    with limit_threads(config.threads) as threads, warnings.catch_warnings():
        warnings.simplefilter("ignore", mdp.ConvergenceWarning)
        for family, sizes in families:
            if not sizes:
                continue
            sizes = sorted(sizes)
            warm = _model(family, min(sizes), config, np.random.default_rng(0))
            for name in config.solvers:
                _solver(name, config.tol)(warm)  # JIT compile / warm caches
            too_slow: set[str] = set()
            for size in sizes:
                m = _model(family, size, config, rng)
                for name in config.solvers:
                    row = {
                        "family": family,
                        "size": int(size),
                        "S": m.n_states,
                        "A": m.n_actions,
                        "nnz": int(m.nnz),
                        "gamma": config.gamma,
                        "solver": name,
                        "threads": int(threads),
                        "cap_seconds": float(config.max_seconds),
                    }
                    if name in too_slow:
                        rows.append(
                            {
                                **row,
                                "seconds": float("nan"),
                                "seconds_median": float("nan"),
                                "n_iter": -1,
                                "error_bound": float("nan"),
                                "repeats": 0,
                                "skipped": True,
                                "status": "capped",
                            }
                        )
                        continue
                    fn = _solver(name, config.tol)
                    times = []
                    for _ in range(config.repeats):
                        t0 = time.perf_counter()
                        res = fn(m)
                        times.append(time.perf_counter() - t0)
                        # stop once the budget is spent (after two runs, so that one stall of the
                        # machine does not decide the minimum), or at once for a genuinely slow run
                        spent = sum(times) > config.repeat_budget
                        if spent and (len(times) >= 2 or times[0] > 5 * config.repeat_budget):
                            break
                    if min(times) > config.max_seconds:
                        too_slow.add(name)
                    rows.append(
                        {
                            **row,
                            "seconds": min(times),
                            "seconds_median": statistics.median(times),
                            "n_iter": int(res.n_iter),
                            "error_bound": float(res.error_bound),
                            "repeats": len(times),
                            "skipped": False,
                            "status": "finished",
                        }
                    )
    return rows


def plot(table, config: SolverScalingConfig):
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter

    from labs.plotting import PALETTE, TEXT_WIDTH, new_figure
    from labs.timing import plot_times

    markers = ["o", "s", "^", "D", "v", "P"]
    fig, axes = new_figure(2, width=TEXT_WIDTH, height=2.8)
    titles = {
        "dense": f"dense random MDPs (A = {config.n_actions})",
        "sparse": "sparse gridworlds (A = 4, 3 successors)",
    }
    any_capped = bool((table["status"] == "capped").any()) if "status" in table else False
    for ax, family in zip(axes, ("dense", "sparse")):
        sub = table[table["family"] == family]
        if sub.empty:
            ax.set_axis_off()
            ax.text(
                0.5,
                0.5,
                f"{titles[family]}:\nnot run (no sizes configured)",
                transform=ax.transAxes,
                ha="center",
                va="center",
            )
            continue
        for k, name in enumerate(SOLVERS):
            if name not in config.solvers:
                continue
            s = sub[sub["solver"] == name]
            if s.empty:
                continue
            plot_times(
                ax,
                s,
                "S",
                cap=config.max_seconds,
                colour=PALETTE[k % len(PALETTE)],
                marker=markers[k % len(markers)],
                label=SOLVERS[name],
                index=k,
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        sizes = sorted(sub["S"].unique())
        if sizes:
            ax.set_xticks(sizes, [str(int(x)) for x in sizes])
            ax.xaxis.set_minor_formatter(NullFormatter())
        if any_capped:
            ax.axhline(config.max_seconds, color="0.5", lw=0.7, ls="--")
        ax.set_xlabel(r"number of states $S$")
        ax.set_title(titles[family])
    axes[0].set_ylabel("wall time [s] (min of repeats)")
    handles, labels = axes[0].get_legend_handles_labels()
    if not handles:
        handles, labels = axes[1].get_legend_handles_labels()
    if any_capped:
        handles.append(
            Line2D(
                [], [], ls="--", color="0.5", marker="^", markerfacecolor="white", markeredgecolor="0.3", markersize=6
            )
        )
        labels.append(
            f"median >= this: a capped run counts as >= the time that exceeded\nthe {config.max_seconds:g} s cap (dashed line)"
        )
    threads = sorted(set(int(t) for t in table["threads"]))
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 3) or 1)
    fig.suptitle(
        rf"Solver wall time ($\gamma = {config.gamma:g}$, tol = {config.tol:g}, "
        f"numba threads = {','.join(map(str, threads))})\nseeds run one at a time; median over "
        f"{table['seed'].nunique()} seed(s), band = range, k/n = seeds that finished",
        fontsize=8,
    )
    return fig


LAB = register_lab(
    Lab(
        name="solver_scaling",
        subjects=(
            "mdp.solve",
            "mdp.value_iteration",
            "mdp.policy_iteration",
            "mdp.modified_policy_iteration",
            "mdp.linear_programming",
        ),
        config_cls=SolverScalingConfig,
        run=run,
        plot=plot,
        description="Wall time vs number of states for every solver, dense random MDPs and sparse gridworlds.",
        version=2,
        timed=True,
    )
)
