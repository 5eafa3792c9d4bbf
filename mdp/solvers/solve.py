"""``mdp.solve``: a fast method with a certified ``tol``-accurate answer.

Modified policy iteration with MacQueen span bounds (Puterman & Shin 1978; Puterman 1994,
Sec. 6.5-6.6) and an adaptive amount of policy evaluation:

* **check** (every outer step; the first, at ``v = 0``, is free since ``q = R`` there): one full
  Jacobi Bellman sweep from ``v`` gives ``q = R + gamma P v``,
  the greedy ``pi`` and ``D = T v - v``. Since ``T v + gamma/(1-gamma) min D <= v* <= T v +
  gamma/(1-gamma) max D`` (Thm 6.6.3) and ``min D <= D <= max D``,

      v + min(D) / (1 - gamma) <= v* <= v + max(D) / (1 - gamma),

  so ``v + (min D + max D) / (2 (1 - gamma))`` is within ``span(D) / (2 (1 - gamma))`` of ``v*``.
  That is the returned value once the bound is ``<= tol``, and the greedy policy loses at most
  ``gamma / (1 - gamma) * span(D)`` (as in :func:`mdp.certify`).
  *Dense models: the check reads only the rows of ``P`` that can win* (a per-sweep test for
  suboptimal actions in the spirit of MacQueen 1967 and Puterman 1994, Sec. 6.7; the inequality
  is derived here). ``ub[s, a] >= q(s, a)`` is kept at the values ``v'`` of the previous check;
  since ``P >= 0``, ``q(s, a)`` at ``v`` is at most ``ub[s, a] + gamma sigma max(v - v')``
  (``sigma`` the row sum; plus a rounding slack of ``4 (S + 2) eps`` times the size of ``q``). The
  previous greedy action is computed first, from the gathered ``P_pi`` block, and any action whose
  grown bound lies below a ``q`` already computed at ``s`` is skipped; the rest are computed
  exactly. ``T v``, the greedy ``pi`` (first maximiser) and so the certificate are exactly those of
  a full sweep. Near the optimum ``v - v'`` is nearly constant and few rows are read (measured on
  ``random_mdp(2000, 8)``, gamma 0.99: 24% of ``P`` at the first check, 14% at the last, of which
  the ``P_pi`` block is 12.5%). Since the other entries of ``q`` are then not at hand, the returned
  ``q`` is computed on first access (one sweep, then kept; :class:`mdp.solvers._core.Deferred`).
  Sparse models: a full sweep, and the returned ``q`` is the sweep's ``q`` shifted by ``gamma``
  times the same constant (``P`` is stochastic), so no extra sweep is needed.
* **evaluate** (between checks), ``pi`` fixed:
  dense models: Jacobi sweeps ``u <- T_pi u`` over ``P_pi`` gathered once into a contiguous
  ``(S, S)`` block (``1/A`` of ``P``, multithreaded) until ``span(T_pi u - u) <= (1 - gamma) tol / 2``
  (or the observed contraction predicts the next application will be) or a budget of ``4 A`` sweeps;
  sparse models: Gauss-Seidel sweeps alternating the state order, first with the ``max`` over
  actions (improving ``pi`` on the way; values cross the state space in one pass, which slowly
  mixing models such as gridworlds need) until no action changes, then of ``T_pi`` alone until the
  sweep's change is ``<= (1 - gamma) tol / 2`` (tightened if a check fails). Models with at least
  ``2^21`` stored entries sweep two contiguous blocks of states at once, one thread each, each
  block reading the other's values from the start of the sweep
  (:func:`mdp._common.bellman.gs_blocks`): deterministic, the same for any thread count, and
  single-threaded when the blocks' rows reach far outside them (garnets). Fast-mixing sparse
  models are evaluated as dense ones instead (Jacobi sweeps over the gathered ``P_pi``, stopped on
  their span): at the first evaluation five sweeps of each kind run from the same start and the
  one whose change falls faster per sweep is kept (:func:`_choose_scheme`); Gauss-Seidel turns a
  constant error into a ramp along the sweep order that decays only like ``gamma^k``, Jacobi leaves
  it to the MacQueen shift (``garnet(10^5, 4, 5)`` at gamma 0.999: 16.1 s with Gauss-Seidel,
  0.1 s with Jacobi; gridworlds keep Gauss-Seidel).

Rows of ``P`` are stochastic only within the model's ``atol`` (and float32 rounding); every
``1 / (1 - gamma)`` above is then ``1 / (1 - gamma sigma)`` with ``sigma`` the largest or smallest
stored row sum, whichever makes the bound valid for the sign of the shift (see
:func:`mdp.solvers._core.macqueen_bounds`), and ``q`` is shifted by ``gamma * shift * (P 1)``.

Round-off: the check sweep's ``D`` is computed in float64 and is within ``err_D`` of the exact
``T v - v`` (:func:`mdp.solvers._core.backup_rounding`, worst case ``(n + 2) u (max|R| + gamma
||v||)`` for rows of ``n`` entries), so the bracket uses ``min D - err_D`` and ``max D + err_D`` and
the bound holds for the exact optimum of the stored model. ``err_D / (1 - gamma)`` is a floor no
check can go below. When ``tol`` is under it and the bound is within 1.25 times the floor (or within
4 times and ``span(D)`` stopped falling from one check to the next: the noise level), the check is
redone, and every later check done, *re-centred* on the mid-range ``c`` of ``v``: ``T v = c + T_c(v - c)``
with rewards ``R - (1 - gamma) c + gamma c (sigma - 1)`` (:func:`mdp.solvers._core.recentred_sweep`; a
full sweep), whose round-off scales with ``span(v)`` instead of ``||v||`` - 76-774x lower near ``v*``
of fast-mixing models (measured on random MDPs at gamma 0.99 and 0.999). When ``tol`` is under that
floor too, ``solve`` stops by the same rule, warns and returns the certified answer with
``converged=False``. Since the row sums
are known only to a range, the bracket also widens with ``|D|`` itself; when the span alone would
meet the target, ``v`` moves by the bracket's midpoint and is checked again before more evaluation.

Evaluation only moves ``v``; the certificate comes from the check sweep alone, so the answer is
certified whatever the evaluation did. Both operators used between checks are ``gamma``-contractions
with the same fixed points, so the iteration converges (Puterman 1994, Thm 6.5.5 and 6.3.4).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from mdp._common import ConvergenceWarning, StallTracker
from mdp._common import bellman as K
from mdp._common.deprecation import migrate_signature
from mdp._validation import check_positive_int, check_tol
from mdp.model import add_scaled_row_sums
from mdp.solvers._core import (
    UNDERFLOW,
    UNIT_ROUNDOFF,
    Deferred,
    SolverResult,
    backup_rounding,
    contraction,
    difference_rounding,
    macqueen_shifts,
    q_values,
    recentred_sweep,
    require_mdp,
)

__all__ = ["solve"]

# A kernel call touching fewer entries than this runs single-threaded: such a sweep takes well
# under a millisecond, and the thread-pool launch - on a small or busy machine, waiting for a
# descheduled worker thread (oversubscription) - can cost more than the sweep itself.
_SERIAL_NNZ = 1 << 21


@dataclass
class _EvalState:
    """What the evaluations carry from one check to the next (mutable working state, not a result).

    ``target``: the span the evaluation sweeps aim for, tightened when a check fails after the
    evaluation met it (``reached``); ``rev``: the Gauss-Seidel sweep order; ``block``: the gathered
    ``P_pi`` rows and the policy they belong to (dense models).
    """

    target: float
    rev: bool = False
    reached: bool = False
    block: tuple = (None, None)
    pcsr: object = None  # sparse: the gathered P_pi ((indptr, indices, data, r_pi), its policy), False: not used
    blocks: object = None  # sparse: the block split of the parallel Gauss-Seidel sweeps (K.GSBlocks), or None
    scheme: str | None = None  # sparse: "gauss-seidel" or "jacobi", chosen at the first evaluation


class _EliminationCheck:
    """The dense check sweep that reads only the rows of ``P`` that can still win.

    ``ub[s, a] >= q(s, a)`` holds at ``self.v_ref`` (exactly ``q = R`` at ``v = 0``); at ``v`` the
    bound grows by ``gamma sigma max(v - v_ref)`` plus a rounding slack (see the module docstring).
    """

    def __init__(self, m, serial: bool, state: _EvalState):
        self.m, self.state = m, state
        self.kernel = K.bellman_elim_dense_serial if serial else K.bellman_elim_dense
        self.v_ref = np.zeros(m.n_states)
        self.sig_lo, self.sig_hi = m.row_sum_range

    def __call__(self, v, ub, tv, pi):
        m, g, S = self.m, self.m.gamma, self.m.n_states
        dmax = float((v - self.v_ref).max())
        inc = g * (self.sig_hi if dmax >= 0 else self.sig_lo) * dmax
        # rounding: each q is a sum of S + 1 terms, |q| <= r_max + gamma sigma_hi |v|_max, in float64,
        # at the old and at the new values, and one more addition per elimination
        scale = m.r_max + g * self.sig_hi * max(float(np.abs(v).max()), float(np.abs(self.v_ref).max()))
        inc += 4.0 * (S + 2) * np.finfo(np.float64).eps * scale
        M, _ = self.state.block
        self.kernel(m.P, M, self.state.block[1], m.R, g, v, ub, inc, tv, pi)
        self.state.block = (M, pi.copy())
        self.v_ref = v.copy()


def _sparse_check(m, serial: bool):
    indptr, indices, data = m.csr_arrays()
    bq = K.bellman_q_sparse_serial if serial else K.bellman_q_sparse

    def check(v, q, tv, pi):
        bq(indptr, indices, data, m.R, m.gamma, v, q, tv, pi)

    return check


def _bracket(v, d, err_d, v_err, c_lo, c_hi):
    """``(lower, upper, bound, floor)``: ``v + lower <= v* <= v + upper`` from ``D = T v - v`` known
    to ``err_d`` (Thm 6.6.3 with ``min D <= D <= max D``, the row-sum range in ``c_lo, c_hi``); the
    bound at the midpoint, and what it would be at ``span(D) = 0`` (the round-off floor)."""
    lo_x, hi_x = float(d.min()) - err_d, float(d.max()) + err_d
    lower = lo_x / (c_hi if lo_x < 0 else c_lo)
    upper = hi_x / (c_hi if hi_x > 0 else c_lo)
    # the divisions, the halving and v + shift round: a few ulps of the values
    pad = 4.0 * UNIT_ROUNDOFF * (float(np.abs(v).max()) + max(abs(lower), abs(upper))) + v_err + 4.0 * UNDERFLOW
    return lower, upper, 0.5 * (upper - lower) + pad, err_d / c_hi + pad


def _warn_unconverged(why, tol, floor, bound, last_span, max_iter):
    if why == "floor":
        warnings.warn(
            f"solve: tol={tol:g} is below the float64 round-off floor {floor:.3g} of this model "
            f"(worst-case error of one Bellman sweep re-centred on the mid-range of v, about "
            f"(row length + 2) * u * (max|R_c| + gamma * span(v) / 2) plus a few ulps of R_c, over 1 - gamma); "
            f"returning the best certified answer, error_bound={bound:.3g}",
            ConvergenceWarning,
            stacklevel=4,
        )
    elif why == "stall":
        warnings.warn(
            f"solve: tol={tol:g} cannot be certified: span(T v - v) stopped falling at {last_span:.3g} (the "
            f"round-off of the evaluation sweeps, above the re-centred check's floor {floor:.3g}); returning "
            f"the best certified answer, error_bound={bound:.3g}",
            ConvergenceWarning,
            stacklevel=4,
        )
    else:
        # the last check certifies its midpoint as well as it would have on convergence
        warnings.warn(
            f"solve stopped at max_iter={max_iter} full sweeps before tol={tol:g}; certified error_bound={bound:.3g}",
            ConvergenceWarning,
            stacklevel=4,
        )


def _result(m, v, q, pi, d, shift, sw, tv, err_tv, err_d, n_full, bound, converged, kind, spans):
    """The :class:`SolverResult` at the midpoint ``v + shift`` of the last check's bracket."""
    v_out = v + shift
    if m.is_sparse:
        # R + gamma P (v + shift) = q + gamma shift (P 1): exact with the stored row sums, no extra
        # sweep; in place (q is this call's own array), so no (S, A) temporaries at 10^7 states
        indptr, _, data = m.csr_arrays()
        q_out = np.ascontiguousarray(q, dtype=np.float64)
        add_scaled_row_sums(indptr, data, m.gamma * shift, q_out.reshape(-1))
    else:
        # the check read only the rows that could win: q costs one more sweep, done when asked for
        v_q = v_out.copy()  # its own copy: unaffected if a caller makes result.v writable again
        q_out = Deferred(lambda: q_values(m, v_q))
    # pi greedy w.r.t. v (and v + shift): v^pi >= T v + k min D, v* <= T v + k max D (Thm 6.6.3);
    # after a re-centred check in the frame of v - c (both bounds move by c: the gap does not)
    # (v_hi - v_lo).max() of the two bound arrays v_lo = t + lo, v_hi = t + hi, without them
    t, c = (sw.tv, abs(sw.c)) if sw is not None else (tv, 0.0)
    lo, hi = macqueen_shifts(m, t, d, err_tv, err_d)
    v_hi_max = max(abs(float(t.max()) + hi), abs(float(t.min()) + hi))  # |t + hi| is largest at an end
    pol_pad = 4.0 * UNIT_ROUNDOFF * (v_hi_max + c) + 4.0 * UNDERFLOW
    return SolverResult(
        v=v_out,
        pi=pi.copy(),  # greedy w.r.t. v, hence w.r.t. v + shift for stochastic rows
        q=q_out,
        n_iter=n_full,
        error_bound=float(bound),
        policy_error_bound=float(K.max_bracket_width(t, lo, hi) + pol_pad),
        converged=converged,
        method=f"modified_policy_iteration[adaptive,{kind}]",
        residuals=np.asarray(spans),
    )


