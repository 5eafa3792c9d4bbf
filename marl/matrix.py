"""Two-player zero-sum matrix games: value and optimal mixed strategies, one game or a batch.

``val(M) = max_x min_y x^T M y`` for ``M`` of shape ``(k1, k2)``, the row player maximising
(von Neumann 1928; the LP formulation of docs/papers/foundations.md section 6). Two methods:

* ``"simplex"`` (default): the batched numba tableau simplex of :mod:`marl._simplex`, exact in the
  sense that it returns an optimal basic solution (see that module), with a per-game certificate
  ``lower <= val(M) <= upper`` computed from the returned strategies.
* ``"highs"``: :func:`zero_sum_lp`, one pair of scipy HiGHS LPs per game (the row player's
  max-min LP and the column player's min-max LP). This is the plain reference twin.
"""

from __future__ import annotations

import numpy as np

from marl.model import MatrixGame
from mdp._common import result
from mdp._validation import as_float_array

__all__ = ["ZeroSumSolution", "zero_sum_matrix_game", "zero_sum_lp", "matrix_game_value"]


@result
class ZeroSumSolution:
    """Solution of one zero-sum matrix game or of a batch.

    For a single game ``M (k1, k2)`` the fields are scalars and 1-D arrays; for a batch
    ``(n, k1, k2)`` they gain a leading axis ``n``.

    Attributes
    ----------
    value : float or ndarray (n,)
        ``val(M)``, the midpoint of the certificate interval.
    row_strategy : ndarray (k1,) or (n, k1)
        Optimal mixed strategy of the (maximising) row player.
    col_strategy : ndarray (k2,) or (n, k2)
        Optimal mixed strategy of the (minimising) column player.
    lower, upper : float or ndarray (n,)
        ``min_j (x^T M)_j`` and ``max_i (M y)_i``: what the row strategy guarantees and what the
        column strategy concedes. ``lower <= val(M) <= upper`` by weak duality, up to the
        round-off of those two products.
    gap : float or ndarray (n,)
        ``upper - lower``: a bound on the error of ``value`` (twice it) and on each player's
        exploitability, certified up to the round-off of evaluating ``x^T M`` and ``M y`` (a few
        ulps of ``max|M|``).
    method : str
    """

    value: object
    row_strategy: np.ndarray
    col_strategy: np.ndarray
    lower: object
    upper: object
    gap: object
    method: str


def _coerce_payoffs(M, name: str = "M") -> tuple[np.ndarray, bool]:
    """Return ``(batch (n, k1, k2) float64, was_single)``."""
    if isinstance(M, MatrixGame):
        if M.n_players != 2:
            raise ValueError(f"{name} must be a two-player game, got {M.n_players} players")
        if not M.is_zero_sum:
            raise ValueError(
                f"{name} is not zero-sum (payoffs do not sum to zero); use marl.nash_equilibria "
                "for general-sum bimatrix games"
            )
        M = M.A
    arr = as_float_array(M, name, allow_bool=False)
    given = arr.shape
    if arr.ndim == 2:
        single = True
        arr = arr[None]
    elif arr.ndim == 3:
        single = False
    else:
        raise ValueError(f"{name} must be a payoff matrix (k1, k2) or a batch (n, k1, k2), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch of games, shape {arr.shape}; need at least one game")
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError(f"{name} must give each player at least one action, got shape {given}")
    return np.ascontiguousarray(arr), single


def zero_sum_matrix_game(M, *, method: str = "simplex", parallel: bool | None = None) -> ZeroSumSolution:
    """Value and optimal strategies of a zero-sum matrix game, or of many at once.

    Parameters
    ----------
    M : array_like or MatrixGame
        Row player's payoff ``(k1, k2)``, a batch ``(n, k1, k2)``, or a two-player zero-sum
        :class:`marl.MatrixGame`. Finite reals.
    method : {"simplex", "highs"}
        ``"simplex"``: batched numba simplex (exact optimal basis, certified; games whose pivoting
        hits the cap are re-solved with HiGHS). ``"highs"``: scipy's HiGHS, one LP pair per game.
    parallel : bool, optional
        Split a batch over numba threads (default: when the batch has at least 4096 games and
        more than one thread is available).

    Returns
    -------
    ZeroSumSolution

    Examples
    --------
    >>> import marl
    >>> sol = marl.zero_sum_matrix_game([[1.0, -1.0], [-1.0, 1.0]])   # matching pennies
    >>> round(sol.value, 12), [round(p, 12) for p in sol.row_strategy.tolist()]
    (0.0, [0.5, 0.5])
    """
    batch, single = _coerce_payoffs(M)
    if method == "highs":
        sol = zero_sum_lp(batch)
        if single:
            return _squeeze(sol)
        return sol
    if method != "simplex":
        raise ValueError(f"method must be 'simplex' or 'highs', got {method!r}")
    from marl import _simplex as K

    n, k1, k2 = batch.shape
    # scale each game by a power of two so that max|M| lies in [1/2, 1): exact in floating point, and
    # the tableau never overflows (payoffs near 1e308) or loses its pivots (subnormal payoffs)
    maxabs = np.abs(batch).reshape(n, -1).max(axis=1)
    exps = np.where(maxabs > 0, np.frexp(maxabs)[1], 0).astype(np.int64)
    batch = np.ldexp(batch, -exps[:, None, None])
    values = np.empty(n)
    lowers = np.empty(n)
    uppers = np.empty(n)
    xs = np.empty((n, k1))
    ys = np.empty((n, k2))
    status = np.zeros(n, dtype=np.int64)
    if parallel is None:
        import numba

        parallel = n >= 4096 and numba.get_num_threads() > 1
    if parallel:
        import numba

        K.solve_batch_parallel(batch, values, lowers, uppers, xs, ys, status, max(1, numba.get_num_threads() * 4))
    else:
        K.solve_batch(batch, values, lowers, uppers, xs, ys, status)
    # a failed pivot sequence or an unconvincing certificate (payoffs are within [-1, 1] here) sends
    # the game to HiGHS: never a silent wrong value
    bad = np.flatnonzero((status != 0) | ~np.isfinite(uppers - lowers) | (uppers - lowers > 1e-9))
    if bad.size:  # pragma: no cover - has not happened on any test batch
        ref = zero_sum_lp(batch[bad])
        values[bad], lowers[bad], uppers[bad] = ref.value, ref.lower, ref.upper
        xs[bad], ys[bad] = ref.row_strategy, ref.col_strategy
    values, lowers, uppers = (np.ldexp(a, exps) for a in (values, lowers, uppers))
    sol = ZeroSumSolution(values, xs, ys, lowers, uppers, uppers - lowers, "simplex (numba, batched)")
    return _squeeze(sol) if single else sol


