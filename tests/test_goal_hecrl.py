"""HECRL pieces of mdp.goal (samplers, TV helpers) and the claims H1-H4, including that each can fail."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdp import goal as G
from theory_checks import hecrl as HC
from theory_checks.core import get_claim


def test_joint_sampler_known():
    js = G.fit_joint_sampler([0, 0, 1], [2, 3, 1], [4, 4, 4], 5)
    draws = js.sample(0, 4, 200, np.random.default_rng(0))
    assert set(draws) == {2, 3}
    assert js.sample(2, 4, 10, np.random.default_rng(0)).size == 0  # unseen context


def test_factored_sampler_outputs_valid_states_and_follows_counts():
    m = G.block_track(2, 5, ordered=True)
    conf = m.coords
    idx = {tuple(c): i for i, c in enumerate(conf)}
    # block 0 always moves 0 -> 1 and block 1 always stays at 3, for goal (1, 3) from (0, 3)
    s, sub, g = [idx[(0, 3)]] * 4, [idx[(1, 3)]] * 4, [idx[(1, 3)]] * 4
    fs = G.fit_factored_sampler(m, s, sub, g, 5)
    out = fs.sample(conf[idx[(0, 3)]], conf[idx[(1, 3)]], 50, np.random.default_rng(1))
    assert np.all(out == idx[(1, 3)])
    # unseen (cur, goal) for both blocks: the entities stay, the candidate is the current state
    out = fs.sample(conf[idx[(2, 4)]], conf[idx[(0, 1)]], 5, np.random.default_rng(1))
    assert np.all(out == idx[(2, 4)])


def test_subgoal_triples_rule():
    rng = np.random.default_rng(2)
    m = G.block_track(2, 6, ordered=True)
    data = G.random_walks(m, 10, 20, rng=rng)
    s, sub, g = G.subgoal_triples(data, 4, rng=rng)
    d = m.distances()
    assert s.size == 10 * 20
    assert np.all(d[s, sub] <= 4)  # at most k steps of data after s
    assert np.all(np.isfinite(d[sub, g]))


def test_tv_known_values():
    # samples (0, 0, 1, 1) of p = (0.5, 0.5): TV 0; of p = (1, 0): TV 0.5
    assert G.empirical_tv([0.5, 0.5], [0, 0, 1, 1]) == 0.0
    assert G.empirical_tv([1.0, 0.0], [0, 0, 1, 1]) == pytest.approx(0.5)
    # factored marginals exactly right -> product TV 0 although the joint sample misses outcomes
    X = np.array([[0, 0], [1, 1]])
    assert G.product_tv([[0.5, 0.5], [0.5, 0.5]], X) == pytest.approx(0.0)
    assert G.empirical_tv([0.25] * 4, X @ [2, 1]) == pytest.approx(0.5)


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 10_000), st.integers(1, 3), st.integers(2, 4))
def test_product_tv_bounded_by_sum_of_marginals(seed, N, L):
    rng = np.random.default_rng(seed)
    P = rng.dirichlet(np.ones(L), size=N)
    X = np.stack([rng.choice(L, size=7, p=P[b]) for b in range(N)], axis=1)
    tv = G.product_tv(P, X)
    marg = sum(G.empirical_tv(P[b], X[:, b]) for b in range(N))
    assert 0 <= tv <= marg + 1e-12


@pytest.mark.parametrize("cid", ["H1", "H2", "H3", "H4"])
def test_claims_hold(cid):
    assert get_claim(cid).check(np.random.default_rng(3)).holds


def test_h1_fails_without_the_goal_fallback():
    real = G.select_subgoal
    with mock.patch.object(HC.G, "select_subgoal", lambda *a, **k: real(*a, **{**k, "goal_fallback": False})):
        assert not get_claim("H1").check(0).holds


def test_h2_fails_without_the_competence_filter_and_shortcut():
    def worst(v, s, g, cand, **kw):  # picks the candidate farthest from the goal
        return int(np.asarray(cand)[np.argmin(v[np.asarray(cand), g])])

    with mock.patch.object(HC.G, "select_subgoal", worst):
        assert not get_claim("H2").check(0).holds


def test_h3_fails_if_clipping_is_applied_to_the_wrong_interval():
    real = G.expectile_td

    def shifted(tr, **kw):
        r = real(tr, **kw)
        if kw.get("clip"):
            return type(r)(
                r.v - 0.1, r.visited, r.n_iter, r.residuals, r.error_bound, r.converged, r.expectile, r.gamma
            )
        return r

    with mock.patch.object(HC.G, "expectile_td", shifted):
        assert not get_claim("H3").check(0).holds


def test_h4_fails_if_the_factored_estimate_is_the_joint_one():
    with mock.patch.object(HC.G, "product_tv", lambda P, X: 1.0):
        assert not get_claim("H4").check((3, 5, 1000)).holds


def test_bad_input():
    m = G.block_track(2, 5, ordered=True)
    with pytest.raises(ValueError, match="g must be states"):
        G.fit_joint_sampler([0], [1], [m.n_states], m.n_states)
    with pytest.raises(TypeError, match="coordinates"):
        G.fit_factored_sampler(G.GoalMDP([[0, 1], [0, 1], [1, 2]]), [0], [1], [2], 3)
    with pytest.raises(ValueError, match="n_positions"):
        G.fit_factored_sampler(m, [0], [1], [2], 3)
    with pytest.raises(ValueError, match="samples"):
        G.product_tv([[0.5, 0.5]], [[0, 1]])
    with pytest.raises(TypeError, match="seed"):
        get_claim("H1").check("x")
    with pytest.raises(ValueError, match="L\\^N"):
        get_claim("H4").check((10, 10, 5))
