"""Two-player Markov games: Shapley value iteration, Hoffman-Karp, evaluation, best responses,
exploitability and Nash-gap certificates.

Conventions: the row player (player 0) maximises ``R``; in a zero-sum game the column player
(player 1) minimises it (receives ``-R``). ``x[s, a1]`` and ``y[s, a2]`` are stationary strategies.

The Shapley operator ``(T v)(s) = val(R[s] + gamma * sum_s' P[s, :, :, s'] v(s'))`` (Shapley 1953)
is monotone and satisfies ``T(v + c 1) = T v + gamma c 1`` for stochastic ``P``; hence it is a
``gamma``-contraction (foundations G1) and the MacQueen bounds of Puterman (1994) Thm 6.6.3 carry
over verbatim: ``T v + k min(T v - v) <= v* <= T v + k max(T v - v)``, ``k = gamma / (1 - gamma)``
(widened by the stored row-sum range exactly as in :func:`mdp.solvers._core.macqueen_bounds`).
Every solver here stops on that certificate, never on a bare iterate difference.
"""

from __future__ import annotations

import warnings
from dataclasses import field

import numpy as np

from marl.model import MarkovGame, check_stationary_strategy
from mdp._common import UNIT_ROUNDOFF, ConvergenceWarning, StallTracker, result
from mdp._common.deprecation import migrate_signature
from mdp._common.roundoff import backup_rounding, difference_rounding, macqueen_bounds
from mdp._validation import as_float_array, check_positive_int, check_tol

__all__ = [
    "GameSolverResult",
    "BestResponse",
    "Exploitability",
    "NashGap",
    "shapley_value_iteration",
    "hoffman_karp",
    "shapley_operator",
    "evaluate_strategies",
    "best_response",
    "exploitability",
    "nash_gap",
    "reference_shapley_value_iteration",
]


_STALL = 50  # backups without a smaller certificate before Shapley iteration gives up (round-off)
_HK_STALL = 5  # the same for Hoffman-Karp improvements (each a full best-response solve)


def _require_game(game, name: str = "game", *, zero_sum: bool | None = None) -> MarkovGame:
    if not isinstance(game, MarkovGame):
        raise TypeError(f"{name} must be a marl.MarkovGame, got {type(game).__name__}")
    if zero_sum is True and not game.is_zero_sum:
        raise ValueError(
            f"{name} must be a zero-sum MarkovGame (R of shape (S, A1, A2)); use marl.nash_gap for general-sum games"
        )
    return game


@result
class GameSolverResult:
    """Result of a zero-sum Markov-game solver.

    Attributes
    ----------
    v : ndarray (S,)
        Value estimate for the row (maximising) player.
    row_policy : ndarray (S, A1)
        Stationary maximin strategy from the stage games ``Q(v)``.
    col_policy : ndarray (S, A2)
        Stationary minimax strategy from the same stage games.
    q : ndarray (S, A1, A2)
        Stage games ``R + gamma P v``.
    n_iter : int
        Shapley backups (value iteration) or outer improvements (Hoffman-Karp).
    error_bound : float
        Certified ``||v - v*||_inf`` (MacQueen bounds of the Shapley operator plus the stage
        solvers' certified round-off).
    converged : bool
    method : str
    residuals : ndarray
        Half-width of the certificate at each iteration.
    """

    v: np.ndarray
    row_policy: np.ndarray
    col_policy: np.ndarray
    q: np.ndarray
    n_iter: int
    error_bound: float
    converged: bool
    method: str
    residuals: np.ndarray = field(repr=False)


def _stage_values(q: np.ndarray, out: np.ndarray, stage_solver: str = "simplex") -> float:
    """``out[s] = val(q[s])`` with the numba simplex (or one HiGHS LP pair per state when
    ``method="highs"``); returns the largest certificate gap."""
    from marl import _simplex as K

    if stage_solver == "highs":
        from marl.matrix import zero_sum_lp

        sol = zero_sum_lp(q)
        out[:] = sol.value
        return float(np.max(sol.gap))

    worst, bad = K.batch_values(q, out)
    if bad >= 0:  # pragma: no cover - a game hit the pivot cap: redo the batch with the HiGHS fallback
        from marl.matrix import zero_sum_matrix_game

        sol = zero_sum_matrix_game(q)
        out[:] = sol.value
        worst = float(np.max(sol.gap))
    return float(worst)


