"""mdp.submodular (SubPO) and the claims S1, S3-S5: known values, properties, twins, bad input, failures."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp import submodular as sm
from theory_checks import subrl as SR
from theory_checks.core import get_claim


def _grid5(n):
    """n x n grid, actions stay/N/S/E/W, deterministic."""
    S = n * n
    P = np.zeros((S, 5, S))
    for s in range(S):
        y, x = divmod(s, n)
        for a, (dy, dx) in enumerate(((0, 0), (-1, 0), (1, 0), (0, 1), (0, -1))):
            P[s, a, min(max(y + dy, 0), n - 1) * n + min(max(x + dx, 0), n - 1)] = 1.0
    return mdp.TabularMDP(P, np.zeros((S, 5)), 0.9)


# ---------------------------------------------------------------------------- known values
def test_grid_coverage_values():
    # a corner covers itself and 2 neighbours, an interior cell 5 cells (definition of N(s))
    f = sm.grid_coverage(4)
    assert f.value([0]) == 3 and f.value([5]) == 5 and f.value([0, 0, 0]) == 3
    assert f.value([0, 1]) == 5  # N(0) u N(1) = {0, 1, 4} u {0, 1, 2, 5} = {0, 1, 2, 4, 5}
    assert f.value(range(16)) == 16


def test_facility_location_value():
    f = sm.FacilityLocation([[1.0, 0.2], [0.0, 0.5]])
    assert f.value([]) == 0.0 and f.value([0]) == 1.0 and f.value([0, 1]) == 1.5


def test_markov_gap_instance_values():
    # by hand (docs/papers/subrl.md S5): history-dependent 2.0, best Markov 1.5
    m, f = SR.markov_gap_instance()
    assert sm.best_history_value(m, f, horizon=3, start=0) == pytest.approx(2.0)
    assert sm.best_markov_value(m, f, horizon=3, start=0) == pytest.approx(1.5)


def test_exact_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    m = SR.sample_tiny(rng)
    f = SR._random_coverage(rng, 4)
    th = rng.normal(size=(3, 4, 2))
    g = sm.exact_gradient(m, f, th, 0)
    h = 1e-6
    fd = np.zeros_like(th)
    for idx in np.ndindex(th.shape):
        e = np.zeros_like(th)
        e[idx] = h
        fd[idx] = (sm.exact_objective(m, f, th + e, 0) - sm.exact_objective(m, f, th - e, 0)) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-7)


def test_subpo_beats_additive_and_random_on_a_small_grid():
    m, f = _grid5(4), sm.grid_coverage(4)
    rng = np.random.default_rng(1)
    rtg = sm.subpo(m, f, horizon=6, start=0, rng=rng, n_epochs=80, batch=64, lr=50.0)
    rand = sm.subpo(m, f, horizon=6, start=0, rng=rng, n_epochs=1, batch=512, lr=1.0).values[0]
    assert rtg.values[-10:].mean() > rand + 2
    oracle = sm.greedy_oracle(m, f, horizon=6, start=0, rng=rng)[0]
    assert oracle >= rand


# ---------------------------------------------------------------------------- properties / twins
@settings(deadline=None, max_examples=15)
@given(st.integers(0, 10_000), st.sampled_from(["coverage", "facility", "user"]))
def test_gains_telescope(seed, kind):
    rng = np.random.default_rng(seed)
    if kind == "coverage":
        f = SR._random_coverage(rng, 6)
    elif kind == "facility":
        f = sm.FacilityLocation(rng.random((4, 6)))
    else:
        f = sm.UserFunction(lambda A: float(np.sqrt(len(A))), 6, rng=rng, n_samples=50)
    states = rng.integers(0, 6, size=(5, 7))
    g = sm.marginal_gains(f, states)
    np.testing.assert_allclose(g.sum(axis=1), [f.value(s) for s in states], atol=1e-12)
    assert (g >= -1e-12).all()  # monotone: gains are non-negative


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 10_000))
def test_rollout_kernel_matches_twin(seed):
    rng = np.random.default_rng(seed)
    m = mdp.generators.random_mdp(5, 3, rng=rng)
    th = rng.normal(size=(4, 5, 3))
    ua, us = rng.random((6, 4)), rng.random((6, 4))
    from mdp.submodular.subpo import _run

    got = _run(m, th, 2, ua, us)
    want = sm.reference_rollouts(m, th, 2, ua, us)
    for x, y in zip(got, want):
        np.testing.assert_array_equal(x, y)


def test_check_submodular_flags_violations():
    rng = np.random.default_rng(0)
    assert sm.check_submodular(lambda A: float(len(A) ** 0.5), 6, rng=rng).ok
    bad = sm.check_submodular(lambda A: float(len(A) ** 2), 6, rng=rng)  # supermodular
    assert not bad.ok and bad.submodular_violations > 0
    with pytest.raises(ValueError, match="diminishing-returns"):
        sm.UserFunction(lambda A: float(len(A) ** 2), 6, rng=rng)
    with pytest.raises(ValueError, match="monotonicity"):
        sm.UserFunction(lambda A: -float(len(A)), 6, rng=rng)


# ---------------------------------------------------------------------------- bad input
def test_bad_input():
    m, f = _grid5(3), sm.grid_coverage(3)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="horizon"):
        sm.subpo(m, f, horizon=0, start=0, rng=rng)
    with pytest.raises(ValueError, match="start"):
        sm.subpo(m, f, horizon=3, start=99, rng=rng)
    with pytest.raises(ValueError, match="credit"):
        sm.subpo(m, f, horizon=3, start=0, rng=rng, credit="bogus")
    with pytest.raises(ValueError, match="ground elements"):
        sm.subpo(m, sm.grid_coverage(4), horizon=3, start=0, rng=rng)
    with pytest.raises(ValueError, match="weights"):
        sm.CoverageFunction(np.ones((2, 2), dtype=bool), [-1.0, 1.0])
    with pytest.raises(ValueError, match="cover"):
        sm.CoverageFunction(np.ones((0, 2), dtype=bool))
    with pytest.raises(ValueError, match="sim"):
        sm.FacilityLocation([[-1.0]])
    with pytest.raises(ValueError, match="theta"):
        sm.rollouts(m, np.zeros((3, 2, 5)), 0, n_rollouts=2, rng=rng)
    with pytest.raises(ValueError, match="n_rollouts"):
        sm.rollouts(m, np.zeros((3, 9, 5)), 0, n_rollouts=0, rng=rng)
    with pytest.raises(TypeError, match="callable"):
        sm.check_submodular(3, 4, rng=rng)


# ---------------------------------------------------------------------------- claims
@pytest.mark.parametrize("cid", ["S1", "S3", "S4", "S5"])
def test_claim_holds(cid):
    c = get_claim(cid)
    assert c.subjects and c.instance and c.accepts is not None
    r = c.check(np.random.default_rng(0))
    assert r.holds, (cid, r, r.details.get("worst_part"))


def test_claims_reject_bad_instances():
    with pytest.raises(ValueError, match="S <= 6"):
        get_claim("S1").check(mdp.generators.random_mdp(9, 2, rng=np.random.default_rng(0)))
    with pytest.raises(TypeError, match="CoverageFunction"):
        get_claim("S3").check("f")
    with pytest.raises(TypeError, match="tuple"):
        get_claim("S5").check(SR.markov_gap_instance()[0])


def test_claims_can_fail():
    orig_credits = sm.credits
    with mock.patch.object(sm, "credits", lambda f, s, c: 2 * orig_credits(f, s, c)):
        assert not get_claim("S1").check(np.random.default_rng(0)).holds
    with mock.patch.object(sm, "greedy_oracle", lambda *a, **k: np.array([0.0])):
        assert not get_claim("S3").check(np.random.default_rng(0)).holds
    orig_grad = sm.exact_gradient
    with mock.patch.object(sm, "exact_gradient", lambda *a, **k: -orig_grad(*a, **k)):
        assert not get_claim("S4").check(np.random.default_rng(0)).holds
    with mock.patch.object(sm, "best_markov_value", sm.best_history_value):
        assert not get_claim("S5").check(np.random.default_rng(0)).holds
