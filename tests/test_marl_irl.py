"""marl.irl: induced MDPs, marginal soft critics, logit equilibria, expert data, MAMQL, reward recovery."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import marl
import mdp
from marl import generators as G
from marl.irl import (
    induced_mdp,
    joint_reward_regression,
    logit_equilibrium,
    mamql,
    marginal_soft_q,
    occupancy_measure,
    recover_reward,
    remove_shaping,
    sample_demonstrations,
)
from marl.irl.inverse import (
    agent_terms,
    fit_critic,
    iq_objective,
    reference_fit_critic,
    reference_iq_objective,
)
from mdp import ConvergenceWarning
from mdp.solvers.soft_value_iteration import softmax_policy

LAM = 2.0


@pytest.fixture(scope="module")
def setup():
    g = G.random_general_sum_game(5, 3, 3, rng=np.random.default_rng(0), gamma=0.9)
    eq = logit_equilibrium(g, LAM)
    return g, eq, occupancy_measure(g, eq.policies)


def tv(p, q):
    return 0.5 * np.abs(p - q).sum(axis=1)


# ---------------------------------------------------------------------------- known values
def test_repeated_matrix_game_logit_equilibrium_closed_form():
    # one-state repeated game with gamma = 0: the logit QRE of the stage game, x = softmax(lam A y),
    # y = softmax(lam B^T x) (McKelvey & Palfrey 1995, Eq. 3); matching pennies' QRE is uniform
    A = np.array([[1.0, -1.0], [-1.0, 1.0]])
    g = marl.MarkovGame(np.ones((1, 2, 2, 1)), np.stack([A, -A])[:, None], 0.0)
    eq = logit_equilibrium(g, 3.0)
    np.testing.assert_allclose(eq.policies[0][0], [0.5, 0.5], atol=1e-10)
    # an asymmetric game: verify the closed-form fixed-point equations directly
    B = np.array([[2.0, 0.0], [0.5, 1.0]])
    g2 = marl.MarkovGame(np.ones((1, 2, 2, 1)), np.stack([B, B.T * 0.5])[:, None], 0.0)
    eq2 = logit_equilibrium(g2, 1.5, tol=1e-12)
    x, y = eq2.policies[0][0], eq2.policies[1][0]
    sx = np.exp(1.5 * B @ y)
    sy = np.exp(1.5 * (0.5 * B.T).T @ x)
    np.testing.assert_allclose(x, sx / sx.sum(), atol=1e-11)
    np.testing.assert_allclose(y, sy / sy.sum(), atol=1e-11)


def test_marginal_soft_q_single_state_closed_form():
    # one state, gamma 0.5, other player uniform: rbar = R y, Vbar = lse(lam (rbar + gamma Vbar)) / lam
    # => Vbar = logsumexp(lam rbar) / (lam (1 - gamma))
    from scipy.special import logsumexp

    R = np.array([[1.0, 0.0], [0.0, 3.0]])
    g = marl.MarkovGame(np.ones((1, 2, 2, 1)), np.stack([R, R])[:, None], 0.5)
    Q, V = marginal_soft_q(g, 2.0, 0, np.array([[0.5, 0.5]]))
    rbar = R @ [0.5, 0.5]
    assert V[0] == pytest.approx(logsumexp(2.0 * rbar) / (2.0 * 0.5), abs=1e-10)
    np.testing.assert_allclose(Q[0], rbar + 0.5 * V[0], atol=1e-10)


def test_joint_reward_regression_known():
    # one state, pi_o = (1/4, 3/4): least-norm r with r . w = 1 is w / |w|^2 = (0.4, 1.2)
    res = joint_reward_regression(np.array([[1.0]]), np.array([[0.25, 0.75]]))
    np.testing.assert_allclose(res.reward[0, 0], [0.4, 1.2], atol=1e-15)
    assert res.null_space_dim == 1 and res.residual < 1e-15


# ---------------------------------------------------------------------------- properties (M1-M5)
def test_m1_marginal_critic_is_induced_soft_q_and_best_response(setup):
    g, _, _ = setup
    rng = np.random.default_rng(5)
    y = rng.dirichlet(np.ones(3), size=5)
    Q, V = marginal_soft_q(g, LAM, 0, y)
    m = induced_mdp(g, 0, y)
    np.testing.assert_allclose(Q, m.R + 0.9 * m.dense_P() @ V, atol=1e-10)
    pi = softmax_policy(Q, LAM)
    best = mdp.soft_policy_evaluation(m, pi, LAM).v
    np.testing.assert_allclose(best, V, atol=1e-9)
    for _ in range(5):
        assert np.all(mdp.soft_policy_evaluation(m, rng.dirichlet(np.ones(3), size=5), LAM).v <= V + 1e-9)


def test_m2_logit_equilibrium_certificate(setup):
    g, eq, _ = setup
    assert eq.converged and eq.residual < 1e-8
    assert np.all(np.abs(eq.gaps) <= 1e-8)
    for i in (0, 1):
        Q, _ = marginal_soft_q(g, LAM, i, eq.policies[1 - i])
        np.testing.assert_allclose(softmax_policy(Q, LAM), eq.policies[i], atol=1e-8)


def test_equilibrium_gap_detects_non_equilibrium():
    g = G.random_general_sum_game(4, 2, 3, rng=np.random.default_rng(3), gamma=0.8)
    with pytest.warns(ConvergenceWarning):
        eq = logit_equilibrium(g, 3.0, max_iter=1)
    assert eq.gaps.max() > 1e-3 and not eq.converged


def test_m3_exact_occupancy_linear_phi_recovers_policy(setup):
    g, eq, occ = setup
    res = mamql(g, occ, LAM, phi="linear")
    for i in (0, 1):
        assert tv(res.policies[i], eq.policies[i])[res.support[i].any(axis=1)].max() < 1e-6


def test_chi2_bias_shrinks_with_alpha(setup):
    g, eq, occ = setup
    errs = [
        max(tv(mamql(g, occ, LAM, alpha=a).policies[i], eq.policies[i]).max() for i in (0, 1))
        for a in (0.1, 0.5, 2.0, 10.0)
    ]
    assert all(b < a for a, b in itertools.pairwise(errs)), errs


def test_m4_reward_recovered_up_to_shaping(setup):
    g, eq, occ = setup
    res = mamql(g, occ, LAM, phi="linear")
    for i in (0, 1):
        m = induced_mdp(g, i, eq.policies[1 - i])
        sh = remove_shaping(res.rewards[i], m.R, res.p_bar[i], g.gamma, weights=res.support[i])
        assert sh.residual < 1e-6 and sh.correlation_after > 1 - 1e-9
        # shaping removal is not trivially perfect: an unrelated reward keeps a large residual
        bad = remove_shaping(np.random.default_rng(1).normal(size=m.R.shape), m.R, res.p_bar[i], g.gamma)
        assert bad.residual > 0.1


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), S=st.integers(1, 5), Ai=st.integers(1, 4), Ao=st.integers(1, 4))
def test_m5_joint_regression_meets_constraints_and_null_space(seed, S, Ai, Ao):
    rng = np.random.default_rng(seed)
    rbar = rng.normal(size=(S, Ai))
    pi_o = rng.dirichlet(np.ones(Ao), size=S)
    res = joint_reward_regression(rbar, pi_o)
    assert res.residual < 1e-12
    # the constraint matrix's null space, by SVD
    C = np.zeros((S * Ai, S * Ai * Ao))
    for s in range(S):
        for a in range(Ai):
            C[s * Ai + a, (s * Ai + a) * Ao : (s * Ai + a + 1) * Ao] = pi_o[s]
    assert S * Ai * Ao - np.linalg.matrix_rank(C) == res.null_space_dim == S * Ai * (Ao - 1)
    # least norm: orthogonal to the null space (lies in the row space of C)
    x = res.reward.ravel()
    np.testing.assert_allclose(C.T @ np.linalg.lstsq(C.T, x, rcond=None)[0], x, atol=1e-10)


def test_recover_reward_inverts_soft_bellman(setup):
    g, eq, _ = setup
    m = induced_mdp(g, 0, eq.policies[1])
    Q, _ = marginal_soft_q(g, LAM, 0, eq.policies[1])
    np.testing.assert_allclose(recover_reward(Q, m, g.gamma, LAM), m.R, atol=1e-9)


def test_occupancy_and_demonstrations_agree(setup):
    g, eq, occ = setup
    assert occ.rho.sum() == pytest.approx(1.0) and occ.rho.min() >= 0
    d = sample_demonstrations(g, eq.policies, n_trajectories=4000, horizon=60, rng=np.random.default_rng(0))
    w = g.gamma ** np.arange(60)
    emp = np.zeros(5)
    np.add.at(emp, d.states[:, :60], np.broadcast_to(w, (4000, 60)))
    emp /= emp.sum()
    np.testing.assert_allclose(emp, occ.rho.sum(axis=(1, 2)), atol=0.02)


def test_mamql_from_demonstrations_approaches_expert(setup):
    g, eq, _ = setup
    d = sample_demonstrations(g, eq.policies, n_trajectories=300, horizon=30, rng=np.random.default_rng(2))
    res = mamql(g, d, LAM, phi="linear")
    assert max(tv(res.policies[i], eq.policies[i]).max() for i in (0, 1)) < 0.15


# ---------------------------------------------------------------------------- differential
@pytest.mark.parametrize("phi", ["chi2", "linear"])
def test_objective_kernel_matches_twin_and_finite_differences(setup, phi):
    g, eq, occ = setup
    d = sample_demonstrations(g, eq.policies, n_trajectories=20, horizon=10, rng=np.random.default_rng(3))
    Q = np.random.default_rng(1).normal(size=(5, 3))
    for data in (occ, d):
        t = agent_terms(g, data, 1)
        J, gr = iq_objective(Q, LAM, 0.9, t, phi=phi, alpha=0.7)
        J2, gr2 = reference_iq_objective(Q, LAM, 0.9, t, phi=phi, alpha=0.7)
        assert abs(J - J2) < 1e-13 and np.abs(gr - gr2).max() < 1e-13
        E = np.zeros_like(Q)
        E[3, 2] = 1e-6
        fd = (
            iq_objective(Q + E, LAM, 0.9, t, phi=phi, alpha=0.7)[0]
            - iq_objective(Q - E, LAM, 0.9, t, phi=phi, alpha=0.7)[0]
        ) / 2e-6
        assert fd == pytest.approx(gr[3, 2], abs=1e-7)


def test_fit_kernel_matches_reference_fit(setup):
    g, _, occ = setup
    t = agent_terms(g, occ, 0)
    Qk = fit_critic(t, 5, 3, LAM, 0.9)[0]
    Qr = reference_fit_critic(t, 5, 3, LAM, 0.9)
    np.testing.assert_allclose(Qk, Qr, atol=1e-6)


def test_sparse_game_same_as_dense():
    gs = G.random_general_sum_game(4, 2, 2, rng=np.random.default_rng(7), gamma=0.8, sparse=True, branching=2)
    gd = marl.MarkovGame(gs.dense_P(), gs.rewards, gs.gamma)
    es, ed = logit_equilibrium(gs, 1.0), logit_equilibrium(gd, 1.0)
    np.testing.assert_allclose(es.policies[0], ed.policies[0], atol=1e-9)
    np.testing.assert_allclose(
        occupancy_measure(gs, es.policies).rho, occupancy_measure(gd, ed.policies).rho, atol=1e-9
    )


# ---------------------------------------------------------------------------- bad input
def test_bad_inputs(setup):
    g, eq, occ = setup
    for lam in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="lam"):
            logit_equilibrium(g, lam)
        with pytest.raises(ValueError, match="lam"):
            mamql(g, occ, lam)
        with pytest.raises(ValueError, match="lam"):
            marginal_soft_q(g, lam, 0, eq.policies[1])
    with pytest.raises(TypeError, match="game"):
        logit_equilibrium(mdp.generators.forest(), 1.0)
    with pytest.raises(TypeError, match="game"):
        mamql(np.zeros(3), occ, 1.0)
    with pytest.raises(ValueError, match="i must"):
        induced_mdp(g, 2, eq.policies[1])
    with pytest.raises(ValueError, match="pi_other"):
        induced_mdp(g, 0, np.full((5, 2), 0.5))
    with pytest.raises(ValueError, match="damping"):
        logit_equilibrium(g, 1.0, damping=0.0)
    bad = np.array(occ.rho) * 2
    with pytest.raises(ValueError, match="occupancy must be a distribution summing"):
        mamql(g, bad, 1.0)
    neg = np.array(occ.rho)
    neg[0, 0, 0] = -0.1
    neg[0, 0, 1] += 0.1
    with pytest.raises(ValueError, match="non-negative"):
        mamql(g, neg, 1.0)
    with pytest.raises(ValueError, match=r"occupancy must have shape"):
        mamql(g, np.full((5, 3, 2), 1 / 30), 1.0)
    d = sample_demonstrations(g, eq.policies, n_trajectories=3, horizon=4, rng=np.random.default_rng(0))
    acts = np.array(d.actions)
    acts[1, 2, 1] = 3
    with pytest.raises(ValueError, match=r"actions\[1, 2, 1\] = 3"):
        mamql(g, (d.states, acts), 1.0)
    sts = np.array(d.states)
    sts[0, 0] = 5
    with pytest.raises(ValueError, match=r"states\[0, 0\] = 5"):
        mamql(g, (sts, d.actions), 1.0)
    with pytest.raises(ValueError, match="states .n, H"):
        mamql(g, (d.states[:, :-1], d.actions), 1.0)
    with pytest.raises(TypeError, match="integers"):
        mamql(g, (d.states.astype(float), d.actions), 1.0)
    with pytest.raises(TypeError, match="Demonstrations"):
        mamql(g, "demos", 1.0)
    with pytest.raises(ValueError, match="phi"):
        mamql(g, occ, 1.0, phi="kl")
    with pytest.raises(ValueError, match="alpha"):
        mamql(g, occ, 1.0, alpha=0.0)
    with pytest.raises(ValueError, match="mu0"):
        occupancy_measure(g, eq.policies, mu0=np.ones(5))
    with pytest.raises(TypeError, match="rng"):
        sample_demonstrations(g, eq.policies, n_trajectories=2, horizon=2, rng=0)
    with pytest.raises(ValueError, match="Pbar_i"):
        recover_reward(np.zeros((5, 3)), np.zeros((5, 2, 5)), 0.9, 1.0)
    with pytest.raises(ValueError, match="pi_other"):
        joint_reward_regression(np.zeros((5, 3)), np.full((5, 2), 0.7))
    with pytest.raises(ValueError, match="r_ref"):
        remove_shaping(np.zeros((5, 3)), np.zeros((5, 2)), np.zeros((5, 3, 5)), 0.9)


# ---------------------------------------------------------------------------- baselines
def test_behaviour_cloning_on_exact_occupancy_is_the_expert(setup):
    from marl.irl import behaviour_cloning

    g, eq, occ = setup
    bc = behaviour_cloning(g, occ)
    for i in (0, 1):
        np.testing.assert_allclose(bc.policies[i], eq.policies[i], atol=1e-10)
    d = sample_demonstrations(g, eq.policies, n_trajectories=5, horizon=3, rng=np.random.default_rng(0))
    bc = behaviour_cloning(g, d)
    seen = np.zeros(5, bool)
    seen[d.states[:, :3].ravel()] = True
    np.testing.assert_allclose(bc.policies[0][~seen], 1 / 3)  # unvisited states: uniform
    assert np.all(bc.policies[0].sum(axis=1) == pytest.approx(1.0))


def test_adversarial_irl_matches_occupancy_and_counts_solves(setup):
    from marl.irl import adversarial_irl

    g, eq, occ = setup
    res = adversarial_irl(g, occ, LAM, n_iter=200, lr=0.1, record_every=50)
    assert res.n_inner_solves == 2 * res.n_iter == 400
    assert [h[0] for h in res.history] == [100, 200, 300, 400]
    # max-ent IRL drives the learner's occupancy towards the expert's
    assert res.residuals[-1] < 0.2 * res.residuals[0]
    assert max(tv(res.policies[i], eq.policies[i]).max() for i in (0, 1)) < 0.1
    with pytest.raises(ValueError, match="lr"):
        adversarial_irl(g, occ, LAM, lr=0.0)
    with pytest.raises(ValueError, match="lam"):
        adversarial_irl(g, occ, 0.0)
    with pytest.raises(ValueError, match="n_iter"):
        adversarial_irl(g, occ, LAM, n_iter=0)
