"""The foundation claims F1-F13: they hold on random and on named instances, and they can fail."""

import dataclasses
import functools

import numpy as np
import pytest

import mdp
from mdp.learners import plugin_planner
from theory_checks import (
    CheckResult,
    Claim,
    assert_claim,
    get_claim,
    list_claims,
    register,
    run_claims,
)
from theory_checks import foundations as F

EXACT_IDS = [f"F{i}" for i in range(1, 12)]
ALL_IDS = EXACT_IDS + ["F12", "F13"]


# ----------------------------------------------------------------------------- random instances
@pytest.mark.parametrize("claim_id", EXACT_IDS)
def test_claim_holds_on_20_random_instances(claim_id):
    results = assert_claim(claim_id, rng=np.random.default_rng(2024), n=20)
    assert len(results) == 20
    assert all(0.0 <= r.tightness <= 1.0 + 1e-9 for r in results)


def test_f12_holds_on_random_instances():
    results = assert_claim("F12", rng=np.random.default_rng(7), n=3)
    # part (b) is loose by construction (Hoeffding + union bound); part (a) is the tight one
    assert all(r.details["parts"]["high_probability"]["frac_above_bound"] <= 0.1 for r in results)


def test_f13_slopes():
    (r,) = assert_claim("F13", rng=np.random.default_rng(11))
    assert abs(r.details["parts"]["gamma_slope"]["observed"] - 1.5) <= 0.2
    assert abs(r.details["parts"]["n_slope"]["observed"] + 0.5) <= 0.1


# ----------------------------------------------------------------------------- named instances
FOREST = mdp.generators.forest(gamma=0.96)


@pytest.mark.parametrize("claim_id", ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F11"])
def test_claim_holds_on_forest(claim_id):
    assert_claim(claim_id, FOREST, rng=np.random.default_rng(3))
    assert_claim(claim_id, FOREST.to_sparse(), rng=np.random.default_rng(3))


@pytest.mark.parametrize("claim_id", ["F8", "F9", "F10"])
def test_model_error_claims_on_forest_and_its_empirical_model(claim_id):
    m_hat = plugin_planner(FOREST, 50, rng=np.random.default_rng(0)).model
    assert_claim(claim_id, (FOREST, m_hat), rng=np.random.default_rng(3))


def test_f12_on_forest():
    assert_claim("F12", (mdp.generators.forest(gamma=0.9), 200), rng=np.random.default_rng(3))


def test_f4_tight_example_attains_the_constant():
    inst = F.greedy_loss_tight_example(gamma=0.9, eps=0.01)
    (r,) = assert_claim("F4", inst)
    assert r.tightness > 1 - 1e-6


def test_f5_f6_on_riverswim_from_a_bad_start():
    m = mdp.generators.riverswim()
    assert_claim("F5", m, rng=np.random.default_rng(0))
    assert_claim("F6", m, rng=np.random.default_rng(0))


def test_hard_instance_value():
    for g in (0.8, 0.95):
        v = mdp.policy_iteration(F.hard_instance(g)).v
        assert v[0] == pytest.approx(3.0 / (4.0 * (1.0 - g)), rel=1e-12)


# ----------------------------------------------------------------------------- F7 at scale
@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.99])
def test_f7_on_200_random_mdps(gamma):
    rng = np.random.default_rng(int(gamma * 100))
    worst_howard = 0
    for _ in range(200):
        m = mdp.generators.random_mdp(
            int(rng.integers(3, 11)), int(rng.integers(2, 5)), rng=rng, alpha=float(rng.choice([0.1, 1.0])), gamma=gamma
        )
        r = F.check_f7(m, rng)
        assert r.holds, r
        worst_howard = max(worst_howard, r.details["parts"]["howard_upper"]["observed"])
    assert worst_howard < 15  # docs/papers/foundations.md: random instances converge in < 10 iterations