def _evaluate_jacobi(m, serial, tv, pi, state, budget):
    """Jacobi ``T_pi`` sweeps from ``tv`` until ``span(T_pi u - u) <= target`` or ``4 A`` sweeps.

    ``P_pi`` is gathered into one contiguous ``(S, S)`` block first (``1/A`` of ``P``), so the sweeps
    stream it instead of hopping between rows of ``P``; later calls update only the rows of the
    states whose action changed.
    """
    S = m.n_states
    g = m.gamma
    gather = K.gather_policy_rows_serial if serial else K.gather_policy_rows
    mv = K.affine_matvec_serial if serial else K.affine_matvec
    # the block of the previous evaluation is reused: only the rows whose action changed are copied
    M, M_pi = state.block
    if M is None:
        M = np.empty((S, S), dtype=m.P.dtype)
        gather(m.P, pi, M)
    else:
        moved = np.flatnonzero(pi != M_pi)
        M[moved] = m.P[moved, pi[moved]]
    state.block = (M, pi.copy())
    r = m.R[np.arange(S), pi]

    def step(u, w):
        mv(M, r, g, u, w)
        e = w - u
        return float(e.max() - e.min())

    return _jacobi_sweeps(step, tv.copy(), 4 * m.n_actions, state), 0


def _jacobi_sweeps(step, u, n_max, state):
    """Jacobi ``T_pi`` sweeps ``w = T_pi u`` (``step(u, w)`` returns ``span(w - u)``) from ``u`` until
    the span is ``<= state.target`` or ``n_max`` sweeps; returns the last iterate."""
    w = np.empty_like(u)
    state.reached = False
    prev = 0.0
    for _ in range(n_max):
        sp = step(u, w)
        u, w = w, u
        # stop at the target, or once the observed contraction predicts that the next application
        # of T_pi (which the check sweep performs) lands below it; the check has the last word
        if sp <= state.target or (prev > 0.0 and min(1.0, sp / prev) * sp <= state.target):
            state.reached = True
            break
        prev = sp
    return u


