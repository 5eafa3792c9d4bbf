"""Exact batched solution of zero-sum matrix games in torch, by Shapley–Snow kernel enumeration.

A batch ``M`` of shape ``(..., k1, k2)`` holds one payoff matrix per game (payoff to the row
player, who maximises; the column player minimises). :func:`zero_sum_matrix_game` returns the
value of every game, an optimal strategy for each player and a certificate (the duality gap of
the returned pair), all computed with dense batched linear algebra so that thousands of small
games are solved at once on a CPU or a GPU.

Why this is exact
-----------------
Shapley & Snow (1950), "Basic solutions of discrete games", Contributions to the Theory of Games
I, Ann. Math. Studies 24, Theorem 5: if the value ``v`` of ``M`` is not zero, every extreme
point of the optimal strategy sets is given by a *kernel*, a square nonsingular submatrix ``K``
(rows ``I``, columns ``J``, ``|I| = |J| = r``) with

    ``v = 1 / (1^T K^{-1} 1)``,   ``x_I = v 1^T K^{-1}``,   ``y_J = v K^{-1} 1``,

and zeros outside ``I`` and ``J``. Since the optimal sets are non-empty polytopes, some kernel
gives an optimal pair. We shift and scale ``M`` to ``M' = 1 + (M - min M) / (max M - min M)``
(entries in ``[1, 2]``, so ``val(M') >= 1 > 0``; the optimal strategies are unchanged), solve
every square submatrix of ``M'`` at once (closed-form adjugates for ``r <= 3``, one batched LU
factorisation per size ``r >= 4``), turn each solution into a candidate mixed strategy (kept when it is non-negative up to ``sqrt(eps)``, then clipped and
renormalised) and evaluate each candidate on the *original* ``M``:

    ``lower = max_x min_j (x^T M)_j``,   ``upper = min_y max_i (M y)_i``.

Every candidate on the simplex gives a valid bound (weak duality), so ``lower <= val(M) <=
upper`` holds whatever the rounding in the kernel solves, and by Shapley–Snow the best
candidates meet: ``gap = upper - lower`` is zero up to floating-point rounding (about
``1e-15 * max|M|`` in float64). The returned ``gap`` is that certificate, computed, not assumed.
The 1x1 kernels are always nonsingular (entries of ``M'`` are >= 1), so the pure strategies are
always candidates and constant or otherwise degenerate games (duplicate rows or columns,
singular kernels, which are masked) need no special case.

Cost
----
The number of kernels is ``sum_{r=1}^{min(k1,k2)} C(k1, r) C(k2, r)`` (= ``C(k1 + k2, k1) - 1``):
19 for 3x3, 251 for 5x5, 923 for 6x6, 3431 for 7x7, 12869 for 8x8. Each game costs about
``sum_r n_r (r^3 + k1 k2)`` flops, so the method is meant for small action sets (k <= 5..6 is
cheap); more than :data:`~marl.torch.MAX_KERNELS` kernels raise ``ValueError`` (use an LP solver such as
:func:`marl.zero_sum_matrix_game` instead). Games are processed in chunks so that the working
memory stays near :data:`_CHUNK_ELEMENTS` numbers.
"""

from __future__ import annotations

import functools
import math
from itertools import combinations

import numpy as np
import torch

from mdp._common import result
from mdp._validation import as_float_array

__all__ = ["zero_sum_matrix_game", "BatchedZeroSumSolution", "kernel_count", "MAX_KERNELS"]

#: Largest number of square submatrices (kernels) :func:`zero_sum_matrix_game` enumerates.
MAX_KERNELS = 20000
# working-set budget (number of floats) for one chunk of games
_CHUNK_ELEMENTS = 1 << 23
_FLOAT_DTYPES = (torch.float32, torch.float64)


@result
class BatchedZeroSumSolution:
    """Solution of a batch of zero-sum matrix games (torch tensors on the input's device).

    Attributes
    ----------
    value : Tensor, shape (...)
        ``(lower + upper) / 2``: the value of each game to within ``gap / 2``.
    row_strategy : Tensor, shape (..., k1)
        Optimal (maximin) strategy of the row player; it guarantees at least ``lower``.
    col_strategy : Tensor, shape (..., k2)
        Optimal (minimax) strategy of the column player; it concedes at most ``upper``.
    lower, upper : Tensor, shape (...)
        ``min_j (x^T M)_j`` and ``max_i (M y)_i`` for the returned strategies, so
        ``lower <= val(M) <= upper`` (up to rounding in evaluating these two products).
    gap : Tensor, shape (...)
        ``upper - lower``, the certificate: both strategies are ``gap``-optimal.
    """

    value: torch.Tensor
    row_strategy: torch.Tensor
    col_strategy: torch.Tensor
    lower: torch.Tensor
    upper: torch.Tensor
    gap: torch.Tensor


