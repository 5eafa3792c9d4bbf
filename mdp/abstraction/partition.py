"""Exact and approximate bisimulation: the coarsest reward- and transition-respecting partition of
the states of a :class:`~mdp.TabularMDP`, its quotient model, and lifting back.

Definition (Givan, Dean & Greig 2003, "Equivalence notions and model minimization in Markov
decision processes", Artif. Intell. 147, Def. 4 / Thm 6; docs/papers/foundations.md section 9): a partition
``B`` of the states is a bisimulation if ``s ~ t`` implies, for every action ``a``,
``R[s, a] = R[t, a]`` and ``P(s, a, C) = P(t, a, C)`` for every block ``C``, where
``P(s, a, C) = sum_{t' in C} P[s, a, t']``. The coarsest one is unique; its quotient
``P_Q(C, a, C') = P(rep(C), a, C')``, ``R_Q(C, a) = R[rep(C), a]`` has the same optimal values,
``V*(s) = V*_Q(block(s))``, and a quotient-optimal policy lifted to the states is optimal
(docs/papers/foundations.md B1).

Algorithm: splitter-based partition refinement (Derisavi, Hermanns & Sanders 2003, "Optimal
state-space lumping in Markov chains", IPL 87; the refinable-partition data structure and
"process all but the largest piece" rule of Valmari & Franceschinis 2010), in numba
(:mod:`mdp.abstraction._refine`). Each state is scanned ``O(log n)`` times as a member of a
processed splitter, so the scans cost ``O(m log n)`` for ``m`` stored transitions and ``n``
states; sorting the touched keys inside each split block adds at most a ``log`` factor
(``O(m log^2 n)`` worst case). The benchmark ``benchmarks/bench_bisim.py`` fits the exponent on
sparse gridworlds up to ``10^6`` states. :func:`_reference` is the naive signature refinement of
docs/papers/foundations.md section 9 (``O(rounds * n^2 A)``), the plain-numpy twin used in tests.

Tolerances. Floating sums of probabilities are never exactly equal, so keys are compared with a
tolerance: ``tol = 0`` ("exact") compares rewards up to ``1e-12 * max(1, max|R|)`` and block masses
``P(s, a, C)`` up to ``1e-12`` (sorted keys are grouped so that each group spans at most that
allowance from its smallest key: no chain of small gaps merges distant keys), which merges
exactly the states that are bisimilar in real arithmetic whenever distinct masses differ by more
than ``1e-12``. ``tol > 0`` is epsilon-approximate aggregation (:func:`approximate_aggregation`
with ``tol_r = tol_p = tol``): inside a block, for every splitter and action, the keys span at
most ``tol``. Whatever the tolerance, the result reports the *measured* errors of the partition
it returns, ``eps_R = max |R[s, a] - R_Q(block(s), a)|`` and
``eps_P = max_{s, a} sum_C |P(s, a, C) - P_Q(block(s), a, C)|``, and the value-loss bounds are
computed from those, not from ``tol``.
"""

from __future__ import annotations

import numbers
from dataclasses import field

import numpy as np
import scipy.sparse as sp

from mdp._common import result
from mdp._common.deprecation import migrate_signature
from mdp._common.results import renamed_field
from mdp._validation import (
    as_float_array,
    check_gamma,
    check_mdp,
    check_policy,
    check_positive_int,
    check_rng,
    check_tol,
)
from mdp.abstraction import _refine as K
from mdp.model import TabularMDP

__all__ = [
    "BisimulationResult",
    "AggregationResult",
    "bisimulation",
    "approximate_aggregation",
    "planted_copies",
    "stripe_gridworld",
]

#: Absolute tolerance on block masses (and, times ``max(1, max|R|)``, on rewards) for ``tol = 0``.
EXACT_EPS = 1e-12


