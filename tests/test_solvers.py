"""Solvers: known values, certified-bound properties on random models, numpy-twin differentials,
and behaviour when the iteration budget runs out.

Ground truth everywhere is plain-numpy Howard policy iteration with ``np.linalg.solve``
(``tests/_helpers.py``), never the code under test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _helpers import (
    assert_greedy_ties,
    exact_optimum,
    exact_policy_value,
    long_double_finite_horizon,
    long_double_optimum,
    long_double_policy_value,
    roundoff,
)
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp._common import bellman as K
from mdp.solvers.certify import reference_certify
from mdp.solvers.finite_horizon import reference_finite_horizon
from mdp.solvers.modified_policy_iteration import reference_modified_policy_iteration
from mdp.solvers.policy_evaluation import reference_policy_evaluation
from mdp.solvers.policy_iteration import _improve, reference_policy_iteration
from mdp.solvers.value_iteration import _vi_dense, _vi_sparse, reference_value_iteration
from theory_checks.strategies import mdps, policies, sparse_mdps, value_vectors

# --------------------------------------------------------------------------- the solvers under test
SOLVERS = {
    "vi-jacobi": lambda m, tol: mdp.value_iteration(m, tol=tol, method="jacobi"),
    "vi-gauss-seidel": lambda m, tol: mdp.value_iteration(m, tol=tol, method="gauss-seidel"),
    "pi": lambda m, tol: mdp.policy_iteration(m),
    "mpi-k0": lambda m, tol: mdp.modified_policy_iteration(m, tol=tol, k=0),
    "mpi-k5": lambda m, tol: mdp.modified_policy_iteration(m, tol=tol, k=5),
    "lp-highs": lambda m, tol: mdp.linear_programming(m),
    "lp-highs-unpolished": lambda m, tol: mdp.linear_programming(m, polish=False),
    "solve": lambda m, tol: mdp.solve(m, tol=tol),
}
ITERATIVE = {"vi-jacobi", "vi-gauss-seidel", "mpi-k0", "mpi-k5", "solve"}


def _acc(name, v_star):
    """Accuracy a solver reaches on the small known-value examples (tol = 1e-9): the unpolished LP is
    only as good as HiGHS's feasibility tolerance (its certificate says so)."""
    scale = 1.0 + float(np.abs(v_star).max())
    return (1e-5 if name == "lp-highs-unpolished" else 1e-8) * scale


def _puterman_two_state(gamma=0.95):
    """Puterman (1994), *Markov Decision Processes*, Sec. 3.1 (the two-state example, Fig. 3.1.1).

    State s1: action a11 pays 5 and stays w.p. 0.5 / moves to s2 w.p. 0.5; action a12 pays 10 and
    moves to s2. State s2: one action a21 pays -1 and stays (we give s2 a duplicate of a21 so that
    the model is rectangular). With lambda = 0.95 Puterman (Sec. 6.3-6.4) reports
    v*(s1) = -8.571, v*(s2) = -20 with a11 optimal; closed form below.
    """
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0.0, 1.0]
    P[1, :, 1] = 1.0
    R = np.array([[5.0, 10.0], [-1.0, -1.0]])
    return mdp.TabularMDP(P, R, gamma)


def _puterman_closed_form(g):
    v2 = -1.0 / (1.0 - g)
    v1_a11 = (5.0 + 0.5 * g * v2) / (1.0 - 0.5 * g)
    v1_a12 = 10.0 + g * v2
    return np.array([max(v1_a11, v1_a12), v2]), (0 if v1_a11 >= v1_a12 else 1)


def _deterministic_chain(n, gamma):
    """States 0..n-1; action 0 moves right (stays at n-1), action 1 stays. Only staying in the last
    state pays 1 (per step). v*(s) = gamma^(n-1-s) / (1 - gamma): a geometric sum."""
    P = np.zeros((n, 2, n))
    for s in range(n):
        P[s, 0, min(s + 1, n - 1)] = 1.0
        P[s, 1, s] = 1.0
    R = np.zeros((n, 2))
    R[n - 1, :] = 1.0
    return mdp.TabularMDP(P, R, gamma)


def _all_solvers_on(m, tol=1e-9):
    with warnings.catch_warnings():
        warnings.simplefilter("error", mdp.ConvergenceWarning)
        return {name: f(m, tol) for name, f in SOLVERS.items()}


# =========================================================================== known values
FOREST_V = np.array([74.6496, 78.1056, 82.1056])


def test_forest_closed_form():
    """MDPtoolbox's forest example (S=3, r1=4, r2=2, p=0.1, gamma=0.96), derived by hand.

    "Wait" everywhere is optimal. With x = v(0): v(2) - v(1) = r1 = 4 (the two states differ only by
    the reward of waiting in the oldest state), v(1) - v(0) = 0.9 * gamma * 4 = 3.456, and
    x = gamma * (x + 0.9 * 3.456) gives x = 0.96 * 3.1104 / 0.04 = 74.6496 (all values exact in
    decimal)."""
    g, p, r1 = 0.96, 0.1, 4.0
    d21 = r1
    d10 = (1 - p) * g * d21
    x = g * (1 - p) * d10 / (1 - g)
    np.testing.assert_allclose([x, x + d10, x + d10 + d21], FOREST_V, rtol=0, atol=1e-12)
    # and the Bellman equation is satisfied with "wait" optimal (cutting is worse in every state)
    m = mdp.generators.forest(gamma=0.96)
    q = m.R + g * np.einsum("sat,t->sa", m.P, FOREST_V)
    np.testing.assert_allclose(q.max(axis=1), FOREST_V, atol=1e-12)
    assert q.argmax(axis=1).tolist() == [0, 0, 0]


@pytest.mark.parametrize("sparse", [False, True])
def test_forest_all_solvers(sparse):
    m = mdp.generators.forest(gamma=0.96)
    m = m.to_sparse() if sparse else m
    for name, res in _all_solvers_on(m).items():
        err = np.abs(res.v - FOREST_V).max()
        assert err <= res.error_bound + 1e-10, name
        assert err <= _acc(name, FOREST_V), name
        assert res.pi.tolist() == [0, 0, 0], name
        assert res.converged, name
        assert res.policy_error_bound <= _acc(name, FOREST_V) * 100, name


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 0.99])
@pytest.mark.parametrize("sparse", [False, True])
def test_one_state_mdp(gamma, sparse):
    """A single state: v* = max_a R / (1 - gamma)."""
    R = np.array([[0.3, 1.7, -2.0]])
    m = mdp.TabularMDP(np.ones((1, 3, 1)), R, gamma)
    m = m.to_sparse() if sparse else m
    expect = 1.7 / (1 - gamma)
    for name, res in _all_solvers_on(m).items():
        assert abs(res.v[0] - expect) <= res.error_bound + 1e-10 * (1 + expect), name
        assert abs(res.v[0] - expect) <= _acc(name, expect), name
        assert res.pi.tolist() == [1], name


