"""Bad input to every public entry point: a TypeError/ValueError whose message names the rule."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import mdp
from mdp import generators as G

P2 = np.full((2, 2, 2), 0.5)
R2 = np.zeros((2, 2))


@pytest.fixture(scope="module")
def m():
    return mdp.TabularMDP(P2, np.array([[1.0, 0.0], [0.0, 1.0]]), 0.9)


# --------------------------------------------------------------------------- TabularMDP
@pytest.mark.parametrize(
    "P,R,gamma,exc,match",
    [
        (
            np.full((2, 2, 3), 1 / 3),
            R2,
            0.9,
            ValueError,
            r"P must have shape \(S, A, S\) = \(2, 2, 2\).*got \(2, 2, 3\)",
        ),
        (np.full((2, 2), 0.5), R2, 0.9, ValueError, r"P must be 3-dimensional"),
        (P2, np.zeros(2), 0.9, ValueError, r"R must be 2-dimensional"),
        (P2, np.zeros((3, 2)), 0.9, ValueError, r"P must have shape .* to match R of shape \(3, 2\)"),
        (
            np.array([[[1.5, -0.5], [1, 0]], [[1, 0], [0, 1]]]),
            R2,
            0.9,
            ValueError,
            r"P must be non-negative; P\[0, 0, 1\] = -0.5",
        ),
        (np.where(P2 > 0, np.inf, 0), R2, 0.9, ValueError, r"P must be finite; P\[0, 0, 0\] = inf"),
        (P2 * np.nan, R2, 0.9, ValueError, r"P must be finite"),
        (P2, np.array([[0, np.nan], [0, 0]]), 0.9, ValueError, r"R must be finite; R\[0, 1\] = nan"),
        (
            np.array([[[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [0.7, 0.5]]]),
            R2,
            0.9,
            ValueError,
            r"P\[1, 1, :\] sums to 1\.2, off by \+0\.2 \(tolerance 1e-08\).*\(1 row out of tolerance\)",
        ),
        (P2 * 0.9, R2, 0.9, ValueError, r"P\[0, 0, :\] sums to 0\.9, off by -0\.1.*\(4 rows out of tolerance\)"),
        (P2, R2, 1.5, ValueError, r"gamma must lie in \[0, 1\], got 1\.5"),
        (P2, R2, -0.1, ValueError, r"gamma must lie in \[0, 1\], got -0\.1"),
        (P2, R2, float("nan"), ValueError, r"gamma must be finite"),
        (P2, R2, "0.9", TypeError, r"gamma must be a real number, got str"),
        (P2, R2, np.array(0.9), TypeError, r"gamma must be a real number, got ndarray"),
        (P2, R2, True, TypeError, r"gamma must be a real number, got bool"),
        (np.zeros((0, 0, 0)), np.zeros((0, 0)), 0.9, ValueError, r"empty model: R has shape \(0, 0\)"),
        (np.zeros((2, 0, 2)), np.zeros((2, 0)), 0.9, ValueError, r"empty model: R has shape \(2, 0\)"),
        ("abc", R2, 0.9, TypeError, r"P must be an array of numbers, got str"),
        (None, R2, 0.9, TypeError, r"P must be an array of numbers, got NoneType"),
        ([[["a", "b"]]], R2, 0.9, TypeError, r"P must be an array of real numbers, got dtype <U1"),
        (
            np.array([[[0.5, 0.5]]], dtype=object),
            np.zeros((1, 1)),
            0.9,
            TypeError,
            r"P must be an array of real numbers, got dtype object",
        ),
        (P2.astype(complex), R2, 0.9, TypeError, r"P must be real, got complex"),
        ([[[1, 0], [1]], [[1, 0], [0, 1]]], R2, 0.9, TypeError, r"P must be an array of numbers"),
        (P2, [["x", "y"], ["z", "w"]], 0.9, TypeError, r"R must be an array of real numbers"),
        (P2, None, 0.9, TypeError, r"R must be an array of numbers, got NoneType"),
    ],
)
def test_tabular_mdp_rejects(P, R, gamma, exc, match):
    with pytest.raises(exc, match=match):
        mdp.TabularMDP(P, R, gamma)


SA = np.array([[0.5, 0.5], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize(
    "P,match,exc",
    [
        (
            sp.csr_matrix(np.eye(2)),
            r"sparse P must have shape \(S \* A, S\) = \(4, 2\) to match R of shape \(2, 2\); got \(2, 2\)",
            ValueError,
        ),
        (
            sp.csr_matrix(np.array([[1.5, -0.5], [1, 0], [1, 0], [0, 1]])),
            r"P must be non-negative; P\[0, 0, 1\] = -0.5",
            ValueError,
        ),
        (
            sp.csr_matrix(np.array([[1, 0], [1, 0], [1, 0], [0, np.inf]])),
            r"P must be finite; P\[1, 1, 1\] = inf",
            ValueError,
        ),
        (
            sp.csr_matrix(np.array([[1, 0], [1, 0], [np.nan, 0], [0, 1]])),
            r"P must be finite; P\[1, 0, 0\] = nan",
            ValueError,
        ),
        (
            sp.csr_matrix(np.array([[1, 0], [0.25, 0], [1, 0], [0, 1]])),
            r"P\[0, 1, :\] sums to 0\.25, off by -0\.75",
            ValueError,
        ),
        (
            sp.csr_matrix(SA.astype(complex)),
            r"P must hold real numbers, got sparse matrix of dtype complex128",
            TypeError,
        ),
    ],
)
def test_tabular_mdp_rejects_sparse(P, match, exc):
    with pytest.raises(exc, match=match):
        mdp.TabularMDP(P, R2, 0.9)


def test_tabular_mdp_dtype_and_atol():
    with pytest.raises(TypeError, match="dtype must be float64 or float32, got int64"):
        mdp.TabularMDP(P2, R2, 0.9, dtype=np.int64)
    with pytest.raises(TypeError, match="dtype must be float64 or float32, got float16"):
        mdp.TabularMDP(P2, R2, 0.9, dtype=np.float16)
    with pytest.raises(TypeError, match="not understood"):
        mdp.TabularMDP(P2, R2, 0.9, dtype="no-such-type")
    with pytest.raises(TypeError, match="dtype must be float64 or float32"):
        mdp.TabularMDP(P2, R2, 0.9).astype(np.float16)
    with pytest.raises(ValueError, match=r"atol must be finite and >= 0, got -1\.0"):
        mdp.TabularMDP(P2, R2, 0.9, atol=-1)
    with pytest.raises(ValueError, match=r"atol must be finite and >= 0, got nan"):
        mdp.TabularMDP(P2 * 1.1, R2, 0.9, atol=float("nan"))  # used to accept any P
    with pytest.raises(TypeError, match="atol must be a real number, got str"):
        mdp.TabularMDP(P2, R2, 0.9, atol="1e-3")
    # float32 storage: the default tolerance is 1e-5
    mdp.TabularMDP(P2 * (1 + 5e-6), R2, 0.9, dtype=np.float32)
    with pytest.raises(ValueError, match=r"tolerance 1e-05"):
        mdp.TabularMDP(P2 * (1 + 5e-5), R2, 0.9, dtype=np.float32)


def test_model_methods_reject(m):
    with pytest.raises(ValueError, match=r"gamma must lie in \[0, 1\], got 2\.0"):
        m.with_gamma(2)
    with pytest.raises(ValueError, match=r"csr_arrays\(\) is only defined for sparse models"):
        m.csr_arrays()
    with pytest.raises(ValueError, match=r"mu must have shape \(2,\), got \(3,\)"):
        m.occupancy([0, 0], [0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match=r"mu must be a probability vector"):
        m.occupancy([0, 0], [0.5, 0.6])
    with pytest.raises(ValueError, match=r"mu must be a probability vector"):
        m.occupancy([0, 0], [1.5, -0.5])
    with pytest.raises(
        ValueError, match=r"gamma must lie in \[0, 1\) for a discounted problem, got 1\.0; use mdp\.finite_horizon"
    ):
        m.with_gamma(1.0).occupancy([0, 0], [0.5, 0.5])


# --------------------------------------------------------------------------- policies
@pytest.mark.parametrize(
    "pi,exc,match",
    [
        ([0, 2], ValueError, r"pi\[1\] = 2 is not an action in \[0, 2\)"),
        ([-1, 0], ValueError, r"pi\[0\] = -1 is not an action in \[0, 2\)"),
        ([0, 0, 0], ValueError, r"pi must have shape \(2,\) or \(2, 2\), got \(3,\)"),
        ([], ValueError, r"pi must have shape \(2,\) or \(2, 2\), got \(0,\)"),
        (np.zeros((2, 2, 2)), ValueError, r"pi must have shape \(2,\) or \(2, 2\), got \(2, 2, 2\)"),
        (np.zeros((2, 3)) + 1 / 3, ValueError, r"pi must have shape \(2,\) or \(2, 2\), got \(2, 3\)"),
        ([0, 0.5], TypeError, r"pi given as \(S,\) must hold integer actions, got dtype float64"),
        (np.array([True, False]), TypeError, r"must hold integer actions, got dtype bool"),
        ([[0.5, 0.6], [1, 0]], ValueError, r"pi rows must sum to 1; row 0 sums to 1\.1 \(off by 0\.1\)"),
        ([[1.5, -0.5], [1, 0]], ValueError, r"pi must be non-negative; pi\[0, 1\] = -0\.5"),
        ([[np.nan, 1], [1, 0]], ValueError, r"pi must be finite; pi\[0, 0\] = nan"),
        ("ab", TypeError, r"pi must be an array, got str"),
        (None, TypeError, r"pi must be an array, got NoneType"),
    ],
)
def test_policies_rejected_everywhere(m, pi, exc, match):
    for call in (
        m.policy_matrix,
        m.policy_reward,
        lambda p: mdp.policy_evaluation(m, p),
        lambda p: m.to_sparse().policy_matrix(p),
    ):
        with pytest.raises(exc, match=match):
            call(pi)


def test_integer_valued_float_policy_is_accepted(m):
    np.testing.assert_array_equal(m.policy_reward([1.0, 0.0]), [0.0, 0.0])


# --------------------------------------------------------------------------- generators
def _rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize(
    "call,exc,match",
    [
        (lambda: G.random_mdp(0, 2, rng=_rng()), ValueError, r"n_states must be >= 1, got 0"),
        (lambda: G.random_mdp(2, 0, rng=_rng()), ValueError, r"n_actions must be >= 1, got 0"),
        (lambda: G.random_mdp(2.0, 2, rng=_rng()), TypeError, r"n_states must be an integer, got float"),
        (lambda: G.random_mdp(True, 2, rng=_rng()), TypeError, r"n_states must be an integer, got bool"),
        (lambda: G.random_mdp(2, 2, rng=0), TypeError, r"rng must be a numpy\.random\.Generator .*got int"),
        (
            lambda: G.random_mdp(2, 2, rng=np.random.RandomState(0)),
            TypeError,
            r"rng must be a numpy\.random\.Generator.*got RandomState",
        ),
        (lambda: G.random_mdp(2, 2, rng=None), TypeError, r"rng must be a numpy\.random\.Generator.*got NoneType"),
        (lambda: G.random_mdp(2, 2, rng=_rng(), alpha=0), ValueError, r"alpha must be finite and > 0, got 0\.0"),
        (lambda: G.random_mdp(2, 2, rng=_rng(), alpha=-1), ValueError, r"alpha must be finite and > 0"),
        (lambda: G.random_mdp(2, 2, rng=_rng(), alpha=float("inf")), ValueError, r"alpha must be finite"),
        (
            lambda: G.random_mdp(2, 2, rng=_rng(), gamma=1.0),
            ValueError,
            r"gamma must lie in \[0, 1\) for a discounted problem",
        ),
        (lambda: G.random_mdp(2, 2, rng=_rng(), dtype=np.int32), TypeError, r"dtype must be float64 or float32"),
        (lambda: G.garnet(3, 2, 4, rng=_rng()), ValueError, r"branching must be <= n_states = 3, got 4"),
        (lambda: G.garnet(3, 2, 0, rng=_rng()), ValueError, r"branching must be >= 1, got 0"),
        (lambda: G.garnet(0, 2, 1, rng=_rng()), ValueError, r"n_states must be >= 1"),
        (lambda: G.garnet(3, 2, 1, rng=1), TypeError, r"rng must be a numpy\.random\.Generator"),
        (lambda: G.garnet(3, 2, 1, rng=_rng(), gamma=2), ValueError, r"gamma must lie in \[0, 1\)"),
        (lambda: G.gridworld(0, 3), ValueError, r"width must be >= 1, got 0"),
        (lambda: G.gridworld(3, -1), ValueError, r"height must be >= 1, got -1"),
        (
            lambda: G.gridworld(1, 1),
            ValueError,
            r"width \* height must be >= 2 \(a gridworld needs at least 2 cells\), got 1 x 1",
        ),
        (lambda: G.gridworld(2.5, 3), TypeError, r"width must be an integer, got float"),
        (lambda: G.gridworld(3, 3, slip=1.5), ValueError, r"slip must lie in \[0, 1\], got 1\.5"),
        (lambda: G.gridworld(3, 3, slip=-0.1), ValueError, r"slip must lie in \[0, 1\]"),
        (lambda: G.gridworld(3, 3, slip=float("nan")), ValueError, r"slip must be finite"),
        (
            lambda: G.gridworld(3, 3, goal=(3, 0)),
            ValueError,
            r"goal must be an \(x, y\) cell inside the 3 x 3 grid, got \(3, 0\)",
        ),
        (lambda: G.gridworld(3, 3, goal=(0, -1)), ValueError, r"goal must be an \(x, y\) cell inside"),
        (lambda: G.gridworld(3, 3, goal=1), ValueError, r"goal must be an \(x, y\) pair of integers, got 1"),
        (lambda: G.gridworld(3, 3, goal=(1.5, 1)), ValueError, r"goal must be an \(x, y\) pair of integers"),
        (lambda: G.gridworld(3, 3, goal=(1, 1, 1)), ValueError, r"goal must be an \(x, y\) pair of integers"),
        (lambda: G.gridworld(3, 3, walls=[(1, 1)], goal=(1, 1)), ValueError, r"goal \(1, 1\) is a wall cell"),
        (
            lambda: G.gridworld(3, 3, walls=np.zeros((2, 3), bool)),
            ValueError,
            r"walls as a boolean mask must have shape \(height, width\) = \(3, 3\), got \(2, 3\)",
        ),
        (lambda: G.gridworld(3, 3, walls=[(5, 0)]), ValueError, r"walls must be \(x, y\) cells inside the 3 x 3 grid"),
        (lambda: G.gridworld(3, 3, walls=[(0, -1)]), ValueError, r"walls must be \(x, y\) cells inside"),
        (
            lambda: G.gridworld(3, 3, walls=np.zeros((3, 3), dtype=int)),
            ValueError,
            r"walls must be a boolean mask .* or an iterable of integer \(x, y\) cells",
        ),
        (lambda: G.gridworld(3, 3, walls=[(0.5, 1)]), ValueError, r"walls must be a boolean mask"),
        (lambda: G.gridworld(3, 3, gamma=1), ValueError, r"gamma must lie in \[0, 1\)"),
        (lambda: G.gridworld(3, 3, dtype=np.float16), TypeError, r"dtype must be float64 or float32"),
        (lambda: G.chain(1), ValueError, r"n_states must be >= 2, got 1"),
        (lambda: G.chain(3, slip=2), ValueError, r"slip must lie in \[0, 1\]"),
        (lambda: G.chain(3, large_reward=float("nan")), ValueError, r"R must be finite"),
        (lambda: G.riverswim(1), ValueError, r"n_states must be >= 2, got 1"),
        (lambda: G.riverswim(4, gamma=-0.5), ValueError, r"gamma must lie in \[0, 1\)"),
        (lambda: G.forest(1), ValueError, r"n_states must be >= 2, got 1"),
        (lambda: G.forest(3, p=1.5), ValueError, r"p must lie in \[0, 1\], got 1\.5"),
        (lambda: G.forest(3, gamma=1.0), ValueError, r"gamma must lie in \[0, 1\)"),
    ],
)
def test_generators_reject(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# --------------------------------------------------------------------------- solvers
DISCOUNTED = {
    "value_iteration": mdp.value_iteration,
    "policy_iteration": mdp.policy_iteration,
    "modified_policy_iteration": mdp.modified_policy_iteration,
    "linear_programming": mdp.linear_programming,
    "solve": mdp.solve,
    "certify": lambda m, **kw: mdp.certify(m, np.zeros(m.n_states) if isinstance(m, mdp.TabularMDP) else [0.0], **kw),
    "policy_evaluation": lambda m, **kw: mdp.policy_evaluation(m, [0, 0], **kw),
}


@pytest.mark.parametrize("name", sorted(DISCOUNTED))
@pytest.mark.parametrize("bad", [P2, "m", None, 3])
def test_solvers_reject_non_mdp(name, bad):
    with pytest.raises(TypeError, match=r"m must be an mdp\.TabularMDP, got"):
        DISCOUNTED[name](bad)


@pytest.mark.parametrize("name", sorted(DISCOUNTED))
def test_discounted_solvers_reject_gamma_one(m, name):
    with pytest.raises(
        ValueError, match=r"m\.gamma must lie in \[0, 1\) for a discounted problem, got 1\.0; use mdp\.finite_horizon"
    ):
        DISCOUNTED[name](m.with_gamma(1.0))


def test_operators_and_finite_horizon_reject_non_mdp():
    for call in (
        lambda: mdp.q_values(P2, [0, 0]),
        lambda: mdp.bellman_operator(None, [0, 0]),
        lambda: mdp.finite_horizon("m", 2),
    ):
        with pytest.raises(TypeError, match=r"m must be an mdp\.TabularMDP"):
            call()


@pytest.mark.parametrize(
    "call",
    [
        lambda m, t: mdp.value_iteration(m, tol=t),
        lambda m, t: mdp.modified_policy_iteration(m, tol=t),
        lambda m, t: mdp.solve(m, tol=t),
        lambda m, t: mdp.policy_evaluation(m, [0, 0], method="iterative", tol=t),
        lambda m, t: mdp.policy_evaluation(m, [0, 0], tol=t),  # validated for the exact method too
    ],
)
@pytest.mark.parametrize(
    "tol,exc,match",
    [
        (0.0, ValueError, r"tol must be finite and > 0, got 0\.0"),
        (-1e-3, ValueError, r"tol must be finite and > 0, got -0\.001"),
        (float("nan"), ValueError, r"tol must be finite and > 0, got nan"),
        (float("inf"), ValueError, r"tol must be finite"),
        ("1e-8", TypeError, r"tol must be a real number, got str"),
    ],
)
def test_bad_tol(m, call, tol, exc, match):
    with pytest.raises(exc, match=match):
        call(m, tol)


@pytest.mark.parametrize(
    "call",
    [
        lambda m, n: mdp.value_iteration(m, max_iter=n),
        lambda m, n: mdp.policy_iteration(m, max_iter=n),
        lambda m, n: mdp.modified_policy_iteration(m, max_iter=n),
        lambda m, n: mdp.solve(m, max_iter=n),
        lambda m, n: mdp.policy_evaluation(m, [0, 0], method="iterative", max_iter=n),
        lambda m, n: mdp.finite_horizon(m, n),
    ],
)
def test_bad_iteration_counts(m, call):
    with pytest.raises(ValueError, match=r"must be >= 1, got 0"):
        call(m, 0)
    with pytest.raises(ValueError, match=r"must be >= 1, got -5"):
        call(m, -5)
    with pytest.raises(TypeError, match=r"must be an integer, got float"):
        call(m, 10.0)


def test_bad_method_and_backend_names(m):
    with pytest.raises(ValueError, match=r"method must be 'jacobi' or 'gauss-seidel', got 'gs'"):
        mdp.value_iteration(m, method="gs")
    with pytest.raises(ValueError, match=r"method must be 'exact' or 'iterative', got 'lu'"):
        mdp.policy_evaluation(m, [0, 0], method="lu")
    with pytest.raises(ValueError, match=r"method must be 'highs' or 'cvxpy', got 'glpk'"):
        mdp.linear_programming(m, method="glpk")
    with pytest.raises(TypeError, match=r"polish must be a bool, got str"):
        mdp.linear_programming(m, polish="no")
    with pytest.raises(ValueError, match=r"k must be >= 0, got -1"):
        mdp.modified_policy_iteration(m, k=-1)
    with pytest.raises(ValueError, match=r"rtol must be finite and >= 0, got -1\.0"):
        mdp.policy_iteration(m, rtol=-1)


@pytest.mark.parametrize(
    "call,name",
    [
        (lambda m, v: mdp.value_iteration(m, v0=v), "v0"),
        (lambda m, v: mdp.value_iteration(m, v0=v, method="gauss-seidel"), "v0"),
        (lambda m, v: mdp.modified_policy_iteration(m, v0=v), "v0"),
        (lambda m, v: mdp.policy_evaluation(m, [0, 0], method="iterative", v0=v), "v0"),
        (lambda m, v: mdp.certify(m, v), "v"),
        (lambda m, v: mdp.q_values(m, v), "v"),
        (lambda m, v: mdp.bellman_operator(m, v), "v"),
        (lambda m, v: mdp.finite_horizon(m, 3, terminal=v), "terminal"),
    ],
)
def test_bad_value_vectors(m, call, name):
    with pytest.raises(ValueError, match=rf"{name} must have shape \(2,\), got \(3,\)"):
        call(m, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match=rf"{name} must be 1-dimensional, got shape \(2, 1\)"):
        call(m, [[0.0], [1.0]])
    with pytest.raises(ValueError, match=rf"{name} must be finite; {name}\[1\] = nan"):
        call(m, [0.0, np.nan])
    with pytest.raises(TypeError, match=rf"{name} must be an array of real numbers"):
        call(m, ["a", "b"])


def test_bad_initial_policies(m):
    with pytest.raises(ValueError, match=r"pi0\[1\] = 5 is not an action in \[0, 2\)"):
        mdp.policy_iteration(m, pi0=[0, 5])
    with pytest.raises(ValueError, match=r"pi0 must have shape \(2,\) or \(2, 2\), got \(3,\)"):
        mdp.policy_iteration(m, pi0=[0, 0, 0])
    with pytest.raises(ValueError, match=r"pi0 must be a deterministic policy of shape \(S,\)"):
        mdp.policy_iteration(m, pi0=[[0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"pi must be a deterministic policy of shape \(S,\) to be certified"):
        mdp.certify(m, [0.0, 0.0], pi=[[0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(ValueError, match=r"pi\[0\] = 7 is not an action"):
        mdp.certify(m, [0.0, 0.0], pi=[7, 0])
