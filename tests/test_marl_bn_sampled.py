"""Sampled BN learners (marl.bn.sampled): REINFORCE is unbiased for the exact gradient, the kernels
equal their numpy twins draw for draw, both learners improve J, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marl.bn import (
    CooperativeGame,
    bn_actor_critic,
    bn_exact_pg,
    bn_nash_gap,
    bn_policy_gradient,
    bn_reinforce,
    bn_reinforce_gradient,
    check_parents,
    random_theta,
    reference_bn_actor_critic,
    reference_bn_reinforce_gradient,
    zero_theta,
)


def small_game(seed, S=2, A=(2, 2), gamma=0.5):
    rng = np.random.default_rng(seed)
    return CooperativeGame(rng.dirichlet(np.ones(S), size=(S, *A)), rng.normal(size=(S, *A)), gamma)


PAR = check_parents([(), (0,)], 2)


# ---------------------------------------------------------------------------- known values
def test_actor_critic_and_reinforce_find_the_better_equilibrium_of_a_2x2_game():
    # common payoff [[1, 0], [0, 2]]: the optimum is 2 at (1, 1); from uniform play both learners climb to it
    g = CooperativeGame.from_payoff([[1.0, 0.0], [0.0, 2.0]])
    th = zero_theta(g, [(), (0,)])
    ac = bn_actor_critic(g, [(), (0,)], th, n_steps=20_000, rng=np.random.default_rng(0))
    rf = bn_reinforce(g, [(), (0,)], th, n_iter=2000, rng=np.random.default_rng(0))
    assert ac.value > 1.99 and rf.value > 1.98
    assert ac.values[0] >= 0.75 and rf.returns.shape == (2000,)
    # the critic of the played joint action converges to its payoff (gamma = 0: Q = R)
    assert ac.q[0, 3] == pytest.approx(2.0, abs=1e-6)


# ---------------------------------------------------------------------------- differential
def test_reinforce_estimate_is_unbiased():
    g = small_game(0)
    th = random_theta(g, PAR, rng=np.random.default_rng(0))
    mean, se, ret = bn_reinforce_gradient(g, PAR, th, n_episodes=20_000, rng=np.random.default_rng(1))
    exact = bn_policy_gradient(g, PAR, th)
    for m, s, e in zip(mean, se, exact.grad):
        assert np.all(np.abs(m - e) <= 5 * s + 1e-12)
    assert abs(ret - exact.value) < 0.05


def test_kernels_equal_numpy_twins_draw_for_draw():
    g = small_game(1, A=(2, 3))
    th = random_theta(g, PAR, rng=np.random.default_rng(1))
    m1, s1, r1 = bn_reinforce_gradient(g, PAR, th, n_episodes=200, rng=np.random.default_rng(2))
    m2, s2, r2 = reference_bn_reinforce_gradient(g, PAR, th, 200, np.random.default_rng(2))
    for a, b in zip(m1 + s1, m2 + s2):
        np.testing.assert_allclose(a, b, atol=1e-12)
    assert r1 == pytest.approx(r2, abs=1e-12)
    res = bn_actor_critic(g, PAR, th, n_steps=400, rng=np.random.default_rng(3), n_checkpoints=1)
    th2, Q2 = reference_bn_actor_critic(g, PAR, th, 400, 0.05, 0.2, np.random.default_rng(3))
    for a, b in zip(res.theta, th2):
        np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(res.q, Q2, atol=1e-12)


def test_actor_critic_reaches_the_exact_ascent_value_on_a_markov_game():
    g = small_game(0)
    th = random_theta(g, PAR, rng=np.random.default_rng(0))
    ac = bn_actor_critic(g, PAR, th, n_steps=100_000, rng=np.random.default_rng(0))
    ex = bn_exact_pg(g, PAR, th, lr=1.0, steps=5000)
    assert ac.value == pytest.approx(ex.value, abs=1e-2)
    assert bn_nash_gap(g, PAR, ac.theta).value < 1e-2


# ---------------------------------------------------------------------------- properties
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 1000), gamma=st.sampled_from([0.0, 0.6]))
def test_property_sampled_runs(seed, gamma):
    g = small_game(seed, gamma=gamma)
    th = random_theta(g, PAR, rng=np.random.default_rng(seed))
    r = bn_reinforce(g, PAR, th, n_iter=20, batch=4, rng=np.random.default_rng(seed), n_checkpoints=3)
    assert r.checkpoints.tolist() == [7, 13, 20] and np.all(np.isfinite(r.values))
    np.testing.assert_allclose(r.pi.sum(axis=1), 1.0)
    a = bn_actor_critic(g, PAR, th, n_steps=50, rng=np.random.default_rng(seed), n_checkpoints=2)
    assert a.q.shape == (2, 4) and np.all(np.abs(a.q) <= np.abs(g.R).max() / (1 - gamma) + 1e-9)
    # same seed, same result
    b = bn_actor_critic(g, PAR, th, n_steps=50, rng=np.random.default_rng(seed), n_checkpoints=2)
    np.testing.assert_array_equal(a.q, b.q)


# ---------------------------------------------------------------------------- bad input
def test_bad_input():
    g = small_game(2)
    th = zero_theta(g, PAR)
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        bn_reinforce(g, PAR, th, n_iter=3, rng=None)
    with pytest.raises(ValueError, match="n_episodes must be >= 2"):
        bn_reinforce_gradient(g, PAR, th, n_episodes=1, rng=rng)
    with pytest.raises(ValueError, match="lr_critic must lie in"):
        bn_actor_critic(g, PAR, th, n_steps=3, lr_critic=2.0, rng=rng)
    with pytest.raises(ValueError, match="lr_actor"):
        bn_actor_critic(g, PAR, th, n_steps=3, lr_actor=-1.0, rng=rng)
    with pytest.raises(ValueError, match="cycle"):
        bn_actor_critic(g, [(1,), (0,)], th, n_steps=3, rng=rng)
    with pytest.raises(ValueError, match=r"theta0\[1\] must have shape"):
        bn_reinforce(g, PAR, zero_theta(g, [(), ()]), n_iter=3, rng=rng)
