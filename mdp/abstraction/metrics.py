"""Bisimulation metrics: the Ferns-Panangaden-Precup fixed point with exact Kantorovich distances,
and the on-policy (pi-bisimulation) metric of Castro (2020).

Ferns, Panangaden & Precup (2004), "Metrics for finite Markov decision processes", UAI, Thm 4.5;
(2011) SIAM J. Comput. 40(6), Thm 3.12 (docs/papers/foundations.md section 10). For weights ``c_R > 0``,
``0 <= c_T < 1`` the operator on pseudometrics

    F(d)(s, t) = max_a [ c_R |R[s, a] - R[t, a]| + c_T W_d(P[s, a, :], P[t, a, :]) ],
    W_d(p, q) = min_{couplings x of p, q} sum_ij x_ij d(i, j)            (Kantorovich / W_1)

is a ``c_T``-contraction in sup norm (``W_d`` is 1-Lipschitz in ``d``) and monotone, so the
iterates ``d_0 = 0``, ``d_{t+1} = F(d_t)`` are non-decreasing, ``d_t <= d*`` and

    ||d* - d_{t+1}||_inf <= c_T / (1 - c_T) ||d_{t+1} - d_t||_inf               (the stopping certificate).

Value bound: if ``c_T >= gamma`` then ``c_R |V*(s) - V*(t)| <= d*(s, t)`` (induction on value
iteration: if ``c_R V_k`` is ``d_k``-Lipschitz then ``c_R |(p - q)^T V_k| <= W_{d_k}(p, q)`` by
Kantorovich duality, so ``c_R V_{k+1}`` is ``F(d_k)``-Lipschitz). The default weights here are
``c_R = 1``, ``c_T = gamma`` (the issue's convention), for which it reads exactly
``|V*(s) - V*(t)| <= d*(s, t)``. (Ferns et al. require ``c_R + c_T <= 1`` to keep ``d`` in
``[0, 1]``; with ``c_R = 1 - gamma``, ``c_T = gamma`` the bound reads ``|V*(s) - V*(t)| <=
d*(s, t) / (1 - gamma)``; both are the same metric up to the factor ``1 / (1 - gamma)``.)

Kantorovich distances are computed exactly by a transportation simplex in numba (north-west
corner start, MODI potentials, Dantzig entering rule; Dantzig 1951, Hitchcock 1941) on the supports
of the two distributions; a degenerate problem that has not terminated within an iteration cap
falls back to scipy's HiGHS LP (:func:`_kantorovich_lp`, the reference twin). Each iteration of the
metric solves ``A S (S - 1) / 2`` transport problems: meant for models with tens to a few hundred
states.

On-policy metric (Castro 2020, "Scalable methods for computing state similarity in deterministic
Markov decision processes", AAAI, Thm 2-3): for a fixed policy ``pi``,
``d^pi(s, t) = |r_pi(s) - r_pi(t)| + gamma W_{d^pi}(P_pi(s), P_pi(t))``, the unique fixed point of
a ``gamma``-contraction, with ``|V^pi(s) - V^pi(t)| <= d^pi(s, t)``. For deterministic ``P_pi``
(next state ``N(s)``) ``W`` collapses to ``d(N(s), N(t))``, and Castro's update
``d(s, t) <- |r_pi(s) - r_pi(t)| + gamma d(N(s), N(t))`` applied to sampled pairs converges to it.
"""

from __future__ import annotations

from dataclasses import field

import numpy as np
import scipy.sparse as sp
from numba import njit

from mdp._common import result
from mdp._validation import (
    as_float_array,
    check_gamma,
    check_mdp,
    check_policy,
    check_positive_int,
    check_rng,
    check_tol,
)

__all__ = [
    "MetricResult",
    "bisimulation_metric",
    "on_policy_bisimulation_metric",
    "kantorovich",
    "bisimulation_operator",
]

_RC_TOL = 1e-12


