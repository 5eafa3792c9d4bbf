"""The tabular MDP model: ``P[s, a, s']``, ``R[s, a]`` and ``gamma``, dense or sparse.

Glossary (used across the lab): ``S`` states, ``A`` actions, ``P`` is ``(S, A, S)`` (dense) or a
CSR matrix of shape ``(S * A, S)`` whose row ``s * A + a`` is ``P[s, a, :]`` (sparse), ``R`` is
``(S, A)``, ``gamma`` the discount, ``v`` a state value ``(S,)``, ``q`` an action value ``(S, A)``,
``pi`` a policy (deterministic ``(S,)`` integer actions or stochastic ``(S, A)`` rows), ``mu`` a
state distribution ``(S,)``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mdp._validation import as_float_array, check_gamma, check_policy, check_tol

__all__ = ["TabularMDP"]

_SUPPORTED_DTYPES = (np.float64, np.float32)


def _row_sum_tolerance(dtype) -> float:
    return 1e-8 if np.dtype(dtype) == np.float64 else 1e-5


class TabularMDP:
    """A finite Markov decision process ``(P, R, gamma)``.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix
        Transition probabilities. Dense: shape ``(S, A, S)`` with ``P[s, a, s']``. Sparse: any
        scipy sparse matrix of shape ``(S * A, S)`` whose row ``s * A + a`` holds ``P[s, a, :]``
        (the state-action-pair form; stored as CSR). Entries must be finite and non-negative and
        every row must sum to 1 (within ``atol``).
    R : array_like
        Expected rewards, shape ``(S, A)``, finite.
    gamma : float
        Discount factor in ``[0, 1]``. Infinite-horizon solvers require ``gamma < 1`` and say so;
        ``gamma = 1`` is accepted for :func:`mdp.finite_horizon`.
    dtype : {numpy.float64, numpy.float32}, optional
        Storage type of the transition probabilities. ``float32`` halves the memory traffic of a
        Bellman sweep; values and rewards are always accumulated in float64.
    atol : float, optional
        Tolerance on ``|sum_s' P[s, a, s'] - 1|``; default ``1e-8`` (``1e-5`` for float32).

    Raises
    ------
    TypeError
        If an argument is not numeric or ``P`` is neither an array nor a scipy sparse matrix.
    ValueError
        On an empty model, a shape mismatch, negative or non-finite entries, or a row of ``P`` that
        does not sum to one (the message names the ``(s, a)`` pair and the deviation).
    """

    __slots__ = (
        "_P",
        "_R",
        "_gamma",
        "_S",
        "_A",
        "_sparse",
        "_dtype",
        "_csr_arrays",
        "_atol",
        "_row_sums",
        "_row_sum_arr",
        "_max_row_length",
        "_r_max",
        "_row_defects",
    )

    def __init__(self, P, R, gamma, *, dtype=np.float64, atol: float | None = None):
        dtype = np.dtype(dtype)
        if dtype not in [np.dtype(d) for d in _SUPPORTED_DTYPES]:
            raise TypeError(f"dtype must be float64 or float32, got {dtype}")
        # own copies: the model freezes its arrays and must not alias (and freeze) the caller's
        R_arr = as_float_array(R, "R", ndim=2, allow_bool=False).copy()
        if R_arr.shape[0] == 0 or R_arr.shape[1] == 0:
            raise ValueError(f"empty model: R has shape {R_arr.shape}; need at least one state and one action")
        S, A = R_arr.shape
        tol = _row_sum_tolerance(dtype) if atol is None else check_tol(atol, "atol", allow_zero=True)
        if sp.issparse(P):
            if not (np.issubdtype(P.dtype, np.number) or P.dtype == bool) or np.issubdtype(P.dtype, np.complexfloating):
                raise TypeError(f"P must hold real numbers, got sparse matrix of dtype {P.dtype}")
            if P.shape != (S * A, S):
                raise ValueError(
                    f"sparse P must have shape (S * A, S) = ({S * A}, {S}) to match R of shape "
                    f"({S}, {A}); got {P.shape}"
                )
            # a compressed matrix (CSR/CSC/BSR) built from raw arrays is not range-checked by scipy: an
            # index outside [0, S) was read out of bounds later (wrong rows, then heap corruption).
            # Check a copy (check_format may prune in place), before any C routine touches it.
            raw = P.copy()
            if hasattr(raw, "check_format"):
                try:
                    raw.check_format(full_check=True)
                except ValueError as exc:
                    raise ValueError(
                        f"sparse P is malformed: {exc} (column indices must lie in [0, S) = "
                        f"[0, {S}) and indptr must be non-decreasing from 0 to nnz)"
                    ) from None
            csr = sp.csr_matrix(raw, dtype=np.float64, copy=False)
            csr.sum_duplicates()
            csr.sort_indices()
            if csr.data.size and not np.all(np.isfinite(csr.data)):
                i = int(np.argmax(~np.isfinite(csr.data)))
                row = int(np.searchsorted(csr.indptr, i, side="right") - 1)
                raise ValueError(f"P must be finite; P[{row // A}, {row % A}, {csr.indices[i]}] = {csr.data[i]}")
            if csr.data.size and csr.data.min() < 0:
                i = int(np.argmin(csr.data))
                row = int(np.searchsorted(csr.indptr, i, side="right") - 1)
                raise ValueError(f"P must be non-negative; P[{row // A}, {row % A}, {csr.indices[i]}] = {csr.data[i]}")
            csr.eliminate_zeros()
            sums = np.asarray(csr.sum(axis=1)).ravel().reshape(S, A)
            self._check_row_sums(sums, tol)
            csr = sp.csr_matrix(
                (csr.data.astype(dtype), csr.indices.astype(np.int64), csr.indptr.astype(np.int64)),
                shape=(S * A, S),
            )
            self._P = csr
            self._sparse = True
            self._csr_arrays = (csr.indptr, csr.indices, csr.data)
        else:
            P_arr = as_float_array(P, "P", ndim=3)
            if P_arr.shape != (S, A, S):
                raise ValueError(
                    f"P must have shape (S, A, S) = ({S}, {A}, {S}) to match R of shape ({S}, {A}); got {P_arr.shape}"
                )
            if P_arr.min() < 0:
                s, a, t = np.unravel_index(int(np.argmin(P_arr)), P_arr.shape)
                raise ValueError(f"P must be non-negative; P[{s}, {a}, {t}] = {P_arr[s, a, t]}")
            sums = P_arr.sum(axis=2)
            self._check_row_sums(sums, tol)
            self._P = np.array(P_arr, dtype=dtype, order="C", copy=True)
            self._sparse = False
            self._csr_arrays = None
        self._R = R_arr
        self._R.setflags(write=False)
        if not self._sparse:
            self._P.setflags(write=False)
        self._gamma = check_gamma(gamma, allow_one=True)
        self._S, self._A = S, A
        self._dtype = dtype
        self._atol = tol  # conversions re-validate with the tolerance the model was accepted under
        # row sums of P as stored: the validated float64 sums unless storage rounded the entries
        self._row_sum_arr = sums if dtype == np.float64 else self._compute_row_sums()
        self._row_sum_arr.setflags(write=False)
        self._row_sums = self._stored_row_sum_range()
        # longest row of P (entries a backup sums), for the round-off bounds of the certificates
        self._max_row_length = int(np.diff(self._P.indptr).max()) if self._sparse else S
        self._r_max = float(np.abs(self._R).max())
        self._row_defects = None  # (row sums - 1 to one rounding, their error bound), on first need

    def _stored_row_sum_range(self) -> tuple[float, float]:
        """``(min, max)`` over ``(s, a)`` of the row sums of ``P`` *as stored*, widened by round-off.

        Accepted rows sum to 1 only within ``atol`` (and float32 storage rounds every entry), so the
        operator the kernels apply is a ``gamma * max_row_sum`` contraction rather than a ``gamma`` one.
        The certified bounds use this range; the float64 sums are widened by ``S * eps`` for their
        own round-off.
        """
        sums = self._row_sum_arr
        slack = (self._S + 1) * np.finfo(np.float64).eps
        return float(sums.min() - slack), float(sums.max() + slack)

    @staticmethod
    def _check_row_sums(sums: np.ndarray, tol: float) -> None:
        dev = np.abs(sums - 1.0)
        if np.any(dev > tol):
            s, a = np.unravel_index(int(np.argmax(dev)), dev.shape)
            n_bad = int(np.count_nonzero(dev > tol))
            raise ValueError(
                f"P[{s}, {a}, :] sums to {sums[s, a]:.12g}, off by {sums[s, a] - 1.0:+.3g} "
                f"(tolerance {tol:g}); every row P[s, a, :] must sum to 1 "
                f"({n_bad} row{'s' if n_bad > 1 else ''} out of tolerance)"
            )

    # ------------------------------------------------------------------ accessors
    @property
    def P(self):
        """Transition probabilities: ``(S, A, S)`` array, or ``(S * A, S)`` CSR when sparse."""
        return self._P

    @property
    def R(self) -> np.ndarray:
        """Expected rewards ``(S, A)`` (read-only float64)."""
        return self._R

    @property
    def gamma(self) -> float:
        return self._gamma

    @property
    def n_states(self) -> int:
        return self._S

    @property
    def n_actions(self) -> int:
        return self._A

    @property
    def is_sparse(self) -> bool:
        return self._sparse

    @property
    def dtype(self) -> np.dtype:
        """Storage dtype of ``P``."""
        return self._dtype

    def row_sums(self) -> np.ndarray:
        """``sum_s' P[s, a, s']`` of the stored ``P`` accumulated in float64, shape ``(S, A)`` (read-only)."""
        return self._row_sum_arr

    def row_sum_defects(self) -> tuple[np.ndarray, float]:
        """``(tau, err)``: ``tau = sum_s' P[s, a, s'] - 1`` of the stored ``P`` as ``(S, A)`` float64,
        each within ``err`` of the exact value (Ogita-Rump-Oishi ``Sum2`` of the row and ``-1``,
        ``mdp._common.accurate``). Computed on first call (one pass over ``P``) and kept."""
        if getattr(self, "_row_defects", None) is None:  # None also for models pickled before it existed
            from mdp._common import accurate as _accurate

            out = np.empty(self._S * self._A)
            if self._sparse:
                indptr, _, data = self.csr_arrays()
                _accurate.sum2_rows_csr(indptr, data, -1.0, out)
            else:
                _accurate.sum2_rows_dense(self._P.reshape(self._S * self._A, self._S), -1.0, out)
            tau = out.reshape(self._S, self._A)
            tau.setflags(write=False)
            self._row_defects = (tau, _accurate.defect_error_bound(self._max_row_length, float(np.abs(tau).max())))
        return self._row_defects

    def _compute_row_sums(self) -> np.ndarray:
        if self._sparse:
            # an accepted model has no empty row (each sums to ~1), so reduceat is safe
            return np.add.reduceat(self._P.data.astype(np.float64), self._P.indptr[:-1]).reshape(self._S, self._A)
        return self._P.sum(axis=2, dtype=np.float64)

    @property
    def row_sum_range(self) -> tuple[float, float]:
        """``(min, max)`` row sum of the stored ``P`` (1 up to ``atol`` and storage round-off)."""
        return self._row_sums

    @property
    def contraction(self) -> float:
        """Sup-norm Lipschitz constant of the stored Bellman operators, ``gamma * max row sum``."""
        return self._gamma * self._row_sums[1]

    @property
    def nnz(self) -> int:
        """Number of stored transition entries."""
        return int(self._P.nnz) if self._sparse else int(self._P.size)

    @property
    def max_row_length(self) -> int:
        """Entries in the longest stored row ``P[s, a, :]`` (``S`` when dense, the largest row nnz when sparse)."""
        return self._max_row_length

    @property
    def r_max(self) -> float:
        """``max |R|``."""
        return self._r_max

    def csr_arrays(self):
        """``(indptr, indices, data)`` of the ``(S * A, S)`` CSR form (sparse models only)."""
        if not self._sparse:
            raise ValueError("csr_arrays() is only defined for sparse models; call to_sparse() first")
        return self._csr_arrays

    def __repr__(self) -> str:
        kind = f"sparse, nnz={self.nnz}" if self._sparse else "dense"
        return f"TabularMDP(S={self._S}, A={self._A}, gamma={self._gamma:g}, {kind}, dtype={self._dtype.name})"

    # ------------------------------------------------------------------ conversions
    def dense_P(self) -> np.ndarray:
        """``P`` as a dense ``(S, A, S)`` array (a copy for sparse models)."""
        if self._sparse:
            return self._P.toarray().reshape(self._S, self._A, self._S)
        return self._P

    def to_dense(self) -> "TabularMDP":
        """The same model with dense storage."""
        if not self._sparse:
            return self
        return TabularMDP(self.dense_P(), self._R, self._gamma, dtype=self._dtype, atol=self._atol)

    def to_sparse(self) -> "TabularMDP":
        """The same model in the ``(S * A, S)`` CSR form."""
        if self._sparse:
            return self
        return TabularMDP(
            sp.csr_matrix(self._P.reshape(self._S * self._A, self._S)),
            self._R,
            self._gamma,
            dtype=self._dtype,
            atol=self._atol,
        )

    def astype(self, dtype) -> "TabularMDP":
        """The same model with transition probabilities stored as ``dtype``."""
        if np.dtype(dtype) == self._dtype:
            return self
        P = self._P if not self._sparse else self._P.astype(np.float64)
        return TabularMDP(P, self._R, self._gamma, dtype=dtype, atol=max(self._atol, _row_sum_tolerance(np.float32)))

    def with_gamma(self, gamma) -> "TabularMDP":
        """The same ``P`` and ``R`` with another discount (shares storage)."""
        new = object.__new__(TabularMDP)
        for name in TabularMDP.__slots__:
            # getattr default: a model pickled before a slot was added lacks it (computed on demand)
            object.__setattr__(new, name, getattr(self, name, None))
        new._gamma = check_gamma(gamma, allow_one=True)
        return new

    def save(self, path):
        """Write the model to ``path`` as ``.npz`` (open format, schema-versioned); see
        :func:`mdp.load_model` and ``mdp.persistence``. Returns the path."""
        from mdp.persistence import save_model

        return save_model(self, path)

    # ------------------------------------------------------------------ policy-induced quantities
    def policy_matrix(self, pi):
        """``P_pi[s, s'] = sum_a pi(a|s) P[s, a, s']``: dense ``(S, S)``, or CSR when sparse."""
        pi = check_policy(pi, self._S, self._A)
        S, A = self._S, self._A
        if self._sparse:
            if pi.ndim == 1:
                rows = np.arange(S) * A + pi
                return self._P[rows].astype(np.float64)
            weights = sp.csr_matrix((pi.ravel(), np.arange(S * A), np.arange(0, S * A + 1, A)), shape=(S, S * A))
            return (weights @ self._P.astype(np.float64)).tocsr()
        if pi.ndim == 1:
            return np.asarray(self._P[np.arange(S), pi, :], dtype=np.float64)
        return np.einsum("sa,sat->st", pi, self._P, dtype=np.float64, optimize=True)

    def policy_reward(self, pi) -> np.ndarray:
        """``r_pi[s] = sum_a pi(a|s) R[s, a]``, shape ``(S,)``."""
        pi = check_policy(pi, self._S, self._A)
        if pi.ndim == 1:
            return self._R[np.arange(self._S), pi].copy()
        return np.einsum("sa,sa->s", pi, self._R)

    def transition_row(self, s: int, a: int) -> np.ndarray:
        """``P[s, a, :]`` as a dense float64 vector (``0 <= s < S``, ``0 <= a < A``)."""
        for name, val, n in (("s", s, self._S), ("a", a, self._A)):
            if isinstance(val, (bool, np.bool_)) or not isinstance(val, (int, np.integer)):
                raise TypeError(f"{name} must be an integer, got {type(val).__name__}")
            if not 0 <= int(val) < n:
                raise ValueError(f"{name} must lie in [0, {n}), got {int(val)}")
        s, a = int(s), int(a)
        if self._sparse:
            return self._P.getrow(s * self._A + a).toarray().ravel().astype(np.float64)
        return np.asarray(self._P[s, a], dtype=np.float64)

    def occupancy(self, pi, mu) -> np.ndarray:
        """Normalised discounted occupancy ``d = (1 - gamma) mu^T (I - gamma P_pi)^{-1}``, ``(S,)``."""
        from mdp._common.linear import solve_transposed_system

        mu = as_float_array(mu, "mu", ndim=1)
        if mu.shape != (self._S,):
            raise ValueError(f"mu must have shape ({self._S},), got {mu.shape}")
        if np.any(mu < 0) or abs(mu.sum() - 1.0) > 1e-8:
            raise ValueError("mu must be a probability vector (non-negative, summing to 1)")
        check_gamma(self._gamma)
        return (1.0 - self._gamma) * solve_transposed_system(self.policy_matrix(pi), self._gamma, mu)
