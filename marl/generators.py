"""Random and structured Markov games, seeded by a ``numpy.random.Generator``.

* :func:`random_zero_sum_game`: Dirichlet transition rows (optionally sparse with ``branching``
  successors per joint action) and Gaussian payoffs.
* :func:`random_general_sum_game`: the same with two independent reward tables.
* :func:`repeated_matrix_game`: one state, ``P = 1``; ``V* = val(M) / (1 - gamma)``.
* :func:`symmetrize`: the player-swap symmetrisation used by foundations G3 (``V*(s) = -V*(sigma s)``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from marl.model import MarkovGame
from mdp._validation import as_float_array, check_gamma, check_positive_int, check_rng

__all__ = ["random_zero_sum_game", "random_general_sum_game", "repeated_matrix_game", "symmetrize"]


def _transitions(S, A1, A2, rng, concentration, branching, sparse):
    n_rows = S * A1 * A2
    if branching is None:
        P = rng.dirichlet(np.full(S, concentration), size=n_rows)
        return sp.csr_matrix(P) if sparse else P.reshape(S, A1, A2, S)
    b = check_positive_int(branching, "branching")
    if b > S:
        raise ValueError(f"branching must be <= S = {S}, got {b}")
    cols = np.argsort(rng.random((n_rows, S)), axis=1)[:, :b] if b < S else np.tile(np.arange(S), (n_rows, 1))
    cols.sort(axis=1)
    data = rng.dirichlet(np.full(b, concentration), size=n_rows)
    P = sp.csr_matrix((data.ravel(), cols.ravel(), np.arange(0, n_rows * b + 1, b)), shape=(n_rows, S))
    return P if sparse else P.toarray().reshape(S, A1, A2, S)


def _check_conc(concentration):
    c = float(concentration)
    if not np.isfinite(c) or c <= 0:
        raise ValueError(f"concentration must be a positive finite number, got {concentration!r}")
    return c


def random_zero_sum_game(
    S: int,
    A1: int,
    A2: int | None = None,
    *,
    rng,
    gamma: float = 0.9,
    concentration: float = 1.0,
    branching: int | None = None,
    sparse: bool = False,
    reward_scale: float = 1.0,
) -> MarkovGame:
    """Random zero-sum Markov game: ``P[s, a1, a2] ~ Dirichlet(concentration)`` over all states or
    over ``branching`` random successors, ``R ~ N(0, reward_scale^2)``.

    Parameters
    ----------
    S, A1, A2 : int
        States and actions (``A2`` defaults to ``A1``).
    rng : numpy.random.Generator
    gamma : float, default 0.9
    concentration : float, default 1.0
    branching : int, optional
        Successors per joint action (sparse rows); default all ``S``.
    sparse : bool, default False
        Store ``P`` as CSR ``(S * A1 * A2, S)``.
    reward_scale : float, default 1.0
    """
    S = check_positive_int(S, "S")
    A1 = check_positive_int(A1, "A1")
    A2 = A1 if A2 is None else check_positive_int(A2, "A2")
    rng = check_rng(rng)
    gamma = check_gamma(gamma)
    P = _transitions(S, A1, A2, rng, _check_conc(concentration), branching, sparse)
    R = reward_scale * rng.standard_normal((S, A1, A2))
    return MarkovGame(P, R, gamma)


def random_general_sum_game(
    S: int,
    A1: int,
    A2: int | None = None,
    *,
    rng,
    gamma: float = 0.9,
    concentration: float = 1.0,
    branching: int | None = None,
    sparse: bool = False,
) -> MarkovGame:
    """Random general-sum Markov game (independent Gaussian rewards ``(2, S, A1, A2)``)."""
    S = check_positive_int(S, "S")
    A1 = check_positive_int(A1, "A1")
    A2 = A1 if A2 is None else check_positive_int(A2, "A2")
    rng = check_rng(rng)
    gamma = check_gamma(gamma)
    P = _transitions(S, A1, A2, rng, _check_conc(concentration), branching, sparse)
    R = rng.standard_normal((2, S, A1, A2))
    return MarkovGame(P, R, gamma)


def repeated_matrix_game(M, gamma: float = 0.9) -> MarkovGame:
    """The matrix game ``M (k1, k2)`` played forever: one state, ``V* = val(M) / (1 - gamma)``."""
    M = as_float_array(M, "M", ndim=2)
    k1, k2 = M.shape
    return MarkovGame(np.ones((1, k1, k2, 1)), M[None], gamma)


def symmetrize(game: MarkovGame, swap=None) -> MarkovGame:
    """Symmetrise a zero-sum game under the player swap ``sigma`` (foundations G3).

    Returns the game with ``R'[s, a, b] = (R[s, a, b] - R[sigma s, b, a]) / 2`` and
    ``P'[s, a, b, t] = (P[s, a, b, t] + P[sigma s, b, a, sigma t]) / 2``, which satisfies
    ``R'[sigma s, b, a] = -R'[s, a, b]`` and ``P'[sigma s, b, a, sigma t] = P'[s, a, b, t]``; hence
    ``V*(sigma s) = -V*(s)`` and ``V*(s) = 0`` at fixed points of ``sigma``.

    Parameters
    ----------
    game : MarkovGame
        Zero-sum with ``A1 == A2``.
    swap : array_like of int (S,), optional
        An involution of the states (default identity: every state is its own mirror image).
    """
    if not isinstance(game, MarkovGame) or not game.is_zero_sum:
        raise TypeError("game must be a zero-sum marl.MarkovGame")
    S, (A1, A2) = game.n_states, game.n_actions
    if A1 != A2:
        raise ValueError(f"a player-symmetric game needs A1 == A2, got {A1} and {A2}")
    sigma = np.arange(S) if swap is None else np.asarray(swap)
    if (
        sigma.shape != (S,)
        or not np.issubdtype(sigma.dtype, np.integer)
        or not np.array_equal(np.sort(sigma), np.arange(S))
    ):
        raise ValueError(f"swap must be a permutation of range({S})")
    if not np.array_equal(sigma[sigma], np.arange(S)):
        raise ValueError("swap must be an involution (swap[swap[s]] == s)")
    P = game.dense_P()
    R = game.R
    Rs = 0.5 * (R - R[sigma].transpose(0, 2, 1))
    Ps = 0.5 * (P + P[sigma].transpose(0, 2, 1, 3)[:, :, :, sigma])
    return MarkovGame(Ps, Rs, game.gamma)