# ----------------------------------------------------------------------------------- results
@result
class BisimulationResult:
    """A partition of the states into blocks, its quotient model and the maps between them.

    Attributes
    ----------
    labels : ndarray of int64, shape (S,)
        Block of each state; canonical (blocks numbered by first occurrence in state order, so
        ``labels[0] == 0`` and a stable partition always gets the same labels).
    n_blocks : int
        ``Q``, the number of blocks.
    quotient : TabularMDP
        The ``Q``-state model (dense if the input was dense, CSR otherwise), same actions and
        ``gamma``. Rows from the representatives (exact bisimulation) or block means
        (``approximate_aggregation(..., quotient="mean")``).
    representatives : ndarray of int64, shape (Q,)
        The first state of each block (``labels[representatives] == arange(Q)``).
    block_sizes : ndarray of int64, shape (Q,)
    eps_R, eps_P : float
        Measured errors of the quotient: ``max_{s,a} |R[s, a] - R_Q(block(s), a)|`` and
        ``max_{s,a} sum_C |P(s, a, C) - P_Q(block(s), a, C)|`` (round-off size, ~1e-16, for an exact
        bisimulation).
    eps_sum : float
        ``max_{s,a} |sum_t P[s, a, t] - sum_C P_Q(block(s), a, C)|`` (rows are stochastic only up
        to the model's ``atol``; enters the bounds for rigour).
    tol_r, tol_p : float
        Tolerances used to build the partition.
    exact : bool
        ``True`` for :func:`bisimulation` with ``tol = 0``.
    n_splitters, n_scanned : int
        Splitters processed and predecessor entries scanned by the refinement (the work).
    """

    labels: np.ndarray
    n_blocks: int
    quotient: TabularMDP
    representatives: np.ndarray
    block_sizes: np.ndarray
    eps_R: float
    eps_P: float
    eps_sum: float
    tol_r: float
    tol_p: float
    exact: bool
    n_splitters: int
    n_scanned: int
    method: str
    gamma_contraction: float = field(repr=False)

    eps_r = renamed_field("eps_R", "eps_r")
    eps_p = renamed_field("eps_P", "eps_p")

    @property
    def n_states(self) -> int:
        return int(self.labels.shape[0])

    @property
    def compression(self) -> float:
        """``S / Q``."""
        return self.n_states / self.n_blocks

    def lift_values(self, v_q) -> np.ndarray:
        """``v[s] = v_q[labels[s]]``: quotient values ``(Q,)`` (or action values ``(Q, A)``) on the states."""
        v_q = as_float_array(v_q, "v_q")
        if v_q.ndim not in (1, 2) or v_q.shape[0] != self.n_blocks:
            raise ValueError(f"v_q must have shape ({self.n_blocks},) or ({self.n_blocks}, A), got {v_q.shape}")
        return v_q[self.labels]

    def lift_policy(self, pi_q) -> np.ndarray:
        """A quotient policy (``(Q,)`` actions or ``(Q, A)`` rows) as the block-constant policy on the states."""
        pi_q = check_policy(pi_q, self.n_blocks, self.quotient.n_actions, name="pi_q")
        return pi_q[self.labels]

    def project_values(self, v) -> np.ndarray:
        """Block means of a state function ``v`` (``(S,)``), shape ``(Q,)``; inverse of :meth:`lift_values`
        on block-constant ``v``."""
        v = as_float_array(v, "v", ndim=1)
        if v.shape[0] != self.n_states:
            raise ValueError(f"v must have shape ({self.n_states},), got {v.shape}")
        return np.bincount(self.labels, weights=v, minlength=self.n_blocks) / self.block_sizes

    def loss_bounds(self, v_quotient, *, solver_error: float = 0.0, policy_error: float = 0.0):
        """Bounds ``(value_bound, policy_bound)`` for a quotient solved to within ``solver_error``.

        With ``u = lift(V*_Q)`` and, for every ``(s, a)`` with ``C = block(s)``,
        ::

            |(T u)(s) - u(s)| <= max_a [ eps_R + gamma ( eps_P span(V_Q) / 2 + eps_sum |mid(V_Q)| ) ] =: delta

        (``|(p - q)^T V| <= ||p - q||_1 span(V) / 2 + |sum(p - q)| |mid(V)|`` with ``mid`` the midrange),
        so ``||V* - u||_inf <= delta / (1 - kappa)`` with ``kappa = gamma * max row sum`` the contraction
        of ``T`` (the simulation lemma, docs/papers/foundations.md F9, in its span form). The same step with
        ``T_pi`` for the lifted quotient policy ``pi`` gives ``||V^pi - lift(V_Q^{pi_Q})|| <= delta /
        (1 - kappa)``, hence ``||V* - V^pi|| <= 2 delta / (1 - kappa)``. A priori, ``span(V_Q) <=
        span(R) / (1 - gamma)``, which is the ``R_max / (2 (1 - gamma))`` form of F9.

        Parameters
        ----------
        v_quotient : array_like, shape (Q,)
            Approximate optimal values of the quotient.
        solver_error : float
            Bound on ``||v_quotient - V*_Q||_inf``; it widens the span and midrange and is added to the
            value bound.
        policy_error : float
            Bound on ``||V*_Q - V_Q^{pi_Q}||_inf`` for the quotient policy being lifted; added to the
            policy bound.
        """
        v = as_float_array(v_quotient, "v_quotient", ndim=1)
        if v.shape[0] != self.n_blocks:
            raise ValueError(f"v_quotient must have shape ({self.n_blocks},), got {v.shape}")
        e = check_tol(solver_error, "solver_error", allow_zero=True)
        pe = check_tol(policy_error, "policy_error", allow_zero=True)
        kappa = self.gamma_contraction
        if not kappa < 1.0:
            raise ValueError(f"loss bounds need a discounted model (gamma * max row sum < 1), got {kappa}")
        gamma = self.quotient.gamma
        span = float(v.max() - v.min()) + 2 * e + pe
        mid = abs(0.5 * float(v.max() + v.min())) + e + pe
        delta = self.eps_R + gamma * (self.eps_P * span / 2 + self.eps_sum * mid)
        return delta / (1 - kappa) + e, 2 * delta / (1 - kappa) + pe