def shapley_operator(game: MarkovGame, v) -> np.ndarray:
    """``T v``: ``(T v)(s) = val(R[s] + gamma P[s] v)``, shape ``(S,)``."""
    game = _require_game(game, zero_sum=True)
    q = game.q_values(v)
    out = np.empty(game.n_states)
    _stage_values(q, out)
    return out


def _certify(game: MarkovGame, v: np.ndarray, q: np.ndarray, tv: np.ndarray, stage_gap: float):
    """MacQueen bounds from one Shapley backup; returns (midpoint, half-width).

    The backup ``q`` is the joint MDP's (same kernels), so its float64 round-off is bounded by
    :func:`mdp.solvers._core.backup_rounding`; a matrix game's value is 1-Lipschitz in the sup norm of
    its payoffs, so the stage values carry the same bound, and the bracket is widened by it.
    """
    jm = game.joint_mdp
    d = tv - v
    err_tv = backup_rounding(jm, float(np.abs(v).max()))
    err_d = difference_rounding(err_tv, float(np.abs(d).max()))
    lower, upper = macqueen_bounds(jm, tv, d, err_tv, err_d)
    # each stage value is known to within stage_gap / 2; a perturbation of T by delta moves the
    # fixed point by at most delta / (1 - gamma)
    slack = 0.5 * stage_gap / (1.0 - game.joint_mdp.contraction)
    mid = 0.5 * (lower + upper)
    # plus the round-off of the midpoint itself
    half = 0.5 * float(np.max(upper - lower)) + slack + 4 * UNIT_ROUNDOFF * float(np.abs(mid).max())
    return mid, half


def _policies_at(game: MarkovGame, v: np.ndarray):
    from marl.matrix import zero_sum_matrix_game

    q = game.q_values(v)
    sol = zero_sum_matrix_game(q)
    return q, np.asarray(sol.row_strategy), np.asarray(sol.col_strategy)


@migrate_signature(renamed={"stage_solver": "method"})
def shapley_value_iteration(
    game, *, tol: float = 1e-8, max_iter: int = 100_000, v0=None, method: str = "simplex"
) -> GameSolverResult:
    """Shapley (1953) value iteration for a zero-sum discounted Markov game.

    ``v_{t+1}(s) = val(R[s] + gamma * sum_s' P[s, :, :, s'] v_t(s'))`` (docs/papers/foundations.md section 6),
    the stage games solved exactly by the batched numba simplex (``marl._simplex``). Stops as
    soon as the MacQueen certificate of the Shapley operator has half-width ``<= tol`` and
    returns its midpoint, so ``||v - v*||_inf <= error_bound <= tol`` on convergence.

    Parameters
    ----------
    game : MarkovGame
        Zero-sum (``R`` of shape ``(S, A1, A2)``), dense or sparse.
    tol : float, default 1e-8
        Certified sup-norm accuracy of ``v``.
    max_iter : int, default 100000
        Budget of Shapley backups.
    v0 : array_like (S,), optional
        Starting values (default zeros).
    method : {"simplex", "highs"}
        ``"simplex"``: all stage games of a backup in one batched numba call (default).
        ``"highs"``: one scipy HiGHS LP pair per state (the per-state LP loop baseline of the
        ``game_scaling`` lab and the benchmarks; same certificate, same iterates up to round-off).

    Returns
    -------
    GameSolverResult
        ``row_policy`` / ``col_policy`` are the optimal stage strategies of ``Q(v)``; run
        :func:`exploitability` for their certificate (foundations G2).
    """
    game = _require_game(game, zero_sum=True)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    if method not in ("simplex", "highs"):
        raise ValueError(f"method must be 'simplex' or 'highs', got {method!r}")
    stage_solver = method
    S = game.n_states
    if v0 is None:
        v = np.zeros(S)
    else:
        v = as_float_array(v0, "v0", ndim=1).copy()
        if v.shape[0] != S:
            raise ValueError(f"v0 must have length S = {S}, got {v.shape[0]}")
    tv = np.empty(S)
    residuals = []
    converged = False
    half = np.inf
    stall = StallTracker(_STALL, payload=v)  # the smallest certificate seen and its midpoint
    n = 0
    while n < max_iter:
        q = game.q_values(v)
        gap = _stage_values(q, tv, stage_solver)
        n += 1
        mid, half = _certify(game, v, q, tv, gap)
        residuals.append(half)
        if half <= tol:
            v = mid
            converged = True
            break
        if stall.update(half, mid):  # the certificate stopped shrinking: round-off floor of this scale
            break
        v, tv = tv, v
    if not converged:
        # return the midpoint with the smallest certificate seen
        v, half = stall.payload, stall.best
        why = (
            (
                f"the certificate stopped shrinking at {half:.3g} for {_STALL} backups (the round-off "
                "floor of these payoffs; rescale R or raise tol)"
            )
            if n < max_iter
            else (f"max_iter={max_iter} backups left a certified error of {half:.3g}")
        )
        warnings.warn(
            f"shapley_value_iteration did not reach tol={tol:g}: {why}", ConvergenceWarning, stacklevel=3
        )  # 3: the caller of the migrate_signature wrapper
    q, x, y = _policies_at(game, v)
    method = "shapley_value_iteration" + ("[highs]" if stage_solver == "highs" else "")
    return GameSolverResult(v, x, y, q, n, float(half), converged, method, np.array(residuals))