@pytest.mark.parametrize("gamma", [0.5, 0.9, 0.95, 0.99])
def test_puterman_two_state(gamma):
    m = _puterman_two_state(gamma)
    v_star, a_star = _puterman_closed_form(gamma)
    if gamma == 0.95:
        np.testing.assert_allclose(v_star, [-8.571, -20.0], atol=5e-4)  # Puterman's printed values
        assert a_star == 0
    for mm in (m, m.to_sparse()):
        for name, res in _all_solvers_on(mm).items():
            assert np.abs(res.v - v_star).max() <= res.error_bound + 1e-10 * (1 + np.abs(v_star).max()), name
            assert np.abs(res.v - v_star).max() <= _acc(name, v_star), name
            assert res.pi[0] == a_star, name


@pytest.mark.parametrize("n,gamma", [(2, 0.5), (5, 0.9), (20, 0.99)])
def test_deterministic_chain_geometric(n, gamma):
    m = _deterministic_chain(n, gamma)
    v_star = gamma ** (n - 1 - np.arange(n)) / (1 - gamma)
    for mm in (m, m.to_sparse()):
        for name, res in _all_solvers_on(mm).items():
            assert np.abs(res.v - v_star).max() <= res.error_bound + roundoff(v_star), name
            assert np.abs(res.v - v_star).max() <= _acc(name, v_star), name
            assert np.all(res.pi[:-1] == 0), name  # move right until the end


def test_cvxpy_backend_small_cases():
    pytest.importorskip("cvxpy")
    cases = [
        (mdp.generators.forest(gamma=0.96), FOREST_V),
        (_puterman_two_state(0.95), _puterman_closed_form(0.95)[0]),
    ]
    m = mdp.generators.random_mdp(5, 3, rng=np.random.default_rng(7), gamma=0.9)
    cases.append((m, exact_optimum(m)[0]))
    cases.append((m.to_sparse(), exact_optimum(m)[0]))
    for m, v_star in cases:
        for polish in (True, False):
            res = mdp.linear_programming(m, method="cvxpy", polish=polish)
            err = np.abs(res.v - v_star).max()
            assert err <= res.error_bound + roundoff(v_star)
            assert err <= 1e-4 * (1 + np.abs(v_star).max())
            assert res.method.startswith("linear_programming[cvxpy")
            v_pi = exact_policy_value(m, res.pi)
            assert np.max(v_star - v_pi) <= res.policy_error_bound + roundoff(v_star)


# ---------------------------------------------------------------------------- finite horizon
@pytest.mark.parametrize("gamma", [0.5, 0.9, 1.0])
def test_finite_horizon_one_state_geometric_sum(gamma):
    R = np.array([[0.25, 2.0]])
    m = mdp.TabularMDP(np.ones((1, 2, 1)), R, gamma)
    H = 7
    for mm in (m, m.to_sparse()):
        res = mdp.finite_horizon(mm, H)
        k = H - np.arange(H + 1)  # steps to go
        expect = 2.0 * (k if gamma == 1.0 else (1 - gamma**k) / (1 - gamma))
        np.testing.assert_allclose(res.v[:, 0], expect, rtol=1e-13)
        assert res.pi.shape == (H, 1) and np.all(res.pi == 1)
        assert res.q.shape == (H, 1, 2) and res.horizon == H


