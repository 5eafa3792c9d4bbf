"""Zero-sum matrix games: the batched numba simplex vs known values, HiGHS, and the rules of val."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import marl
from marl import _simplex as K
from marl.matrix import zero_sum_lp

RPS = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
PENNIES = np.array([[1.0, -1.0], [-1.0, 1.0]])


# ---------------------------------------------------------------------------- known values
def test_matching_pennies_value_zero_uniform():
    # classical (von Neumann & Morgenstern 1944): value 0, both play (1/2, 1/2)
    sol = marl.zero_sum_matrix_game(PENNIES)
    assert abs(sol.value) < 1e-15
    np.testing.assert_allclose(sol.row_strategy, [0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(sol.col_strategy, [0.5, 0.5], atol=1e-15)
    assert 0 <= sol.gap < 1e-15


def test_rock_paper_scissors_value_zero_uniform():
    sol = marl.zero_sum_matrix_game(RPS)
    assert abs(sol.value) < 1e-15
    np.testing.assert_allclose(sol.row_strategy, np.full(3, 1 / 3), atol=1e-15)
    np.testing.assert_allclose(sol.col_strategy, np.full(3, 1 / 3), atol=1e-15)


def test_two_by_two_closed_form():
    # Ferguson, "Game Theory", Part II, section 2.2: a 2x2 game [[a, b], [c, d]] without a saddle
    # point has value (ad - bc) / (a + d - b - c) and p = (d - c) / (a + d - b - c).
    # For [[3, -1], [-2, 1]]: value 1/7, row strategy (3/7, 4/7), column strategy (2/7, 5/7).
    sol = marl.zero_sum_matrix_game([[3.0, -1.0], [-2.0, 1.0]])
    assert sol.value == pytest.approx(1 / 7, abs=1e-15)
    np.testing.assert_allclose(sol.row_strategy, [3 / 7, 4 / 7], atol=1e-15)
    np.testing.assert_allclose(sol.col_strategy, [2 / 7, 5 / 7], atol=1e-15)


def test_saddle_point_game_pure_strategies():
    # [[4, 2, 3], [1, 0, -1]]: row 0 dominates; its minimum 2 is the column 1 maximum: saddle at (0, 1)
    sol = marl.zero_sum_matrix_game([[4.0, 2.0, 3.0], [1.0, 0.0, -1.0]])
    assert sol.value == pytest.approx(2.0, abs=1e-15)
    np.testing.assert_allclose(sol.row_strategy, [1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(sol.col_strategy, [0.0, 1.0, 0.0], atol=1e-15)


def test_matrix_game_object_and_value_helper():
    g = marl.MatrixGame.zero_sum(RPS)
    assert marl.zero_sum_matrix_game(g).value == pytest.approx(0.0, abs=1e-15)
    from marl.matrix import matrix_game_value

    assert matrix_game_value([[3.0, -1.0], [-2.0, 1.0]]) == pytest.approx(1 / 7)


def test_batch_shapes_and_results_read_only(rng):
    M = rng.normal(size=(7, 3, 4))
    sol = marl.zero_sum_matrix_game(M)
    assert sol.value.shape == (7,) and sol.row_strategy.shape == (7, 3) and sol.col_strategy.shape == (7, 4)
    with pytest.raises(ValueError):
        sol.row_strategy[0, 0] = 1.0
    with pytest.raises(Exception):
        sol.value = 1.0  # frozen dataclass


# ---------------------------------------------------------------------------- degenerate games
def test_constant_game_any_strategy_optimal():
    sol = marl.zero_sum_matrix_game(np.full((3, 4), 2.5))
    assert sol.value == 2.5 and sol.gap == 0.0
    np.testing.assert_allclose(sol.row_strategy.sum(), 1.0)


def test_all_zero_game():
    sol = marl.zero_sum_matrix_game(np.zeros((2, 2)))
    assert sol.value == 0.0


def test_duplicate_strategies_agree_with_highs(rng):
    base = rng.integers(-2, 3, size=(200, 3, 3)).astype(float)
    # duplicate a row and a column in every game: heavy degeneracy for the simplex
    M = np.concatenate([base, base[:, :1]], axis=1)
    M = np.concatenate([M, M[:, :, :1]], axis=2)
    a = marl.zero_sum_matrix_game(M)
    b = zero_sum_lp(M)
    np.testing.assert_allclose(a.value, b.value, atol=1e-12)
    assert a.gap.max() < 1e-12


# ---------------------------------------------------------------------------- differential
@pytest.mark.parametrize("shape", [(5, 5), (2, 7), (7, 3), (1, 4), (4, 1), (6, 6)])
def test_simplex_agrees_with_highs(rng, shape):
    M = rng.normal(size=(60, *shape))
    a = marl.zero_sum_matrix_game(M)
    b = marl.zero_sum_matrix_game(M, method="highs")
    np.testing.assert_allclose(a.value, b.value, atol=1e-9)
    assert a.gap.max() < 1e-12
    # the strategies certify the value in the original payoffs
    np.testing.assert_allclose(np.einsum("ni,nij->nj", a.row_strategy, M).min(axis=1), a.lower, atol=1e-15)


def test_parallel_batch_equals_serial(rng):
    M = rng.normal(size=(5000, 4, 4))
    a = marl.zero_sum_matrix_game(M, parallel=True)
    b = marl.zero_sum_matrix_game(M, parallel=False)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.row_strategy, b.row_strategy)


def test_batch_values_kernel_matches_full_solve(rng):
    M = rng.normal(size=(50, 3, 5))
    out = np.empty(50)
    worst, bad = K.batch_values(M, out)
    assert bad == -1 and worst < 1e-12
    np.testing.assert_array_equal(out, marl.zero_sum_matrix_game(M).value)


# ---------------------------------------------------------------------------- properties
matrices = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2**32 - 1)).map(
    lambda t: np.random.default_rng(t[2]).normal(size=(t[0], t[1]))
)


@settings(max_examples=40)
@given(matrices)
def test_value_between_pure_maximin_and_minimax(M):
    sol = marl.zero_sum_matrix_game(M)
    assert M.min(axis=1).max() - 1e-12 <= sol.value <= M.max(axis=0).min() + 1e-12
    assert sol.lower <= sol.upper + 1e-15
    assert sol.gap <= 1e-12 * (1 + np.abs(M).max())


@settings(max_examples=30)
@given(matrices, st.floats(-5, 5), st.floats(0.1, 10))
def test_value_affine_and_transpose_rules(M, shift, scale):
    v = marl.zero_sum_matrix_game(M).value
    assert marl.zero_sum_matrix_game(scale * M + shift).value == pytest.approx(scale * v + shift, abs=1e-9)
    # the game seen from the column player: val(-M^T) = -val(M)
    assert marl.zero_sum_matrix_game(-M.T).value == pytest.approx(-v, abs=1e-12)


@settings(max_examples=30)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_symmetric_game_has_value_zero(k, seed):
    # foundations G3: an antisymmetric payoff M = -M^T is a symmetric game, value 0
    B = np.random.default_rng(seed).normal(size=(k, k))
    assert abs(marl.zero_sum_matrix_game(B - B.T).value) < 1e-12


@settings(max_examples=30)
@given(matrices)
def test_minimax_theorem_primal_equals_dual_highs(M):
    # von Neumann (1928): max_x min_y = min_y max_x; the two HiGHS LPs give the same optimum
    sol = zero_sum_lp(M)
    assert sol.upper - sol.lower < 1e-8


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "M, exc, match",
    [
        ([1.0, 2.0], ValueError, r"payoff matrix \(k1, k2\) or a batch"),
        (np.zeros((2, 2, 2, 2)), ValueError, "payoff matrix"),
        ([[1.0, np.nan], [0.0, 1.0]], ValueError, r"M must be finite; M\[0, 1\] = nan"),
        ([[1.0, np.inf]], ValueError, "finite"),
        (np.zeros((0, 3)), ValueError, r"at least one action, got shape \(0, 3\)"),  # the shape given
        (np.zeros((2, 3, 0)), ValueError, r"at least one action, got shape \(2, 3, 0\)"),
        ("abc", TypeError, "array of numbers"),
        ([["a", "b"]], TypeError, "real numbers"),
    ],
)
def test_bad_payoffs(M, exc, match):
    with pytest.raises(exc, match=match):
        marl.zero_sum_matrix_game(M)


def test_bad_method_and_general_sum_game():
    with pytest.raises(ValueError, match="method must be 'simplex' or 'highs'"):
        marl.zero_sum_matrix_game(PENNIES, method="lemke")
    bos = marl.MatrixGame.bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])
    with pytest.raises(ValueError, match="not zero-sum"):
        marl.zero_sum_matrix_game(bos)


# ---------------------------------------------------------------------------- MatrixGame model
def test_matrix_game_validation_and_payoffs():
    g = marl.MatrixGame(np.stack([RPS, -RPS]))
    assert g.n_players == 2 and g.n_actions == (3, 3) and g.is_zero_sum
    u = np.full(3, 1 / 3)
    np.testing.assert_allclose(g.expected_payoffs([u, u]), [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(g.deviation_payoffs([u, u], 0), [0.0, 0.0, 0.0], atol=1e-15)
    with pytest.raises(ValueError, match=r"payoffs has 2 action axes but 3 payoff tables"):
        marl.MatrixGame(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="N >= 2 players"):
        marl.MatrixGame(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="must be finite"):
        marl.MatrixGame(np.full((2, 2, 2), np.nan))
    with pytest.raises(ValueError, match="same shape"):
        marl.MatrixGame.bimatrix(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"strategies\[0\] must sum to 1"):
        g.expected_payoffs([[0.5, 0.4, 0.0], u])
    with pytest.raises(ValueError, match="one strategy per player"):
        g.expected_payoffs([u])
    three = marl.MatrixGame(np.zeros((3, 2, 2, 2)))
    with pytest.raises(ValueError, match="two-player game"):
        three.A


# ---------------------------------------------------------------------------- scale (review findings)
def test_extreme_payoff_scales_are_exact():
    # each game is scaled by a power of two before pivoting: exact, and safe near overflow/underflow
    huge = marl.zero_sum_matrix_game(np.array([[1e308, -1e308], [-1e308, 1e308]]))
    assert huge.value == 0.0 and np.allclose(huge.row_strategy, [0.5, 0.5])
    tiny = marl.zero_sum_matrix_game(np.array([[0.0, 1e-310], [1e-310, 0.0]]))
    np.testing.assert_allclose(tiny.row_strategy, [0.5, 0.5])
    M = np.random.default_rng(0).normal(size=(50, 4, 4))
    base = marl.zero_sum_matrix_game(M).value
    for s in (2.0**-900, 3.0, 2.0**900):
        np.testing.assert_allclose(marl.zero_sum_matrix_game(M * s).value / s, base, rtol=1e-13, atol=1e-300)


def test_bimatrix_and_correlated_are_scale_free():
    # battle of the sexes: 2 pure + 1 mixed equilibrium at every payoff scale and shift
    A = np.array([[3.0, 0.0], [0.0, 2.0]])
    B = np.array([[2.0, 0.0], [0.0, 3.0]])
    for s in (1e-12, 1.0, 1e6, 1e12):
        assert len(marl.nash_equilibria(A * s, B * s)) == 3
        assert len(marl.nash_equilibria(A + s, B + s)) == 3
    # prisoner's dilemma scaled down: still only (defect, defect)
    PD = np.array([[3.0, 0.0], [5.0, 1.0]])
    eqs = marl.nash_equilibria(PD * 1e-12, PD.T * 1e-12)
    assert [(e.row_support, e.col_support) for e in eqs] == [((1,), (1,))]
    # chicken: welfare-maximising CE has welfare 10.5 (see test_marl_correlated) at any scale
    U = np.array([[[6, 2], [7, 0]], [[6, 7], [2, 0]]], float)
    for s in (1e-9, 1.0, 1e9):
        r = marl.correlated_equilibrium(U * s)
        assert r.payoffs.sum() / s == pytest.approx(10.5, rel=1e-6)