# ----------------------------------------------------------------------------------- transport kernel
@njit(cache=True)
def _north_west(a, b, x, basic):
    """North-west corner basis: a staircase spanning tree of ``m + n - 1`` cells (degenerate zeros
    included) carrying a feasible coupling of ``a`` and ``b`` in ``x``."""
    m, n = a.shape[0], b.shape[0]
    ra = a.copy()
    rb = b.copy()
    i = 0
    j = 0
    while True:
        f = min(ra[i], rb[j])
        x[i, j] = f
        basic[i, j] = True
        ra[i] -= f
        rb[j] -= f
        if i == m - 1 and j == n - 1:
            break
        if i == m - 1:
            j += 1
        elif j == n - 1:
            i += 1
        elif ra[i] <= rb[j]:
            i += 1
        else:
            j += 1


@njit(cache=True)
def _walk_basis(basic, C, root, u, v, uset, vset, stack, par_row, par_col):
    """Depth-first walk of the basis tree from row ``root``: potentials ``u_i + v_j = C_ij`` with
    ``u[root] = 0``, and each node's parent (``par_col[j]`` the row above column ``j``,
    ``par_row[i]`` the column above row ``i``). Nodes: rows ``0..m-1``, columns ``m..m+n-1``."""
    m, n = basic.shape
    uset[:] = False
    vset[:] = False
    u[root] = 0.0
    uset[root] = True
    par_row[root] = -1
    top = 0
    stack[top] = root
    top += 1
    while top > 0:
        top -= 1
        node = stack[top]
        if node < m:
            for jj in range(n):
                if basic[node, jj] and not vset[jj]:
                    v[jj] = C[node, jj] - u[node]
                    vset[jj] = True
                    par_col[jj] = node
                    stack[top] = m + jj
                    top += 1
        else:
            jj = node - m
            for ii in range(m):
                if basic[ii, jj] and not uset[ii]:
                    u[ii] = C[ii, jj] - v[jj]
                    uset[ii] = True
                    par_row[ii] = jj
                    stack[top] = ii
                    top += 1


@njit(cache=True)
def _coupling_cost(x, C):
    cost = 0.0
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            cost += x[i, j] * C[i, j]
    return cost


@njit(cache=True)
def _transport(a, b, C, max_iter):
    """Exact ``min sum_ij x_ij C_ij`` over couplings of ``a`` (m,) and ``b`` (n,) (equal total mass).

    Transportation simplex: north-west corner basis, potentials ``u_i + v_j = C_ij`` on the basis
    (:func:`_walk_basis` from row 0), entering cell of most negative reduced cost, pivot around the
    unique cycle (the same walk from the entering row gives the tree paths). Returns ``(cost, x,
    ok)``; ``ok`` is False when ``max_iter`` pivots did not reach optimality (degenerate cycling; the
    caller falls back to an LP).
    """
    m = a.shape[0]
    n = b.shape[0]
    x = np.zeros((m, n))
    basic = np.zeros((m, n), dtype=np.bool_)
    _north_west(a, b, x, basic)
    if m == 1 or n == 1:
        return _coupling_cost(x, C), x, True
    scale = 0.0
    for i in range(m):
        for j in range(n):
            scale = max(scale, abs(C[i, j]))
    rc_tol = _RC_TOL * (1.0 + scale)
    u = np.zeros(m)
    v = np.zeros(n)
    uset = np.zeros(m, dtype=np.bool_)
    vset = np.zeros(n, dtype=np.bool_)
    stack = np.empty(m + n, dtype=np.int64)
    par_row = np.empty(m, dtype=np.int64)
    par_col = np.empty(n, dtype=np.int64)
    ok = False
    for _ in range(max_iter):
        _walk_basis(basic, C, 0, u, v, uset, vset, stack, par_row, par_col)
        # entering cell
        best = -rc_tol
        i0 = -1
        j0 = -1
        for ii in range(m):
            for jj in range(n):
                if not basic[ii, jj]:
                    rc = C[ii, jj] - u[ii] - v[jj]
                    if rc < best:
                        best = rc
                        i0 = ii
                        j0 = jj
        if i0 < 0:
            ok = True
            break
        # tree paths from row i0 (the potentials this walk leaves are not used)
        _walk_basis(basic, C, i0, u, v, uset, vset, stack, par_row, par_col)
        # walk col j0 -> ... -> row i0: col->row steps are '-' cells, row->col steps are '+' cells
        theta = np.inf
        li = -1
        lj = -1
        c = j0
        while True:
            r = par_col[c]
            if x[r, c] < theta:
                theta = x[r, c]
                li = r
                lj = c
            if r == i0:
                break
            c = par_row[r]
        c = j0
        x[i0, j0] += theta
        while True:
            r = par_col[c]
            x[r, c] -= theta
            if r == i0:
                break
            c2 = par_row[r]
            x[r, c2] += theta
            c = c2
        basic[i0, j0] = True
        basic[li, lj] = False
        x[li, lj] = 0.0
    return _coupling_cost(x, C), x, ok