def kernel_count(k1: int, k2: int) -> int:
    """Number of square submatrices of a ``k1 x k2`` matrix, ``sum_r C(k1, r) C(k2, r)``."""
    return sum(math.comb(k1, r) * math.comb(k2, r) for r in range(1, min(k1, k2) + 1))


# ---------------------------------------------------------------------------------------------
# argument checks shared with marl.torch.shapley


def check_device(device, default: torch.device | None = None) -> torch.device:
    """Return ``device`` as a usable :class:`torch.device`, or raise a ValueError saying why not."""
    if device is None:
        return default if default is not None else torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} requested but CUDA is not available to torch "
            f"(torch {torch.__version__}, torch.cuda.is_available() is False); use device='cpu'"
        )
    try:
        torch.empty(0, device=dev)
    except (RuntimeError, AssertionError) as exc:
        raise ValueError(f"device={device!r} cannot be used by torch: {exc}") from None
    return dev


def check_dtype(dtype, name: str = "dtype") -> torch.dtype:
    """Accept ``torch.float32`` / ``torch.float64`` (or the numpy / string spellings)."""
    aliases = {
        "float32": torch.float32,
        "float64": torch.float64,
        "float": torch.float32,
        "double": torch.float64,
        np.float32: torch.float32,
        np.float64: torch.float64,
    }
    try:
        dt = aliases.get(dtype, dtype)
    except TypeError:  # unhashable
        dt = dtype
    if dt not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be torch.float32 or torch.float64, got {dtype!r}")
    return dt