def reference_shapley_value_iteration(P, R, gamma, *, tol: float = 1e-10, max_iter: int = 100_000) -> np.ndarray:
    """Plain twin: dense ``P (S, A1, A2, S)``, stage games by scipy HiGHS, stop when
    ``gamma / (1 - gamma) ||v_{t+1} - v_t|| <= tol`` (foundations F3 for a contraction)."""
    from marl.matrix import zero_sum_lp

    P = np.asarray(P, float)
    R = np.asarray(R, float)
    v = np.zeros(R.shape[0])
    for _ in range(max_iter):
        q = R + gamma * np.einsum("sabt,t->sab", P, v)
        tv = np.asarray(zero_sum_lp(q).value)
        done = gamma / (1 - gamma) * np.abs(tv - v).max() <= tol
        v = tv
        if done:
            break
    return v


def hoffman_karp(game, *, tol: float = 1e-8, max_iter: int = 1000, inner_tol: float | None = None) -> GameSolverResult:
    """Hoffman & Karp (1966) strategy iteration, discounted form (Rao, Chandrasekaran & Nair 1973).

    Repeat: (1) the row player takes optimal stage strategies ``x_k`` of ``Q(v_k)``; (2) ``v_{k+1}``
    is the value the row player guarantees with ``x_k``, i.e. minus the optimal value of the
    column player's best-response MDP against ``x_k`` (solved with :func:`mdp.solve`). The
    ``v_k`` increase monotonically to ``v*``; every iterate is a *lower* bound on ``v*`` (up to the
    inner solver's certified error). Stops on the Shapley MacQueen certificate at ``v_{k+1}``.

    Parameters
    ----------
    game : MarkovGame
        Zero-sum.
    tol : float, default 1e-8
        Certified sup-norm accuracy of ``v``.
    max_iter : int, default 1000
        Outer improvements.
    inner_tol : float, optional
        Accuracy of each best-response solve (default ``tol / 10``).
    """
    import mdp
    from marl.matrix import zero_sum_matrix_game

    game = _require_game(game, zero_sum=True)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    inner_tol = tol / 10 if inner_tol is None else check_tol(inner_tol, "inner_tol")
    S = game.n_states
    v = np.zeros(S)
    tv = np.empty(S)
    residuals = []
    converged = False
    half = np.inf
    mid = v
    stall = StallTracker(_HK_STALL, payload=v)  # the smallest certificate seen and its midpoint
    q = game.q_values(v)
    n = 0
    while n < max_iter:
        # the row player's stage strategies at v (q is the certificate backup of the previous step)
        x = np.asarray(zero_sum_matrix_game(q).row_strategy)
        m_br = game.fixed_row_mdp(x, player=1)
        # an inner solve is one step of the outer iteration: no tighter than float64 certifies
        br = mdp.solve(m_br, tol=mdp.attainable_tol(m_br, inner_tol))
        v = -np.asarray(br.v)
        n += 1
        q = game.q_values(v)
        gap = _stage_values(q, tv)
        mid, half = _certify(game, v, q, tv, gap)
        residuals.append(half)
        if half <= tol:
            converged = True
            break
        if stall.update(half, mid):  # the certificate stopped shrinking: the round-off floor
            break
    v = mid
    if not converged:
        v, half = stall.payload, stall.best  # the midpoint with the smallest certificate seen
        why = (
            (
                f"the certificate stopped shrinking at {half:.3g} for {_HK_STALL} improvements (the "
                "float64 round-off floor of these payoffs; rescale R or raise tol)"
            )
            if n < max_iter
            else (f"max_iter={max_iter} improvements left a certified error of {half:.3g}")
        )
        warnings.warn(f"hoffman_karp did not reach tol={tol:g}: {why}", ConvergenceWarning, stacklevel=2)
    q, x, y = _policies_at(game, v)
    return GameSolverResult(v, x, y, q, n, float(half), converged, "hoffman_karp", np.array(residuals))