# Gauss-Seidel sweeps of models with at least _SERIAL_NNZ entries run on this many blocks of states
# in parallel (mdp._common.bellman.gs_blocks: each block reads the others' values from the start of
# the sweep, so the result depends on the block count, not on the number of threads). Not used when
# the blocks' rows reach far outside them (the halo windows over _GS_HALO_FRACTION of the states,
# e.g. garnets with uniform successors): the sweeps then stay single-threaded.
_GS_BLOCKS = 2
_GS_HALO_FRACTION = 0.125


def _gs_split(m):
    """The block split of the parallel sweeps for ``m``, or ``None`` (too small or too coupled)."""
    if m.nnz < _SERIAL_NNZ or _GS_BLOCKS < 2:
        return None
    indptr, indices, _ = m.csr_arrays()
    blocks = K.gs_blocks(indptr, indices, m.n_states, m.n_actions, _GS_BLOCKS)
    return blocks if blocks.halo_size <= _GS_HALO_FRACTION * m.n_states else None


# T_pi sweeps of a round after which P_pi is gathered into its own CSR arrays: a sweep over the
# (S * A, S) form reads, per state, its indptr entry, R's row and the cache lines of the A rows
# around the one it needs; the gathered rows are contiguous (1/A of P): 2.0x less CPU per sweep on
# the 1000 x 1000 gridworld. The first gather costs about one such sweep, later ones rewrite only
# the states whose action changed; from the third sweep of a round on it pays.
_GATHER_AFTER = 2


