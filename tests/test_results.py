"""One result vocabulary: every public result class is a ``@result`` (frozen, arrays read-only)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect

import numpy as np
import pytest

from mdp._common import Deferred, result
from mdp._common.results import DeferrableArray

MODULES = [
    "mdp",
    "mdp.learners",
    "mdp.abstraction",
    "mdp.cop",
    "mdp.agnostic",
    "mdp.pomdp",
    "mdp.stability",
    "mdp.offline",
    "mdp.submodular",
    "mdp.goal",
    "marl",
    "marl.learners",
    "marl.bn",
    "marl.irl",
    "marl.spgg",
    "marl.mean_field",
    "marl.population",
]


def _public_dataclasses():
    seen = {}
    for name in MODULES:
        mod = importlib.import_module(name)
        for attr in getattr(mod, "__all__", []):
            obj = getattr(mod, attr, None)
            if inspect.isclass(obj) and dataclasses.is_dataclass(obj):
                seen[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return sorted(seen.items())


RESULTS = _public_dataclasses()


def test_there_are_public_results():
    assert len(RESULTS) >= 20, [n for n, _ in RESULTS]


@pytest.mark.parametrize("name,cls", RESULTS, ids=[n for n, _ in RESULTS])
def test_public_dataclass_is_a_result(name, cls):
    assert getattr(cls, "__rlab_result__", False), f"{name} is not declared with mdp._common.result"
    assert cls.__dataclass_params__.frozen


def test_result_freezes_every_array_field_and_nested_ones():
    @result
    class R:
        a: np.ndarray
        b: tuple
        c: dict
        n: int

    a, b0, c0 = np.zeros(3), np.ones(2), np.ones(1)
    r = R(a, (b0, 1), {"k": c0}, 3)
    for arr in (r.a, r.b[0], r.c["k"]):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.n = 4


def test_result_runs_the_class_post_init_first():
    calls = []

    @result
    class R:
        a: np.ndarray

        def __post_init__(self):
            calls.append(self.a.flags.writeable)  # still writeable while the class's own step runs

    R(np.zeros(2))
    assert calls == [True]


def test_result_leaves_deferred_fields_alone():
    computed = []

    @result
    class R:
        q: np.ndarray = DeferrableArray()

    def fn():
        computed.append(1)
        return np.ones(2)

    r = R(Deferred(fn))
    assert computed == []  # freezing did not force the computation
    assert not r.q.flags.writeable and computed == [1]
