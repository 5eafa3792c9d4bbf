"""OTA claims OT1-OT4 (theory_checks/ota.py): they hold, reject bad instances, and fail on broken code."""

from unittest import mock

import numpy as np
import pytest

from mdp import goal as G
from mdp.goal import expectile as ex_mod
from mdp.goal import ota as ota_mod
from theory_checks import ota as OT
from theory_checks.core import get_claim


@pytest.mark.parametrize("cid", ["OT1", "OT2", "OT3", "OT4"])
def test_claims_hold(cid):
    r = get_claim(cid).check(np.random.default_rng(1))
    assert r.holds, r


def test_claims_reject_bad_instances():
    with pytest.raises(TypeError, match="corridor length"):
        get_claim("OT1").check([10, 2, 0.9])
    with pytest.raises(ValueError, match="gamma"):
        get_claim("OT1").check((10, 2, 1.0))
    with pytest.raises(ValueError, match="sigma"):
        get_claim("OT3").check((0.0, 0.9, 5))
    with pytest.raises(TypeError, match="seed"):
        get_claim("OT2").check(1.5)


def test_ot1_fails_when_the_td_fixed_point_is_off():
    real = ex_mod._sweeps

    def biased(cells, indptr, nxt, rew, cont, wt, *args):
        return real(cells, indptr, nxt, rew - 0.01, cont, wt, *args)

    with mock.patch.object(ex_mod, "_sweeps", biased):
        assert not get_claim("OT1").check((12, 3, 0.9)).holds


def test_ot2_fails_for_an_expansive_backup():
    real = G.expectile_backup

    def expansive(tr, v, **kw):
        return 1.5 * real(tr, v, **kw)

    with mock.patch.object(OT.G, "expectile_backup", expansive):
        assert not get_claim("OT2").check(3).holds


def test_ot3_fails_without_the_sqrt2():
    real = ota_mod.predicted_sign_accuracy

    with mock.patch.object(ota_mod, "predicted_sign_accuracy", lambda a, s: real(a, s / np.sqrt(2))):
        assert not get_claim("OT3").check((0.5, 0.99, 25)).holds


def test_ot4_fails_when_the_high_level_value_is_used_as_v():
    real = G.goal_values

    def same(d, gamma, *, n=1, convention="start"):
        return real(d, gamma, n=1)

    with mock.patch.object(OT.G, "goal_values", same):
        assert not get_claim("OT4").check(0).holds


def test_sign_accuracy_known_and_bad_input():
    d = G.corridor(5).distances()
    v = G.goal_values(d, 0.9)
    # noiseless exact values: every triple has the right sign; a tie counts 1/2
    r = G.sign_accuracy(v, d, [3, 2], [2, 1], [0, 0], sigma=0.0, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(r.accuracy, [1.0, 1.0])
    flat = np.zeros_like(v)
    r = G.sign_accuracy(flat, d, [3], [2], [0], sigma=0.0, rng=np.random.default_rng(0))
    assert r.accuracy[0] == 0.5 and r.predicted[0] == 0.5
    # Phi(0.5 / (sqrt2 * 0.5)) = Phi(0.7071) = 0.76025 (normal table)
    assert G.predicted_sign_accuracy(0.5, 0.5) == pytest.approx(0.76025, abs=1e-5)
    with pytest.raises(ValueError, match="g must be goal|g must be states"):
        G.sign_accuracy(v, d, [3], [2], [9], sigma=0.1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="sigma"):
        G.sign_accuracy(v, d, [3], [2], [0], sigma=-1.0, rng=np.random.default_rng(0))
