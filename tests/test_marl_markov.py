"""Zero-sum Markov games: Shapley VI, Hoffman-Karp, evaluation, best responses, certificates,
minimax-Q, generators and the MarkovGame model."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import marl
from marl import generators as G
from marl.learners.minimax_q import minimax_q, reference_minimax_q
from marl.markov import reference_shapley_value_iteration, shapley_operator
from mdp import ConvergenceWarning


def small_game(seed, S=6, A1=3, A2=2, gamma=0.9, **kw):
    return G.random_zero_sum_game(S, A1, A2, rng=np.random.default_rng(seed), gamma=gamma, **kw)


# ---------------------------------------------------------------------------- known values
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.99])
def test_repeated_matrix_game_value(gamma):
    # the trivial Shapley fixed point (docs/papers/foundations.md section 6): V* = val(M) / (1 - gamma);
    # val([[3, -1], [-2, 1]]) = 1/7 (Ferguson, Game Theory, Part II, section 2.2)
    g = G.repeated_matrix_game([[3.0, -1.0], [-2.0, 1.0]], gamma)
    res = marl.shapley_value_iteration(g, tol=1e-12)
    assert res.v[0] == pytest.approx((1 / 7) / (1 - gamma), abs=1e-11)
    np.testing.assert_allclose(res.row_policy[0], [3 / 7, 4 / 7], atol=1e-12)
    assert res.error_bound <= 1e-12 and res.converged


def test_matching_pennies_and_rps_repeated_value_zero():
    for M in ([[1.0, -1.0], [-1.0, 1.0]], [[0, -1, 1], [1, 0, -1], [-1, 1, 0]]):
        res = marl.shapley_value_iteration(G.repeated_matrix_game(M, 0.95), tol=1e-12)
        assert abs(res.v[0]) < 1e-12
        np.testing.assert_allclose(res.row_policy[0], np.full(len(M), 1 / len(M)), atol=1e-12)


# ---------------------------------------------------------------------------- differential
@pytest.mark.parametrize("seed", range(3))
def test_shapley_matches_reference_twin(seed):
    g = small_game(seed)
    res = marl.shapley_value_iteration(g, tol=1e-11)
    ref = reference_shapley_value_iteration(g.dense_P(), g.R, g.gamma, tol=1e-12)
    np.testing.assert_allclose(res.v, ref, atol=1e-10)
    assert np.abs(res.v - ref).max() <= res.error_bound + 1e-12


def test_sparse_equals_dense():
    gd = small_game(4, S=30, A1=3, A2=3, branching=4)
    gs = marl.MarkovGame(sp.csr_matrix(gd.dense_P().reshape(-1, 30)), gd.R, gd.gamma)
    assert gs.is_sparse and not gd.is_sparse
    a = marl.shapley_value_iteration(gd, tol=1e-11)
    b = marl.shapley_value_iteration(gs, tol=1e-11)
    np.testing.assert_allclose(a.v, b.v, atol=2e-11)
    e = marl.exploitability(gs, b.row_policy, b.col_policy)
    assert e.value < 1e-8


@pytest.mark.parametrize("seed", range(3))
def test_hoffman_karp_agrees_with_shapley(seed):
    g = small_game(10 + seed, S=8, A1=3, A2=3, gamma=0.95)
    a = marl.shapley_value_iteration(g, tol=1e-10)
    b = marl.hoffman_karp(g, tol=1e-10)
    np.testing.assert_allclose(a.v, b.v, atol=2e-10)
    assert b.converged and b.n_iter < a.n_iter


def test_evaluate_strategies_matches_linear_solve(rng):
    g = small_game(5, gamma=0.8)
    x = rng.dirichlet(np.ones(3), size=6)
    y = rng.dirichlet(np.ones(2), size=6)
    P = g.dense_P()
    Pxy = np.einsum("sa,sb,sabt->st", x, y, P)
    r = np.einsum("sa,sb,sab->s", x, y, g.R)
    v = np.linalg.solve(np.eye(6) - 0.8 * Pxy, r)
    V = marl.evaluate_strategies(g, x, y)
    np.testing.assert_allclose(V[0], v, atol=1e-12)
    np.testing.assert_allclose(V[1], -v, atol=1e-12)


def test_best_response_value_is_max_over_pure_responses(rng):
    # brute force over all deterministic responses of a tiny game
    g = small_game(6, S=3, A1=2, A2=2, gamma=0.7)
    y = rng.dirichlet(np.ones(2), size=3)
    br = marl.best_response(g, y, 0)
    import itertools

    best = np.full(3, -np.inf)
    for pi in itertools.product(range(2), repeat=3):
        best = np.maximum(best, marl.evaluate_strategies(g, np.array(pi), y)[0])
    np.testing.assert_allclose(br.v, best, atol=1e-10)
    np.testing.assert_allclose(marl.evaluate_strategies(g, br.pi, y)[0], best, atol=1e-10)


# ---------------------------------------------------------------------------- certificates (G2)
@pytest.mark.parametrize("seed", range(3))
def test_equilibrium_certificate(seed):
    g = small_game(20 + seed, S=10, A1=3, A2=4, gamma=0.9)
    res = marl.shapley_value_iteration(g, tol=1e-12)
    e = marl.exploitability(g, res.row_policy, res.col_policy)
    # (a) evaluation of the pair = V*, (b) both best responses = V*, (c) exploitability < 1e-8
    np.testing.assert_allclose(e.v_pair, res.v, atol=1e-9)
    np.testing.assert_allclose(e.v_row_best_response, res.v, atol=1e-9)
    np.testing.assert_allclose(e.v_col_best_response, res.v, atol=1e-9)
    assert float(e) < 1e-8 and e.row_regret < 1e-8 and e.col_regret < 1e-8
    # the best responses bracket the value
    assert np.all(e.v_col_best_response <= res.v + 1e-9) and np.all(res.v <= e.v_row_best_response + 1e-9)


def test_exploitability_detects_a_bad_strategy():
    g = small_game(7, S=5, A1=3, A2=3)
    res = marl.shapley_value_iteration(g, tol=1e-10)
    uniform = np.full((5, 3), 1 / 3)
    e = marl.exploitability(g, uniform, res.col_policy)
    assert e.value > 1e-3 and e.row_regret > 1e-3
    # nash_gap in a zero-sum game reports the same regrets
    ng = marl.nash_gap(g, (uniform, res.col_policy))
    assert ng.value == pytest.approx(max(e.row_regret, e.col_regret), abs=1e-9)


# ---------------------------------------------------------------------------- properties (G1, G3)
@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 0.99))
def test_shapley_operator_contraction(seed, gamma):
    rng = np.random.default_rng(seed)
    g = G.random_zero_sum_game(4, 2, 3, rng=rng, gamma=gamma)
    v, u = rng.normal(size=4) * 3, rng.normal(size=4) * 3
    lhs = np.abs(shapley_operator(g, v) - shapley_operator(g, u)).max()
    assert lhs <= gamma * np.abs(v - u).max() + 1e-12


@settings(max_examples=10)
@given(st.integers(0, 2**32 - 1))
def test_symmetric_game_antisymmetric_values(seed):
    rng = np.random.default_rng(seed)
    swap = np.array([1, 0, 3, 2, 4])
    g = G.symmetrize(G.random_zero_sum_game(5, 3, rng=rng), swap=swap)
    v = marl.shapley_value_iteration(g, tol=1e-11).v
    np.testing.assert_allclose(v[swap], -v, atol=1e-10)
    assert abs(v[4]) < 1e-10


@settings(max_examples=10)
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.5, 0.9, 0.99]))
def test_certified_bound_holds(seed, gamma):
    g = G.random_zero_sum_game(6, 2, 2, rng=np.random.default_rng(seed), gamma=gamma)
    hk = marl.hoffman_karp(g, tol=1e-10)  # 1e-12 lies below the round-off floor at gamma = 0.99
    for tol in (1e-2, 1e-5):
        res = marl.shapley_value_iteration(g, tol=tol)
        assert np.abs(res.v - hk.v).max() <= res.error_bound + hk.error_bound
        assert res.error_bound <= tol


def test_max_iter_warns_and_reports_bound():
    g = small_game(8, gamma=0.99)
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        res = marl.shapley_value_iteration(g, tol=1e-12, max_iter=2)
    assert not res.converged and res.n_iter == 2 and res.error_bound > 1e-12
    hk = marl.hoffman_karp(g, tol=1e-10)
    assert np.abs(res.v - hk.v).max() <= res.error_bound + hk.error_bound


# ---------------------------------------------------------------------------- minimax-Q
def test_minimax_q_kernel_matches_numpy_twin():
    g = small_game(9, S=4, A1=2, A2=3)
    a = minimax_q(g, n_iter=25, rng=np.random.default_rng(3)).q
    b = reference_minimax_q(g.dense_P(), g.R, g.gamma, n_iter=25, rng=np.random.default_rng(3))
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_minimax_q_synchronous_converges():
    # foundations G4 (see theory_checks.games for the claim): 5 states, 2x2 actions, rewards in [0, 1)
    rng = np.random.default_rng(0)
    g0 = G.random_zero_sum_game(5, 2, rng=rng, gamma=0.5)
    g = marl.MarkovGame(g0.P, rng.random(g0.R.shape), 0.5)
    q_star = marl.shapley_value_iteration(g, tol=1e-12).q
    res = minimax_q(g, n_iter=20_000, rng=np.random.default_rng(1), q_star=q_star)
    assert res.errors[-1] < 1e-2
    assert res.errors[-1] < 0.2 * res.errors[100]


def test_minimax_q_online_self_play_and_checkpoints():
    g = small_game(11, S=4, A1=2, A2=2, gamma=0.6)
    q_star = marl.shapley_value_iteration(g, tol=1e-12).q
    res = minimax_q(
        g,
        n_iter=60_000,
        rng=np.random.default_rng(2),
        mode="online",
        q_star=q_star,
        checkpoints=[1000, 30_000],
        reset_prob=0.05,
        reset_dist=np.full(4, 0.25),
    )
    assert res.q_checkpoints.shape == (2, 4, 2, 2)
    assert res.errors[-1] < 0.5 * res.errors[1000]
    assert res.n_samples == 60_000 and res.mode == "online"
    # same seed, same result
    again = minimax_q(
        g,
        n_iter=60_000,
        rng=np.random.default_rng(2),
        mode="online",
        checkpoints=[1000, 30_000],
        reset_prob=0.05,
        reset_dist=np.full(4, 0.25),
    )
    np.testing.assert_array_equal(again.q, res.q)


@pytest.mark.parametrize(
    "kw, exc, match",
    [
        (dict(n_iter=0), ValueError, "n_iter must be >= 1"),
        (dict(n_iter=10, step_size="adam"), ValueError, "step_size must be"),
        (dict(n_iter=10, omega=0.4), ValueError, "omega must lie in"),
        (dict(n_iter=10, mode="batch"), ValueError, "mode must be"),
        (dict(n_iter=10, mode="online", epsilon=2.0), ValueError, "epsilon must lie in"),
        (dict(n_iter=10, mode="online", opponent="greedy"), ValueError, "opponent must be"),
        (dict(n_iter=10, mode="online", reset_prob=1.0), ValueError, "reset_prob must be"),
        (dict(n_iter=10, checkpoints=[11]), ValueError, "checkpoints must lie"),
        (dict(n_iter=10, q0=np.zeros((2, 2))), ValueError, "q0 must be 3-dimensional"),
    ],
)
def test_minimax_q_bad_arguments(kw, exc, match):
    g = small_game(12, S=3, A1=2, A2=2)
    with pytest.raises(exc, match=match):
        minimax_q(g, rng=np.random.default_rng(0), **kw)


def test_minimax_q_rejects_general_sum_and_missing_rng():
    g = G.random_general_sum_game(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="must be zero-sum"):
        minimax_q(g, n_iter=5, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng"):
        minimax_q(small_game(1), n_iter=5, rng=3.5)


# ---------------------------------------------------------------------------- model and bad input
def test_markov_game_validation_messages():
    P = np.full((2, 2, 3, 2), 0.5)
    R = np.zeros((2, 2, 3))
    marl.MarkovGame(P, R, 0.9)
    bad = P.copy()
    bad[1, 0, 2] = [0.5, 0.6]
    with pytest.raises(ValueError, match=r"P\[1, 0, 2, :\] must sum to 1 .*off by 0.1"):
        marl.MarkovGame(bad, R, 0.9)
    neg = P.copy()
    neg[0, 1, 1] = [1.5, -0.5]
    with pytest.raises(ValueError, match=r"P must be non-negative; P\[0, 1, 1, 1\] = -0.5"):
        marl.MarkovGame(neg, R, 0.9)
    with pytest.raises(ValueError, match=r"P must have shape \(S, A1, A2, S\) = \(2, 2, 3, 2\)"):
        marl.MarkovGame(np.full((2, 3, 2, 2), 0.5), R, 0.9)
    with pytest.raises(ValueError, match=r"R must be finite; R\[0, 0, 1\] = nan"):
        marl.MarkovGame(P, np.where(np.arange(3) == 1, np.nan, 0.0) * np.ones((2, 2, 3)), 0.9)
    with pytest.raises(ValueError, match="gamma must lie in"):
        marl.MarkovGame(P, R, 1.0)
    with pytest.raises(ValueError, match=r"general-sum R must have shape \(2, S, A1, A2\)"):
        marl.MarkovGame(P, np.zeros((3, 2, 2, 3)), 0.9)
    with pytest.raises(ValueError, match="empty game"):
        marl.MarkovGame(np.zeros((0, 2, 3, 0)), np.zeros((0, 2, 3)), 0.9)
    with pytest.raises(ValueError, match=r"sparse P must have shape \(S \* A1 \* A2, S\)"):
        marl.MarkovGame(sp.csr_matrix(np.full((6, 2), 0.5)), R, 0.9)
    with pytest.raises(ValueError, match=r"R must have shape \(S, A1, A2\)"):
        marl.MarkovGame(P, np.zeros((2, 2)), 0.9)


def test_solver_input_checks():
    g = small_game(13)
    gs = G.random_general_sum_game(3, 2, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="game must be a marl.MarkovGame"):
        marl.shapley_value_iteration("game")
    with pytest.raises(ValueError, match="must be a zero-sum MarkovGame"):
        marl.shapley_value_iteration(gs)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        marl.shapley_value_iteration(g, tol=0.0)
    with pytest.raises(ValueError, match="v0 must have length S = 6"):
        marl.shapley_value_iteration(g, v0=np.zeros(3))
    with pytest.raises(ValueError, match=r"row_policy\[2\] must sum to 1"):
        x = np.full((6, 3), 1 / 3)
        x[2] = [0.5, 0.5, 0.5]
        marl.exploitability(g, x, np.full((6, 2), 0.5))
    with pytest.raises(ValueError, match=r"col_policy must have shape \(S, k\) = \(6, 2\)"):
        marl.exploitability(g, np.full((6, 3), 1 / 3), np.full((6, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"y\[0\] = 5 is not an action"):
        marl.best_response(g, np.full(6, 5), 0)
    with pytest.raises(ValueError, match="player must be 0"):
        marl.best_response(g, np.zeros(6, dtype=int), 2)
    with pytest.raises(TypeError, match="policies must be a pair"):
        marl.nash_gap(g, np.zeros(6))


def test_general_sum_nash_gap_of_stage_equilibria_in_a_repeated_game():
    # prisoner's dilemma repeated forever: stationary (defect, defect) is an equilibrium, cooperation is not
    A = np.array([[3.0, 0.0], [5.0, 1.0]])
    R = np.stack([A, A.T])[:, None]
    g = marl.MarkovGame(np.ones((1, 2, 2, 1)), R, 0.9)
    assert marl.nash_gap(g, (np.array([1]), np.array([1]))).value < 1e-9
    coop = marl.nash_gap(g, (np.array([0]), np.array([0])))
    assert coop.value == pytest.approx((5 - 3) / (1 - 0.9), abs=1e-8)


def test_generators_and_swap():
    g = small_game(14, S=5, A1=2, A2=3)
    sw = g.swap_players()
    v = marl.shapley_value_iteration(g, tol=1e-11).v
    np.testing.assert_allclose(marl.shapley_value_iteration(sw, tol=1e-11).v, -v, atol=1e-10)
    with pytest.raises(ValueError, match="branching must be <= S"):
        G.random_zero_sum_game(3, 2, rng=np.random.default_rng(0), branching=4)
    with pytest.raises(ValueError, match="swap must be an involution"):
        G.symmetrize(small_game(1, S=3, A1=2, A2=2), swap=np.array([1, 2, 0]))
    with pytest.raises(ValueError, match="A1 == A2"):
        G.symmetrize(small_game(1))


# ---------------------------------------------------------------------------- review findings
def test_atol_of_the_game_reaches_the_certificates():
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(4), size=(4, 2, 2)) * (1 + 1e-6)  # rows off by 1e-6
    g = marl.MarkovGame(P, rng.normal(size=(4, 2, 2)), 0.9, atol=1e-5)
    res = marl.shapley_value_iteration(g, tol=1e-10)
    assert marl.exploitability(g, res.row_policy, res.col_policy).value < 1e-8
    assert marl.hoffman_karp(g, tol=1e-10).converged
    assert marl.nash_gap(g, (res.row_policy, res.col_policy)).value < 1e-8
    g.swap_players()
    with pytest.raises(ValueError, match="must sum to 1"):
        marl.MarkovGame(P, rng.normal(size=(4, 2, 2)), 0.9)
    # float32 transitions are accepted at float32's tolerance
    P32 = rng.dirichlet(np.ones(4), size=(4, 2, 2)).astype(np.float32)
    marl.MarkovGame(P32, np.zeros((4, 2, 2)), 0.9)


def test_round_off_floor_stops_shapley_iteration_with_a_warning():
    g0 = small_game(15, S=8, A1=3, A2=3)
    g = marl.MarkovGame(g0.P, g0.R * 1e12, 0.9)
    with pytest.warns(ConvergenceWarning, match="stopped shrinking"):
        res = marl.shapley_value_iteration(g, tol=1e-8)
    assert not res.converged and res.n_iter < 1000
    # the returned values agree with the unscaled solution within both certificates
    ref = marl.shapley_value_iteration(marl.MarkovGame(g0.P, g0.R, 0.9), tol=1e-13)
    assert np.abs(res.v - ref.v * 1e12).max() <= res.error_bound + ref.error_bound * 1e12


def test_player_arguments_and_integral_float_policies():
    g = small_game(16, S=3, A1=2, A2=2)
    for bad in (2, -1, "col", True):
        with pytest.raises(ValueError, match=r"player must be (a|an integer) player index \(0 row, 1 column\)"):
            g.q_values(np.zeros(3), player=bad)
    with pytest.raises(ValueError, match=r"player must be (a|an integer) player index \(0 row, 1 column\)"):
        g.fixed_column_mdp(np.full((3, 2), 0.5), player=5)
    with pytest.raises(ValueError, match=r"player must be an index in 0..1"):
        marl.MatrixGame.zero_sum([[1.0, 0.0], [0.0, 1.0]]).deviation_payoffs([[0.5, 0.5], [0.5, 0.5]], -1)
    a = marl.exploitability(g, np.zeros(3), np.ones(3)).value
    b = marl.exploitability(g, np.zeros(3, dtype=int), np.ones(3, dtype=int)).value
    assert a == b
    # player 1's stage games of a general-sum game keep full precision whatever R_0's scale
    gs = G.random_general_sum_game(3, 2, rng=np.random.default_rng(1))
    R = np.stack([gs.rewards[0] * 1e12, gs.rewards[1]])
    big = marl.MarkovGame(gs.dense_P(), R, gs.gamma)
    v = np.arange(3.0)
    np.testing.assert_allclose(big.q_values(v, 1), gs.q_values(v, 1), atol=1e-13)