@result
class AggregationResult(BisimulationResult):
    """A :class:`BisimulationResult` with the quotient solved and the value-loss bounds.

    Attributes
    ----------
    v_quotient : ndarray, shape (Q,)
        ``V*_Q`` from :func:`mdp.solve` (certified to ``solver_error``).
    pi_quotient : ndarray of int64, shape (Q,)
        Greedy quotient policy (loses at most ``quotient_policy_error`` in the quotient).
    value_bound : float
        Bound on ``||V* - lift(v_quotient)||_inf`` (see :meth:`BisimulationResult.loss_bounds`).
    policy_bound : float
        Bound on ``||V* - V^{lift(pi_quotient)}||_inf`` in the original model.
    solver_error, quotient_policy_error : float
    """

    v_quotient: np.ndarray = field(default=None, repr=False)
    pi_quotient: np.ndarray = field(default=None, repr=False)
    value_bound: float = float("nan")
    policy_bound: float = float("nan")
    solver_error: float = 0.0
    quotient_policy_error: float = 0.0

    @property
    def v_lifted(self) -> np.ndarray:
        """``lift(v_quotient)``, shape (S,)."""
        return self.v_quotient[self.labels]

    @property
    def pi_lifted(self) -> np.ndarray:
        """``lift(pi_quotient)``, shape (S,)."""
        return self.pi_quotient[self.labels]


# ----------------------------------------------------------------------------------- helpers
def _forward_csr(m: TabularMDP) -> sp.csr_matrix:
    """The ``(S * A, S)`` CSR form in float64, sorted indices, no explicit zeros."""
    S, A = m.n_states, m.n_actions
    if m.is_sparse:
        P = m.P
        return sp.csr_matrix((P.data.astype(np.float64), P.indices, P.indptr), shape=(S * A, S))
    P = sp.csr_matrix(np.asarray(m.P, dtype=np.float64).reshape(S * A, S))
    P.eliminate_zeros()
    P.sort_indices()
    return P