def _gather_policy(m, pi, state):
    """``(indptr, indices, data, r_pi)`` of ``P_pi`` in its own CSR arrays, kept on ``state``: the
    first call lays out ``max_a`` row length slots per state and gathers every row, later calls
    rewrite only the states whose action changed (:func:`mdp._common.bellman.write_policy_rows`).
    ``None`` when the slots would take over twice the average policy's entries (very uneven rows);
    the sweeps then read the ``(S * A, S)`` form directly."""
    indptr, indices, data = m.csr_arrays()
    if state.pcsr is None:
        S = m.n_states
        out_indptr = np.empty(S + 1, dtype=np.int64)
        slots = int(K.policy_csr_slots(indptr, m.n_actions, out_indptr))
        if slots > 2 * m.nnz // m.n_actions + S:
            state.pcsr = False
            return None
        buf = (out_indptr, np.empty(slots, dtype=indices.dtype), np.empty(slots, dtype=data.dtype), np.empty(S))
        state.pcsr = (buf, np.full(S, -1, dtype=pi.dtype))
    if state.pcsr is False:
        return None
    buf, pi_old = state.pcsr
    K.write_policy_rows(indptr, indices, data, m.R, pi, pi_old, *buf)
    return buf


# Sparse models pick their evaluation once per solve, at the first evaluation: _PROBE Jacobi and
# _PROBE Gauss-Seidel T_pi sweeps from the same start, and the one whose change falls faster per
# sweep (over its last two sweeps) evaluates from then on. Gauss-Seidel carries values across a
# slowly mixing model in one pass (gridworlds: 0.83 per sweep against gamma for Jacobi); on a fast
# mixing one it turns the constant part c of the error into a ramp of about (1 - gamma) c along
# the sweep order, so span(T v - v) falls only like gamma^k, while Jacobi leaves the constant part
# to the MacQueen shift and the span falls at the mixing rate (garnet(10^4, 4, 5), gamma 0.999:
# 0.58 per sweep).
_PROBE = 5