def test_simplex_pi_agrees_with_reference_and_howard():
    from mdp.solvers.simplex_policy_iteration import reference_simplex_policy_iteration

    rng = np.random.default_rng(5)
    for _ in range(10):
        m = F.sample_mdp(rng)
        res = mdp.simplex_policy_iteration(m)
        v, pi, n = reference_simplex_policy_iteration(m.dense_P(), m.R, m.gamma)
        np.testing.assert_array_equal(res.pi, pi)
        assert res.n_iter == n
        np.testing.assert_allclose(res.v, mdp.policy_iteration(m).v, rtol=1e-10, atol=1e-10)
        assert res.converged and res.policy_error_bound < 1e-8


def test_simplex_pi_bad_input():
    with pytest.raises(TypeError, match="TabularMDP"):
        mdp.simplex_policy_iteration("forest")
    with pytest.raises(ValueError, match="pi0"):
        mdp.simplex_policy_iteration(FOREST, pi0=[0, 2, 0])
    with pytest.raises(ValueError, match="max_iter"):
        mdp.simplex_policy_iteration(FOREST, max_iter=0)


# ----------------------------------------------------------------------------- negative tests
def _variant(claim_id, evaluate, **overrides):
    return dataclasses.replace(get_claim(claim_id), id=f"{claim_id}-broken", evaluate=evaluate, **overrides)


def test_inequality_kind_can_fail_f1_with_a_wrong_gamma():
    broken = _variant("F1", functools.partial(F.check_f1, gamma=0.5 * 0.9))
    m = mdp.generators.random_mdp(5, 3, rng=np.random.default_rng(0), gamma=0.9)
    r = broken.check(m, rng=np.random.default_rng(1))
    assert not r.holds and r.tightness > 1.5
    with pytest.raises(AssertionError, match="F1-broken"):
        assert_claim(broken, m)


def test_inequality_kind_can_fail_f4_halved_constant_on_tight_example():
    broken = _variant("F4", functools.partial(F.check_f4, constant=1.0))
    r = broken.check(F.greedy_loss_tight_example(gamma=0.9, eps=0.01))
    assert not r.holds and r.tightness == pytest.approx(2.0, rel=1e-6)


def test_sequence_claims_can_fail_with_a_faster_rate():
    m = mdp.generators.random_mdp(6, 3, rng=np.random.default_rng(0), gamma=0.9)
    assert not F.check_f2(m, np.random.default_rng(0), rate=0.5).holds
    assert not F.check_f3(m, np.random.default_rng(0), factor=0.1).holds
    assert not F.check_f12((m, 100), np.random.default_rng(0), reps=20, factor=0.2).holds


def test_identity_kind_can_fail_f8_f11_with_a_wrong_constant():
    pair = F.sample_model_pair(np.random.default_rng(4))
    assert F.check_f8(pair, np.random.default_rng(0)).holds
    r = F.check_f8(pair, np.random.default_rng(0), gamma=0.9 * pair[0].gamma)
    assert not r.holds and r.tightness > 1e3
    m = F.sample_mdp(np.random.default_rng(4))
    assert not F.check_f11(m, np.random.default_rng(0), factor=1.0).holds


def test_estimate_kind_can_fail_f13_wrong_slope():
    broken = _variant("F13", functools.partial(F.check_f13, gamma_slope=2.0))
    r = broken.check(rng=np.random.default_rng(0))
    assert not r.holds and r.details["worst_part"] == "gamma_slope"
    # too few repetitions or a wrong exponent are caught too: (1-gamma)^-2 is outside 1.5 +- 0.2
    assert not F.check_f13(None, np.random.default_rng(0), n_slope=-1.0).holds


# ----------------------------------------------------------------------------- each check catches what it guards
def test_f1_catches_a_modulus_1e10_above_gamma():
    # docs/papers/foundations.md section 1: tolerance 1e-12 relative (an operator 1e-10 too expansive must fail)
    from unittest import mock

    from mdp import operators as _ops

    def too_expansive(m, v, out=None, pi_out=None):
        q = m.R + m.gamma * (1 + 1e-10) * (m.dense_P() @ v)
        return q.max(axis=1), q.argmax(axis=1).astype(np.int64)

    rng = np.random.default_rng(0)
    with mock.patch.object(_ops, "bellman_operator", too_expansive):
        results = [get_claim("F1").check(np.random.default_rng(rng.integers(2**63))) for _ in range(5)]
    assert not any(r.holds for r in results)