# ---------------------------------------------------------------------------- certificates
def evaluate_strategies(game, x, y) -> np.ndarray:
    """Exact values of a stationary strategy pair: ``V_i = (I - gamma P_xy)^{-1} r_i``.

    Parameters
    ----------
    game : MarkovGame
    x : array_like
        Row strategy ``(S, A1)`` (or ``(S,)`` pure actions).
    y : array_like
        Column strategy ``(S, A2)`` (or ``(S,)`` pure actions).

    Returns
    -------
    ndarray, shape (2, S)
        ``[V_row, V_col]``; in a zero-sum game ``V_col = -V_row``.
    """
    game = _require_game(game)
    P_xy, r = game.pair_chain(x, y)
    V0 = _solve_chain(P_xy, r[0], game.gamma)
    if game.is_zero_sum:
        return np.stack([V0, -V0])
    return np.stack([V0, _solve_chain(P_xy, r[1], game.gamma)])


def _solve_chain(P, r, gamma):
    import scipy.sparse as sp

    S = r.shape[0]
    if sp.issparse(P):
        from scipy.sparse.linalg import spsolve

        return np.asarray(spsolve((sp.identity(S, format="csc") - gamma * P).tocsc(), r))
    return np.linalg.solve(np.eye(S) - gamma * P, r)


@result
class BestResponse:
    """Best response of ``player`` to a fixed stationary opponent strategy.

    ``v`` is the responder's optimal value ``(S,)`` in its own reward (certified to
    ``error_bound``), ``pi`` a deterministic best response ``(S,)`` and ``policy`` its one-hot
    ``(S, A_player)`` form.
    """

    player: int
    v: np.ndarray
    pi: np.ndarray
    policy: np.ndarray
    error_bound: float


def best_response(game, opponent_strategy, player: int, *, tol: float | None = None) -> BestResponse:
    """Solve the single-agent MDP of ``player`` against a fixed stationary opponent.

    ``player=0``: the row player responds to ``y = opponent_strategy`` (maximising its reward);
    ``player=1``: the column player responds to ``x`` (maximising its own reward, ``-R`` in a
    zero-sum game). Uses :func:`mdp.solve` on the induced MDP; ``error_bound`` is its certificate.
    ``tol`` defaults to ``1e-11`` or, where that lies below the induced MDP's float64 round-off
    floor, 4 times that floor (:func:`mdp.attainable_tol`); an explicit ``tol`` is passed as is
    (``mdp.solve`` warns when it cannot be certified).
    """
    import mdp

    game = _require_game(game)
    if player not in (0, 1):
        raise ValueError(f"player must be 0 (row) or 1 (column), got {player!r}")
    m = (
        game.fixed_column_mdp(opponent_strategy, player=0)
        if player == 0
        else game.fixed_row_mdp(opponent_strategy, player=1)
    )
    tol = mdp.attainable_tol(m, 1e-11) if tol is None else check_tol(tol)
    res = mdp.solve(m, tol=tol)
    pi = np.asarray(res.pi)
    onehot = np.zeros((game.n_states, game.n_actions[player]))
    onehot[np.arange(game.n_states), pi] = 1.0
    return BestResponse(player, np.asarray(res.v).copy(), pi.copy(), onehot, float(res.error_bound))


