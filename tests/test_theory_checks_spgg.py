"""Claims SPG1-SPG4 (theory_checks.spgg): they hold on the lab's code and fail on a broken one."""

from unittest import mock

import numpy as np
import pytest

import theory_checks.spgg as T
from marl.spgg import SPGGame, spgg_spne
from theory_checks import assert_claim
from theory_checks.core import get_claim


@pytest.mark.parametrize("cid,n", [("SPG1", 10), ("SPG2", 10), ("SPG3", 2)])
def test_claims_hold(cid, n):
    results = assert_claim(cid, rng=np.random.default_rng(1), n=n)
    assert all(r.tightness <= 1 for r in results)


def test_spg4_holds_with_fewer_seeds():
    r = T.check_spg4(T.sample_spg4(None), np.random.default_rng(0), seeds=4, n_updates=1200)
    assert r.holds and r.details["redesigned_full_effort"] >= 0.75


def _broken_spne(game, **kw):
    # a solver that forgets the threshold penalty
    return spgg_spne(game.replace(penalty=0.0), **kw)


def test_spg2_and_spg3_fail_without_the_penalty():
    with mock.patch.object(T, "spgg_spne", side_effect=_broken_spne):
        r = get_claim("SPG2").check(np.random.default_rng(0))
    assert not r.holds

    import marl.spgg.region as region

    real = region._solve
    no_penalty = np.array([1.0, 1.0, 1.0, 1.0, 0.0])
    with mock.patch.object(region, "_solve", side_effect=lambda g, p, n, tol: real(g, p * no_penalty, n, tol)):
        r = get_claim("SPG3").check(np.random.default_rng(0))
    assert not r.holds and r.details["sufficient_not_full"] > 0


def test_spg1_fails_when_the_cost_is_dropped():
    with mock.patch.object(T, "spgg_spne", side_effect=lambda g: spgg_spne(g.replace(cost=0.0))):
        r = get_claim("SPG1").check(np.random.default_rng(0))
    assert not r.holds


def test_spg4_fails_with_a_learner_that_does_not_learn():
    real = T.spgg_reinforce
    with mock.patch.object(T, "spgg_reinforce", side_effect=lambda g, *, n_updates, rng: real(g, n_updates=5, rng=rng)):
        r = T.check_spg4(T.sample_spg4(None), np.random.default_rng(0), seeds=2)
    assert not r.holds


def test_claim_instances_are_validated():
    g = SPGGame(3, np.linspace(0, 1, 11), cost=1, multiplier=2, bonus=0.8, threshold=3, penalty=2)
    assert get_claim("SPG2").check(g).holds
    assert get_claim("SPG1").check(SPGGame.classic(3, np.linspace(0, 1, 11), cost=1, multiplier=2)).holds
    with pytest.raises(ValueError, match="condition"):
        get_claim("SPG2").check(g.replace(penalty=0.1))
    with pytest.raises(ValueError, match="classic"):
        get_claim("SPG1").check(g)
    with pytest.raises(ValueError, match="rho / N < c"):
        get_claim("SPG1").check(SPGGame.classic(2, [0, 1], cost=1, multiplier=3))
    with pytest.raises(TypeError, match="SPGGame"):
        get_claim("SPG1").check("game")
    with pytest.raises(ValueError, match="at least two"):
        get_claim("SPG1").check(SPGGame.classic(2, [0.5]))
    with pytest.raises(TypeError, match="triple"):
        get_claim("SPG3").check((g,))
    with pytest.raises(ValueError, match="including 0"):
        get_claim("SPG3").check((g, [0.5], [0.0]))
    with pytest.raises(TypeError, match="pair"):
        get_claim("SPG4").check(g)