def matrix_game_value(M) -> float:
    """``val(M)`` of one payoff matrix ``(k1, k2)`` (a float)."""
    return float(zero_sum_matrix_game(M).value)


def _squeeze(sol: ZeroSumSolution) -> ZeroSumSolution:
    return ZeroSumSolution(
        float(sol.value[0]),
        sol.row_strategy[0].copy(),
        sol.col_strategy[0].copy(),
        float(sol.lower[0]),
        float(sol.upper[0]),
        float(sol.gap[0]),
        sol.method,
    )


def zero_sum_lp(M) -> ZeroSumSolution:
    """Reference solver: scipy HiGHS, the row player's and the column player's LP for each game.

    Row player: ``max v s.t. sum_i x_i M[i, j] >= v for all j, sum x = 1, x >= 0``.
    Column player: ``min w s.t. sum_j M[i, j] y_j <= w for all i, sum y = 1, y >= 0``.
    By the minimax theorem (von Neumann 1928; LP duality) the two optima coincide; ``lower``
    and ``upper`` hold the two LP optima' certificates recomputed from the strategies.

    Parameters
    ----------
    M : array_like
        ``(k1, k2)`` or ``(n, k1, k2)``.
    """
    from scipy.optimize import linprog

    batch, single = _coerce_payoffs(M)
    n, k1, k2 = batch.shape
    xs = np.empty((n, k1))
    ys = np.empty((n, k2))
    for g in range(n):
        A = batch[g]
        # variables (x_1..x_k1, v): minimise -v s.t. v - x^T A[:, j] <= 0
        c = np.zeros(k1 + 1)
        c[-1] = -1.0
        A_ub = np.hstack([-A.T, np.ones((k2, 1))])
        A_eq = np.zeros((1, k1 + 1))
        A_eq[0, :k1] = 1.0
        res = linprog(
            c,
            A_ub=A_ub,
            b_ub=np.zeros(k2),
            A_eq=A_eq,
            b_eq=[1.0],
            bounds=[(0, None)] * k1 + [(None, None)],
            method="highs",
        )
        if res.status != 0:  # pragma: no cover
            raise RuntimeError(f"HiGHS failed on game {g}: {res.message}")
        # variables (y_1..y_k2, w): minimise w s.t. A[i] y - w <= 0
        c2 = np.zeros(k2 + 1)
        c2[-1] = 1.0
        A_ub2 = np.hstack([A, -np.ones((k1, 1))])
        A_eq2 = np.zeros((1, k2 + 1))
        A_eq2[0, :k2] = 1.0
        res2 = linprog(
            c2,
            A_ub=A_ub2,
            b_ub=np.zeros(k1),
            A_eq=A_eq2,
            b_eq=[1.0],
            bounds=[(0, None)] * k2 + [(None, None)],
            method="highs",
        )
        if res2.status != 0:  # pragma: no cover
            raise RuntimeError(f"HiGHS failed on game {g}: {res2.message}")
        x = np.clip(res.x[:k1], 0.0, None)
        y = np.clip(res2.x[:k2], 0.0, None)
        xs[g] = x / x.sum()
        ys[g] = y / y.sum()
    lowers = np.einsum("ni,nij->nj", xs, batch).min(axis=1)
    uppers = np.einsum("nij,nj->ni", batch, ys).max(axis=1)
    sol = ZeroSumSolution(0.5 * (lowers + uppers), xs, ys, lowers, uppers, uppers - lowers, "highs (scipy linprog)")
    return _squeeze(sol) if single else sol
