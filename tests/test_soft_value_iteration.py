"""Soft (entropy-regularised) value iteration and soft policy evaluation (mdp.soft_value_iteration)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

import mdp
from mdp import ConvergenceWarning
from mdp.generators import random_mdp
from mdp.solvers.soft_value_iteration import (
    reference_soft_sweep,
    reference_soft_value_iteration,
    soft_bellman_operator,
)


def _exact_soft(m, lam):
    """v*_lam to ~1e-14 by the numpy twin (many sweeps)."""
    v, _ = reference_soft_value_iteration(m.dense_P(), m.R, m.gamma, lam, 1e-15, 100_000)
    return v


# ---------------------------------------------------------------------------- known values
@pytest.mark.parametrize("lam", [0.1, 1.0, 7.0])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.95])
def test_single_state_closed_form(lam, gamma):
    # one state with self-loops: v = gamma v + lse(lam r)/lam, so v* = logsumexp(lam r) / (lam (1 - gamma))
    # (derived from the fixed-point equation; Ziebart 2010, Ch. 6 for the soft Bellman equation)
    r = np.array([[1.0, -0.5, 2.0]])
    m = mdp.TabularMDP(np.ones((1, 3, 1)), r, gamma)
    res = mdp.soft_value_iteration(m, lam, tol=1e-10)
    exact = logsumexp(lam * r[0]) / (lam * (1 - gamma))
    assert res.converged and abs(res.v[0] - exact) <= res.error_bound <= 1e-10
    np.testing.assert_allclose(res.pi[0], np.exp(lam * r[0]) / np.exp(lam * r[0]).sum(), atol=1e-12)


def test_large_lam_approaches_hard_value_iteration():
    # soft values exceed hard ones by at most log(A) / (lam (1 - gamma)) (Ziebart 2010; each sweep adds <= log A / lam)
    m = mdp.generators.forest(gamma=0.9)
    hard = mdp.value_iteration(m, tol=1e-12).v
    for lam in (10.0, 1e3, 1e8):
        soft = mdp.soft_value_iteration(m, lam).v
        assert np.all(soft >= hard - 1e-9)
        assert np.all(soft - hard <= np.log(2) / (lam * 0.1) + 1e-9)


def test_huge_lam_no_overflow():
    m = mdp.generators.forest(gamma=0.9)
    res = mdp.soft_value_iteration(m, 1e300)
    assert np.all(np.isfinite(res.v)) and np.all(np.isfinite(res.pi))


# ---------------------------------------------------------------------------- properties
@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    S=st.integers(1, 6),
    A=st.integers(1, 4),
    gamma=st.sampled_from([0.0, 0.3, 0.9, 0.99]),
    lam=st.sampled_from([0.05, 1.0, 20.0]),
    sparse=st.booleans(),
)
def test_certificate_holds_and_policy_is_soft_optimal(seed, S, A, gamma, lam, sparse):
    rng = np.random.default_rng(seed)
    m = random_mdp(S, A, rng=rng, gamma=gamma)
    if sparse:
        m = m.to_sparse()
    res = mdp.soft_value_iteration(m, lam, tol=1e-9)
    v_star = _exact_soft(m, lam)
    assert np.abs(res.v - v_star).max() <= res.error_bound * (1 + 1e-9) + 1e-13
    assert res.error_bound <= 1e-9 and res.converged
    # the Boltzmann policy of the fixed point is soft-optimal: its soft value is v*
    pe = mdp.soft_policy_evaluation(m, res.pi, lam)
    assert np.abs(pe.v - v_star).max() <= 2 * 1e-9 / max(1 - gamma, 1e-3) + 1e-9
    # and no random policy does better (regularised optimality)
    pi_rand = rng.dirichlet(np.ones(A), size=S)
    assert np.all(mdp.soft_policy_evaluation(m, pi_rand, lam).v <= v_star + 1e-8)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), gamma=st.sampled_from([0.5, 0.9]), lam=st.sampled_from([0.1, 2.0, 50.0]))
def test_soft_operator_is_gamma_contraction(seed, gamma, lam):
    rng = np.random.default_rng(seed)
    m = random_mdp(5, 3, rng=rng, gamma=gamma)
    u, w = rng.normal(size=5) * 10, rng.normal(size=5) * 10
    _, tu = soft_bellman_operator(m, u, lam)
    _, tw = soft_bellman_operator(m, w, lam)
    assert np.abs(tu - tw).max() <= gamma * np.abs(u - w).max() * (1 + 1e-12) + 1e-12
    # constant shifts move T by exactly gamma times the shift
    _, tc = soft_bellman_operator(m, u + 3.0, lam)
    np.testing.assert_allclose(tc - tu, 3.0 * gamma, atol=1e-10)


def test_soft_policy_evaluation_matches_linear_solve():
    rng = np.random.default_rng(3)
    m = random_mdp(6, 3, rng=rng, gamma=0.8)
    pi = rng.dirichlet(np.ones(3), size=6)
    pi[0] = [1.0, 0.0, 0.0]  # 0 log 0 = 0
    lam = 2.5
    ent = -np.sum(np.where(pi > 0, pi * np.log(np.where(pi > 0, pi, 1)), 0.0), axis=1)
    P = m.dense_P()
    v = np.linalg.solve(np.eye(6) - 0.8 * np.einsum("sa,sat->st", pi, P), np.einsum("sa,sa->s", pi, m.R) + ent / lam)
    res = mdp.soft_policy_evaluation(m, pi, lam)
    assert np.abs(res.v - v).max() <= 1e-10
    np.testing.assert_allclose(res.q, m.R + 0.8 * P @ res.v, atol=1e-12)
    # deterministic policies have zero entropy: ordinary evaluation
    det = mdp.soft_policy_evaluation(m, np.zeros(6, dtype=int), lam)
    np.testing.assert_allclose(det.v, mdp.policy_evaluation(m, np.zeros(6, dtype=int)).v, atol=1e-12)


# ---------------------------------------------------------------------------- differential
@pytest.mark.parametrize("seed", range(3))
def test_kernel_matches_reference_twin(seed):
    rng = np.random.default_rng(seed)
    m = random_mdp(8, 4, rng=rng, gamma=0.9)
    for lam in (0.3, 4.0):
        v = rng.normal(size=8)
        q, tv = soft_bellman_operator(m, v, lam)
        q_ref, tv_ref = reference_soft_sweep(m.dense_P(), m.R, 0.9, lam, v)
        np.testing.assert_allclose(q, q_ref, atol=1e-13)
        np.testing.assert_allclose(tv, tv_ref, atol=1e-13)
        _, tv_sp = soft_bellman_operator(m.to_sparse(), v, lam)
        np.testing.assert_allclose(tv_sp, tv_ref, atol=1e-13)
        res = mdp.soft_value_iteration(m, lam, tol=1e-11)
        v_ref, _ = reference_soft_value_iteration(m.dense_P(), m.R, 0.9, lam, 1e-11, 10_000)
        np.testing.assert_allclose(res.v, v_ref, atol=1e-10)


def test_result_is_frozen_and_warm_start():
    m = mdp.generators.forest(gamma=0.9)
    res = mdp.soft_value_iteration(m, 2.0, tol=1e-10)
    with pytest.raises(ValueError):
        res.v[0] = 1.0
    warm = mdp.soft_value_iteration(m, 2.0, tol=1e-10, v0=res.v)
    assert warm.n_iter <= 2


def test_max_iter_warns():
    m = mdp.generators.forest(gamma=0.99)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        res = mdp.soft_value_iteration(m, 1.0, max_iter=3)
    assert not res.converged and np.isfinite(res.error_bound)


def test_tol_below_floor_warns():
    m = mdp.generators.forest(gamma=0.99)
    with pytest.warns(ConvergenceWarning, match="round-off"):
        res = mdp.soft_value_iteration(m, 1.0, tol=1e-18)
    # the certificate still holds
    assert np.abs(res.v - _exact_soft(m, 1.0)).max() <= res.error_bound


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "lam, exc",
    [
        (0.0, ValueError),
        (-1.0, ValueError),
        (np.inf, ValueError),
        (np.nan, ValueError),
        ("1", TypeError),
        (True, TypeError),
        (None, TypeError),
    ],
)
def test_bad_lam(lam, exc):
    m = mdp.generators.forest()
    with pytest.raises(exc, match="lam"):
        mdp.soft_value_iteration(m, lam)
    with pytest.raises(exc, match="lam"):
        mdp.soft_policy_evaluation(m, np.full((3, 2), 0.5), lam)


def test_bad_other_arguments():
    m = mdp.generators.forest()
    with pytest.raises(TypeError, match="m must be"):
        mdp.soft_value_iteration(np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match="tol"):
        mdp.soft_value_iteration(m, 1.0, tol=0.0)
    with pytest.raises(ValueError, match="max_iter"):
        mdp.soft_value_iteration(m, 1.0, max_iter=0)
    with pytest.raises(ValueError, match="v0"):
        mdp.soft_value_iteration(m, 1.0, v0=np.zeros(4))
    with pytest.raises(ValueError, match="pi"):
        mdp.soft_policy_evaluation(m, np.full((3, 2), 0.7), 1.0)
    with pytest.raises(ValueError, match="raise lam"):
        mdp.soft_value_iteration(m, 1e-305)
