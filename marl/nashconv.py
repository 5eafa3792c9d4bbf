"""NashConv and exploitability of a mixed-strategy profile in an N-player matrix game.

For independent mixed strategies ``sigma = (sigma_1, .., sigma_N)`` (Lanctot et al. 2017, "A
unified game-theoretic approach to multiagent reinforcement learning", NeurIPS, Sec. 3):

    NashConv(sigma) = sum_i [ max_{b} u_i(b, sigma_-i) - u_i(sigma) ].

It is ``>= 0`` and zero exactly at Nash equilibria. For a two-player zero-sum (more generally
constant-sum) game OpenSpiel's convention is ``exploitability = NashConv / N``
(``open_spiel.python.algorithms.exploitability``; for ``N = 2``: the average of the two players'
best-response gains); for other games :attr:`NashConvResult.exploitability` is ``None``.
"""

from __future__ import annotations

import numpy as np

from mdp._common import result

__all__ = ["NashConvResult", "nash_conv"]


@result
class NashConvResult:
    """Result of :func:`nash_conv`.

    Attributes
    ----------
    nash_conv : float
        ``sum_i per_player_regret[i]``.
    per_player_regret : ndarray, shape (N,)
        ``max_b u_i(b, sigma_-i) - u_i(sigma)`` (clipped at 0 against round-off).
    best_responses : ndarray of int64, shape (N,)
        A pure best response of each player to the others (the smallest maximiser).
    payoffs : ndarray, shape (N,)
        ``u_i(sigma)``.
    best_response_payoffs : ndarray, shape (N,)
        ``max_b u_i(b, sigma_-i)``.
    exploitability : float or None
        ``nash_conv / N`` for constant-sum games (OpenSpiel's convention), else ``None``.
    """

    nash_conv: float
    per_player_regret: np.ndarray
    best_responses: np.ndarray
    payoffs: np.ndarray
    best_response_payoffs: np.ndarray
    exploitability: float | None


def nash_conv(game, strategies) -> NashConvResult:
    """NashConv of the independent mixed profile ``strategies`` (Lanctot et al. 2017).

    Parameters
    ----------
    game : MatrixGame or array_like
        An N-player :class:`marl.MatrixGame`, its ``(N, k_1, ..., k_N)`` payoff array, or a single
        ``(k1, k2)`` matrix ``M`` read as the zero-sum game ``(M, -M)``.
    strategies : sequence of array_like
        One mixed strategy per player, ``strategies[i]`` of length ``k_i`` on the simplex (within
        ``1e-8``).

    Returns
    -------
    NashConvResult

    Raises
    ------
    TypeError
        If ``game`` is not a game or ``strategies`` is a single array.
    ValueError
        On a wrong number of strategies, wrong lengths, negative entries or sums other than 1.

    Examples
    --------
    >>> import numpy as np
    >>> M = np.array([[1., -1.], [-1., 1.]])   # matching pennies
    >>> r = nash_conv(M, [np.array([1., 0.]), np.array([0.5, 0.5])])
    >>> float(r.nash_conv), float(r.exploitability)
    (1.0, 0.5)
    """
    from marl.model import MatrixGame

    if not isinstance(game, MatrixGame):
        if isinstance(game, (str, bytes)) or game is None:
            raise TypeError(f"game must be a marl.MatrixGame or a payoff array, got {type(game).__name__}")
        arr = np.asarray(game)
        game = MatrixGame.zero_sum(arr) if arr.ndim == 2 else MatrixGame(arr)
    N = game.n_players
    payoffs = game.expected_payoffs(strategies)
    br = np.empty(N, dtype=np.int64)
    br_pay = np.empty(N)
    for i in range(N):
        dev = game.deviation_payoffs(strategies, i)
        br[i] = int(np.argmax(dev))
        br_pay[i] = float(dev[br[i]])
    reg = np.clip(br_pay - payoffs, 0.0, None)
    total = float(reg.sum())
    sums = game.payoffs.sum(axis=0)
    scale = max(1.0, float(np.abs(game.payoffs).max()))
    constant_sum = bool(np.ptp(sums) <= 1e-12 * scale)
    return NashConvResult(
        nash_conv=total,
        per_player_regret=reg,
        best_responses=br,
        payoffs=payoffs,
        best_response_payoffs=br_pay,
        exploitability=total / N if constant_sum else None,
    )
