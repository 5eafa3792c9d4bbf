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
from numba import njit, prange

from mdp._validation import as_float_array, check_gamma, check_policy, check_tol

__all__ = ["TabularMDP"]

_INT32_MAX = np.iinfo(np.int32).max


def storage_dtype(dtype) -> np.dtype:
    """``dtype`` as a numpy dtype if it is a supported storage type of ``P`` (float64, float32)."""
    dt = np.dtype(dtype)  # numpy's TypeError ("data type ... not understood") for a non-type
    if dt not in [np.dtype(d) for d in _SUPPORTED_DTYPES]:
        raise TypeError(f"dtype must be float64 or float32, got {dt}")
    return dt


def index_dtype(n_rows: int, n_cols: int, nnz: int):
    """``int32`` when every CSR index (row pointer up to ``nnz``, column below ``n_cols``) fits, else ``int64``."""
    return np.int32 if max(n_rows + 1, n_cols, nnz) <= _INT32_MAX else np.int64


@njit(cache=True)
def _scan_csr(indptr, indices, data, n_cols, tol):
    """One read-only pass over a CSR matrix: structure, entries and row sums, without a copy.

    Returns ``(code, where, n_bad, worst, worst_sum, lo, hi, longest, n_zero)``: ``code`` 0 if the
    matrix is well formed, 1 if ``indptr`` is not non-decreasing from 0 to ``nnz`` (``where`` the
    row), 2 if a column index lies outside ``[0, n_cols)``, 3 if the indices of a row are not
    strictly increasing (unsorted or duplicated; ``where`` the entry), 4 if an entry is not
    finite, 5 if one is negative. For a well-formed matrix: the number of rows whose sum (in
    float64, left to right) is off 1 by more than ``tol``, the row ``worst`` farthest from 1 and its
    sum, the smallest and largest row sum, the longest row and the number of stored zeros.
    """
    n_rows = indptr.shape[0] - 1
    nnz = data.shape[0]
    if indptr[0] != 0 or indptr[n_rows] != nnz or indices.shape[0] != nnz:
        return 1, 0, 0, 0, 0.0, 0.0, 0.0, 0, 0
    n_bad = 0
    worst = 0
    worst_dev = -1.0
    worst_sum = 0.0
    lo = np.inf
    hi = -np.inf
    longest = 0
    n_zero = 0
    for i in range(n_rows):
        a, b = indptr[i], indptr[i + 1]
        if b < a:
            return 1, i, 0, 0, 0.0, 0.0, 0.0, 0, 0
        if b - a > longest:
            longest = b - a
        acc = 0.0
        prev = -1
        for k in range(a, b):
            j = indices[k]
            if j < 0 or j >= n_cols:
                return 2, k, 0, 0, 0.0, 0.0, 0.0, 0, 0
            if j <= prev:
                return 3, k, 0, 0, 0.0, 0.0, 0.0, 0, 0
            prev = j
            x = np.float64(data[k])
            if not np.isfinite(x):
                return 4, k, 0, 0, 0.0, 0.0, 0.0, 0, 0
            if x < 0.0:
                return 5, k, 0, 0, 0.0, 0.0, 0.0, 0, 0
            if x == 0.0:
                n_zero += 1
            acc += x
        dev = abs(acc - 1.0)
        if dev > tol:
            n_bad += 1
        if dev > worst_dev:
            worst_dev = dev
            worst = i
            worst_sum = acc
        lo = min(lo, acc)
        hi = max(hi, acc)
    return 0, 0, n_bad, worst, worst_sum, lo, hi, longest, n_zero


def _stored_row_sum_range(S: int, lo: float, hi: float) -> tuple[float, float]:
    """``(min, max)`` over ``(s, a)`` of the row sums of ``P`` *as stored*, widened by round-off.

    Accepted rows sum to 1 only within ``atol`` (and float32 storage rounds every entry), so the
    operator the kernels apply is a ``gamma * max_row_sum`` contraction rather than a ``gamma`` one.
    The certified bounds use this range; the float64 sums are widened by ``S * eps`` for their
    own round-off.
    """
    slack = (S + 1) * np.finfo(np.float64).eps
    return float(lo - slack), float(hi + slack)


@njit(cache=True, parallel=True)
def add_scaled_row_sums(indptr, data, c, out):
    """``out[i] += c * sum(data[indptr[i]:indptr[i + 1]])`` in place (row sums in float64, left to
    right, as :meth:`TabularMDP.row_sums`), without an ``(S, A)`` temporary; ``out`` is flat. Rows
    are independent (parallel over rows; the result does not depend on the threads)."""
    for i in prange(indptr.shape[0] - 1):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += np.float64(data[k])
        out[i] += c * acc


