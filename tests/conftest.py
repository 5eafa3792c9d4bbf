"""Shared test configuration: a hypothesis profile suited to JIT-compiled code, kernel warm-up."""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# JIT compiles make the first example slow: no deadline. CI gets a fixed, derandomised profile.
settings.register_profile(
    "rlab",
    deadline=None,
    max_examples=25,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("ci", parent=settings.get_profile("rlab"), derandomize=True, print_blob=True)
# a longer search for local bug hunting: pytest --hypothesis-profile=thorough
settings.register_profile("thorough", parent=settings.get_profile("rlab"), max_examples=1000)
settings.load_profile("ci" if os.environ.get("CI") else "rlab")


def _share_cores_between_xdist_workers():
    """Give each pytest-xdist worker its share of numba's pool instead of all of it.

    Every worker is a process with numba's default pool (one thread per core), so two workers on two
    cores ran four OpenMP threads that spin while they wait: a value-iteration test that takes 1 s
    alone took 17 s next to another (measured 2026-12-06, and the whole suite 393 s instead of 137 s).
    ``numba.set_num_threads`` is per calling thread, so this covers the tests' own calls; the parallel
    kernels still run (on one thread here), and ``tests/test_threads.py`` runs them on two.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if os.environ.get("PYTEST_XDIST_WORKER") and workers > 1:
        import numba

        numba.set_num_threads(max(1, int(numba.config.NUMBA_NUM_THREADS) // workers))
        # torch's intra-op pool likewise (a deep-MAMQL test took 90 s beside another worker, 9 s alone)
        import importlib.util

        if importlib.util.find_spec("torch") is not None:
            import torch

            torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


_share_cores_between_xdist_workers()


@pytest.fixture
def rng():
    """A fresh, seeded Generator per test."""
    return np.random.default_rng(12345)
