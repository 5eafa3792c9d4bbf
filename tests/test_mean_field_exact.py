"""Exact finite-swarm objective and gradient (marl.mean_field.exact) and claim D6."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import theory_checks.mean_field as T
from marl.mean_field import (
    MeanFieldModel,
    exact_swarm_gradient,
    exact_swarm_objective,
    mf_gradient,
    mf_objective,
    reference_exact_swarm_objective,
    ring_aggregation,
    swarm_simulate,
)
from marl.mean_field.optimize import _softmax
from theory_checks import assert_claim
from theory_checks.core import get_claim


def model2(seed, Y=2, U=2, H=3, dep=True, target=True):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(2), size=(2, 2, U) if dep else (2, U))
    O = rng.dirichlet(np.ones(Y), size=(2, 2) if dep else 2)
    kw = dict(target=rng.dirichlet(np.ones(2))) if target else {}
    return MeanFieldModel(P, O, rng.dirichlet(np.ones(2)), H, reward=rng.normal(size=2), **kw), rng.normal(
        size=(H, Y, U)
    )


# ---------------------------------------------------------------------------- known values
def test_one_agent_known_value():
    # N = 1: one agent's own Markov chain; mu^1_t is the one-hot of its state, kernels mixed at it.
    # Here P moves to the other state with probability 1 whatever the action: states alternate 0, 1, 0.
    P = np.zeros((2, 2, 2))
    P[0, :, 1] = P[1, :, 0] = 1.0
    m = MeanFieldModel(P, np.ones((2, 1)), [1.0, 0.0], 3, reward=[1.0, 3.0])
    h = np.full((3, 1, 2), 0.5)
    assert exact_swarm_objective(m, h, 1) == pytest.approx(3.0 + 1.0 + 3.0, abs=1e-14)
    # deterministic dynamics: every N gives the mean-field value
    assert exact_swarm_objective(m, h, 7) == pytest.approx(mf_objective(m, h), abs=1e-12)


def test_linear_reward_and_mu_free_kernels_have_no_bias():
    # E[mu^N_t] = mu_t when the kernels do not depend on mu (linearity), so J_N = J for a linear reward
    m, th = model2(2, dep=False, target=False)
    J, g = mf_gradient(m, th)
    for N in (1, 5, 40):
        JN, gN = exact_swarm_gradient(m, th, N)
        assert JN == pytest.approx(J, abs=1e-12)
        np.testing.assert_allclose(gN, g, atol=1e-12)


# ---------------------------------------------------------------------------- differential
@pytest.mark.parametrize("dep", [False, True])
def test_equals_enumeration_of_joint_sequences(dep):
    m, th = model2(3, dep=dep)
    h = _softmax(th)
    for N in (1, 2, 3):
        assert exact_swarm_objective(m, h, N) == pytest.approx(reference_exact_swarm_objective(m, h, N), abs=1e-12)


def test_gradient_equals_finite_differences():
    m, th = model2(4, Y=3, U=2, H=3)
    _, g = exact_swarm_gradient(m, th, 6)
    eps, fd = 1e-6, np.zeros_like(th)
    for i in np.ndindex(th.shape):
        d = np.zeros_like(th)
        d[i] = eps
        fd[i] = (exact_swarm_gradient(m, th + d, 6)[0] - exact_swarm_gradient(m, th - d, 6)[0]) / (2 * eps)
    np.testing.assert_allclose(g, fd, atol=1e-8)


def test_matches_monte_carlo_swarm():
    m, th = model2(5)
    h = _softmax(th)
    r = swarm_simulate(m, h, 4, n_episodes=40_000, rng=np.random.default_rng(0))
    se = r.returns.std() / np.sqrt(r.returns.size)
    assert abs(r.returns.mean() - exact_swarm_objective(m, h, 4)) < 4 * se


# ---------------------------------------------------------------------------- property
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), N=st.integers(1, 30))
def test_gradient_bias_shrinks_and_value_is_bounded(seed, N):
    m, th = model2(seed, target=False)
    JN, gN = exact_swarm_gradient(m, th, N)
    # |r| <= max|w| per step
    assert abs(JN) <= m.horizon * np.abs(m.reward).max() + 1e-12
    _, g = mf_gradient(m, th)
    _, g_big = exact_swarm_gradient(m, th, 8 * N)
    assert np.abs(g_big - g).max() <= np.abs(gN - g).max() + 1e-12


# ---------------------------------------------------------------------------- bad input
def test_bad_input():
    m, th = model2(0)
    with pytest.raises(ValueError, match="2 states"):
        exact_swarm_objective(ring_aggregation(horizon=2), np.full((2, 4, 3), 1 / 3), 3)
    with pytest.raises(ValueError, match="n_agents"):
        exact_swarm_gradient(m, th, 0)
    with pytest.raises(TypeError, match="model"):
        exact_swarm_objective("m", _softmax(th), 3)
    with pytest.raises(ValueError, match="shape"):
        exact_swarm_gradient(m, th[:1], 3)
    with pytest.raises(ValueError, match="2e6"):
        reference_exact_swarm_objective(m, _softmax(th), 8)


# ---------------------------------------------------------------------------- claim D6
def test_d6_holds():
    results = assert_claim("D6", rng=np.random.default_rng(1), n=2)
    assert all(r.tightness <= 1 for r in results)


def test_d6_fails_when_the_swarm_gradient_ignores_n():
    real = exact_swarm_gradient
    with mock.patch.object(T, "exact_swarm_gradient", side_effect=lambda m, th, N: real(m, th, 16)):
        assert not get_claim("D6").check(np.random.default_rng(0)).holds


def test_d6_fails_with_a_biased_mean_field_gradient():
    real = T.mf_gradient

    def biased(m, th, mu0=None):
        J, g = real(m, th, mu0)
        return J, g + 1e-3

    with mock.patch.object(T, "mf_gradient", side_effect=biased):
        assert not get_claim("D6").check(np.random.default_rng(0)).holds


def test_d6_instances_are_validated():
    m, th = model2(1, target=False)
    assert get_claim("D6").check((m, th)).holds
    with pytest.raises(TypeError, match="pair"):
        get_claim("D6").check(m)
    with pytest.raises(ValueError, match="2 states"):
        get_claim("D6").check((ring_aggregation(horizon=2), np.zeros((2, 4, 3))))
    with pytest.raises(ValueError, match="linear reward"):
        get_claim("D6").check(model2(1, target=True))
    with pytest.raises(ValueError, match="theta"):
        get_claim("D6").check((m, th[:1]))