def _choose_scheme(m, tv, pi, state):
    """``("jacobi" | "gauss-seidel", the winner's iterate)`` after the probe sweeps from ``tv``."""
    gathered = _gather_policy(m, pi, state)
    if gathered is None:  # very uneven rows: no gathered P_pi, Gauss-Seidel on the (S A, S) form
        return "gauss-seidel", tv.copy()
    g, blk = m.gamma, state.blocks
    spans = []

    def step(u, w):
        lo, hi = K.policy_backup_csr_span(*gathered, g, u, w)
        spans.append(hi - lo)
        return np.inf  # never stop early: the probe runs its _PROBE sweeps

    u = _jacobi_sweeps(step, tv.copy(), _PROBE, state)
    x, changes = tv.copy(), []
    for _ in range(_PROBE):
        if blk is None:
            changes.append(K.gs_policy_csr(*gathered, g, x, state.rev))
        else:
            changes.append(K.gs_policy_csr_blocks(*gathered, g, x, state.rev, *blk))
        state.rev = not state.rev

    def rate(xs):
        return (xs[-1] / xs[-3]) ** 0.5 if xs[-3] > 0.0 else 0.0

    return ("jacobi", u) if rate(spans) < rate(changes) else ("gauss-seidel", x)


def _evaluate_sparse(m, serial, tv, pi, state, budget):
    """The evaluation between two checks of a sparse model: the scheme the probe chose
    (:func:`_choose_scheme`, at the first call), Jacobi sweeps over the gathered ``P_pi`` as on
    dense models or :func:`_evaluate_gauss_seidel`."""
    start = None
    if state.scheme is None:
        state.scheme, start = _choose_scheme(m, tv, pi, state)
    if state.scheme == "jacobi":
        gathered = _gather_policy(m, pi, state)  # only the states whose action changed are rewritten

        def step(u, w):
            lo, hi = K.policy_backup_csr_span(*gathered, m.gamma, u, w)
            return hi - lo

        return _jacobi_sweeps(step, tv.copy() if start is None else start, 4 * m.n_actions, state), 0
    return _evaluate_gauss_seidel(m, serial, tv if start is None else start, pi, state, budget)


