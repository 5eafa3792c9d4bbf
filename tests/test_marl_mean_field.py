"""Dec-POMFC (marl.mean_field): model, MF transition, finite-swarm simulation, exact gradients, open- and
closed-loop optimisation, deterministic search, DP, independent REINFORCE, features (docs/papers/dec_pomfc.md)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import marl
from marl.mean_field import (
    MeanFieldModel,
    closed_loop_rules,
    deterministic_rules,
    histogram_features,
    kernel_features,
    mf_closed_loop,
    mf_deterministic_search,
    mf_dp_value,
    mf_enumerate_value,
    mf_gradient,
    mf_objective,
    mf_open_loop,
    mf_rollout,
    mf_step,
    reference_mf_step,
    reference_swarm_reinforce,
    reference_swarm_simulate,
    ring_aggregation,
    swarm_policy_gradient,
    swarm_reinforce,
    swarm_simulate,
    swarm_simulate_uniforms,
)
from marl.mean_field.optimize import _closed_grad


def random_model(seed, X=4, Y=3, U=2, H=4, dep=True, target=False):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(X), size=(X, X, U) if dep else (X, U))
    O = rng.dirichlet(np.ones(Y), size=(X, X) if dep else X)
    kw = dict(target=rng.dirichlet(np.ones(X))) if target else dict(reward=rng.normal(size=X))
    return MeanFieldModel(P, O, rng.dirichlet(np.ones(X)), H, **kw)


# ---------------------------------------------------------------------------- known values
def test_ring_known_values():
    m = ring_aggregation()
    assert (m.n_states, m.n_obs, m.n_actions, m.horizon) == (8, 4, 3, 12) and not m.mu_dependent
    # "stay" keeps the uniform mu_0 uniform (slip is symmetric on the ring)
    stay = np.zeros((12, 4, 3))
    stay[..., 1] = 1.0
    traj = mf_rollout(m, stay)
    np.testing.assert_allclose(traj, 1 / 8, atol=1e-15)
    # r(uniform) = -(2 * |1/8 - 1/2| + 6/8) = -1.5 per step, 12 steps
    assert mf_objective(m, stay) == pytest.approx(-18.0, abs=1e-9)
    assert ring_aggregation(crowding=0.5).mu_dependent


def test_mf_step_by_hand():
    # two cells, one observation, action 0 stays, action 1 swaps; h = (0.25, 0.75)
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[1, 0, 1] = 1.0
    P[0, 1, 1] = P[1, 1, 0] = 1.0
    m = MeanFieldModel(P, np.ones((2, 1)), [1.0, 0.0], 1)
    np.testing.assert_allclose(mf_step(m, [1.0, 0.0], [[0.25, 0.75]]), [0.25, 0.75])
    np.testing.assert_allclose(
        mf_step(m, [0.4, 0.6], [[0.25, 0.75]]), [0.4 * 0.25 + 0.6 * 0.75, 0.4 * 0.75 + 0.6 * 0.25]
    )


# ---------------------------------------------------------------------------- differential
@pytest.mark.parametrize("seed", range(3))
def test_mf_step_matches_twin(seed):
    m = random_model(seed)
    rng = np.random.default_rng(seed + 10)
    mu, h = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(2), size=3)
    np.testing.assert_allclose(mf_step(m, mu, h), reference_mf_step(m, mu, h), atol=1e-14)


@pytest.mark.parametrize("shared", [True, False])
def test_swarm_kernel_matches_twin(shared):
    m = ring_aggregation(crowding=0.6, horizon=5)
    rng = np.random.default_rng(0)
    h = rng.dirichlet(np.ones(3), size=(5, 4)) if shared else rng.dirichlet(np.ones(3), size=(3, 5, 4))
    U = rng.random((3, 6, 41, 3))
    a, b = swarm_simulate_uniforms(m, h, U), reference_swarm_simulate(m, h, U)
    np.testing.assert_array_equal(a.mu, b.mu)
    np.testing.assert_allclose(a.returns, b.returns, atol=1e-12)


def test_reinforce_matches_twin():
    m = ring_aggregation(horizon=4, crowding=0.3)
    a = swarm_reinforce(m, 6, n_updates=4, batch=3, lr=1.0, rng=np.random.default_rng(2))
    b = reference_swarm_reinforce(m, 6, n_updates=4, batch=3, lr=1.0, rng=np.random.default_rng(2))
    np.testing.assert_allclose(a.theta, b.theta, atol=1e-12)
    np.testing.assert_allclose(a.returns, b.returns, atol=1e-12)


@pytest.mark.parametrize("dep", [False, True])
def test_exact_gradients_match_finite_differences(dep):
    m = random_model(3, dep=dep)
    rng = np.random.default_rng(4)
    th, W = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 3, 2))
    J, g = mf_gradient(m, th)
    _, gt, gw = _closed_grad(m, th, W, m.mu0)
    eps = 1e-6
    for idx in np.ndindex(th.shape):
        tp, tm = th.copy(), th.copy()
        tp[idx] += eps
        tm[idx] -= eps
        assert abs((mf_gradient(m, tp)[0] - mf_gradient(m, tm)[0]) / (2 * eps) - g[idx]) < 1e-7
    for idx in [(0, 0, 0), (3, 2, 1), (1, 1, 0)]:
        Wp, Wm = W.copy(), W.copy()
        Wp[idx] += eps
        Wm[idx] -= eps
        fd = (_closed_grad(m, th, Wp, m.mu0)[0] - _closed_grad(m, th, Wm, m.mu0)[0]) / (2 * eps)
        assert abs(fd - gw[idx]) < 1e-7


# ---------------------------------------------------------------------------- properties
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_mf_step_is_a_distribution_and_expected_empirical(seed):
    m = random_model(seed % 1000, dep=bool(seed % 2))
    rng = np.random.default_rng(seed)
    mu, h = rng.dirichlet(np.ones(4)), rng.dirichlet(np.ones(2), size=3)
    nxt = mf_step(m, mu, h)
    assert nxt.min() >= 0 and abs(nxt.sum() - 1) < 1e-12


def test_swarm_mean_approaches_mean_field():
    m = ring_aggregation(crowding=0.5, horizon=6)
    h = np.random.default_rng(0).dirichlet(np.ones(3), size=(6, 4))
    traj = mf_rollout(m, h)
    errs = [
        np.abs(swarm_simulate(m, h, N, n_episodes=20, rng=np.random.default_rng(N)).mu[:, -1] - traj[-1]).sum(1).mean()
        for N in (100, 10000)
    ]
    assert errs[1] < errs[0] / 5


def test_optimisers():
    m = ring_aggregation()
    ol = mf_open_loop(m, steps=200)
    assert ol.value > -4.0 and ol.values[-1] > ol.values[0]
    det = mf_deterministic_search(m, h0=ol.h)
    assert np.all(det.h.max(-1) == 1) and det.value < ol.value
    # closed loop from two initial distributions: better than uniform rules from both
    mus = np.stack([m.mu0, np.r_[np.zeros(4), np.full(4, 0.25)]])
    cl = mf_closed_loop(m, mus, steps=100)
    unif = np.full((12, 4, 3), 1 / 3)
    assert all(cl.per_mu0[k] > mf_objective(m, unif, mus[k]) for k in range(2))
    h = closed_loop_rules(cl.theta, cl.weights, m.mu0)
    np.testing.assert_allclose(h.sum(-1), 1.0)


def test_dp_equals_enumeration_and_randomisation_beats_it():
    m = random_model(5, X=3, Y=3, U=2, H=3, target=True)
    rules = deterministic_rules(m)
    assert rules.shape == (8, 3, 2)
    assert mf_dp_value(m, rules) == pytest.approx(mf_enumerate_value(m, rules), abs=1e-12)


def test_policy_gradient_estimate_is_unbiased_in_sign():
    m = random_model(6, X=3, Y=2, U=2, H=3, dep=False, target=True)
    th = np.random.default_rng(1).normal(size=(3, 2, 2))
    _, g = mf_gradient(m, th)
    est = swarm_policy_gradient(m, th, 200, n_episodes=2000, rng=np.random.default_rng(0))
    assert np.all(np.abs(est.grad - g) < 5 * est.stderr + 0.02)


def test_features():
    x = np.array([0.05, 0.15, 0.95])
    np.testing.assert_allclose(histogram_features(x, 2), [2 / 3, 1 / 3])
    np.testing.assert_allclose(kernel_features([0.5], [0.5], 0.1), [1.0])


# ---------------------------------------------------------------------------- bad input
def test_bad_input():
    P = np.full((2, 2, 2), 0.5)
    with pytest.raises(ValueError, match="mu0 must sum to 1"):
        MeanFieldModel(P, np.ones((2, 1)), [0.5, 0.6], 2)
    with pytest.raises(ValueError, match="mu0 must be non-negative"):
        MeanFieldModel(P, np.ones((2, 1)), [1.5, -0.5], 2)
    with pytest.raises(ValueError, match="P rows must sum to 1"):
        MeanFieldModel(np.full((2, 2, 2), 0.4), np.ones((2, 1)), [0.5, 0.5], 2)
    with pytest.raises(ValueError, match="O must have shape"):
        MeanFieldModel(P, np.ones((3, 1)), [0.5, 0.5], 2)
    with pytest.raises(ValueError, match="horizon"):
        MeanFieldModel(P, np.ones((2, 1)), [0.5, 0.5], 0)
    with pytest.raises(ValueError, match="target must sum to 1"):
        MeanFieldModel(P, np.ones((2, 1)), [0.5, 0.5], 2, target=[0.5, 0.4])
    m = ring_aggregation(horizon=3)
    with pytest.raises(ValueError, match="h must have shape"):
        mf_rollout(m, np.full((2, 4, 3), 1 / 3))
    with pytest.raises(ValueError, match="h rows must sum to 1"):
        mf_step(m, m.mu0, np.full((4, 3), 0.3))
    with pytest.raises(ValueError, match="mu must have length"):
        mf_step(m, [1.0], np.full((4, 3), 1 / 3))
    h = np.full((3, 4, 3), 1 / 3)
    with pytest.raises(ValueError, match="n_agents"):
        swarm_simulate(m, h, 0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        swarm_simulate(m, h, 10, rng=1)
    with pytest.raises(ValueError, match="U must hold uniforms"):
        swarm_simulate_uniforms(m, h, np.full((1, 4, 5, 3), 1.0))
    with pytest.raises(TypeError, match="MeanFieldModel"):
        swarm_simulate("m", h, 10, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_sectors must divide"):
        ring_aggregation(8, 3)
    with pytest.raises(ValueError, match="theta must have shape"):
        mf_gradient(m, np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="mu0s\\[0\\] must sum to 1"):
        mf_closed_loop(m, [[0.5] * 8])
    with pytest.raises(ValueError, match="batch"):
        swarm_reinforce(m, 5, batch=1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="bandwidth"):
        kernel_features([0.1], [0.5], 0.0)
    with pytest.raises(ValueError, match="positions must hold"):
        histogram_features([], 3)


def test_public_names():
    assert marl.mean_field.swarm_simulate is swarm_simulate
    assert "mf_open_loop" in marl.mean_field.__all__
