"""Issue 22 (scale): CSR generators in numba, the one-pass constructor, memory-mapped models, size refusal."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp import generators as G
from mdp.model import TabularMDP


def _same(a, b):
    for x, y in zip(a.csr_arrays(), b.csr_arrays()):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.R, b.R)
    assert a.gamma == b.gamma and a.row_sum_range == b.row_sum_range and a.max_row_length == b.max_row_length


# --------------------------------------------------------------------------- differential: kernel vs twin
@settings(max_examples=25, deadline=None)
@given(
    W=st.integers(1, 9),
    H=st.integers(1, 9),
    slip=st.sampled_from([0.0, 0.1, 0.2, 1 / 3, 0.5, 1.0]),
    f32=st.booleans(),
    data=st.data(),
)
def test_gridworld_kernel_is_bitwise_the_reference(W, H, slip, f32, data):
    if W * H < 2:
        return
    cells = [(x, y) for x in range(W) for y in range(H)]
    goal = data.draw(st.sampled_from(cells))
    walls = data.draw(st.lists(st.sampled_from([c for c in cells if c != goal]), max_size=4, unique=True))
    kw = dict(
        slip=slip, walls=walls, goal=goal, goal_reward=2.5, step_reward=-0.1, dtype=np.float32 if f32 else np.float64
    )
    _same(G.gridworld(W, H, **kw), G.reference_gridworld(W, H, **kw))


@settings(max_examples=25, deadline=None)
@given(S=st.integers(1, 30), A=st.integers(1, 3), data=st.data(), seed=st.integers(0, 10**6), f32=st.booleans())
def test_garnet_kernel_is_bitwise_the_reference(S, A, data, seed, f32):
    b = data.draw(st.integers(1, S))
    dt = np.float32 if f32 else np.float64
    a = G.garnet(S, A, b, rng=np.random.default_rng(seed), dtype=dt)
    r = G.reference_garnet(S, A, b, rng=np.random.default_rng(seed), dtype=dt)
    _same(a, r)


def test_garnet_large_branching_uses_the_sort_path():
    a = G.garnet(60, 2, 45, rng=np.random.default_rng(1))
    _same(a, G.reference_garnet(60, 2, 45, rng=np.random.default_rng(1)))


# --------------------------------------------------------------------------- known values
def test_gridworld_known_rows_and_int32_indices():
    # hand-derived: 3 x 2 grid, goal (2, 1) = state 5, slip 0.2; from state 0 moving E: E to 1 w.p. 0.8,
    # N bumps (stays at 0) w.p. 0.1, S to 3 w.p. 0.1
    m = G.gridworld(3, 2, slip=0.2, gamma=0.9)
    indptr, indices, data = m.csr_arrays()
    assert indices.dtype == np.int32 and indptr.dtype == np.int32
    row = 0 * 4 + 2
    np.testing.assert_array_equal(indices[indptr[row] : indptr[row + 1]], [0, 1, 3])
    np.testing.assert_allclose(data[indptr[row] : indptr[row + 1]], [0.1, 0.8, 0.1], rtol=0, atol=1e-15)
    # state 4 moving E enters the goal w.p. 0.8: R = 0.8
    assert m.R[4, 2] == pytest.approx(0.8)
    assert np.all(m.R[5] == 0) and np.all(indices[indptr[20] : indptr[24]] == 5)


def test_garnet_successors_are_distinct_and_uniform():
    # every state is drawn as a successor with probability b / S per row: 4000 rows, b = 3, S = 10
    m = G.garnet(1000, 4, 3, rng=np.random.default_rng(0))
    indptr, indices, _ = m.csr_arrays()
    rows = indices.reshape(-1, 3)
    assert np.all(np.diff(rows, axis=1) > 0)  # sorted and distinct
    counts = np.bincount(G.garnet(10, 400, 3, rng=np.random.default_rng(1)).csr_arrays()[1], minlength=10)
    # 12000 draws over 10 states: 1200 each, binomial sd ~ 33
    assert np.all(np.abs(counts - 1200) < 200), counts


# --------------------------------------------------------------------------- the one-pass constructor
def test_from_csr_shares_arrays_without_copy_and_matches_the_constructor():
    m = G.gridworld(7, 5, slip=0.3)
    ip, ix, d = (np.array(x) for x in m.csr_arrays())
    R = np.array(m.R)
    shared = TabularMDP.from_csr(ip, ix, d, R, 0.99, copy=False)
    assert shared.csr_arrays()[2] is d and not d.flags.writeable
    via_scipy = TabularMDP(sp.csr_matrix((d, ix, ip), shape=(35 * 4, 35)), R, 0.99)
    _same(shared, via_scipy)
    copied = TabularMDP.from_csr(ip, ix, d, R, 0.99)
    assert not np.shares_memory(copied.csr_arrays()[2], d)
    np.testing.assert_array_equal(shared.row_sums(), m.row_sums())


def test_constructor_keeps_one_copy_and_normalises_noncanonical_input():
    # unsorted duplicates with a stored zero: scipy's path; the model is the canonical one
    P = sp.csr_matrix(
        (np.array([0.5, 0.25, 0.25, 0.0, 1.0]), np.array([1, 0, 1, 0, 0]), np.array([0, 4, 5])), shape=(2, 2)
    )
    m = TabularMDP(P, np.zeros((2, 1)), 0.9)
    indptr, indices, data = m.csr_arrays()
    np.testing.assert_array_equal(indptr, [0, 2, 3])
    np.testing.assert_array_equal(indices, [0, 1, 0])
    np.testing.assert_array_equal(data, [0.25, 0.75, 1.0])
    # a canonical CSR: the caller's arrays are not aliased (nor frozen)
    Q = sp.csr_matrix(np.array([[0.5, 0.5], [0.0, 1.0], [1.0, 0.0], [0.3, 0.7]]))
    m2 = TabularMDP(Q, np.ones((2, 2)), 0.9)
    assert not np.shares_memory(m2.csr_arrays()[2], Q.data) and Q.data.flags.writeable


@pytest.mark.parametrize(
    "indptr, indices, data, match",
    [
        ([0, 1, 2], [0, 5], [1.0, 1.0], r"column index 5 of row 1 lies outside \[0, S\) = \[0, 2\)"),
        ([0, 2, 1], [0, 1], [0.5, 0.5], r"indptr must be non-decreasing"),
        ([0, 1, 2], [0, 1], [np.nan, 1.0], r"P must be finite; P\[0, 0, 0\] = nan"),
        ([0, 1, 3], [0, 0, 1], [1.0, -0.5, 1.5], r"P must be non-negative; P\[1, 0, 0\] = -0.5"),
        ([0, 1, 2], [0, 1], [1.0, 0.5], r"P\[1, 0, :\] sums to 0.5"),
        ([0, 2, 3], [1, 0, 0], [0.5, 0.5, 1.0], r"strictly increasing within each row"),
    ],
)
def test_from_csr_bad_input(indptr, indices, data, match):
    with pytest.raises(ValueError, match=match):
        TabularMDP.from_csr(np.array(indptr), np.array(indices), np.array(data), np.zeros((2, 1)), 0.9)


def test_from_csr_bad_types_and_shapes():
    ok = (np.array([0, 1, 2]), np.array([0, 1]), np.array([1.0, 1.0]))
    with pytest.raises(TypeError, match="indptr must be a 1-D numpy array of integer type"):
        TabularMDP.from_csr([0, 1, 2], ok[1], ok[2], np.zeros((1, 2)), 0.9)
    with pytest.raises(TypeError, match="data must be a 1-D numpy array of float32 or float64"):
        TabularMDP.from_csr(ok[0], ok[1], np.array([1, 1]), np.zeros((1, 2)), 0.9)
    with pytest.raises(TypeError, match="dtype must be float64 or float32"):
        TabularMDP.from_csr(*ok, np.zeros((1, 2)), 0.9, dtype=np.float16)
    with pytest.raises(ValueError, match=r"indptr must have S \* A \+ 1 = 5 entries"):
        TabularMDP.from_csr(*ok, np.zeros((2, 2)), 0.9)


# --------------------------------------------------------------------------- memory-mapped models
def test_model_directory_memory_maps_bitwise(tmp_path):
    m = G.gridworld(20, 15, slip=0.1, dtype=np.float32)
    path = m.save(tmp_path / "grid", layout="npy")
    for mmap in (False, True):
        back = mdp.load_model(path, mmap=mmap)
        _same(m, back)
        assert back.dtype == np.float32
    mapped = mdp.load_model(path, mmap=True)
    assert isinstance(mapped.csr_arrays()[2].base, np.memmap)
    np.testing.assert_array_equal(mdp.solve(mapped, tol=1e-6).v, mdp.solve(m, tol=1e-6).v)
    # the directory is open numpy: any reader gets the arrays
    np.testing.assert_array_equal(np.load(path / "P_indices.npy"), m.csr_arrays()[1])
    # a dense model round-trips through the directory too; re-saving replaces the stale CSR files
    dense = mdp.generators.random_mdp(4, 2, rng=np.random.default_rng(0))
    mdp.persistence.save_model(dense, path, layout="npy")
    assert not (path / "P_data.npy").exists()
    np.testing.assert_array_equal(mdp.load_model(path, mmap=True).P, dense.P)


def test_model_directory_bad_input(tmp_path):
    m = G.gridworld(3, 3)
    with pytest.raises(ValueError, match="layout must be 'npz' or 'npy', got 'zip'"):
        m.save(tmp_path / "x", layout="zip")
    f = m.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"mmap=True needs a model directory"):
        mdp.load_model(f, mmap=True)
    with pytest.raises(TypeError, match="mmap must be a bool"):
        mdp.load_model(f, mmap=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="has no header.json"):
        mdp.load_model(tmp_path / "empty", mmap=True)
    d = m.save(tmp_path / "d", layout="npy")
    (d / "header.json").write_text('{"rlab_schema": "rlab.TabularMDP", "schema_version": 99}')
    with pytest.raises(ValueError, match="newer than the version"):
        mdp.load_model(d)
    d2 = m.save(tmp_path / "d2", layout="npy")
    (d2 / "P_data.npy").unlink()
    with pytest.raises(ValueError, match="entry 'P_data' is missing"):
        mdp.load_model(d2, mmap=True)


# --------------------------------------------------------------------------- sizes refused up front
def test_sizes_that_do_not_fit_are_refused_with_the_estimate():
    with pytest.raises(
        ValueError, match=r"width, height: a 1000000 x 1000000 gridworld .* needs about .* GB \(\d+ bytes\)"
    ):
        G.gridworld(10**6, 10**6)
    with pytest.raises(ValueError, match=r"n_states: a GARNET model with 1000000000 states.* \(\d+ bytes\)"):
        G.garnet(10**9, 4, 10, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"n_states: a dense random MDP with 100000 states"):
        G.random_mdp(10**5, 4, rng=np.random.default_rng(0))
    # the estimate is what the model holds: refused exactly when it exceeds what is available
    need = G.sparse_model_bytes(100, 4, 3 * 400)
    assert need == 1200 * (8 + 4) + 401 * 4 + 400 * 8
    with mock.patch.object(G, "available_memory", return_value=need - 1):
        with pytest.raises(ValueError, match=rf"\({need} bytes\)"):
            G.gridworld(10, 10)
    with mock.patch.object(G, "available_memory", return_value=need):
        G.gridworld(10, 10)
    assert G.sparse_model_bytes(10**8, 4, 12 * 10**8) > G.sparse_model_bytes(10**8, 4, 12 * 10**7)  # int64 indices


def test_gridworld_model_bytes_match_the_arrays():
    m = G.gridworld(40, 30, slip=0.1)
    held = sum(a.nbytes for a in m.csr_arrays()) + m.R.nbytes
    assert held == G.sparse_model_bytes(1200, 4, m.nnz)


# --------------------------------------------------------------------------- gathered P_pi sweeps (mdp.solve)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10**6), grid=st.booleans(), rev=st.booleans())
def test_gathered_policy_sweep_is_bitwise_the_direct_one(seed, grid, rev):
    from mdp._common import bellman as K

    rng = np.random.default_rng(seed)
    m = G.gridworld(9, 7, slip=0.2, goal=(3, 3)) if grid else G.garnet(40, 3, 4, rng=rng)
    S, A = m.n_states, m.n_actions
    indptr, indices, data = m.csr_arrays()
    out_indptr = np.empty(S + 1, dtype=np.int64)
    slots = K.policy_csr_slots(indptr, A, out_indptr)
    # slots: the longest row among each state's actions
    widths = np.diff(indptr).reshape(S, A).max(axis=1)
    np.testing.assert_array_equal(np.diff(out_indptr), widths)
    buf = (out_indptr, np.empty(slots, dtype=indices.dtype), np.empty(slots, dtype=data.dtype), np.empty(S))
    pi_old = np.full(S, -1, dtype=np.int64)
    pi = rng.integers(0, A, S)
    assert K.write_policy_rows(indptr, indices, data, m.R, pi, pi_old, *buf) == S
    for _ in range(2):  # then a partial rewrite after some actions change
        v0 = rng.random(S)
        a, b = v0.copy(), v0.copy()
        da = K.gs_policy_sparse(indptr, indices, data, m.R, m.gamma, pi, a, rev)
        db = K.gs_policy_csr(*buf, m.gamma, b, rev)
        np.testing.assert_array_equal(a, b)
        assert da == db
        # the reference: T_pi applied state by state in the sweep order, in plain numpy
        ref = v0.copy()
        P = m.dense_P()
        for s in range(S - 1, -1, -1) if rev else range(S):
            ref[s] = m.R[s, pi[s]] + m.gamma * P[s, pi[s]] @ ref
        np.testing.assert_allclose(a, ref, rtol=0, atol=1e-13)
        prev = pi.copy()
        pi = np.where(rng.random(S) < 0.3, rng.integers(0, A, S), pi)
        n = K.write_policy_rows(indptr, indices, data, m.R, pi, pi_old, *buf)
        assert n == int(np.count_nonzero(pi != prev))  # only the states whose action changed
        np.testing.assert_array_equal(pi_old, pi)


# --------------------------------------------------------------------------- parallel block Gauss-Seidel (mdp.solve)
def _sparse_case(rng, grid):
    return G.gridworld(9, 7, slip=0.2, walls=[(3, 3), (4, 2)], goal=(6, 1)) if grid else G.garnet(40, 3, 4, rng=rng)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10**6), grid=st.booleans(), rev=st.booleans(), n_blocks=st.integers(1, 6))
def test_block_sweeps_are_the_reference_rule(seed, grid, rev, n_blocks):
    """Differential: the parallel block kernels against the plain-numpy rule (each block reads its
    own current values and the others' values from the start of the sweep); the gathered-P_pi
    kernel is bitwise the direct one."""
    from mdp._common import bellman as K

    rng = np.random.default_rng(seed)
    m = _sparse_case(rng, grid)
    S, A = m.n_states, m.n_actions
    ip, ix, dat = m.csr_arrays()
    blk = K.gs_blocks(ip, ix, S, A, n_blocks)
    assert blk.n_blocks == n_blocks
    v0, p0 = rng.normal(size=S), rng.integers(0, A, S)
    # Bellman sweep with the max (improves pi)
    v1, p1 = v0.copy(), p0.copy()
    d1, c1 = K.gs_bellman_sparse_blocks(ip, ix, dat, m.R, m.gamma, v1, p1, rev, 1e-12, *blk)
    v2, p2 = v0.copy(), p0.copy()
    d2, c2 = K.reference_gs_blocks(ip, ix, dat, m.R, m.gamma, v2, p2, rev, 1e-12, n_blocks)
    np.testing.assert_allclose(v1, v2, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(p1, p2)
    assert c1 == c2 and d1 == pytest.approx(d2, abs=1e-12)
    # T_pi sweep, direct and over the gathered P_pi
    v1, v2, v3 = v0.copy(), v0.copy(), v0.copy()
    d1 = K.gs_policy_sparse_blocks(ip, ix, dat, m.R, m.gamma, p0, v1, rev, *blk)
    K.reference_gs_blocks(ip, ix, dat, m.R, m.gamma, v2, p0.copy(), rev, 1e-12, n_blocks, improve=False)
    np.testing.assert_allclose(v1, v2, rtol=0, atol=1e-12)
    out_indptr = np.empty(S + 1, dtype=np.int64)
    slots = K.policy_csr_slots(ip, A, out_indptr)
    buf = (out_indptr, np.empty(slots, dtype=ix.dtype), np.empty(slots, dtype=dat.dtype), np.empty(S))
    K.write_policy_rows(ip, ix, dat, m.R, p0, np.full(S, -1, dtype=np.int64), *buf)
    d3 = K.gs_policy_csr_blocks(*buf, m.gamma, v3, rev, *blk)
    np.testing.assert_array_equal(v1, v3)
    assert d1 == d3
    if n_blocks == 1:  # one block is plain Gauss-Seidel
        v4 = v0.copy()
        K.gs_policy_sparse(ip, ix, dat, m.R, m.gamma, p0, v4, rev)
        np.testing.assert_allclose(v1, v4, rtol=0, atol=1e-13)


def test_block_split_windows_and_safe_ranges_known_values():
    """Known value (worked by hand): a 9 x 7 gridworld cut in 2 blocks of 31 and 32 states; rows
    move at most one grid row (9 states), so block 0 reads states 31..39 of block 1 and block 1
    reads 22..30 of block 0; the states whose four rows stay inside: 0..21 and 40..62."""
    from mdp._common import bellman as K

    m = G.gridworld(9, 7, slip=0.1)
    ip, ix, _ = m.csr_arrays()
    starts, win, safe, hoff, halo = K.gs_blocks(ip, ix, 63, 4, 2)
    np.testing.assert_array_equal(starts, [0, 31, 63])
    np.testing.assert_array_equal(win, [[0, 0, 31, 40], [22, 31, 63, 63]])
    np.testing.assert_array_equal(safe, [[0, 22], [40, 63]])
    assert list(hoff) == [0, 9, 18] and halo.shape == (18,)


def test_block_sweeps_do_not_depend_on_the_thread_count():
    import numba

    from mdp._common import bellman as K

    m = G.gridworld(60, 50, slip=0.1)
    ip, ix, dat = m.csr_arrays()
    S, A = m.n_states, m.n_actions
    blk = K.gs_blocks(ip, ix, S, A, 4)
    rng = np.random.default_rng(3)
    v0, p0 = rng.normal(size=S), rng.integers(0, A, S)
    outs = []
    before = numba.get_num_threads()
    try:
        for threads in sorted({1, numba.config.NUMBA_NUM_THREADS}):
            numba.set_num_threads(threads)
            v, p = v0.copy(), p0.copy()
            for k in range(6):
                K.gs_bellman_sparse_blocks(ip, ix, dat, m.R, m.gamma, v, p, k % 2 == 1, 1e-12, *blk)
            outs.append((v, p))
    finally:
        numba.set_num_threads(before)
    for v, p in outs[1:]:
        np.testing.assert_array_equal(v, outs[0][0])
        np.testing.assert_array_equal(p, outs[0][1])


def test_solve_on_blocks_is_certified_and_agrees_with_the_serial_sweeps():
    """mdp.solve on the block sweeps (forced on a small model by lowering the size threshold):
    certified, within tol of the single-threaded path's answer, same greedy policy."""
    import importlib

    solve_mod = importlib.import_module("mdp.solvers.solve")
    m = G.gridworld(30, 80, slip=0.1, walls=[(10, y) for y in range(70)], gamma=0.99)
    serial = mdp.solve(m, tol=1e-8)
    assert solve_mod._gs_split(m) is None  # below the size threshold: single-threaded
    with mock.patch.object(solve_mod, "_SERIAL_NNZ", 1), mock.patch.object(solve_mod, "_GS_BLOCKS", 3):
        blk = solve_mod._gs_split(m)
        assert blk is not None and blk.n_blocks == 3
        res = mdp.solve(m, tol=1e-8)
    assert res.converged and res.error_bound <= 1e-8
    np.testing.assert_allclose(res.v, serial.v, rtol=0, atol=2e-8)
    np.testing.assert_array_equal(res.pi, serial.pi)
    ref = mdp.certify(m, res.v)
    assert ref.error_bound <= 1e-7


def test_solve_keeps_garnets_single_threaded():
    """Garnet successors are uniform over all states: every block would read most of the others,
    so the split is refused and the sweeps stay single-threaded."""
    import importlib

    solve_mod = importlib.import_module("mdp.solvers.solve")
    m = G.garnet(2000, 3, 5, rng=np.random.default_rng(0))
    with mock.patch.object(solve_mod, "_SERIAL_NNZ", 1):
        assert solve_mod._gs_split(m) is None


def test_greedy_rewards_and_bracket_width_kernels():
    from mdp._common import bellman as K

    rng = np.random.default_rng(5)
    R = rng.integers(0, 4, (500, 4)).astype(float)  # many ties: the first maximiser wins
    pi, tv = np.empty(500, dtype=np.int64), np.empty(500)
    K.greedy_rewards(R, pi, tv)
    np.testing.assert_array_equal(pi, R.argmax(axis=1))
    np.testing.assert_array_equal(tv, R.max(axis=1))
    t = rng.normal(size=1001) * 1e3
    lo, hi = -0.37, 2.9
    assert K.max_bracket_width(t, lo, hi) == ((t + hi) - (t + lo)).max()


def test_sparse_solve_answered_at_zero_returns_q_equal_to_r():
    """The check at v = 0 is free (q = R): a sparse solve certified there returns q = R + gamma shift P1."""
    m = G.gridworld(5, 4, slip=0.1, gamma=0.5)
    res = mdp.solve(m, tol=10.0)
    assert res.n_iter == 0 and len(res.residuals) == 1
    shift = res.v[0]  # v = 0 + shift
    np.testing.assert_allclose(res.q, m.R + m.gamma * shift * m.row_sums(), rtol=0, atol=1e-15)


# --------------------------------------------------------------------------- evaluation scheme of sparse models
def test_sparse_solve_picks_jacobi_on_fast_mixing_and_gauss_seidel_on_slow_models():
    """Known value (policy iteration, exact) and the choice: a garnet at gamma 0.999 mixes in a few
    steps (measured on garnet(10^4, 4, 5): second eigenvalue of P_pi 0.58; Gauss-Seidel sweeps took
    14,080 T_pi sweeps and 32 checks there); the probe picks Jacobi. A gridworld keeps Gauss-Seidel."""
    import importlib

    solve_mod = importlib.import_module("mdp.solvers.solve")
    g = G.garnet(3000, 4, 5, rng=np.random.default_rng(0), gamma=0.999)
    res = mdp.solve(g, tol=1e-7)
    assert res.method == "modified_policy_iteration[adaptive,jacobi]"
    assert res.converged and res.error_bound <= 1e-7 and len(res.residuals) < 30
    exact = mdp.policy_iteration(g)
    np.testing.assert_allclose(res.v, exact.v, rtol=0, atol=1e-7)
    grid = G.gridworld(40, 30, slip=0.1, gamma=0.99)
    res = mdp.solve(grid, tol=1e-8)
    assert res.method == "modified_policy_iteration[adaptive,gauss-seidel]"
    np.testing.assert_allclose(res.v, mdp.policy_iteration(grid).v, rtol=0, atol=1e-8)
    # the choice itself, from the first check's T v and greedy policy
    for m, want in ((g, "jacobi"), (grid, "gauss-seidel")):
        state = solve_mod._EvalState(target=1e-9)
        pi, tv = m.R.argmax(axis=1).astype(np.int64), m.R.max(axis=1)
        scheme, start = solve_mod._choose_scheme(m, tv, pi, state)
        assert scheme == want and start.shape == (m.n_states,) and np.isfinite(start).all()


def test_sparse_solve_without_gathered_rows_keeps_gauss_seidel():
    """Very uneven rows (one action reaching every state): no gathered P_pi, so no Jacobi evaluation."""
    import importlib

    solve_mod = importlib.import_module("mdp.solvers.solve")
    S, A = 60, 3
    rng = np.random.default_rng(4)
    P = np.zeros((S, A, S))
    P[:, 0, :] = rng.dirichlet(np.ones(S), size=S)
    for a in (1, 2):
        P[np.arange(S), a, rng.integers(0, S, S)] = 1.0
    m = TabularMDP(sp.csr_matrix(P.reshape(S * A, S)), rng.random((S, A)), 0.95)
    state = solve_mod._EvalState(target=1e-9)
    scheme, _ = solve_mod._choose_scheme(m, m.R.max(axis=1), m.R.argmax(axis=1).astype(np.int64), state)
    assert scheme == "gauss-seidel" and state.pcsr is False
    res = mdp.solve(m, tol=1e-8)
    np.testing.assert_allclose(res.v, mdp.policy_iteration(m).v, rtol=0, atol=1e-8)


def test_jacobi_span_kernel_is_the_numpy_step():
    from mdp._common import bellman as K

    m = G.garnet(200, 3, 4, rng=np.random.default_rng(2))
    S, A = m.n_states, m.n_actions
    ip, ix, dat = m.csr_arrays()
    pi = np.random.default_rng(3).integers(0, A, S)
    out_indptr = np.empty(S + 1, dtype=np.int64)
    slots = K.policy_csr_slots(ip, A, out_indptr)
    buf = (out_indptr, np.empty(slots, dtype=ix.dtype), np.empty(slots, dtype=dat.dtype), np.empty(S))
    K.write_policy_rows(ip, ix, dat, m.R, pi, np.full(S, -1, dtype=np.int64), *buf)
    v = np.random.default_rng(5).normal(size=S)
    w = np.empty(S)
    lo, hi = K.policy_backup_csr_span(*buf, m.gamma, v, w)
    ref = m.R[np.arange(S), pi] + m.gamma * m.dense_P()[np.arange(S), pi] @ v
    np.testing.assert_allclose(w, ref, rtol=0, atol=1e-13)
    assert lo == pytest.approx((w - v).min(), abs=0) and hi == pytest.approx((w - v).max(), abs=0)
