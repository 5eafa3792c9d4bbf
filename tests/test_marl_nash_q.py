"""Hu & Wellman grid games and Nash-Q learning."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import marl
from marl.grid_games import grid_game, grid_layout
from marl.learners import NashQResult, nash_q, stage_equilibrium


def _greedy_episode(layout, res, rng, max_steps=40):
    """Follow the (pure) stage-equilibrium profile from the start until a goal resets the game.

    Returns (steps, collisions, reached) of the episode.
    """
    s, collisions = layout.start, 0
    for step in range(1, max_steps + 1):
        assert res.row_policy[s].max() == 1.0 and res.col_policy[s].max() == 1.0  # pure profile on the path
        outs = layout.outcomes(s, int(np.argmax(res.row_policy[s])), int(np.argmax(res.col_policy[s])))
        _, s, _, collided, reached = outs[rng.choice(len(outs), p=[o[0] for o in outs])]
        collisions += collided
        if any(reached):
            return step, collisions, reached
    return max_steps, collisions, (False, False)


# ---------------------------------------------------------------------------- grid games
def test_grid_game_structure():
    for number, S in ((1, 57), (2, 56)):
        g = grid_game(number)
        L = grid_layout(number)
        assert g.n_states == L.n_states == S and g.n_actions == (4, 4) and not g.is_zero_sum
        assert g.gamma == 0.99
        np.testing.assert_allclose(g.dense_P().sum(axis=3), 1.0)
        assert L.decode(L.start) == ((2, 0), (2, 2))
        for s in range(S):
            assert L.encode(*L.decode(s)) == s


def test_grid_game_1_rules():
    L = grid_layout(1)
    g = grid_game(1)
    up, down, left, right = range(4)
    # both aim at the centre: collision, both stay, -1 each
    s = L.encode((1, 0), (1, 2))
    assert L.outcomes(s, right, left) == [(1.0, s, (-1.0, -1.0), True, (False, False))]
    assert g.rewards[:, s, right, left].tolist() == [-1.0, -1.0] and g.P[s, right, left, s] == 1.0
    # moving off the grid leaves an agent in place without penalty
    assert L.outcomes(L.start, left, right) == [(1.0, L.start, (0.0, 0.0), False, (False, False))]
    # swapping cells is not a collision
    s = L.encode((1, 0), (1, 1))
    assert L.outcomes(s, right, left)[0][1] == L.encode((1, 1), (1, 0))
    # agent 0 reaches its goal (0, 2): +100 to it alone and the game resets to the start
    s = L.encode((0, 1), (2, 1))
    assert L.outcomes(s, right, up) == [(1.0, L.start, (100.0, 0.0), False, (True, False))]
    # entering agent 1's goal together with agent 1 is a collision in GG1
    s = L.encode((0, 1), (1, 0))
    assert L.outcomes(s, left, up)[0][3] is True


def test_grid_game_2_rules():
    L = grid_layout(2)
    g = grid_game(2)
    up, left, right = 0, 2, 3
    # barriers: up from the bottom corners passes with probability 1/2 each, independently
    outs = L.outcomes(L.start, up, up)
    assert sorted(o[0] for o in outs) == [0.25] * 4
    assert g.P[L.start, up, up, L.encode((1, 0), (1, 2))] == pytest.approx(0.25)
    assert g.P[L.start, up, up, L.start] == pytest.approx(0.25)
    # no barrier when moving sideways or up from the bottom centre
    s = L.encode((2, 1), (2, 2))
    assert L.outcomes(s, up, left)[0][:2] == (1.0, L.encode((1, 1), (2, 1)))
    # both may enter the common goal together: +100 each, reset
    s = L.encode((0, 0), (0, 2))
    assert L.outcomes(s, right, left) == [(1.0, L.start, (100.0, 100.0), False, (True, True))]
    assert g.rewards[:, s, right, left].tolist() == [100.0, 100.0]


# ---------------------------------------------------------------------------- Nash-Q on grid games
def test_nash_q_grid_game_1_synchronous():
    g, L = grid_game(1), grid_layout(1)
    res = nash_q(g, n_iter=300, rng=np.random.default_rng(0), step_size=1.0)
    steps, collisions, reached = _greedy_episode(L, res, np.random.default_rng(1))
    # Hu & Wellman (2003), Sec. 5.1: on an equilibrium path both reach their goals in 4 moves
    assert (steps, collisions, reached) == (4, 0, (True, True))
    gap = marl.nash_gap(g, (res.row_policy, res.col_policy))
    assert gap.value < 1e-6


def test_nash_q_grid_game_2_synchronous():
    g, L = grid_game(2), grid_layout(2)
    res = nash_q(g, n_iter=300, rng=np.random.default_rng(0), step_size="count")
    rng = np.random.default_rng(2)
    for _ in range(20):
        steps, collisions, reached = _greedy_episode(L, res, rng)
        assert collisions == 0 and any(reached) and steps < 40
    assert marl.nash_gap(g, (res.row_policy, res.col_policy)).value < 1e-6


def test_nash_q_grid_game_1_online():
    g, L = grid_game(1), grid_layout(1)
    res = nash_q(g, n_iter=20_000, rng=np.random.default_rng(0), mode="online", s0=L.start, epsilon=0.3)
    assert res.n_samples == 20_000 and res.residuals.shape == (20_000,) and 0 <= res.final_state < L.n_states
    assert _greedy_episode(L, res, np.random.default_rng(1)) == (4, 0, (True, True))


def test_nash_gap_matches_best_response_mdps():
    # foundations G5 by hand: solve each player's induced MDP against the other's strategy
    import mdp

    g = grid_game(1, gamma=0.9)
    res = nash_q(g, n_iter=150, rng=np.random.default_rng(3), step_size=1.0)
    v = marl.evaluate_strategies(g, res.row_policy, res.col_policy)
    br0 = mdp.solve(g.fixed_column_mdp(res.col_policy), tol=1e-10).v
    br1 = mdp.solve(g.fixed_row_mdp(res.row_policy), tol=1e-10).v
    gap = max((br0 - v[0]).max(), (br1 - v[1]).max())
    assert gap < 1e-6
    assert marl.nash_gap(g, (res.row_policy, res.col_policy)).value == pytest.approx(gap, abs=1e-6)


# ---------------------------------------------------------------------------- G6: zero-sum = minimax-Q
def _random_zero_sum(seed, S=4, A1=2, A2=3, gamma=0.8):
    g = np.random.default_rng(seed)
    P = g.dirichlet(np.ones(S), size=(S, A1, A2))
    R = g.uniform(-1, 1, size=(S, A1, A2))
    return marl.MarkovGame(P, R, gamma)


def _minimax_q_reference(game, n_iter, rng):
    """Synchronous minimax-Q (Littman 1994) with LP stage values, same sampling as nash_q."""
    S = game.n_states
    A1, A2 = game.n_actions
    cdf = np.cumsum(game.dense_P().reshape(S * A1 * A2, S), axis=1)
    Q = np.zeros((S, A1, A2))
    for t in range(n_iter):
        v = np.array([marl.zero_sum_matrix_game(Q[s]).value for s in range(S)])
        u = rng.random(S * A1 * A2)
        nxt = np.array([np.searchsorted(cdf[i], u[i] * cdf[i, -1], side="right") for i in range(S * A1 * A2)])
        a = 1.0 / (t + 1.0)
        Q = (1 - a) * Q + a * (game.R + game.gamma * v[nxt.reshape(S, A1, A2)])
    return Q


@settings(max_examples=5)
@given(st.integers(0, 2**32 - 1))
def test_g6_zero_sum_nash_q_is_minimax_q(seed):
    game = _random_zero_sum(seed)
    res = nash_q(game, n_iter=30, rng=np.random.default_rng(seed), step_size="count")
    ref = _minimax_q_reference(game, 30, np.random.default_rng(seed))
    np.testing.assert_allclose(res.Q[0], ref, atol=1e-8)
    np.testing.assert_allclose(res.Q[1], -res.Q[0], atol=1e-12)


@settings(max_examples=25)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 4))
def test_stage_equilibrium_selection(seed, m, n):
    g = np.random.default_rng(seed)
    M = g.normal(size=(m, n))
    x, y, (v0, v1) = stage_equilibrium(M, -M)
    assert v0 == pytest.approx(marl.zero_sum_matrix_game(M).value, abs=1e-9) and v1 == pytest.approx(-v0)
    # general-sum (small integers, often degenerate): an equilibrium of maximal welfare among the
    # pure ones if any exist
    A = g.integers(-2, 3, (m, n)).astype(float)
    B = g.integers(-2, 3, (m, n)).astype(float)
    x, y, (v0, v1) = stage_equilibrium(A, B)
    assert marl.nash_conv(np.stack([A, B]), [x, y]).nash_conv < 1e-9
    pure = marl.bimatrix.pure_equilibria(A, B)
    if pure:
        assert v0 + v1 == max(A[i, j] + B[i, j] for i, j in pure)
        assert (int(np.argmax(x)), int(np.argmax(y))) == min(p for p in pure if A[p] + B[p] == v0 + v1)


# ---------------------------------------------------------------------------- result and input
def test_reproducible_and_frozen():
    g = grid_game(2)
    a = nash_q(g, n_iter=5, rng=np.random.default_rng(7))
    b = nash_q(g, n_iter=5, rng=np.random.default_rng(7))
    assert isinstance(a, NashQResult) and np.array_equal(a.Q, b.Q) and a.Q.shape == (2, 56, 4, 4)
    assert a.row_policy.shape == (56, 4) and a.values.shape == (2, 56) and a.final_state == -1
    assert a.n_samples == 5 * 56 * 16 and a.step_size == "count"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.n_iter = 3
    with pytest.raises(ValueError, match="read-only"):
        a.Q[0, 0, 0, 0] = 1.0


def test_bad_input():
    g = grid_game(1)
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="game must be a marl.MarkovGame"):
        nash_q(np.zeros((2, 2)), n_iter=1, rng=rng)
    with pytest.raises(ValueError, match="n_iter must be >= 1"):
        nash_q(g, n_iter=0, rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        nash_q(g, n_iter=1, rng=0)
    with pytest.raises(ValueError, match="mode must be 'synchronous' or 'online'"):
        nash_q(g, n_iter=1, rng=rng, mode="async")
    with pytest.raises(ValueError, match="step_size must be 'count', 'polynomial'"):
        nash_q(g, n_iter=1, rng=rng, step_size="harmonic")
    with pytest.raises(ValueError, match=r"constant step_size must lie in \(0, 1\]"):
        nash_q(g, n_iter=1, rng=rng, step_size=1.5)
    with pytest.raises(ValueError, match=r"omega must lie in \(1/2, 1\]"):
        nash_q(g, n_iter=1, rng=rng, step_size="polynomial", omega=0.3)
    with pytest.raises(ValueError, match=r"epsilon must lie in \[0, 1\]"):
        nash_q(g, n_iter=1, rng=rng, mode="online", epsilon=2.0)
    with pytest.raises(ValueError, match="s0 must be a state index in 0..56"):
        nash_q(g, n_iter=1, rng=rng, mode="online", s0=57)
    with pytest.raises(ValueError, match=r"Q0 must have shape \(2, S, A1, A2\)"):
        nash_q(g, n_iter=1, rng=rng, Q0=np.zeros((57, 4, 4)))
    with pytest.raises(ValueError, match="Q0 must be finite"):
        nash_q(g, n_iter=1, rng=rng, Q0=np.full((2, 57, 4, 4), np.nan))
    with pytest.raises(ValueError, match="number must be 1 or 2"):
        grid_game(3)
    with pytest.raises(ValueError, match=r"barrier_prob must lie in \[0, 1\]"):
        grid_game(2, barrier_prob=1.5)
    with pytest.raises(ValueError, match="gamma must lie in"):
        grid_game(1, gamma=1.2)
    with pytest.raises(ValueError, match="is not a state of grid game 1"):
        grid_layout(1).encode((0, 2), (2, 2))  # agent 0 on its own goal
    with pytest.raises(ValueError, match="state index must lie in 0..55"):
        grid_layout(2).decode(56)


def test_learners_exports():
    import marl.learners as L
    from marl.learners.minimax_q import minimax_q  # noqa: F401  (direct submodule import first)

    assert L.nash_q is nash_q and callable(L.minimax_q) and L.minimax_q.__name__ == "minimax_q"
    assert {"nash_q", "NashQResult", "minimax_q", "MinimaxQResult"} <= set(L.__all__)


def test_renamed_fields_still_work_with_a_deprecation_warning():
    from marl.generators import random_general_sum_game

    g = random_general_sum_game(3, 2, 2, rng=np.random.default_rng(0), gamma=0.9)
    res = nash_q(g, n_iter=3, rng=np.random.default_rng(0))
    for old, new in (("x", "row_policy"), ("y", "col_policy"), ("history", "residuals")):
        with pytest.warns(DeprecationWarning, match=new):
            assert getattr(res, old) is getattr(res, new)
