"""mdp.relative_value_iteration and mdp.policy_gain_bias: known values, certified bracket, twins, bad input."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp.solvers.gain_bias import reference_policy_gain_bias
from mdp.solvers.relative_value_iteration import reference_relative_value_iteration


def _forest_from_definition(S=3, r1=4.0, r2=2.0, p=0.1):
    """Forest management as MDPtoolbox defines it (mdptoolbox.example.forest): wait ages the forest
    (capped at S - 1) unless a fire (prob p) resets it to 0; cut resets it; waiting in the oldest state
    pays r1, cutting pays 1 in states 1..S-2 and r2 in the oldest. Built here, not from mdp.generators."""
    P = np.zeros((S, 2, S))
    for s in range(S):
        P[s, 0, 0] = p
        P[s, 0, min(s + 1, S - 1)] += 1 - p
        P[s, 1, 0] = 1.0
    R = np.zeros((S, 2))
    R[S - 1, 0] = r1
    R[1 : S - 1, 1] = 1.0
    R[S - 1, 1] = r2
    return mdp.TabularMDP(P, R, 0.96)


def test_forest_gain_is_3_24():
    # Known value: gain 3.24 of pymdptoolbox's forest at its defaults (S=3, r1=4, r2=2, p=0.1) -- the
    # docstring example of mdptoolbox.mdp.RelativeValueIteration; pymdptoolbox 4.0b3 run in this session
    # gave average_reward 3.2399999999999993, policy (0, 0, 0), 4 iterations (tau = 0 here: also 4).
    # By hand: "always wait" has stationary ages (p, p(1-p), (1-p)^2) = (0.1, 0.09, 0.81) and pays
    # r1 = 4 only in the oldest state: 0.81 * 4 = 3.24.
    m = _forest_from_definition()
    np.testing.assert_array_equal(m.dense_P(), mdp.generators.forest().dense_P())
    assert mdp.relative_value_iteration(m, tau=0.0).n_iter == 4
    res = mdp.relative_value_iteration(m, tol=1e-10)
    assert res.converged
    lo, hi = res.gain_bounds
    assert lo <= 3.24 <= hi and hi - lo <= 2e-10
    assert res.gain == pytest.approx(3.24, abs=1e-10)
    np.testing.assert_array_equal(res.pi, [0, 0, 0])
    gb = mdp.policy_gain_bias(m, res.pi)
    assert gb.gain == pytest.approx(3.24, abs=1e-13)
    np.testing.assert_allclose(gb.stationary, [0.1, 0.09, 0.81], atol=1e-14)
    # relative values agree with the bias up to the constant that pins h[0] = 0
    np.testing.assert_allclose(res.bias, gb.bias - gb.bias[0], atol=1e-8)
    assert gb.stationary @ gb.bias == pytest.approx(0.0, abs=1e-13)


def _random_model(S, A, seed, sparse=False, density=1.0):
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) < density)
    P[:, :, 0] += 0.05  # every row reaches state 0: unichain, aperiodic
    P /= P.sum(axis=2, keepdims=True)
    R = rng.normal(size=(S, A))
    m = mdp.TabularMDP(P, R, 0.9)
    return m.to_sparse() if sparse else m


def _brute_force_gain(m):
    return max(
        mdp.policy_gain_bias(m, np.array(pi)).gain for pi in itertools.product(range(m.n_actions), repeat=m.n_states)
    )


@settings(max_examples=20, deadline=None)
@given(
    S=st.integers(1, 4),
    A=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    density=st.floats(0.2, 1.0),
    n_sweeps=st.integers(1, 6),
    tau=st.sampled_from([0.0, 0.3, 0.5]),
)
def test_bracket_contains_optimal_gain_at_every_budget(S, A, seed, density, n_sweeps, tau):
    m = _random_model(S, A, seed, density=density)
    g_star = _brute_force_gain(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdp.ConvergenceWarning)
        res = mdp.relative_value_iteration(m, max_iter=n_sweeps, tol=1e-12, tau=tau)
    lo, hi = res.gain_bounds
    assert lo <= g_star + 1e-12 and g_star <= hi + 1e-12
    # the greedy policy's gain is within policy_error_bound of optimal
    assert g_star - mdp.policy_gain_bias(m, res.pi).gain <= res.policy_error_bound + 1e-12
    full = mdp.relative_value_iteration(m, tol=1e-9, tau=tau)
    assert full.converged and abs(full.gain - g_star) <= 1e-9 + 1e-12


@pytest.mark.parametrize("sparse", [False, True])
def test_kernel_matches_reference_twin(sparse):
    m = _random_model(12, 4, 3, sparse=sparse, density=0.4)
    res = mdp.relative_value_iteration(m, tol=1e-9, tau=0.4, ref_state=2)
    g, (lo, hi), h, pi, n = reference_relative_value_iteration(m.dense_P(), m.R, 1e-9, 10_000, tau=0.4, ref_state=2)
    assert res.gain == pytest.approx(g, abs=1e-11)
    np.testing.assert_allclose(res.bias, h, atol=1e-8)
    np.testing.assert_array_equal(res.pi, pi)
    assert abs(res.n_iter - n) <= 1
    gb = mdp.policy_gain_bias(m, res.pi)
    g_ref, h_ref = reference_policy_gain_bias(m.dense_P(), m.R, res.pi)
    assert gb.gain == pytest.approx(g_ref, abs=1e-12)
    np.testing.assert_allclose(gb.bias, h_ref, atol=1e-10)
    assert gb.residual < 1e-12


def test_discounted_values_approach_the_gain_blackwell():
    # (1 - gamma) v*_gamma -> g* 1 as gamma -> 1 (Puterman 1994, Cor. 8.2.5): |(1-g) v_g - g*| = O(1 - g)
    m = _random_model(6, 3, 11)
    res = mdp.relative_value_iteration(m, tol=1e-11)
    for gamma in (0.999, 0.9999):
        v = mdp.solve(m.with_gamma(gamma), tol=1e-7).v
        assert np.abs((1 - gamma) * v - res.gain).max() <= 2 * (1 - gamma) * np.ptp(res.bias) + 1e-8


def test_gamma_is_ignored_and_stochastic_policy():
    m = _random_model(5, 2, 4)
    a = mdp.relative_value_iteration(m)
    b = mdp.relative_value_iteration(m.with_gamma(0.1))
    assert a.gain == b.gain
    assert mdp.relative_value_iteration(m.with_gamma(1.0)).gain == a.gain
    pi_det = np.array([0, 1, 0, 1, 1])
    np.testing.assert_allclose(
        mdp.policy_gain_bias(m, np.eye(2)[pi_det]).bias, mdp.policy_gain_bias(m, pi_det).bias, atol=1e-12
    )


def test_periodic_model_needs_the_aperiodicity_transform():
    # two states swapped by the only action: period 2, gain (1 + 0) / 2
    P = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])
    m = mdp.TabularMDP(P, np.array([[1.0], [0.0]]), 0.9)
    with pytest.warns(mdp.ConvergenceWarning, match="periodic"):
        plain = mdp.relative_value_iteration(m, tau=0.0, max_iter=200)
    assert not plain.converged and plain.gain_bounds[0] <= 0.5 <= plain.gain_bounds[1]
    assert plain.residuals[-1] == pytest.approx(1.0)  # the span does not shrink
    res = mdp.relative_value_iteration(m)
    assert res.converged and res.gain == pytest.approx(0.5, abs=1e-8)
    assert mdp.policy_gain_bias(m, np.zeros(2, dtype=int)).gain == pytest.approx(0.5)


def test_multichain_model_and_policy():
    # two absorbing states with rewards 1 and 3: g* = (1, 3) is not constant
    P = np.stack([np.eye(2)[:, None, :][:, 0, :]], axis=1)
    m = mdp.TabularMDP(P, np.array([[1.0], [3.0]]), 0.9)
    with pytest.warns(mdp.ConvergenceWarning):
        res = mdp.relative_value_iteration(m, max_iter=50)
    assert res.gain_bounds[0] <= 1.0 and 3.0 <= res.gain_bounds[1]
    with pytest.raises(ValueError, match=r"multichain: P_pi has 2 recurrent classes \(\{0\}; \{1\}\)"):
        mdp.policy_gain_bias(m, np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="multichain"):
        mdp.policy_gain_bias(m.to_sparse(), np.zeros(2, dtype=int))


def test_transient_states_policy():
    # 0 -> 1 -> 2 <-> 3 : states 0, 1 transient; gain = mean reward of the 2-3 cycle
    P = np.zeros((4, 1, 4))
    P[0, 0, 1] = P[1, 0, 2] = P[2, 0, 3] = P[3, 0, 2] = 1.0
    R = np.array([[10.0], [5.0], [2.0], [4.0]])
    m = mdp.TabularMDP(P, R, 0.5)
    for mm in (m, m.to_sparse()):
        gb = mdp.policy_gain_bias(mm, np.zeros(4, dtype=int))
        assert gb.gain == pytest.approx(3.0, abs=1e-13)
        np.testing.assert_allclose(gb.stationary, [0, 0, 0.5, 0.5], atol=1e-14)
        assert gb.residual < 1e-12


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(tau=1.0), ValueError, "tau must lie in"),
        (dict(tau="0.5"), TypeError, "tau must be a real"),
        (dict(ref_state=3), ValueError, "ref_state must lie"),
        (dict(ref_state=True), TypeError, "ref_state must be an integer"),
        (dict(tol=0.0), ValueError, "tol"),
        (dict(max_iter=0), ValueError, "max_iter"),
        (dict(v0=[0.0]), ValueError, "v0 must have shape"),
        (dict(v0=[0.0, np.nan, 0.0]), ValueError, "v0 must be finite"),
    ],
)
def test_rvi_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        mdp.relative_value_iteration(mdp.generators.forest(), **kwargs)


def test_bad_model_and_policy():
    with pytest.raises(TypeError, match="m must be an mdp.TabularMDP"):
        mdp.relative_value_iteration("forest")
    with pytest.raises(TypeError, match="m must be an mdp.TabularMDP"):
        mdp.policy_gain_bias(None, [0, 0, 0])
    with pytest.raises(ValueError, match="pi"):
        mdp.policy_gain_bias(mdp.generators.forest(), [0, 0])
    with pytest.raises(ValueError, match=r"pi\[1\] = 5"):
        mdp.policy_gain_bias(mdp.generators.forest(), [0, 5, 0])


# ------------------------------------------------------------------------------- claims RV1, RV2


def test_claims_hold_on_random_instances_and_the_forest():
    from theory_checks import get_claim

    for cid in ("RV1", "RV2"):
        claim = get_claim(cid)
        assert "mdp.relative_value_iteration" in claim.subjects
        for seed in range(3):
            r = claim.check(np.random.default_rng(seed))
            assert r.holds and r.tightness <= 1.0, r
        assert claim.check(mdp.generators.forest()).holds


def test_claims_reject_bad_instances():
    from theory_checks import get_claim

    with pytest.raises(TypeError, match="RV1/RV2 check an mdp.TabularMDP"):
        get_claim("RV1").check("forest")
    big = mdp.TabularMDP(np.full((7, 4, 7), 1 / 7), np.zeros((7, 4)), 0.9)
    with pytest.raises(ValueError, match="need at most 4096"):
        get_claim("RV2").check(big)


def test_claims_fail_for_broken_implementations():
    import dataclasses
    from unittest import mock

    import theory_checks.average_reward as AR
    from theory_checks import get_claim

    real = mdp.relative_value_iteration

    def narrowed(m, **kw):  # a bracket that leaves out the true gain
        res = real(m, **kw)
        lo, hi = res.gain_bounds
        return dataclasses.replace(res, gain_bounds=(lo + 0.3 * (hi - lo) + 1e-3, hi))

    def bad_policy(m, **kw):  # a claimed gap bound with the worst policy instead of the greedy one
        res = real(m, **kw)
        worst = min(
            itertools.product(range(m.n_actions), repeat=m.n_states),
            key=lambda pi: mdp.policy_gain_bias(m, np.array(pi)).gain,
        )
        return dataclasses.replace(res, pi=np.array(worst), policy_error_bound=0.0)

    m = _random_model(3, 2, 5)
    with mock.patch.object(AR.mdp, "relative_value_iteration", narrowed):
        assert not get_claim("RV1").check(m).holds
    with mock.patch.object(AR.mdp, "relative_value_iteration", bad_policy):
        assert not get_claim("RV2").check(m).holds


def test_matches_pymdptoolbox_relative_value_iteration():
    """Differential against the peer (pip install rlab[bench]); skipped where it is not installed."""
    mdptoolbox = pytest.importorskip("mdptoolbox.mdp")
    for seed in range(3):
        m = _random_model(8, 3, seed)
        peer = mdptoolbox.RelativeValueIteration([m.dense_P()[:, a, :] for a in range(3)], m.R, epsilon=1e-10)
        peer.run()
        res = mdp.relative_value_iteration(m, tol=1e-10)
        assert res.gain == pytest.approx(peer.average_reward, abs=1e-8)
        assert mdp.policy_gain_bias(m, np.array(peer.policy)).gain == pytest.approx(res.gain, abs=1e-8)