def _canonical(blk: np.ndarray):
    """Relabel block ids by first occurrence; return ``(labels, representatives)``."""
    uniq, first = np.unique(blk, return_index=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(int(uniq.max()) + 1 if uniq.size else 0, dtype=np.int64)
    rank[uniq[order]] = np.arange(uniq.size, dtype=np.int64)
    return rank[blk], first[order].astype(np.int64)


def _default_atol(dtype) -> float:
    return 1e-8 if np.dtype(dtype) == np.float64 else 1e-5


def _build(m: TabularMDP, labels: np.ndarray, reps: np.ndarray, P: sp.csr_matrix, how: str):
    """Quotient model and the measured errors ``(quotient, eps_R, eps_P, eps_sum, sizes)``."""
    S, A = m.n_states, m.n_actions
    Q = reps.shape[0]
    sizes = np.bincount(labels, minlength=Q).astype(np.int64)
    M = sp.csr_matrix((np.ones(S), (np.arange(S), labels)), shape=(S, Q))
    if how == "representative":
        rows = (reps[:, None] * A + np.arange(A)).ravel()
        PQ = P[rows] @ M
        RQ = np.array(m.R[reps], dtype=np.float64)
    else:
        pair_block = (labels[:, None] * A + np.arange(A)).ravel()
        W = sp.csr_matrix((np.repeat(1.0 / sizes[labels], A), (pair_block, np.arange(S * A))), shape=(Q * A, S * A))
        PQ = W @ P @ M
        RQ = (W @ m.R.ravel()).reshape(Q, A)
    PQ = sp.csr_matrix(PQ)
    PQ.sum_duplicates()
    PQ.eliminate_zeros()
    PQ.sort_indices()
    err_p, err_sum = K.aggregation_errors(
        P.indptr.astype(np.int64),
        P.indices.astype(np.int64),
        P.data,
        labels,
        A,
        PQ.indptr.astype(np.int64),
        PQ.indices.astype(np.int64),
        PQ.data.astype(np.float64),
        Q,
    )
    eps_R = float(np.abs(m.R - RQ[labels]).max())
    dev = float(np.abs(np.asarray(PQ.sum(axis=1)).ravel() - 1.0).max())
    atol = max(_default_atol(m.dtype), 2.0 * dev + 1e-15)
    Pq = PQ if m.is_sparse else PQ.toarray().reshape(Q, A, Q)
    quotient = TabularMDP(Pq, RQ, m.gamma, dtype=m.dtype, atol=atol)
    return quotient, eps_R, float(err_p.max()), float(err_sum.max()), sizes


def _partition(m: TabularMDP, tol_r: float, tol_p: float, approx: bool):
    P = _forward_csr(m)
    S, A = m.n_states, m.n_actions
    ptr, rows, vals = K.transpose_csr(P.indptr.astype(np.int64), P.indices.astype(np.int64), P.data, S)
    blk, _, n_split, n_scan = K.refine(
        S, A, ptr, rows, vals, np.ascontiguousarray(m.R, dtype=np.float64), float(tol_r), float(tol_p), bool(approx)
    )
    labels, reps = _canonical(blk)
    return P, labels, reps, int(n_split), int(n_scan)


# ----------------------------------------------------------------------------------- public API
@migrate_signature(was_positional=("tol",))
def bisimulation(m, *, tol: float = 0.0) -> BisimulationResult:
    """Coarsest bisimulation of ``m`` and its quotient model.

    Parameters
    ----------
    m : TabularMDP
        Dense ``(S, A, S)`` or CSR ``(S * A, S)``; any ``gamma`` (the partition does not use it).
    tol : float, default 0.0
        ``0``: exact bisimulation, keys (rewards, block masses ``P(s, a, C)``) compared up to
        ``EXACT_EPS = 1e-12`` (rewards: ``1e-12 * max(1, max|R|)``) to absorb floating round-off.
        ``> 0``: epsilon-approximate aggregation with ``tol_r = tol_p = tol`` (see
        :func:`approximate_aggregation`, which also solves the quotient and bounds the loss).

    Returns
    -------
    BisimulationResult
        ``labels`` (S,), ``n_blocks``, ``quotient`` (dense or CSR like ``m``, rows of the
        representatives), ``representatives`` (Q,), ``lift_values``, ``lift_policy``,
        ``project_values``, and the measured ``eps_R``/``eps_P``.

    Notes
    -----
    Splitter-based refinement, ``O(m log n)`` splitter scans plus sorting (``O(m log^2 n)`` worst
    case); see the module docstring. For an exact bisimulation ``V*(s) = V*_Q(labels[s])`` and
    ``lift_policy`` of a quotient-optimal policy is optimal (Givan, Dean & Greig 2003, Thm 7/8).

    Examples
    --------
    >>> import numpy as np, mdp
    >>> from mdp.abstraction import bisimulation
    >>> m = mdp.TabularMDP(np.full((4, 1, 4), 0.25), [[1.0], [1.0], [0.0], [0.0]], 0.9)
    >>> res = bisimulation(m)
    >>> res.labels.tolist(), res.n_blocks
    ([0, 0, 1, 1], 2)
    """
    m = check_mdp(m, discounted=False)
    tol = check_tol(tol, "tol", allow_zero=True)
    if tol == 0.0:
        tol_r = EXACT_EPS * max(1.0, m.r_max)
        tol_p = EXACT_EPS
        approx = False
    else:
        tol_r = tol_p = tol
        approx = True
    P, labels, reps, n_split, n_scan = _partition(m, tol_r, tol_p, approx)
    quotient, eps_R, eps_P, eps_sum, sizes = _build(m, labels, reps, P, "representative" if not approx else "mean")
    return BisimulationResult(
        labels=labels,
        n_blocks=int(reps.shape[0]),
        quotient=quotient,
        representatives=reps,
        block_sizes=sizes,
        eps_R=eps_R,
        eps_P=eps_P,
        eps_sum=eps_sum,
        tol_r=tol_r,
        tol_p=tol_p,
        exact=not approx,
        n_splitters=n_split,
        n_scanned=n_scan,
        method="splitter refinement[exact]" if not approx else "splitter refinement[approximate]",
        gamma_contraction=m.contraction,
    )


def approximate_aggregation(
    m, tol_r: float, tol_p: float, *, quotient: str = "mean", solve_tol: float = 1e-10
) -> AggregationResult:
    """Epsilon-approximate aggregation: blocks whose rewards agree within ``tol_r`` and block masses
    within ``tol_p``, the quotient solved, and the value-loss bounds of the aggregation.

    Parameters
    ----------
    m : TabularMDP
        Discounted model (``gamma < 1``), dense or CSR.
    tol_r, tol_p : float, >= 0
        Tolerances of the refinement: within a block every ``R[:, a]`` spans at most ``tol_r``
        and, for every block ``C`` processed as a splitter and every action, ``P(., a, C)`` spans
        at most ``tol_p``. (``0`` means exact, up to the ``1e-12`` round-off allowance.)
    quotient : {"mean", "representative"}
        Quotient rows as block means (default; halves the errors of a symmetric spread) or as the
        rows of the first state of each block.
    solve_tol : float
        Accuracy of :func:`mdp.solve` on the quotient.

    Returns
    -------
    AggregationResult
        Everything :func:`bisimulation` returns plus ``v_quotient``, ``pi_quotient`` and

        * ``value_bound >= ||V* - lift(v_quotient)||_inf``,
        * ``policy_bound >= ||V* - V^{lift(pi_quotient)}||_inf``,

        computed from the measured ``eps_R``, ``eps_P`` (not from the tolerances): with
        ``delta = eps_R + gamma (eps_P span(V_Q) / 2 + eps_sum |mid(V_Q)|)``,
        ``value_bound = delta / (1 - gamma) + e`` and ``policy_bound = 2 delta / (1 - gamma) + e'``
        (``e``, ``e'`` the certified solver errors; ``gamma`` times the largest row sum in place of
        ``gamma``). Since ``span(V_Q) <= span(R) / (1 - gamma)`` this implies the simulation-lemma form
        ``(eps_R + gamma eps_P span(R) / (2 (1 - gamma))) / (1 - gamma)`` (docs/papers/foundations.md F9, F10).
    """
    m = check_mdp(m, discounted=False)
    check_gamma(m.gamma, "m.gamma")
    tol_r = check_tol(tol_r, "tol_r", allow_zero=True)
    tol_p = check_tol(tol_p, "tol_p", allow_zero=True)
    solve_tol = check_tol(solve_tol, "solve_tol")
    if quotient not in ("mean", "representative"):
        raise ValueError(f"quotient must be 'mean' or 'representative', got {quotient!r}")
    approx = tol_r > 0 or tol_p > 0
    tr = tol_r if tol_r > 0 else EXACT_EPS * max(1.0, m.r_max)
    tp = tol_p if tol_p > 0 else EXACT_EPS
    P, labels, reps, n_split, n_scan = _partition(m, tr, tp, approx)
    q, eps_R, eps_P, eps_sum, sizes = _build(m, labels, reps, P, quotient)
    from mdp.solvers.solve import solve

    sol = solve(q, tol=solve_tol)
    base = BisimulationResult(
        labels=labels,
        n_blocks=int(reps.shape[0]),
        quotient=q,
        representatives=reps,
        block_sizes=sizes,
        eps_R=eps_R,
        eps_P=eps_P,
        eps_sum=eps_sum,
        tol_r=tr,
        tol_p=tp,
        exact=not approx,
        n_splitters=n_split,
        n_scanned=n_scan,
        method=f"splitter refinement[{'approximate' if approx else 'exact'}], quotient={quotient}",
        gamma_contraction=m.contraction,
    )
    vb, pb = base.loss_bounds(sol.v, solver_error=sol.error_bound, policy_error=sol.policy_error_bound)
    fields = {f: getattr(base, f) for f in BisimulationResult.__dataclass_fields__}
    return AggregationResult(
        **fields,
        v_quotient=np.array(sol.v),
        pi_quotient=np.array(sol.pi),
        value_bound=float(vb),
        policy_bound=float(pb),
        solver_error=float(sol.error_bound),
        quotient_policy_error=float(sol.policy_error_bound),
    )


# ----------------------------------------------------------------------------------- reference twin
def _reference(P, R, tol: float = 1e-9) -> np.ndarray:
    """Naive signature refinement (docs/papers/foundations.md section 9), plain numpy, dense ``P`` (S, A, S).

    ``B0`` = classes of equal reward vectors (rounded to ``tol``); then repeatedly
    ``sig(s) = (block(s), round(P[s] @ onehot(B), tol))`` until the number of classes is stable.
    Returns canonical labels (relabelled by first occurrence).
    """
    P = np.asarray(P, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    S = R.shape[0]
    _, labels = np.unique(np.round(R / tol).astype(np.int64), axis=0, return_inverse=True)
    labels = labels.ravel()
    n = labels.max() + 1
    for _ in range(S + 1):
        onehot = np.zeros((S, n))
        onehot[np.arange(S), labels] = 1.0
        agg = np.round(np.einsum("sat,tc->sac", P, onehot) / tol).astype(np.int64).reshape(S, -1)
        sig = np.concatenate([labels[:, None], agg], axis=1)
        _, new = np.unique(sig, axis=0, return_inverse=True)
        new = new.ravel()
        n_new = new.max() + 1
        labels = new
        if n_new == n:
            break
        n = n_new
    return _canonical(labels)[0]


# ----------------------------------------------------------------------------------- instances
def planted_copies(base, copies, *, rng, noise_r: float = 0.0, noise_p: float = 0.0, sparse: bool = False):
    """A model with a planted bisimulation: every state of ``base`` copied, the copies shuffled.

    Copy ``x`` of base state ``c(x)`` has ``R[x] = R_base[c(x)]`` and splits the mass
    ``P_base[c(x), a, c']`` over the copies of ``c'`` with its own ``Dirichlet(1)`` weights, so the
    copies of a state are bisimilar (with different rows) and, when ``base`` has no non-trivial
    bisimulation (e.g. ``U[0, 1]`` rewards), the coarsest bisimulation has exactly
    ``base.n_states`` blocks. ``noise_r``, ``noise_p`` perturb each copy: rewards by
    ``U[-noise_r, noise_r]`` and rows mixed as ``(1 - noise_p) p + noise_p q`` with ``q`` a random
    row, so the copies are an ``(eps_R, eps_P) = (2 noise_r, 4 noise_p)``-approximate aggregation at most.

    Parameters
    ----------
    base : TabularMDP
    copies : int or array_like of int, shape (S_base,)
        Copies of each base state (``>= 1``).
    rng : numpy.random.Generator
    sparse : bool
        Return the CSR form.

    Returns
    -------
    (TabularMDP, ndarray of int64)
        The model and the planted class (base state) of each of its states.
    """
    base = check_mdp(base, "base", discounted=False)
    rng = check_rng(rng)
    S0, A = base.n_states, base.n_actions
    if isinstance(copies, numbers.Integral) and not isinstance(copies, bool):
        k = np.full(S0, check_positive_int(copies, "copies"), dtype=np.int64)
    else:
        k = np.asarray(copies)
        if k.shape != (S0,) or not np.issubdtype(k.dtype, np.integer) or k.min() < 1:
            raise ValueError(f"copies must be a positive int or {S0} positive ints, got {copies!r}")
        k = k.astype(np.int64)
    noise_r = check_tol(noise_r, "noise_r", allow_zero=True)
    noise_p = check_tol(noise_p, "noise_p", allow_zero=True)
    if noise_p > 1:
        raise ValueError(f"noise_p must lie in [0, 1], got {noise_p}")
    S = int(k.sum())
    cls_sorted = np.repeat(np.arange(S0), k)
    perm = rng.permutation(S)  # new id of the i-th copy in class order
    classes = np.empty(S, dtype=np.int64)
    classes[perm] = cls_sorted
    members = [np.flatnonzero(classes == c) for c in range(S0)]
    Pb = base.dense_P().astype(np.float64)
    P = np.zeros((S, A, S))
    for c in range(S0):
        mc = members[c]
        w = rng.standard_gamma(1.0, size=(S, A, mc.size)) + 1e-12
        w /= w.sum(axis=2, keepdims=True)
        P[:, :, mc] = Pb[classes][:, :, c, None] * w
    R = np.array(base.R[classes], dtype=np.float64)
    if noise_r:
        R += rng.uniform(-noise_r, noise_r, size=R.shape)
    if noise_p:
        q = rng.standard_gamma(1.0, size=(S, A, S))
        q /= q.sum(axis=2, keepdims=True)
        P = (1 - noise_p) * P + noise_p * q
    P /= P.sum(axis=2, keepdims=True)
    m = TabularMDP(P, R, base.gamma)
    return (m.to_sparse() if sparse else m), classes


def stripe_gridworld(
    width: int,
    height: int,
    *,
    slip: float = 0.1,
    goal_reward: float = 1.0,
    step_reward: float = 0.0,
    gamma: float = 0.99,
) -> TabularMDP:
    """Sparse gridworld whose whole bottom row is an absorbing goal; its coarsest bisimulation has
    exactly ``height`` blocks (one per row).

    Cells, actions (N, S, E, W), slip and rewards as in :func:`mdp.generators.gridworld`: the
    intended move with probability ``1 - slip``, each perpendicular move with ``slip / 2``, bumping
    into the border leaves the agent in place; entering the goal row pays ``goal_reward`` (as the
    expected reward), every action outside it ``step_reward``. Every cell of a row has the same
    rewards and the same row-to-row transition masses (E/W moves and bumps stay in the row), so
    rows are bisimulation blocks; distinct rows have distinct values (``height`` blocks for
    ``0 < slip < 1``, ``goal_reward != 0``). State ``s = y * width + x``.
    """
    W = check_positive_int(width, "width")
    H = check_positive_int(height, "height", minimum=2)
    slip = check_tol(slip, "slip", allow_zero=True)
    if slip > 1:
        raise ValueError(f"slip must lie in [0, 1], got {slip}")
    gamma = check_gamma(gamma)
    S = W * H
    s = np.arange(S)
    x, y = s % W, s // W
    moves = {0: (0, -1), 1: (0, 1), 2: (1, 0), 3: (-1, 0)}
    perp = {0: (2, 3), 1: (2, 3), 2: (0, 1), 3: (0, 1)}
    goal = y == H - 1
    target = {}
    for a, (dx, dy) in moves.items():
        nx, ny = x + dx, y + dy
        ok = (nx >= 0) & (nx < W) & (ny >= 0) & (ny < H)
        target[a] = np.where(ok, ny * W + nx, s)
    rows, cols, vals = [], [], []
    for a in range(4):
        for t, p in ((target[a], 1.0 - slip), (target[perp[a][0]], slip / 2), (target[perp[a][1]], slip / 2)):
            if p == 0.0:
                continue
            rows.append(s * 4 + a)
            cols.append(np.where(goal, s, t))
            vals.append(np.full(S, p))
    P = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(S * 4, S))
    p_goal = np.asarray(P @ goal.astype(np.float64)).ravel().reshape(S, 4)
    R = goal_reward * p_goal + step_reward
    R[goal] = 0.0
    return TabularMDP(P, R, gamma)
