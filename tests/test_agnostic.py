"""mdp.agnostic: layered MDPs, policy classes, spanning capacity, trajectory trees, model-based baseline."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp import agnostic as ag


# ----------------------------------------------------------------------------- model and values
def test_policy_values_known_two_layer():
    # hand computation: s0 -> a=0 reaches x (reward 1 at layer 1), a=1 reaches y w.p. .5 / x w.p. .5
    P = np.zeros((1, 2, 2, 2))
    P[0, 0, 0] = [1.0, 0.0]
    P[0, 0, 1] = [0.5, 0.5]
    P[0, 1] = [0.0, 1.0]
    R = np.zeros((2, 2, 2))
    R[1, 0, :] = 1.0  # state x = 0 of layer 1 pays 1
    R[0, 0, 1] = 0.25
    m = ag.LayeredMDP(P, R, [1.0, 0.0])
    pols = np.array([[[0, 0], [0, 0]], [[1, 0], [0, 0]]])
    np.testing.assert_allclose(ag.policy_values(m, pols), [1.0, 0.25 + 0.5])


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 5), st.integers(1, 3))
def test_policy_values_kernel_matches_twin(seed, H, S, A):
    rng = np.random.default_rng(seed)
    m = ag.random_layered(H, S, A, rng=rng, reward="every")
    pols = ag.random_policies(6, H, S, A, rng=rng)
    v, V = ag.policy_values(m, pols, per_state=True)
    vr, Vr = ag.reference_policy_values(pols, m.next_states, m.next_probs, m.R, m.rho0)
    np.testing.assert_allclose(v, vr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(V, Vr, rtol=0, atol=1e-12)
    lo, hi = m.return_range()
    assert np.all(v >= lo - 1e-12) and np.all(v <= hi + 1e-12)
    # the optimal policy is at least as good as every member of the class
    vstar, pistar = ag.optimal_policy(m)
    assert v.max() <= vstar + 1e-12
    np.testing.assert_allclose(ag.policy_values(m, pistar[None])[0], vstar, atol=1e-12)


def test_from_tabular_matches_finite_horizon():
    rng = np.random.default_rng(3)
    t = mdp.generators.random_mdp(5, 3, rng=rng, gamma=0.9)
    H = 4
    rho = np.full(5, 0.2)
    lay = ag.from_tabular(t, H, rho, discount=True)
    fh = mdp.finite_horizon(t, H)
    vstar, _ = ag.optimal_policy(lay)
    np.testing.assert_allclose(vstar, rho @ fh.v[0], atol=1e-10)
    # and fh's policy, as a table, has that value
    np.testing.assert_allclose(ag.policy_values(lay, fh.pi[None])[0], vstar, atol=1e-10)


def test_successor_form_and_dense_agree():
    rng = np.random.default_rng(4)
    m = ag.sparse_branching(4, 7, 2, rng=rng, branching=3)
    d = ag.LayeredMDP(m.dense_P(), m.R, m.rho0)
    pols = ag.random_policies(9, 4, 7, 2, rng=rng)
    np.testing.assert_allclose(ag.policy_values(m, pols), ag.policy_values(d, pols), atol=1e-12)
    np.testing.assert_allclose(d.dense_P(), m.dense_P(), atol=1e-15)


def test_scaled_keeps_order_and_unit_range():
    rng = np.random.default_rng(5)
    m = ag.random_layered(3, 4, 2, rng=rng)
    R = m.R * 7 - 2
    big = ag.LayeredMDP.from_successors(m.next_states, m.next_probs, R, m.rho0)
    assert not big.returns_in_unit_interval()
    sc = big.scaled()
    assert sc.returns_in_unit_interval()
    pols = ag.random_policies(12, 3, 4, 2, rng=rng)
    v, w = ag.policy_values(big, pols), ag.policy_values(sc, pols)
    lo = big.R.min(axis=(1, 2)).sum()
    W = (big.R.max(axis=(1, 2)) - big.R.min(axis=(1, 2))).sum()
    np.testing.assert_allclose(w, (v - lo) / W, atol=1e-12)


def test_policy_class_constructors():
    H, S, A = 2, 3, 2
    allp = ag.all_policies(H, S, A)
    assert allp.shape == (A ** (H * S), H, S) and np.unique(allp, axis=0).shape[0] == allp.shape[0]
    assert ag.constant_action(H, S, 3).shape == (3, H, S)
    sd = ag.singleton_deviations(H, S, 3)
    assert sd.shape == (1 + H * S * 2, H, S)
    assert np.all((sd != sd[0]).sum(axis=(1, 2))[1:] == 1)
    feat = np.random.default_rng(0).normal(size=(H, S, 4))
    w = np.random.default_rng(1).normal(size=(20, A, 4))
    lp = ag.linear_argmax_policies(feat, w)
    np.testing.assert_array_equal(lp[3], np.einsum("ad,hsd->hsa", w[3], feat).argmax(axis=2))
    tp = ag.threshold_policies(feat[..., 0], np.array([-1e9, 1e9]))
    assert np.all(tp[0] == 1) and np.all(tp[1] == 0)


# ----------------------------------------------------------------------------- spanning capacity
@pytest.mark.parametrize("H,S,A", [(1, 2, 2), (2, 2, 2), (3, 2, 2), (2, 3, 2), (2, 2, 3)])
def test_all_policies_capacity_known(H, S, A):
    # Jia et al. 2023 / docs/papers/agnostic_rl.md: C_h = min(A^(h+1), S A) for all policies
    r = ag.spanning_capacity(ag.all_policies(H, S, A), A, per_layer=True)
    assert r.exact
    np.testing.assert_array_equal(r.per_layer, [min(A ** (h + 1), S * A) for h in range(H)])


def test_constant_and_singleton_capacity_known():
    # constant-action class: C = A; singletons: values of the notes' Corrections section
    for A in (2, 3):
        r = ag.spanning_capacity(ag.constant_action(3, 3, A), A, per_layer=True)
        assert r.exact and r.capacity == A
    for (H, S), want in {(3, 2): 3, (3, 3): 4, (3, 4): 4, (4, 4): 5}.items():
        r = ag.spanning_capacity(ag.singleton_deviations(H, S, 2), 2)
        assert r.exact and r.capacity == want, (H, S, r)


@settings(deadline=None, max_examples=25)
@given(st.integers(0, 10_000), st.sampled_from([(3, 2, 2), (2, 3, 2), (2, 2, 3), (1, 3, 3)]), st.integers(1, 8))
def test_spanning_capacity_matches_literal_enumeration(seed, dims, K):
    H, S, A = dims
    pols = ag.random_policies(K, H, S, A, rng=np.random.default_rng(seed))
    ref = ag.reference_spanning_capacity(pols, A)
    r = ag.spanning_capacity(pols, A, per_layer=True)
    np.testing.assert_array_equal(r.per_layer, ref)
    assert r.exact and r.gap == 0 and r.capacity <= K  # C <= |Pi|
    assert ag.spanning_capacity(pols, A).capacity == ref.max()
    for h in range(H):  # each value is attained by its witness MDP
        start, T = r.witnesses[h]
        assert ag.reachable_pairs(pols, start, T, A)[h] == r.per_layer[h]
    # a starved search still brackets the truth
    b = ag.spanning_capacity(pols, A, per_layer=True, max_nodes=1)
    assert np.all(b.per_layer <= ref) and np.all(ref <= b.per_layer_upper)
    assert b.lower <= ref.max() <= b.upper and b.gap == b.upper - b.lower


def test_capacity_bounds_beyond_exact_search():
    rng = np.random.default_rng(0)
    pols = ag.random_policies(400, 5, 30, 3, rng=rng)
    r = ag.spanning_capacity(pols, 3, max_nodes=50)
    assert not r.exact and r.gap == r.upper - r.lower > 0
    assert r.upper <= min(30 * 3, 400)
    start, T = r.witnesses[int(np.argmax(r.per_layer))]
    assert ag.reachable_pairs(pols, start, T, 3).max() == r.lower


# ----------------------------------------------------------------------------- trajectory trees
@pytest.mark.parametrize("K,B", [(1, 1), (7, 2), (40, 3)])
def test_tree_kernel_matches_numpy_twin(K, B):
    rng = np.random.default_rng(K)
    m = ag.sparse_branching(5, 9, 3, rng=rng, branching=B, start="uniform")
    pols = ag.random_policies(K, 5, 9, 3, rng=rng)
    a, qa = ag.tree_returns(m, pols, 60, rng=np.random.default_rng(9))
    b, qb = ag.reference_tree_returns(m, pols, 60, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(qa, qb)


def test_trees_exact_on_deterministic_mdp_and_query_bound():
    rng = np.random.default_rng(2)
    H, S, A = 4, 3, 2
    pols = ag.random_policies(6, H, S, A, rng=rng)
    cap = ag.spanning_capacity(pols, A, per_layer=True)
    assert cap.exact
    d = ag.deterministic_layered(H, S, A, rng=rng)
    ret, q = ag.tree_returns(d, pols, 3, rng=rng)
    np.testing.assert_allclose(ret, np.broadcast_to(ag.policy_values(d, pols), ret.shape), atol=1e-12)
    start = int(np.argmax(d.rho0))
    assert np.all(q == ag.reachable_pairs(pols, start, d.next_states[..., 0], A).sum())
    m = ag.sparse_branching(H, S, A, rng=rng, branching=3)
    _, q = ag.tree_returns(m, pols, 200, rng=rng)
    assert q.max() <= cap.per_layer.sum()


def test_trajectory_tree_result_and_guarantee():
    rng = np.random.default_rng(1)
    m = ag.sparse_branching(4, 20, 2, rng=rng)
    pols = ag.random_policies(15, 4, 20, 2, rng=rng)
    r = ag.trajectory_tree(m, pols, 0.2, 0.1, rng=rng)
    assert r.n_trees == r.n_required == int(np.ceil(2 * np.log(2 * 15 / 0.1) / 0.04))
    assert r.queries.shape == (r.n_trees,) and r.estimates.shape == (15,)
    v = ag.policy_values(m, pols)
    assert v[r.best] >= v.max() - 0.2
    assert 2 * r.accuracy <= 0.2 + 1e-12
    np.testing.assert_array_equal(r.pi, pols[r.best])
    with pytest.raises(ValueError):
        r.estimates[0] = 1.0
    few = ag.trajectory_tree(m, pols, 0.2, 0.1, rng=rng, n_trees=10)
    assert few.n_trees == 10 and few.accuracy > 0.1 and "fewer trees" in few.guarantee


def test_single_tree_estimates_unbiased():
    rng = np.random.default_rng(7)
    m = ag.sparse_branching(4, 6, 2, rng=rng, branching=2)
    pols = ag.random_policies(5, 4, 6, 2, rng=rng)
    ret, _ = ag.tree_returns(m, pols, 20_000, rng=rng)
    v = ag.policy_values(m, pols)
    se = ret.std(axis=0) / np.sqrt(ret.shape[0])
    assert np.all(np.abs(ret.mean(axis=0) - v) <= 5 * se + 1e-12)


def test_model_based_kernel_matches_twin_and_converges():
    from mdp.agnostic.generative import _spread

    rng = np.random.default_rng(8)
    m = ag.sparse_branching(4, 6, 2, rng=rng, branching=2)
    pols = ag.random_policies(8, 4, 6, 2, rng=rng)
    samples, counts = _spread(m, 37, np.random.default_rng(0))
    assert counts.sum() == 37 and counts.max() - counts.min() <= 1
    r = ag.model_based(m, pols, 37, rng=np.random.default_rng(0))
    ref = ag.reference_model_based_values(pols, samples, counts, m.R, m.rho0)
    np.testing.assert_allclose(r.estimates, ref, atol=1e-12)
    big = ag.model_based(m, pols, 400_000, rng=rng)
    np.testing.assert_allclose(big.estimates, ag.policy_values(m, pols), atol=0.02)


# ----------------------------------------------------------------------------- bad input
def test_bad_input():
    rng = np.random.default_rng(0)
    m = ag.sparse_branching(3, 4, 2, rng=rng)
    good = ag.random_policies(3, 3, 4, 2, rng=rng)
    bad_action = good.copy()
    bad_action[1, 2, 3] = 2
    with pytest.raises(ValueError, match=r"policies\[1, 2, 3\] = 2 is not an action"):
        ag.policy_values(m, bad_action)
    with pytest.raises(ValueError, match="policies must have shape"):
        ag.policy_values(m, good[:, :2])
    with pytest.raises(ValueError, match="empty class"):
        ag.trajectory_tree(m, good[:0], 0.1, 0.1, rng=rng)
    with pytest.raises(ValueError, match="empty class"):
        ag.spanning_capacity(np.zeros((0, 2, 2), dtype=int), 2)
    with pytest.raises(ValueError, match="is not an action"):
        ag.spanning_capacity(good, 1)
    with pytest.raises(TypeError, match="policies must hold integer"):
        ag.policy_values(m, good + 0.5)
    for eps, delta, nm in ((0.0, 0.1, "eps"), (1.0, 0.1, "eps"), (0.1, 0.0, "delta"), (0.1, 1.5, "delta")):
        with pytest.raises(ValueError, match=nm):
            ag.trajectory_tree(m, good, eps, delta, rng=rng)
    with pytest.raises(TypeError, match="rng"):
        ag.trajectory_tree(m, good, 0.1, 0.1, rng=0)
    with pytest.raises(TypeError, match="model"):
        ag.trajectory_tree("m", good, 0.1, 0.1, rng=rng)
    big = ag.LayeredMDP.from_successors(m.next_states, m.next_probs, m.R * 5, m.rho0)
    with pytest.raises(ValueError, match=r"returns must lie in \[0, 1\].*scaled"):
        ag.trajectory_tree(big, good, 0.1, 0.1, rng=rng)
    P = np.full((1, 2, 2, 2), 0.5)
    P[0, 1, 1] = [0.7, 0.7]
    with pytest.raises(ValueError, match="P must be stochastic"):
        ag.LayeredMDP(P, np.zeros((2, 2, 2)), [1.0, 0.0])
    P[0, 1, 1] = [1.5, -0.5]
    with pytest.raises(ValueError, match="P must be nonnegative"):
        ag.LayeredMDP(P, np.zeros((2, 2, 2)), [1.0, 0.0])
    with pytest.raises(ValueError, match="P must have shape"):
        ag.LayeredMDP(np.full((2, 2, 2, 2), 0.5), np.zeros((2, 2, 2)), [1.0, 0.0])
    with pytest.raises(ValueError, match="rho0"):
        ag.LayeredMDP(np.full((1, 2, 2, 2), 0.5), np.zeros((2, 2, 2)), [0.7, 0.7])
    with pytest.raises(ValueError, match="next_states must be states"):
        ag.LayeredMDP.from_successors(np.full((1, 2, 2, 1), 5), np.ones((1, 2, 2, 1)), np.zeros((2, 2, 2)), [1.0, 0.0])
    with pytest.raises(ValueError, match="n_queries"):
        ag.model_based(m, good, 0, rng=rng)
    with pytest.raises(ValueError, match="literal enumeration"):
        ag.reference_spanning_capacity(ag.random_policies(2, 4, 4, 2, rng=rng), 2)
    with pytest.raises(ValueError, match="all_policies would have"):
        ag.all_policies(10, 10, 2)


def test_feature_class_with_thousands_of_policies():
    rng = np.random.default_rng(6)
    H, S, A, d = 4, 40, 3, 3
    pols = ag.linear_argmax_policies(rng.normal(size=(H, S, d)), rng.normal(size=(3000, A, d)))
    cap = ag.spanning_capacity(pols, A, max_nodes=100)
    assert np.all(cap.per_layer <= cap.per_layer_upper)
    assert np.all(cap.per_layer_upper <= np.minimum(S * A, A ** np.arange(1, H + 1)))
    m = ag.sparse_branching(H, S, A, rng=rng)
    _, q = ag.tree_returns(m, pols, 50, rng=rng)
    assert q.max() <= cap.per_layer_upper.sum()
    with pytest.raises(ValueError, match="share d"):
        ag.linear_argmax_policies(np.zeros((H, S, 2)), np.zeros((5, A, 3)))
    with pytest.raises(ValueError, match="empty class"):
        ag.threshold_policies(np.zeros((H, S)), np.zeros(0))