@result
class Exploitability:
    """Equilibrium certificate of a stationary pair in a zero-sum Markov game (foundations G2).

    Attributes
    ----------
    value : float
        ``max_s (BR_row(y)(s) - BR_col(x)(s))``, both measured in the row player's payoff: the
        largest per-state duality gap. ``0`` exactly at a stationary equilibrium. (OpenSpiel's
        ``exploitability`` is half the sum of the two regrets; ours is the per-state gap, the
        stronger quantity named in foundations G2.)
    per_state : ndarray (S,)
        ``BR_row(y) - BR_col(x)``; with ``v*`` between them: ``BR_col(x) <= v* <= BR_row(y)``.
    row_regret, col_regret : float
        ``max_s (BR_row(y) - V^{x,y})`` and ``max_s (V^{x,y} - BR_col(x))``.
    v_pair, v_row_best_response, v_col_best_response : ndarray (S,)
        ``V^{x,y}``, ``max_x' V^{x',y}``, ``min_y' V^{x,y'}`` (row player's payoff).
    error_bound : float
        Certified numerical error of ``value`` (from the two best-response solves).
    """

    value: float
    per_state: np.ndarray
    row_regret: float
    col_regret: float
    v_pair: np.ndarray
    v_row_best_response: np.ndarray
    v_col_best_response: np.ndarray
    error_bound: float

    def __float__(self) -> float:
        return float(self.value)


def exploitability(game, row_policy, col_policy, *, tol: float | None = None) -> Exploitability:
    """Exploitability certificate of ``(row_policy, col_policy)`` in a zero-sum Markov game.

    Computes the row player's best response to ``col_policy`` and the column player's best
    response to ``row_policy`` exactly (single-agent :func:`mdp.solve` to ``tol``, default as in
    :func:`best_response`) and the pair's
    value by a linear solve. A pair with ``value <= eps`` is an ``eps``-equilibrium from every
    state, and ``BR_col(x) <= v* <= BR_row(y)`` brackets the game's value.
    """
    game = _require_game(game, zero_sum=True)
    x = check_stationary_strategy(row_policy, "row_policy", game.n_states, game.n_actions[0])
    y = check_stationary_strategy(col_policy, "col_policy", game.n_states, game.n_actions[1])
    br_row = best_response(game, y, 0, tol=tol)
    br_col = best_response(game, x, 1, tol=tol)
    v_pair = evaluate_strategies(game, x, y)[0]
    v_up = np.asarray(br_row.v)
    v_lo = -np.asarray(br_col.v)
    per_state = v_up - v_lo
    return Exploitability(
        float(per_state.max()),
        per_state,
        float((v_up - v_pair).max()),
        float((v_pair - v_lo).max()),
        v_pair,
        v_up,
        v_lo,
        br_row.error_bound + br_col.error_bound,
    )


@result
class NashGap:
    """Certified Nash gap of a stationary profile in a (general-sum) Markov game (foundations G5).

    ``value = max_j max_s (V_j^BR(s) - V_j^pi(s))``; ``per_player[j]`` the per-state gaps ``(2, S)``;
    ``v_profile (2, S)`` and ``v_best_response (2, S)``; ``error_bound`` the numerical certificate.
    """

    value: float
    per_player: np.ndarray
    v_profile: np.ndarray
    v_best_response: np.ndarray
    error_bound: float

    def __float__(self) -> float:
        return float(self.value)


def nash_gap(game, policies, *, tol: float | None = None) -> NashGap:
    """``NashGap(pi) = max_j max_s (V_j^{BR}(s) - V_j^{pi}(s))`` for a stationary profile.

    A profile is a stationary Nash equilibrium iff the gap is 0 (foundations G5: every player's
    best-response MDP against the others has optimal value equal to the profile's value).

    Parameters
    ----------
    game : MarkovGame
        Zero-sum or general-sum.
    policies : tuple (x, y)
        Row strategy ``(S, A1)`` and column strategy ``(S, A2)`` (or pure ``(S,)``).
    tol : float, optional
        Accuracy of the best-response solves (default as in :func:`best_response`).
    """
    game = _require_game(game)
    try:
        x, y = policies
    except (TypeError, ValueError):
        raise TypeError("policies must be a pair (row_policy, col_policy)") from None
    x = check_stationary_strategy(x, "policies[0]", game.n_states, game.n_actions[0])
    y = check_stationary_strategy(y, "policies[1]", game.n_states, game.n_actions[1])
    v = evaluate_strategies(game, x, y)
    b0 = best_response(game, y, 0, tol=tol)
    b1 = best_response(game, x, 1, tol=tol)
    vbr = np.stack([np.asarray(b0.v), np.asarray(b1.v)])
    gaps = vbr - v
    return NashGap(float(gaps.max()), gaps, v, vbr, b0.error_bound + b1.error_bound)