@njit(cache=True)
def _pair_transport(indptr, indices, data, i, j, d, max_iter):
    """``W_d`` between CSR rows ``i`` and ``j`` (normalised to unit mass) on their supports."""
    lo_i, hi_i = indptr[i], indptr[i + 1]
    lo_j, hi_j = indptr[j], indptr[j + 1]
    m = hi_i - lo_i
    n = hi_j - lo_j
    # identical rows (same support, same weights): distance 0
    if m == n:
        same = True
        for k in range(m):
            if indices[lo_i + k] != indices[lo_j + k] or data[lo_i + k] != data[lo_j + k]:
                same = False
                break
        if same:
            return 0.0, True
    a = np.empty(m)
    b = np.empty(n)
    sa = 0.0
    sb = 0.0
    for k in range(m):
        a[k] = data[lo_i + k]
        sa += a[k]
    for k in range(n):
        b[k] = data[lo_j + k]
        sb += b[k]
    for k in range(m):
        a[k] /= sa
    for k in range(n):
        b[k] /= sb
    C = np.empty((m, n))
    for p in range(m):
        for q in range(n):
            C[p, q] = d[indices[lo_i + p], indices[lo_j + q]]
    cost, _, ok = _transport(a, b, C, max_iter)
    return cost, ok


@njit(cache=True)
def _all_pairs_transport(indptr, indices, data, S, A, d, max_iter):
    """``W[s, t, a] = W_d(P[s, a], P[t, a])`` for ``s < t`` (upper triangle) and the failure mask."""
    W = np.zeros((S, S, A))
    fail = np.zeros((S, S, A), dtype=np.bool_)
    for s in range(S):
        for t in range(s + 1, S):
            for a in range(A):
                w, ok = _pair_transport(indptr, indices, data, s * A + a, t * A + a, d, max_iter)
                W[s, t, a] = w
                fail[s, t, a] = not ok
    return W, fail


@njit(cache=True)
def _sampled_updates(d, r, nxt, gamma, pairs):
    """Castro's tabular update on the given pairs: ``d[s, t] = |r[s] - r[t]| + gamma d[N(s), N(t)]``."""
    for k in range(pairs.shape[0]):
        s = pairs[k, 0]
        t = pairs[k, 1]
        if s == t:
            continue
        val = abs(r[s] - r[t]) + gamma * d[nxt[s], nxt[t]]
        d[s, t] = val
        d[t, s] = val


