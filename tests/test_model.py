"""TabularMDP: storage forms, conversions, policy-induced quantities; the hypothesis strategies."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from _helpers import exact_policy_value
from hypothesis import given
from hypothesis import strategies as st

import mdp
from theory_checks.strategies import mdps, policies, sparse_mdps, value_vectors


def test_accessors_and_repr():
    P = np.zeros((3, 2, 3))
    P[:, 0, 0] = 1.0
    P[:, 1, 2] = 1.0
    R = np.arange(6.0).reshape(3, 2) - 2
    m = mdp.TabularMDP(P, R, 0.9)
    assert (m.n_states, m.n_actions, m.gamma, m.is_sparse, m.dtype) == (3, 2, 0.9, False, np.float64)
    assert m.nnz == 18 and m.r_max == 3.0
    assert repr(m) == "TabularMDP(S=3, A=2, gamma=0.9, dense, dtype=float64)"
    s = m.to_sparse()
    assert s.is_sparse and s.nnz == 6 and s.P.shape == (6, 3)
    assert repr(s) == "TabularMDP(S=3, A=2, gamma=0.9, sparse, nnz=6, dtype=float64)"
    indptr, indices, data = s.csr_arrays()
    assert np.issubdtype(indptr.dtype, np.integer) and np.issubdtype(indices.dtype, np.integer)
    np.testing.assert_array_equal(indptr, np.arange(7))
    np.testing.assert_array_equal(indices, [0, 2, 0, 2, 0, 2])
    np.testing.assert_array_equal(s.transition_row(1, 1), [0, 0, 1])
    np.testing.assert_array_equal(m.transition_row(1, 1), [0, 0, 1])


def test_storage_is_read_only_and_copied():
    """Regression: the model used to alias float64 inputs and mark the *caller's* P and R read-only."""
    P = np.full((2, 2, 2), 0.5)
    R = np.zeros((2, 2))
    m = mdp.TabularMDP(P, R, 0.5)
    P[0, 0, 0] = 7.0  # the caller's arrays are not aliased
    R[0, 0] = 7.0
    assert m.P[0, 0, 0] == 0.5 and m.R[0, 0] == 0.0
    with pytest.raises(ValueError, match="read-only"):
        m.P[0, 0, 0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        m.R[0, 0] = 1.0


def test_sparse_input_forms():
    dense = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0], [0.25, 0.75]])
    R = np.zeros((2, 2))
    ref = mdp.TabularMDP(dense.reshape(2, 2, 2), R, 0.9)
    # duplicates are summed, explicit zeros dropped, any scipy format accepted
    rows = [0, 0, 0, 1, 2, 3, 3, 1]
    cols = [0, 1, 1, 0, 1, 0, 1, 1]
    vals = [0.5, 0.25, 0.25, 1.0, 1.0, 0.25, 0.75, 0.0]
    for P in (
        sp.coo_matrix((vals, (rows, cols)), shape=(4, 2)),
        sp.csr_array(dense),
        sp.csc_matrix(dense),
        sp.lil_matrix(dense),
        sp.csr_matrix(dense.astype(np.int64) * 0 + (dense > 0) * dense),
    ):
        m = mdp.TabularMDP(P, R, 0.9)
        assert m.is_sparse and m.nnz == 6
        np.testing.assert_array_equal(m.dense_P(), ref.P)
    m = mdp.TabularMDP(sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [0, 1]])), R, 0.9)  # integer data
    assert m.P.dtype == np.float64


@given(m=mdps(max_states=6))
def test_conversions_roundtrip(m):
    d, s = m.to_dense(), m.to_sparse()
    assert not d.is_sparse and s.is_sparse
    np.testing.assert_array_equal(d.P, s.dense_P())
    np.testing.assert_array_equal(s.to_dense().P, d.P)
    assert d.to_dense() is d and s.to_sparse() is s and m.astype(m.dtype) is m
    for x in (d, s):
        x32 = x.astype(np.float32)
        assert x32.dtype == np.float32 and x32.is_sparse == x.is_sparse
        assert x32.dense_P().dtype == np.float32
        np.testing.assert_allclose(x32.dense_P(), d.P, rtol=1e-7, atol=1e-8)
        # a float32-rounded model survives every conversion (it is re-validated with its own tolerance)
        back = x32.astype(np.float64)
        back.to_sparse().to_dense().to_sparse()
        x32.to_sparse().to_dense()
    gamma_before = m.gamma
    g = m.with_gamma(0.3)
    assert g.gamma == 0.3 and m.gamma == gamma_before
    assert g.P is m.P and g.R is m.R


def test_conversions_keep_a_custom_tolerance():
    """Regression: to_sparse()/to_dense()/astype() re-validated with the default 1e-8 and rejected
    models accepted under a looser ``atol`` (including float32-rounded ones cast back to float64)."""
    P = np.full((3, 2, 3), 1 / 3) * (1 + 1e-4)
    m = mdp.TabularMDP(P, np.zeros((3, 2)), 0.9, atol=1e-3)
    m.to_sparse().to_dense().astype(np.float32).to_sparse()
    big = mdp.generators.random_mdp(30, 3, rng=np.random.default_rng(0))
    big.astype(np.float32).astype(np.float64).to_sparse()


