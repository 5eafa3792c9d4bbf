"""MRA capacity-game family (marl.population): payoffs, equilibria, exploitability, latent modes,
adaptation (docs/papers/mra.md)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marl.population import (
    adapt_mode,
    best_mode_exploitability,
    capacity_equilibrium,
    capacity_exploitability,
    capacity_payoff,
    capacity_payoff_grad,
    exploitability_grad,
    lipschitz_constant,
    minimax_policy,
    reference_capacity_payoff,
    ring_capacity_exploitability,
    ring_capacity_returns,
    train_latent_modes,
)

ALL = (3, 4, 5, 6, 8, 10, 12, 16)


def test_digest_reference_values():
    # docs/papers/mra.md: p*(n) for c = 2, b = 0.4 (p*(3) = sqrt(0.6) since u_A = 1 - p^2)
    ref = {3: 0.7746, 4: 0.5671, 5: 0.4445, 6: 0.3650, 8: 0.2685, 10: 0.2123, 12: 0.1755, 16: 0.1303}
    for n, v in ref.items():
        assert capacity_equilibrium(n) == pytest.approx(v, abs=5e-5)
    assert capacity_equilibrium(3) == pytest.approx(np.sqrt(0.6), abs=1e-12)
    p, v = minimax_policy((3, 5, 8, 12))
    assert v == pytest.approx(0.1895, abs=1e-4) and p == pytest.approx(0.483, abs=1e-3)
    worst = [best_mode_exploitability((np.arange(K) + 0.5) / K, ALL).max() for K in (1, 2, 4, 8, 16, 32)]
    np.testing.assert_allclose(worst, [0.200, 0.254, 0.134, 0.061, 0.028, 0.014], atol=5e-4)
    assert capacity_equilibrium(2) == 1.0 and capacity_exploitability(1.0, 2) == 0.0


@settings(max_examples=30, deadline=None)
@given(p=st.floats(0, 1), n=st.integers(1, 30), c=st.integers(1, 5))
def test_payoff_matches_beta_twin_and_exploitability_is_a_gain(p, n, c):
    a = capacity_payoff(p, n, capacity=c)
    b = reference_capacity_payoff(p, n, capacity=c)
    assert abs(float(a) - float(b)) < 1e-12
    e = float(capacity_exploitability(p, n, capacity=c))
    assert -1e-15 <= e <= 1.0


@pytest.mark.parametrize("n", [3, 7, 12])
def test_gradients_match_finite_differences(n):
    p = np.array([0.1, 0.33, 0.6, 0.9])
    eps = 1e-7
    fd = (capacity_payoff(p + eps, n) - capacity_payoff(p - eps, n)) / (2 * eps)
    np.testing.assert_allclose(capacity_payoff_grad(p, n), fd, atol=1e-6)
    p = p[np.abs(capacity_payoff(p, n) - 0.4) > 1e-3]
    fd = (capacity_exploitability(p + eps, n) - capacity_exploitability(p - eps, n)) / (2 * eps)
    np.testing.assert_allclose(exploitability_grad(p, n), fd, atol=1e-6)


def test_equilibrium_has_zero_exploitability_and_lipschitz_bound():
    for n in ALL:
        ps = capacity_equilibrium(n)
        assert capacity_exploitability(ps, n) < 1e-12
        L = lipschitz_constant(n)
        g = np.linspace(0, 1, 2001)
        e = capacity_exploitability(g, n)
        assert np.max(np.abs(np.diff(e))) <= L * (g[1] - g[0]) * (1 + 1e-6)


def test_training_and_adaptation():
    r = train_latent_modes((3, 5, 8, 12), 4, steps=2000, rng=np.random.default_rng(0))
    assert sorted(r.assignment.tolist()) == [0, 1, 2, 3] and r.train_exploitability.max() < 0.01
    one = train_latent_modes((3, 5, 8, 12), 1, steps=300, rng=np.random.default_rng(0))
    assert one.train_exploitability.max() > 0.1  # MR1: one mode cannot serve all
    a = adapt_mode(0.3, 8)
    assert a.steps_to_tol >= 0 and a.exploitability[-1] < 1e-3 and np.all(np.diff(a.exploitability) <= 0)


def test_markov_ring():
    rng = np.random.default_rng(0)
    # n <= capacity: nobody is ever crowded, every agent earns 1 at every step
    assert ring_capacity_returns(0.5, 0.5, 2, rng=rng, n_episodes=50) == 1.0
    # 12 agents on 3 cells of capacity 2 (6 seats): never moving is exploitable, moving sometimes less so
    e0 = ring_capacity_exploitability(0.0, 12, n_episodes=400, rng=np.random.default_rng(1))
    e2 = ring_capacity_exploitability(0.2, 12, n_episodes=400, rng=np.random.default_rng(1))
    assert e0 > 0.05 and e2 < e0 and e2 >= 0
    with pytest.raises(ValueError, match="p_dev"):
        ring_capacity_returns(1.5, 0.5, 4, rng=rng)
    with pytest.raises(ValueError, match="cells"):
        ring_capacity_exploitability(0.5, 4, cells=1, rng=rng)


def test_bad_input():
    with pytest.raises(ValueError, match="n must be"):
        capacity_payoff(0.5, 0)
    with pytest.raises(ValueError, match=r"p must lie in \[0, 1\]"):
        capacity_payoff(1.5, 3)
    with pytest.raises(ValueError, match="outside"):
        capacity_exploitability(0.5, 3, outside=1.2)
    with pytest.raises(ValueError, match="capacity"):
        capacity_equilibrium(3, capacity=0)
    with pytest.raises(ValueError, match="ns must be a non-empty"):
        minimax_policy([])
    with pytest.raises(ValueError, match="n_modes"):
        train_latent_modes((3, 5), 0, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        train_latent_modes((3, 5), 2, rng=3)
    with pytest.raises(ValueError, match="p0"):
        adapt_mode(-0.1, 4)
    with pytest.raises(ValueError, match="modes must lie"):
        best_mode_exploitability([0.2, 1.2], (3,))
