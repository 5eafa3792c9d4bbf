"""mdp.goal: goal-conditioned MDPs, distances and values, hindsight data, expectile TD, AWR, hierarchy."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp import goal as G


def padded_corridor_data(L, n):
    """Two optimal walks (right and left) on a corridor of L cells, padded by n blocked steps."""
    st_ = np.array([np.minimum(np.arange(L + n), L - 1), np.maximum(L - 1 - np.arange(L + n), 0)])
    acts = np.array([[1] * (L - 1 + n), [0] * (L - 1 + n)])
    return G.GoalDataset(st_, acts, L)


# ----------------------------------------------------------------------------- model, envs, distances
def test_corridor_distances_and_values_known():
    c = G.corridor(5)
    d = c.distances()
    np.testing.assert_array_equal(d, np.abs(np.arange(5)[:, None] - np.arange(5)[None, :]))
    # V = -(1 - gamma^d)/(1 - gamma): d = 2, gamma = 0.5 -> -(1 - 0.25)/0.5 = -1.5 (hand computation)
    assert G.goal_values(d, 0.5)[0, 2] == pytest.approx(-1.5)
    # option costs: d = 7, n = 3 -> ceil = 3 ("start"), 2 ("reach"); d = 0 -> 0 for both
    assert G.option_cost(7.0, 3, "start") == 3 and G.option_cost(7.0, 3, "reach") == 2
    assert G.option_cost(0.0, 3, "reach") == 0
    assert G.goal_values(np.inf, 0.9) == pytest.approx(-10.0)


def test_goal_values_match_mdp_solve_on_a_maze():
    m = G.maze(9, rng=np.random.default_rng(0), loops=0.2)
    d = m.distances()
    g = 7
    sol = mdp.solve(m.to_tabular(g, 0.95), tol=1e-10)
    np.testing.assert_allclose(sol.v, G.goal_values(d, 0.95)[:, g], atol=1e-8)


def test_maze_is_perfect_and_long():
    m = G.maze(41, rng=np.random.default_rng(1))
    # 20 x 20 rooms and 399 openings of a spanning tree
    assert m.n_states == 799
    d = m.distances()
    assert np.isfinite(d).all() and d.max() > 300
    # a tree: number of undirected edges = S - 1
    assert m.adjacency().nnz == 2 * (m.n_states - 1)


def test_block_track_counts_and_moves():
    m = G.block_track(3, 7)
    assert m.n_states == 7 * 6 * 5 and m.n_actions == 6
    conf = m.coords
    # moves change exactly one block by one position, or nothing
    for a in range(6):
        diff = np.abs(conf[m.next_state[:, a]] - conf).sum(axis=1)
        assert set(np.unique(diff)) <= {0, 1}
    d = m.distances()
    # blocks cannot pass each other on a 1-D track: reachable iff the blocks' order is the same
    order = np.argsort(conf, axis=1)
    same = (order[:, None, :] == order[None, :, :]).all(axis=2)
    np.testing.assert_array_equal(np.isfinite(d), same)
    # within an order class, the distance is the sum of the block displacements
    np.testing.assert_array_equal(d[same], np.abs(conf[:, None, :] - conf[None, :, :]).sum(axis=2)[same])


def test_doorway_grid_route():
    m = G.doorway_grid()
    idx = {tuple(c): i for i, c in enumerate(m.coords)}
    assert m.distances()[idx[G.DOORWAY_START], idx[G.DOORWAY_GOAL]] == 60  # 4 legs of 12 across + 3 down


# ----------------------------------------------------------------------------- data
def test_hindsight_offsets_are_first_hits():
    rng = np.random.default_rng(2)
    m = G.maze(9, rng=rng)
    data = G.random_walks(m, 20, 60, rng=rng, momentum=0.5)
    tr = G.hindsight_transitions(data, rng=rng, n_samples=500, n=4)
    d = m.distances()
    reached = tr.offset >= 0
    assert np.all(tr.cont[reached] == 0) and np.all(tr.cont[~reached] == 1)
    assert np.all(tr.s_next[reached] == tr.g[reached])
    # an option moves at most n steps
    assert np.all(d[tr.s, tr.s_next] <= 4)
    assert np.all(tr.reward[tr.offset == 0] == 0) and np.all(tr.reward[tr.offset > 0] == -1)


def test_random_walk_follows_dynamics():
    rng = np.random.default_rng(3)
    m = G.maze(9, rng=rng)
    data = G.random_walks(m, 5, 30, rng=rng, momentum=0.9)
    np.testing.assert_array_equal(data.states[:, 1:], m.next_state[data.states[:, :-1], data.actions])


# ----------------------------------------------------------------------------- expectile TD
def test_expectile_known_values():
    # kappa = 0.5 is the mean; y = (0, 1), kappa = 0.75: 0.25 (x - 0) = 0.75 (1 - x) -> x = 0.75
    assert G.sample_expectile([1.0, 2.0, 6.0], 0.5) == pytest.approx(3.0)
    assert G.sample_expectile([0.0, 1.0], 0.75) == pytest.approx(0.75)


@pytest.mark.parametrize("convention", ["start", "reach"])
@pytest.mark.parametrize("n", [1, 4])
def test_expectile_td_fixed_point_is_closed_form(n, convention):
    # OT1/OT2: on shortest-path data the fixed point is -(1 - gamma^c)/(1 - gamma), c = option_cost
    data = padded_corridor_data(30, n)
    tr = G.exhaustive_transitions(data, n=n, convention=convention)
    r = G.expectile_td(tr, gamma=0.9, expectile=0.7, tol=1e-11)
    want = G.goal_values(G.corridor(30).distances(), 0.9, n=n, convention=convention)
    assert r.visited.all() and r.converged
    np.testing.assert_allclose(r.v, want, atol=1e-9)


@settings(deadline=None, max_examples=10)
@given(st.integers(0, 10_000), st.sampled_from([0.1, 0.5, 0.7, 0.9]), st.integers(1, 3))
def test_kernel_matches_numpy_twin(seed, kappa, n):
    rng = np.random.default_rng(seed)
    m = G.maze(7, rng=rng, loops=0.3)
    data = G.random_walks(m, 6, 25, rng=rng, momentum=0.3)
    tr = G.hindsight_transitions(data, rng=rng, n_samples=400, n=n)
    r = G.expectile_td(tr, gamma=0.8, expectile=kappa, tol=1e-9)
    S = m.n_states
    v0 = np.full((S, S), -5.0)
    np.fill_diagonal(v0, 0.0)
    vr, res = G.reference_expectile_td(*G.group_cells(tr), 0.8, kappa, v0.ravel(), 1e-9, 10_000)
    np.testing.assert_allclose(r.v.T.ravel(), vr, atol=1e-9)  # the twin's table is goal-major
    assert r.n_iter == res.size
    # every cell with data is the exact expectile of its own targets at the fixed point
    y = tr.reward + 0.8 * tr.cont * r.v[tr.s_next, tr.g]
    c = (tr.s[0], tr.g[0])
    sel = (tr.s == c[0]) & (tr.g == c[1])
    assert r.v[c] == pytest.approx(G.sample_expectile(y[sel], kappa), abs=1e-8)
    # values lie in [-1/(1-gamma), 0]
    assert r.v.min() >= -5.0 - 1e-9 and r.v.max() <= 1e-12


def test_expectile_td_warns_when_not_converged():
    data = padded_corridor_data(20, 1)
    tr = G.exhaustive_transitions(data)
    with pytest.warns(mdp.ConvergenceWarning):
        r = G.expectile_td(tr, gamma=0.99, max_iter=3)
    assert not r.converged and r.n_iter == 3


# ----------------------------------------------------------------------------- AWR and hierarchy
def test_awr_closed_form_known():
    # context 0: actions 0 (A = 0, weight 1) and 1 (A = log 2 / beta, weight 2) -> (1/3, 2/3)
    beta = 2.0
    p = G.awr([0, 0], [0, 1], [0.0, np.log(2) / beta], n_contexts=2, n_actions=2, beta=beta)
    np.testing.assert_allclose(p.probs(0), [1 / 3, 2 / 3])
    np.testing.assert_allclose(p.probs(1), [0.5, 0.5])  # no data: uniform
    assert p.greedy(0) == 1
    ref = np.array([[1.0, 0.0], [0.2, 0.8]])
    q = G.awr([0, 0], [0, 1], [0.0, np.log(2) / beta], n_contexts=2, n_actions=2, beta=beta, reference=ref, lam=3.0)
    np.testing.assert_allclose(q.probs(0), [(1 + 3) / 6, 2 / 6])  # (W + lam ref) / (W + lam)
    np.testing.assert_allclose(q.dense()[1], ref[1])


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 10_000))
def test_awr_maximises_its_objective(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(2, size=30)
    a = rng.integers(3, size=30)
    adv = rng.normal(size=30)
    ref = rng.dirichlet(np.ones(3), size=2)
    p = G.awr(x, a, adv, n_contexts=2, n_actions=3, beta=1.5, reference=ref, lam=0.7)
    w = np.exp(1.5 * adv)

    def obj(P):
        return (w * np.log(P[x, a])).sum() + 0.7 * (ref * np.log(P)).sum()

    best = obj(p.dense())
    for _ in range(20):
        other = rng.dirichlet(np.ones(3), size=2)
        assert obj(other) <= best + 1e-9


def test_oracle_hierarchy_reaches_goal_with_exact_values():
    rng = np.random.default_rng(4)
    m = G.maze(15, rng=rng)
    d = m.distances()
    v = G.goal_values(d, 0.99)
    data = G.random_walks(m, 50, 200, rng=rng, momentum=0.8)
    cand = G.subgoal_candidates(data, 5)
    s0, g = np.unravel_index(np.argmax(d), d.shape)

    def high(s, g):
        return G.select_subgoal(v, s, g, cand.of(s))

    r = G.hierarchical_rollout(m, int(s0), int(g), high=high, low=G.oracle_low_level(m), subgoal_steps=5, max_steps=400)
    assert r.success and r.steps >= d[s0, g]
    # greedy low level on the exact values is the oracle
    r2 = G.hierarchical_rollout(
        m, int(s0), int(g), high=high, low=G.greedy_low_level(m, v), subgoal_steps=5, max_steps=400
    )
    assert r2.success and r2.steps == r.steps


def test_select_subgoal_rule():
    v = G.goal_values(G.corridor(10).distances(), 0.9)
    # candidates 3, 5 from s = 2 towards g = 9: picks 5; radius (>= v at distance 2) drops 5
    assert G.select_subgoal(v, 2, 9, [3, 5]) == 5
    assert G.select_subgoal(v, 2, 9, [3, 5], radius=v[0, 2]) == 3
    # goal fallback: s = 8 is closer to 9 than any candidate
    assert G.select_subgoal(v, 8, 9, [3, 5], goal_fallback=True) == 9


# ----------------------------------------------------------------------------- bad input
def test_bad_input():
    m = G.corridor(6)
    with pytest.raises(ValueError, match="goal"):
        m.to_tabular(6)
    with pytest.raises(ValueError, match="goal"):
        G.hierarchical_rollout(m, 0, -1, high=lambda s, g: g, low=lambda s, g: 1, subgoal_steps=2, max_steps=5)
    with pytest.raises(ValueError, match="start"):
        G.hierarchical_rollout(m, 9, 1, high=lambda s, g: g, low=lambda s, g: 1, subgoal_steps=2, max_steps=5)
    with pytest.raises(TypeError, match="goal"):
        G.check_goals(1.5, 6, "goal")
    data = padded_corridor_data(6, 1)
    tr = G.exhaustive_transitions(data)
    for bad in (0.0, 1.0, 1.5, -0.2):
        with pytest.raises(ValueError, match="expectile"):
            G.expectile_td(tr, expectile=bad)
    with pytest.raises(TypeError, match="expectile"):
        G.expectile_td(tr, expectile="0.7")
    with pytest.raises(ValueError, match="gamma"):
        G.expectile_td(tr, gamma=1.0)
    with pytest.raises(TypeError, match="transitions"):
        G.expectile_td(data)
    with pytest.raises(ValueError, match="v0"):
        G.expectile_td(tr, v0=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="convention"):
        G.exhaustive_transitions(data, convention="end")
    with pytest.raises(ValueError, match="n \\(option length\\)"):
        G.exhaustive_transitions(data, n=50)
    with pytest.raises(ValueError, match="p_current"):
        G.hindsight_transitions(data, rng=np.random.default_rng(0), n_samples=5, p_current=0.5)
    with pytest.raises(TypeError, match="rng"):
        G.hindsight_transitions(data, rng=0, n_samples=5)
    with pytest.raises(ValueError, match="size must be odd"):
        G.maze(10, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_blocks"):
        G.block_track(7, 7)
    with pytest.raises(ValueError, match="next_state"):
        G.GoalMDP([[0, 3]])
    with pytest.raises(ValueError, match="actions"):
        G.awr([0], [5], [0.0], n_contexts=1, n_actions=2)
    with pytest.raises(ValueError, match="reference"):
        G.awr([0], [1], [0.0], n_contexts=1, n_actions=2, reference=[[0.5, 0.6]])
