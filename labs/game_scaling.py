"""Lab ``game_scaling``: time to a certified solution of a zero-sum Markov game against its size.

Random zero-sum Markov games (:func:`marl.generators.random_zero_sum_game`, ``A1 = A2 =
n_actions``, ``branching`` random successors per joint action, sparse CSR, Gaussian payoffs) with
``S`` in ``sizes``. Contenders, all stopping on the same MacQueen certificate ``tol``:

* ``shapley_batched``: :func:`marl.shapley_value_iteration`, the ``S`` stage games of a backup
  solved in one call of the batched numba simplex;
* ``shapley_lp``: the same iteration with one scipy HiGHS LP pair per state
  (``method="highs"``), the per-state LP loop;
* ``hoffman_karp``: :func:`marl.hoffman_karp` (strategy iteration, best responses by ``mdp.solve``);
* ``shapley_torch``: :func:`marl.torch.batched_shapley_value_iteration` (Shapley-Snow kernels in torch,
  CPU here), when torch is installed.

Each contender is first run on the smallest game (JIT and caches warm), then timed ``repeats``
times (minimum reported); one whose time exceeds ``max_seconds`` is not run at larger sizes: its
rows there say ``status = "capped"`` (and ``skipped``; ``seconds`` NaN, ``cap_seconds`` the cap). The
figure counts a capped run as at least the time that exceeded the cap (see :mod:`labs.timing`):
medians are over all seeds, a median that capped runs leave undetermined is drawn as its lower
bound (hollow triangle), ``k/n`` marks sizes where only ``k`` of ``n`` seeds finished.

The lab is ``timed``: :func:`labs.run_lab` runs its seeds one at a time (``provenance.json`` records
the worker count and thread pins).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from labs.base import Lab, register_lab
from labs.executors import limit_threads

__all__ = ["GameScalingConfig", "CONTENDERS", "run", "plot", "LAB"]

CONTENDERS = {
    "shapley_batched": "Shapley VI, batched numba simplex",
    "shapley_lp": "Shapley VI, per-state LP (HiGHS)",
    "hoffman_karp": "Hoffman-Karp",
    "shapley_torch": "Shapley VI, torch (Shapley-Snow)",
}


@dataclass(frozen=True)
class GameScalingConfig:
    """Sizes, actions, discount, accuracy and timing protocol."""

    sizes: tuple[int, ...] = (10, 30, 100, 300, 1000)
    n_actions: int = 5
    branching: int = 10
    gamma: float = 0.9
    tol: float = 1e-8
    contenders: tuple[str, ...] = tuple(CONTENDERS)
    repeats: int = 2
    max_seconds: float = 10.0
    threads: int = 1

    def __post_init__(self):
        unknown = sorted(set(self.contenders) - set(CONTENDERS))
        if unknown:
            raise ValueError(f"unknown contender(s) {unknown}; choose from {list(CONTENDERS)}")
        if not self.sizes or min(self.sizes) < 1 or self.n_actions < 1 or self.branching < 1:
            raise ValueError("sizes, n_actions and branching must be positive")
        if not 0 < self.gamma < 1:
            raise ValueError(f"gamma must lie in (0, 1), got {self.gamma}")


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except ImportError:
        return False
    return True


def _solver(name: str, tol: float):
    import marl

    if name == "shapley_batched":
        return lambda g: marl.shapley_value_iteration(g, tol=tol)
    if name == "shapley_lp":
        return lambda g: marl.shapley_value_iteration(g, tol=tol, method="highs")
    if name == "hoffman_karp":
        return lambda g: marl.hoffman_karp(g, tol=tol)

    def torch_solve(g):
        from marl.torch import batched_shapley_value_iteration as tsvi

        return tsvi(g, tol=tol)

    return torch_solve


def _game(size, config, rng):
    from marl.generators import random_zero_sum_game

    return random_zero_sum_game(
        size, config.n_actions, rng=rng, gamma=config.gamma, branching=min(config.branching, size), sparse=True
    )


def run(config: GameScalingConfig, rng: np.random.Generator) -> list[dict]:
    rng = np.random.default_rng(rng)
    names = [c for c in config.contenders if c != "shapley_torch" or _torch_available()]
    rows = []
    with limit_threads(config.threads) as threads:
        if config.threads and _torch_available():
            import torch

            torch.set_num_threads(int(threads))
        sizes = sorted(config.sizes)
        warm = _game(min(sizes), config, np.random.default_rng(0))
        for name in names:
            _solver(name, config.tol)(warm)
        too_slow: set[str] = set()
        for size in sizes:
            g = _game(size, config, rng)
            ref_v = None
            for name in names:
                row = {
                    "S": int(size),
                    "A": config.n_actions,
                    "branching": min(config.branching, size),
                    "gamma": config.gamma,
                    "contender": name,
                    "threads": int(threads),
                    "cap_seconds": float(config.max_seconds),
                }
                if name in too_slow:
                    rows.append(
                        {
                            **row,
                            "seconds": float("nan"),
                            "n_iter": -1,
                            "error_bound": float("nan"),
                            "max_diff": float("nan"),
                            "skipped": True,
                            "status": "capped",
                        }
                    )
                    continue
                fn = _solver(name, config.tol)
                times = []
                for _ in range(config.repeats):
                    t0 = time.perf_counter()
                    res = fn(g)
                    times.append(time.perf_counter() - t0)
                    if times[-1] > config.max_seconds:
                        break
                if min(times) > config.max_seconds:
                    too_slow.add(name)
                v = np.asarray(res.v, dtype=float).reshape(-1)
                if ref_v is None:
                    ref_v = v
                err = res.error_bound
                err = float(np.max(np.asarray(err.cpu() if hasattr(err, "cpu") else err)))
                rows.append(
                    {
                        **row,
                        "seconds": min(times),
                        "n_iter": int(res.n_iter),
                        "error_bound": err,
                        "max_diff": float(np.abs(v - ref_v).max()),
                        "skipped": False,
                        "status": "finished",
                    }
                )
    return rows


def plot(table, config: GameScalingConfig):
    from matplotlib.lines import Line2D
    from matplotlib.ticker import NullFormatter

    from labs.plotting import COLUMN_WIDTH, PALETTE, new_figure
    from labs.timing import plot_times

    markers = ["o", "s", "^", "D"]
    fig, ax = new_figure(1, width=COLUMN_WIDTH + 1.2, height=3.0)
    for k, name in enumerate(CONTENDERS):
        s = table[table["contender"] == name]
        if s.empty:
            continue
        plot_times(
            ax, s, "S", cap=config.max_seconds, colour=PALETTE[k], marker=markers[k], label=CONTENDERS[name], index=k
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    sizes = sorted(table["S"].unique())
    ax.set_xticks(sizes, [str(int(x)) for x in sizes])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(r"number of states $S$")
    ax.set_ylabel(f"time to certified {config.tol:g} [s]")
    handles, labels = ax.get_legend_handles_labels()
    if "status" in table and (table["status"] == "capped").any():
        ax.axhline(config.max_seconds, color="0.5", lw=0.7, ls="--")
        handles.append(
            Line2D(
                [], [], ls="--", color="0.5", marker="^", markerfacecolor="white", markeredgecolor="0.3", markersize=6
            )
        )
        labels.append(
            f"median >= this: a capped run counts as >= the time\nthat exceeded the {config.max_seconds:g} s cap (dashed)"
        )
    threads = sorted(set(int(t) for t in table["threads"]))
    ax.set_title(
        rf"Zero-sum Markov games, {config.n_actions}$\times${config.n_actions} actions, "
        rf"{config.branching} successors, $\gamma = {config.gamma:g}$"
        "\n"
        f"numba/torch threads {','.join(map(str, threads))}, seeds run one at a time; "
        f"median of {table['seed'].nunique()} seed(s), band = range, k/n = seeds finished"
    )
    fig.legend(handles, labels, loc="outside lower center", ncols=2)
    return fig


LAB = register_lab(
    Lab(
        name="game_scaling",
        subjects=("marl.shapley_value_iteration", "marl.hoffman_karp"),
        config_cls=GameScalingConfig,
        run=run,
        plot=plot,
        description="Time vs number of states for Shapley iteration: batched numba simplex vs per-state LP, HK, torch.",
        version=2,
        timed=True,
    )
)
