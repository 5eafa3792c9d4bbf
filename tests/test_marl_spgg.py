"""Sequential public-goods games (marl.spgg): payoffs, exact SPNE by backward induction, the
(bonus, penalty) region map and independent REINFORCE learners (docs/papers/mac_spgg.md)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import marl
from marl.spgg import (
    SPGGame,
    full_effort_sufficient,
    last_mover_necessary,
    reference_spgg_payoffs,
    reference_spgg_reinforce,
    reference_spgg_spne,
    spgg_payoffs,
    spgg_region,
    spgg_reinforce,
    spgg_spne,
)

GRID11 = np.round(np.linspace(0, 1, 11), 12)


def redesigned(n=3, grid=GRID11, **kw):
    p = dict(cost=1.0, multiplier=2.0, bonus=0.8, threshold=float(n), penalty=2.0)
    p.update(kw)
    return SPGGame(n, grid, **p)


# ---------------------------------------------------------------------------- known values
def test_payoffs_by_hand():
    g = redesigned()
    # q = (1, 0.5, 1): T = 2.5 < 3 -> penalty 2; share 2 * 2.5 / 3
    share = 2 * 2.5 / 3
    expected = [-1 + share - 2, -0.5 + 0.8 * 0.5 * 1 + share - 2, -1 + 0.8 * 1.5 + share - 2]
    np.testing.assert_allclose(spgg_payoffs(g, [1, 0.5, 1]), expected, atol=1e-14)
    # full effort reaches B = 3 exactly although 0.1-grid sums carry round-off
    np.testing.assert_allclose(spgg_payoffs(g, [1, 1, 1]), [1.0, 1.8, 2.6], atol=1e-14)
    assert spgg_payoffs(g, [0.7, 0.9, 0.4]).shape == (3,)
    np.testing.assert_allclose(
        spgg_payoffs(g, np.full((2, 4, 3), 0.3)), reference_spgg_payoffs(g, np.full((2, 4, 3), 0.3))
    )


def test_digest_lab_values():
    # docs/papers/mac_spgg.md lab (a): N = 3, c = 1, rho = 2, q in {0, .1, ..., 1}: classic -> unique (0, 0, 0),
    # redesigned (gamma 0.8, B 3, P 2) -> unique (1, 1, 1)
    cl = spgg_spne(SPGGame.classic(3, GRID11, cost=1, multiplier=2))
    assert cl.unique and np.all(cl.outcome == 0) and cl.n_ties == 0
    # every node: the classic marginal is rho / N - c = -1/3 per unit, the grid step 0.1
    assert cl.min_margin == pytest.approx(0.1 / 3, abs=1e-12)
    rd = spgg_spne(redesigned())
    assert rd.unique and rd.full_effort and np.all(rd.outcome == 1)
    np.testing.assert_allclose(rd.values, [1.0, 1.8, 2.6], atol=1e-12)
    assert rd.n_nodes == 1 + 11 + 121


def test_bonus_only_first_mover_by_hand():
    # N = 2, grid {0, 1}, c = 1, rho = 1 (share 1/2 per unit), bonus 1, no penalty: agent 1 plays 1 iff
    # q_0 = 1 (marginal -1 + 1 + 1/2 > 0 vs -1 + 1/2 < 0); agent 0 then compares u_0(0, 0) = 0 with
    # u_0(1, 1) = -1 + 1 = 0: a tie, so the SPNE is not unique
    r = spgg_spne(SPGGame(2, [0.0, 1.0], cost=1, multiplier=1, bonus=1.0))
    np.testing.assert_array_equal(r.strategy[1], [0, 1])
    assert not r.unique and r.n_ties == 1 and r.outcome[0] == 0.0
    # with rho = 1.2 agent 0 strictly prefers to lead: u_0(1, 1) = -1 + 1.2 > 0
    r = spgg_spne(SPGGame(2, [0.0, 1.0], cost=1, multiplier=1.2, bonus=1.0))
    assert r.unique and r.full_effort


def test_one_agent_and_one_level():
    r = spgg_spne(SPGGame(1, GRID11, cost=1, multiplier=2))  # rho / N = 2 > c: contribute fully
    assert r.full_effort and r.unique and r.n_nodes == 1
    r = spgg_spne(SPGGame(3, [0.5], cost=1, multiplier=2))
    assert r.unique and r.min_margin == np.inf and np.all(r.outcome == 0.5)


# ---------------------------------------------------------------------------- differential
@pytest.mark.parametrize("seed", range(4))
def test_kernel_matches_reference_twin(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 5))
    G = int(rng.integers(2, 6))
    grid = np.sort(rng.choice(np.linspace(0, 1, 21), size=G, replace=False))
    g = SPGGame(
        n,
        grid,
        cost=rng.uniform(0, 2),
        multiplier=rng.uniform(0, 3),
        bonus=rng.uniform(0, 1.5),
        threshold=rng.uniform(0, n),
        penalty=rng.uniform(0, 2),
    )
    a, b = spgg_spne(g), reference_spgg_spne(g)
    for sa, sb in zip(a.strategy, b.strategy):
        np.testing.assert_array_equal(sa, sb)
    for ma, mb in zip(a.margins, b.margins):
        np.testing.assert_allclose(ma, mb, atol=1e-12)
    assert a.n_ties == b.n_ties and a.unique == b.unique
    np.testing.assert_allclose(a.values, b.values, atol=1e-12)
    q = rng.choice(grid, size=(5, n))
    np.testing.assert_allclose(spgg_payoffs(g, q), reference_spgg_payoffs(g, q), atol=1e-13)


def test_reinforce_kernel_matches_twin():
    g = redesigned(grid=[0, 0.5, 1.0])
    a = spgg_reinforce(g, n_updates=30, batch=8, lr=1.5, rng=np.random.default_rng(3))
    b = reference_spgg_reinforce(g, n_updates=30, batch=8, lr=1.5, rng=np.random.default_rng(3))
    np.testing.assert_allclose(a.theta, b.theta, atol=1e-10)
    np.testing.assert_allclose(a.effort, b.effort, atol=1e-12)
    np.testing.assert_allclose(a.penalised, b.penalised, atol=1e-12)
    np.testing.assert_allclose(a.pi.sum(axis=-1), 1.0)


# ---------------------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 4),
    G=st.integers(2, 5),
    cost=st.floats(0.05, 2),
    share=st.floats(0, 0.99),
)
def test_classic_free_riding_is_unique(n, G, cost, share):
    # SPG1: rho / N = share * c < c -> q_i = min(grid) strictly dominant
    g = SPGGame.classic(n, np.linspace(0, 1, G), cost=cost, multiplier=share * cost * n)
    r = spgg_spne(g)
    assert r.unique and np.all(r.outcome_index == 0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_spne_is_a_best_response_at_every_node_on_path(seed):
    # one-shot deviation on the path: no agent gains by changing its level, the others' strategies fixed
    rng = np.random.default_rng(seed)
    n, G = 3, 4
    g = SPGGame(
        3,
        np.linspace(0, 1, G),
        cost=1,
        multiplier=rng.uniform(0, 3),
        bonus=rng.uniform(0, 1),
        threshold=rng.uniform(0, 3),
        penalty=rng.uniform(0, 2),
    )
    r = spgg_spne(g)

    def play(dev_agent, dev_level):
        h, idx = 0, []
        for i in range(n):
            a = dev_level if i == dev_agent else int(r.strategy[i][h])
            idx.append(a)
            h = h * G + a
        return spgg_payoffs(g, g.grid[idx])

    for i in range(n):
        for a in range(G):
            assert play(i, a)[i] <= r.values[i] + 1e-12


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_sufficient_implies_full_effort_implies_necessary(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 4))
    g = SPGGame(
        n,
        np.linspace(0, 1, 6),
        cost=1,
        multiplier=rng.uniform(0, 2),
        bonus=rng.uniform(0, 1),
        threshold=rng.uniform(n - 0.3, n),
        penalty=rng.uniform(0, 2),
    )
    r = spgg_spne(g)
    if full_effort_sufficient(g):
        assert r.full_effort and r.unique
    if r.full_effort and r.unique:
        assert last_mover_necessary(g)


def test_strategy_depends_on_prefix_sum_only():
    # uniform grid: the subgame after a history depends on it through sum of indices only
    g = redesigned(n=4, grid=np.linspace(0, 1, 5), bonus=0.37, penalty=0.71, threshold=3.3)
    r = spgg_spne(g)
    G = 5
    for i in range(1, 4):
        hist = np.stack(np.unravel_index(np.arange(G**i), (G,) * i), axis=-1).sum(axis=1)
        for s in np.unique(hist):
            assert len(np.unique(r.strategy[i][hist == s])) == 1


def test_region_map_brackets():
    base = SPGGame(3, GRID11, cost=1, multiplier=2, threshold=3)
    reg = spgg_region(base, np.linspace(0, 1.2, 7), np.linspace(0, 1, 6))
    assert reg.full_effort.shape == (7, 6)
    assert not np.any(reg.sufficient & ~reg.full_effort)
    assert not np.any(reg.full_effort & ~reg.necessary)
    assert not reg.full_effort[0, 0]  # gamma = 0, P = 0 with rho / N < c: empty (SPG1)
    assert reg.full_effort[-1, -1]


# ---------------------------------------------------------------------------- learning
def test_learners_free_ride_classic_and_contribute_redesigned():
    grid = np.linspace(0, 1, 5)
    cl = spgg_reinforce(SPGGame.classic(3, grid, cost=1, multiplier=2), n_updates=1500, rng=np.random.default_rng(0))
    rd = spgg_reinforce(redesigned(grid=grid), n_updates=1500, rng=np.random.default_rng(0))
    assert cl.effort[-100:].mean() < 0.1 and np.all(cl.greedy_path == 0)
    assert rd.effort[-100:].mean() > 0.9 and np.all(rd.greedy_path == 1) and rd.penalised[-100:].mean() < 0.2


# ---------------------------------------------------------------------------- bad input
def test_bad_input():
    with pytest.raises(ValueError, match="n_agents"):
        SPGGame(0, GRID11)
    with pytest.raises(TypeError, match="n_agents"):
        SPGGame(2.5, GRID11)
    with pytest.raises(ValueError, match="grid must hold at least one"):
        SPGGame(2, [])
    with pytest.raises(ValueError, match="strictly increasing"):
        SPGGame(2, [0.0, 0.5, 0.3])
    with pytest.raises(ValueError, match="strictly increasing"):
        SPGGame(2, [0.0, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"inside \[0, 1\]"):
        SPGGame(2, [0.0, 1.5])
    with pytest.raises(ValueError, match="finite"):
        SPGGame(2, [0.0, np.nan])
    for name in ("cost", "multiplier", "bonus", "threshold", "penalty"):
        with pytest.raises(ValueError, match=name):
            SPGGame(2, GRID11, **{name: -0.1})
    with pytest.raises(TypeError, match="bonus"):
        SPGGame(2, GRID11, bonus="big")
    g = redesigned()
    with pytest.raises(AttributeError, match="immutable"):
        g.cost = 3
    with pytest.raises(TypeError, match="unknown SPGGame parameter"):
        g.replace(gamma=0.3)
    with pytest.raises(ValueError, match="last axis"):
        spgg_payoffs(g, [1, 1])
    with pytest.raises(ValueError, match=r"q must lie inside"):
        spgg_payoffs(g, [1, 1, 2])
    with pytest.raises(TypeError, match="SPGGame"):
        spgg_spne("game")
    with pytest.raises(ValueError, match="MAX_NODES"):
        spgg_spne(SPGGame(9, np.linspace(0, 1, 11)))
    with pytest.raises(ValueError, match="tol"):
        spgg_spne(g, tol=-1)
    with pytest.raises(ValueError, match="bonus must be >= 0"):
        spgg_region(g, [-1.0], [0.0])
    with pytest.raises(ValueError, match="penalty must hold"):
        spgg_region(g, [1.0], [])
    with pytest.raises(TypeError, match="rng"):
        spgg_reinforce(g, rng=0)
    with pytest.raises(ValueError, match="batch"):
        spgg_reinforce(g, batch=1, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="lr"):
        spgg_reinforce(g, lr=0.0, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="theta0 must have shape"):
        spgg_reinforce(g, theta0=np.zeros((3, 2, 2)), rng=np.random.default_rng(0))


def test_public_names_and_light_import():
    assert marl.spgg.spgg_spne is spgg_spne
    assert "SPGGame" in marl.spgg.__all__ and "spgg_reinforce" in marl.spgg.__all__
