"""mdp.pomdp: model validation, forward likelihood (kernel vs twin), Hankel rank, MLE, planning, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp import pomdp as P


def _two_state():
    T = np.array([[[0.9, 0.1], [0.2, 0.8]]])
    E = np.array([[0.7, 0.3], [0.4, 0.6]])
    return P.POMDP(T, E, [0.5, 0.5], 1)


def _obs_index(obs, O):
    H1 = obs.shape[1]
    return (obs * (O ** np.arange(H1 - 1, -1, -1))).sum(axis=1)


# ----------------------------------------------------------------------------- known values
def test_forward_known_value():
    # by hand: 0.5*0.7*(0.9*0.3 + 0.1*0.6) + 0.5*0.4*(0.2*0.3 + 0.8*0.6) = 0.1155 + 0.108 = 0.2235
    m = _two_state()
    ll = P.log_likelihoods(m, [[0, 1]], [[0]])
    assert np.exp(ll[0, 0]) == pytest.approx(0.2235, abs=1e-15)
    tab = P.trajectory_probabilities(m)
    assert tab[0, 1] == pytest.approx(0.2235, abs=1e-15)
    # a one-observation prefix: P(o_0 = 0) = 0.5 * 0.7 + 0.5 * 0.4
    assert np.exp(P.log_likelihoods(m, [[0]], np.zeros((1, 0), int))[0, 0]) == pytest.approx(0.55)


def test_needle_pair_known_values():
    # docs/papers/multitask_psr.md MT4 construction: TV 1 - 2 eps on the needle only
    m1, m2 = P.needle_pair(3, 3, 14, eps=0.1)
    tv = P.tv_per_sequence(m1, m2)
    assert tv[14] == pytest.approx(0.8) and np.delete(tv, 14).max() == 0.0
    assert P.tv_distance(m1, m2) == pytest.approx(0.8 / 27)
    # reward 1 for observation 0 at the last step: the needle pays 1 - eps, everything else 0.5
    r = np.zeros((3, 2))
    r[2, 0] = 1.0
    res = P.plan(m1, r)
    assert res.value == pytest.approx(0.9)
    assert P.open_loop_values(m1, r)[14] == pytest.approx(0.9)
    assert np.delete(P.open_loop_values(m1, r), 14) == pytest.approx(np.full(26, 0.5))
    o = P.optimistic_sequence([m1, m2])
    assert o.sequence == 14 and o.actions.tolist() == [1, 1, 2] and o.pair == (0, 1)


def test_iid_process_has_rank_one():
    # every row of T equal to rho0: observations are i.i.d. whatever S, so every D_h has rank 1
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(4))
    T = np.broadcast_to(q, (2, 4, 4))
    m = P.POMDP(T, rng.dirichlet(np.ones(3), size=4), q, 3)
    r = P.psr_rank(m)
    assert r.rank == 1 and r.ranks.tolist() == [1, 1, 1]


def test_fully_observed_planning_equals_finite_horizon():
    # E = I: the POMDP is an MDP whose reward for (s, a) is E_{s'}[r(s')]; mdp.finite_horizon gives V*
    rng = np.random.default_rng(1)
    S, A, H = 3, 2, 4
    T = rng.dirichlet(np.ones(S), size=(A, S))
    r = rng.random(S)
    m = P.POMDP(T, np.eye(S), np.full(S, 1 / S), H)
    R = np.einsum("ast,t->sa", T, r)
    fh = mdp.finite_horizon(mdp.TabularMDP(T.transpose(1, 0, 2), R, 1.0), H)
    assert P.plan(m, r).value == pytest.approx(fh.v[0].mean(), abs=1e-12)


def test_bound_and_class_size_known_values():
    derived, notes = P.mle_tv_bound(50, 100, 0.1)
    assert notes == pytest.approx(np.sqrt(2 * np.log(500) / 100))
    assert derived == pytest.approx(np.sqrt(1 - (0.1 / 50) ** (2 / 100))) and derived < notes
    sz = P.joint_class_size(200, 5, 10)
    assert sz["joint"] == 200 * 5**10 and sz["product"] == 1000**10
    assert sz["per_task_ratio"] == pytest.approx((np.log(200) / 10 + np.log(5)) / np.log(1000))


# ----------------------------------------------------------------------------- differential and properties
@settings(deadline=None, max_examples=20)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.booleans())
def test_kernel_matches_twin_and_table(seed, S, A, H, sparse):
    rng = np.random.default_rng(seed)
    models = [P.random_pomdp(S, A, 3, H, rng=rng, concentration=0.3) for _ in range(3)]
    if sparse:  # exact zeros: some trajectories get probability 0 (-inf log-likelihood)
        T = models[0].T.copy()
        T[T < 0.2] = 0.0
        T[..., 0] += 1.0 - T.sum(-1)
        models[0] = P.POMDP(T, models[0].E, models[0].rho0, H)
    mc = P.ModelClass(models)
    obs, acts = P.sample_trajectories(models[1], 50, rng=rng)
    a = P.log_likelihoods(mc, obs, acts)
    b = P.reference_log_likelihoods(mc.T, mc.E, mc.rho0, obs, acts)
    assert np.array_equal(np.isinf(a), np.isinf(b))
    np.testing.assert_allclose(a[np.isfinite(a)], b[np.isfinite(b)], rtol=1e-12, atol=1e-12)
    tab = P.trajectory_probabilities(models[0])
    np.testing.assert_allclose(tab.sum(axis=1), 1.0)
    ai = (acts * (A ** np.arange(H - 1, -1, -1))).sum(axis=1)
    np.testing.assert_allclose(np.exp(a[0]), tab[ai, _obs_index(obs, 3)], rtol=1e-12, atol=1e-300)


def test_sampler_matches_exact_distribution():
    rng = np.random.default_rng(2)
    m = P.random_pomdp(2, 2, 2, 2, rng=rng)
    pol = rng.dirichlet(np.ones(4))
    obs, acts = P.sample_trajectories(m, 40_000, rng=rng, policy=pol)
    idx = ((acts[:, 0] * 2 + acts[:, 1]) * 8 + _obs_index(obs, 2)).astype(int)
    freq = np.bincount(idx, minlength=32) / obs.shape[0]
    want = (pol[:, None] * P.trajectory_probabilities(m)).ravel()
    se = np.sqrt(want * (1 - want) / obs.shape[0])
    assert np.max(np.abs(freq - want) / (se + 1e-12)) < 5


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 10_000), st.integers(1, 4))
def test_hankel_direct_equals_factorisation_and_rank_at_most_S(seed, S):
    rng = np.random.default_rng(seed)
    m = P.random_pomdp(S, 2, 2, 3, rng=rng)
    for h in range(4):
        np.testing.assert_allclose(P.hankel_matrix(m, h).D, P.reference_hankel_matrix(m, h), atol=1e-15)
    r = P.psr_rank(m)
    assert r.rank <= S and r.ranks.shape == (3,)
    assert P.psr_rank(P.duplicate_states(m)).rank == r.rank
    # an explicit tolerance above the largest singular value counts nothing
    assert P.psr_rank(m, tol=10.0).rank == 0


@settings(deadline=None, max_examples=25)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
def test_joint_mle_profiling_equals_brute_force(seed, N, M_O, M_T):
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(N, M_O, M_T))
    if seed % 3 == 0:
        L[L < -1] = -np.inf
    a, b = P.joint_mle(L), P.reference_joint_mle(L)
    assert a.loglik == b.loglik
    assert np.array_equal(a.emissions, b.emissions) and np.array_equal(a.transitions, b.transitions)
    assert b.n_evaluated == M_O * M_T**N and a.n_evaluated == M_O
    pt = P.per_task_mle(L)
    assert pt.loglik >= a.loglik  # per-task maximises over the larger product class


def test_likelihood_table_and_mle_on_data():
    rng = np.random.default_rng(3)
    fc = P.random_factored_class(6, 3, 2, 2, 3, 3, rng=rng)
    data = [P.sample_trajectories(fc.model(2, j), 40, rng=rng) for j in (0, 2, 1)]
    L = P.likelihood_table(fc, data)
    mc = fc.members()
    for n, (o, a) in enumerate(data):
        np.testing.assert_allclose(L[n].ravel(), P.log_likelihoods(mc, o, a).sum(axis=1))
        r = P.mle(mc, o, a)
        assert r.index == int(np.argmax(L[n].ravel()))
    assert P.confidence_set(L[0].ravel(), 0.0).tolist() == [int(np.argmax(L[0]))]
    assert P.confidence_set(L[0].ravel(), 1e9).size == mc.size
    assert P.enumerate_joint_class(fc, 2).shape == (6 * 9, 3)


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 10_000))
def test_plan_is_optimal_and_evaluates_itself(seed):
    rng = np.random.default_rng(seed)
    m = P.random_pomdp(3, 2, 2, 3, rng=rng)
    r = rng.random(2) / 3
    res = P.plan(m, r)
    assert P.policy_value(m, r, res) == pytest.approx(res.value, abs=1e-14)
    assert res.value >= P.open_loop_values(m, r).max() - 1e-14
    for _ in range(5):  # random closed-loop policies never beat the plan
        pi = [rng.integers(0, 2, size=x.shape) for x in res.pi]
        assert P.policy_value(m, r, pi) <= res.value + 1e-14
    # a plan made in another model is evaluated in the true one: never better than optimal
    other = P.plan(P.random_pomdp(3, 2, 2, 3, rng=rng), r)
    assert P.policy_value(m, r, other.pi) <= res.value + 1e-14


# ----------------------------------------------------------------------------- bad input
def test_bad_pomdp_matrices():
    T = np.array([[[0.9, 0.1], [0.2, 0.8]]])
    E = np.array([[0.7, 0.3], [0.4, 0.6]])
    with pytest.raises(ValueError, match=r"T must be stochastic"):
        P.POMDP(T * 0.9, E, [0.5, 0.5], 2)
    with pytest.raises(ValueError, match=r"E must be nonnegative"):
        P.POMDP(T, [[1.2, -0.2], [0.4, 0.6]], [0.5, 0.5], 2)
    with pytest.raises(ValueError, match=r"E must be stochastic"):
        P.POMDP(T, [[0.5, 0.3], [0.4, 0.6]], [0.5, 0.5], 2)
    with pytest.raises(ValueError, match=r"rho0 must be stochastic"):
        P.POMDP(T, E, [0.5, 0.6], 2)
    with pytest.raises(ValueError, match=r"T must have shape"):
        P.POMDP(np.ones((1, 2, 3)) / 3, E, [0.5, 0.5], 2)
    with pytest.raises(ValueError, match=r"E must have shape"):
        P.POMDP(T, np.ones((3, 2)) / 2, [0.5, 0.5], 2)
    with pytest.raises(ValueError, match=r"T must be finite"):
        P.POMDP(np.full((1, 2, 2), np.nan), E, [0.5, 0.5], 2)
    with pytest.raises(ValueError, match="horizon"):
        P.POMDP(T, E, [0.5, 0.5], 0)
    with pytest.raises(TypeError, match="horizon"):
        P.POMDP(T, E, [0.5, 0.5], 2.5)
    with pytest.raises(ValueError, match=r"emissions must be stochastic.*emissions\[1, 0, :\]"):
        P.FactoredClass(np.stack([E, E * 2]), T[None], [0.5, 0.5], 2)
    with pytest.raises(ValueError, match=r"transitions must be stochastic"):
        P.FactoredClass(E[None], T[None] * 2, [0.5, 0.5], 2)


def test_empty_model_classes():
    E = np.array([[0.7, 0.3], [0.4, 0.6]])
    with pytest.raises(ValueError, match="models is an empty model class"):
        P.ModelClass([])
    with pytest.raises(ValueError, match="emissions is an empty class"):
        P.FactoredClass(np.zeros((0, 2, 2)), np.ones((1, 1, 2, 2)) / 2, [0.5, 0.5], 2)
    with pytest.raises(ValueError, match="transitions is an empty class"):
        P.FactoredClass(E[None], np.zeros((0, 1, 2, 2)), [0.5, 0.5], 2)
    with pytest.raises(ValueError, match="empty confidence set"):
        P.optimistic_sequence([])
    with pytest.raises(ValueError, match="empty class or no task"):
        P.joint_mle(np.zeros((2, 0, 3)))
    with pytest.raises(ValueError, match="empty class or no task"):
        P.reference_joint_mle(np.zeros((0, 2, 3)))
    with pytest.raises(ValueError, match="non-empty vector"):
        P.confidence_set([], 1.0)


def test_bad_trajectories_and_options():
    rng = np.random.default_rng(0)
    m = P.random_pomdp(2, 2, 3, 2, rng=rng)
    obs, acts = P.sample_trajectories(m, 5, rng=rng)
    with pytest.raises(ValueError, match=r"obs must be observations in \[0, 3\)"):
        P.log_likelihoods(m, obs + 3, acts)
    with pytest.raises(ValueError, match=r"acts must be actions in \[0, 2\)"):
        P.log_likelihoods(m, obs, acts - 1)
    with pytest.raises(ValueError, match="obs must have shape"):
        P.log_likelihoods(m, obs, acts[:, :1])
    with pytest.raises(ValueError, match="at most H = 2"):
        P.log_likelihoods(m, np.zeros((1, 4), int), np.zeros((1, 3), int))
    with pytest.raises(TypeError, match="obs must hold integers"):
        P.log_likelihoods(m, obs + 0.5, acts)
    with pytest.raises(TypeError, match="POMDP or ModelClass"):
        P.log_likelihoods("m", obs, acts)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        P.sample_trajectories(m, 5, rng=0)
    with pytest.raises(ValueError, match="policy must be a probability vector"):
        P.sample_trajectories(m, 5, rng=rng, policy=np.full(4, 0.3))
    with pytest.raises(ValueError, match="A\\^H = 4 action sequences"):
        P.tv_distance(m, m, policy=np.ones(3) / 3)
    with pytest.raises(ValueError, match="rewards must have shape"):
        P.plan(m, np.ones(2))
    with pytest.raises(ValueError, match=r"pi\[0\] must be an integer array"):
        P.policy_value(m, np.ones(3), [np.zeros(2, int), np.zeros(18, int)])
    with pytest.raises(ValueError, match="tol must be"):
        P.psr_rank(m, tol=-1.0)
    with pytest.raises(ValueError, match="split must lie in"):
        P.hankel_matrix(m, 3)
    with pytest.raises(ValueError, match="eps must lie in"):
        P.needle_pair(2, 2, 0, eps=0.5)
    with pytest.raises(ValueError, match="sequence must index"):
        P.needle_pair(2, 2, 4)
    with pytest.raises(ValueError, match="whole episodes of H = 2"):
        fc = P.random_factored_class(2, 2, 2, 2, 3, 2, rng=rng)
        P.likelihood_table(fc, [(obs[:, :2], acts[:, :1])])
    with pytest.raises(TypeError, match="sequence of \\(obs, acts\\) batches"):
        P.likelihood_table(fc, (obs, acts))
    with pytest.raises(ValueError, match="delta must lie in"):
        P.mle_tv_bound(5, 10, 1.5)
    with pytest.raises(ValueError, match="histories at the last depth"):
        P.plan(P.random_pomdp(2, 4, 4, 9, rng=rng), np.ones(4))


def test_class_tables_match_member_tables():
    rng = np.random.default_rng(4)
    mc = P.ModelClass([P.random_pomdp(2, 2, 3, 2, rng=rng) for _ in range(3)])
    tabs = P.trajectory_probabilities(mc)
    assert tabs.shape == (3, 4, 27)
    for k in range(3):
        np.testing.assert_allclose(tabs[k], P.trajectory_probabilities(mc[k]), atol=1e-15)
