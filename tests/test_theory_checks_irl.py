"""MAMQL claims M1-M6: they hold on random instances, and each check can fail."""

from unittest import mock

import numpy as np
import pytest

import marl
from theory_checks import assert_claim, get_claim, list_claims
from theory_checks import irl as TI


@pytest.mark.parametrize("claim_id, n", [("M1", 4), ("M2", 4), ("M3", 3), ("M4", 3), ("M5", 4), ("M6", 2)])
def test_irl_claim_holds_on_random_instances(claim_id, n):
    results = assert_claim(claim_id, rng=np.random.default_rng(7), n=n)
    assert all(0.0 <= r.tightness <= 1.0 for r in results)


def test_registered_after_llm_with_subjects():
    ids = [c.id for c in list_claims()]
    assert ids.index("L1") < ids.index("M1") < ids.index("M6")
    for cid in ("M1", "M2", "M3", "M4", "M5", "M6"):
        c = get_claim(cid)
        assert c.subjects and c.instance and c.accepts is not None


def test_accepts_game_or_pair_and_rejects_other():
    g = marl.generators.random_general_sum_game(3, 2, 2, rng=np.random.default_rng(0))
    assert get_claim("M5").check(g).holds
    assert get_claim("M1").check((g, 0.7)).holds
    with pytest.raises(TypeError, match="MarkovGame"):
        get_claim("M1").check(np.zeros(3))
    with pytest.raises(ValueError, match="lam"):
        get_claim("M1").check((g, -1.0))


_INST = (marl.generators.random_general_sum_game(4, 2, 3, rng=np.random.default_rng(1), gamma=0.9), 1.0)


def test_m1_fails_with_a_wrong_temperature():
    real = TI.marginal_soft_q
    with mock.patch.object(TI, "marginal_soft_q", lambda g, lam, i, p: real(g, 2 * lam, i, p)):
        assert not get_claim("M1").check(_INST).holds


def test_m2_fails_when_stopped_early():
    real = TI.logit_equilibrium
    with mock.patch.object(TI, "logit_equilibrium", lambda g, lam, tol: real(g, lam, tol=1e-2)):
        assert not get_claim("M2").check(_INST).holds


def test_m3_fails_with_the_regulariser_left_on():
    real = TI.mamql
    with mock.patch.object(TI, "mamql", lambda g, occ, lam, **kw: real(g, occ, lam, **{**kw, "phi": "chi2"})):
        assert not get_claim("M3").check(_INST).holds


def test_m4_fails_with_a_wrong_temperature():
    # the policy is temperature-free (M3 still holds) but the reward scale is not
    real = TI.mamql
    with mock.patch.object(TI, "mamql", lambda g, occ, lam, **kw: real(g, occ, 1.5 * lam, **kw)):
        assert get_claim("M3").check(_INST).holds
        assert not get_claim("M4").check(_INST).holds


def test_m5_fails_with_a_wrong_regression():
    real = TI.joint_reward_regression

    def broken(rbar, pi_o):
        return real(rbar * 1.01, pi_o)

    with mock.patch.object(TI, "joint_reward_regression", broken):
        assert not get_claim("M5").check(_INST).holds


def test_m6_fails_when_the_regulariser_is_ignored():
    real = TI.mamql
    with mock.patch.object(TI, "mamql", lambda g, occ, lam, **kw: real(g, occ, lam, **{**kw, "alpha": 0.5})):
        assert not get_claim("M6").check(_INST).holds