# ----------------------------------------------------------------------------------- references
def _kantorovich_lp(p, q, C) -> float:
    """Reference twin: ``W`` by scipy's HiGHS on the full ``n_p x n_q`` transport LP."""
    from scipy.optimize import linprog

    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p = p / p.sum()
    q = q / q.sum()
    mp, nq = p.size, q.size
    # row sums p, column sums q; the last column constraint is implied (and dropped: with floating
    # masses it would be inconsistent at the 1e-16 level)
    A_eq = sp.vstack(
        [sp.kron(sp.eye(mp), np.ones((1, nq))), sp.kron(np.ones((1, mp)), sp.eye(nq)).tocsr()[:-1]]
    ).tocsr()
    res = linprog(
        np.asarray(C, dtype=np.float64).ravel(),
        A_eq=A_eq,
        b_eq=np.concatenate([p, q[:-1]]),
        bounds=(0, None),
        method="highs",
        options={"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10},
    )
    if res.status != 0:  # pragma: no cover - a feasible bounded LP
        raise RuntimeError(f"HiGHS failed on a transport LP: {res.message}")
    return float(res.fun)


# ----------------------------------------------------------------------------------- results
@result
class MetricResult:
    """A bisimulation (pseudo)metric.

    Attributes
    ----------
    d : ndarray, shape (S, S)
        Final iterate: symmetric, zero diagonal, ``d <= d*`` entrywise (iterates from 0 increase).
    error_bound : float
        Certified ``||d* - d||_inf`` (so ``d <= d* <= d + error_bound``).
    n_iter : int
    converged : bool
        ``error_bound <= tol``.
    c_R, c_T : float
        Reward and transition weights.
    increments : ndarray
        ``||d_{t+1} - d_t||_inf`` per iteration (for the sampled method: per chunk).
    method : str
    n_fallback : int
        Transport problems that fell back to HiGHS.
    """

    d: np.ndarray
    error_bound: float
    n_iter: int
    converged: bool
    c_R: float
    c_T: float
    increments: np.ndarray = field(repr=False)
    method: str = ""
    n_fallback: int = 0

    @property
    def upper(self) -> np.ndarray:
        """``d + error_bound`` off the diagonal: an entrywise upper bound on ``d*``."""
        u = self.d + self.error_bound
        np.fill_diagonal(u, 0.0)
        return u


# ----------------------------------------------------------------------------------- helpers
def _csr(P) -> sp.csr_matrix:
    # a copy: a model's sparse arrays are read-only and the clean-up below works in place
    P = sp.csr_matrix(P, dtype=np.float64, copy=True)
    P.sum_duplicates()
    P.eliminate_zeros()
    P.sort_indices()
    return P


def _check_d(d, S: int, name: str = "d") -> np.ndarray:
    d = as_float_array(d, name, ndim=2)
    if d.shape != (S, S):
        raise ValueError(f"{name} must have shape ({S}, {S}), got {d.shape}")
    if np.any(d < 0):
        i, j = np.argwhere(d < 0)[0]
        raise ValueError(f"{name} must be non-negative; {name}[{i}, {j}] = {d[i, j]}")
    return d


def _operator(P: sp.csr_matrix, R: np.ndarray, d: np.ndarray, c_R: float, c_T: float, max_iter: int):
    """``F(d)`` for the pair form ``P`` (S * A, S), rewards ``R`` (S, A); returns ``(F(d), n_fallback)``."""
    S, A = R.shape
    out = np.zeros((S, S))
    if S > 1:
        if c_T > 0:
            W, fail = _all_pairs_transport(
                P.indptr.astype(np.int64), P.indices.astype(np.int64), P.data, S, A, np.ascontiguousarray(d), max_iter
            )
            n_fb = int(fail.sum())
            for s, t, a in np.argwhere(fail):
                ri, rj = P.getrow(s * A + a), P.getrow(t * A + a)
                W[s, t, a] = _kantorovich_lp(ri.data, rj.data, d[np.ix_(ri.indices, rj.indices)])
        else:
            W = np.zeros((S, S, A))
            n_fb = 0
        dr = np.abs(R[:, None, :] - R[None, :, :])
        F = (c_R * dr + c_T * W).max(axis=2)
        iu = np.triu_indices(S, 1)
        out[iu] = F[iu]
        out = out + out.T
    else:
        n_fb = 0
    return out, n_fb


def _iterate(P, R, c_R, c_T, tol, max_iter, method):
    S = R.shape[0]
    d = np.zeros((S, S))
    incs = []
    n_fb = 0
    bound = np.inf
    it = 0
    cap = 50 * (2 * S + 2) + 200
    for it in range(1, max_iter + 1):
        new, fb = _operator(P, R, d, c_R, c_T, cap)
        n_fb += fb
        inc = float(np.abs(new - d).max())
        # monotone iteration from 0: new >= d; clip round-off so d stays a lower bound on d*
        d = np.maximum(new, d)
        incs.append(inc)
        # certificate, widened by the round-off of the iteration itself (~eps |d| per step, summed
        # geometrically)
        slack = 16 * np.finfo(np.float64).eps * (1.0 + float(d.max())) / (1 - c_T)
        bound = (c_T / (1 - c_T) * inc if c_T > 0 else 0.0) + slack
        if bound <= tol:
            break
    return MetricResult(
        d=d,
        error_bound=float(bound),
        n_iter=it,
        converged=bool(bound <= tol),
        c_R=c_R,
        c_T=c_T,
        increments=np.array(incs),
        method=method,
        n_fallback=n_fb,
    )


def _weights(c_R, c_T, gamma):
    c_R = check_tol(c_R, "c_R")
    if c_T is None:  # the default: the model's discount
        if not gamma < 1:
            raise ValueError(
                f"c_T defaults to m.gamma = {float(gamma)}; the metric needs c_T < 1 for the operator "
                "to contract: pass c_T explicitly (in [0, 1)) or use a discounted model"
            )
        c_T = gamma
    c_T = check_tol(c_T, "c_T", allow_zero=True)
    if not c_T < 1:
        raise ValueError(f"c_T must lie in [0, 1) for the operator to contract, got {c_T}")
    return c_R, c_T


# ----------------------------------------------------------------------------------- public API
def kantorovich(p, q, d, *, return_coupling: bool = False):
    """Kantorovich (Wasserstein-1) distance ``W_d(p, q) = min_x sum_ij x_ij d[i, j]`` over couplings.

    Parameters
    ----------
    p, q : array_like, shape (n,)
        Probability vectors (non-negative, each summing to 1 within ``1e-8``; renormalised).
    d : array_like, shape (n, n)
        Non-negative ground cost (a pseudometric for ``W`` to be one).
    return_coupling : bool
        Also return the optimal coupling ``x`` (n, n).

    Returns
    -------
    float, or (float, ndarray)
        Computed exactly by the transportation simplex on the supports (HiGHS if it cycles).

    Examples
    --------
    >>> import numpy as np
    >>> from mdp.abstraction import kantorovich
    >>> d = np.abs(np.subtract.outer(np.arange(3.0), np.arange(3.0)))
    >>> round(kantorovich([1, 0, 0], [0, 0.5, 0.5], d), 12)
    1.5
    """
    p = as_float_array(p, "p", ndim=1)
    q = as_float_array(q, "q", ndim=1)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    n = p.shape[0]
    d = _check_d(d, n)
    for name, x in (("p", p), ("q", q)):
        if np.any(x < 0):
            raise ValueError(f"{name} must be non-negative; {name}[{int(np.argmin(x))}] = {x.min()}")
        if abs(x.sum() - 1.0) > 1e-8:
            raise ValueError(f"{name} must sum to 1 (within 1e-8), sums to {x.sum():.12g}")
    ip, iq = np.flatnonzero(p), np.flatnonzero(q)
    a, b = p[ip] / p[ip].sum(), q[iq] / q[iq].sum()
    C = np.ascontiguousarray(d[np.ix_(ip, iq)])
    cost, x, ok = _transport(a, b, C, 50 * (ip.size + iq.size) + 200)
    if not ok:  # pragma: no cover - degenerate cycling
        cost = _kantorovich_lp(a, b, C)
        x = None
    if not return_coupling:
        return float(cost)
    full = np.zeros((n, n))
    if x is not None:
        full[np.ix_(ip, iq)] = x
    return float(cost), full


def bisimulation_operator(m, d, *, c_R: float = 1.0, c_T: float | None = None) -> np.ndarray:
    """One application of the Ferns operator ``F(d)`` (see the module docstring), shape (S, S)."""
    m = check_mdp(m, discounted=False)
    c_R, c_T = _weights(c_R, c_T, m.gamma)
    d = _check_d(d, m.n_states)
    P = _csr(m.P if m.is_sparse else np.asarray(m.P).reshape(m.n_states * m.n_actions, m.n_states))
    return _operator(P, np.asarray(m.R, dtype=np.float64), d, c_R, c_T, 50 * (2 * m.n_states + 2) + 200)[0]


def bisimulation_metric(
    m, c_R: float = 1.0, c_T: float | None = None, *, tol: float = 1e-8, max_iter: int = 10_000
) -> MetricResult:
    """The bisimulation metric ``d*`` of Ferns, Panangaden & Precup (2004), by fixed-point iteration.

    Parameters
    ----------
    m : TabularMDP
        Dense or CSR model with ``S`` states, ``A`` actions.
    c_R : float, default 1.0
        Reward weight, ``> 0``.
    c_T : float or None, default None (= ``m.gamma``)
        Transition weight, ``0 <= c_T < 1``.
    tol : float, default 1e-8
        Stop when the certificate ``c_T / (1 - c_T) ||d_{t+1} - d_t||_inf`` is at most ``tol``.
    max_iter : int

    Returns
    -------
    MetricResult
        ``d`` (S, S) with ``d <= d* <= d + error_bound``. With the defaults (``c_R = 1``,
        ``c_T = gamma``), ``|V*(s) - V*(t)| <= d*(s, t)`` for all pairs; in general
        ``c_R |V*(s) - V*(t)| <= d*(s, t)`` when ``c_T >= gamma``. ``d*(s, t) = 0`` iff ``s`` and ``t``
        are bisimilar (Ferns et al. 2004, Thm 4.5).

    Notes
    -----
    Cost per iteration: ``A S (S - 1) / 2`` exact transport problems on the supports of the rows
    (a dense row gives an ``S x S`` problem); iterations ``~ log(tol) / log(c_T)``.
    """
    m = check_mdp(m, discounted=False)
    c_R, c_T = _weights(c_R, c_T, m.gamma)
    tol = check_tol(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    P = _csr(m.P if m.is_sparse else np.asarray(m.P).reshape(m.n_states * m.n_actions, m.n_states))
    return _iterate(P, np.asarray(m.R, dtype=np.float64), c_R, c_T, tol, max_iter, "ferns[transport simplex]")


def _deterministic_next(P_pi: sp.csr_matrix, tol: float = 1e-12) -> np.ndarray:
    """``N(s)`` for a deterministic ``P_pi``; raises if a row has more than one successor."""
    big = P_pi.multiply(P_pi > tol).tocsr()
    big.eliminate_zeros()
    counts = np.diff(big.indptr)
    if np.any(counts != 1) or np.any(np.abs(big.data - 1.0) > 1e-9):
        s = int(np.argmax((counts != 1)))
        raise ValueError(
            f"method='deterministic'/'sampled' needs deterministic transitions under pi; state {s} has "
            f"{int(counts[s])} successors with probability > {tol:g} (use method='lp')"
        )
    return big.indices.astype(np.int64)


def on_policy_bisimulation_metric(
    m, pi, *, method: str = "lp", tol: float = 1e-8, max_iter: int = 10_000, rng=None, chunk: int | None = None
) -> MetricResult:
    """The pi-bisimulation metric of Castro (2020): ``d^pi(s, t) = |r_pi(s) - r_pi(t)| + gamma
    W_{d^pi}(P_pi(s), P_pi(t))``, with ``|V^pi(s) - V^pi(t)| <= d^pi(s, t)``.

    Parameters
    ----------
    m : TabularMDP
        Discounted model (``gamma < 1``).
    pi : array_like
        Policy, ``(S,)`` actions or ``(S, A)`` rows.
    method : {"lp", "deterministic", "sampled"}
        ``"lp"``: fixed-point iteration with exact Kantorovich distances (any model).
        ``"deterministic"``: ``P_pi`` deterministic (``N(s)`` its successor), synchronous iteration
        of ``d <- |r_pi(s) - r_pi(t)| + gamma d[N(s), N(t)]`` (vectorised, exact).
        ``"sampled"``: Castro's update applied to uniformly sampled pairs (``rng`` required),
        chunks of ``chunk`` (default ``S^2``) updates until the certificate
        ``||F(d) - d||_inf / (1 - gamma)`` is at most ``tol``; the iterates from 0 are monotone.
    tol : float
        Certified accuracy ``||d - d^pi||_inf``.
    max_iter : int
        Iterations (``"lp"``, ``"deterministic"``) or chunks (``"sampled"``).
    rng : numpy.random.Generator, only for ``"sampled"``.
    """
    m = check_mdp(m, discounted=False)
    gamma = check_gamma(m.gamma, "m.gamma")
    pi = check_policy(pi, m.n_states, m.n_actions)
    tol = check_tol(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    if method not in ("lp", "deterministic", "sampled"):
        raise ValueError(f"method must be 'lp', 'deterministic' or 'sampled', got {method!r}")
    S = m.n_states
    P_pi = _csr(m.policy_matrix(pi))
    r = np.asarray(m.policy_reward(pi), dtype=np.float64)
    if method == "lp":
        return _iterate(P_pi, r[:, None], 1.0, gamma, tol, max_iter, "castro[transport simplex]")
    nxt = _deterministic_next(P_pi)
    dr = np.abs(r[:, None] - r[None, :])
    d = np.zeros((S, S))
    incs = []
    if method == "deterministic":
        bound = np.inf
        it = 0
        for it in range(1, max_iter + 1):
            new = dr + gamma * d[np.ix_(nxt, nxt)]
            np.fill_diagonal(new, 0.0)
            inc = float(np.abs(new - d).max())
            d = np.maximum(new, d)
            incs.append(inc)
            bound = gamma / (1 - gamma) * inc + 16 * np.finfo(np.float64).eps * (1.0 + float(d.max())) / (1 - gamma)
            if bound <= tol:
                break
        return MetricResult(
            d=d,
            error_bound=float(bound),
            n_iter=it,
            converged=bool(bound <= tol),
            c_R=1.0,
            c_T=gamma,
            increments=np.array(incs),
            method="castro[deterministic]",
        )
    if rng is None:
        raise TypeError("method='sampled' needs rng, a numpy.random.Generator")
    rng = check_rng(rng)
    chunk = S * S if chunk is None else check_positive_int(chunk, "chunk")
    bound = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        before = d.copy()
        _sampled_updates(d, r, nxt, gamma, rng.integers(0, S, size=(chunk, 2)))
        incs.append(float(np.abs(d - before).max()))
        full = dr + gamma * d[np.ix_(nxt, nxt)]
        np.fill_diagonal(full, 0.0)
        # ||d - d*|| <= ||F d - d|| / (1 - gamma), plus round-off
        bound = (float(np.abs(full - d).max()) + 16 * np.finfo(np.float64).eps * (1.0 + float(d.max()))) / (1 - gamma)
        if bound <= tol:
            break
    return MetricResult(
        d=d,
        error_bound=float(bound),
        n_iter=it,
        converged=bool(bound <= tol),
        c_R=1.0,
        c_T=gamma,
        increments=np.array(incs),
        method="castro[sampled]",
    )
