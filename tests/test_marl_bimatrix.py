"""Bimatrix Nash equilibria: support enumeration, vertex enumeration, Lemke-Howson."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import marl
from marl.bimatrix import (
    lemke_howson,
    nash_equilibria,
    pure_equilibria,
    support_enumeration,
    vertex_enumeration,
)

METHODS = ["support_enumeration", "vertex", "lemke_howson"]


def _profiles(eqs):
    return [(e.row_strategy, e.col_strategy) for e in eqs]


def _contains(eqs, x, y, atol=1e-9):
    return any(np.allclose(e.row_strategy, x, atol=atol) and np.allclose(e.col_strategy, y, atol=atol) for e in eqs)


def _lp_value(M):
    """Row player's maximin value of M by scipy's HiGHS LP (max v s.t. x^T M >= v, x on simplex)."""
    m, n = M.shape
    c = np.zeros(m + 1)
    c[-1] = -1.0
    A_ub = np.hstack([-M.T, np.ones((n, 1))])
    A_eq = np.hstack([np.ones((1, m)), np.zeros((1, 1))])
    res = linprog(
        c, A_ub=A_ub, b_ub=np.zeros(n), A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * m + [(None, None)], method="highs"
    )
    assert res.status == 0
    return -res.fun


# ---------------------------------------------------------------------------- known values
# Battle of the sexes with payoffs (2,1)/(1,2) (Osborne, "An Introduction to Game Theory", 2004,
# Sec. 4.4): pure equilibria (0,0), (1,1); the mixed one solves the indifference conditions
# 2 y0 = y1 (row) and x0 = 2 x1 (column): x = (2/3, 1/3), y = (1/3, 2/3), both payoffs 2/3.
BOS_A = np.array([[2.0, 0.0], [0.0, 1.0]])
BOS_B = np.array([[1.0, 0.0], [0.0, 2.0]])


@pytest.mark.parametrize("method", ["support_enumeration", "vertex"])
def test_battle_of_the_sexes(method):
    eqs = nash_equilibria(BOS_A, BOS_B, method=method)
    assert len(eqs) == 3
    assert _contains(eqs, [1, 0], [1, 0]) and _contains(eqs, [0, 1], [0, 1])
    mixed = eqs[-1]  # ordered by support size: the mixed one is last
    np.testing.assert_allclose(mixed.row_strategy, [2 / 3, 1 / 3], atol=1e-12)
    np.testing.assert_allclose(mixed.col_strategy, [1 / 3, 2 / 3], atol=1e-12)
    assert mixed.row_payoff == pytest.approx(2 / 3, abs=1e-12)
    assert mixed.col_payoff == pytest.approx(2 / 3, abs=1e-12)
    assert (mixed.row_support, mixed.col_support) == ((0, 1), (0, 1))


def test_battle_of_the_sexes_lemke_howson_finds_pure_ends():
    # from any label the LH path of a 2x2 coordination-type game ends at a pure equilibrium; the
    # mixed one has the other index and is only reachable from them (von Stengel 2002, Sec. 2.5)
    ends = nash_equilibria(BOS_A, BOS_B, method="lemke_howson")
    assert _profiles(ends) and all(len(e.row_support) == 1 for e in ends)
    assert _contains(ends, [1, 0], [1, 0]) and _contains(ends, [0, 1], [0, 1])


@pytest.mark.parametrize("method", METHODS)
def test_matching_pennies_unique_uniform(method):
    # classical: unique equilibrium, both uniform, value 0
    M = np.array([[1.0, -1.0], [-1.0, 1.0]])
    eqs = nash_equilibria(marl.MatrixGame.zero_sum(M), method=method)
    assert len(eqs) == 1
    np.testing.assert_allclose(eqs[0].row_strategy, [0.5, 0.5], atol=1e-12)
    np.testing.assert_allclose(eqs[0].col_strategy, [0.5, 0.5], atol=1e-12)
    assert eqs[0].row_payoff == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_prisoners_dilemma_unique_defection(method):
    # Axelrod's payoffs T=5 > R=3 > P=1 > S=0 (Axelrod & Hamilton 1981): unique NE (D, D), payoff (1, 1)
    A = np.array([[3.0, 0.0], [5.0, 1.0]])  # actions (cooperate, defect)
    eqs = nash_equilibria(A, A.T, method=method)
    assert len(eqs) == 1
    assert (eqs[0].row_support, eqs[0].col_support) == ((1,), (1,))
    assert (eqs[0].row_payoff, eqs[0].col_payoff) == (1.0, 1.0)


@pytest.mark.parametrize("method", METHODS)
def test_rock_paper_scissors_unique_uniform(method):
    # classical (docs/papers/foundations.md Sec. 6 table): value 0, both uniform, unique
    R = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    eqs = nash_equilibria(R, -R, method=method)
    assert len(eqs) == 1
    np.testing.assert_allclose(eqs[0].row_strategy, np.full(3, 1 / 3), atol=1e-12)
    np.testing.assert_allclose(eqs[0].col_strategy, np.full(3, 1 / 3), atol=1e-12)
    assert abs(eqs[0].row_payoff) < 1e-12


def test_coordination_game_three_equilibria():
    # pure coordination (identity payoffs for both): (0,0), (1,1) and uniform with payoff 1/2
    I2 = np.eye(2)
    for method in ("support_enumeration", "vertex"):
        eqs = nash_equilibria(I2, I2, method=method)
        assert len(eqs) == 3
        assert _contains(eqs, [0.5, 0.5], [0.5, 0.5])
        assert eqs[-1].row_payoff == pytest.approx(0.5)
    assert pure_equilibria(I2, I2) == ((0, 0), (1, 1))


# von Stengel (2002), Handbook of Game Theory vol. 3, ch. 45, Sec. 2.6: the degenerate 3x2 game
# (row 0's pure strategy has two best responses). Its extreme equilibria, cross-checked with
# nashpy's vertex_enumeration, are listed below; the first two span a component x = e_0,
# y = (t, 1 - t), t in [2/3, 1].
DEG_A = np.array([[3.0, 3.0], [2.0, 5.0], [0.0, 6.0]])
DEG_B = np.array([[3.0, 3.0], [2.0, 6.0], [3.0, 1.0]])
DEG_EXTREME = [([1, 0, 0], [1, 0]), ([1, 0, 0], [2 / 3, 1 / 3]), ([0, 1 / 3, 2 / 3], [1 / 3, 2 / 3])]


def test_degenerate_von_stengel_vertex_enumeration():
    eqs = vertex_enumeration(DEG_A, DEG_B)
    assert len(eqs) == 3
    for x, y in DEG_EXTREME:
        assert _contains(eqs, x, y)
    # lexicographic Lemke-Howson terminates from every label at one of them
    for k in range(5):
        e = lemke_howson(DEG_A, DEG_B, initial_label=k)
        assert any(_contains([e], x, y) for x, y in DEG_EXTREME)


def test_degenerate_all_zero_payoffs():
    # every profile is an equilibrium; the extreme ones are the 6 pure profiles of a 2x3 game
    Z = np.zeros((2, 3))
    for method in ("support_enumeration", "vertex"):
        eqs = nash_equilibria(Z, Z, method=method)
        assert len(eqs) == 6 and all(len(e.row_support) == len(e.col_support) == 1 for e in eqs)
    e = lemke_howson(Z, Z, initial_label=3)
    assert e.regret == 0.0


def test_degenerate_duplicate_column():
    # matching pennies with the column player's second action duplicated: row (1/2, 1/2) and the
    # column's weight 1/2 on the copies split arbitrarily; extreme points put it on one copy
    A = np.array([[1.0, -1.0, -1.0], [-1.0, 1.0, 1.0]])
    for method in ("support_enumeration", "vertex"):
        eqs = nash_equilibria(A, -A, method=method)
        assert len(eqs) == 2
        assert _contains(eqs, [0.5, 0.5], [0.5, 0.5, 0]) and _contains(eqs, [0.5, 0.5], [0.5, 0, 0.5])


def test_support_enumeration_accepts_all_input_forms():
    g = marl.MatrixGame.bimatrix(BOS_A, BOS_B)
    a = support_enumeration(g)
    b = support_enumeration(BOS_A, BOS_B)
    c = support_enumeration(np.stack([BOS_A, BOS_B]))
    for e1, e2, e3 in zip(a, b, c):
        assert np.array_equal(e1.row_strategy, e2.row_strategy) and np.array_equal(e1.row_strategy, e3.row_strategy)
    assert len(a) == len(b) == len(c) == 3


def test_result_is_frozen():
    e = support_enumeration(BOS_A, BOS_B)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.regret = 1.0
    with pytest.raises(ValueError, match="read-only"):
        e.row_strategy[0] = 0.3
    assert e.welfare == e.row_payoff + e.col_payoff


# ---------------------------------------------------------------------------- properties
def _random_game(seed, m, n):
    g = np.random.default_rng(seed)
    return g.normal(size=(m, n)), g.normal(size=(m, n))


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 4))
def test_every_returned_profile_has_tiny_regret(seed, m, n):
    A, B = _random_game(seed, m, n)
    for method in METHODS:
        eqs = nash_equilibria(A, B, method=method)
        assert len(eqs) >= 1
        for e in eqs:
            Ay, Bx = A @ e.col_strategy, B.T @ e.row_strategy
            assert Ay.max() - e.row_strategy @ Ay < 1e-9
            assert Bx.max() - Bx @ e.col_strategy < 1e-9
            assert e.regret < 1e-9
            assert e.row_strategy.min() >= 0 and abs(e.row_strategy.sum() - 1) < 1e-12


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 4))
def test_lemke_howson_is_among_support_enumeration_nondegenerate(seed, m, n):
    # Gaussian payoffs are nondegenerate with probability one
    A, B = _random_game(seed, m, n)
    se = support_enumeration(A, B)
    assert len(se) % 2 == 1  # odd number of equilibria in a nondegenerate game (Lemke-Howson 1964)
    ve = vertex_enumeration(A, B)
    assert len(ve) == len(se)
    for k in range(m + n):
        e = lemke_howson(A, B, initial_label=k)
        assert _contains(se, e.row_strategy, e.col_strategy, atol=1e-8)
    for e in ve:
        assert _contains(se, e.row_strategy, e.col_strategy, atol=1e-8)


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 4))
def test_zero_sum_payoff_equals_lp_value(seed, m, n):
    M, _ = _random_game(seed, m, n)
    v = _lp_value(M)
    for method in METHODS:
        for e in nash_equilibria(M, -M, method=method):
            assert e.row_payoff == pytest.approx(v, abs=1e-9)
            assert e.col_payoff == pytest.approx(-v, abs=1e-9)


@settings(max_examples=30)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 4))
def test_degenerate_integer_games(seed, m, n):
    # small integer payoffs are often degenerate: vertex enumeration lists every pure equilibrium
    # (pure equilibria are extreme) and Lemke-Howson terminates at a verified equilibrium
    g = np.random.default_rng(seed)
    A = g.integers(-2, 3, (m, n)).astype(float)
    B = g.integers(-2, 3, (m, n)).astype(float)
    ve = vertex_enumeration(A, B)
    assert len(ve) >= 1
    for i, j in pure_equilibria(A, B):
        x, y = np.eye(m)[i], np.eye(n)[j]
        assert _contains(ve, x, y)
        assert _contains(support_enumeration(A, B), x, y)
    for k in range(m + n):
        assert lemke_howson(A, B, initial_label=k).regret < 1e-9


# ---------------------------------------------------------------------------- bad input
def test_bad_input():
    A = np.zeros((2, 2))
    with pytest.raises(ValueError, match="same shape"):
        support_enumeration(A, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must be finite"):
        support_enumeration(np.array([[np.nan, 0.0], [0.0, 0.0]]), A)
    with pytest.raises(ValueError, match="2-dimensional"):
        support_enumeration(np.zeros(3), np.zeros(3))
    with pytest.raises(TypeError, match="real numbers"):
        support_enumeration(np.array([["a", "b"]]), A)
    with pytest.raises(ValueError, match="exactly two players"):
        support_enumeration(marl.MatrixGame(np.zeros((3, 2, 2, 2))))
    with pytest.raises(TypeError, match="B must not be given"):
        support_enumeration(marl.MatrixGame.bimatrix(A, A), A)
    with pytest.raises(ValueError, match=r"\(2, m, n\) payoff stack"):
        support_enumeration(np.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="method must be one of"):
        nash_equilibria(A, A, method="simplex")
    with pytest.raises(ValueError, match="initial_label must lie in 0..3"):
        lemke_howson(A, A, initial_label=4)
    with pytest.raises(TypeError, match="initial_label must be an integer"):
        lemke_howson(A, A, initial_label=1.0)
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        support_enumeration(A, A, tol=-1.0)
    with pytest.raises(ValueError, match="support enumeration would visit"):
        support_enumeration(np.zeros((14, 14)), np.zeros((14, 14)))
