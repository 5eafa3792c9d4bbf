"""marl.torch: batched Shapley–Snow matrix-game solver and batched Shapley value iteration.

Known values, properties (hypothesis), differential (scipy HiGHS LP per game; the numba
``marl.shapley_value_iteration``), conformance (equilibrium certificates through the induced
MDPs of ``marl.MarkovGame``) and bad input.
"""

from __future__ import annotations

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

import mdp  # noqa: E402
from marl.model import MarkovGame  # noqa: E402
from marl.torch import (  # noqa: E402
    MAX_KERNELS,
    batched_shapley_value_iteration,
    kernel_count,
    zero_sum_matrix_game,
)

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------ helpers
def lp_value(M):
    """``(val(M), x)`` by the row player's LP with scipy's HiGHS (the independent oracle)."""
    from scipy.optimize import linprog

    M = np.asarray(M, dtype=np.float64)
    k1, k2 = M.shape
    c = np.zeros(k1 + 1)
    c[-1] = -1.0  # maximise v
    A_ub = np.hstack([-M.T, np.ones((k2, 1))])  # v - x^T M[:, j] <= 0
    A_eq = np.r_[np.ones(k1), 0.0][None]
    res = linprog(
        c, A_ub=A_ub, b_ub=np.zeros(k2), A_eq=A_eq, b_eq=[1.0], bounds=[(0, None)] * k1 + [(None, None)], method="highs"
    )
    assert res.status == 0, res.message
    return float(res.x[-1]), res.x[:-1]


def random_game_arrays(rng, B, S, A1, A2, *, support=None):
    """``P (B, S, A1, A2, S)`` (Dirichlet rows, optionally on ``support`` random next states), ``R``."""
    if support is None:
        P = rng.dirichlet(np.ones(S), size=(B, S, A1, A2))
    else:
        P = np.zeros((B, S, A1, A2, S))
        w = rng.dirichlet(np.ones(support), size=(B, S, A1, A2))
        idx = np.argsort(rng.random((B, S, A1, A2, S)), axis=-1)[..., :support]
        np.put_along_axis(P, idx, w, axis=-1)
    R = rng.uniform(-1.0, 1.0, size=(B, S, A1, A2))
    return P, R


def np_(t):
    return t.detach().cpu().numpy()


def assert_optimal_pair(M, x, y, value, atol):
    """``x`` guarantees ``value`` and ``y`` holds the row player to ``value``, both on the simplex."""
    M, x, y = np.asarray(M, float), np.asarray(x, float), np.asarray(y, float)
    assert x.min() >= 0 and y.min() >= 0
    assert abs(x.sum() - 1) < 1e-12 and abs(y.sum() - 1) < 1e-12
    assert (x @ M).min() >= value - atol
    assert (M @ y).max() <= value + atol


