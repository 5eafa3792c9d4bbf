"""mdp.agnostic PSDP / CPI and the claims AR1-AR6 (theory_checks/agnostic.py), including that each can fail."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mdp import agnostic as ag
from mdp.agnostic import generative as tt_mod
from mdp.agnostic import resets as psdp_mod
from mdp.agnostic import spanning as sp_mod
from theory_checks import agnostic as AR
from theory_checks.core import get_claim

IDS = ["AR1", "AR2", "AR3", "AR4", "AR5", "AR6"]


# ----------------------------------------------------------------------------- PSDP
def test_psdp_counterexample_known_values():
    # docs/papers/agnostic_rl.md AR5: scores 0.1 (f) and 0.95 (g) under mu_2 = (0.1, 0.9)
    m, classes, mus, pi_star = AR.psdp_counterexample()
    r = ag.psdp(m, classes, mus)
    np.testing.assert_allclose(r.scores[1], [0.1, 0.95])
    assert r.chosen[1] == 1 and r.value == pytest.approx(0.5)
    mc, cc, _, _ = AR.psdp_counterexample(complete=True)
    rc = ag.psdp(mc, cc, mus)
    assert rc.chosen[1] == 2 and rc.value == pytest.approx(1.0)
    # sampled evaluation reaches the same choices
    rs = ag.psdp(m, classes, mus, n_samples=2000, rng=np.random.default_rng(0))
    assert rs.chosen[1] == 1 and rs.n_samples == 2000


@settings(deadline=None, max_examples=15)
@given(st.integers(0, 10_000))
def test_psdp_with_all_policies_and_exact_resets_is_optimal(seed):
    # with the complete class (all policies) PSDP is exact backward induction for any full-support mu
    rng = np.random.default_rng(seed)
    H, S, A = 3, 2, 2
    m = ag.random_layered(H, S, A, rng=rng, reward="every")
    mus = rng.dirichlet(np.ones(S), size=H)
    r = ag.psdp(m, ag.all_policies(H, S, A), mus)
    vstar, _ = ag.optimal_policy(m)
    assert r.value == pytest.approx(vstar, abs=1e-12)
    # and a PSDP choice is never worse than the best class member in the mu-weighted objective of its layer
    for h in range(H):
        assert r.scores[h][r.chosen[h]] == r.scores[h].max()


def test_psdp_sampled_agrees_with_exact_scores():
    rng = np.random.default_rng(3)
    m = ag.sparse_branching(3, 4, 2, rng=rng, start="uniform", reward="every")
    pols = ag.random_policies(4, 3, 4, 2, rng=rng)
    mus = np.full((3, 4), 0.25)
    ex = ag.psdp(m, pols, mus)
    sm = ag.psdp(m, pols, mus, n_samples=20_000, rng=rng)
    np.testing.assert_allclose(sm.scores[2], ex.scores[2], atol=0.02)


# ----------------------------------------------------------------------------- CPI
@settings(deadline=None, max_examples=10)
@given(st.integers(0, 10_000))
def test_cpi_improves_by_its_guarantee(seed):
    rng = np.random.default_rng(seed)
    m = ag.random_layered(3, 4, 2, rng=rng, reward="every")
    pols = ag.random_policies(6, 3, 4, 2, rng=rng)
    r = ag.cpi(m, pols, eps=1e-2)
    gains = np.diff(r.values)
    assert np.all(gains >= r.guaranteed - 1e-12)
    assert np.all(r.guaranteed > 0)
    assert r.converged and r.advantages[-1] <= 1e-2
    np.testing.assert_allclose(r.pi.sum(axis=2), 1.0)


def test_cpi_one_layer_is_exact_greedy():
    # H = 1: alpha = 1 and CPI jumps to the best member of the class
    rng = np.random.default_rng(0)
    m = ag.random_layered(1, 5, 3, rng=rng)
    pols = ag.random_policies(8, 1, 5, 3, rng=rng)
    r = ag.cpi(m, pols)
    assert r.value == pytest.approx(ag.policy_values(m, pols).max())


# ----------------------------------------------------------------------------- claims
@pytest.mark.parametrize("cid", IDS)
def test_claims_hold(cid):
    c = get_claim(cid)
    r = c.check(np.random.default_rng(11))
    assert r.holds, r
    assert c.subjects and c.instance and c.accepts is not None
    assert c.constant in ("source", "derived", "none")


def test_claims_accept_user_instances():
    rng = np.random.default_rng(2)
    m = ag.sparse_branching(3, 5, 2, rng=rng)
    pols = ag.singleton_deviations(3, 5, 2)
    for cid in ("AR2", "AR6"):
        assert get_claim(cid).check((m, pols)).holds
    assert get_claim("AR1").check((ag.constant_action(3, 2, 2), 2)).holds
    with pytest.raises(TypeError, match="LayeredMDP"):
        get_claim("AR2").check((pols, m))
    big = ag.LayeredMDP.from_successors(m.next_states, m.next_probs, m.R * 4, m.rho0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        get_claim("AR2").check((big, pols))
    with pytest.raises(ValueError, match="mu_x"):
        get_claim("AR5").check(0.9)


def test_ar1_fails_with_a_search_that_misses_a_branch():
    real = sp_mod._Search.node_ub

    def too_small(self, h, pairs):  # an unsound bound prunes the optimum away
        return np.minimum(real(self, h, pairs), 1)

    with (
        mock.patch.object(sp_mod._Search, "node_ub", too_small),
        mock.patch.object(sp_mod._Search, "seed_random", lambda self, n, rng: None),
    ):
        assert not get_claim("AR1").check((ag.all_policies(3, 2, 2), 2)).holds


def test_ar1_fails_when_reach_is_miscounted():
    # counting states instead of (state, action) pairs makes search and enumeration disagree with the values
    real = sp_mod.reachable_pairs

    def states_only(policies, start, T, n_actions):
        return np.maximum(real(policies, start, T, n_actions) - 1, 1)

    with mock.patch.object(sp_mod, "reachable_pairs", states_only):
        assert not get_claim("AR1").check((ag.all_policies(3, 2, 2), 2)).holds


def test_ar2_fails_when_trees_sample_per_policy():
    # sampling separately per policy (the pitfall of the notes) breaks the query bound
    def per_policy(model, pol, n, rng, out=None):
        K = pol.shape[0]
        G = np.zeros(K)
        q = np.full(n, K * model.horizon, dtype=np.int64)
        return G, q

    with mock.patch.object(tt_mod, "_run", per_policy):
        assert not get_claim("AR2").check(np.random.default_rng(0)).holds


def test_ar3_fails_with_biased_estimates():
    real = tt_mod._run

    def biased(model, pol, n, rng, out=None):
        G, q = real(model, pol, n, rng, out)
        if out is not None:
            out[:, 0] += 0.3
        G[0] += 0.3 * n
        return G, q

    with mock.patch.object(tt_mod, "_run", biased):
        r = get_claim("AR3").check(np.random.default_rng(0))
    assert not r.holds


def test_ar5_ar6_fail_with_a_psdp_that_ignores_mu():
    real = psdp_mod.psdp

    def wrong(model, classes, mus, **kw):  # evaluates under mu = rho0-ish uniform: a different rule
        H, S = np.asarray(mus).shape
        return real(model, classes, np.tile([1.0] + [0.0] * (S - 1), (H, 1)), **kw)

    with mock.patch.object(ag, "psdp", wrong):
        assert not get_claim("AR5").check(0.1).holds


def test_ar6_fails_with_the_wrong_q():
    real = AR.performance_difference_terms

    def wrong(m, pi_star, pi_hat):  # Q of pi* instead of pi_hat: not the identity
        return real(m, pi_hat, pi_star)

    with mock.patch.object(AR, "performance_difference_terms", wrong):
        assert not get_claim("AR6").check(np.random.default_rng(5)).holds


def test_ar4_fails_when_queries_grow_with_s():
    real = tt_mod._run

    def grows(model, pol, n, rng, out=None):
        G, q = real(model, pol, n, rng, out)
        return G, q + model.n_states // 10

    with mock.patch.object(tt_mod, "_run", grows):
        assert not get_claim("AR4").check(3).holds


# ----------------------------------------------------------------------------- bad input
def test_psdp_cpi_bad_input():
    m, classes, mus, _ = AR.psdp_counterexample()
    with pytest.raises(ValueError, match="mus must have shape"):
        ag.psdp(m, classes, mus[:1])
    with pytest.raises(ValueError, match="mus must hold one probability"):
        ag.psdp(m, classes, mus * 2)
    with pytest.raises(ValueError, match="one class per layer"):
        ag.psdp(m, classes[:1], mus)
    with pytest.raises(ValueError, match=r"classes\[1\]\[0, 0, 1\] = 5 is not an action"):
        ag.psdp(m, [classes[0], np.array([[0, 5]])], mus)
    with pytest.raises(TypeError, match="rng"):
        ag.psdp(m, classes, mus, n_samples=10)
    pols = ag.all_policies(2, 2, 2)
    with pytest.raises(ValueError, match="init"):
        ag.cpi(m, pols, init=len(pols))
    with pytest.raises(ValueError, match="nu"):
        ag.cpi(m, pols, nu=[0.5, 0.6])
    big = ag.LayeredMDP.from_successors(m.next_states, m.next_probs, m.R * 3, m.rho0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ag.cpi(big, pols)
