"""Correlated / coarse correlated equilibria (LP via cvxpy) and NashConv of matrix games."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import marl
from marl.bimatrix import support_enumeration
from marl.correlated import (
    cce_violations,
    ce_violations,
    coarse_correlated_equilibrium,
    correlated_equilibrium,
)
from marl.nashconv import nash_conv

# Chicken with actions (0 = chicken out, 1 = dare): (C,C) = (6,6), (C,D) = (2,7), (D,C) = (7,2),
# (D,D) = (0,0). The welfare-maximising correlated equilibrium puts 1/2 on (C,C) and 1/4 on each
# of (C,D), (D,C): payoff 5.25 each, welfare 10.5 (the standard example following Aumann 1974,
# e.g. Wikipedia "Correlated equilibrium"; by hand: the CE constraints are 2 mu(C,D) >= mu(C,C),
# mu(D,C) >= 2 mu(D,D) and their mirror images, and 12 - 6q with q = mu(C,D) = mu(D,C) >= 1/4 is
# maximised at q = 1/4). The row player's best CE payoff is 7, at the pure NE (D, C).
CHICKEN = np.array([[[6.0, 2.0], [7.0, 0.0]], [[6.0, 7.0], [2.0, 0.0]]])


def _random_payoffs(seed, shape):
    return np.random.default_rng(seed).normal(size=shape)


# ---------------------------------------------------------------------------- known values
@pytest.mark.parametrize("solver", [None, "HIGHS"])
def test_chicken_welfare_maximising_ce(solver):
    r = correlated_equilibrium(marl.MatrixGame(CHICKEN), method=solver)
    assert r.objective == pytest.approx(10.5, abs=1e-7)
    np.testing.assert_allclose(r.payoffs, [5.25, 5.25], atol=1e-7)
    np.testing.assert_allclose(r.distribution, [[0.5, 0.25], [0.25, 0.0]], atol=1e-7)
    assert r.max_violation <= 1e-7 and r.status.startswith("optimal") and r.kind == "correlated"
    assert r.solver == (solver or "CLARABEL")


def test_chicken_player_weights_and_joint_objective():
    r = correlated_equilibrium(CHICKEN, objective=[1.0, 0.0])
    assert r.payoffs[0] == pytest.approx(7.0, abs=1e-7)
    # a per-joint-action objective: maximise mu(C, C); the CE constraint 2 mu(C,D) >= mu(C,C) and
    # its mirror give mu(C,C) <= 1/2
    c = np.array([[1.0, 0.0], [0.0, 0.0]])
    r2 = correlated_equilibrium(CHICKEN, objective=c)
    assert r2.objective == pytest.approx(0.5, abs=1e-7)


def test_matching_pennies_unique_ce_is_uniform():
    # zero-sum 2x2 game with a unique, fully mixed NE: the CE set is that single product
    # distribution (Forges 1990), so even "feasible" must return mu = 1/4 everywhere
    M = np.array([[1.0, -1.0], [-1.0, 1.0]])
    r = correlated_equilibrium(marl.MatrixGame.zero_sum(M), objective="feasible")
    np.testing.assert_allclose(r.distribution, np.full((2, 2), 0.25), atol=1e-6)
    assert r.objective == 0.0


def test_result_is_frozen():
    r = correlated_equilibrium(CHICKEN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.status = "x"
    with pytest.raises(ValueError, match="read-only"):
        r.distribution[0, 0] = 1.0


# ---------------------------------------------------------------------------- properties
@settings(max_examples=10)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3), st.integers(1, 3))
def test_every_nash_equilibrium_is_a_ce(seed, m, n):
    U = _random_payoffs(seed, (2, m, n))
    for e in support_enumeration(U[0], U[1]):
        mu = np.outer(e.row_strategy, e.col_strategy)
        assert ce_violations(U, mu).max(initial=0.0) <= 1e-9
        assert cce_violations(U, mu).max() <= 1e-9
    # and the welfare-maximising CE is at least as good as every NE
    best_ne = max(e.welfare for e in support_enumeration(U[0], U[1]))
    assert correlated_equilibrium(U).objective >= best_ne - 1e-6


@settings(max_examples=8)
@given(st.integers(0, 2**32 - 1), st.sampled_from([(2, 2, 3), (3, 2, 2, 2)]))
def test_cce_set_contains_ce_set(seed, shape):
    U = _random_payoffs(seed, shape)
    ce = correlated_equilibrium(U)
    cce = coarse_correlated_equilibrium(U)
    assert ce.max_violation <= 1e-7 and cce.max_violation <= 1e-7
    # the CE found satisfies the CCE constraints, hence the CCE welfare optimum is at least as large
    assert cce_violations(U, ce.distribution).max() <= 1e-7
    assert cce.objective >= ce.objective - 1e-6
    np.testing.assert_allclose(ce.payoffs, U.reshape(U.shape[0], -1) @ ce.distribution.ravel(), atol=1e-12)


# ---------------------------------------------------------------------------- NashConv
def test_nash_conv_matching_pennies_by_hand():
    # row plays heads, column uniform: row earns 0 and cannot do better; the column earns 0 and
    # gains 1 by playing tails, so NashConv = 1 and exploitability = 1/2 (OpenSpiel convention)
    M = np.array([[1.0, -1.0], [-1.0, 1.0]])
    r = nash_conv(M, [np.array([1.0, 0.0]), np.array([0.5, 0.5])])
    assert r.nash_conv == pytest.approx(1.0)
    assert r.exploitability == pytest.approx(0.5)
    np.testing.assert_allclose(r.per_player_regret, [0.0, 1.0])
    assert r.best_responses.tolist() == [0, 1]


def test_nash_conv_rock_paper_scissors():
    R = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    u = np.full(3, 1 / 3)
    assert nash_conv(R, [u, u]).nash_conv == pytest.approx(0.0, abs=1e-15)
    rock = np.array([1.0, 0.0, 0.0])
    r = nash_conv(marl.MatrixGame.zero_sum(R), [rock, rock])
    # both earn 0 at (rock, rock) and 1 by switching to paper
    assert r.nash_conv == pytest.approx(2.0) and r.exploitability == pytest.approx(1.0)
    assert r.best_responses.tolist() == [1, 1]


def test_nash_conv_general_sum_has_no_exploitability():
    r = nash_conv(CHICKEN, [np.array([1.0, 0.0]), np.array([1.0, 0.0])])
    # at (C, C) each player gains 7 - 6 = 1 by daring
    assert r.nash_conv == pytest.approx(2.0) and r.exploitability is None


@settings(max_examples=25)
@given(st.integers(0, 2**32 - 1), st.sampled_from([(2, 3, 2), (3, 2, 3, 2)]))
def test_nash_conv_matches_brute_force(seed, shape):
    g = np.random.default_rng(seed)
    U = g.normal(size=shape)
    N = shape[0]
    strats = [g.dirichlet(np.ones(k)) for k in shape[1:]]
    r = nash_conv(U, strats)
    total = 0.0
    for i in range(N):

        def value(s):
            t = U[i]
            for p in reversed(s):
                t = t @ p
            return float(t)

        cur = value(strats)
        best = max(
            value([np.eye(shape[1 + i])[b] if j == i else p for j, p in enumerate(strats)]) for b in range(shape[1 + i])
        )
        assert r.per_player_regret[i] == pytest.approx(best - cur, abs=1e-12)
        total += best - cur
    assert r.nash_conv == pytest.approx(total, abs=1e-12) and r.nash_conv >= 0


@settings(max_examples=15)
@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 4))
def test_nash_conv_zero_at_nash_equilibria(seed, m, n):
    U = _random_payoffs(seed, (2, m, n))
    for e in support_enumeration(U[0], U[1]):
        assert nash_conv(U, [e.row_strategy, e.col_strategy]).nash_conv < 1e-9


# ---------------------------------------------------------------------------- bad input
def test_bad_input_correlated():
    with pytest.raises(ValueError, match="objective must be 'welfare', 'feasible'"):
        correlated_equilibrium(CHICKEN, objective="max")
    with pytest.raises(ValueError, match=r"objective array must have shape \(N,\)"):
        correlated_equilibrium(CHICKEN, objective=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="is not a cvxpy solver installed here"):
        correlated_equilibrium(CHICKEN, method="NOPE")
    with pytest.raises(TypeError, match="method must be a cvxpy solver name"):
        coarse_correlated_equilibrium(CHICKEN, method=3)
    with pytest.raises(TypeError, match="game must be a marl.MatrixGame"):
        correlated_equilibrium("chicken")
    bad = CHICKEN.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="payoffs must be finite"):
        correlated_equilibrium(bad)
    with pytest.raises(ValueError, match=r"distribution must have shape \(2, 2\)"):
        ce_violations(CHICKEN, np.full(4, 0.25))
    with pytest.raises(ValueError, match="distribution must sum to 1"):
        cce_violations(CHICKEN, np.full((2, 2), 0.3))
    with pytest.raises(ValueError, match="distribution must be non-negative"):
        ce_violations(CHICKEN, np.array([[1.5, -0.5], [0.0, 0.0]]))


def test_bad_input_nash_conv():
    M = np.eye(2)
    u = np.array([0.5, 0.5])
    with pytest.raises(ValueError, match="one strategy per player"):
        nash_conv(M, [u])
    with pytest.raises(TypeError, match="sequence of one mixed strategy per player"):
        nash_conv(M, u)
    with pytest.raises(ValueError, match="must sum to 1"):
        nash_conv(M, [u, np.array([0.5, 0.6])])
    with pytest.raises(ValueError, match="must be non-negative"):
        nash_conv(M, [u, np.array([1.5, -0.5])])
    with pytest.raises(ValueError, match="must have length 2"):
        nash_conv(M, [u, np.full(3, 1 / 3)])
    with pytest.raises(ValueError, match="must be finite"):
        nash_conv(M, [u, np.array([np.nan, 0.5])])
    with pytest.raises(TypeError, match="game must be a marl.MatrixGame"):
        nash_conv("rps", [u, u])
