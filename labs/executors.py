"""Where the seeds of a lab run: in-process, local processes, or a Dask cluster.

``map_seeds(fn, tasks, executor=...)`` calls ``fn(*task)`` for every task and yields
``(index, result_or_exception)`` as each finishes, so the runner can cache results as they
arrive (an interrupted sweep keeps everything that finished).

* ``"serial"``: in this process, in order.
* ``"local"`` (default): :class:`concurrent.futures.ProcessPoolExecutor` (spawned processes),
  ``max_workers`` default ``min(2, n_tasks)``; workers pin numba/OpenMP/BLAS to one thread to
  avoid oversubscription.
* ``"dask"``: ``distributed.Client(address)`` when an address is given, otherwise a
  ``LocalCluster(processes=True, n_workers=2, threads_per_worker=1)`` started and closed here.
  With ``max_workers``, at most that many tasks are in flight, also on a scheduler at an address
  (a timed lab, ``Lab.timed``, asks for one).
* ``"slurm"``: a ``dask_jobqueue.SLURMCluster`` (``pip install rlab[cluster]``); ``cluster_kwargs``
  are passed to it (queue, cores, memory, walltime, ...).

Dask is imported only inside the Dask branches.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator, Sequence

from mdp._validation import check_positive_int

__all__ = [
    "EXECUTORS",
    "SINGLE_THREAD_ENV",
    "ExecutorUnavailable",
    "check_executor",
    "limit_threads",
    "map_seeds",
    "pin_threads",
    "worker_settings",
]

EXECUTORS = ("local", "serial", "dask", "slurm")


class ExecutorUnavailable(RuntimeError):
    """The requested executor cannot start here (no ``sbatch``, unreachable scheduler, ...)."""


def check_executor(executor: str, address: str | None = None, max_workers: int | None = None) -> None:
    """Validate the executor arguments (cheap: imports nothing), raising ``ValueError`` naming the argument."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if address is not None and executor != "dask":
        raise ValueError(f"address= is only meaningful with executor='dask' (got executor={executor!r})")
    if max_workers is not None:
        check_positive_int(max_workers, "max_workers (--workers)")


#: Environment that makes each worker single-threaded.
SINGLE_THREAD_ENV = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def pin_threads() -> None:
    """Worker initialiser: one thread for numba, OpenMP and BLAS (also when already imported)."""
    os.environ.update(SINGLE_THREAD_ENV)
    import sys

    numba = sys.modules.get("numba")
    if numba is not None:
        try:
            # numba read NUMBA_NUM_THREADS when it was imported (spawned workers import the parent's
            # main module, and with it numba, before this initialiser runs); without a reload its
            # config keeps the core count while the pool launches with 1 thread, and the next
            # compilation (which reloads the config) fails with "Cannot set NUMBA_NUM_THREADS to a
            # different value once the threads have been launched"
            numba.core.config.reload_config()
            numba.set_num_threads(1)
        except Exception:  # pragma: no cover - threading layer unavailable
            pass
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # threadpoolctl is optional
        pass


@contextlib.contextmanager
def limit_threads(n: int = 1):
    """Within the block numba (and BLAS, with threadpoolctl) use ``n`` threads; yields numba's count.

    Delegates to :func:`mdp._threads.pinned_threads` (previous settings restored on exit). Used by
    the serial executor so in-process seeds match the single-threaded workers (small kernels also
    avoid parallel start-up and oversubscription costs).
    """
    from mdp._threads import pinned_threads

    with pinned_threads(max(1, int(n))) as info:
        yield int(info["numba"])


