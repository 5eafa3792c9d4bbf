"""Shapley value iteration for a batch of zero-sum Markov games in torch (CPU or CUDA).

For each game ``b`` of the batch, Shapley's operator (Shapley 1953, "Stochastic games", PNAS 39)

    ``(T v)(s) = val( R[s] + gamma * sum_s' P[s, :, :, s'] v(s') )``

is iterated from ``v = 0`` with every stage game of every state of every game solved in one call
of the exact batched matrix solver :func:`marl.torch.matrix.zero_sum_matrix_game` (Shapley–Snow
kernels). No Python loop runs over games or states.

Stopping rule (certified, MacQueen-type bounds)
-----------------------------------------------
``T`` is monotone (``u <= w`` implies ``T u <= T w``) and ``T(v + c 1) = T v + gamma c 1``
(rows of ``P`` sum to one). With ``m = min_s (T v - v)(s)`` and ``M = max_s (T v - v)(s)``,
iterating ``T v >= v + m 1`` gives ``T^{k+1} v >= T^k v + gamma^k m``, and summing,

    ``T v + gamma/(1-gamma) m  <=  v*  <=  T v + gamma/(1-gamma) M``

(MacQueen 1966 for MDPs; the same two properties are all the proof uses). The solver only
knows ``T v`` to within the stage games' certificates ``L <= T v <= U``, so it uses the
slightly wider, still valid, bounds ``lo = L + c min(L - v)``, ``hi = U + c max(U - v)`` with
``c = gamma / (1 - gamma)``. It returns the midpoint ``v = (lo + hi) / 2`` and
``error_bound = max_s (hi - lo) / 2`` per game, and stops when ``error_bound <= tol`` for every
game of the batch. (This is the span bound, not the cruder ``c ||T v - v||_inf``: the span bound
is never larger and often much smaller.) The bounds are exact statements about real numbers;
their evaluation in ``dtype`` adds rounding of order ``eps * max|v|``, so in float32 a ``tol``
below about ``1e-6 * max|v|`` cannot be reached and the result comes back with
``converged=False``.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from marl.torch.matrix import _solve_batch, as_tensor, check_device, check_dtype, check_kernel_count
from mdp._common import result
from mdp._common.deprecation import migrate_signature

__all__ = ["batched_shapley_value_iteration", "BatchedShapleyResult"]


@result
class BatchedShapleyResult:
    """Result of :func:`batched_shapley_value_iteration` (torch tensors on the compute device).

    Attributes
    ----------
    v : Tensor, shape (B, S)
        Value estimate; ``|v - v*| <= error_bound`` per game, componentwise.
    row_policy : Tensor, shape (B, S, A1)
        ``x[b, s, :]``: optimal strategy of the row player in the stage game
        ``R[b, s] + gamma * P[b, s] v`` at the returned ``v``.
    col_policy : Tensor, shape (B, S, A2)
        ``y[b, s, :]``: the column player's optimal strategy of the same stage games.
    n_iter : int
        Applications of Shapley's operator (the final policy extraction not counted).
    error_bound : Tensor, shape (B,)
        Certified sup-norm bound on ``v - v*`` per game (MacQueen bounds, see module docstring).
    converged : bool
        Whether ``error_bound <= tol`` for every game.
    stage_gap : Tensor, shape (B,)
        Largest duality gap of the stage games the policies come from (``~1e-15`` relative in
        float64): each ``x[b, s]``, ``y[b, s]`` is that close to optimal in its stage game.
    """

    v: torch.Tensor
    row_policy: torch.Tensor
    col_policy: torch.Tensor
    n_iter: int
    error_bound: torch.Tensor
    converged: bool
    stage_gap: torch.Tensor


def _is_markov_game(obj) -> bool:
    from marl.model import MarkovGame

    return isinstance(obj, MarkovGame)


def _from_games(games, device):
    """Stack one or more zero-sum :class:`marl.MarkovGame` into ``P``, ``R``, ``gamma`` tensors."""
    shape = None
    for i, g in enumerate(games):
        if not _is_markov_game(g):
            raise TypeError(f"games[{i}] must be a marl.MarkovGame, got {type(g).__name__}")
        if not g.is_zero_sum:
            raise ValueError(f"games[{i}] is a general-sum game; Shapley value iteration needs zero-sum games")
        gs = (g.n_states, *g.n_actions)
        if shape is None:
            shape = gs
        elif gs != shape:
            raise ValueError(
                f"all games must have the same (S, A1, A2) to be batched; games[0] has {shape}, games[{i}] has {gs}"
            )
    P = np.stack([g.dense_P() for g in games])
    R = np.stack([g.R for g in games])
    gamma = np.array([g.gamma for g in games])
    return (
        torch.from_numpy(P).to(device=device, dtype=torch.float64),
        torch.from_numpy(np.ascontiguousarray(R)).to(device=device, dtype=torch.float64),
        torch.from_numpy(gamma).to(device=device, dtype=torch.float64),
    )


def _check_gamma(gamma, B: int, device) -> torch.Tensor:
    if isinstance(gamma, bool) or gamma is None:
        raise TypeError(f"gamma must be a real number or an array of B = {B} discounts, got {gamma!r}")
    scalar = isinstance(gamma, numbers.Real)
    if scalar:
        g = torch.full((B,), float(gamma), dtype=torch.float64, device=device)
    else:
        g = as_tensor(gamma, "gamma", torch.float64, device)
        scalar = g.ndim == 0
        if scalar:
            g = g.expand(B).clone()
        if g.shape != (B,):
            raise ValueError(f"gamma must be a scalar or have shape (B,) = ({B},), got shape {tuple(g.shape)}")
    bad = ~torch.isfinite(g) | (g < 0) | (g >= 1)
    if bool(bad.any()):
        b = int(torch.nonzero(bad)[0])
        where = "" if scalar else f"[{b}]"
        raise ValueError(f"gamma{where} must lie in [0, 1) for a discounted game, got {g[b].item()}")
    return g


def _check_P(P: torch.Tensor, atol: float) -> torch.Tensor:
    """Non-negativity and row sums (within ``atol``) of ``P (B, S, A1, A2, S)``; rows renormalised."""
    if bool((P < 0).any()):
        idx = torch.nonzero(P < 0)[0].tolist()
        raise ValueError(f"P must be non-negative; P[{', '.join(map(str, idx))}] = {P[tuple(idx)].item()}")
    sums = P.sum(-1)
    dev = (sums - 1.0).abs()
    if dev.numel() and float(dev.max()) > atol:
        idx = tuple(torch.nonzero(dev == dev.max())[0].tolist())
        raise ValueError(
            f"P[{', '.join(map(str, idx))}, :] must sum to 1 (a probability distribution over next "
            f"states), sums to {sums[idx].item()!r} (off by {(sums[idx] - 1.0).item():.3g}, tolerance {atol:g})"
        )
    return P / sums[..., None]


@migrate_signature(was_positional=("tol", "max_iter"))
def batched_shapley_value_iteration(
    P,
    R=None,
    gamma=None,
    *,
    tol: float = 1e-8,
    max_iter: int = 100_000,
    device=None,
    dtype=torch.float64,
    atol: float | None = None,
) -> BatchedShapleyResult:
    """Shapley value iteration for a batch of two-player zero-sum discounted Markov games.

    Parameters
    ----------
    P : Tensor or array_like, shape (B, S, A1, A2, S) or (S, A1, A2, S); or MarkovGame(s)
        ``P[b, s, a1, a2, s']`` transition probabilities (rows sum to one within ``atol``;
        they are renormalised to sum to one exactly before iterating). A 4-D ``P`` is a batch of
        one. Alternatively one zero-sum :class:`marl.MarkovGame` or a sequence of them with the
        same ``(S, A1, A2)``; then ``R`` and ``gamma`` come from the games and must not be given.
    R : Tensor or array_like, shape (B, S, A1, A2) or (S, A1, A2)
        Payoff to the row player (maximiser); the column player gets ``-R``.
    gamma : float or array_like of shape (B,)
        Discount(s) in ``[0, 1)``.
    tol : float, default 1e-8
        Stop when the certified bound ``max_s |v - v*|`` is ``<= tol`` for every game.
    max_iter : int, default 100000
        Most applications of Shapley's operator; ``converged`` is False if reached first.
    device : str or torch.device, optional
        Default: ``P``'s device when it is a tensor, else the CPU. ``'cuda'`` without CUDA raises.
    dtype : torch.float64 (default) or torch.float32
        Working precision (see the module docstring for what float32 can certify).
    atol : float, optional
        Row-sum tolerance for ``P``; default ``1e-8`` (``1e-5`` when ``P`` is a float32 tensor).

    Returns
    -------
    BatchedShapleyResult
        ``v (B, S)``, ``row_policy (B, S, A1)``, ``col_policy (B, S, A2)``, ``n_iter``,
        ``error_bound (B,)``, ``converged``, ``stage_gap (B,)``.

    Raises
    ------
    TypeError, ValueError
        On bad input, naming the argument and the rule (shapes, non-negative ``P`` with unit row
        sums, finite ``R``, ``gamma`` in ``[0, 1)``, ``tol > 0``, ``max_iter >= 1``, a usable
        device, at most :data:`marl.torch.MAX_KERNELS` kernels per stage game).

    Notes
    -----
    Shapley (1953), "Stochastic games", PNAS 39(10): ``T`` is a ``gamma``-contraction in the sup
    norm whose fixed point is the value; the stopping rule is the MacQueen-type span bound
    derived in the module docstring. Cost per iteration: one batched ``(B, S*A1*A2, S) @ (B, S)``
    product and one batched kernel solve of ``B * S`` stage games.
    """
    from mdp._validation import check_positive_int, check_tol

    tol = check_tol(tol, "tol")
    max_iter = check_positive_int(max_iter, "max_iter")
    dt = check_dtype(dtype)
    games = None
    if _is_markov_game(P):
        games = [P]
    elif isinstance(P, (list, tuple)) and P and all(_is_markov_game(g) for g in P):
        games = list(P)
    elif isinstance(P, (list, tuple)) and P and any(_is_markov_game(g) for g in P):
        raise TypeError("P given as a sequence must hold only marl.MarkovGame objects (or be an array)")
    default_dev = P.device if isinstance(P, torch.Tensor) else None
    dev = check_device(device, default_dev)
    with torch.no_grad():
        if games is not None:
            if R is not None or gamma is not None:
                raise ValueError("R and gamma come from the MarkovGame(s) passed as P; do not pass them as well")
            P64, R64, g = _from_games(games, dev)
            row_atol = 1e-8 if atol is None else check_tol(atol, "atol", allow_zero=True)
        else:
            if R is None or gamma is None:
                raise TypeError("R and gamma are required when P is an array (or pass marl.MarkovGame objects)")
            low_prec = isinstance(P, torch.Tensor) and P.dtype not in (torch.float64,)
            row_atol = (1e-5 if low_prec else 1e-8) if atol is None else check_tol(atol, "atol", allow_zero=True)
            P64 = as_tensor(P, "P", torch.float64, dev)
            R64 = as_tensor(R, "R", torch.float64, dev)
            if P64.ndim == 4 and R64.ndim == 3:
                P64, R64 = P64[None], R64[None]
            if R64.ndim != 4:
                raise ValueError(
                    f"R must have shape (B, S, A1, A2) (or (S, A1, A2) for one game), got {tuple(R64.shape)}"
                )
            B, S, A1, A2 = R64.shape
            if P64.shape != (B, S, A1, A2, S):
                raise ValueError(
                    f"P must have shape (B, S, A1, A2, S) = ({B}, {S}, {A1}, {A2}, {S}) to match R of "
                    f"shape {tuple(R64.shape)}; got {tuple(P64.shape)}"
                )
            if min(B, S, A1, A2) == 0:
                raise ValueError(f"empty batch or game: R has shape {tuple(R64.shape)}")
            g = _check_gamma(gamma, B, dev)
        B, S, A1, A2 = R64.shape
        check_kernel_count(A1, A2, "the stage games")
        P64 = _check_P(P64, row_atol)
        return _iterate(P64.to(dt), R64.to(dt), g.to(dt), tol, max_iter)


def _stage_games(Pf, R, gamma, v):
    B, S, A1, A2 = R.shape
    cont = torch.bmm(Pf, v[:, :, None]).reshape(B, S, A1, A2)
    return R + gamma[:, None, None, None] * cont


def _iterate(P, R, gamma, tol, max_iter) -> BatchedShapleyResult:
    B, S, A1, A2 = R.shape
    Pf = P.reshape(B, S * A1 * A2, S)
    c = (gamma / (1.0 - gamma))[:, None]
    v = torch.zeros((B, S), dtype=R.dtype, device=R.device)
    lo = hi = v
    n_iter = 0
    converged = False
    for n_iter in range(1, max_iter + 1):
        Q = _stage_games(Pf, R, gamma, v)
        L, U, _, _ = _solve_batch(Q.reshape(B * S, A1, A2))
        L, U = L.reshape(B, S), U.reshape(B, S)
        lo = L + c * (L - v).amin(1, keepdim=True)
        hi = U + c * (U - v).amax(1, keepdim=True)
        if bool(((hi - lo).amax(1) <= 2 * tol).all()):
            converged = True
            break
        v = (L + U) / 2
    v_out = (lo + hi) / 2
    error_bound = (hi - lo).amax(1) / 2
    Q = _stage_games(Pf, R, gamma, v_out)
    L, U, x, y = _solve_batch(Q.reshape(B * S, A1, A2))
    return BatchedShapleyResult(
        v=v_out,
        row_policy=x.reshape(B, S, A1),
        col_policy=y.reshape(B, S, A2),
        n_iter=n_iter,
        error_bound=error_bound,
        converged=converged,
        stage_gap=(U - L).reshape(B, S).amax(1),
    )
