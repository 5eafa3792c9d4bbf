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


@pytest.fixture
def rng():
    """A fresh, seeded Generator per test."""
    return np.random.default_rng(12345)
