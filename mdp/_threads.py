"""Thread pinning for numba and BLAS: ``pinned_threads(n)`` and ``thread_info()``.

Oversubscription is the main performance trap on small machines: numba's parallel kernels and a
multithreaded BLAS (OpenBLAS, MKL) each start a pool sized to the core count, and when both are
busy (or spinning after a call) on a 2-core machine the threads preempt each other; a 100 x 100
solve was measured 1000x slower that way. Pin both pools explicitly in benchmarks, labs and
worker processes:

>>> from mdp._threads import pinned_threads, thread_info
>>> with pinned_threads(1):
...     info = thread_info()
>>> info["numba"]
1

``threadpoolctl`` is optional; without it only numba is pinned inside the context, and the BLAS
pool can be pinned for a whole process only by setting ``OMP_NUM_THREADS`` /
``OPENBLAS_NUM_THREADS`` / ``MKL_NUM_THREADS`` before numpy is imported (see :func:`thread_env`).
"""

from __future__ import annotations

import contextlib
import os

from mdp._validation import check_positive_int

__all__ = ["pinned_threads", "thread_info", "thread_env", "available_cores"]

_BLAS_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def available_cores() -> int:
    """Cores this process may run on (the affinity mask where the OS exposes it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


def thread_env(n: int) -> dict:
    """Environment variables that pin numba and BLAS to ``n`` threads in a *new* process.

    Pass ``{**os.environ, **thread_env(n)}`` as the ``env`` of a subprocess; they only take effect
    if set before numpy / numba are imported.
    """
    n = _check_n(n)
    env = {k: str(n) for k in _BLAS_ENV}
    env["NUMBA_NUM_THREADS"] = str(max(n, _numba_max()))
    return env


def _check_n(n) -> int:
    return check_positive_int(n, "thread count")


def _numba_max() -> int:
    try:
        import numba

        return int(numba.config.NUMBA_NUM_THREADS)
    except Exception:  # pragma: no cover - numba is a core dependency
        return 1


@contextlib.contextmanager
def pinned_threads(n: int, *, blas: bool = True):
    """Run the body with numba and (if ``threadpoolctl`` is installed) BLAS limited to ``n`` threads.

    Parameters
    ----------
    n : int
        Thread count, ``>= 1``. Values above numba's pool size (``NUMBA_NUM_THREADS``, fixed at
        import, by default the core count) are clipped to it for numba.
    blas : bool, default True
        Also limit BLAS/OpenMP pools through ``threadpoolctl`` (skipped silently if it is missing;
        :func:`thread_info` then reports ``"blas": None``).

    Yields
    ------
    dict
        :func:`thread_info` at entry, e.g. ``{"numba": 1, "blas": {"openblas": 1}, ...}``.

    Notes
    -----
    ``numba.set_num_threads`` is thread-local: the limit applies to parallel kernels launched from
    the calling thread. Previous settings are restored on exit.
    """
    n = _check_n(n)
    import numba

    prev = numba.get_num_threads()
    numba.set_num_threads(min(n, int(numba.config.NUMBA_NUM_THREADS)))
    ctl = None
    try:
        if blas:
            try:
                from threadpoolctl import threadpool_limits

                ctl = threadpool_limits(limits=n)
            except ImportError:
                ctl = None
        yield thread_info()
    finally:
        if ctl is not None:
            ctl.restore_original_limits()
        numba.set_num_threads(prev)


def thread_info() -> dict:
    """Current thread settings: numba's count, layer, each BLAS pool's count, and the core count."""
    import numba

    info = {
        "numba": int(numba.get_num_threads()),
        "numba_max": int(numba.config.NUMBA_NUM_THREADS),
        "numba_layer": None,
        "blas": None,
        "cores": available_cores(),
    }
    try:
        info["numba_layer"] = numba.threading_layer()
    except Exception:  # the layer is only chosen once a parallel kernel has run
        pass
    try:
        from threadpoolctl import threadpool_info

        pools = {}
        for p in threadpool_info():
            key = f"{p.get('user_api')}:{p.get('internal_api')}"
            pools[key] = int(p.get("num_threads", 0))
        info["blas"] = pools
    except ImportError:
        pass
    return info