def test_f5_catches_an_improvement_step_that_makes_a_state_worse():
    # state 0 has no in-flow, so a wrong switch there lowers V(0) without raising any other state:
    # the earlier single-part check (increase >= advantage) let this pass
    from unittest import mock

    P = np.zeros((3, 2, 3))
    R = np.zeros((3, 2))
    P[0, :, 2], P[0, :, 1], R[0] = 0.9, 0.1, [1.0, 0.0]
    P[1, 0, 1] = P[1, 1, 2] = 1.0
    P[2, :, 2], R[2] = 1.0, [1.0, 1.0]
    m = mdp.TabularMDP(P, R, 0.9)
    real, calls = F.improve_policy, []

    def broken(q, pi, **kw):
        step = real(q, pi, **kw)
        calls.append(1)
        if len(calls) == 1:
            bad = step.pi.copy()
            bad[0] = 1  # the worse action in state 0
            return mdp.PolicyImprovement(bad, step.n_changed)
        return step

    zeros = lambda m, rng: np.zeros(m.n_states, dtype=np.int64)  # noqa: E731
    with mock.patch.object(F, "_random_pi0", zeros):
        assert get_claim("F5").check(m).holds
        with mock.patch.object(F, "improve_policy", broken):
            r = get_claim("F5").check(m)
    assert not r.holds
    assert not r.details["parts"]["monotone"]["holds"]
    assert not r.details["parts"]["strict_where_switched"]["holds"]
    assert r.details["parts"]["increase_ge_advantage"]["holds"]  # the part that alone missed it


def test_f7_fails_when_a_run_stops_at_max_iter():
    from unittest import mock

    real = mdp.policy_iteration
    m = mdp.generators.riverswim(6, gamma=0.9)
    assert F.check_f7(m, np.random.default_rng(3)).holds

    def cut(model, **kw):  # reports one iteration and converged=False
        kw["max_iter"] = 1
        return real(model, **kw)

    with mock.patch.object(F.mdp, "policy_iteration", cut), pytest.warns(mdp.ConvergenceWarning):
        r = F.check_f7(m, np.random.default_rng(3))
    assert not r.holds and "max_iter" in r.details["error"]


def test_f9_tight_example_needs_the_transition_term():
    pair = F.simulation_bound_tight_example(gamma=0.9, eps_p=1e-3)
    r = get_claim("F9").check(pair)
    assert r.holds and r.tightness == pytest.approx(0.1 / (0.1 + 0.9 * 5e-4), rel=1e-9)
    assert not F.check_f9(pair, np.random.default_rng(0), half=0.25).holds
    # and the random pairs exercise it: with R_hat = R the reward term is 0
    pairs = [F.sample_model_pair(np.random.default_rng(i)) for i in range(20)]
    assert sum(np.array_equal(a.R, b.R) for a, b in pairs) >= 5