def worker_settings(executor: str, max_workers: int | None, n_tasks: int, address: str | None = None) -> dict:
    """How :func:`map_seeds` runs ``n_tasks`` tasks: for provenance.

    ``{"executor", "max_in_flight", "thread_pins", "cpu_affinity", "cpu_count"}``: ``max_in_flight`` is
    the most tasks that run at the same time (``None`` where the cluster decides: a Dask scheduler at
    ``address`` without ``max_workers``; 0 when there is nothing to run), ``thread_pins`` the thread
    settings every task runs under, ``cpu_affinity`` the cores this process may use.
    """
    n_tasks = int(n_tasks)
    if executor == "serial":
        used = min(1, n_tasks)
        pins = {"numba": 1, "blas": 1, "how": "labs.executors.limit_threads(1) in this process"}
    else:
        pins = dict(SINGLE_THREAD_ENV, how="labs.executors.pin_threads in every worker")
        if n_tasks == 0:
            used = 0
        elif max_workers is not None:
            used = min(int(max_workers), n_tasks)  # local pool, LocalCluster, SLURM jobs, tasks in flight
        elif executor == "local" or (executor == "dask" and address is None):
            used = min(2, n_tasks)  # the default pool / LocalCluster
        elif executor == "slurm":
            used = min(n_tasks, 8)
        else:
            used = None  # as many as the workers of the scheduler at address
    try:
        affinity = sorted(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        affinity = None
    return {
        "executor": executor,
        "max_in_flight": used,
        "thread_pins": pins,
        "cpu_affinity": affinity,
        "cpu_count": os.cpu_count(),
    }


def _call_pinned(fn, *args):
    pin_threads()
    return fn(*args)


def map_seeds(
    fn: Callable,
    tasks: Sequence[tuple],
    *,
    executor: str = "local",
    address: str | None = None,
    max_workers: int | None = None,
    cluster_kwargs: dict | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield ``(i, fn(*tasks[i]))`` (or ``(i, exception)``) as each task finishes.

    ``fn`` and the task arguments must be picklable (module-level functions, dataclasses).
    """
    check_executor(executor, address, max_workers)
    tasks = list(tasks)
    if not tasks:
        return
    if executor == "serial":
        yield from _serial(fn, tasks)
    elif executor == "local":
        yield from _local(fn, tasks, max_workers)
    else:
        yield from _dask(
            fn, tasks, executor=executor, address=address, max_workers=max_workers, cluster_kwargs=cluster_kwargs or {}
        )


def _serial(fn, tasks):
    for i, args in enumerate(tasks):
        try:
            with limit_threads(1):
                res = fn(*args)
        except Exception as exc:  # noqa: BLE001 - reported per task by the runner
            res = exc
        yield i, res


def _local(fn, tasks, max_workers):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    n = max_workers if max_workers is not None else min(2, len(tasks))
    n = max(1, min(int(n), len(tasks)))
    # spawn, not fork: forking a process that already runs OpenMP/numba threads is unsafe
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=pin_threads)
    futures = {pool.submit(fn, *args): i for i, args in enumerate(tasks)}
    try:
        for fut in as_completed(futures):
            exc = fut.exception()
            yield futures[fut], (exc if exc is not None else fut.result())
    except BaseException:
        # interrupted (Ctrl-C, SIGTERM turned into SystemExit, or the consumer stopped early): what
        # finished was already yielded and cached; stop the rest now instead of waiting for it
        _stop_pool(pool)
        raise
    else:
        pool.shutdown(wait=True)


def _stop_pool(pool) -> None:
    """Cancel queued tasks and terminate the worker processes of a ProcessPoolExecutor, without waiting."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # private, but stable since 3.2
    pool.shutdown(wait=False, cancel_futures=True)
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(timeout=5)


def _dask(fn, tasks, *, executor, address, max_workers, cluster_kwargs):
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("executor='dask' needs dask.distributed: pip install 'rlab[cluster]'") from exc

    cluster = None
    if executor == "slurm":
        try:
            from dask_jobqueue import SLURMCluster
        except ImportError as exc:
            raise ImportError(
                "executor='slurm' needs dask-jobqueue: pip install 'rlab[cluster]' "
                "(or give the address of a running Dask scheduler with executor='dask', address=...)"
            ) from exc
        import shutil

        if shutil.which("sbatch") is None:
            raise ExecutorUnavailable(
                "executor='slurm' submits jobs with sbatch, which is not on PATH here: run "
                "from a SLURM login node, or use executor='dask' with the address of a "
                "running scheduler"
            )
        kwargs = {
            "cores": 1,
            "processes": 1,
            "memory": "4GB",
            "job_script_prologue": [f"export {k}={v}" for k, v in SINGLE_THREAD_ENV.items()],
        }
        kwargs.update(cluster_kwargs)
        cluster = SLURMCluster(**kwargs)
        cluster.scale(jobs=max_workers if max_workers is not None else min(len(tasks), 8))
        client = Client(cluster)
    elif address is not None:
        try:
            client = Client(address)
        except (OSError, TimeoutError) as exc:
            raise ExecutorUnavailable(f"cannot reach the Dask scheduler at {address!r}: {exc}") from exc
    else:
        from distributed import LocalCluster

        n = max_workers if max_workers is not None else 2
        kwargs = {
            "n_workers": max(1, min(int(n), len(tasks))),
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
            "env": dict(SINGLE_THREAD_ENV),
        }
        kwargs.update(cluster_kwargs)
        cluster = LocalCluster(**kwargs)
        client = Client(cluster)
    try:

        def submit(i):
            return client.submit(
                _call_pinned, fn, *tasks[i], pure=False, key=f"rlab-task-{i}-{os.getpid()}-{id(tasks)}"
            )

        # at most max_workers tasks in flight (a scheduler at an address may have more workers: a timed
        # lab asks for one, so that its tasks never run side by side)
        limit = len(tasks) if max_workers is None else max(1, int(max_workers))
        futures = [submit(i) for i in range(min(limit, len(tasks)))]
        index = {f.key: i for i, f in enumerate(futures)}
        pending = as_completed(futures)
        try:
            for fut in pending:
                i = index[fut.key]
                if len(index) < len(tasks):
                    nxt = submit(len(index))
                    index[nxt.key] = len(index)
                    futures.append(nxt)
                    pending.add(nxt)
                if fut.status == "error":
                    yield i, fut.exception()
                else:
                    yield i, fut.result()
        except BaseException:
            client.cancel(futures)
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