def as_tensor(x, name: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """Coerce ``x`` (tensor, ndarray, nested lists) to a finite real tensor on ``device``."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array or tensor of numbers, got {type(x).__name__}")
    if isinstance(x, torch.Tensor):
        t = x.detach()
        if t.is_complex():
            raise TypeError(f"{name} must be real, got complex dtype {t.dtype}")
    else:  # arrays and nested lists: the lab's shared checks (numeric, real, finite)
        arr = as_float_array(x, name)
        t = torch.from_numpy(arr if arr.flags.writeable else arr.copy())  # rlab results are read-only
    t = t.to(device=device, dtype=dtype)
    finite = torch.isfinite(t)
    if t.numel() and not bool(finite.all()):
        bad = torch.nonzero(~finite)[0].tolist()
        raise ValueError(f"{name} must be finite; {name}[{', '.join(map(str, bad))}] = {t[tuple(bad)].item()}")
    return t


# ---------------------------------------------------------------------------------------------
# the solver


@functools.lru_cache(maxsize=64)
def _kernel_plan(k1: int, k2: int, device: torch.device):
    """Per size ``r``: row and column index tensors ``(n_r, r)`` of every ``r x r`` submatrix."""
    plan = []
    for r in range(1, min(k1, k2) + 1):
        rows = torch.tensor(list(combinations(range(k1), r)), dtype=torch.long)
        cols = torch.tensor(list(combinations(range(k2), r)), dtype=torch.long)
        nr, nc = rows.shape[0], cols.shape[0]
        I = rows[:, None, :].expand(nr, nc, r).reshape(nr * nc, r)
        J = cols[None, :, :].expand(nr, nc, r).reshape(nr * nc, r)
        plan.append((r, I.to(device), J.to(device)))
    return tuple(plan)


def _kernel_directions(K: torch.Tensor):
    """``u ∝ 1^T K^{-1}`` and ``w ∝ K^{-1} 1`` for kernels ``K (N, n, r, r)``, up to a common factor.

    For ``r <= 3`` the adjugate gives them without a division (``K^{-1} = adj K / det K``, and
    the factor ``1 / det K`` cancels when the candidates are normalised to sum to one); larger
    kernels use one batched LU factorisation (singular ones get NaN and are masked later).
    """
    r = K.shape[-1]
    if r == 1:
        one = torch.ones(K.shape[:-1], dtype=K.dtype, device=K.device)
        return one, one
    if r == 2:
        a, b, c, d = K[..., 0, 0], K[..., 0, 1], K[..., 1, 0], K[..., 1, 1]
        return torch.stack([d - c, a - b], -1), torch.stack([d - b, a - c], -1)
    if r == 3:
        r0, r1, r2 = K[..., 0, :], K[..., 1, :], K[..., 2, :]
        C = torch.stack(
            [torch.linalg.cross(r1, r2), torch.linalg.cross(r2, r0), torch.linalg.cross(r0, r1)], -2
        )  # cofactor matrix, adj K = C^T
        return C.sum(-1), C.sum(-2)
    LU, piv, info = torch.linalg.lu_factor_ex(K)
    ones = torch.ones(K.shape[:-1] + (1,), dtype=K.dtype, device=K.device)
    w = torch.linalg.lu_solve(LU, piv, ones)[..., 0]
    u = torch.linalg.lu_solve(LU, piv, ones, adjoint=True)[..., 0]
    nan = torch.full((), math.nan, dtype=K.dtype, device=K.device)
    singular = (info != 0)[..., None]
    return torch.where(singular, nan, u), torch.where(singular, nan, w)


def _candidates(sol: torch.Tensor, idx: torch.Tensor, k: int, neg_tol: float):
    """Normalise kernel directions ``(N, n, r)`` into simplex points ``(N, n, k)`` and a validity mask.

    A candidate is kept when the normalised vector is finite and ``>= -neg_tol``; it is then
    clipped at zero and renormalised, so every kept candidate is a point of the simplex (and so
    gives a valid bound whatever the rounding in the kernel solve).
    """
    p = sol / sol.sum(-1, keepdim=True)
    ok = (p >= -neg_tol).all(-1)  # False for NaN
    ok &= torch.isfinite(p).all(-1)
    p = torch.where(ok[..., None], p.clamp_min(0.0), torch.zeros((), dtype=p.dtype, device=p.device))
    p = p / p.sum(-1, keepdim=True).clamp_min(torch.finfo(p.dtype).tiny)
    full = torch.zeros(p.shape[:-1] + (k,), dtype=p.dtype, device=p.device)
    full.scatter_(-1, idx.expand(p.shape), p)
    return full, ok


def _solve_flat(M: torch.Tensor):
    """Solve ``M`` of shape ``(N, k1, k2)`` (finite, float); returns lower, upper, x, y."""
    N, k1, k2 = M.shape
    dt, dev = M.dtype, M.device
    neg_tol = math.sqrt(torch.finfo(dt).eps)
    lo_m = M.amin(dim=(1, 2), keepdim=True)
    span = M.amax(dim=(1, 2), keepdim=True) - lo_m
    span = torch.where(span > 0, span, torch.ones_like(span))
    Mp = 1.0 + (M - lo_m) / span  # entries in [1, 2]: val(Mp) >= 1, all 1x1 kernels nonsingular
    best_lo = torch.full((N,), -math.inf, dtype=dt, device=dev)
    best_up = torch.full((N,), math.inf, dtype=dt, device=dev)
    best_x = torch.zeros((N, k1), dtype=dt, device=dev)
    best_y = torch.zeros((N, k2), dtype=dt, device=dev)
    arangeN = torch.arange(N, device=dev)
    for r, I, J in _kernel_plan(k1, k2, dev):
        K = Mp[:, I[:, :, None], J[:, None, :]]  # (N, n, r, r)
        u, w = _kernel_directions(K)
        x, okx = _candidates(u, I, k1, neg_tol)
        y, oky = _candidates(w, J, k2, neg_tol)
        lower = torch.bmm(x, M).amin(-1)  # (N, n): min_j (x^T M)_j per candidate
        upper = torch.bmm(y, M.transpose(1, 2)).amax(-1)  # max_i (M y)_i
        lower = torch.where(okx, lower, torch.full_like(lower, -math.inf))
        upper = torch.where(oky, upper, torch.full_like(upper, math.inf))
        lo_r, ilo = lower.max(-1)
        up_r, iup = upper.min(-1)
        take_lo = lo_r > best_lo
        take_up = up_r < best_up
        best_lo = torch.where(take_lo, lo_r, best_lo)
        best_up = torch.where(take_up, up_r, best_up)
        best_x = torch.where(take_lo[:, None], x[arangeN, ilo], best_x)
        best_y = torch.where(take_up[:, None], y[arangeN, iup], best_y)
    return best_lo, best_up, best_x, best_y


def _solve_batch(M: torch.Tensor):
    """Chunked :func:`_solve_flat` for ``(N, k1, k2)``; no validation (internal use)."""
    N, k1, k2 = M.shape
    per_game = sum(
        math.comb(k1, r) * math.comb(k2, r) * (3 * r * r + 4 * r + 3 * (k1 + k2) + k1 * k2)
        for r in range(1, min(k1, k2) + 1)
    )
    chunk = max(1, _CHUNK_ELEMENTS // max(per_game, 1))
    if N <= chunk:
        return _solve_flat(M)
    parts = [_solve_flat(M[i : i + chunk]) for i in range(0, N, chunk)]
    return tuple(torch.cat(p) for p in zip(*parts))


def check_kernel_count(k1: int, k2: int, name: str = "M") -> None:
    n = kernel_count(k1, k2)
    if n > MAX_KERNELS:
        raise ValueError(
            f"{name} has {k1} x {k2} actions, which gives {n} square submatrices (kernels) to "
            f"enumerate; the torch kernel solver allows at most MAX_KERNELS = {MAX_KERNELS} "
            f"(e.g. up to 8 x 8); use the LP solver marl.zero_sum_matrix_game for larger games"
        )


def zero_sum_matrix_game(M, *, dtype=None, device=None) -> BatchedZeroSumSolution:
    """Solve a batch of two-player zero-sum matrix games exactly (Shapley–Snow kernels).

    Parameters
    ----------
    M : Tensor or array_like, shape (..., k1, k2)
        Payoff to the row player (maximiser); any number of leading batch axes. Finite reals.
    dtype : torch.float64 or torch.float32, optional
        Working precision. Default: ``M``'s dtype if it is a float32/float64 tensor, else float64.
    device : str or torch.device, optional
        Where to compute. Default: ``M``'s device for a tensor, else the CPU.

    Returns
    -------
    BatchedZeroSumSolution
        ``value (...)``, ``row_strategy (..., k1)``, ``col_strategy (..., k2)``, ``lower``,
        ``upper`` and ``gap = upper - lower`` (the certificate, ~1e-15 relative in float64).

    Raises
    ------
    TypeError
        If ``M`` is not real-numeric or ``dtype`` is not float32/float64.
    ValueError
        If ``M`` has fewer than two axes, an empty action axis, a NaN or infinite entry, more
        than :data:`~marl.torch.MAX_KERNELS` kernels, or ``device`` is unavailable (e.g. ``'cuda'`` without
        CUDA).

    Notes
    -----
    Exact by Shapley & Snow (1950), Theorem 5 (see the module docstring for the argument and the
    cost, ``sum_r C(k1, r) C(k2, r)`` kernels per game). A Python loop runs over kernel sizes
    ``r`` only; games and kernels of one size are processed in one batched call.

    Examples
    --------
    >>> import torch
    >>> from marl.torch import zero_sum_matrix_game
    >>> sol = zero_sum_matrix_game(torch.tensor([[1.0, -1.0], [-1.0, 1.0]], dtype=torch.float64))  # matching pennies
    >>> float(sol.value), [round(p, 12) for p in sol.row_strategy.tolist()]
    (0.0, [0.5, 0.5])
    """
    default_dev = M.device if isinstance(M, torch.Tensor) else None
    dev = check_device(device, default_dev)
    if dtype is None:
        dtype = M.dtype if isinstance(M, torch.Tensor) and M.dtype in _FLOAT_DTYPES else torch.float64
    dt = check_dtype(dtype)
    with torch.no_grad():
        t = as_tensor(M, "M", dt, dev)
        if t.ndim < 2:
            raise ValueError(f"M must have shape (..., k1, k2) with at least two axes, got shape {tuple(t.shape)}")
        *batch, k1, k2 = t.shape
        if k1 == 0 or k2 == 0:
            raise ValueError(f"M must have at least one action per player, got shape {tuple(t.shape)}")
        check_kernel_count(k1, k2)
        flat = t.reshape(-1, k1, k2)
        if flat.shape[0] == 0:
            empty = torch.empty(tuple(batch), dtype=dt, device=dev)
            return BatchedZeroSumSolution(
                empty, t.new_empty(tuple(batch) + (k1,)), t.new_empty(tuple(batch) + (k2,)), empty, empty, empty
            )
        lower, upper, x, y = _solve_batch(flat)
        shape = tuple(batch)
        return BatchedZeroSumSolution(
            value=((lower + upper) / 2).reshape(shape),
            row_strategy=x.reshape(shape + (k1,)),
            col_strategy=y.reshape(shape + (k2,)),
            lower=lower.reshape(shape),
            upper=upper.reshape(shape),
            gap=(upper - lower).reshape(shape),
        )
