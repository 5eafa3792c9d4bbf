"""Labs that measure time: timed labs run their seeds alone (and say so), capped contenders stay in
the data and on the figure."""

from __future__ import annotations

import itertools
import json
import os
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import labs
from labs.base import Lab, TimedLabWarning
from labs.executors import worker_settings
from labs.plotting import new_figure
from labs.timing import plot_times, summarise_times


# a timed toy lab: every seed records its process and when it ran
@dataclass(frozen=True)
class ClockConfig:
    sleep: float = 0.4


def clock_run(config: ClockConfig, rng) -> list[dict]:
    t0 = time.time()
    time.sleep(config.sleep)
    return [{"pid": os.getpid(), "start": t0, "end": time.time(), "x": float(rng.random())}]


def clock_plot(table, config):
    fig, ax = new_figure(1)
    ax.plot(table["seed"], table["end"] - table["start"])
    return fig


# not registered: run_lab takes a Lab object (two registered labs with one source would share a digest)
CLOCK = Lab("clock-timed", ClockConfig, clock_run, clock_plot, timed=True)
UNTIMED = Lab("clock-untimed", ClockConfig, clock_run, clock_plot)


def _overlaps(table) -> bool:
    iv = sorted(zip(table["start"], table["end"]))
    return any(b0 < a1 for (_, a1), (b0, _) in itertools.pairwise(iv))


def test_timed_lab_runs_its_seeds_one_at_a_time_and_records_it(tmp_path):
    with pytest.warns(TimedLabWarning, match="one at a time"):
        res = labs.run_lab(CLOCK, seeds=3, out=tmp_path, executor="local", max_workers=2)
    t = res.table
    assert t["pid"].nunique() == 1 and not _overlaps(t)
    prov = json.loads(res.files["provenance"].read_text())
    assert prov["timed"] is True
    w = prov["workers"]
    assert w["executor"] == "local" and w["max_in_flight"] == 1 and w["requested"] == 2
    assert w["thread_pins"]["NUMBA_NUM_THREADS"] == "1" and w["thread_pins"]["OMP_NUM_THREADS"] == "1"
    assert w["cpu_count"] == os.cpu_count()


def test_untimed_lab_records_its_workers_too(tmp_path):
    res = labs.run_lab(UNTIMED, seeds=2, out=tmp_path, executor="serial", sleep=0.0)
    prov = json.loads(res.files["provenance"].read_text())
    assert prov["timed"] is False
    assert prov["workers"]["max_in_flight"] == 1 and prov["workers"]["requested"] is None
    assert prov["workers"]["thread_pins"]["numba"] == 1
    # all cached: nothing ran in this call, and the provenance says so
    again = labs.run_lab(UNTIMED, seeds=2, out=tmp_path, executor="serial", sleep=0.0)
    assert json.loads(again.files["provenance"].read_text())["workers"]["max_in_flight"] == 0


def test_worker_settings():
    assert worker_settings("local", None, 5)["max_in_flight"] == 2
    assert worker_settings("local", 1, 5)["max_in_flight"] == 1
    assert worker_settings("local", 4, 3)["max_in_flight"] == 3
    assert worker_settings("dask", None, 5)["max_in_flight"] == 2  # LocalCluster
    assert worker_settings("dask", None, 5, "tcp://x:1")["max_in_flight"] is None  # the cluster decides
    assert worker_settings("dask", 1, 5, "tcp://x:1")["max_in_flight"] == 1
    assert worker_settings("serial", None, 0)["max_in_flight"] == 0


def test_dask_scheduler_at_an_address_gets_one_task_at_a_time(tmp_path):
    distributed = pytest.importorskip("distributed")
    from labs.executors import SINGLE_THREAD_ENV

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, env=dict(SINGLE_THREAD_ENV)
    ) as cluster:
        res = labs.run_lab(CLOCK, seeds=3, out=tmp_path, executor="dask", address=cluster.scheduler_address, sleep=0.3)
    assert not _overlaps(res.table)
    assert json.loads(res.files["provenance"].read_text())["workers"]["max_in_flight"] == 1


def test_builtin_timing_labs_are_timed():
    for name in ("solver_scaling", "game_scaling", "bisim_compression"):
        assert labs.get_lab(name).timed, name
    assert not labs.get_lab("quickstart").timed


# ------------------------------------------------------------------------------ capped contenders