# ------------------------------------------------------------------------------ matrix games: known values
def test_matching_pennies_value_zero_uniform():
    # classical: value 0, both players (1/2, 1/2)
    sol = zero_sum_matrix_game(torch.tensor([[1.0, -1.0], [-1.0, 1.0]], dtype=torch.float64))
    assert abs(float(sol.value)) < 1e-15
    np.testing.assert_allclose(np_(sol.row_strategy), [0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(np_(sol.col_strategy), [0.5, 0.5], atol=1e-15)
    assert float(sol.gap) <= 1e-15


def test_rock_paper_scissors_value_zero_uniform():
    # classical: value 0, unique optimal strategies uniform (docs/papers/foundations.md section 6 table)
    rps = [[0, -1, 1], [1, 0, -1], [-1, 1, 0]]
    sol = zero_sum_matrix_game(rps)
    assert abs(float(sol.value)) < 1e-15
    np.testing.assert_allclose(np_(sol.row_strategy), [1 / 3] * 3, atol=1e-15)
    np.testing.assert_allclose(np_(sol.col_strategy), [1 / 3] * 3, atol=1e-15)


def test_saddle_point_2x2():
    # [[3, 1], [4, 2]]: entry (1, 1) = 2 is the minimum of its row and the maximum of its column,
    # so the game is strictly determined with value 2 and pure strategies (row 2, column 2).
    sol = zero_sum_matrix_game(np.array([[3.0, 1.0], [4.0, 2.0]]))
    assert float(sol.value) == 2.0 and float(sol.gap) == 0.0
    np.testing.assert_array_equal(np_(sol.row_strategy), [0.0, 1.0])
    np.testing.assert_array_equal(np_(sol.col_strategy), [0.0, 1.0])


def test_textbook_3x3_card_game():
    # Cambridge Mathematical Tripos Part IB 2010, Paper 3, Section II (Optimization): each player
    # puts one card from {1, 2, 3} in an envelope; if the sum is <= 4, II pays I the sum,
    # otherwise I pays II the sum. The question shows that an invertible symmetric A with
    # A^{-1} e >= 0 has value (e^T A^{-1} e)^{-1}; here A^{-1} e = (41/114, 2/57, 5/114) >= 0,
    # so the value is 57/25 and both players play (41/50, 2/25, 1/10) (exact rational arithmetic).
    A = [[i + j if i + j <= 4 else -(i + j) for j in (1, 2, 3)] for i in (1, 2, 3)]
    assert A == [[2, 3, 4], [3, 4, -5], [4, -5, -6]]
    p = [Fraction(41, 50), Fraction(2, 25), Fraction(1, 10)]
    # exact check of the closed form: p^T A = (57/25) 1
    assert [sum(p[i] * A[i][j] for i in range(3)) for j in range(3)] == [Fraction(57, 25)] * 3
    sol = zero_sum_matrix_game(A)
    assert abs(float(sol.value) - 57 / 25) < 1e-14
    np.testing.assert_allclose(np_(sol.row_strategy), [float(q) for q in p], atol=1e-14)
    np.testing.assert_allclose(np_(sol.col_strategy), [float(q) for q in p], atol=1e-14)


def test_completely_mixed_5x5_games_use_the_full_kernel():
    # Diagonal game diag(d), d > 0 (classical): x_i = v / d_i makes every column pay v, and the
    # same y holds every row to v, so v = 1 / sum(1/d_i) and x = y proportional to 1/d_i. With
    # d = (1..5) the value is 60/137 and the only optimal pair has full support (a 5x5 kernel,
    # the batched-LU path).
    d = np.arange(1.0, 6.0)
    sol = zero_sum_matrix_game(np.diag(d))
    assert abs(float(sol.value) - 60 / 137) < 1e-15
    np.testing.assert_allclose(np_(sol.row_strategy), (1 / d) / (1 / d).sum(), atol=1e-15)
    np.testing.assert_allclose(np_(sol.col_strategy), (1 / d) / (1 / d).sum(), atol=1e-15)
    # rock-paper-scissors-lizard-Spock: action i beats i+1 and i+3 (mod 5); symmetric, value 0,
    # unique optimum uniform
    M = np.zeros((5, 5))
    for i in range(5):
        for j in (1, 3):
            M[i, (i + j) % 5], M[(i + j) % 5, i] = 1.0, -1.0
    sol = zero_sum_matrix_game(M)
    assert abs(float(sol.value)) < 1e-15 and float(sol.gap) < 1e-15
    np.testing.assert_allclose(np_(sol.row_strategy), [0.2] * 5, atol=1e-15)
    np.testing.assert_allclose(np_(sol.col_strategy), [0.2] * 5, atol=1e-15)


def test_batch_shapes_and_leading_axes(rng):
    M = rng.normal(size=(2, 3, 4, 5))
    sol = zero_sum_matrix_game(M)
    assert sol.value.shape == (2, 3) and sol.row_strategy.shape == (2, 3, 4)
    assert sol.col_strategy.shape == (2, 3, 5) and sol.gap.shape == (2, 3)
    assert sol.value.dtype == torch.float64
    v11, _ = lp_value(M[1, 1])
    assert abs(float(sol.value[1, 1]) - v11) < 1e-9
    empty = zero_sum_matrix_game(np.zeros((0, 2, 3)))
    assert empty.value.shape == (0,) and empty.row_strategy.shape == (0, 2)


def test_kernel_count_formula():
    assert kernel_count(3, 3) == 19 and kernel_count(5, 5) == 251 and kernel_count(1, 7) == 7
    from math import comb

    for k1, k2 in [(2, 5), (4, 4), (6, 3)]:
        assert kernel_count(k1, k2) == comb(k1 + k2, k1) - 1  # Vandermonde


# ------------------------------------------------------------------------------ matrix games: differential
@pytest.mark.parametrize("k1,k2", [(k1, k2) for k1 in range(2, 6) for k2 in range(2, 6)])
def test_agrees_with_highs_lp(k1, k2):
    rng = np.random.default_rng(1000 * k1 + k2)
    Ms = rng.normal(size=(12, k1, k2))
    Ms[:4] = rng.integers(-3, 4, size=(4, k1, k2))  # integer games: ties and degenerate kernels
    sol = zero_sum_matrix_game(torch.from_numpy(Ms))
    for b, M in enumerate(Ms):
        v, _ = lp_value(M)
        assert abs(float(sol.value[b]) - v) < 1e-9, (b, M)
        assert_optimal_pair(M, np_(sol.row_strategy[b]), np_(sol.col_strategy[b]), v, 1e-9)
    assert float(sol.gap.max()) <= 1e-12


# ------------------------------------------------------------------------------ matrix games: degenerate
@pytest.mark.parametrize(
    "M,value",
    [
        ([[2.5, 2.5], [2.5, 2.5]], 2.5),  # constant: every pair is optimal
        ([[0.0, 0.0, 0.0]], 0.0),  # all zero, one row
        ([[1.0], [-2.0], [4.0]], 4.0),  # one column: row player picks the max
        ([[1.0, 2.0], [1.0, 2.0], [0.0, 5.0]], 1.0),  # duplicate rows, dominated column
        ([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]], 0.0),  # duplicate columns (matching pennies)
        ([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [3.0, 6.0, 9.0]], 3.0),  # rank one, saddle at (2, 0)
        # singular full matrix with value 0: (1, 2, 1) is in the kernel of M, so x = y =
        # (1/4, 1/2, 1/4) equalises every payoff at 0 (M symmetric); Shapley-Snow needs the shift
        ([[0.0, 1.0, -2.0], [1.0, -2.0, 3.0], [-2.0, 3.0, -4.0]], 0.0),
    ],
)
def test_degenerate_games(M, value):
    sol = zero_sum_matrix_game(M)
    assert abs(float(sol.value) - value) < 1e-14
    assert float(sol.gap) <= 1e-14
    assert_optimal_pair(M, np_(sol.row_strategy), np_(sol.col_strategy), value, 1e-14)
    assert abs(lp_value(M)[0] - value) < 1e-12  # the oracle agrees with the hand value


def test_scale_invariance_large_and_small_payoffs(rng):
    M = rng.normal(size=(20, 4, 4))
    base = zero_sum_matrix_game(M)
    for scale, shift in [(1e8, 0.0), (1e-8, 0.0), (1.0, 1e6)]:
        sol = zero_sum_matrix_game(M * scale + shift)
        np.testing.assert_allclose(
            np_(sol.value), np_(base.value) * scale + shift, rtol=1e-12, atol=1e-12 * (scale + abs(shift))
        )
        assert float(sol.gap.max()) <= 1e-13 * (scale + abs(shift))


def test_float32_matches_float64(rng):
    M = rng.normal(size=(50, 3, 4))
    s64 = zero_sum_matrix_game(M)
    s32 = zero_sum_matrix_game(torch.tensor(M, dtype=torch.float32))
    assert s32.value.dtype == torch.float32 and s32.row_strategy.dtype == torch.float32
    np.testing.assert_allclose(np_(s32.value), np_(s64.value), atol=1e-5)
    assert float(s32.gap.max()) <= 1e-5
    # dtype= overrides the input's precision
    assert zero_sum_matrix_game(M, dtype=torch.float32).value.dtype == torch.float32


@settings(max_examples=30)
@given(seed=st.integers(0, 2**32 - 1), k1=st.integers(1, 5), k2=st.integers(1, 5), integer=st.booleans())
def test_property_certificate_gap_and_bounds(seed, k1, k2, integer):
    rng = np.random.default_rng(seed)
    M = rng.integers(-2, 3, size=(8, k1, k2)).astype(float) if integer else rng.normal(size=(8, k1, k2))
    sol = zero_sum_matrix_game(M)
    assert float(sol.gap.max()) <= 1e-9
    x, y = np_(sol.row_strategy), np_(sol.col_strategy)
    assert x.min() >= 0 and y.min() >= 0
    np.testing.assert_allclose(x.sum(-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(y.sum(-1), 1.0, atol=1e-12)
    # the reported bounds are what the strategies actually guarantee
    np.testing.assert_allclose(np.einsum("bi,bij->bj", x, M).min(-1), np_(sol.lower), atol=1e-13)
    np.testing.assert_allclose(np.einsum("bij,bj->bi", M, y).max(-1), np_(sol.upper), atol=1e-13)
    # val(M^T-game): swapping roles negates the value
    swapped = zero_sum_matrix_game(-np.swapaxes(M, 1, 2))
    np.testing.assert_allclose(np_(swapped.value), -np_(sol.value), atol=1e-12)


# ------------------------------------------------------------------------------ matrix games: bad input
@pytest.mark.parametrize(
    "M,exc,match",
    [
        ([[1.0, float("nan")], [0.0, 1.0]], ValueError, r"M must be finite; M\[0, 1\] = nan"),
        ([[1.0, float("inf")]], ValueError, "M must be finite"),
        ([1.0, 2.0], ValueError, r"M must have shape \(\.\.\., k1, k2\)"),
        (np.zeros((2, 0)), ValueError, "at least one action per player"),
        ("abc", TypeError, "M must be an array"),
        (np.array([[1 + 1j]]), TypeError, "M must be real"),
        (np.zeros((9, 9)), ValueError, "MAX_KERNELS"),
    ],
)
def test_matrix_bad_input(M, exc, match):
    with pytest.raises(exc, match=match):
        zero_sum_matrix_game(M)


def test_matrix_bad_dtype_and_limit():
    with pytest.raises(TypeError, match="dtype must be torch.float32 or torch.float64"):
        zero_sum_matrix_game([[1.0]], dtype=torch.float16)
    assert kernel_count(8, 8) <= MAX_KERNELS < kernel_count(9, 9)
    with pytest.raises(TypeError, match="M must be real"):
        zero_sum_matrix_game(torch.ones(2, 2, dtype=torch.complex128))


def test_cuda_request_without_cuda_is_a_clear_error():
    if torch.cuda.is_available():
        M = np.random.default_rng(3).normal(size=(10, 3, 3))
        sol = zero_sum_matrix_game(M, device="cuda")
        assert sol.value.device.type == "cuda"
        np.testing.assert_allclose(np_(sol.value), np_(zero_sum_matrix_game(M).value), atol=1e-12)
        return
    with pytest.raises(ValueError, match="CUDA is not available"):
        zero_sum_matrix_game([[1.0]], device="cuda")
    P, R = random_game_arrays(np.random.default_rng(0), 1, 2, 2, 2)
    with pytest.raises(ValueError, match="CUDA is not available"):
        batched_shapley_value_iteration(P, R, 0.9, device="cuda")
    with pytest.raises(ValueError, match="device must name a torch device"):
        zero_sum_matrix_game([[1.0]], device="not-a-device")


# ------------------------------------------------------------------------------ Shapley VI: known values
@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9])
def test_single_state_repeated_game(gamma):
    # docs/papers/foundations.md section 6: a one-state game repeating M has V* = val(M) / (1 - gamma)
    games = np.array(
        [
            [[2, 3, 4], [3, 4, -5], [4, -5, -6]],  # value 57/25 (card game above)
            [[0, -1, 1], [1, 0, -1], [-1, 1, 0]],  # RPS, value 0
            [[3, 1, 1], [4, 2, 2], [0, 0, 0]],
        ],
        dtype=float,
    )  # saddle, value 2
    R = games[:, None]  # (B=3, S=1, 3, 3)
    P = np.ones((3, 1, 3, 3, 1))
    res = batched_shapley_value_iteration(P, R, gamma, tol=1e-12)
    assert res.converged
    expected = np.array([57 / 25, 0.0, 2.0]) / (1 - gamma)
    np.testing.assert_allclose(np_(res.v)[:, 0], expected, atol=1e-11)
    assert float(res.error_bound.max()) <= 1e-12
    np.testing.assert_allclose(np_(res.row_policy[0, 0]), [41 / 50, 2 / 25, 1 / 10], atol=1e-12)
    np.testing.assert_allclose(np_(res.row_policy[1, 0]), [1 / 3] * 3, atol=1e-12)
    np.testing.assert_allclose(np_(res.col_policy[2, 0]), [0, 1, 0], atol=1e-12)
    if gamma == 0.0:
        assert res.n_iter == 1  # v* = val(R): the first application already certifies it


def test_symmetric_game_has_antisymmetric_value(rng):
    # docs/papers/foundations.md G3: swapping the players (R -> -R^T, state s <-> its mirror) negates V*.
    # Build a game on states {0..S-1} and its mirror {S..2S-1} joined into one game.
    S, A = 4, 3
    P1, R1 = random_game_arrays(rng, 1, S, A, A)
    P = np.zeros((2 * S, A, A, 2 * S))
    R = np.zeros((2 * S, A, A))
    P[:S, :, :, :S] = P1[0]
    R[:S] = R1[0]
    P[S:, :, :, S:] = P1[0].transpose(0, 2, 1, 3)
    R[S:] = -R1[0].transpose(0, 2, 1)
    res = batched_shapley_value_iteration(P, R, 0.9)
    v = np_(res.v)[0]
    np.testing.assert_allclose(v[S:], -v[:S], atol=2e-8)


# ------------------------------------------------------------------------------ Shapley VI: conformance
def _assert_equilibrium(game, v, x, y, atol):
    """G2: the row player's best response to y and the column player's to x both give v."""
    br_row = mdp.solve(game.fixed_column_mdp(y), tol=1e-12)
    br_col = mdp.solve(game.fixed_row_mdp(x), tol=1e-12)  # column player's own reward -R
    np.testing.assert_allclose(br_row.v, v, atol=atol)
    np.testing.assert_allclose(-br_col.v, v, atol=atol)


def test_policies_form_an_equilibrium(rng):
    P, R = random_game_arrays(rng, 3, 6, 3, 2, support=2)
    res = batched_shapley_value_iteration(P, R, 0.85, tol=1e-11)
    assert res.converged and float(res.error_bound.max()) <= 1e-11
    assert float(res.stage_gap.max()) <= 1e-13
    for b in range(3):
        game = MarkovGame(P[b], R[b], 0.85)
        _assert_equilibrium(game, np_(res.v[b]), np_(res.row_policy[b]), np_(res.col_policy[b]), 1e-9)


def test_fixed_point_against_lp_stage_games(rng):
    # independent oracle: v = val(R[s] + gamma P[s] v) state by state with HiGHS
    P, R = random_game_arrays(rng, 2, 5, 4, 3, support=3)
    res = batched_shapley_value_iteration(torch.from_numpy(P), torch.from_numpy(R), [0.9, 0.6], tol=1e-11)
    for b, gamma in enumerate([0.9, 0.6]):
        v = np_(res.v[b])
        Q = R[b] + gamma * np.einsum("sabt,t->sab", P[b], v)
        Tv = np.array([lp_value(Q[s])[0] for s in range(5)])
        np.testing.assert_allclose(Tv, v, atol=1e-9)


def test_accepts_markov_games_and_matches_arrays(rng):
    P, R = random_game_arrays(rng, 2, 4, 2, 3)
    games = [MarkovGame(P[b], R[b], 0.8) for b in range(2)]
    by_arrays = batched_shapley_value_iteration(P, R, 0.8)
    by_list = batched_shapley_value_iteration(games)
    by_one = batched_shapley_value_iteration(games[1])
    np.testing.assert_allclose(np_(by_list.v), np_(by_arrays.v), atol=1e-12)
    assert by_one.v.shape == (1, 4)
    np.testing.assert_allclose(np_(by_one.v[0]), np_(by_arrays.v[1]), atol=1e-12)
    # a batch of games with different discounts
    mixed = batched_shapley_value_iteration([games[0], MarkovGame(P[1], R[1], 0.5)])
    alone = batched_shapley_value_iteration(P[1], R[1], 0.5)  # 4-D input: a batch of one
    np.testing.assert_allclose(np_(mixed.v[1]), np_(alone.v[0]), atol=1e-12)


def test_error_bound_is_honest_and_unconverged_flag(rng):
    P, R = random_game_arrays(rng, 4, 8, 3, 3, support=2)
    exact = batched_shapley_value_iteration(P, R, 0.95, tol=1e-12)
    assert exact.converged
    for tol, max_iter in [(1e-3, 10_000), (1e-12, 3)]:
        rough = batched_shapley_value_iteration(P, R, 0.95, tol=tol, max_iter=max_iter)
        err = np.abs(np_(rough.v) - np_(exact.v)).max(1)
        assert np.all(err <= np_(rough.error_bound) + 1e-12)
    assert rough.n_iter == 3 and not rough.converged and float(rough.error_bound.max()) > 1e-12


@settings(max_examples=15)
@given(seed=st.integers(0, 2**32 - 1), gamma=st.floats(0.0, 0.97), A1=st.integers(1, 3), A2=st.integers(1, 3))
def test_property_certified_bound(seed, gamma, A1, A2):
    rng = np.random.default_rng(seed)
    P, R = random_game_arrays(rng, 3, 5, A1, A2, support=2)
    res = batched_shapley_value_iteration(P, R, gamma, tol=1e-9)
    assert res.converged and float(res.error_bound.max()) <= 1e-9
    assert float(res.stage_gap.max()) <= 1e-9
    # contraction: the fixed point is within tol + rounding of one more backup
    Q = R + gamma * np.einsum("nsabt,nt->nsab", P, np_(res.v))
    Tv = np_(zero_sum_matrix_game(Q).value)
    np.testing.assert_allclose(Tv, np_(res.v), atol=3e-9)


def test_float32_path(rng):
    P, R = random_game_arrays(rng, 4, 6, 3, 3)
    r64 = batched_shapley_value_iteration(P, R, 0.9)
    r32 = batched_shapley_value_iteration(
        torch.tensor(P, dtype=torch.float32), torch.tensor(R, dtype=torch.float32), 0.9, tol=1e-4, dtype=torch.float32
    )
    assert r32.v.dtype == torch.float32 and r32.converged
    np.testing.assert_allclose(np_(r32.v), np_(r64.v), atol=2e-4)


def test_agrees_with_numba_shapley_value_iteration():
    from marl import shapley_value_iteration as numba_svi

    rng = np.random.default_rng(7)
    for A1, A2, gamma in [(2, 2, 0.9), (3, 2, 0.8), (3, 3, 0.95)]:
        P, R = random_game_arrays(rng, 3, 6, A1, A2, support=3)
        res = batched_shapley_value_iteration(P, R, gamma, tol=1e-10)
        for b in range(3):
            ref = numba_svi(MarkovGame(P[b], R[b], gamma), tol=1e-10)
            np.testing.assert_allclose(np_(res.v[b]), ref.v, atol=1e-8)
            assert ref.error_bound <= 1e-10 + 1e-12


# ------------------------------------------------------------------------------ Shapley VI: bad input
def _good(rng=None):
    rng = rng or np.random.default_rng(0)
    return random_game_arrays(rng, 2, 3, 2, 2)


@pytest.mark.parametrize(
    "mutate,exc,match",
    [
        (lambda P, R: (P * -1, R, 0.9), ValueError, r"P must be non-negative; P\[0, 0, 0, 0, "),
        (lambda P, R: (P * 1.1, R, 0.9), ValueError, r"P\[.*\] must sum to 1"),
        (lambda P, R: (P[:, :, :, :, :2], R, 0.9), ValueError, r"P must have shape \(B, S, A1, A2, S\)"),
        (lambda P, R: (P, R[0, 0], 0.9), ValueError, r"R must have shape \(B, S, A1, A2\)"),
        (lambda P, R: (P, np.where(R > 0, np.nan, R), 0.9), ValueError, "R must be finite"),
        (lambda P, R: (P, R, 1.0), ValueError, r"gamma must lie in \[0, 1\)"),
        (lambda P, R: (P, R, [0.5, 1.2]), ValueError, r"gamma\[1\] must lie in \[0, 1\)"),
        (lambda P, R: (P, R, [0.5, 0.5, 0.5]), ValueError, r"gamma must be a scalar or have shape \(B,\)"),
        (lambda P, R: (P, R, None), TypeError, "R and gamma are required"),
        (lambda P, R: (P, R, True), TypeError, "gamma must be a real number"),
        (lambda P, R: ("P", R, 0.9), TypeError, "P must be an array"),
    ],
)
def test_shapley_bad_input(mutate, exc, match):
    P, R = _good()
    args = mutate(P, R)
    with pytest.raises(exc, match=match):
        batched_shapley_value_iteration(*args)


def test_shapley_bad_options_and_games():
    P, R = _good()
    with pytest.raises(ValueError, match="tol must be finite and > 0"):
        batched_shapley_value_iteration(P, R, 0.9, tol=0.0)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        batched_shapley_value_iteration(P, R, 0.9, max_iter=0)
    with pytest.raises(TypeError, match="dtype must be torch.float32 or torch.float64"):
        batched_shapley_value_iteration(P, R, 0.9, dtype=torch.int64)
    g = MarkovGame(P[0], R[0], 0.9)
    with pytest.raises(ValueError, match="R and gamma come from the MarkovGame"):
        batched_shapley_value_iteration(g, R, 0.9)
    general = MarkovGame(P[0], np.stack([R[0], R[0]]), 0.9)
    with pytest.raises(ValueError, match=r"games\[1\] is a general-sum game"):
        batched_shapley_value_iteration([g, general])
    P3, R3 = random_game_arrays(np.random.default_rng(1), 1, 4, 2, 2)
    with pytest.raises(ValueError, match="same \\(S, A1, A2\\)"):
        batched_shapley_value_iteration([g, MarkovGame(P3[0], R3[0], 0.9)])
    with pytest.raises(TypeError, match="only marl.MarkovGame"):
        batched_shapley_value_iteration([g, "x"])
    big = np.ones((1, 1, 9, 9, 1))
    with pytest.raises(ValueError, match="MAX_KERNELS"):
        batched_shapley_value_iteration(big, np.zeros((1, 1, 9, 9)), 0.9)


# ------------------------------------------------------------------------------ packaging
def test_import_marl_does_not_import_torch_and_exposes_it_lazily():
    code = (
        "import sys, marl; assert 'torch' not in sys.modules, 'import marl pulled in torch'; "
        "f = marl.torch.zero_sum_matrix_game; assert 'torch' in sys.modules; print('ok')"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_old_torch_name_still_works_with_a_warning():
    import marl.torch as MT

    with pytest.warns(DeprecationWarning, match="batched_shapley_value_iteration"):
        assert MT.shapley_value_iteration is MT.batched_shapley_value_iteration
