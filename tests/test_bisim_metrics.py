"""Bisimulation metrics (mdp.abstraction.metrics): Kantorovich distances, the Ferns fixed point,
Castro's on-policy metric. Known values, properties (B4-B8 of docs/papers/foundations.md section 10),
differential (transport simplex vs HiGHS LP) and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp.abstraction.metrics import (
    MetricResult,
    _kantorovich_lp,
    bisimulation_metric,
    bisimulation_operator,
    kantorovich,
    on_policy_bisimulation_metric,
)
from mdp.abstraction.partition import bisimulation, planted_copies


def _det(nxt, R, gamma=0.9):
    nxt = np.asarray(nxt)
    S, A = nxt.shape
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    return mdp.TabularMDP(P, np.asarray(R, dtype=float), gamma)


# ----------------------------------------------------------------------------- Kantorovich
def test_kantorovich_known_values():
    line = np.abs(np.subtract.outer(np.arange(4.0), np.arange(4.0)))
    # on the line W_1 = integral |F_p - F_q| (Vallender 1973): here 0.5*1 + 0.5*2 = 1.5
    assert kantorovich([1, 0, 0, 0], [0, 0.5, 0.5, 0], line) == pytest.approx(1.5, abs=1e-14)
    assert kantorovich([0.5, 0, 0, 0.5], [0, 0.5, 0.5, 0], line) == pytest.approx(1.0, abs=1e-14)
    assert kantorovich([0, 0, 1, 0], [1, 0, 0, 0], line) == pytest.approx(2.0, abs=1e-14)
    assert kantorovich([0.25] * 4, [0.25] * 4, line) == 0.0
    value, x = kantorovich([1, 0, 0, 0], [0, 0.5, 0.5, 0], line, return_coupling=True)
    np.testing.assert_allclose(x[0], [0, 0.5, 0.5, 0])


@settings(max_examples=40)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 12), alpha=st.sampled_from([0.1, 1.0]), metric=st.booleans())
def test_transport_simplex_equals_highs(seed, n, alpha, metric):
    rng = np.random.default_rng(seed)
    p, q = rng.dirichlet(np.full(n, alpha), size=2)
    if metric:
        X = rng.random((n, 2))
        d = np.linalg.norm(X[:, None] - X[None], axis=2)
    else:
        d = rng.random((n, n))
    w, x = kantorovich(p, q, d, return_coupling=True)
    assert w == pytest.approx(_kantorovich_lp(p, q, d), abs=1e-9)
    np.testing.assert_allclose(x.sum(axis=1), p, atol=1e-12)
    np.testing.assert_allclose(x.sum(axis=0), q, atol=1e-12)
    assert x.min() >= -1e-15 and w == pytest.approx(float((x * d).sum()), abs=1e-12)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 10))
def test_kantorovich_lower_bounds_lipschitz_gaps(seed, n):
    # duality: |(p - q) . f| <= W_d(p, q) for every d-Lipschitz f
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    d = np.linalg.norm(X[:, None] - X[None], axis=2)
    p, q = rng.dirichlet(np.ones(n), size=2)
    f = X @ (rng.normal(size=3) / np.sqrt(3)) / 1.0
    f = f / max(1.0, np.max(np.abs(f[:, None] - f[None]) / np.where(d > 0, d, np.inf)))
    assert abs((p - q) @ f) <= kantorovich(p, q, d) + 1e-12


# ----------------------------------------------------------------------------- Ferns metric
def test_metric_known_value_two_sinks():
    # s0 pays 1 forever, s1 pays 0 forever: d(0, 1) = 1 + gamma d(0, 1) = 1 / (1 - gamma)
    m = _det([[0], [1]], [[1.0], [0.0]], gamma=0.9)
    res = bisimulation_metric(m, tol=1e-10)
    assert res.d[0, 1] == pytest.approx(10.0, abs=1e-9)
    assert res.d[0, 1] <= 10.0 and res.d[0, 1] + res.error_bound >= 10.0
    # Ferns' normalisation c_R = 1 - gamma: the same metric times (1 - gamma)
    res2 = bisimulation_metric(m, c_R=0.1, tol=1e-10)
    assert res2.d[0, 1] == pytest.approx(1.0, abs=1e-9)


def test_metric_known_value_chain():
    # 0 -> 2, 1 -> 3, 2, 3 sinks paying 1 and 0; r(0) = r(1) = 0: d(0, 1) = gamma d(2, 3) = gamma / (1 - gamma)
    m = _det([[2], [3], [2], [3]], [[0.0], [0.0], [1.0], [0.0]], gamma=0.5)
    d = bisimulation_metric(m, tol=1e-12).d
    assert d[0, 1] == pytest.approx(1.0, abs=1e-11)
    assert d[2, 3] == pytest.approx(2.0, abs=1e-11)
    assert d[0, 2] == pytest.approx(max(1.0 + 0.5 * 0.0, 0.0), abs=1e-11)  # |0 - 1| + gamma d(2, 2)


@settings(max_examples=12)
@given(
    seed=st.integers(0, 2**32 - 1),
    S=st.integers(2, 7),
    A=st.integers(1, 3),
    gamma=st.sampled_from([0.5, 0.9]),
    alpha=st.sampled_from([0.1, 1.0]),
    sparse=st.booleans(),
)
def test_value_difference_bounded_by_metric(seed, S, A, gamma, alpha, sparse):
    # B5 with c_R = 1, c_T = gamma: |V*(s) - V*(t)| <= d*(s, t) <= d + error_bound
    rng = np.random.default_rng(seed)
    m = mdp.generators.random_mdp(S, A, rng=rng, alpha=alpha, gamma=gamma, sparse=sparse)
    res = bisimulation_metric(m, tol=1e-8)
    assert res.converged and res.c_T == gamma and res.c_R == 1.0
    v = mdp.solve(m, tol=1e-12).v
    assert np.all(np.abs(v[:, None] - v[None, :]) <= res.upper + 1e-10)
    d = res.d
    assert np.allclose(d, d.T) and np.all(np.diag(d) == 0)
    # triangle inequality (a pseudometric)
    assert np.all(d[:, None, :] <= d[:, :, None] + d[None, :, :] + 1e-9)
    assert np.all(np.diff(res.increments) <= 1e-12) or res.n_iter <= 2


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(2, 6), gamma=st.sampled_from([0.5, 0.8]))
def test_fixed_point_iteration_certificate(seed, S, gamma):
    # B4: iterates from 0 increase to d*, and ||d* - d_t|| <= reported error_bound
    rng = np.random.default_rng(seed)
    m = mdp.generators.random_mdp(S, 2, rng=rng, gamma=gamma)
    star = bisimulation_metric(m, tol=1e-13)
    for it in (1, 3, 6):
        res = bisimulation_metric(m, tol=1e-13, max_iter=it)
        assert np.all(res.d <= star.d + 1e-12)
        assert np.abs(star.d - res.d).max() <= res.error_bound + star.error_bound + 1e-12
        assert np.abs(star.d - res.d).max() <= gamma**it * np.abs(star.d).max() + star.error_bound + 1e-12


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(2, 6), c_T=st.sampled_from([0.3, 0.9]))
def test_operator_is_monotone_contraction(seed, S, c_T):
    rng = np.random.default_rng(seed)
    m = mdp.generators.random_mdp(S, 2, rng=rng)

    def pseudo():
        X = rng.random((S, 2)) * 3
        return np.linalg.norm(X[:, None] - X[None], axis=2)

    d1, d2 = pseudo(), pseudo()
    F1 = bisimulation_operator(m, d1, c_T=c_T)
    F2 = bisimulation_operator(m, d2, c_T=c_T)
    assert np.abs(F1 - F2).max() <= c_T * np.abs(d1 - d2).max() + 1e-12
    F3 = bisimulation_operator(m, d1 + d2, c_T=c_T)
    assert np.all(F3 >= F1 - 1e-12)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 5), k=st.integers(2, 3))
def test_metric_kernel_is_the_bisimulation(seed, n, k):
    # B6: d*(s, t) = 0 iff s, t are bisimilar (planted copies of a random model)
    rng = np.random.default_rng(seed)
    m, _ = planted_copies(mdp.generators.random_mdp(n, 2, rng=rng, gamma=0.8), k, rng=rng)
    res = bisimulation_metric(m, tol=1e-10)
    same = bisimulation(m).labels
    same = same[:, None] == same[None, :]
    assert res.d[same].max() <= 1e-12
    assert res.d[~same].min() > 1e-6


def test_metric_handles_sparse_models_like_dense():
    m = mdp.generators.gridworld(3, 3, gamma=0.8)
    a = bisimulation_metric(m, tol=1e-9)
    b = bisimulation_metric(m.to_dense(), tol=1e-9)
    np.testing.assert_allclose(a.d, b.d, atol=1e-12)
    assert isinstance(a, MetricResult) and a.n_fallback == 0


# ----------------------------------------------------------------------------- on-policy metric
@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(2, 7), stochastic=st.booleans())
def test_on_policy_metric_bounds_policy_values(seed, S, stochastic):
    # B7: |V^pi(s) - V^pi(t)| <= d^pi(s, t)
    rng = np.random.default_rng(seed)
    m = mdp.generators.random_mdp(S, 3, rng=rng, gamma=0.9)
    pi = rng.dirichlet(np.ones(3), size=S) if stochastic else rng.integers(0, 3, size=S)
    res = on_policy_bisimulation_metric(m, pi, tol=1e-9)
    v = mdp.policy_evaluation(m, pi).v
    assert np.all(np.abs(v[:, None] - v[None, :]) <= res.upper + 1e-9)


@settings(max_examples=10)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(2, 10), A=st.integers(1, 3))
def test_sampled_update_converges_to_lp_fixed_point(seed, S, A):
    # B8: deterministic model, Castro's update on sampled pairs -> the LP fixed point
    rng = np.random.default_rng(seed)
    m = _det(rng.integers(0, S, size=(S, A)), rng.random((S, A)), gamma=0.8)
    pi = rng.integers(0, A, size=S)
    lp = on_policy_bisimulation_metric(m, pi, tol=1e-10)
    det = on_policy_bisimulation_metric(m, pi, method="deterministic", tol=1e-10)
    smp = on_policy_bisimulation_metric(m, pi, method="sampled", rng=rng, tol=1e-9)
    assert smp.converged
    np.testing.assert_allclose(det.d, lp.d, atol=2e-10)
    np.testing.assert_allclose(smp.d, lp.d, atol=2e-9)
    assert np.all(smp.d <= lp.d + lp.error_bound + 1e-12)  # monotone from 0: a lower bound


# ----------------------------------------------------------------------------- bad input
def test_bad_kantorovich_input():
    d = np.ones((2, 2)) - np.eye(2)
    with pytest.raises(ValueError, match=r"p must sum to 1 \(within 1e-8\), sums to 0.9"):
        kantorovich([0.5, 0.4], [0.5, 0.5], d)
    with pytest.raises(ValueError, match=r"q must be non-negative"):
        kantorovich([0.5, 0.5], [1.5, -0.5], d)
    with pytest.raises(ValueError, match=r"p and q must have the same shape"):
        kantorovich([1.0], [0.5, 0.5], d)
    with pytest.raises(ValueError, match=r"d must have shape \(2, 2\), got \(3, 3\)"):
        kantorovich([0.5, 0.5], [0.5, 0.5], np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"d must be non-negative; d\[0, 1\] = -1.0"):
        kantorovich([0.5, 0.5], [0.5, 0.5], -d)
    with pytest.raises(ValueError, match=r"p must be finite"):
        kantorovich([np.nan, 0.5], [0.5, 0.5], d)
    with pytest.raises(TypeError, match=r"p must be an array of numbers, got str"):
        kantorovich("ab", [0.5, 0.5], d)


def test_bad_metric_arguments():
    m = _det([[0], [1]], [[1.0], [0.0]])
    with pytest.raises(TypeError, match="m must be an mdp.TabularMDP, got list"):
        bisimulation_metric([[1]])
    with pytest.raises(ValueError, match=r"c_T must lie in \[0, 1\) for the operator to contract, got 1.0"):
        bisimulation_metric(m, c_T=1.0)
    with pytest.raises(ValueError, match=r"c_R must be finite and > 0, got 0.0"):
        bisimulation_metric(m, c_R=0.0)
    with pytest.raises(ValueError, match=r"tol must be finite and > 0, got -1.0"):
        bisimulation_metric(m, tol=-1.0)
    with pytest.raises(ValueError, match=r"max_iter must be >= 1, got 0"):
        bisimulation_metric(m, max_iter=0)
    with pytest.raises(ValueError, match=r"d must be 2-dimensional, got shape \(3,\)"):
        bisimulation_operator(m, np.zeros(3))
    with pytest.raises(ValueError, match=r"d must have shape \(2, 2\), got \(3, 3\)"):
        bisimulation_operator(m, np.zeros((3, 3)))
    # gamma = 1 is fine with an explicit c_T < 1, but the default c_T = gamma is not a contraction;
    # the message says the 1.0 came from m.gamma (the caller passed no c_T)
    und = mdp.TabularMDP(m.P, m.R, 1.0)
    with pytest.raises(
        ValueError,
        match=r"c_T defaults to m.gamma = 1.0; the metric needs c_T < 1 .*pass c_T "
        r"explicitly .* or use a discounted model",
    ):
        bisimulation_metric(und)
    with pytest.raises(ValueError, match=r"c_T defaults to m.gamma = 1.0"):
        bisimulation_operator(und, np.zeros((2, 2)))
    assert bisimulation_metric(und, c_T=0.5).d[0, 1] == pytest.approx(2.0, abs=1e-7)


def test_bad_on_policy_arguments():
    rng = np.random.default_rng(0)
    m = mdp.generators.random_mdp(3, 2, rng=rng)
    with pytest.raises(ValueError, match=r"pi\[1\] = 5 is not an action in \[0, 2\)"):
        on_policy_bisimulation_metric(m, [0, 5, 1])
    with pytest.raises(ValueError, match="method must be 'lp', 'deterministic' or 'sampled', got 'mc'"):
        on_policy_bisimulation_metric(m, [0, 1, 1], method="mc")
    with pytest.raises(ValueError, match=r"needs deterministic transitions under pi; state 0 has 3 successors"):
        on_policy_bisimulation_metric(m, [0, 1, 1], method="deterministic")
    det = _det([[1, 0], [0, 1], [2, 2]], rng.random((3, 2)))
    with pytest.raises(TypeError, match="method='sampled' needs rng, a numpy.random.Generator"):
        on_policy_bisimulation_metric(det, [0, 1, 1], method="sampled")
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        on_policy_bisimulation_metric(det, [0, 1, 1], method="sampled", rng=3)
    with pytest.raises(ValueError, match=r"m.gamma must lie in \[0, 1\)"):
        on_policy_bisimulation_metric(mdp.TabularMDP(det.P, det.R, 1.0), [0, 1, 1])
