"""Re-centred certificates: the sweep at ``v`` evaluated as ``c + T_c (v - c)``.

``mdp.certify`` and, once the plain sweep's round-off floor blocks ``tol``, ``mdp.solve`` evaluate the
Bellman sweep at ``v - c`` with rewards ``R - (1 - gamma) c + gamma c (sigma - 1)`` (``sigma - 1`` the
row-sum defects, summed to one rounding by Ogita-Rump-Oishi ``Sum2``), so the worst-case round-off
scales with ``span(v)`` instead of ``||v||`` (``mdp/solvers/_core.py::recentred_sweep``). Everything is checked against exact
references (``math.fsum``, long double, ``fractions``) with no slack.
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np
import pytest
from _helpers import long_double_optimum, long_double_policy_value
from hypothesis import given, settings
from hypothesis import strategies as st

import mdp
from mdp._common.accurate import defect_error_bound, reference_row_sum_defects
from mdp.solvers._core import backup_rounding, contraction, difference_rounding, recentred_sweep
from theory_checks.strategies import mdps, value_vectors


# ------------------------------------------------------------------------------ row-sum defects
@settings(max_examples=30)
@given(m=mdps(max_states=9), data=st.data())
def test_row_sum_defects_are_within_their_bound_of_the_exact_ones(m, data):
    form = data.draw(st.sampled_from(["dense", "sparse", "float32"]))
    mm = {"dense": m.to_dense(), "sparse": m.to_sparse(), "float32": m.astype(np.float32)}[form]
    tau, err = mm.row_sum_defects()
    P = np.asarray(mm.dense_P(), dtype=np.float64)
    for s in range(mm.n_states):
        for a in range(mm.n_actions):
            true = sum(Fraction(float(x)) for x in P[s, a]) - 1
            assert abs(Fraction(float(tau[s, a])) - true) <= Fraction(err)
    # the math.fsum twin (exactly rounded) agrees to the last bits: Sum2 is as accurate as a sum in
    # twice the working precision, rounded once, not always correctly rounded
    assert np.abs(tau - reference_row_sum_defects(P)).max() <= err
    assert mm.row_sum_defects()[0] is tau  # computed once, kept


def test_sum2_beats_a_plain_sum_on_a_long_row():
    # 10^6 entries of 1e-6 (as stored) minus 1: a left-to-right float64 sum drifts far outside the
    # Sum2 bound, the Sum2 kernel stays inside it
    from mdp._common.accurate import sum2_rows_dense

    n = 1_000_000
    x = np.full((1, n), 1e-6)
    out = np.empty(1)
    sum2_rows_dense(x, -1.0, out)
    exact = Fraction(1e-6) * n - 1
    bound = Fraction(defect_error_bound(n, abs(float(out[0]))))
    assert abs(Fraction(float(out[0])) - exact) <= bound
    assert abs(Fraction(float(np.cumsum(x[0])[-1] - 1.0)) - exact) > 1000 * bound


# ------------------------------------------------------------------------------ the sweep
@settings(max_examples=40)
@given(
    m=mdps(max_states=8, gammas=(0.9, 0.99, 0.999)),
    scale=st.sampled_from([1.0, 1e3, 1e6]),
    offset=st.sampled_from([0.0, 1e3, -1e6]),
    data=st.data(),
)
def test_recentred_sweep_is_within_its_bounds(m, scale, offset, data):
    # any v (large common offsets included): every computed q + c is within err_tv of the exact
    # R + gamma P (u + c), and d within err_d of the exact T v~ - v~
    m = mdp.TabularMDP(m.P, m.R * scale, m.gamma)
    v = data.draw(value_vectors(m.n_states, min_value=-1, max_value=1)) * scale + offset
    sw = recentred_sweep(m, v)
    ld = np.longdouble
    vt = sw.u.astype(ld) + ld(sw.c)  # the vector the sweep is exact for
    assert np.abs(vt - v.astype(ld)).max() <= sw.v_err
    q_ld = np.asarray(m.R, dtype=ld) + ld(m.gamma) * np.einsum("sat,t->sa", np.asarray(m.dense_P(), dtype=ld), vt)
    assert np.abs((sw.q.astype(ld) + ld(sw.c)) - q_ld).max() <= sw.err_tv + 4e-19 * np.abs(q_ld).max()
    d_ld = q_ld.max(axis=1) - vt
    assert np.abs(sw.d.astype(ld) - d_ld).max() <= sw.err_d + 4e-19 * np.abs(q_ld).max()


@pytest.mark.parametrize("case", ["cancelling v", "large R"])
def test_each_term_of_the_sweep_bound_is_needed(case):
    # err_tv = gamma_{n+2} (max|r| + gamma sigma ||u||) + err_r. Two sweeps where one side carries the
    # error: v = +-1e6 with mid-range 0 and R ~ 1e-6 (the dot products of u cancel: the ||u|| term
    # alone covers it), and R ~ 1e6 with v ~ 1e-3 (forming r and adding it round: the |r| terms, in
    # err_r and in gamma_{n+2} max|r|, cover overlapping roundings and are not told apart here).
    rng = np.random.default_rng(11)
    m0 = mdp.generators.random_mdp(60, 3, rng=rng, gamma=0.9)
    if case == "cancelling v":
        R = m0.R * 1e-6
        v = np.where(np.arange(60) % 2 == 0, 1.0, -1.0) * (1e6 + rng.random(60))
        v[0], v[1] = 2e6, -2e6  # mid-range exactly 0
    else:
        R = 1e6 + m0.R
        v = rng.random(60) * 1e-3
    m = mdp.TabularMDP(m0.P, R, 0.9)
    sw = recentred_sweep(m, v)
    ld = np.longdouble
    vt = sw.u.astype(ld) + ld(sw.c)
    q_ld = np.asarray(m.R, dtype=ld) + ld(m.gamma) * np.einsum("sat,t->sa", np.asarray(m.dense_P(), dtype=ld), vt)
    err = float(np.abs((sw.q.astype(ld) + ld(sw.c)) - q_ld).max())
    from mdp._common.roundoff import _gamma_n

    u_term = _gamma_n(m) * m.contraction * float(np.abs(sw.u).max())
    r_term = _gamma_n(m) * float(np.abs(sw.r).max())
    assert err <= sw.err_tv
    assert err > (r_term if case == "cancelling v" else u_term)  # the other term alone is too small


@pytest.mark.parametrize("r", [3.3, -7.1, 1e-3])
@pytest.mark.parametrize("gamma", [0.9, 0.999, 0.99999])
def test_certify_brackets_the_exact_value_of_one_state(r, gamma):
    # v* = r / (1 - gamma) in exact rational arithmetic; the re-centred sweep at v ~ v* has u = 0, so
    # its whole error is the forming of R - c + gamma c sigma: dropping that term misses v*
    m = mdp.TabularMDP(np.ones((1, 1, 1)), np.array([[r]]), gamma)
    v_star = Fraction(r) / (1 - Fraction(gamma))
    for rel in (0.0, 1e-15, -3e-13, 1e-9):
        v = np.array([float(v_star) * (1.0 + rel)])
        c = mdp.certify(m, v)
        assert Fraction(float(c.lower[0])) <= v_star <= Fraction(float(c.upper[0]))
        assert abs(Fraction(float(c.v[0])) - v_star) <= Fraction(c.error_bound)
        assert abs(Fraction(float(v[0])) - v_star) <= Fraction(c.input_error_bound)


# ------------------------------------------------------------------------------ what it buys
def _fast_mixing(gamma, sparse=False):
    m = mdp.generators.random_mdp(120, 6, rng=np.random.default_rng(5), gamma=gamma)
    return m.to_sparse() if sparse else m


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_solve_certifies_below_the_plain_round_off_floor(sparse):
    # gamma = 0.999, ||v*|| ~ 900, span(v*) ~ 0.5: the plain sweep's floor is ~1e-8, so tol = 2e-9
    # used to end with converged=False and a warning; the re-centred checks certify it
    m = _fast_mixing(0.999, sparse)
    plain = mdp.round_off_floor(m)
    tol = 2e-9
    assert plain > 4 * tol
    with warnings.catch_warnings():
        warnings.simplefilter("error", mdp.ConvergenceWarning)
        res = mdp.solve(m, tol=tol)
    assert res.converged and res.error_bound <= tol
    v_star, _ = long_double_optimum(m)
    assert np.abs(res.v - v_star).max() <= res.error_bound
    assert (v_star - long_double_policy_value(m, res.pi)).max() <= res.policy_error_bound
    c = mdp.certify(m, res.v)
    assert np.all(c.lower <= v_star) and np.all(v_star <= c.upper)
    # the certificate's round-off term against the plain sweep's at the same v
    plain_here = backup_rounding(m, float(np.abs(res.v).max())) / (1.0 - contraction(m))
    assert c.round_off * 20 < plain_here


def test_solve_still_stops_at_the_recentred_floor():
    # a single state has span(v) = 0: only forming R_c and the last roundings are left; the plain floor
    # was 1.1e-9, the re-centred one is ~2e-12, and 1e-13 is below it
    m = mdp.TabularMDP(np.ones((1, 1, 1)), np.array([[3.3]]), 0.999)
    with pytest.warns(mdp.ConvergenceWarning, match="round-off floor .*re-centred"):
        res = mdp.solve(m, tol=1e-13)
    assert not res.converged and res.error_bound < 1e-11
    v_star = Fraction(3.3) / (1 - Fraction(0.999))
    assert abs(Fraction(float(res.v[0])) - v_star) <= Fraction(res.error_bound)


def test_solve_above_the_floor_does_not_recentre(monkeypatch):
    # the default path is unchanged: no re-centred sweep unless the plain floor blocks tol
    import importlib

    solve_module = importlib.import_module("mdp.solvers.solve")

    def refuse(*args, **kwargs):
        raise AssertionError("re-centred sweep above the plain floor")

    monkeypatch.setattr(solve_module, "recentred_sweep", refuse)
    for m in (_fast_mixing(0.99), _fast_mixing(0.999, sparse=True)):
        assert mdp.solve(m, tol=1e-6).converged
    with pytest.raises(AssertionError, match="re-centred sweep"):
        mdp.solve(_fast_mixing(0.999), tol=2e-9)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
def test_solve_stops_when_the_span_stalls_above_the_recentred_floor(sparse):
    # tol below what the iteration reaches: span(D) stalls at the evaluation sweeps' round-off (they are
    # plain sweeps) above the re-centred floor; solve stops a few checks later instead of spending its
    # whole budget (it ran all 10000 sweeps before this rule), and says why
    m = _fast_mixing(0.999, sparse)
    with pytest.warns(mdp.ConvergenceWarning, match="cannot be certified: span.*stopped falling"):
        res = mdp.solve(m, tol=1e-12)
    assert not res.converged and res.n_iter < 300
    v_star, _ = long_double_optimum(m)
    assert np.abs(res.v - v_star).max() <= res.error_bound < 1e-8


def test_solve_blames_the_budget_not_the_floor():
    # the budget runs out at the check that would switch to re-centred checks: the warning says max_iter
    # (it said "below the round-off floor", and one more sweep certifies tol)
    m = _fast_mixing(0.999)
    tol = 2e-9
    runs = {}
    for budget in range(1, 8):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            res = mdp.solve(m, tol=tol, max_iter=budget)
        runs[budget] = (res.converged, [str(x.message) for x in w])
        assert res.n_iter <= budget
        if not res.converged:
            assert len(w) == 1 and "max_iter" in str(w[0].message) and "floor" not in str(w[0].message)
    assert any(ok for ok, _ in runs.values()) and not runs[1][0]


def test_recentring_never_loses_to_the_plain_sweep():
    # gamma = 0 makes T v = R whatever v: the plain sweep is exact, re-centring on c = 1e15 would cost
    # ulps of c; the sweep falls back to c = 0 when the plain bound is no larger
    m0 = mdp.generators.random_mdp(7, 2, rng=np.random.default_rng(0), gamma=0.9)
    v = 1e15 + np.arange(7.0)
    for gamma in (0.0, 0.5, 0.9):
        m = m0.with_gamma(gamma)
        c = mdp.certify(m, v)
        plain = difference_rounding(backup_rounding(m, float(np.abs(v).max())), c.residual) / (1.0 - contraction(m))
        assert c.round_off <= plain * (1 + 1e-12)
        v_star, _ = long_double_optimum(m)
        assert np.all(c.lower <= v_star) and np.all(v_star <= c.upper)
    m = m0.with_gamma(0.0)
    sw = recentred_sweep(m, v)
    assert sw.c == 0.0 and sw.v_err == 0.0 and sw.err_tv == backup_rounding(m, float(np.abs(v).max()))


def test_certify_near_the_float64_limit():
    # the mid-range of v is computed without overflowing (max + min of two 1e308 entries is inf), and a
    # v beyond the 1e300 every solver keeps to is refused with a ValueError naming v (it gave NaN)
    m = mdp.generators.random_mdp(2, 2, rng=np.random.default_rng(0), gamma=0.5)
    for v in ([1e300, 1e300], [9e299, -1e300], [-1e300, -1e300]):
        c = mdp.certify(m, np.array(v))
        for x in (c.lower, c.upper, c.v, c.error_bound, c.input_error_bound, c.policy_error_bound):
            assert np.all(np.isfinite(x))
    for v in ([1e308, 1e308], [1.5e308, 1.6e308], [1e308, -1e308], [1.79e308, 0.0]):
        with pytest.raises(
            ValueError, match=r"v has entries up to 1(\.\d+)?e\+308 in absolute value, beyond the 1e\+300"
        ):
            mdp.certify(m, np.array(v))


@pytest.mark.parametrize("gamma", [0.5, 0.9999])
@pytest.mark.parametrize("v0", [2.985191e-317, -1.25516569383e-312, 5e-324])
def test_certify_covers_underflow(gamma, v0):
    # subnormal values: a product that underflows errs by up to 2^-1075 absolutely, which a purely
    # relative bound misses (found by a fuzzing review: a bracket [1.03e-320, 1.03e-320] around v* = 0)
    for R in (0.0, 5e-324):
        m = mdp.TabularMDP(np.ones((1, 1, 1)), np.array([[R]]), gamma)
        v_star = Fraction(R) / (1 - Fraction(gamma))
        c = mdp.certify(m, np.array([v0]))
        assert Fraction(float(c.lower[0])) <= v_star <= Fraction(float(c.upper[0]))
        assert abs(Fraction(float(c.v[0])) - v_star) <= Fraction(c.error_bound)
        assert abs(Fraction(v0) - v_star) <= Fraction(c.input_error_bound)


def test_models_pickled_before_the_defect_cache_still_work():
    import pickle

    m = _fast_mixing(0.99)
    state = pickle.loads(pickle.dumps(m))
    object.__delattr__(state, "_row_defects")  # as unpickled from a file written before the slot existed
    for mm in (state, state.with_gamma(0.9)):
        assert mm.row_sum_defects()[0].shape == (m.n_states, m.n_actions)
        assert mdp.certify(mm, np.zeros(m.n_states)).error_bound > 0
