"""Claims D1-D5 (theory_checks.mean_field; D6 in test_mean_field_exact.py): they hold on the lab's code and fail on a broken one."""

from unittest import mock

import numpy as np
import pytest

import theory_checks.mean_field as T
from marl.mean_field import ring_aggregation, swarm_simulate
from theory_checks import assert_claim
from theory_checks.core import get_claim


@pytest.mark.parametrize("cid,n", [("D1", 1), ("D2", 1), ("D3", 2), ("D4", 3), ("D5", 3)])
def test_claims_hold(cid, n):
    results = assert_claim(cid, rng=np.random.default_rng(1), n=n)
    assert all(r.tightness <= 1 for r in results)


def test_d1_d2_fail_when_the_swarm_ignores_n():
    real = swarm_simulate
    with mock.patch.object(T, "swarm_simulate", side_effect=lambda m, h, N, **kw: real(m, h, 100, **kw)):
        assert not get_claim("D1").check(np.random.default_rng(0)).holds
        assert not get_claim("D2").check(np.random.default_rng(0)).holds


def test_d3_fails_with_a_wrong_dp():
    with mock.patch.object(T, "mf_dp_value", side_effect=lambda m, rules: T.mf_enumerate_value(m, rules[:-1])):
        rs = [get_claim("D3").check(np.random.default_rng(s)) for s in range(4)]
    assert not all(r.holds for r in rs)


def test_d4_fails_when_rules_are_rounded():
    real = T.mf_objective

    def rounded(m, h, mu0=None):
        h = np.asarray(h)
        return real(m, np.eye(h.shape[-1])[np.argmax(h, axis=-1)], mu0)

    with mock.patch.object(T, "mf_objective", side_effect=rounded):
        assert not get_claim("D4").check(np.random.default_rng(0)).holds


def test_d5_fails_with_a_wrong_kernel_gradient():
    real = T.kernel_features_grad
    with mock.patch.object(T, "kernel_features_grad", side_effect=lambda x, z, b: 2 * real(x, z, b)):
        r = get_claim("D5").check(np.random.default_rng(0))
    assert not r.holds and r.details["worst_part"] == "kernel-derivative"


def test_instances_are_validated():
    m = ring_aggregation(horizon=3)
    assert get_claim("D1").check((m, np.full((3, 4, 3), 1 / 3))).holds
    with pytest.raises(TypeError, match="pair"):
        get_claim("D1").check(m)
    with pytest.raises(ValueError, match=r"\(h\) must have shape"):
        get_claim("D1").check((m, np.full((2, 4, 3), 1 / 3)))
    with pytest.raises(ValueError, match="2e5"):
        get_claim("D3").check(ring_aggregation())
    with pytest.raises(ValueError, match="k >= 2"):
        get_claim("D4").check(1)
    with pytest.raises(TypeError, match="integer"):
        get_claim("D4").check(2.5)
    with pytest.raises(TypeError, match="positions, n_bins"):
        get_claim("D5").check((1, 2))