def _rows(times, cap=1.5, x=10):
    return pd.DataFrame(
        {
            "S": x,
            "seed": range(len(times)),
            "cap_seconds": cap,
            "seconds": [np.nan if t is None else t for t in times],
            "status": ["capped" if t is None else "finished" for t in times],
        }
    )


def test_summarise_times_counts_capped_runs_as_at_least_the_cap():
    # [1, 2, >=1.5]: the median lies in [1.5, 2]; the summary gives the lower bound and says so
    ((x, med, lo, hi, k, n, lower_only),) = summarise_times(_rows([1.0, 2.0, None]), "S", cap=1.5)
    assert (x, med, lo, hi, k, n, lower_only) == (10, 1.5, 1.0, 2.0, 2, 3, True)
    # [1, 5, >=10]: the median is 5 whatever the capped run took
    ((_, med, _, hi, k, n, lower_only),) = summarise_times(_rows([1.0, 5.0, None], cap=10.0), "S", cap=10.0)
    assert (med, hi, k, n, lower_only) == (5.0, 10.0, 2, 3, False)
    # every seed capped: median >= cap; none capped: the plain median
    assert summarise_times(_rows([None, None]), "S", cap=1.5)[0][1:] == (1.5, 1.5, 1.5, 0, 2, True)
    assert summarise_times(_rows([3.0, 1.0, 2.0]), "S", cap=1.5)[0][1] == 2.0


def test_a_capped_run_counts_as_at_least_the_time_that_exceeded_the_cap():
    # seed 0 took 3 s (> cap 1.5) at S = 10, so at S = 30 it is >= 3 s; seeds 1, 2 finished
    table = pd.concat([_rows([3.0, 0.5, 0.6], x=10), _rows([None, 1.0, 2.0], x=30)])
    assert summarise_times(table, "S", cap=1.5)[1][1:] == (2.0, 1.0, 3.0, 2, 3, False)  # median known: 2
    # two of three capped after 3 s and 4 s: the median is >= 3 s (not >= the 1.5 s cap)
    table = pd.concat([_rows([3.0, 4.0, 0.5], x=10), _rows([None, None, 2.0], x=30)])
    assert summarise_times(table, "S", cap=1.5)[1][1:] == (3.0, 2.0, 4.0, 1, 3, True)


def test_plot_times_marks_capped_points():
    table = pd.concat([_rows([0.1, 0.2, 0.3], x=10), _rows([1.0, 2.0, None], x=30)])
    _, ax = new_figure(1)
    plot_times(ax, table, "S", cap=1.5, colour="k", marker="o", label="c")
    hollow = [ln for ln in ax.lines if ln.get_marker() == "^"]
    assert len(hollow) == 1 and list(hollow[0].get_xdata()) == [30.0]
    assert [t.get_text() for t in ax.texts] == ["2/3"]
    solid = next(ln for ln in ax.lines if ln.get_label() == "c")
    assert np.isnan(solid.get_ydata()[1])  # the lower bound is not drawn as a measured median


def test_game_scaling_keeps_capped_contenders_in_the_data(tmp_path):
    res = labs.run_lab(
        "game_scaling",
        seeds=1,
        out=tmp_path,
        executor="serial",
        sizes=(3, 6),
        n_actions=2,
        branching=2,
        repeats=1,
        max_seconds=1e-12,
        contenders=("shapley_batched", "hoffman_karp"),
    )
    t = res.table
    small, big = t[t["S"] == 3], t[t["S"] == 6]
    assert (small["status"] == "finished").all() and (small["seconds"] > 0).all()
    assert (big["status"] == "capped").all() and big["seconds"].isna().all() and big["skipped"].all()
    assert set(big["contender"]) == {"shapley_batched", "hoffman_karp"}
    assert (t["cap_seconds"] == 1e-12).all()
    assert json.loads(res.files["provenance"].read_text())["timed"] is True


def test_solver_scaling_keeps_capped_solvers_in_the_data(tmp_path):
    res = labs.run_lab(
        "solver_scaling",
        seeds=1,
        out=tmp_path,
        executor="serial",
        dense_sizes=(4, 8),
        grid_sides=(),
        repeats=1,
        max_seconds=1e-12,
        solvers=("vi_jacobi", "solve"),
    )
    t = res.table
    assert (t.loc[t["S"] == 8, "status"] == "capped").all()
    assert (t.loc[t["S"] == 4, "status"] == "finished").all()
    assert set(t.loc[t["status"] == "capped", "solver"]) == {"vi_jacobi", "solve"}
