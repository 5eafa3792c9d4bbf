"""Differential tests: the kernels behind ``mdp.solve`` against plain-numpy twins written here."""

import numpy as np
from _helpers import assert_greedy_ties
from hypothesis import given
from hypothesis import strategies as st

from mdp._common import bellman as K
from theory_checks.strategies import mdps, value_vectors


def _gs_bellman_numpy(P, R, gamma, v, pi, reverse, rtol):
    """In-place Gauss-Seidel Bellman sweep with Howard's keep-on-ties switching rule."""
    v, pi = v.copy(), pi.copy()
    S = R.shape[0]
    changed = 0
    diff = 0.0
    for s in range(S - 1, -1, -1) if reverse else range(S):
        q = R[s] + gamma * P[s] @ v
        best, arg = q.max(), int(q.argmax())
        diff = max(diff, abs(best - v[s]))
        if arg != pi[s] and best > q[pi[s]] + rtol * max(1.0, abs(q[pi[s]])):
            pi[s] = arg
            changed += 1
        v[s] = best
    return v, pi, diff, changed


def _gs_policy_numpy(P, R, gamma, pi, v, reverse):
    v = v.copy()
    S = R.shape[0]
    diff = 0.0
    for s in range(S - 1, -1, -1) if reverse else range(S):
        x = R[s, pi[s]] + gamma * P[s, pi[s]] @ v
        diff = max(diff, abs(x - v[s]))
        v[s] = x
    return v, diff


@given(m=mdps(max_states=7), data=st.data())
def test_fused_sweep_kernels_match_numpy(m, data):
    v = data.draw(value_vectors(m.n_states, min_value=-50, max_value=50))
    P = np.asarray(m.dense_P(), dtype=np.float64)
    S, A = m.n_states, m.n_actions
    q_ref = m.R + m.gamma * np.einsum("sat,t->sa", P, v)
    atol = 1e-10 * (1 + np.abs(q_ref).max())
    d, sp_ = m.to_dense(), m.to_sparse()
    ip, ix, dat = sp_.csr_arrays()
    for fn, args in (
        (K.bellman_q_dense, (d.P,)),
        (K.bellman_q_dense_serial, (d.P,)),
        (K.bellman_q_sparse, (ip, ix, dat)),
        (K.bellman_q_sparse_serial, (ip, ix, dat)),
    ):
        q, tv, pi = np.empty((S, A)), np.empty(S), np.empty(S, dtype=np.int64)
        fn(*args, m.R, m.gamma, v, q, tv, pi)
        np.testing.assert_allclose(q, q_ref, atol=atol, rtol=0)
        np.testing.assert_allclose(tv, q_ref.max(axis=1), atol=atol, rtol=0)
        np.testing.assert_allclose(q_ref[np.arange(S), pi], tv, atol=atol, rtol=0)


@given(m=mdps(max_states=7), data=st.data())
def test_gauss_seidel_mpi_kernels_match_numpy(m, data):
    v = data.draw(value_vectors(m.n_states, min_value=-50, max_value=50))
    pi = np.asarray(
        data.draw(st.lists(st.integers(0, m.n_actions - 1), min_size=m.n_states, max_size=m.n_states)), dtype=np.int64
    )
    reverse = data.draw(st.booleans())
    P = np.asarray(m.dense_P(), dtype=np.float64)
    ip, ix, dat = m.to_sparse().csr_arrays()
    atol = 1e-9 * (1 + np.abs(v).max() + np.abs(m.R).max() / (1 - m.gamma))

    v_ref, pi_ref, diff_ref, changed_ref = _gs_bellman_numpy(P, m.R, m.gamma, v, pi, reverse, 1e-12)
    w, p = v.copy(), pi.copy()
    diff, changed = K.gs_bellman_sparse(ip, ix, dat, m.R, m.gamma, w, p, reverse, 1e-12)
    np.testing.assert_allclose(w, v_ref, atol=atol, rtol=0)
    assert abs(diff - diff_ref) <= atol
    # switching decisions can only differ on numerical near-ties; the values never do
    assert abs(changed - changed_ref) <= int(np.sum(p != pi_ref))

    v_ref, diff_ref = _gs_policy_numpy(P, m.R, m.gamma, pi, v, reverse)
    w = v.copy()
    diff = K.gs_policy_sparse(ip, ix, dat, m.R, m.gamma, pi, w, reverse)
    np.testing.assert_allclose(w, v_ref, atol=atol, rtol=0)
    assert abs(diff - diff_ref) <= atol


