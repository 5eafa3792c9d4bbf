"""Generators: reproducibility, structure, and the semantics each docstring promises."""

from __future__ import annotations

import time
from collections import deque

import numpy as np
import pytest
from _helpers import exact_optimum
from hypothesis import given
from hypothesis import strategies as st

import mdp
from mdp import generators as G


def _rows_sum_to_one(m, atol=1e-12):
    P = m.P
    sums = np.asarray(P.sum(axis=1)).ravel() if m.is_sparse else P.sum(axis=2).ravel()
    np.testing.assert_allclose(sums, 1.0, atol=atol, rtol=0)


# --------------------------------------------------------------------------- random_mdp
@given(
    S=st.integers(1, 12),
    A=st.integers(1, 5),
    alpha=st.sampled_from([1e-3, 0.1, 1.0, 10.0]),
    seed=st.integers(0, 2**32 - 1),
    sparse=st.booleans(),
)
def test_random_mdp_structure_and_reproducibility(S, A, alpha, seed, sparse):
    m = G.random_mdp(S, A, rng=np.random.default_rng(seed), alpha=alpha, sparse=sparse)
    assert (m.n_states, m.n_actions, m.is_sparse, m.gamma) == (S, A, sparse, 0.9)
    _rows_sum_to_one(m)
    assert np.all(m.dense_P() >= 0) and np.all((m.R >= 0) & (m.R < 1))
    m2 = G.random_mdp(S, A, rng=np.random.default_rng(seed), alpha=alpha, sparse=sparse)
    np.testing.assert_array_equal(m.dense_P(), m2.dense_P())
    np.testing.assert_array_equal(m.R, m2.R)


def test_random_mdp_seeds_differ_and_alpha_controls_determinism():
    a = G.random_mdp(10, 3, rng=np.random.default_rng(0))
    b = G.random_mdp(10, 3, rng=np.random.default_rng(1))
    assert not np.array_equal(a.P, b.P)
    hard = G.random_mdp(50, 3, rng=np.random.default_rng(0), alpha=0.05)
    easy = G.random_mdp(50, 3, rng=np.random.default_rng(0), alpha=10.0)
    assert hard.P.max(axis=2).mean() > 0.3 > 0.1 > easy.P.max(axis=2).mean()
    tiny = G.random_mdp(5, 2, rng=np.random.default_rng(0), alpha=1e-300)  # rows underflow: one-hot
    _rows_sum_to_one(tiny)
    assert G.random_mdp(4, 2, rng=np.random.default_rng(0), dtype=np.float32).dtype == np.float32


# --------------------------------------------------------------------------- garnet
@given(S=st.integers(1, 40), A=st.integers(1, 4), data=st.data(), seed=st.integers(0, 10**6))
def test_garnet_structure(S, A, data, seed):
    b = data.draw(st.integers(1, S))
    m = G.garnet(S, A, b, rng=np.random.default_rng(seed), gamma=0.8)
    assert m.is_sparse and m.gamma == 0.8 and m.n_states == S and m.n_actions == A
    _rows_sum_to_one(m)
    indptr, indices, data_ = m.csr_arrays()
    counts = np.diff(indptr)
    assert np.all(counts <= b) and np.all(counts >= 1)
    assert np.mean(counts == b) > 0.9  # b distinct successors (a zero-width gap is measure-zero)
    for i in range(S * A):  # successors are distinct and sorted
        assert np.all(np.diff(indices[indptr[i] : indptr[i + 1]]) > 0)
    m2 = G.garnet(S, A, b, rng=np.random.default_rng(seed), gamma=0.8)
    np.testing.assert_array_equal(m.P.toarray(), m2.P.toarray())


# --------------------------------------------------------------------------- gridworld
def _bfs_moves_to_goal(W, H, wall, goal):
    dist = np.full(W * H, -1)
    gx, gy = goal
    dist[gy * W + gx] = 0
    queue = deque([(gx, gy)])
    while queue:
        x, y = queue.popleft()
        for dx, dy in ((0, -1), (0, 1), (1, 0), (-1, 0)):
            nx, ny = x + dx, y + dy
            if 0 <= nx < W and 0 <= ny < H and not wall[ny, nx] and dist[ny * W + nx] < 0:
                dist[ny * W + nx] = dist[y * W + x] + 1
                queue.append((nx, ny))
    return dist


def test_gridworld_deterministic_moves_walls_and_goal():
    W, H = 4, 3
    walls = [(1, 1), (2, 1)]
    m = G.gridworld(W, H, slip=0.0, walls=walls, goal=(3, 2), gamma=0.9)
    P = m.dense_P()
    N, S_, E, Wst = range(4)

    def s(x, y):
        return y * W + x

    assert P[s(0, 0), E, s(1, 0)] == 1.0  # a free move
    assert P[s(0, 0), N, s(0, 0)] == 1.0  # off the grid: stay
    assert P[s(0, 0), Wst, s(0, 0)] == 1.0
    assert P[s(1, 0), S_, s(1, 0)] == 1.0  # into a wall: stay
    assert P[s(0, 1), E, s(0, 1)] == 1.0
    assert P[s(3, 1), S_, s(3, 2)] == 1.0  # into the goal
    for a in range(4):  # goal and wall cells are absorbing with reward 0
        for cell in (s(3, 2), s(1, 1), s(2, 1)):
            assert P[cell, a, cell] == 1.0 and m.R[cell, a] == 0.0
    assert m.R[s(3, 1), S_] == 1.0 and m.R[s(2, 2), E] == 1.0 and m.R[s(0, 0), E] == 0.0
    # v*(s) = gamma^(d(s) - 1) where d is the number of moves to the goal (reward paid on entry)
    wall = np.zeros((H, W), bool)
    for x, y in walls:
        wall[y, x] = True
    d = _bfs_moves_to_goal(W, H, wall, (3, 2))
    res = mdp.policy_iteration(m)
    free = d > 0
    np.testing.assert_allclose(res.v[free], 0.9 ** (d[free] - 1), atol=1e-12)
    np.testing.assert_allclose(res.v[~free], 0.0, atol=1e-12)