def _evaluate_gauss_seidel(m, serial, tv, pi, state, budget):
    """Alternating-order Gauss-Seidel MPI between two checks.

    Rounds of two Bellman sweeps (forward and reversed order; they improve ``pi``) followed by
    cheap ``T_pi`` sweeps (one CSR row per state) until their change is below
    ``max(target, eta * change of the last Bellman sweep)``; once a round's Bellman sweeps switch no
    action the ``T_pi`` sweeps go down to ``target`` and control returns to the check.
    """
    indptr, indices, data = m.csr_arrays()
    g, R = m.gamma, m.R
    v = tv.copy()
    n_full = 0
    state.reached = False
    eta = 1e-2
    blk = state.blocks
    while n_full < budget:
        changed = 0
        diff = 0.0
        for _ in range(2):
            if n_full >= budget:
                break
            if blk is None:
                dd, cc = K.gs_bellman_sparse(indptr, indices, data, R, g, v, pi, state.rev, 1e-12)
            else:
                dd, cc = K.gs_bellman_sparse_blocks(indptr, indices, data, R, g, v, pi, state.rev, 1e-12, *blk)
            state.rev = not state.rev
            n_full += 1
            changed += cc
            diff = dd
        stable = changed == 0
        goal = state.target if stable else max(state.target, eta * diff)
        gathered = None
        for k in range(64 * m.n_actions):
            if k == _GATHER_AFTER:
                gathered = _gather_policy(m, pi, state)
            if gathered is None:
                if blk is None:
                    dd = K.gs_policy_sparse(indptr, indices, data, R, g, pi, v, state.rev)
                else:
                    dd = K.gs_policy_sparse_blocks(indptr, indices, data, R, g, pi, v, state.rev, *blk)
            elif blk is None:
                dd = K.gs_policy_csr(*gathered, g, v, state.rev)
            else:
                dd = K.gs_policy_csr_blocks(*gathered, g, v, state.rev, *blk)
            state.rev = not state.rev
            if dd <= goal:
                break
        if stable or diff <= state.target:
            state.reached = dd <= state.target
            break
    return v, n_full