@given(m=mdps(max_states=7, sparse=False), data=st.data())
def test_policy_block_gather_and_matvec_match_numpy(m, data):
    u = data.draw(value_vectors(m.n_states, min_value=-50, max_value=50))
    pi = np.asarray(
        data.draw(st.lists(st.integers(0, m.n_actions - 1), min_size=m.n_states, max_size=m.n_states)), dtype=np.int64
    )
    S = m.n_states
    ref_block = np.asarray(m.P)[np.arange(S), pi]
    r = m.R[np.arange(S), pi]
    for gather, mv in ((K.gather_policy_rows, K.affine_matvec), (K.gather_policy_rows_serial, K.affine_matvec_serial)):
        M = np.empty((S, S), dtype=m.P.dtype)
        gather(m.P, pi, M)
        np.testing.assert_array_equal(M, ref_block)
        w = np.empty(S)
        mv(M, r, m.gamma, u, w)
        np.testing.assert_allclose(
            w, r + m.gamma * ref_block.astype(np.float64) @ u, atol=1e-10 * (1 + np.abs(u).max()), rtol=0
        )


def test_dense_evaluation_reuses_the_policy_block_exactly():
    import importlib

    import mdp

    solve_mod = importlib.import_module("mdp.solvers.solve")
    rng = np.random.default_rng(3)
    m = mdp.generators.random_mdp(30, 4, rng=rng, gamma=0.9)
    tv = rng.random(30)
    pi1, pi2 = rng.integers(0, 4, 30), rng.integers(0, 4, 30)
    pi2[:10] = pi1[:10]  # some rows unchanged, some changed
    state = solve_mod._EvalState(target=1e-13)
    for serial in (True, False):
        solve_mod._evaluate_jacobi(m, serial, tv, pi1, state, 10)
        u_reused, _ = solve_mod._evaluate_jacobi(m, serial, tv, pi2, state, 10)
        fresh = solve_mod._EvalState(target=1e-13)
        u_fresh, _ = solve_mod._evaluate_jacobi(m, serial, tv, pi2, fresh, 10)
        np.testing.assert_array_equal(state.block[0], np.asarray(m.P)[np.arange(30), pi2])
        np.testing.assert_array_equal(u_reused, u_fresh)


@given(m=mdps(max_states=7, sparse=False), data=st.data())
def test_elimination_sweep_matches_numpy_twin_and_full_sweep(m, data):
    """The check sweep of ``mdp.solve``: same ``T v`` and greedy action as a full sweep, valid bounds."""
    S, A, g = m.n_states, m.n_actions, m.gamma
    P64 = np.asarray(m.P, dtype=np.float64)
    v_prev = data.draw(value_vectors(S, min_value=-50, max_value=50))
    v = v_prev + data.draw(value_vectors(S, min_value=-5, max_value=5))
    pi_M = np.asarray(data.draw(st.lists(st.integers(0, A - 1), min_size=S, max_size=S)), dtype=np.int64)
    # upper bounds on q at v_prev: exact, or loose by a drawn amount
    loose = np.asarray(
        data.draw(st.lists(st.sampled_from([0.0, 1e-3, 0.5, 20.0]), min_size=S * A, max_size=S * A))
    ).reshape(S, A)
    ub0 = K.reference_q(P64, m.R, g, v_prev) + loose
    lo_sum, hi_sum = m.row_sum_range
    dmax = float((v - v_prev).max())
    inc = g * (hi_sum if dmax >= 0 else lo_sum) * dmax + 1e-9
    q_ref = K.reference_q(P64, m.R, g, v)
    atol = 1e-10 * (1 + np.abs(q_ref).max())
    tv_t, pi_t, ub_t, n_t = K.reference_bellman_elim(m.P, pi_M, m.R, g, v, ub0, inc)
    full_q, full_tv, full_pi = np.empty((S, A)), np.empty(S), np.empty(S, dtype=np.int64)
    K.bellman_q_dense_serial(m.P, m.R, g, v, full_q, full_tv, full_pi)
    for fn in (K.bellman_elim_dense, K.bellman_elim_dense_serial):
        M = np.ascontiguousarray(np.asarray(m.P)[np.arange(S), pi_M])
        ub, tv, pi = ub0.copy(), np.empty(S), np.empty(S, dtype=np.int64)
        n = fn(m.P, M, pi_M, m.R, g, v, ub, inc, tv, pi)
        # the full sweep's answer, to the bit (same dot products), first maximiser included
        np.testing.assert_array_equal(tv, full_tv)
        np.testing.assert_array_equal(pi, full_pi)
        np.testing.assert_allclose(q_ref[np.arange(S), pi], tv, atol=atol, rtol=0)
        # still upper bounds, exact where read; M follows the new greedy policy
        assert np.all(ub >= q_ref - atol)
        np.testing.assert_array_equal(M, np.asarray(m.P)[np.arange(S), pi])
        # the numpy twin
        np.testing.assert_allclose(tv, tv_t, atol=atol, rtol=0)
        assert_greedy_ties(q_ref, pi, pi_t, atol=atol)
        if np.array_equal(pi, pi_t):
            assert n == n_t
            np.testing.assert_allclose(ub, ub_t, atol=atol, rtol=0)
        assert 0 <= n <= S * (A - 1)


