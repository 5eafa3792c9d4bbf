"""Action grouping (mdp.abstraction.grouping; docs/papers/action_grouping.md AG1-AG6).

Known values (hand-computed 2-state examples, identical-action groups), properties (hypothesis:
AG1 lifting, AG2 inequality, refinement of the errors, nested families), differentials (numba
kernels vs numpy twins, dense vs sparse), the claims AG1-AG6, and bad input.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp.abstraction import _grouping_kernels as K
from mdp.abstraction import grouping as AG
from mdp.abstraction.grouping import (
    ActionGrouping,
    grouped_learner,
    grouping_errors,
    grouping_loss_bound,
    lifted_model,
    select_grouping,
)
from mdp.abstraction.grouping import candidates as AGC
from mdp.abstraction.grouping import learner as AGL
from theory_checks.core import solve_exact


def two_state_model(gamma=0.9):
    # actions 0, 1 grouped together, action 2 alone
    P = np.array(
        [
            [[1.0, 0.0], [0.5, 0.5], [0.0, 1.0]],
            [[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]],
        ]
    )
    R = np.array([[1.0, 0.0, 0.5], [0.25, 0.75, 0.0]])
    return mdp.TabularMDP(P, R, gamma)


def random_instance(seed, S=4, A=6, G=3, sigma=0.3, sparse=False, mu=False):
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.concatenate([np.arange(G), rng.integers(0, G, A - G)]))
    base = rng.dirichlet(np.ones(S), size=(S, G))
    P = (1 - sigma) * base[:, labels] + sigma * rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.random((S, A))
    m = mdp.TabularMDP(P, R, 0.9)
    w = None
    if mu:
        w = rng.random((S, A))
        for i in range(G):
            mem = labels == i
            w[:, mem] /= w[:, mem].sum(axis=1, keepdims=True)
    return (m.to_sparse() if sparse else m), ActionGrouping(labels, w)


# ------------------------------------------------------------------------------ known values
def test_grouping_basics_and_uniform_mu():
    g = ActionGrouping([1, 0, 1, 2])
    assert g.n_groups == 3 and g.n_actions == 4
    assert g.sizes.tolist() == [1, 2, 1]
    assert g.members(1).tolist() == [0, 2]
    assert g.mu_matrix(2).tolist() == [[0.5, 1.0, 0.5, 1.0]] * 2
    assert g.canonical().labels.tolist() == [0, 1, 0, 2]
    assert ActionGrouping.from_groups([[1], [0, 2], [3]]) == g
    assert ActionGrouping.singletons(3).refines(ActionGrouping.single(3))
    assert not ActionGrouping.single(3).refines(ActionGrouping.singletons(3))
    assert not g.labels.flags.writeable


def test_hand_computed_errors_two_state_example():
    m = two_state_model()
    g = ActionGrouping([0, 0, 1])
    # state 0: Pbar_0 = (0.75, 0.25), |(1,0)-(.75,.25)|_1 = 0.5, |(.5,.5)-(.75,.25)|_1 = 0.5; Rbar_0 = 0.5 -> 0.5
    # state 1: actions 0, 1 have the same row -> 0; Rbar_0(1) = 0.5, deviation 0.25
    e = grouping_errors(m, g)
    assert e.eps_P == pytest.approx(0.5) and e.eps_R == pytest.approx(0.5)
    np.testing.assert_allclose(e.deviation_P, [[0.5, 0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-15)
    np.testing.assert_allclose(e.deviation_R, [[0.5, 0.5, 0.0], [0.25, 0.25, 0.0]], atol=1e-15)
    eps_P, eps_R = e  # unpacks
    lifted = lifted_model(m, g)
    np.testing.assert_allclose(lifted.dense_P(), [[[0.75, 0.25], [0, 1]], [[0, 1], [1, 0]]])
    np.testing.assert_allclose(lifted.R, [[0.5, 0.5], [0.5, 0.0]])
    # B(g) = (eps_R + gamma eps_P span / (2 (1 - gamma))) / (1 - gamma), span = 1
    b = grouping_loss_bound(m, g, 10, 5, delta=0.1)
    assert b.approximation == pytest.approx((0.5 + 0.9 * 0.5 * 1.0 / (2 * 0.1)) / 0.1)
    # Weissman / Hoeffding radii with S = 2, G = 2, delta = 0.1, N = 10
    e_P = np.sqrt(2 * (2 * np.log(2) + np.log(2 * 2 * 2 / 0.1)) / 10)
    e_R = 1.0 * np.sqrt(np.log(4 * 2 * 2 / 0.1) / 20)
    assert b.e_P == pytest.approx(e_P) and b.e_R == pytest.approx(e_R)
    assert b.estimation == pytest.approx(2 * (e_R + 0.9 * e_P * 1.0 / 0.2) / 0.1)
    assert b.computation == pytest.approx(2 * 0.9**6 * 1.0 / 0.01)
    assert b.total == pytest.approx(b.approximation + b.estimation + b.computation)


def test_weighted_mu_two_state_example():
    m = two_state_model()
    g = ActionGrouping([0, 0, 1], mu=[0.25, 0.75, 1.0])
    lifted = lifted_model(m, g)
    np.testing.assert_allclose(lifted.dense_P()[0, 0], [0.25 + 0.375, 0.375])
    np.testing.assert_allclose(lifted.R[:, 0], [0.25, 0.25 * 0.25 + 0.75 * 0.75])


def test_identical_actions_give_zero_bound_and_zero_loss():
    m, g = random_instance(0, sigma=0.0)  # every group holds identical kernels
    R = np.asarray(lifted_model(m, g).R)[:, g.labels]
    m = mdp.TabularMDP(m.P, R, m.gamma)
    eps_P, eps_R = grouping_errors(m, g)
    assert eps_P < 1e-14 and eps_R < 1e-14
    assert grouping_loss_bound(m, g, 1, 0).approximation < 1e-11
    # with the exact lifted model solved, executing through mu loses nothing
    pi_g = mdp.solve(lifted_model(m, g), tol=1e-12).pi
    loss = mdp.solve(m, tol=1e-12).v - mdp.policy_evaluation(m, g.execute(pi_g)).v
    assert np.abs(loss).max() < 1e-9
    # and the learner with exact rewards, many samples, many sweeps finds an optimal policy
    res = grouped_learner(m, g, 4000, 300, rng=np.random.default_rng(0), true_loss=True)
    assert res.loss < 0.05


def test_singletons_reproduce_the_model():
    m, _ = random_instance(1)
    g = ActionGrouping.singletons(m.n_actions)
    lifted = lifted_model(m, g)
    np.testing.assert_allclose(lifted.dense_P(), m.dense_P(), atol=1e-15)
    assert tuple(grouping_errors(m, g)) == (0.0, 0.0)


def test_note_refinement_monotonicity_is_false_but_factor_two_holds():
    # docs/papers/action_grouping.md AG2 says refining never increases eps; counterexample (one state, rewards only)
    R = np.array([[0.0, 10, 10, 10] + [5.0] * 100])
    m = mdp.TabularMDP(np.ones((1, 104, 1)), R, 0.9)
    coarse, fine = ActionGrouping.single(104), ActionGrouping(np.r_[[0] * 4, [1] * 100])
    assert fine.refines(coarse)
    e_c, e_f = grouping_errors(m, coarse).eps_R, grouping_errors(m, fine).eps_R
    assert e_c == pytest.approx(530 / 104 - 0.0)  # mean of the single group: 530 / 104
    assert e_f == pytest.approx(7.5)
    assert e_c < e_f <= 2 * e_c


# ------------------------------------------------------------------------------ properties
@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**32 - 1),
    S=st.integers(1, 5),
    A=st.integers(1, 7),
    sparse=st.booleans(),
    mu=st.booleans(),
    stochastic=st.booleans(),
)
def test_ag1_lifting_is_exact(seed, S, A, sparse, mu, stochastic):
    G = int(np.random.default_rng(seed).integers(1, A + 1))
    m, g = random_instance(seed, S=S, A=A, G=G, sparse=sparse, mu=mu)
    rng = np.random.default_rng(seed + 1)
    pi_h = rng.dirichlet(np.ones(G), size=S) if stochastic else rng.integers(0, G, size=S)
    v_true = mdp.policy_evaluation(m, g.execute(pi_h, S)).v
    v_lift = mdp.policy_evaluation(lifted_model(m, g), pi_h).v
    np.testing.assert_allclose(v_true, v_lift, rtol=0, atol=1e-10 * (1 + np.abs(v_lift).max()))


@settings(max_examples=25)
@given(
    seed=st.integers(0, 2**32 - 1),
    sigma=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    gamma=st.sampled_from([0.5, 0.9, 0.99]),
    mu=st.booleans(),
)
def test_ag2_approximation_inequality(seed, sigma, gamma, mu):
    m, g = random_instance(seed, sigma=sigma, mu=mu)
    m = m.with_gamma(gamma)
    v_star = solve_exact(m).v
    pi_g = solve_exact(lifted_model(m, g)).pi
    loss = v_star - mdp.policy_evaluation(m, g.execute(pi_g)).v
    scale = 1 + np.abs(v_star).max()
    assert loss.min() >= -1e-9 * scale
    assert loss.max() <= grouping_loss_bound(m, g, 1, 0).approximation + 1e-9 * scale


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), A=st.integers(2, 8))
def test_refining_at_most_doubles_the_errors_and_never_grows_the_diameter(seed, A):
    rng = np.random.default_rng(seed)
    m, _ = random_instance(seed, A=A, G=1)
    coarse = ActionGrouping.single(A)
    fine = ActionGrouping(rng.permutation(np.r_[0, 1, rng.integers(0, 2, A - 2)]))
    assert fine.refines(coarse)
    ec, ef = grouping_errors(m, coarse), grouping_errors(m, fine)
    assert ef.eps_P <= 2 * ec.eps_P + 1e-12 and ef.eps_R <= 2 * ec.eps_R + 1e-12
    # the within-group diameter max ||P(.|s,a) - P(.|s,b)||_1 is monotone (a max over a subset)
    P = m.dense_P()

    def diam(g):
        return max(np.abs(P[:, a] - P[:, b]).sum(axis=-1).max() for mem in g.groups for a in mem for b in mem)

    assert diam(fine) <= diam(coarse) + 1e-15
    # and splitting into singletons gives zero
    assert tuple(grouping_errors(m, ActionGrouping.singletons(A))) == (0.0, 0.0)


@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), A=st.integers(1, 20), method=st.sampled_from(["ward", "average"]))
def test_nested_groupings_are_nested_with_exact_sizes(seed, A, method):
    X = np.random.default_rng(seed).normal(size=(A, 3))
    X[A // 2 :] = X[0]  # ties (identical signatures) must not change the group counts
    fam = AG.nested_groupings(X, method=method)
    assert [g.n_groups for g in fam] == AGC._default_sizes(A)
    for fine, coarse in zip(fam[1:], fam[:-1]):
        assert fine.refines(coarse)
        assert fine.labels[0] == 0 and fine == fine.canonical()


def test_planted_clusters_are_recovered_by_ward():
    m, clusters = AG.planted_cluster_mdp(np.random.default_rng(3), sigma=0.05)
    assert (m.n_states, m.n_actions) == (10, 64) and clusters.sizes.tolist() == [16] * 4
    assert 0 <= m.R.min() and m.R.max() <= 1
    (g4,) = AG.nested_groupings(AG.action_signatures(m), [4])
    assert g4 == clusters
    assert grouping_errors(m, clusters).eps_P < grouping_errors(m, ActionGrouping.single(64)).eps_P


# ------------------------------------------------------------------------------ learner
def test_grouped_learner_result_and_reproducibility():
    m, g = random_instance(4, S=5, A=8, G=3)
    a = grouped_learner(m, g, 20, 15, rng=np.random.default_rng(7), true_loss=True)
    b = grouped_learner(m, g, 20, 15, rng=np.random.default_rng(7))
    assert np.array_equal(a.pi_high, b.pi_high) and np.array_equal(a.v, b.v)
    assert a.n_samples == 20 * 5 * 3 and (a.N, a.T) == (20, 15)
    assert a.model.n_actions == 3 and np.isnan(b.loss) and np.isfinite(a.loss)
    np.testing.assert_allclose(a.policy.sum(axis=1), 1.0)
    np.testing.assert_array_equal(a.pi_high, np.argmax(a.q, axis=1))
    # the executed policy only uses actions of the chosen group
    assert np.all((a.policy > 0) <= (g.labels[None, :] == a.pi_high[:, None]))
    # loss from v_star equals loss from a fresh solve
    c = grouped_learner(m, g, 20, 15, rng=np.random.default_rng(7), v_star=mdp.solve(m, tol=1e-12).v)
    assert c.loss == pytest.approx(a.loss, abs=1e-9)
    assert a.loss <= grouping_loss_bound(m, g, 20, 15).total
    assert not a.pi_high.flags.writeable


def test_sparse_and_dense_learners_agree():
    m, g = random_instance(5, S=5, A=6, G=2, mu=True)
    d = grouped_learner(m, g, 30, 20, rng=np.random.default_rng(1), true_loss=True)
    s = grouped_learner(m.to_sparse(), g, 30, 20, rng=np.random.default_rng(1), true_loss=True)
    assert s.model.is_sparse and not d.model.is_sparse
    np.testing.assert_allclose(s.model.dense_P(), d.model.dense_P(), atol=1e-15)
    np.testing.assert_allclose(s.v, d.v, atol=1e-12)
    assert np.array_equal(s.pi_high, d.pi_high) and s.loss == pytest.approx(d.loss, abs=1e-10)
    ed, es = grouping_errors(m, g), grouping_errors(m.to_sparse(), g)
    assert ed.eps_P == pytest.approx(es.eps_P, abs=1e-14) and ed.eps_R == pytest.approx(es.eps_R, abs=1e-14)
    np.testing.assert_allclose(lifted_model(m.to_sparse(), g).dense_P(), lifted_model(m, g).dense_P(), atol=1e-15)


def test_bernoulli_rewards_are_binary_averages():
    m, g = random_instance(6, S=3, A=4, G=2)
    res = grouped_learner(m, g, 8, 0, rng=np.random.default_rng(0), reward_noise="bernoulli")
    assert np.allclose(np.asarray(res.model.R) * 8, np.round(np.asarray(res.model.R) * 8))
    b_none = grouping_loss_bound(m, g, 8, 0)
    b_bern = grouping_loss_bound(m, g, 8, 0, reward_noise="bernoulli")
    assert b_bern.e_R >= b_none.e_R and b_bern.reward_max == 1.0


def test_empirical_model_converges_to_the_lifted_model():
    m, g = random_instance(8, S=3, A=5, G=2, mu=True)
    res = grouped_learner(m, g, 20000, 0, rng=np.random.default_rng(2))
    lifted = lifted_model(m, g)
    assert np.abs(res.model.dense_P() - lifted.dense_P()).sum(axis=2).max() < 0.06
    assert np.abs(np.asarray(res.model.R) - np.asarray(lifted.R)).max() < 0.02


# ------------------------------------------------------------------------------ differentials
def test_sampling_kernel_matches_numpy_twin():
    from mdp.learners.plugin import cumulative_rows

    m, g = random_instance(9, S=4, A=7, G=3, mu=True)
    rng = np.random.default_rng(0)
    N = 50
    u_a, u_s = rng.random((4 * 3, N)), rng.random((4 * 3, N))
    acts = np.empty((12, N), dtype=np.int64)
    nxt = np.empty((12, N), dtype=np.int64)
    W = g.mu_matrix(4)
    K.sample_grouped(*AGL._mu_cdf(g, W), *cumulative_rows(m), 3, 7, u_a, u_s, acts, nxt)
    ref_a, ref_s = K.reference_sample_grouped(m.dense_P(), W, g.labels, 3, u_a, u_s)
    assert np.array_equal(acts, ref_a) and np.array_equal(nxt, ref_s)
    # sampled actions belong to their row's group
    assert np.all(g.labels[acts] == np.tile(np.arange(3), 4)[:, None])


def test_zero_weight_actions_are_never_sampled():
    m, _ = random_instance(10, S=2, A=4, G=2)
    g = ActionGrouping([0, 0, 1, 1], mu=[1.0, 0.0, 0.0, 1.0])
    acts, _ = AGL._draw_grouped(m, g, 200, np.random.default_rng(0))
    assert set(np.unique(acts)) == {0, 3}


@pytest.mark.parametrize("T", [0, 1, 7, 60])
def test_vi_sweep_kernels_match_numpy_twin(T):
    rng = np.random.default_rng(T)
    P = rng.dirichlet(np.ones(6), size=(6, 4))
    R = rng.random((6, 4))
    ref_v, ref_pi = K.reference_vi_sweeps(P, R, 0.9, T)
    v, pi = AGL._vi_sweeps(mdp.TabularMDP(P, R, 0.9), T)
    np.testing.assert_allclose(v, ref_v, rtol=0, atol=1e-12)
    assert np.array_equal(pi, ref_pi)
    csr = sp.csr_matrix(P.reshape(24, 6))
    v2, pi2 = AGL._vi_sweeps(mdp.TabularMDP(csr, R, 0.9), T)
    np.testing.assert_allclose(v2, ref_v, rtol=0, atol=1e-12)
    assert np.array_equal(pi2, ref_pi)


def test_vi_sweeps_agree_with_mdp_value_iteration_limit():
    m, g = random_instance(11)
    lifted = lifted_model(m, g)
    v, pi = AGL._vi_sweeps(lifted, 400)
    sol = mdp.solve(lifted, tol=1e-12)
    np.testing.assert_allclose(v, sol.v, atol=1e-9)
    assert np.array_equal(pi, sol.pi)


def test_vi_ties_go_to_the_lowest_group():
    P = np.ones((2, 3, 2)) / 2
    m = mdp.TabularMDP(P, np.zeros((2, 3)), 0.9)
    v, pi = AGL._vi_sweeps(m, 5)
    assert pi.tolist() == [0, 0]


# ------------------------------------------------------------------------------ selection
def test_select_grouping_minimises_the_bound():
    m, clusters = AG.planted_cluster_mdp(np.random.default_rng(0), sigma=0.05)
    small = select_grouping(m, 2_000)
    large = select_grouping(m, 200_000)
    for sel in (small, large):
        assert sel.totals[[c.n_groups for c in sel.candidates].index(sel.n_groups)] == sel.totals.min()
        assert sel.N == sel.budget // (10 * sel.n_groups) and sel.pilot_samples == 0
        assert sel.bounds[list(sel.totals).index(sel.totals.min())].total == sel.totals.min()
    assert large.n_groups == 4 and large.grouping == clusters
    # a pilot sample gives plug-in errors (and costs S A pilot calls); its noise inflates the plug-in eps of
    # every non-singleton grouping (a max of noisy L1 distances), so a small pilot favours no grouping
    pil = select_grouping(m, 200_000, pilot=20, rng=np.random.default_rng(1))
    assert pil.pilot_samples == 10 * 64 * 20 and pil.totals[-1] == pil.totals.min()
    assert pil.bounds[2].eps_P > grouping_errors(m, pil.candidates[2]).eps_P
    # infeasible candidates (N would be 0) are skipped
    tiny = select_grouping(m, 100, sizes=[1, 64])
    assert tiny.n_groups == 1 and tiny.bounds[1] is None and np.isinf(tiny.totals[1])
    # with a compute budget T depends on G
    comp = select_grouping(m, 20_000, compute_budget=100 * 100 * 4)
    assert comp.T == 100 * 100 * 4 // (100 * comp.n_groups)


# ------------------------------------------------------------------------------ claims
@pytest.mark.parametrize("claim_id", ["AG1", "AG2", "AG4"])
def test_deterministic_claims_hold(claim_id):
    import theory_checks.grouping  # noqa: F401  -- registers AG1-AG6 until the lead adds the import
    from theory_checks import assert_claim

    results = assert_claim(claim_id, rng=np.random.default_rng(17), n=12)
    assert all(0.0 <= r.tightness <= 1.0 for r in results)


def test_statistical_claims_hold():
    import theory_checks.grouping as TG
    from theory_checks import get_claim

    rng = np.random.default_rng(5)
    r3 = TG.check_ag3((*random_instance(12, S=2, A=3, G=2)[:2], 10, 0.2), rng, n_reps=200)
    assert r3.holds and r3.details["loss_failure_frequency"] <= r3.observed
    r5 = [get_claim("AG5").check(rng=np.random.default_rng(k)) for k in range(5)]
    assert all(r.holds and r.tightness < 1 for r in r5)


def test_ag6_tradeoff_claim():
    import theory_checks.grouping as TG

    r = TG.check_ag6(np.random.default_rng(0), np.random.default_rng(0))
    assert r.holds, r.details
    assert r.details["argmin_G"][2000] < r.details["argmin_G"][200000]


def test_claim_checks_detect_a_wrong_bound(monkeypatch):
    # halving B(g) must break AG2 on an instance with a large approximation error
    import dataclasses

    import theory_checks.grouping as TG

    real = AG.grouping_loss_bound
    monkeypatch.setattr(
        AG, "grouping_loss_bound", lambda *a, **k: dataclasses.replace(real(*a, **k), approximation=0.0)
    )
    rng = np.random.default_rng(0)
    m, g = random_instance(13, sigma=1.0, G=1)
    assert not TG.check_ag2((m, g), rng).holds


# ------------------------------------------------------------------------------ bad input
def test_bad_labels():
    with pytest.raises(ValueError, match=r"labels\[1\] = 5 is not a group index in \[0, 2\)"):
        ActionGrouping([0, 5], n_groups=2)
    with pytest.raises(ValueError, match=r"labels\[0\] = -1 is not a group index"):
        ActionGrouping([-1, 0])
    with pytest.raises(ValueError, match=r"group\(s\) \[1\] of 3 are empty"):
        ActionGrouping([0, 2, 2])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        ActionGrouping([[0, 1]])
    with pytest.raises(ValueError, match="non-empty 1-D"):
        ActionGrouping([])
    with pytest.raises(TypeError, match="labels must hold integer group indices"):
        ActionGrouping([0.5, 1])
    with pytest.raises(TypeError, match="labels must be an array"):
        ActionGrouping("01")
    m = two_state_model()
    with pytest.raises(ValueError, match="grouping labels 2 actions but the model has 3"):
        lifted_model(m, ActionGrouping([0, 1]))
    with pytest.raises(ValueError, match="labels 4 actions but the model has 3"):
        grouping_errors(m, [0, 0, 1, 1])
    with pytest.raises(TypeError, match="grouping must be an ActionGrouping"):
        grouping_errors(m, {0: 1})
    with pytest.raises(ValueError, match=r"group index must lie in 0..1, got 2"):
        ActionGrouping([0, 1]).members(2)


def test_bad_mu():
    with pytest.raises(ValueError, match=r"mu must sum to 1 within every group.*group 0.*sums to 0.9"):
        ActionGrouping([0, 0, 1], mu=[0.4, 0.5, 1.0])
    with pytest.raises(ValueError, match=r"at state 1, group 1 it sums to 0.5"):
        ActionGrouping([0, 0, 1], mu=[[0.5, 0.5, 1.0], [0.5, 0.5, 0.5]])
    with pytest.raises(ValueError, match=r"mu must be non-negative; mu\[0\] = -0.5"):
        ActionGrouping([0, 0, 1], mu=[-0.5, 1.5, 1.0])
    with pytest.raises(ValueError, match=r"mu must have shape \(3,\) or \(S, 3\)"):
        ActionGrouping([0, 0, 1], mu=[0.5, 0.5])
    with pytest.raises(ValueError, match="mu must be finite"):
        ActionGrouping([0, 0, 1], mu=[np.nan, 0.5, 1.0])
    m = two_state_model()
    g = ActionGrouping([0, 0, 1], mu=np.array([[0.5, 0.5, 1.0]] * 3))
    with pytest.raises(ValueError, match=r"grouping.mu has shape \(3, 3\) but the model has 2 states"):
        lifted_model(m, g)


def test_bad_learner_and_bound_arguments():
    m = two_state_model()
    g = ActionGrouping([0, 0, 1])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="N must be >= 1, got 0"):
        grouped_learner(m, g, 0, 5, rng=rng)
    with pytest.raises(TypeError, match="N must be an integer"):
        grouped_learner(m, g, 2.5, 5, rng=rng)
    with pytest.raises(ValueError, match="T must be >= 0, got -1"):
        grouped_learner(m, g, 3, -1, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        grouped_learner(m, g, 3, 1, rng=42)
    with pytest.raises(ValueError, match="reward_noise must be one of"):
        grouped_learner(m, g, 3, 1, rng=rng, reward_noise="gauss")
    with pytest.raises(ValueError, match=r"v_star must have shape \(2,\)"):
        grouped_learner(m, g, 3, 1, rng=rng, v_star=np.zeros(3))
    with pytest.raises(TypeError, match="m must be an mdp.TabularMDP"):
        grouped_learner(np.zeros((2, 3, 2)), g, 3, 1, rng=rng)
    with pytest.raises(ValueError, match="gamma must lie in"):
        grouped_learner(m.with_gamma(1.0), g, 3, 1, rng=rng)
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"delta must lie in \(0, 1\)"):
            grouping_loss_bound(m, g, 3, 1, delta=bad)
    with pytest.raises(TypeError, match="delta must be a real number"):
        grouping_loss_bound(m, g, 3, 1, delta="0.1")
    with pytest.raises(ValueError, match="N must be >= 1"):
        grouping_loss_bound(m, g, 0, 1)
    with pytest.raises(ValueError, match="T must be >= 0"):
        grouping_loss_bound(m, g, 1, -2)
    with pytest.raises(ValueError, match="eps_P must be finite and >= 0"):
        grouping_loss_bound(m, g, 1, 1, eps_P=-1.0)
    big = mdp.TabularMDP(m.P, 2 * m.R, 0.9)
    with pytest.raises(ValueError, match=r"reward_noise='bernoulli' needs rewards in \[0, 1\]"):
        grouped_learner(big, g, 3, 1, rng=rng, reward_noise="bernoulli")


def test_bad_selection_arguments():
    m = two_state_model()
    with pytest.raises(ValueError, match="budget must be >= S = 2"):
        select_grouping(m, 1)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        select_grouping(m, 100, pilot=3)
    with pytest.raises(ValueError, match="n_groups must be <= A = 3"):
        select_grouping(m, 100, sizes=[1, 4])
    with pytest.raises(ValueError, match="method must be one of"):
        AG.nested_groupings(np.zeros((3, 2)), method="centroid")
    with pytest.raises(ValueError, match=r"sigma must lie in \[0, 1\]"):
        AG.planted_cluster_mdp(np.random.default_rng(0), sigma=2.0)


def test_lazy_public_names():
    import mdp.abstraction as abstraction

    for name in (
        "ActionGrouping",
        "lifted_model",
        "grouping_errors",
        "grouped_learner",
        "grouping_loss_bound",
        "select_grouping",
    ):
        assert getattr(abstraction, name) is getattr(AG, name)