@migrate_signature(was_positional=("tol",))
def solve(m, *, tol: float = 1e-8, max_iter: int = 10_000) -> SolverResult:
    """Solve a discounted MDP to a certified accuracy ``tol``.

    Parameters
    ----------
    m : TabularMDP
        Discounted model, dense or sparse.
    tol : float, default 1e-8
        Certified bound on ``||v - v*||_inf`` of the returned ``v``.
    max_iter : int, default 10000
        Budget of Bellman sweeps (checks plus, for sparse models, Gauss-Seidel improvement
        sweeps).

    Returns
    -------
    SolverResult
        ``result.error_bound <= tol`` whenever ``result.converged``; when ``tol`` lies below the
        model's float64 round-off floor (see the module docstring) ``converged`` is ``False``, a
        :class:`ConvergenceWarning` says so and ``error_bound`` is the best bound reached.
        ``method`` names what ran (``"modified_policy_iteration[adaptive,jacobi]"`` for dense models,
        ``"modified_policy_iteration[adaptive,gauss-seidel]"`` or ``"...[adaptive,jacobi]"`` for sparse
        ones, whichever evaluation the first one chose). ``n_iter`` counts
        Bellman sweeps (checks, which on dense models read only the rows that can win, and
        Gauss-Seidel improvement sweeps), ``residuals`` holds ``span(T v - v)`` at each check. On
        dense models ``q`` is computed when first accessed (one sweep over ``P``); until then the
        result holds a reference to ``m``.

    Examples
    --------
    >>> import numpy as np, mdp
    >>> m = mdp.generators.random_mdp(50, 4, rng=np.random.default_rng(0), gamma=0.99)
    >>> res = mdp.solve(m, tol=1e-8)
    >>> res.converged and res.error_bound <= 1e-8
    True
    """
    m = require_mdp(m)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    S = m.n_states
    serial = m.nnz < _SERIAL_NNZ  # for the full sweeps; the dense evaluation decides on S * S
    # Rows of P sum to 1 only within atol (and float32 rounding): the bracket uses the stored range.
    sig_lo, sig_hi = m.row_sum_range
    c_lo, c_hi = 1.0 - m.gamma * sig_lo, 1.0 - m.gamma * sig_hi
    contraction(m)
    state = _EvalState(target=0.5 * (1.0 - m.gamma) * tol)
    if m.is_sparse:
        state.blocks = _gs_split(m)
        check_sweep, evaluate, kind, serial_eval = (
            _sparse_check(m, serial),
            _evaluate_sparse,
            "gauss-seidel",
            serial,
        )
    else:
        check_sweep, evaluate, kind = _EliminationCheck(m, serial, state), _evaluate_jacobi, "jacobi"
        serial_eval = S * S < _SERIAL_NNZ

    # The check at v = 0 needs no sweep: q = R + gamma P 0 = R exactly.
    v = np.zeros(S)
    if m.is_sparse:
        # q is written by the first check sweep (R itself if the check at v = 0 is the answer)
        pi, tv = np.empty(S, dtype=np.int64), np.empty(S)
        K.greedy_rewards(m.R, pi, tv)
        q = np.empty((S, m.n_actions))
    else:
        q = np.array(m.R, dtype=np.float64)  # upper bounds on q at the last check (see _EliminationCheck)
        pi = np.argmax(q, axis=1).astype(np.int64)
        tv = q[np.arange(S), pi]
    spans = []
    n_full = 0
    why = None  # "floor", "stall" or "budget" when the loop stops unconverged
    recentred = False
    centred_checks = False  # set once the plain sweep's round-off floor blocks tol
    stall = StallTracker(3)  # re-centred checks without a new smallest span(D)
    sw = None  # the last re-centred check
    while True:
        if centred_checks:
            # the check re-centred on the mid-range of v: its round-off scales with span(v), not
            # ||v|| (mdp.solvers._core.recentred_sweep); a full sweep, no row elimination
            sw = recentred_sweep(m, v)
            n_full += 1
            d, pi[:] = sw.d, sw.pi
            tv = sw.tv + sw.c  # T v~ (v~ = u + c, within sw.v_err of v), the evaluation's start
            if m.is_sparse:
                q = sw.q + sw.c
            err_tv, err_d, v_err = sw.err_tv, sw.err_d, sw.v_err
        else:
            if spans:
                check_sweep(v, q, tv, pi)
                n_full += 1
            d = tv - v
            # the computed D is within err_d of the exact T v - v (round-off; see mdp.certify)
            err_tv = backup_rounding(m, float(np.abs(v).max()))
            err_d = difference_rounding(err_tv, float(np.abs(d).max()))
            v_err = 0.0
        spans.append(float(d.max()) - float(d.min()))
        lower, upper, bound, floor = _bracket(v, d, err_d, v_err, c_lo, c_hi)
        if bound <= tol:
            break
        stalled = len(spans) > 1 and spans[-1] >= spans[-2]
        if floor > tol and (bound <= 1.25 * floor or (bound <= 4.0 * floor and stalled)):
            if not centred_checks:
                if n_full >= max_iter:
                    why = "budget"  # the budget, not the floor, stops it
                    break
                # the plain sweep's floor: check again at the same v, re-centred (and from now on)
                centred_checks = True
                continue
            why = "floor"  # as close to the floor as it gets, or the span stalled at the round-off noise
            break
        # the evaluation sweeps between re-centred checks are plain ones, whose round-off scales with
        # ||v||: span(D) can stall above the re-centred floor, where more sweeps certify nothing more
        if centred_checks and stall.update(spans[-1]):
            why = "stall"
            break
        if n_full >= max_iter:
            why = "budget"
            break
        # The row sums are known only to a range, so the bracket widens with |D| itself
        # (1 / c_lo != 1 / c_hi). A small span with a large common offset in D: move v by the
        # midpoint shift (D becomes ~ (1 - gamma) times smaller) and check again, no evaluation.
        if len(spans) > 1 and not recentred and 0.5 * spans[-1] / c_hi + floor <= max(tol, 1.25 * floor) < bound:
            v = v + 0.5 * (upper + lower)
            recentred = True
            continue
        recentred = False
        if state.reached:
            state.target *= 1e-2  # evaluation met its target yet the check failed: tighten
        # the budget keeps one sweep for the check that follows the evaluation
        v, n_extra = evaluate(m, serial_eval, tv, pi, state, max_iter - n_full - 1)
        n_full += n_extra

    if why is not None:
        _warn_unconverged(why, tol, floor, bound, spans[-1], max_iter)
    if m.is_sparse and len(spans) == 1 and not centred_checks:
        q[...] = m.R  # answered at v = 0, where q = R
    kind = state.scheme or kind  # sparse: the evaluation the probe chose
    return _result(
        m, v, q, pi, d, 0.5 * (upper + lower), sw, tv, err_tv, err_d, n_full, bound, why is None, kind, spans
    )
