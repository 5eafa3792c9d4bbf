"""System-dynamics (Hankel) matrices of a small POMDP and its PSR rank, numerically.

For a split after ``h`` actions, the rows are the histories ``x = (o_0, a_1, o_1, ..., a_h, o_h)``
(all ``O (A O)^h`` of them, row-major) and the columns the tests ``t = (a_{h+1}, o_{h+1}, ...,
a_{h+k}, o_{h+k})`` of every length ``k = 0..K`` (``k = 0`` the empty test; ``K = H - h`` by default),
ordered by length, then row-major. The entry is the joint probability with the actions intervened,

    D_h[x, t] = P(o's of x and t || a's of x and t),

computed *directly*, by one forward pass per concatenated sequence (:func:`mdp.pomdp.log_likelihoods`).
A POMDP with ``S`` states factors it as ``D_h = Alpha_h Beta_h`` with ``Alpha_h[x, s] = P(o_{0:h},
s_h = s || a_{1:h})`` and ``Beta_h[s, t] = P(o's of t | s_h = s, a's of t)``, so ``rank D_h <= S``: a POMDP is
a PSR of rank at most ``S`` (notes, Definitions and MT5; Littman, Sutton & Singh 2002; Singh, James &
Rudary 2004). The PSR rank is ``max_h rank D_h``; dividing each row by ``P(x)`` (the conditional
matrix of test probabilities ``P(t | x)``) changes no rank.

Rank is a numerical notion here: :func:`psr_rank` counts singular values above an explicit
tolerance, by default ``max(D.shape) * eps * sigma_max`` (the rule of ``numpy.linalg.matrix_rank``),
and returns the singular values so that the gap is visible. :func:`reference_hankel_matrix` is the
factorised twin ``Alpha_h Beta_h``. Project page ``docs/papers/multitask_psr.md``.
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import check_positive_int, check_tol
from mdp.pomdp.model import POMDP, log_likelihoods

__all__ = ["HankelMatrix", "PSRRankResult", "hankel_matrix", "reference_hankel_matrix", "psr_rank"]

_MAX_ENTRIES = 5_000_000


@result
class HankelMatrix:
    """The system-dynamics matrix of one split.

    Attributes
    ----------
    D : ndarray, shape (n_histories, n_tests)
        ``D[x, t] = P(o's of x and t || a's of x and t)``.
    split : int
        ``h``, actions in every history.
    history_obs : ndarray, shape (n_histories, h + 1)
    history_acts : ndarray, shape (n_histories, h)
    test_lengths : ndarray, shape (n_tests,)
        ``k`` of every column (0: the empty test).
    """

    D: np.ndarray
    split: int
    history_obs: np.ndarray
    history_acts: np.ndarray
    test_lengths: np.ndarray


@result
class PSRRankResult:
    """Numerical ranks of the Hankel matrices of every split.

    Attributes
    ----------
    rank : int
        ``max_h rank D_h``, the PSR rank (at most ``S`` for a POMDP).
    ranks : ndarray, shape (H,)
        ``rank D_h``, ``h = 0..H-1``.
    singular_values : tuple of ndarray
        Singular values of each ``D_h`` (descending).
    tols : ndarray, shape (H,)
        The threshold used for each split.
    smallest_kept : float
        The smallest singular value counted in any split (how well conditioned the rank is).
    """

    rank: int
    ranks: np.ndarray
    singular_values: tuple
    tols: np.ndarray
    smallest_kept: float


def _require(model):
    if not isinstance(model, POMDP):
        raise TypeError(f"model must be an mdp.pomdp.POMDP, got {type(model).__name__}")
    return model


def _split_args(model, split, max_test_length):
    H = model.horizon
    h = check_positive_int(split, "split", minimum=0)
    if h > H:
        raise ValueError(f"split must lie in [0, H] = [0, {H}], got {h}")
    K = H - h if max_test_length is None else check_positive_int(max_test_length, "max_test_length", minimum=0)
    if h + K > H:
        raise ValueError(f"split + max_test_length must be <= H = {H}, got {h} + {K}")
    A, O = model.n_actions, model.n_obs
    n_rows = O * (A * O) ** h
    n_cols = sum((A * O) ** k for k in range(K + 1))
    if n_rows * n_cols > _MAX_ENTRIES:
        raise ValueError(f"the Hankel matrix would have {n_rows} x {n_cols} entries (limit {_MAX_ENTRIES})")
    return h, K


def _sequences(A, O, length, with_first_obs):
    """Row-major (o_0,) a_1, o_1, ..., a_L, o_L sequences: (obs, acts)."""
    dims = ((O,) if with_first_obs else ()) + (A, O) * length
    if not dims:
        return np.zeros((1, 0), dtype=np.int64), np.zeros((1, 0), dtype=np.int64)
    idx = np.indices(dims).reshape(len(dims), -1).T
    off = 1 if with_first_obs else 0
    acts = idx[:, off::2]
    obs = idx[:, off + 1 :: 2]
    if with_first_obs:
        obs = np.concatenate([idx[:, :1], obs], axis=1)
    return np.ascontiguousarray(obs, dtype=np.int64), np.ascontiguousarray(acts, dtype=np.int64)


def hankel_matrix(model, split, *, max_test_length=None) -> HankelMatrix:
    """The system-dynamics matrix ``D_h`` of ``model``, every entry by its own forward pass.

    Parameters
    ----------
    model : POMDP
    split : int
        ``h`` in ``[0, H]``: actions in every history.
    max_test_length : int, optional
        Longest test ``K`` (default ``H - h``).

    Returns
    -------
    HankelMatrix
    """
    model = _require(model)
    h, K = _split_args(model, split, max_test_length)
    A, O = model.n_actions, model.n_obs
    ho, ha = _sequences(A, O, h, True)
    cols = []
    lengths = []
    for k in range(K + 1):
        to, ta = _sequences(A, O, k, False)
        nx, nt = ho.shape[0], to.shape[0]
        obs = np.concatenate([np.repeat(ho, nt, axis=0), np.tile(to, (nx, 1))], axis=1)
        acts = np.concatenate([np.repeat(ha, nt, axis=0), np.tile(ta, (nx, 1))], axis=1)
        cols.append(np.exp(log_likelihoods(model, obs, acts)[0]).reshape(nx, nt))
        lengths += [k] * nt
    return HankelMatrix(
        D=np.concatenate(cols, axis=1),
        split=h,
        history_obs=ho,
        history_acts=ha,
        test_lengths=np.array(lengths, dtype=np.int64),
    )


def reference_hankel_matrix(model, split, *, max_test_length=None) -> np.ndarray:
    """The factorised twin ``Alpha_h Beta_h`` (module docstring): ``(n_histories, n_tests)``."""
    model = _require(model)
    h, K = _split_args(model, split, max_test_length)
    S = model.n_states
    alpha = (model.rho0[:, None] * model.E).T  # (O, S)
    for _ in range(h):
        alpha = np.einsum("xs,ast,to->xaot", alpha, model.T, model.E).reshape(-1, S)
    betas = []
    B = np.eye(S)[None]  # (tests, S start, S now)
    for k in range(K + 1):
        if k > 0:
            B = np.einsum("pus,ast,to->paout", B, model.T, model.E).reshape(-1, S, S)
        betas.append(B.sum(axis=2).T)  # (S, tests of length k)
    return alpha @ np.concatenate(betas, axis=1)


def psr_rank(model, *, tol=None, max_test_length=None) -> PSRRankResult:
    """Numerical PSR rank: singular values of every ``D_h`` (``h = 0..H-1``) above a tolerance.

    Parameters
    ----------
    model : POMDP
    tol : float, optional
        Absolute threshold on singular values; default ``max(D_h.shape) * eps * sigma_max(D_h)`` per
        split (``eps`` = float64 machine epsilon), as ``numpy.linalg.matrix_rank``.
    max_test_length : int, optional
        Longest test per split (default ``H - h``).

    Returns
    -------
    PSRRankResult
    """
    model = _require(model)
    if tol is not None:
        tol = check_tol(tol, "tol", allow_zero=True)
    H = model.horizon
    ranks, svs, tols = [], [], []
    kept = np.inf
    for h in range(H):
        K = None if max_test_length is None else min(int(max_test_length), H - h)
        D = hankel_matrix(model, h, max_test_length=K).D
        sv = np.linalg.svd(D, compute_uv=False)
        t = max(D.shape) * np.finfo(np.float64).eps * (sv[0] if sv.size else 0.0) if tol is None else tol
        r = int((sv > t).sum())
        if r:
            kept = min(kept, float(sv[r - 1]))
        ranks.append(r)
        svs.append(sv)
        tols.append(t)
    return PSRRankResult(
        rank=int(max(ranks)),
        ranks=np.array(ranks, dtype=np.int64),
        singular_values=tuple(svs),
        tols=np.array(tols),
        smallest_kept=float(kept),
    )