def test_elimination_sweep_skips_most_rows_near_the_optimum():
    """Known behaviour: near ``v*`` only the actions within the value change of the best are read."""
    import mdp

    m = mdp.generators.random_mdp(300, 8, rng=np.random.default_rng(5), gamma=0.99)
    S, A = 300, 8
    star = mdp.policy_iteration(m)
    v_prev = star.v + 1e-3 * np.random.default_rng(6).standard_normal(S)  # the last check's values
    ub = K.reference_q(m.P, m.R, m.gamma, v_prev)
    inc = m.gamma * (star.v - v_prev).max() * max(m.row_sum_range) + 1e-9
    M = np.ascontiguousarray(m.P[np.arange(S), star.pi])
    tv, pi = np.empty(S), np.empty(S, dtype=np.int64)
    n = K.bellman_elim_dense_serial(m.P, M, star.pi, m.R, m.gamma, star.v, ub, inc, tv, pi)
    np.testing.assert_array_equal(pi, star.pi)
    np.testing.assert_allclose(tv, star.v, atol=1e-9)
    assert n < 0.05 * S * (A - 1), n  # 2,100 rows for a full sweep


def test_elimination_sweep_breaks_ties_like_a_full_sweep():
    """Known value: duplicated actions tie exactly; the first one wins even when the second was greedy."""
    P = np.array([[[0.5, 0.5], [0.5, 0.5]], [[1.0, 0.0], [1.0, 0.0]]])
    R = np.array([[1.0, 1.0], [0.0, 0.0]])
    v = np.array([2.0, 3.0])
    for fn in (K.bellman_elim_dense, K.bellman_elim_dense_serial):
        pi_M = np.array([1, 1])
        M = np.ascontiguousarray(P[np.arange(2), pi_M])
        ub = np.full((2, 2), 10.0)
        tv, pi = np.empty(2), np.empty(2, dtype=np.int64)
        n = fn(P, M, pi_M, R, 0.9, v, ub, 0.0, tv, pi)
        np.testing.assert_allclose(tv, [1.0 + 0.9 * 2.5, 0.9 * 2.0])
        np.testing.assert_array_equal(pi, [0, 0])
        np.testing.assert_array_equal(M, P[np.arange(2), [0, 0]])
        assert n == 2


@st.composite
def _perturbed_dense_mdps(draw):
    """Dense models that stress the elimination bound: row sums off 1 within ``atol``, float32,
    large negative rewards and exactly duplicated actions."""
    import mdp

    base = draw(mdps(max_states=7, max_actions=4, sparse=False, gammas=(0.9, 0.99)))
    S, A = base.n_states, base.n_actions
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    P = np.array(base.P, dtype=np.float64)
    R = np.array(base.R) - draw(st.sampled_from([0.0, 50.0, 1e3]))
    if A > 1 and draw(st.booleans()):
        P[:, 1], R[:, 1] = P[:, 0], R[:, 0]
    delta = draw(st.sampled_from([0.0, 1e-4, 5e-3]))
    P *= 1.0 + rng.uniform(-delta, delta, size=(S, A, 1))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    return mdp.TabularMDP(P, R, base.gamma, dtype=dtype, atol=1e-2)


@given(m=_perturbed_dense_mdps())
def test_every_check_of_solve_matches_a_full_sweep(m):
    """Spy on the elimination kernel inside ``mdp.solve``: at every check, the bound the solver
    computes (``sigma_lo``/``sigma_hi``, slack) keeps ``ub >= q``, and ``T v`` and ``pi`` are a full sweep's."""
    import mdp

    calls = []

    def spy(kernel):
        def run(P, M, pi_M, R, gamma, v, ub, inc, tv, pi):
            S, A = R.shape
            full_q, full_tv, full_pi = np.empty((S, A)), np.empty(S), np.empty(S, dtype=np.int64)
            K.bellman_q_dense_serial(P, R, gamma, v, full_q, full_tv, full_pi)
            assert np.array_equal(M, np.asarray(P)[np.arange(S), pi_M])
            n = kernel(P, M, pi_M, R, gamma, v, ub, inc, tv, pi)
            assert np.array_equal(tv, full_tv) and np.array_equal(pi, full_pi)
            assert np.all(ub >= full_q), (ub - full_q).min()
            calls.append(n)
            return n

        return run

    saved = K.bellman_elim_dense, K.bellman_elim_dense_serial
    try:
        K.bellman_elim_dense, K.bellman_elim_dense_serial = spy(saved[0]), spy(saved[1])
        # relative to the value scale: an absolute 1e-9 at |v| ~ 1e5 lies below float64's round-off floor
        tol = 1e-9 * (1.0 + m.r_max / (1.0 - m.gamma))
        res = mdp.solve(m, tol=tol)
    finally:
        K.bellman_elim_dense, K.bellman_elim_dense_serial = saved
    assert res.converged and res.error_bound <= tol
    assert calls or res.n_iter == 0