def test_gridworld_slip_and_rewards():
    W, H, slip = 3, 3, 0.2
    m = G.gridworld(W, H, slip=slip, goal=(2, 0), goal_reward=5.0, step_reward=-0.5, gamma=0.9)
    P = m.dense_P()
    _rows_sum_to_one(m)
    c = 1 * W + 1  # the centre: N -> (1, 0) w.p. 0.8, E -> (2, 1) and W -> (0, 1) w.p. 0.1 each
    np.testing.assert_allclose(P[c, 0, [1, 5, 3]], [1 - slip, slip / 2, slip / 2])
    # from (1, 0) moving E enters the goal w.p. 0.8: R = 5 * 0.8 - 0.5
    assert m.R[1, 2] == pytest.approx(5 * 0.8 - 0.5)
    # from (2, 1) moving N enters the goal w.p. 0.8; moving E bumps the wall w.p. 0.8 but slips N w.p. 0.1
    assert m.R[5, 0] == pytest.approx(5 * 0.8 - 0.5)
    assert m.R[5, 2] == pytest.approx(5 * 0.1 - 0.5)
    # the expected reward is goal_reward * P(goal) + step_reward everywhere outside the goal
    goal = 2
    out = np.arange(W * H) != goal
    np.testing.assert_allclose(m.R[out], 5.0 * P[out, :, goal] - 0.5)
    assert np.all(m.R[goal] == 0)
    # duplicated targets (corner bumps) are merged: every row has <= 3 entries
    assert np.diff(m.csr_arrays()[0]).max() <= 3


def test_gridworld_boolean_wall_mask_and_int_cells_agree():
    mask = np.zeros((3, 4), bool)
    mask[1, 2] = True
    a = G.gridworld(4, 3, walls=mask)
    b = G.gridworld(4, 3, walls=[(2, 1)])
    c = G.gridworld(4, 3, walls=np.array([[2, 1]]))
    for other in (b, c):
        np.testing.assert_array_equal(a.P.toarray(), other.P.toarray())
    G.gridworld(4, 3, walls=[])  # no walls


def test_gridworld_1000x1000_builds_in_seconds():
    t = time.perf_counter()
    m = G.gridworld(1000, 1000, slip=0.1)
    elapsed = time.perf_counter() - t
    print(f"gridworld(1000, 1000) built in {elapsed:.2f} s")
    assert m.n_states == 10**6 and m.nnz <= 12 * 10**6
    assert elapsed < 20.0
    sums = np.asarray(m.P.sum(axis=1)).ravel()
    assert np.abs(sums - 1).max() < 1e-12


# --------------------------------------------------------------------------- chain, riverswim, forest
def test_chain_structure_and_value():
    m = G.chain(5, slip=0.2, gamma=0.9)
    P = m.dense_P()
    _rows_sum_to_one(m)
    assert P[0, 0, 1] == pytest.approx(0.8) and P[0, 0, 0] == pytest.approx(0.2)
    assert P[4, 0, 4] == pytest.approx(0.8) and m.R[4, 0] == pytest.approx(0.8 * 10 + 0.2 * 2)
    assert m.R[2, 1] == pytest.approx(0.8 * 2)
    # slip = 0: "forward" to the end pays 10 per step there; v*(s) = max(geometric, 2 / (1 - gamma))
    m0 = G.chain(5, slip=0.0, gamma=0.9)
    v, pi = exact_optimum(m0)
    expect = np.maximum(0.9 ** (4 - np.arange(5)) * 10 / 0.1, 2 + 0.9 * v[0])
    np.testing.assert_allclose(v, expect, rtol=1e-12)


def test_riverswim_structure():
    m = G.riverswim(6)
    P = m.dense_P()
    _rows_sum_to_one(m)
    np.testing.assert_allclose(P[3, 1, [4, 3, 2]], [0.35, 0.6, 0.05])
    np.testing.assert_allclose(P[0, 1, [1, 0]], [0.4, 0.6])
    np.testing.assert_allclose(P[5, 1, [5, 4]], [0.6, 0.4])
    assert P[3, 0, 2] == 1.0 and P[0, 0, 0] == 1.0
    assert m.R[0, 0] == 5e-3 and m.R[5, 1] == pytest.approx(0.6) and m.R.sum() == pytest.approx(0.605)
    v, pi = exact_optimum(m)
    assert np.all(pi == 1)  # swimming right is optimal everywhere at gamma = 0.95


def test_forest_matches_mdptoolbox_conventions():
    m = G.forest(4, r1=4, r2=2, p=0.1, gamma=0.96)
    P = m.dense_P()
    np.testing.assert_allclose(P[:, 0, 0], 0.1)
    np.testing.assert_allclose(P[[0, 1, 2], 0, [1, 2, 3]], 0.9)
    np.testing.assert_allclose(P[3, 0, 3], 0.9)
    np.testing.assert_allclose(P[:, 1, 0], 1.0)
    np.testing.assert_allclose(m.R, [[0, 0], [0, 1], [0, 1], [4, 2]])