@given(m=mdps(max_states=6), data=st.data())
def test_policy_matrix_and_reward(m, data):
    stochastic = data.draw(st.booleans())
    pi = data.draw(policies(m, stochastic=stochastic))
    P = np.asarray(m.dense_P(), dtype=np.float64)
    rows = pi if stochastic else np.eye(m.n_actions)[pi]
    P_ref = np.einsum("sa,sat->st", rows, P)
    r_ref = np.einsum("sa,sa->s", rows, m.R)
    for form in (m.to_dense(), m.to_sparse()):
        P_pi = form.policy_matrix(pi)
        assert sp.issparse(P_pi) == form.is_sparse
        P_pi = P_pi.toarray() if sp.issparse(P_pi) else P_pi
        np.testing.assert_allclose(P_pi, P_ref, atol=1e-14)
        np.testing.assert_allclose(form.policy_reward(pi), r_ref, atol=1e-14)
        np.testing.assert_allclose(P_pi.sum(axis=1), 1.0, atol=1e-12)


@given(m=mdps(max_states=6), data=st.data())
def test_occupancy(m, data):
    pi = data.draw(policies(m, stochastic=data.draw(st.booleans())))
    mu = np.random.default_rng(data.draw(st.integers(0, 1000))).dirichlet(np.ones(m.n_states))
    rows = pi if pi.ndim == 2 else np.eye(m.n_actions)[pi]
    P_pi = np.einsum("sa,sat->st", rows, m.dense_P())
    for form in (m.to_dense(), m.to_sparse()):
        d = form.occupancy(pi, mu)
        assert abs(d.sum() - 1) < 1e-10 and np.all(d >= -1e-12)
        # fixed point d = (1 - gamma) mu + gamma d P_pi
        np.testing.assert_allclose(d, (1 - m.gamma) * mu + m.gamma * d @ P_pi, atol=1e-10)
        # <d, r_pi> = (1 - gamma) <mu, v^pi>
        r_pi = np.einsum("sa,sa->s", rows, m.R)
        assert abs(d @ r_pi - (1 - m.gamma) * mu @ exact_policy_value(m, pi)) < 1e-9


def test_float32_storage_accumulates_in_float64():
    m = mdp.generators.random_mdp(20, 3, rng=np.random.default_rng(2), dtype=np.float32)
    assert m.P.dtype == np.float32 and m.R.dtype == np.float64
    v = np.linspace(-1e3, 1e3, 20)
    q = mdp.q_values(m, v)
    assert q.dtype == np.float64
    ref = m.R + m.gamma * np.einsum("sat,t->sa", m.P.astype(np.float64), v)
    np.testing.assert_allclose(q, ref, atol=1e-9)


# --------------------------------------------------------------------------- the strategies themselves
@given(m=mdps(min_states=2, max_states=5, min_actions=2, max_actions=3, sparse=True, gammas=[0.7], alphas=[0.1]))
def test_mdps_strategy_respects_arguments(m):
    assert 2 <= m.n_states <= 5 and 2 <= m.n_actions <= 3 and m.is_sparse and m.gamma == 0.7
    np.testing.assert_allclose(m.dense_P().sum(axis=2), 1.0, atol=1e-12)
    assert np.all((m.R >= 0) & (m.R < 1))


@given(m=mdps(sparse=False, dtype=np.float32))
def test_mdps_strategy_dense_float32(m):
    assert not m.is_sparse and m.dtype == np.float32 and m.gamma in (0.5, 0.9, 0.99)


@given(m=sparse_mdps())
def test_sparse_mdps_strategy(m):
    assert m.is_sparse and m.n_states >= 2
    np.testing.assert_allclose(np.asarray(m.P.sum(axis=1)).ravel(), 1.0, atol=1e-12)


@given(data=st.data(), S=st.integers(1, 6), A=st.integers(1, 4))
def test_policies_and_value_vectors_strategies(data, S, A):
    det = data.draw(policies((S, A)))
    assert det.shape == (S,) and det.dtype == np.int64 and np.all((det >= 0) & (det < A))
    sto = data.draw(policies((S, A), stochastic=True))
    assert sto.shape == (S, A) and np.all(sto >= 0)
    np.testing.assert_allclose(sto.sum(axis=1), 1.0, atol=1e-12)
    v = data.draw(value_vectors(S, min_value=-1, max_value=2))
    assert v.shape == (S,) and np.all((v >= -1) & (v <= 2))


@pytest.mark.parametrize("bad", [5, -1])
def test_sparse_p_with_an_out_of_range_column_index_is_rejected(bad):
    # scipy builds this without complaint; reading it later went out of bounds (heap corruption)
    P = sp.csr_matrix((np.array([1.0, 1.0]), np.array([bad, 1]), np.array([0, 1, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match=r"sparse P is malformed.*\[0, 2\)"):
        mdp.TabularMDP(P, np.zeros((2, 1)), 0.9)
    csc = sp.csc_matrix((np.array([1.0, 1.0]), np.array([0, bad]), np.array([0, 1, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match="sparse P is malformed"):
        mdp.TabularMDP(csc, np.zeros((2, 1)), 0.9)


@pytest.mark.parametrize("sparse", [False, True])
def test_transition_row_checks_its_indices(sparse):
    m = mdp.generators.random_mdp(3, 2, rng=np.random.default_rng(0), sparse=sparse)
    np.testing.assert_allclose(m.transition_row(1, 1), m.dense_P()[1, 1])
    for s, a, name in ((0, 2, "a"), (0, -1, "a"), (-1, 0, "s"), (3, 0, "s")):
        with pytest.raises(ValueError, match=rf"{name} must lie in \[0, "):
            m.transition_row(s, a)
    with pytest.raises(TypeError, match="s must be an integer"):
        m.transition_row(0.5, 0)


def test_certify_leaves_the_callers_policy_writeable():
    m = mdp.generators.forest(gamma=0.9)
    pi = np.zeros(m.n_states, dtype=np.int64)
    c = mdp.certify(m, np.zeros(m.n_states), pi)
    assert pi.flags.writeable and c.pi is not pi and not c.pi.flags.writeable
    pi[0] = 1  # the caller's array is still theirs