def test_f13_level_catches_a_sampler_that_draws_a_quarter_of_n():
    from unittest import mock

    real = F.sample_next_states

    def quarter(m, n, *, rng):  # every sample repeated 4 times: the law of an N/4-sample estimate
        out = real(m, max(1, n // 4), rng=rng)
        return np.repeat(out, 4, axis=2)[:, :, :n]

    settings = {"reps": 400}
    assert F.check_f13(settings, np.random.default_rng(0)).holds
    with mock.patch.object(F, "sample_next_states", quarter):
        r = F.check_f13(settings, np.random.default_rng(0))
    assert not r.holds and r.details["worst_part"] == "rmse_level"
    assert r.details["parts"]["gamma_slope"]["holds"] and r.details["parts"]["n_slope"]["holds"]


def test_f13_exact_rmse_matches_the_delta_method_at_large_n():
    g, n = 0.9, 32_000
    p = (4 * g - 1) / (3 * g)
    delta = g * np.sqrt(p * (1 - p) / n) / (1 - g * p) ** 2
    assert F.f13_exact_rmse(g, n) == pytest.approx(delta, rel=0.02)


def test_f3_holds_on_float32_models_whose_rows_exceed_one():
    rng = np.random.default_rng(0)
    for i in range(15):
        m = F.sample_mdp(rng)
        m32 = mdp.TabularMDP(m.dense_P(), m.R, m.gamma, dtype=np.float32)
        assert F.check_f3(m32, np.random.default_rng(i)).holds, i


def test_inequality_with_a_negative_bound_reports_infinite_tightness_when_it_fails():
    from theory_checks.core import inequality

    r = inequality("X", -0.5, -1.0)
    assert not r.holds and r.tightness == np.inf
    r = inequality("X", -2.0, -1.0)
    assert r.holds and r.tightness == 0.0


# ----------------------------------------------------------------------------- registry and helpers
def test_registry_lists_f1_to_f13_in_order():
    ids = [c.id for c in list_claims()]
    assert ids[:13] == ALL_IDS


@pytest.mark.parametrize("claim_id", ALL_IDS)
def test_claim_metadata(claim_id):
    c = get_claim(claim_id)
    assert c is get_claim(c.name)
    assert c.statement and c.source and c.name
    assert c.constant in ("source", "derived", "none")
    if c.constant == "derived":
        assert "deriv" in c.notes.lower() or "instantiation" in c.notes
    assert c.default_instances == (1 if claim_id in ("F12", "F13") else 20)


def test_get_claim_unknown():
    with pytest.raises(KeyError, match="unknown claim 'F99'.*F1"):
        get_claim("F99")


def test_register_rejects_duplicate_id():
    with pytest.raises(ValueError, match="already registered"):
        register(dataclasses.replace(get_claim("F1")))


def test_run_claims_summary():
    out = run_claims(["F1", "vi-stopping-rule", "F8"], n_instances=3, rng=np.random.default_rng(0))
    assert [s.claim.id for s in out] == ["F1", "F3", "F8"]
    for s in out:
        assert s.instances == 3 and s.holds and s.status == "holds"
        assert s.worst_tightness == max(r.tightness for r in s.results)


def test_checks_are_reproducible():
    for cid in ("F2", "F7", "F9", "F12"):
        a = get_claim(cid).check(np.random.default_rng(99))
        b = get_claim(cid).check(np.random.default_rng(99))
        assert (a.observed, a.bound, a.holds) == (b.observed, b.bound, b.holds)


def test_check_argument_errors():
    c = get_claim("F1")
    with pytest.raises(TypeError, match="either"):
        c.check(np.random.default_rng(0), rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        c.check(FOREST, rng=0)


def test_assert_claim_reports_statement_and_source():
    def evaluate(m, rng):
        return CheckResult("X1", 2.0, 1.0, False, 2.0)

    c = Claim(
        id="X1",
        name="always-fails",
        statement="a <= b",
        source="nowhere",
        constant="none",
        tolerance=0.0,
        sample=F.sample_mdp,
        evaluate=evaluate,
    )
    with pytest.raises(AssertionError, match=r"X1 \(always-fails\).*a <= b.*nowhere"):
        assert_claim(c, n=2)


# ----------------------------------------------------------------------------- hypothesis-driven
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from theory_checks.strategies import mdps, sparse_mdps  # noqa: E402


@settings(max_examples=15, suppress_health_check=[HealthCheck.too_slow])
@given(m=st.one_of(mdps(max_states=6), sparse_mdps(max_states=8)), seed=st.integers(0, 2**32 - 1))
def test_exact_claims_hold_on_strategy_models(m, seed):
    # the strategies reach what sample_mdp does not: S = 1, A = 1, restricted supports, rewards
    # outside [0, 1] (sparse_mdps)
    for cid in ("F1", "F2", "F3", "F4", "F5", "F6", "F11"):
        r = get_claim(cid).check(m, rng=np.random.default_rng(seed))
        assert r.holds, (cid, str(r), r.details)
