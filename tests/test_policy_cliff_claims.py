"""Claims PC1-PC7 (theory_checks/policy_cliff.py): they hold, reject bad instances, and can fail."""

import dataclasses
from unittest import mock

import numpy as np
import pytest

import mdp
from mdp import stability as stab
from theory_checks import policy_cliff as PC
from theory_checks.core import get_claim

IDS = ["PC1", "PC2", "PC3", "PC4", "PC5", "PC6", "PC7"]


@pytest.mark.parametrize("cid", IDS)
def test_claim_holds_on_random_instances(cid):
    c = get_claim(cid)
    assert c.subjects and c.instance and c.accepts is not None
    for seed in range(2):
        r = c.check(np.random.default_rng(seed))
        assert r.holds, (cid, r, r.details.get("worst_part"))
        assert 0 <= r.tightness <= 1


def test_claims_on_user_instances():
    m = mdp.generators.random_mdp(4, 2, rng=np.random.default_rng(7), gamma=0.9)
    for cid in ("PC1", "PC3", "PC5"):
        assert get_claim(cid).check(m.to_sparse()).holds
    bandit = mdp.TabularMDP(np.ones((1, 2, 1)), np.zeros((1, 2)), 0.0)
    r = get_claim("PC7").check((bandit, [[1.0, 0.0]], [[0.0, 1.0]]))
    assert r.holds and r.details["parts"]["grid jumps = breakpoints"]["breakpoints"] == [0.5]


def test_claims_reject_bad_instances():
    with pytest.raises(TypeError, match="PC1.*TabularMDP"):
        get_claim("PC1").check("model")
    m = mdp.TabularMDP(np.ones((1, 2, 1)), np.zeros((1, 2)), 1.0)
    with pytest.raises(ValueError, match="gamma < 1"):
        get_claim("PC5").check(m)
    with pytest.raises(TypeError, match="R1"):
        get_claim("PC7").check(m)
    b = mdp.TabularMDP(np.ones((1, 2, 1)), np.zeros((1, 2)), 0.0)
    with pytest.raises(ValueError, match="R2"):
        get_claim("PC7").check((b, np.zeros((1, 2)), np.zeros((1, 3))))


def _fails(cid, seeds=(0, 1, 2)):
    return any(not get_claim(cid).check(np.random.default_rng(s)).holds for s in seeds)


def test_pc1_fails_when_perturbations_are_doubled():
    orig = stab.with_reward
    with mock.patch.object(stab, "with_reward", lambda m, R: orig(m, 2 * np.asarray(R) - m.R)):
        assert _fails("PC1")


def test_pc2_fails_with_a_loose_tie_tolerance():
    orig = stab.action_gap
    with mock.patch.object(stab, "action_gap", lambda m, **kw: orig(m, tie_tol=0.3)):
        assert _fails("PC2")


def test_pc3_fails_with_an_inflated_radius():
    orig = stab.action_gap

    def big(m, **kw):
        r = orig(m, **kw)
        return dataclasses.replace(r, radius=5 * r.radius)

    with mock.patch.object(stab, "action_gap", big):
        assert _fails("PC3")


def test_pc4_fails_when_near_ties_are_merged():
    orig = stab.action_gap
    with mock.patch.object(stab, "action_gap", lambda m, **kw: orig(m, tie_tol=1e-3)):
        assert _fails("PC4")


def test_pc5_and_pc6_fail_with_wrong_constants():
    orig = stab.soft_optimal_policy

    def cold(m, tau, **kw):  # solves at a 10x lower temperature but reports tau's constants
        r = orig(m, tau / 10, **kw)
        return dataclasses.replace(r, tau=tau, lipschitz=1 / (tau * (1 - m.gamma)))

    with mock.patch.object(stab, "soft_optimal_policy", cold):
        assert _fails("PC5")

    def cheap(m, tau, **kw):
        r = orig(m, tau, **kw)
        return dataclasses.replace(r, price_bound=r.price_bound / 100)

    with mock.patch.object(stab, "soft_optimal_policy", cheap):
        assert _fails("PC6")


def test_pc7_fails_with_shifted_breakpoints():
    orig = stab.effective_reward_path

    def shifted(m, R1, R2, **kw):
        r = orig(m, R1, R2, **kw)
        return dataclasses.replace(r, breakpoints=np.clip(r.breakpoints + 0.01, 0, 1))

    with mock.patch.object(stab, "effective_reward_path", shifted):
        assert _fails("PC7")


def test_duplicate_action_is_an_exact_tie():
    m = mdp.generators.random_mdp(3, 2, rng=np.random.default_rng(0), gamma=0.9)
    mt = PC.duplicate_action(m, 1)
    g = stab.action_gap(mt)
    assert mt.n_actions == 3 and np.array_equal(g.q[:, 1], g.q[:, 2])