@njit(cache=True)
def _csr_row_sums(indptr, data, out):
    """``out[i] = sum(data[indptr[i]:indptr[i + 1]])`` in float64, left to right."""
    for i in range(indptr.shape[0] - 1):
        acc = 0.0
        for k in range(indptr[i], indptr[i + 1]):
            acc += np.float64(data[k])
        out[i] = acc


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
        dtype = storage_dtype(dtype)
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
            scan = None
            if P.format == "csr" and P.dtype in (np.float64, np.float32):
                # canonical CSR (the generators' and the loaders' form): one read-only pass checks
                # it and the row sums, then the model keeps one copy; anything else goes through
                # scipy's normalisation below first
                scan = self._scan(P.indptr, P.indices, P.data, S, A, tol)
            if scan is None:
                csr = self._canonical_csr(P, S, A)
                scan = self._scan(csr.indptr, csr.indices, csr.data, S, A, tol)
            else:
                csr = P
            itype = index_dtype(S * A, S, csr.nnz)
            copy = csr is P  # the model's own copy of the caller's arrays; a normalised one is ours
            self._set_csr(
                csr.indptr.astype(itype, copy=copy),
                csr.indices.astype(itype, copy=copy),
                csr.data.astype(dtype, copy=copy),
                S,
                A,
                scan if csr.data.dtype == dtype else None,
            )
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
            self._P.setflags(write=False)
            # row sums of P as stored: the validated float64 sums unless storage rounded the entries
            self._row_sum_arr = sums if dtype == np.float64 else self._compute_row_sums()
            self._row_sum_arr.setflags(write=False)
            self._row_sums = _stored_row_sum_range(S, float(self._row_sum_arr.min()), float(self._row_sum_arr.max()))
            # longest row of P (entries a backup sums), for the round-off bounds of the certificates
            self._max_row_length = S
        self._finish(R_arr, gamma, S, A, dtype, tol)

    def _finish(self, R_arr, gamma, S: int, A: int, dtype, tol: float) -> None:
        self._R = R_arr
        if self._R.flags.writeable and self._R.base is None:
            self._R.setflags(write=False)
        self._gamma = check_gamma(gamma, allow_one=True)
        self._S, self._A = S, A
        self._dtype = dtype
        self._atol = tol  # conversions re-validate with the tolerance the model was accepted under
        self._r_max = float(np.abs(self._R).max())
        self._row_defects = None  # (row sums - 1 to one rounding, their error bound), on first need

    # ------------------------------------------------------------------ sparse validation
    @staticmethod
    def _scan(indptr, indices, data, S: int, A: int, tol: float):
        """Check a CSR ``(S * A, S)`` matrix in one pass (:func:`_scan_csr`); raise on a malformed or
        invalid one. Returns ``None`` when it is valid but not canonical (unsorted or duplicate
        indices, stored zeros), else ``(lo, hi, longest)``: the smallest and largest row sum and
        the longest row."""
        code, where, n_bad, worst, worst_sum, lo, hi, longest, n_zero = _scan_csr(indptr, indices, data, S, tol)
        if code == 1:
            raise ValueError(
                f"sparse P is malformed: indptr must be non-decreasing from 0 to nnz = {data.shape[0]} "
                f"(row {where}) and indices must have nnz entries"
            )
        if code in (2, 4, 5):
            row = int(np.searchsorted(indptr, where, side="right") - 1)
            at = f"P[{row // A}, {row % A}, {indices[where]}] = {data[where]}"
            if code == 2:
                raise ValueError(
                    f"sparse P is malformed: column index {indices[where]} of row {row} lies outside [0, S) = [0, {S})"
                )
            raise ValueError(f"P must be finite; {at}" if code == 4 else f"P must be non-negative; {at}")
        if code == 3 or n_zero:
            return None
        if n_bad:
            TabularMDP._row_sum_error(worst // A, worst % A, worst_sum, tol, n_bad)
        return lo, hi, longest

    @staticmethod
    def _canonical_csr(P, S: int, A: int):
        """Any scipy sparse ``P`` as a float64 CSR with sorted, summed indices and no stored zeros."""
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
        return csr

    def _set_csr(self, indptr, indices, data, S: int, A: int, scan) -> None:
        """Keep the CSR arrays (owned by the model from now on); ``scan`` is their :meth:`_scan`
        result, or ``None`` when storage rounded the validated entries (then they are scanned again)."""
        if scan is None:
            scan = self._scan(indptr, indices, data, S, A, np.inf)
        lo, hi, longest = scan
        for arr in (indptr, indices, data):
            if arr.flags.writeable and arr.base is None:
                arr.setflags(write=False)
        csr = sp.csr_matrix((S * A, S), dtype=data.dtype)
        # set the arrays directly: scipy's constructor may upcast (copy) int32 indices
        csr.indptr, csr.indices, csr.data = indptr, indices, data
        self._P = csr
        self._sparse = True
        self._csr_arrays = (indptr, indices, data)
        self._row_sum_arr = None  # computed on first call of row_sums() (one pass)
        self._row_sums = _stored_row_sum_range(S, lo, hi)
        self._max_row_length = max(int(longest), 1)

    @classmethod
    def from_csr(cls, indptr, indices, data, R, gamma, *, dtype=None, atol: float | None = None, copy: bool = True):
        """A sparse model from the raw arrays of its ``(S * A, S)`` CSR form, validated in one pass.

        The arrays must be in canonical form (column indices strictly increasing within each row,
        so sorted and without duplicates, and no stored zeros); one read-only pass checks that,
        the index range, finite non-negative entries and every row sum, with no intermediate
        copy. The generators and :func:`mdp.load_model` (``mmap=True``) use it.

        Parameters
        ----------
        indptr, indices : numpy.ndarray of int32 or int64
            Row pointers ``(S * A + 1,)`` and column indices ``(nnz,)``.
        data : numpy.ndarray of float32 or float64
            The entries ``(nnz,)``.
        R : array_like
            Rewards ``(S, A)``; ``S`` and ``A`` are read from its shape.
        gamma : float
            Discount factor in ``[0, 1]``.
        dtype : {numpy.float64, numpy.float32}, optional
            Storage type of ``P``; default ``data.dtype``.
        atol : float, optional
            Row-sum tolerance, as for :class:`TabularMDP`.
        copy : bool, default True
            ``False`` hands the arrays (and ``R`` if it is C-contiguous float64) to the model
            without copying (read-only memory maps, or arrays the caller will not touch again);
            the model marks arrays it owns read-only. ``dtype`` other than ``data.dtype`` always
            copies ``data``.

        Raises
        ------
        TypeError
            On arrays of the wrong kind.
        ValueError
            On a shape mismatch, non-canonical or out-of-range indices, a negative or non-finite
            entry, or a row that does not sum to 1 within ``atol``.
        """
        arrs = []
        for name, x, kinds in (("indptr", indptr, "iu"), ("indices", indices, "iu"), ("data", data, "f")):
            if not isinstance(x, np.ndarray) or x.ndim != 1 or x.dtype.kind not in kinds:
                want = "integer" if kinds == "iu" else "float32 or float64"
                raise TypeError(f"{name} must be a 1-D numpy array of {want} type, got {type(x).__name__}")
            arrs.append(np.ascontiguousarray(x))
        indptr, indices, data = arrs
        if data.dtype not in (np.float64, np.float32):
            raise TypeError(f"data must be float32 or float64, got {data.dtype}")
        dtype = data.dtype if dtype is None else storage_dtype(dtype)
        R_arr = as_float_array(R, "R", ndim=2, allow_bool=False)
        if copy:
            R_arr = R_arr.copy()
        if R_arr.shape[0] == 0 or R_arr.shape[1] == 0:
            raise ValueError(f"empty model: R has shape {R_arr.shape}; need at least one state and one action")
        S, A = R_arr.shape
        if indptr.shape[0] != S * A + 1:
            raise ValueError(
                f"indptr must have S * A + 1 = {S * A + 1} entries to match R of shape ({S}, {A}); got {indptr.shape[0]}"
            )
        tol = _row_sum_tolerance(dtype) if atol is None else check_tol(atol, "atol", allow_zero=True)
        scan = cls._scan(indptr, indices, data, S, A, tol)
        if scan is None:
            raise ValueError(
                "indices must be strictly increasing within each row of P and P must store no zeros "
                "(canonical CSR); build the model with TabularMDP(scipy.sparse.csr_matrix(...), R, gamma) instead"
            )
        self = object.__new__(cls)
        if copy or data.dtype != dtype:
            data = np.array(data, dtype=dtype)
        if copy:
            indptr, indices = indptr.copy(), indices.copy()
        self._set_csr(indptr, indices, data, S, A, scan if data.dtype == arrs[2].dtype else None)
        self._finish(R_arr, gamma, S, A, dtype, tol)
        return self

    @staticmethod
    def _check_row_sums(sums: np.ndarray, tol: float) -> None:
        dev = np.abs(sums - 1.0)
        if np.any(dev > tol):
            s, a = np.unravel_index(int(np.argmax(dev)), dev.shape)
            TabularMDP._row_sum_error(s, a, sums[s, a], tol, int(np.count_nonzero(dev > tol)))

    @staticmethod
    def _row_sum_error(s, a, total, tol, n_bad):
        raise ValueError(
            f"P[{s}, {a}, :] sums to {total:.12g}, off by {total - 1.0:+.3g} "
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
        """``sum_s' P[s, a, s']`` of the stored ``P`` accumulated in float64, shape ``(S, A)`` (read-only).

        Sparse models compute it on first call (one pass over ``P``, ``8 S A`` bytes) and keep it."""
        if getattr(self, "_row_sum_arr", None) is None:
            arr = self._compute_row_sums()
            arr.setflags(write=False)
            self._row_sum_arr = arr
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
            indptr, _, data = self._csr_arrays
            out = np.empty(self._S * self._A)
            _csr_row_sums(indptr, data, out)
            return out.reshape(self._S, self._A)
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

    def save(self, path, *, layout: str = "npz"):
        """Write the model to ``path`` as ``.npz`` (open format, schema-versioned), or with
        ``layout="npy"`` as a directory of ``.npy`` arrays that ``mdp.load_model(path, mmap=True)``
        memory-maps; see :func:`mdp.load_model` and ``mdp.persistence``. Returns the path."""
        from mdp.persistence import save_model

        return save_model(self, path, layout=layout)

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