def test_finite_horizon_nonstationary_policy():
    """Undiscounted: in state 0 "grab" pays 1 and stays, "go" pays 0 and moves to state 1, where
    every step pays 3 forever. With k steps to go, grab is worth k and go 3 (k - 1), so the optimal
    policy goes when k >= 2 and grabs at the last step; v_0(0) = 3 (H - 1)."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1, 1] = 1.0
    P[1, :, 1] = 1.0
    R = np.array([[1.0, 0.0], [3.0, 3.0]])
    m = mdp.TabularMDP(P, R, 1.0)
    H = 6
    for mm in (m, m.to_sparse()):
        res = mdp.finite_horizon(mm, H)
        k = H - np.arange(H)
        np.testing.assert_array_equal(res.pi[:, 0], np.where(k >= 2, 1, 0))
        np.testing.assert_allclose(res.v[:H, 0], np.maximum(k, 3.0 * (k - 1)))
        np.testing.assert_allclose(res.v[:, 1], 3.0 * (H - np.arange(H + 1)))
        assert res.v[0, 0] == 3.0 * (H - 1)


def test_finite_horizon_forest_by_hand():
    """Forest (gamma = 0.96): v_{H-1} = max_a R = (0, 1, 4); one more step gives
    (0.96 * 0.9 * 1, 0.96 * 0.9 * 4, 4 + 0.96 * 0.9 * 4) = (0.864, 3.456, 7.456)."""
    m = mdp.generators.forest(gamma=0.96)
    res = mdp.finite_horizon(m, 2)
    np.testing.assert_allclose(res.v[1], [0.0, 1.0, 4.0], atol=1e-14)
    np.testing.assert_allclose(res.v[0], [0.864, 3.456, 7.456], atol=1e-13)
    np.testing.assert_allclose(res.v[2], 0.0)


def test_finite_horizon_converges_to_discounted_optimum():
    m = mdp.generators.forest(gamma=0.96)
    H = 1200  # 0.96^1200 * 82 / 0.04 ~ 1e-18
    res = mdp.finite_horizon(m, H)
    np.testing.assert_allclose(res.v[0], FOREST_V, atol=1e-9)


def test_finite_horizon_terminal_values():
    """Undiscounted deterministic chain of 4 states, H = 2, a terminal bonus of 100 in state 2:
    every state that can be in state 2 after two steps collects it; state 3 can only collect its
    reward 1 per step."""
    m = _deterministic_chain(4, 1.0)
    for mm in (m, m.to_sparse()):
        res = mdp.finite_horizon(mm, 2, terminal=[0.0, 0.0, 100.0, 0.0])
        np.testing.assert_allclose(res.v[2], [0.0, 0.0, 100.0, 0.0])
        np.testing.assert_allclose(res.v[1], [0.0, 100.0, 100.0, 1.0])
        np.testing.assert_allclose(res.v[0], [100.0, 100.0, 100.0, 2.0])
        assert res.pi[:, 2].tolist() == [1, 1]  # stay in state 2


# ---------------------------------------------------------------------------- policy evaluation
def test_policy_evaluation_known_policies():
    m = mdp.generators.forest(gamma=0.96)
    for mm in (m, m.to_sparse()):
        # cutting every year: v = (0, 1, 2) exactly (cut pays R, then the forest restarts at age 0,
        # where cutting pays 0 forever)
        for method in ("exact", "iterative"):
            res = mdp.policy_evaluation(mm, [1, 1, 1], method=method, tol=1e-11)
            np.testing.assert_allclose(res.v, [0.0, 1.0, 2.0], atol=1e-10)
            assert np.abs(res.v - [0.0, 1.0, 2.0]).max() <= res.error_bound + 1e-12
            res = mdp.policy_evaluation(mm, [0, 0, 0], method=method, tol=1e-11)
            assert np.abs(res.v - FOREST_V).max() <= res.error_bound + 1e-10
            assert np.abs(res.v - FOREST_V).max() <= 2e-10
            assert res.converged
    # a stochastic policy on a 1-state MDP: v = sum_a pi(a) R(a) / (1 - gamma)
    m1 = mdp.TabularMDP(np.ones((1, 3, 1)), [[1.0, 2.0, 4.0]], 0.9)
    for method in ("exact", "iterative"):
        res = mdp.policy_evaluation(m1, [[0.5, 0.25, 0.25]], method=method)
        assert abs(res.v[0] - 2.0 / 0.1) <= max(res.error_bound, 1e-12) + 1e-12
        np.testing.assert_allclose(res.q[0], [1.0 + 0.9 * 20, 2.0 + 0.9 * 20, 4.0 + 0.9 * 20], rtol=1e-9)


@given(m=mdps(max_states=6), data=st.data())
def test_policy_evaluation_exact_vs_iterative(m, data):
    stochastic = data.draw(st.booleans())
    pi = data.draw(policies(m, stochastic=stochastic))
    v_ref = exact_policy_value(m, pi)
    ex = mdp.policy_evaluation(m, pi)
    it = mdp.policy_evaluation(m, pi, method="iterative", tol=1e-9)
    tol = roundoff(v_ref)
    assert np.abs(ex.v - v_ref).max() <= ex.error_bound + tol
    assert np.abs(ex.v - v_ref).max() <= tol
    assert it.converged and it.error_bound <= 1e-9
    assert np.abs(it.v - v_ref).max() <= it.error_bound + tol
    P = np.asarray(m.dense_P(), dtype=np.float64)
    pi_rows = np.eye(m.n_actions)[pi] if pi.ndim == 1 else pi
    np.testing.assert_allclose(ex.v, reference_policy_evaluation(P, m.R, m.gamma, pi_rows), atol=tol, rtol=0)
    np.testing.assert_allclose(ex.q, K.reference_q(P, m.R, m.gamma, ex.v), atol=tol, rtol=0)


# =========================================================================== properties
def _check_result(m, res, v_star, tol, name):
    slack = roundoff(v_star)
    err = np.abs(res.v - v_star).max()
    assert err <= res.error_bound + slack, f"{name}: |v - v*| = {err:.3g} > error_bound {res.error_bound:.3g}"
    if res.converged and name in ITERATIVE:
        assert res.error_bound <= tol, f"{name}: converged but error_bound {res.error_bound:.3g} > tol {tol}"
    v_pi = exact_policy_value(m, res.pi)
    loss = np.max(v_star - v_pi)
    assert loss <= res.policy_error_bound + slack, (
        f"{name}: v* - v^pi = {loss:.3g} > policy_error_bound {res.policy_error_bound:.3g}"
    )
    assert res.pi.dtype == np.int64 and res.pi.shape == (m.n_states,)
    assert np.all((res.pi >= 0) & (res.pi < m.n_actions))
    np.testing.assert_allclose(res.q, K.reference_q(m.dense_P(), m.R, m.gamma, res.v), atol=slack, rtol=0)


@pytest.mark.parametrize("name", sorted(SOLVERS))
@given(m=mdps())
def test_solver_agrees_with_exact_pi_within_certified_bound(name, m):
    v_star, _ = exact_optimum(m)
    tol = 1e-8
    res = SOLVERS[name](m, tol)
    assert res.converged
    _check_result(m, res, v_star, tol, name)


@pytest.mark.parametrize("name", ["vi-jacobi", "vi-gauss-seidel", "pi", "mpi-k5", "solve"])
@given(m=sparse_mdps())
def test_solver_on_structured_sparse_models(name, m):
    v_star, _ = exact_optimum(m)
    res = SOLVERS[name](m, 1e-8)
    _check_result(m, res, v_star, 1e-8, name)


@pytest.mark.parametrize("name", sorted(SOLVERS))
@given(m=mdps(max_states=6))
def test_dense_and_sparse_forms_agree(name, m):
    d, s = m.to_dense(), m.to_sparse()
    rd, rs = SOLVERS[name](d, 1e-9), SOLVERS[name](s, 1e-9)
    scale = roundoff(rd.v)
    # HiGHS may take another path on the permuted sparse input; mdp.solve evaluates dense models by
    # Jacobi sweeps over the gathered P_pi and sparse ones by Gauss-Seidel: equal n_iter, other v
    if name.startswith("lp") or name == "solve":
        assert np.abs(rd.v - rs.v).max() <= rd.error_bound + rs.error_bound + scale
    elif rd.n_iter == rs.n_iter:
        np.testing.assert_allclose(rd.v, rs.v, atol=scale, rtol=0)
    else:  # a stopping decision flipped by round-off: both are still certified
        assert np.abs(rd.v - rs.v).max() <= rd.error_bound + rs.error_bound + scale
    assert_greedy_ties(rd.q, rd.pi, rs.pi, atol=1e-8 * (1 + np.abs(rd.q).max()))


@pytest.mark.parametrize("name", ["vi-jacobi", "pi", "solve", "lp-highs"])
@given(m=mdps(max_states=6))
def test_float32_models_agree_with_float64(name, m):
    m32 = m.astype(np.float32)
    assert m32.dtype == np.float32
    r64, r32 = SOLVERS[name](m, 1e-9), SOLVERS[name](m32, 1e-9)
    scale = 1.0 + np.abs(r64.v).max()
    assert np.abs(r32.v - r64.v).max() <= 1e-4 * scale
    # and the float32 model's own certificate is honest about the float32 model, up to the
    # row-sum defect eps = max |sum_s' P32[s, a, s'] - 1| (~1e-8): span (MacQueen) bounds assume
    # exactly stochastic rows and are off by up to ~ eps * gamma / (1 - gamma) * |v - v*| (reported).
    v32_star, _ = exact_optimum(m32)
    eps = np.abs(m32.dense_P().astype(np.float64).sum(axis=2) - 1).max()
    defect = eps * (1 + np.abs(v32_star).max()) / (1 - m.gamma) ** 2
    assert np.abs(r32.v - v32_star).max() <= r32.error_bound + roundoff(v32_star) + defect


@given(m=mdps(), data=st.data())
def test_certify_brackets_v_star(m, data):
    v_star, pi_star = exact_optimum(m)
    v = data.draw(value_vectors(m.n_states, min_value=-50, max_value=150))
    c = mdp.certify(m, v)
    slack = roundoff(v_star) + 1e-12 * (1 + np.abs(v).max()) / (1 - m.gamma)
    assert np.all(c.lower <= v_star + slack) and np.all(v_star <= c.upper + slack)
    assert np.abs(c.v - v_star).max() <= c.error_bound + slack
    assert np.abs(v - v_star).max() <= c.input_error_bound + slack
    v_pi = exact_policy_value(m, c.pi)
    assert np.max(v_star - v_pi) <= c.policy_error_bound + slack
    # a given (not greedy) policy: its loss is bounded too
    pi = data.draw(policies(m))
    c2 = mdp.certify(m, v, pi)
    assert np.array_equal(c2.pi, pi)
    assert np.max(v_star - exact_policy_value(m, pi)) <= c2.policy_error_bound + slack
    # the optimal policy at v* is certified with (near) zero loss
    c3 = mdp.certify(m, v_star, pi_star)
    assert c3.policy_error_bound <= 1e-8 * (1 + np.abs(v_star).max())


@given(m=mdps(max_states=6), data=st.data())
def test_solvers_accept_v0_and_pi0(m, data):
    v_star, _ = exact_optimum(m)
    v0 = data.draw(value_vectors(m.n_states, min_value=-100, max_value=100))
    pi0 = data.draw(policies(m))
    for res in (
        mdp.value_iteration(m, v0=v0),
        mdp.value_iteration(m, v0=v0, method="gauss-seidel"),
        mdp.modified_policy_iteration(m, v0=v0),
        mdp.policy_iteration(m, pi0=pi0),
    ):
        assert res.converged
        assert np.abs(res.v - v_star).max() <= res.error_bound + roundoff(v_star)


@given(m=mdps(max_states=6))
def test_policy_iteration_monotone_and_bounded(m):
    """F5 (monotone improvement), one Howard step at a time, and the F7 iteration-count guard."""
    res = mdp.policy_iteration(m)
    g = m.gamma
    assert res.n_iter <= m.n_states * m.n_actions * np.ceil(np.log(1 / (1 - g)) / (1 - g)) + 1
    pi = np.zeros(m.n_states, dtype=np.int64)
    v_prev = exact_policy_value(m, pi)
    for _ in range(res.n_iter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", mdp.ConvergenceWarning)
            pi = np.asarray(mdp.policy_iteration(m, pi0=pi, max_iter=1).pi)
        v = exact_policy_value(m, pi)
        assert np.all(v >= v_prev - roundoff(v))
        v_prev = v
    v_star, _ = exact_optimum(m)
    np.testing.assert_allclose(v_prev, v_star, atol=roundoff(v_star) * 100, rtol=0)


def test_result_arrays_are_read_only():
    res = mdp.value_iteration(mdp.generators.forest())
    for name in ("v", "pi", "q", "residuals"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(res, name)[0] = 1
    fh = mdp.finite_horizon(mdp.generators.forest(), 2)
    with pytest.raises(ValueError, match="read-only"):
        fh.v[0, 0] = 1


# =========================================================================== budget exhausted
def _hard_mdp():
    return mdp.generators.random_mdp(6, 3, rng=np.random.default_rng(3), alpha=0.1, gamma=0.99)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: mdp.value_iteration(m, max_iter=3),
        lambda m: mdp.value_iteration(m, max_iter=3, method="gauss-seidel"),
        lambda m: mdp.modified_policy_iteration(m, max_iter=2, k=1),
        lambda m: mdp.solve(m, max_iter=1),
    ],
    ids=["vi-jacobi", "vi-gauss-seidel", "mpi", "solve"],
)
def test_convergence_warning_and_bound_still_valid(call):
    m = _hard_mdp()
    v_star, _ = exact_optimum(m)
    with pytest.warns(mdp.ConvergenceWarning, match="max_iter"):
        res = call(m)
    assert not res.converged
    assert res.error_bound > 1e-8
    assert np.abs(res.v - v_star).max() <= res.error_bound + roundoff(v_star)
    assert np.max(v_star - exact_policy_value(m, res.pi)) <= res.policy_error_bound + roundoff(v_star)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_solve_keeps_to_its_sweep_budget(sparse):
    # max_iter counts Bellman sweeps (checks and Gauss-Seidel improvement sweeps); the sparse path
    # used to spend its whole budget on improvement and then check once more (max_iter + 1)
    m = mdp.generators.gridworld(12, 12, slip=0.1, gamma=0.99)
    m = m.to_sparse() if sparse else m.to_dense()
    v_star, _ = long_double_optimum(m)
    for budget in (1, 2, 3, 5):
        with pytest.warns(mdp.ConvergenceWarning, match=f"max_iter={budget} "):
            res = mdp.solve(m, tol=1e-10, max_iter=budget)
        assert res.n_iter <= budget and not res.converged
        assert np.abs(res.v - v_star).max() <= res.error_bound
        assert (v_star - long_double_policy_value(m, res.pi)).max() <= res.policy_error_bound


def test_policy_iteration_warning_when_budget_too_small():
    m = _deterministic_chain(12, 0.9)  # from "move right" = pi0 = 0 ... start from "stay" instead
    v_star = 0.9 ** (11 - np.arange(12)) / 0.1
    with pytest.warns(mdp.ConvergenceWarning, match="policy_iteration stopped at max_iter=1"):
        res = mdp.policy_iteration(m, max_iter=1, pi0=np.ones(12, dtype=np.int64))
    assert not res.converged and res.n_iter == 1
    assert np.abs(res.v - v_star).max() <= res.error_bound + roundoff(v_star)
    assert np.max(v_star - exact_policy_value(m, res.pi)) <= res.policy_error_bound + roundoff(v_star)


def test_policy_evaluation_warning_when_budget_too_small():
    m = _hard_mdp()
    pi = np.zeros(6, dtype=np.int64)
    v_pi = exact_policy_value(m, pi)
    with pytest.warns(mdp.ConvergenceWarning, match="policy_evaluation stopped at max_iter=4"):
        res = mdp.policy_evaluation(m, pi, method="iterative", max_iter=4)
    assert not res.converged and res.n_iter == 4
    assert np.abs(res.v - v_pi).max() <= res.error_bound + roundoff(v_pi)


def test_large_max_iter_budget_does_not_preallocate():
    """Regression: value_iteration used to allocate ``max_iter`` residuals up front."""
    res = mdp.value_iteration(mdp.generators.forest(gamma=0.96), max_iter=10**13)
    assert res.converged and res.residuals.size == res.n_iter
    m = mdp.generators.random_mdp(3, 2, rng=np.random.default_rng(0), gamma=0.9998)
    res = mdp.value_iteration(m, tol=1e-4, max_iter=10**6)  # needs more sweeps than one compiled chunk
    assert res.converged and res.n_iter > 1 << 16 and res.residuals.size == res.n_iter


def test_gamma_zero_is_one_sweep():
    m = mdp.generators.random_mdp(5, 3, rng=np.random.default_rng(1), gamma=0.0)
    for name, res in _all_solvers_on(m).items():
        np.testing.assert_allclose(res.v, m.R.max(axis=1), atol=1e-12, err_msg=name)
    assert mdp.value_iteration(m).n_iter == 1


# =========================================================================== differentials vs numpy twins
@given(m=mdps(max_states=7), data=st.data())
def test_kernels_match_numpy_twins(m, data):
    if data.draw(st.booleans(), label="float32"):
        m = m.astype(np.float32)
    v = data.draw(value_vectors(m.n_states, min_value=-100, max_value=100))
    pi = data.draw(policies(m))
    P = np.asarray(m.dense_P(), dtype=np.float64)
    g = m.gamma
    q_ref = K.reference_q(P, m.R, g, v)
    tv_ref, _ = K.reference_bellman(P, m.R, g, v)
    tpi_ref = q_ref[np.arange(m.n_states), pi]
    atol = 1e-10 * (1 + np.abs(q_ref).max())
    S, A = m.n_states, m.n_actions
    d, s = m.to_dense(), m.to_sparse()
    ip, ix, dat = s.csr_arrays()
    for q_fn, args in ((K.q_dense, (d.P,)), (K.q_sparse, (ip, ix, dat))):
        q = np.empty((S, A))
        q_fn(*args, m.R, g, v, q)
        np.testing.assert_allclose(q, q_ref, atol=atol, rtol=0)
    for b_fn, args in ((K.bellman_dense, (d.P,)), (K.bellman_sparse, (ip, ix, dat))):
        out, arg = np.empty(S), np.empty(S, dtype=np.int64)
        b_fn(*args, m.R, g, v, out, arg)
        np.testing.assert_allclose(out, tv_ref, atol=atol, rtol=0)
        np.testing.assert_allclose(q_ref[np.arange(S), arg], tv_ref, atol=atol, rtol=0)  # arg is a maximiser
    for p_fn, args in ((K.policy_backup_dense, (d.P,)), (K.policy_backup_sparse, (ip, ix, dat))):
        out = np.empty(S)
        p_fn(*args, m.R, g, pi, v, out)
        np.testing.assert_allclose(out, tpi_ref, atol=atol, rtol=0)
    # Gauss-Seidel: in-place sweep in state order
    v_gs = v.copy()
    for s_ in range(S):
        v_gs[s_] = (m.R[s_] + g * P[s_] @ v_gs).max()
    for gs_fn, args in ((K.gauss_seidel_dense, (d.P,)), (K.gauss_seidel_sparse, (ip, ix, dat))):
        w, arg = v.copy(), np.empty(S, dtype=np.int64)
        diff = gs_fn(*args, m.R, g, w, arg)
        np.testing.assert_allclose(w, v_gs, atol=atol, rtol=0)
        assert abs(diff - np.abs(v_gs - v).max()) <= atol
    # public operators and certify
    np.testing.assert_allclose(mdp.q_values(m, v), q_ref, atol=atol, rtol=0)
    tv, _ = mdp.bellman_operator(m, v)
    np.testing.assert_allclose(tv, tv_ref, atol=atol, rtol=0)
    lo_ref, hi_ref = reference_certify(P, m.R, g, v)
    c = mdp.certify(m, v)
    np.testing.assert_allclose(c.lower, lo_ref, atol=atol / (1 - g), rtol=0)
    np.testing.assert_allclose(c.upper, hi_ref, atol=atol / (1 - g), rtol=0)


@given(m=mdps(max_states=7), n=st.integers(1, 40), gs=st.booleans())
def test_value_iteration_loops_match_numpy(m, n, gs):
    P = np.asarray(m.dense_P(), dtype=np.float64)
    S, g = m.n_states, m.gamma
    # n forced sweeps (threshold -1 never stops)
    v_ref = np.zeros(S)
    res_ref = []
    for _ in range(n):
        if gs:
            old = v_ref.copy()
            for s in range(S):
                v_ref[s] = (m.R[s] + g * P[s] @ v_ref).max()
            res_ref.append(np.abs(v_ref - old).max())
        else:
            new = (m.R + g * P @ v_ref).max(axis=1)
            res_ref.append(np.abs(new - v_ref).max())
            v_ref = new
    if not gs:
        v_twin, n_twin = reference_value_iteration(P, m.R, g, tol=-1.0, max_iter=n)
        assert n_twin == n
        np.testing.assert_allclose(v_twin, v_ref, atol=1e-12 * (1 + np.abs(v_ref).max()), rtol=0)
    atol = 1e-10 * (1 + np.abs(v_ref).max())
    d, sp_ = m.to_dense(), m.to_sparse()
    for run in (
        lambda v, r: _vi_dense(d.P, m.R, g, v, -1.0, n, r, gs),
        lambda v, r: _vi_sparse(*sp_.csr_arrays(), m.R, g, v, -1.0, n, r, gs),
    ):
        v, r = np.zeros(S), np.zeros(n)
        assert run(v, r) == n
        np.testing.assert_allclose(v, v_ref, atol=atol, rtol=0)
        np.testing.assert_allclose(r, res_ref, atol=atol, rtol=0)


@given(m=mdps(max_states=7))
def test_value_iteration_matches_reference_twin(m):
    P = np.asarray(m.dense_P(), dtype=np.float64)
    v_ref, n_ref = reference_value_iteration(P, m.R, m.gamma, 1e-9, 100_000)
    res = mdp.value_iteration(m, tol=1e-9)
    if res.n_iter == n_ref:
        np.testing.assert_allclose(res.v, v_ref, atol=1e-10 * (1 + np.abs(v_ref).max()), rtol=0)
    else:  # the stopping test flipped by round-off
        assert abs(res.n_iter - n_ref) <= 1
        assert np.abs(res.v - v_ref).max() <= 3e-9


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("gamma", [0.999, 1.0])
def test_finite_horizon_bounds_hold_against_long_double(sparse, gamma):
    # rewards x1000, values up to ~3e5: per-stage round-off of ~1e-10 that accumulates over 300 stages
    m = _scaled_repro(sparse).with_gamma(gamma)
    H = 300
    terminal = np.linspace(-5e4, 5e4, m.n_states)
    res = mdp.finite_horizon(m, H, terminal=terminal)
    v_ld = long_double_finite_horizon(m, H, terminal)
    err = np.abs(res.v - v_ld).max(axis=1)
    assert np.all(err <= res.error_bounds) and err[H] == 0.0 and res.error_bounds[H] == 0.0
    assert err.max() > 0.0  # the check is not vacuous: float64 did lose bits here
    P_ld = np.asarray(m.dense_P(), dtype=np.longdouble)
    for t in (0, H // 2, H - 1):
        q_ld = np.asarray(m.R, dtype=np.longdouble) + np.longdouble(gamma) * np.einsum("sat,t->sa", P_ld, v_ld[t + 1])
        assert np.abs(res.q[t] - q_ld).max() <= res.error_bounds[t]
    loss = (v_ld - long_double_finite_horizon(m, H, terminal, pi=res.pi)).max(axis=1)
    assert np.all(loss <= res.policy_error_bounds)
    assert res.error_bound == res.error_bounds.max() and res.policy_error_bound == res.policy_error_bounds.max()
    assert res.n_iter == H and res.error_bound < 1e-5  # ~1e-6 relative to ||v|| would be vacuous


def test_finite_horizon_bound_accumulates_over_stages():
    # one state, r = 3.3, gamma = 0.999, 3000 stages: each stage's round-off is ~1e-12 but v[0] is off
    # by 2.1e-12, so a per-stage bound without the carried c e_{t+1} term fails
    from fractions import Fraction

    m = _one_state()
    H = 3000
    res = mdp.finite_horizon(m, H)
    g, r = Fraction(0.999), Fraction(3.3)
    exact = r * (1 - g**H) / (1 - g)
    err = abs(Fraction(float(res.v[0, 0])) - exact)
    assert err <= Fraction(res.error_bounds[0])
    assert err > Fraction(res.error_bounds[0] - 0.999 * res.error_bounds[1])  # the carried part is needed
    assert res.error_bounds[0] < 2e-9  # and the bound stays useful: ~1e-12 relative to v


@given(m=mdps(max_states=7), H=st.integers(1, 30), data=st.data())
def test_finite_horizon_matches_numpy(m, H, data):
    gamma = data.draw(st.sampled_from([m.gamma, 1.0]))
    mm = m.with_gamma(gamma)
    terminal = data.draw(st.none() | value_vectors(m.n_states))
    P = np.asarray(m.dense_P(), dtype=np.float64)
    v_ref, _ = reference_finite_horizon(P, m.R, gamma, H, terminal)
    atol = 1e-10 * (1 + np.abs(v_ref).max())
    v_ld = long_double_finite_horizon(mm, H, terminal)
    for form in (mm.to_dense(), mm.to_sparse()):
        res = mdp.finite_horizon(form, H, terminal=terminal)
        np.testing.assert_allclose(res.v, v_ref, atol=atol, rtol=0)
        assert np.all(np.abs(res.v - v_ld).max(axis=1) <= res.error_bounds)  # certified, no slack
        for t in range(H):
            q_ref = m.R + gamma * P @ v_ref[t + 1]
            np.testing.assert_allclose(res.q[t], q_ref, atol=atol, rtol=0)
            np.testing.assert_allclose(q_ref[np.arange(m.n_states), res.pi[t]], v_ref[t], atol=atol, rtol=0)


@given(m=mdps(max_states=7))
def test_policy_iteration_matches_reference_twin(m):
    P = np.asarray(m.dense_P(), dtype=np.float64)
    v_ref, pi_ref, n_ref = reference_policy_iteration(P, m.R, m.gamma)
    for form in (m.to_dense(), m.to_sparse()):
        res = mdp.policy_iteration(form)
        np.testing.assert_allclose(res.v, v_ref, atol=roundoff(v_ref), rtol=0)
        assert_greedy_ties(res.q, res.pi, pi_ref, atol=1e-9 * (1 + np.abs(v_ref).max()))
        if np.array_equal(res.pi, pi_ref):
            assert res.n_iter == n_ref


@given(m=mdps(max_states=7), data=st.data())
def test_policy_improvement_matches_numpy(m, data):
    q = data.draw(value_vectors(m.n_states * m.n_actions, min_value=-3, max_value=3)).reshape(m.n_states, m.n_actions)
    q = np.round(q, 1)  # create exact ties
    pi = data.draw(policies(m))
    margin = np.full(m.n_states, data.draw(st.sampled_from([0.0, 1e-12, 0.05])))
    S = m.n_states
    cur = q[np.arange(S), pi]
    better = q.max(axis=1) > cur + margin
    expect = np.where(better, q.argmax(axis=1), pi)  # argmax = first maximiser
    got = pi.copy()
    n = _improve(q, got, margin)
    np.testing.assert_array_equal(got, expect)
    assert n == int(np.count_nonzero(expect != pi))


@given(m=mdps(max_states=7), k=st.sampled_from([0, 1, 5, 20]))
def test_modified_policy_iteration_matches_reference_twin(m, k):
    P = np.asarray(m.dense_P(), dtype=np.float64)
    v_ref, pi_ref, n_ref = reference_modified_policy_iteration(P, m.R, m.gamma, k=k, tol=1e-9)
    res = mdp.modified_policy_iteration(m, k=k, tol=1e-9)
    if res.n_iter == n_ref:
        np.testing.assert_allclose(res.v, v_ref, atol=1e-10 * (1 + np.abs(v_ref).max()), rtol=0)
    else:
        assert np.abs(res.v - v_ref).max() <= 2e-9 + roundoff(v_ref)


def test_solve_defers_q_on_dense_models_and_keeps_it():
    """Dense ``mdp.solve`` reads only the rows that can win, so ``q`` is one sweep done on first access."""
    import copy
    import pickle

    from mdp.solvers._core import Deferred, SolverResult

    m = mdp.generators.random_mdp(40, 5, rng=np.random.default_rng(11), gamma=0.95)
    res = mdp.solve(m, tol=1e-10)
    assert isinstance(res.__dict__["_q_value"], Deferred)
    q = res.q
    assert res.q is q and not q.flags.writeable
    np.testing.assert_allclose(q, K.reference_q(m.P, m.R, m.gamma, res.v), atol=1e-12, rtol=0)
    np.testing.assert_array_equal(np.argmax(q, axis=1), res.pi)
    fresh = mdp.solve(m, tol=1e-10)  # pickling and copying compute the deferred q first
    for clone in (pickle.loads(pickle.dumps(fresh)), copy.deepcopy(mdp.solve(m, tol=1e-10))):
        np.testing.assert_array_equal(clone.q, q)
        np.testing.assert_array_equal(clone.v, res.v)
    with pytest.raises(AttributeError, match="cannot assign to field 'q'"):
        res.q = q
    with pytest.raises(AttributeError, match="cannot assign to field 'q'"):
        object.__setattr__(res, "q", q)  # past the dataclass guard: the field's own
    clone = pickle.loads(pickle.dumps(res))
    assert not (clone.v.flags.writeable or clone.q.flags.writeable or clone.pi.flags.writeable)
    late = mdp.solve(m, tol=1e-10)
    assert "q=<computed on first access>" in repr(late)  # repr does not pay the sweep
    assert isinstance(late.__dict__["_q_value"], Deferred)
    # a result pickled before q was deferrable stored it under "q"
    old = SolverResult.__new__(SolverResult)
    old.__setstate__({k: v for k, v in clone.__dict__.items() if k != "_q_value"} | {"q": np.array(q)})
    np.testing.assert_array_equal(old.q, q)
    assert not old.q.flags.writeable
    sparse = mdp.solve(m.to_sparse(), tol=1e-10)
    assert isinstance(sparse.__dict__["_q_value"], np.ndarray)


# =========================================================================== round-off in the certificates
def _one_state(r=3.3, gamma=0.999):
    return mdp.TabularMDP(np.ones((1, 1, 1)), np.array([[r]]), gamma)


def test_certified_bound_covers_round_off_on_a_one_state_model():
    # v* = r / (1 - gamma) exactly (Fractions of the stored floats). At r = 3.3, gamma = 0.999 a plain
    # float64 sweep at v ~ 3300 errs by up to 3 u (3.3 + 3297) ~ 1.1e-12, i.e. 1.1e-9 on v*; the
    # re-centred checks (span(v) = 0 here) leave a few ulps of v, ~2e-12 certified, still above 1e-12.
    # Before the bounds carried the round-off, solve(tol=1e-12) reported converged with error_bound
    # 1e-12 while it was off by 1.1e-10.
    from fractions import Fraction

    m = _one_state()
    v_star = Fraction(3.3) / (1 - Fraction(0.999))
    with pytest.warns(mdp.ConvergenceWarning, match="below the float64 round-off floor"):
        res = mdp.solve(m, tol=1e-12)
    assert not res.converged
    assert abs(Fraction(float(res.v[0])) - v_star) <= Fraction(res.error_bound)
    assert res.error_bound <= 1.25 * mdp.certify(m, res.v).error_bound < 1e-11
    # a reachable tol is certified as before
    with warnings.catch_warnings():
        warnings.simplefilter("error", mdp.ConvergenceWarning)
        res8 = mdp.solve(m, tol=1e-8)
    assert res8.converged and abs(Fraction(float(res8.v[0])) - v_star) <= Fraction(res8.error_bound) <= 1e-8
    # certify at the float64 nearest v*: the bracket holds the exact v* (no slack anywhere)
    c = mdp.certify(m, np.array([float(v_star)]))
    assert Fraction(float(c.lower[0])) <= v_star <= Fraction(float(c.upper[0]))
    assert 0 < c.round_off < 2e-9 and c.error_bound >= c.round_off
    # attainable_tol: 4x the a-priori floor where tol lies below it, and solve certifies it silently
    tol = mdp.attainable_tol(m, 1e-12)
    assert tol == 4 * mdp.round_off_floor(m) and mdp.attainable_tol(m, 1e-6) == 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error", mdp.ConvergenceWarning)
        res_t = mdp.solve(m, tol=tol)
    assert res_t.converged and abs(Fraction(float(res_t.v[0])) - v_star) <= Fraction(res_t.error_bound) <= tol


@pytest.mark.parametrize(
    "call",
    [
        lambda m, tol: mdp.value_iteration(m, tol=tol),
        lambda m, tol: mdp.value_iteration(m, tol=tol, method="gauss-seidel"),
        lambda m, tol: mdp.modified_policy_iteration(m, tol=tol),
        lambda m, tol: mdp.policy_evaluation(m, [0], method="iterative", tol=tol),
    ],
    ids=["vi-jacobi", "vi-gauss-seidel", "mpi", "pe-iterative"],
)
def test_tol_below_the_round_off_floor_is_not_reported_converged(call):
    from fractions import Fraction

    m = _one_state()
    v_star = Fraction(3.3) / (1 - Fraction(0.999))
    with pytest.warns(mdp.ConvergenceWarning, match="round-off floor"):
        res = call(m, 1e-12)
    assert not res.converged
    assert abs(Fraction(float(res.v[0])) - v_star) <= Fraction(res.error_bound)


def _scaled_repro(sparse):
    # the audit's repro (session 5): rewards x1000 at gamma = 0.999, values ~ 8e5; PI's certificate
    # said 0 (T v - v rounded to zero) while v was 4e-9 off, solve's error was 3.8e-8 at bound < 1e-8
    m = mdp.generators.random_mdp(30, 3, rng=np.random.default_rng(0), gamma=0.999)
    m = mdp.TabularMDP(m.P, m.R * 1000.0, m.gamma)
    return m.to_sparse() if sparse else m


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_certified_bounds_hold_against_a_long_double_optimum(name, sparse):
    m = _scaled_repro(sparse)
    v_star, _ = long_double_optimum(m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", mdp.ConvergenceWarning)  # tol 1e-8 is below this model's floor
        res = SOLVERS[name](m, 1e-8)
    assert np.abs(res.v - v_star).max() <= res.error_bound
    loss = (v_star - long_double_policy_value(m, res.pi)).max()
    assert loss <= res.policy_error_bound
    if res.converged and name in ITERATIVE:
        assert res.error_bound <= 1e-8


@settings(max_examples=40)
@given(m=mdps(max_states=8, gammas=(0.9, 0.99, 0.999)), scale=st.sampled_from([1.0, 1e3, 1e6]), data=st.data())
def test_certify_brackets_the_exact_optimum_without_slack(m, scale, data):
    # at v ~ v* the sweep's D is pure round-off: the old bounds collapsed onto T v and missed v*
    m = mdp.TabularMDP(m.P, m.R * scale, m.gamma)
    v_star, pi_star = long_double_optimum(m)
    jitter = data.draw(st.sampled_from([0.0, 1e-15, 1e-12]))
    v = v_star.astype(np.float64) * (1.0 + jitter)
    c = mdp.certify(m, v)
    assert np.all(c.lower <= v_star) and np.all(v_star <= c.upper)
    assert np.abs(c.v - v_star).max() <= c.error_bound
    assert np.abs(v - v_star).max() <= c.input_error_bound
    assert (v_star - long_double_policy_value(m, c.pi)).max() <= c.policy_error_bound
    c2 = mdp.certify(m, v, pi_star)
    assert (v_star - long_double_policy_value(m, pi_star)).max() <= c2.policy_error_bound


@given(m=mdps(max_states=8), data=st.data())
def test_backup_round_off_is_within_its_bound(m, data):
    # Higham (2002), Eq. 3.5, checked on the kernels themselves, with values that cancel
    from mdp.solvers._core import backup_rounding

    mag = data.draw(st.sampled_from([1.0, 1e6, 1e12]))
    v = data.draw(value_vectors(m.n_states, min_value=-1, max_value=1)) * mag
    q = mdp.q_values(m, v)
    q_ld = np.asarray(m.R, dtype=np.longdouble) + np.longdouble(m.gamma) * np.einsum(
        "sat,t->sa", np.asarray(m.dense_P(), dtype=np.longdouble), v.astype(np.longdouble)
    )
    assert np.abs(q - q_ld).max() <= backup_rounding(m, float(np.abs(v).max()))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_values_beyond_float64_range_are_rejected_naming_r(sparse):
    m = mdp.TabularMDP(np.ones((2, 1, 2)) / 2, np.array([[1e300], [0.0]]), 0.99)
    m = m.to_sparse() if sparse else m
    calls = [
        lambda: mdp.solve(m),
        lambda: mdp.value_iteration(m),
        lambda: mdp.policy_iteration(m),
        lambda: mdp.modified_policy_iteration(m),
        lambda: mdp.linear_programming(m),
        lambda: mdp.policy_evaluation(m, [0, 0]),
        lambda: mdp.certify(m, np.zeros(2)),
    ]
    for call in calls:
        with pytest.raises(ValueError, match=r"max\|R\| / \(1 - gamma\) = 1e\+300 / \(1 - 0.99\) = 1e\+302.*rescale R"):
            call()


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_finite_horizon_rejects_values_beyond_float64_range(sparse):
    # undiscounted, 1e299 per step: 5 steps stay below 1e300 and are answered, 20 would overflow
    # (before: inf in v and a NaN bound, silently); a horizon whose arrays could not even be allocated
    # gets the same ValueError, and so do rows summing above 1 raised to a huge power
    m = mdp.TabularMDP(np.ones((2, 1, 2)) / 2, np.array([[1e299], [0.0]]), 1.0)
    m = m.to_sparse() if sparse else m
    res = mdp.finite_horizon(m, 5)
    assert np.all(np.isfinite(res.v)) and np.isfinite(res.error_bound)
    with pytest.raises(
        ValueError,
        match=r"m, horizon, terminal: values-to-go can reach 2e\+300 \(max\|R\| = 1e\+299, "
        r"gamma \* max row sum = 1\.0.*horizon = 20.*rescale R and terminal or shorten",
    ):
        mdp.finite_horizon(m, 20)
    with pytest.raises(ValueError, match=r"max\|terminal\| = 1e\+301"):
        mdp.finite_horizon(m, 1, terminal=[1e301, 0.0])
    with pytest.raises(ValueError, match=r"horizon = 1000000000000"):
        mdp.finite_horizon(m, 10**12)
    loose = mdp.TabularMDP(np.full((2, 1, 2), 0.5005), np.array([[1.0], [0.0]]), 1.0, atol=1e-3)
    with pytest.raises(ValueError, match="values-to-go can reach inf"):
        mdp.finite_horizon(loose.to_sparse() if sparse else loose, 800_000)
    # a large horizon with rows that sum to 1 only up to round-off stays fine
    assert mdp.finite_horizon(mdp.generators.forest().with_gamma(1.0), 10_000).error_bound < 1e-6


def test_lp_rejects_rewards_highs_reads_as_infinite():
    # HiGHS treats |b| >= 1e20 as infinite and answered "Model error" (a RuntimeError) before
    m = mdp.TabularMDP(np.ones((2, 1, 2)) / 2, np.array([[1e20], [0.0]]), 0.9)
    with pytest.raises(ValueError, match=r"m\.R: max\|R\| = 1e\+20 reaches HiGHS's infinite bound.*use mdp\.solve"):
        mdp.linear_programming(m)
    with pytest.warns(mdp.ConvergenceWarning, match="round-off floor"):  # 1e-8 at |v| ~ 5e20: no
        res = mdp.solve(m)  # the other solvers handle the scale; their bound says how well
    assert np.abs(res.v - np.array([5.5e20, 4.5e20])).max() <= res.error_bound
