"""mdp.stability (the policy cliff) and mdp.soft_policy_iteration: known values, properties, twins, bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import logsumexp

import mdp
from mdp import stability as stab
from mdp.generators import random_mdp
from mdp.solvers.soft_policy_iteration import reference_soft_policy_iteration


def _bandit(row):
    row = np.asarray(row, dtype=float)
    return mdp.TabularMDP(np.ones((1, row.size, 1)), row[None, :], 0.0)


# ---------------------------------------------------------------------------- known values
def test_bandit_gap_and_radius():
    # gamma = 0: Q* = R, so Delta = 1 - 0.7 and the radius (1 - gamma) Delta / 2 = 0.15 (definitions)
    g = stab.action_gap(_bandit([1.0, 0.7, 0.5]))
    assert g.gap == pytest.approx(0.3, abs=1e-15) and g.radius == pytest.approx(0.15, abs=1e-13)
    assert g.optimal.tolist() == [[True, False, False]] and g.tie_states.size == 0
    t = stab.action_gap(_bandit([1.0, 1.0, 0.5]))
    assert t.gap == 0.0 and t.radius == 0.0 and t.tie_states.tolist() == [0]
    assert stab.optimal_policies(t).tolist() == [[0], [1]]


def test_tie_with_different_transitions_is_detected():
    # state 0: "stay" pays 1 and loops, "go" pays 0 and moves to state 1, which pays 2 forever; gamma = 1/2.
    # Hand computation: V(1) = 2 / (1 - 1/2) = 4, Q(0, go) = 1/2 * 4 = 2, Q(0, stay) = 1 + V(0)/2 = 2: a tie
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = P[0, 1, 1] = P[1, :, 1] = 1.0
    R = np.array([[1.0, 0.0], [2.0, 2.0]])
    g = stab.action_gap(mdp.TabularMDP(P, R, 0.5), states=[0])
    assert g.gap == 0.0 and g.optimal[0].all() and g.q_error < 1e-10
    np.testing.assert_allclose(g.q[0], [2.0, 2.0], atol=1e-10)


def test_soft_bandit_closed_form():
    # gamma = 0: V_tau = tau logsumexp(R / tau), pi_tau = softmax(R / tau) (definition, digest "Formal setting")
    row = np.array([1.0, 1.0, 0.0])
    for tau in (0.05, 0.5, 2.0):
        r = stab.soft_optimal_policy(_bandit(row), tau)
        assert r.v[0] == pytest.approx(tau * logsumexp(row / tau), abs=1e-12)
        np.testing.assert_allclose(r.pi[0], np.exp(row / tau) / np.exp(row / tau).sum(), atol=1e-12)
        assert r.price_bound == pytest.approx(tau * math.log(3))
        assert r.lipschitz == pytest.approx(1 / tau)


def test_soft_policy_iteration_matches_soft_value_iteration_and_twin():
    m = random_mdp(12, 3, rng=np.random.default_rng(0), gamma=0.9)
    for lam in (0.5, 5.0, 50.0):
        pi_res = mdp.soft_policy_iteration(m, lam, tol=1e-11)
        vi_res = mdp.soft_value_iteration(m, lam, tol=1e-11)
        assert pi_res.converged and pi_res.n_iter < 30
        assert np.abs(pi_res.v - vi_res.v).max() <= pi_res.error_bound + vi_res.error_bound
        v, pi, _ = reference_soft_policy_iteration(m.P, m.R, m.gamma, lam, 1e-12, 200)
        np.testing.assert_allclose(pi_res.v, v, atol=1e-9)
        np.testing.assert_allclose(pi_res.pi, pi, atol=1e-9)
    # the residual trace is (weakly) decreasing: soft policy improvement is monotone
    r = mdp.soft_policy_iteration(m, 2.0)
    assert np.all(np.diff(r.residuals) <= 1e-12)


def test_soft_solvers_agree_in_soft_optimal_policy():
    m = random_mdp(6, 3, rng=np.random.default_rng(1), gamma=0.8)
    a = stab.soft_optimal_policy(m, 0.2, method="policy_iteration")
    b = stab.soft_optimal_policy(m, 0.2, method="value_iteration")
    assert 2 * stab.policy_tv(a.pi, b.pi).max() <= a.policy_error_bound + b.policy_error_bound
    assert a.method == "soft_policy_iteration" and b.method == "soft_value_iteration"


def test_effective_path_two_arm_bandit():
    # (1 - w) [1, 0] + w [0, 1]: arm 0 below w = 1/2, arm 1 above (solve 1 - w = w)
    p = stab.effective_reward_path(_bandit([0, 0]), [[1.0, 0.0]], [[0.0, 1.0]])
    np.testing.assert_allclose(p.breakpoints, [0.5], atol=1e-12)
    assert p.policies.tolist() == [[0], [1]] and p.policy_at(0.2).tolist() == [0] and p.policy_at(0.7).tolist() == [1]
    np.testing.assert_allclose(stab.effective_reward([[[1.0, 0.0]], [[0.0, 1.0]]], [0.25, 0.75]), [[0.25, 0.75]])


def test_reasoning_tree_structure():
    t = stab.reasoning_tree()
    assert t.mdp.n_states == 1 + 4 + 16 + 1 and t.traces.shape == (64, 3)
    assert t.correct.sum() == 6 and t.shortcut.sum() == 3
    g = stab.action_gap(t.mdp, states=t.decision_states)
    assert g.gap == 0.0 and 0 in g.tie_states.tolist()  # the root: faithful and shortcut branches tie
    assert g.v[0] == pytest.approx(t.mdp.gamma**2)
    u = np.full((t.mdp.n_states, 4), 0.25)
    np.testing.assert_allclose(stab.trace_distribution(t, u), 1 / 64)
    # with the weak reward favouring shortcuts, w > 0 picks the best-formatted shortcut, then an incorrect trace
    p = stab.effective_reward_path(t.mdp, t.verifier, t.weak)
    top = [int(np.argmax(stab.trace_distribution(t, p.policy_at(w)))) for w in (0.1, 0.95)]
    assert t.shortcut[top[0]] and not t.correct[top[1]]


def test_softmax_pg_gradient_matches_finite_differences():
    # exact gradient of the softmax parametrisation (Agarwal et al. 2021, Lemma C.1) vs central differences
    m = random_mdp(4, 3, rng=np.random.default_rng(2), gamma=0.8)
    rho = np.full(4, 0.25)
    th = np.random.default_rng(3).standard_normal((4, 3))
    J, g = stab.reference_softmax_pg_gradient(m.P, m.R, m.gamma, rho, th)
    h = 1e-6
    fd = np.zeros_like(th)
    for s in range(4):
        for a in range(3):
            e = np.zeros_like(th)
            e[s, a] = h
            fd[s, a] = (
                stab.reference_softmax_pg_gradient(m.P, m.R, m.gamma, rho, th + e)[0]
                - stab.reference_softmax_pg_gradient(m.P, m.R, m.gamma, rho, th - e)[0]
            ) / (2 * h)
    np.testing.assert_allclose(g, fd, atol=1e-7)
    r = stab.softmax_pg(m, th, rho=rho, lr=0.5, n_steps=1)
    assert r.values[0] == pytest.approx(J, abs=1e-12)
    np.testing.assert_allclose(r.theta, th + 0.5 * g, atol=1e-12)


def test_softmax_pg_climbs_to_the_optimum():
    m = random_mdp(5, 3, rng=np.random.default_rng(4), gamma=0.7)
    r = stab.softmax_pg(m, np.zeros((5, 3)), lr=5.0, n_steps=3000)
    vstar = mdp.solve(m, tol=1e-12).v.mean()
    # sublinear O(1/t) rate (Mei et al. 2020): 3000 steps reach ~2e-4
    assert np.all(np.diff(r.values) >= -1e-12) and r.values[-1] == pytest.approx(vstar, abs=1e-3)


# ---------------------------------------------------------------------------- properties
@settings(deadline=None, max_examples=25)
@given(st.integers(0, 10_000), st.sampled_from([0.0, 1e-9, 0.1]))
def test_gap_from_q_matches_loop_twin(seed, tol):
    rng = np.random.default_rng(seed)
    q = np.round(rng.random((5, 4)), 1)  # rounding makes exact ties common
    g1, o1 = stab.gap_from_q(q, tol)
    g2, o2 = stab.reference_action_gap(q, tol)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_allclose(g1, g2)


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 10_000))
def test_deterministic_optimal_policies_attain_v_star(seed):
    m = random_mdp(4, 3, rng=np.random.default_rng(seed), gamma=0.8)
    from theory_checks.policy_cliff import duplicate_action

    mt = duplicate_action(m, 0)
    g = stab.action_gap(mt)
    pols = stab.optimal_policies(g)
    assert len(pols) >= 1 and all(stab.in_optimal_set(g, p) for p in pols)
    for p in pols:
        np.testing.assert_allclose(mdp.policy_evaluation(mt, p).v, g.v, atol=1e-9)


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 10_000), st.sampled_from([0.05, 0.5]))
def test_soft_policy_is_lipschitz_in_the_reward(seed, tau):
    rng = np.random.default_rng(seed)
    m = random_mdp(5, 3, rng=rng, gamma=0.8)
    dR = 0.1 * rng.standard_normal(m.R.shape)
    a = stab.soft_optimal_policy(m, tau)
    b = stab.soft_optimal_policy(stab.with_reward(m, m.R + dR), tau)
    assert 2 * stab.policy_tv(a.pi, b.pi).max() <= a.lipschitz * np.abs(dR).max() + 1e-9


@settings(deadline=None, max_examples=8)
@given(st.integers(0, 10_000))
def test_effective_path_matches_grid_of_exact_solves(seed):
    rng = np.random.default_rng(seed)
    m = random_mdp(3, 3, rng=rng, gamma=0.6)
    R1, R2 = rng.random((3, 3)), rng.random((3, 3))
    p = stab.effective_reward_path(m, R1, R2)
    grid = np.linspace(0.0, 1.0, 60)
    ref = stab.reference_effective_policies(m, R1, R2, grid)
    for w, pol in zip(grid, ref):
        if np.min(np.abs(p.breakpoints - w), initial=1.0) > 1e-9:
            assert np.array_equal(p.policy_at(w), pol)


# ---------------------------------------------------------------------------- differential
def test_softmax_pg_kernel_matches_twin():
    m = random_mdp(6, 2, rng=np.random.default_rng(5), gamma=0.9)
    th = np.random.default_rng(6).standard_normal((6, 2))
    rho = np.eye(6)[0]
    th_ref = th.copy()
    for _ in range(20):
        _, g = stab.reference_softmax_pg_gradient(m.P, m.R, m.gamma, rho, th_ref)
        th_ref = th_ref + 0.3 * g
    r = stab.softmax_pg(m, th, rho=rho, lr=0.3, n_steps=20)
    np.testing.assert_allclose(r.theta, th_ref, atol=1e-11)


# ---------------------------------------------------------------------------- bad input
def test_bad_input():
    m = _bandit([1.0, 0.0])
    for bad, exc in (
        (0.0, ValueError),
        (-1.0, ValueError),
        (float("inf"), ValueError),
        (True, TypeError),
        ("1", TypeError),
    ):
        with pytest.raises(exc, match="tau"):
            stab.soft_optimal_policy(m, bad)
    with pytest.raises(ValueError, match="lam"):
        mdp.soft_policy_iteration(m, 0.0)
    with pytest.raises(ValueError, match="pi0"):
        mdp.soft_policy_iteration(m, 1.0, pi0=np.array([0]))
    with pytest.raises(ValueError, match="method"):
        stab.soft_optimal_policy(m, 1.0, method="newton")
    with pytest.raises(ValueError, match="tie_tol"):
        stab.action_gap(m, tie_tol=-1.0)
    with pytest.raises(ValueError, match="states"):
        stab.action_gap(m, states=[3])
    with pytest.raises(TypeError, match="states"):
        stab.action_gap(m, states=[])
    with pytest.raises(TypeError, match="TabularMDP"):
        stab.action_gap("not a model")
    with pytest.raises(TypeError, match="ActionGapResult"):
        stab.optimal_policies(None)
    many = stab.action_gap(mdp.TabularMDP(np.ones((4, 3, 4)) / 4, np.zeros((4, 3)), 0.5))
    with pytest.raises(ValueError, match="limit"):
        stab.optimal_policies(many, limit=10)
    with pytest.raises(ValueError, match="R must have shape"):
        stab.with_reward(m, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="weights"):
        stab.effective_reward(np.zeros((2, 1, 2)), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="lo must be < hi"):
        stab.effective_reward_path(m, [[1.0, 0.0]], [[0.0, 1.0]], lo=0.5, hi=0.5)
    with pytest.raises(ValueError, match="R2"):
        stab.effective_reward_path(m, [[1.0, 0.0]], [[0.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match="theta0"):
        stab.softmax_pg(m, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="lr"):
        stab.softmax_pg(m, np.zeros((1, 2)), lr=0.0)
    with pytest.raises(ValueError, match="dense"):
        stab.softmax_pg(m.to_sparse(), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="rho"):
        stab.softmax_pg(m, np.zeros((1, 2)), rho=[0.5])
    with pytest.raises(ValueError, match="n_actions"):
        stab.policy_tv([0], [1])
    with pytest.raises(ValueError, match="not a sequence"):
        stab.reasoning_tree(faithful=((0, 0, 9),))
    with pytest.raises(ValueError, match="twice"):
        stab.reasoning_tree(faithful=((0, 0, 0),), shortcut=((0, 0, 0),))
    with pytest.raises(ValueError, match="weak"):
        stab.reasoning_tree(weak=np.zeros(3))
    with pytest.raises(TypeError, match="ReasoningTree"):
        stab.trace_distribution(m, [0])
