"""Claims BN1-BN4 (theory_checks.bn): they hold on the lab's code and fail on a broken one."""

from unittest import mock

import numpy as np
import pytest

import theory_checks.bn as B
from marl.bn import (
    CooperativeGame,
    bn_exact_pg,
    bn_joint_policy,
    bn_policy_gradient,
    random_theta,
)
from theory_checks import assert_claim
from theory_checks.core import get_claim


@pytest.mark.parametrize("cid,n", [("BN1", 3), ("BN2", 2), ("BN3", 4)])
def test_claims_hold(cid, n):
    results = assert_claim(cid, rng=np.random.default_rng(1), n=n)
    assert all(r.tightness <= 1 for r in results)


def test_bn1_fails_with_the_one_minus_gamma_pitfall():
    # bn_marl.md Corrections: with unnormalised d, an extra factor (1 - gamma) is wrong
    def broken(game, parents, theta):
        res = bn_policy_gradient(game, parents, theta)
        return mock.Mock(value=res.value, grad=tuple(g * (1 - game.gamma) for g in res.grad))

    with mock.patch.object(B, "bn_policy_gradient", side_effect=broken):
        r = get_claim("BN1").check(np.random.default_rng(0))
    assert not r.holds


def test_bn2_fails_when_the_ascent_stops_early():
    def short(game, parents, theta, *, lr, steps):
        return bn_exact_pg(game, parents, theta, lr=lr, steps=20)

    with mock.patch.object(B, "bn_exact_pg", side_effect=short):
        r = get_claim("BN2").check(np.random.default_rng(0))
    assert not r.holds and r.observed > 1e-3


def test_bn3_fails_when_the_edge_is_ignored():
    def no_edge(game, parents, theta):
        pi = bn_joint_policy(game, parents, theta).reshape(game.n_actions)
        return np.outer(pi.sum(axis=1), pi.sum(axis=0)).reshape(1, -1)

    with mock.patch.object(B, "bn_joint_policy", side_effect=no_edge):
        r = get_claim("BN3").check(np.random.default_rng(0))
    assert not r.holds and r.details["worst_part"] == "edge-fits-exactly"


def test_bn3_known_value_diagonal_target():
    # bn_marl.md Corrections, BN3: a 50/50 diagonal target has I(a_1; a_2) = log 2 (here with 1e-9 off-diagonal mass)
    p = np.array([[0.5, 1e-9], [1e-9, 0.5]])
    p /= p.sum()
    _, kl = B.fit_bn_distribution(p, [(), ()])
    assert kl == pytest.approx(np.log(2), abs=1e-6)


def test_accepts_rejects_bad_instances():
    g = CooperativeGame.from_payoff(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="triple"):
        get_claim("BN1").check(g)
    with pytest.raises(ValueError, match=r"instance\[1\] \(parents\) must describe a DAG"):
        get_claim("BN1").check((g, [(1,), (0,)], None))
    with pytest.raises(ValueError, match=r"instance\[2\] \(theta\)\[1\] must have shape"):
        get_claim("BN1").check((g, [(), (0,)], [np.zeros((1, 1, 2)), np.zeros((1, 1, 2))]))
    with pytest.raises(ValueError, match="positive entries"):
        get_claim("BN3").check(np.array([[0.5, 0.0], [0.0, 0.5]]))
    # a user's instance is checked as given
    th = random_theta(g, [(), (0,)], rng=np.random.default_rng(0))
    assert get_claim("BN1").check((g, [(), (0,)], th)).holds


def test_bn4_holds_on_both_games_at_a_small_budget():
    from marl.bn.matrix import CLIMBING, PENALTY

    for R in (CLIMBING, PENALTY):
        r = B.check_bn4(R, np.random.default_rng(0), n_init=300, steps=3000)
        assert r.holds, r


def test_bn4_fails_when_the_edge_is_dropped():
    from marl.bn.matrix import CLIMBING, bn_matrix_ascent

    def no_edge(payoff, *, mode, **kw):
        return bn_matrix_ascent(payoff, mode="independent", **kw)

    with mock.patch("marl.bn.matrix.bn_matrix_ascent", side_effect=no_edge):
        r = B.check_bn4(CLIMBING, np.random.default_rng(0), n_init=300, steps=3000)
    assert not r.holds
    with pytest.raises(ValueError, match="at least two actions"):
        get_claim("BN4").check(np.zeros((1, 3)))
