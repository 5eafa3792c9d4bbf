"""The parallel kernels give the same bits on one thread and on two.

``mdp._common.bellman`` splits its ``prange`` loops over states, so each ``v[s]`` is computed by one
thread in a fixed order and the results do not depend on the thread count (its module docstring).
Under pytest-xdist the workers run numba on one thread each (``tests/conftest.py``), so this module
is where the kernels run on two; a kernel whose per-state work depended on the split (a reduction
across states, a shared scratch buffer) would differ here.
"""

from __future__ import annotations

import numpy as np
import pytest

import mdp
from mdp._common import bellman as K
from mdp._threads import pinned_threads


def _both(fn):
    """``fn()`` on one thread and on two; each call gets fresh outputs from ``fn`` itself."""
    import numba

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("numba's pool has one thread on this machine")
    with pinned_threads(1, blas=False) as one:
        a = fn()
    with pinned_threads(2, blas=False) as two:
        b = fn()
    assert one["numba"] == 1 and two["numba"] == 2
    return a, b


def _assert_same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def dense():
    return mdp.generators.random_mdp(120, 5, rng=np.random.default_rng(7), gamma=0.97)


@pytest.fixture(scope="module")
def sparse():
    return mdp.generators.gridworld(30, 30, slip=0.2, gamma=0.97, step_reward=-0.01)


def test_dense_sweep_kernels_are_thread_invariant(dense):
    m = dense
    S, A = m.n_states, m.n_actions
    v = np.random.default_rng(1).normal(size=S) * 10

    def run():
        q, q2, tv, tv2 = np.empty((S, A)), np.empty((S, A)), np.empty(S), np.empty(S)
        pi, pi2 = np.empty(S, np.int64), np.empty(S, np.int64)
        K.q_dense(m.P, m.R, m.gamma, v, q)
        K.bellman_dense(m.P, m.R, m.gamma, v, tv, pi)
        K.bellman_q_dense(m.P, m.R, m.gamma, v, q2, tv2, pi2)
        pol = np.arange(S) % A
        pb, M, w = np.empty(S), np.empty((S, S)), np.empty(S)
        K.policy_backup_dense(m.P, m.R, m.gamma, pol, v, pb)
        K.gather_policy_rows(m.P, pol, M)
        K.affine_matvec(M, m.R[np.arange(S), pol], m.gamma, v, w)
        return q, tv, pi, q2, tv2, pi2, pb, M, w

    _assert_same(*_both(run))


def test_elimination_kernel_is_thread_invariant(dense):
    m = dense
    S, A = m.n_states, m.n_actions
    v = np.random.default_rng(2).normal(size=S)
    pi0 = np.zeros(S, np.int64)

    def run():
        M = np.ascontiguousarray(m.P[np.arange(S), pi0])
        ub = mdp.q_values(m, v * 0.99) + 1e-3
        tv, pi = np.empty(S), pi0.copy()
        n = K.bellman_elim_dense(m.P, M, pi0.copy(), m.R, m.gamma, v, ub, 0.05, tv, pi)
        return tv, pi, ub, M, np.array([n])

    a, b = _both(run)
    _assert_same(a, b)
    assert 0 < a[-1][0] < S * (A - 1)  # some rows were skipped, some read: both branches ran


def test_sparse_sweep_kernels_are_thread_invariant(sparse):
    m = sparse
    S, A = m.n_states, m.n_actions
    indptr, indices, data = m.csr_arrays()
    v = np.random.default_rng(3).normal(size=S)

    def run():
        q, q2, tv, tv2 = np.empty((S, A)), np.empty((S, A)), np.empty(S), np.empty(S)
        pi, pi2, pb = np.empty(S, np.int64), np.empty(S, np.int64), np.empty(S)
        K.q_sparse(indptr, indices, data, m.R, m.gamma, v, q)
        K.bellman_sparse(indptr, indices, data, m.R, m.gamma, v, tv, pi)
        K.bellman_q_sparse(indptr, indices, data, m.R, m.gamma, v, q2, tv2, pi2)
        K.policy_backup_sparse(indptr, indices, data, m.R, m.gamma, np.arange(S) % A, v, pb)
        return q, tv, pi, q2, tv2, pi2, pb

    _assert_same(*_both(run))


def test_solve_and_value_iteration_are_thread_invariant(monkeypatch, dense, sparse):
    # mdp.solve runs small models serially: lower its threshold so these take the parallel kernels
    import importlib

    solve_module = importlib.import_module("mdp.solvers.solve")  # the module, not the function
    monkeypatch.setattr(solve_module, "_SERIAL_NNZ", 1)
    for m in (dense, sparse):

        def run(m=m):
            r = mdp.solve(m, tol=1e-8)
            vi = mdp.value_iteration(m, tol=1e-6)
            return r.v, r.pi, np.array([r.n_iter, r.error_bound]), vi.v, vi.pi, np.array([vi.n_iter])

        _assert_same(*_both(run))
