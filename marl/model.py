"""Game models: normal-form (matrix) games and two-player Markov (stochastic) games.

Glossary (extends the one of :mod:`mdp`): ``S`` states, ``A1``/``A2`` the actions of the row
(player 0, maximiser in zero-sum games) and column player (player 1); ``P`` is
``(S, A1, A2, S)`` with ``P[s, a1, a2, s']`` (dense) or a CSR matrix of shape
``(S * A1 * A2, S)`` whose row ``(s * A1 + a1) * A2 + a2`` is ``P[s, a1, a2, :]``; ``R`` is
``(S, A1, A2)`` (zero-sum: the payoff to the row player, the column player gets ``-R``) or
``(2, S, A1, A2)`` (general-sum: ``R[i]`` is player ``i``'s reward). Stationary strategies are
``x[s, a1]`` (row) and ``y[s, a2]`` (column), rows on the simplex.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mdp._validation import as_float_array, check_gamma, check_index, check_tol
from mdp.model import TabularMDP

__all__ = ["MatrixGame", "MarkovGame", "check_strategy", "check_stationary_strategy"]


class MatrixGame:
    """A finite normal-form game for ``N >= 2`` players.

    Use :meth:`zero_sum` for a two-player zero-sum game given by the row player's matrix ``M``
    (the column player gets ``-M``) and :meth:`bimatrix` for ``(A, B)``.

    Parameters
    ----------
    payoffs : array_like
        Shape ``(N, k_1, ..., k_N)``: ``payoffs[i, a_1, ..., a_N]`` is player ``i``'s payoff for
        the joint action ``(a_1, ..., a_N)``. Finite reals.

    Raises
    ------
    TypeError
        If ``payoffs`` is not numeric.
    ValueError
        On fewer than two players, a first axis that does not match the number of action axes, an
        empty action set, or non-finite payoffs.
    """

    __slots__ = ("_payoffs",)

    def __init__(self, payoffs):
        arr = np.asarray(payoffs) if not isinstance(payoffs, (str, bytes)) else payoffs
        arr = as_float_array(arr, "payoffs").copy()
        if arr.ndim < 3:
            raise ValueError(f"payoffs must have shape (N, k_1, ..., k_N) with N >= 2 players, got shape {arr.shape}")
        if arr.shape[0] != arr.ndim - 1:
            raise ValueError(
                f"payoffs has {arr.ndim - 1} action axes but {arr.shape[0]} payoff tables; "
                f"shape must be (N, k_1, ..., k_N) with N = {arr.ndim - 1}, got {arr.shape}"
            )
        if min(arr.shape[1:]) == 0:
            raise ValueError(f"every player needs at least one action; payoffs has shape {arr.shape}")
        arr.setflags(write=False)
        self._payoffs = arr

    @classmethod
    def zero_sum(cls, M) -> "MatrixGame":
        """Two-player zero-sum game with row-player payoff ``M`` of shape ``(k1, k2)``."""
        M = as_float_array(M, "M", ndim=2)
        return cls(np.stack([M, -M]))

    @classmethod
    def bimatrix(cls, A, B) -> "MatrixGame":
        """Two-player game with row payoffs ``A`` and column payoffs ``B``, both ``(k1, k2)``."""
        A = as_float_array(A, "A", ndim=2)
        B = as_float_array(B, "B", ndim=2)
        if A.shape != B.shape:
            raise ValueError(f"A and B must have the same shape, got {A.shape} and {B.shape}")
        return cls(np.stack([A, B]))

    @property
    def payoffs(self) -> np.ndarray:
        """Read-only ``(N, k_1, ..., k_N)`` payoff array."""
        return self._payoffs

    @property
    def n_players(self) -> int:
        return self._payoffs.shape[0]

    @property
    def n_actions(self) -> tuple[int, ...]:
        return tuple(self._payoffs.shape[1:])

    @property
    def is_zero_sum(self) -> bool:
        """Whether payoffs sum to zero over players (to 1e-12 relative)."""
        scale = max(1.0, float(np.abs(self._payoffs).max()))
        return bool(np.abs(self._payoffs.sum(axis=0)).max() <= 1e-12 * scale)

    @property
    def A(self) -> np.ndarray:
        """Row player's payoff matrix (two-player games)."""
        self._require_two()
        return self._payoffs[0]

    @property
    def B(self) -> np.ndarray:
        """Column player's payoff matrix (two-player games)."""
        self._require_two()
        return self._payoffs[1]

    def _require_two(self):
        if self.n_players != 2:
            raise ValueError(f"this operation needs a two-player game; this game has {self.n_players} players")

    def expected_payoffs(self, strategies) -> np.ndarray:
        """Expected payoff of every player, shape ``(N,)``, under independent mixed strategies."""
        strategies = [
            check_strategy(p, f"strategies[{i}]", k)
            for i, (p, k) in enumerate(zip(_as_list(strategies, self.n_players), self.n_actions))
        ]
        out = np.empty(self.n_players)
        for i in range(self.n_players):
            t = self._payoffs[i]
            for p in reversed(strategies):
                t = t @ p
            out[i] = t
        return out

    def deviation_payoffs(self, strategies, player: int) -> np.ndarray:
        """Payoff to ``player`` of each of its pure actions against the others' mixed strategies."""
        if (
            isinstance(player, bool)
            or not isinstance(player, (int, np.integer))
            or not 0 <= int(player) < self.n_players
        ):
            raise ValueError(f"player must be an index in 0..{self.n_players - 1}, got {player!r}")
        strategies = [
            check_strategy(p, f"strategies[{i}]", k)
            for i, (p, k) in enumerate(zip(_as_list(strategies, self.n_players), self.n_actions))
        ]
        t = np.moveaxis(self._payoffs[player], player, 0)
        others = [p for j, p in enumerate(strategies) if j != player]
        for p in reversed(others):
            t = t @ p
        return np.asarray(t)

    def __repr__(self) -> str:
        kind = "zero-sum" if self.n_players == 2 and self.is_zero_sum else "general-sum"
        return f"MatrixGame({kind}, players={self.n_players}, actions={self.n_actions})"


def _as_list(strategies, n):
    if isinstance(strategies, np.ndarray) and strategies.ndim == 1:
        raise TypeError("strategies must be a sequence of one mixed strategy per player")
    strategies = list(strategies)
    if len(strategies) != n:
        raise ValueError(f"strategies must hold one strategy per player ({n}), got {len(strategies)}")
    return strategies


def check_strategy(p, name: str, k: int, *, atol: float = 1e-8) -> np.ndarray:
    """Validate a mixed strategy of length ``k`` (non-negative, sums to one within ``atol``)."""
    p = as_float_array(p, name, ndim=1)
    if p.shape[0] != k:
        raise ValueError(f"{name} must have length {k}, got {p.shape[0]}")
    if p.min() < -atol:
        raise ValueError(f"{name} must be non-negative; {name}[{int(np.argmin(p))}] = {p.min()}")
    if abs(p.sum() - 1.0) > atol:
        raise ValueError(f"{name} must sum to 1, sums to {float(p.sum())!r} (off by {p.sum() - 1.0:.3g})")
    return p


def check_stationary_strategy(x, name: str, S: int, k: int, *, atol: float = 1e-8) -> np.ndarray:
    """Validate a stationary strategy: ``(S, k)`` rows on the simplex, or ``(S,)`` pure actions."""
    arr = np.asarray(x)
    if (
        arr.ndim == 1
        and arr.shape[0] == S
        and np.issubdtype(arr.dtype, np.floating)
        and arr.size
        and np.all(np.isfinite(arr))
        and np.all(arr == np.round(arr))
    ):
        arr = arr.astype(np.int64)  # integral floats name pure actions, as mdp's policies do
    if arr.ndim == 1 and arr.shape[0] == S and np.issubdtype(arr.dtype, np.integer):
        if arr.size and (arr.min() < 0 or arr.max() >= k):
            bad = int(np.argmax((arr < 0) | (arr >= k)))
            raise ValueError(f"{name}[{bad}] = {arr[bad]} is not an action in 0..{k - 1}")
        out = np.zeros((S, k))
        out[np.arange(S), arr] = 1.0
        return out
    arr = as_float_array(x, name, ndim=2)
    if arr.shape != (S, k):
        raise ValueError(f"{name} must have shape (S, k) = ({S}, {k}) or be (S,) integer actions; got {arr.shape}")
    if arr.min() < -atol:
        s, a = np.unravel_index(int(np.argmin(arr)), arr.shape)
        raise ValueError(f"{name} must be non-negative; {name}[{s}, {a}] = {arr[s, a]}")
    dev = arr.sum(axis=1) - 1.0
    if np.abs(dev).max() > atol:
        s = int(np.argmax(np.abs(dev)))
        raise ValueError(f"{name}[{s}] must sum to 1, sums to {float(arr[s].sum())!r} (off by {dev[s]:.3g})")
    return np.clip(arr, 0.0, None)


class MarkovGame:
    """A finite two-player discounted Markov (stochastic) game.

    Parameters
    ----------
    P : array_like or scipy.sparse matrix
        Transitions. Dense ``(S, A1, A2, S)``: ``P[s, a1, a2, s']``. Sparse: shape
        ``(S * A1 * A2, S)``, row ``(s * A1 + a1) * A2 + a2`` holds ``P[s, a1, a2, :]``. Finite,
        non-negative, rows summing to one within ``atol``.
    R : array_like
        ``(S, A1, A2)`` for a zero-sum game (payoff to the row player, who maximises; the column
        player receives ``-R``), or ``(2, S, A1, A2)`` for a general-sum game (``R[i]`` is player
        ``i``'s reward; each player maximises its own discounted sum).
    gamma : float
        Discount in ``[0, 1)``.
    atol : float, optional
        Row-sum tolerance, default ``1e-8``.

    Raises
    ------
    TypeError, ValueError
        With messages that name the argument, the offending ``(s, a1, a2)`` and the rule broken.

    Notes
    -----
    Internally the game keeps a joint-action :class:`mdp.TabularMDP` with ``A1 * A2`` actions
    (``joint_mdp``) so that every backup ``R + gamma * P v`` runs on the numba kernels of
    :mod:`mdp` for dense and sparse storage alike.
    """

    __slots__ = ("_S", "_A1", "_A2", "_rewards", "_zero_sum", "_gamma", "_joint", "_sparse", "_atol")

    def __init__(self, P, R, gamma, *, atol: float | None = None):
        R_arr = as_float_array(R, "R", allow_bool=False).copy()
        if R_arr.ndim == 3:
            zero_sum = True
            S, A1, A2 = R_arr.shape
            rewards = np.stack([R_arr, -R_arr])
        elif R_arr.ndim == 4:
            if R_arr.shape[0] != 2:
                raise ValueError(
                    f"general-sum R must have shape (2, S, A1, A2) (one reward table per player), got {R_arr.shape}"
                )
            zero_sum = False
            _, S, A1, A2 = R_arr.shape
            rewards = R_arr
        else:
            raise ValueError(
                f"R must have shape (S, A1, A2) (zero-sum) or (2, S, A1, A2) (general-sum), got {R_arr.shape}"
            )
        if min(S, A1, A2) == 0:
            raise ValueError(
                f"empty game: R has shape {R_arr.shape}; need at least one state and one action per player"
            )
        self._gamma = check_gamma(gamma)
        if atol is None:  # float32 input cannot be stochastic to 1e-8 (as mdp.TabularMDP's storage rule)
            p_dtype = P.dtype if sp.issparse(P) else getattr(np.asarray(P), "dtype", np.float64)
            tol = 1e-5 if p_dtype == np.float32 else 1e-8
        else:
            tol = check_tol(atol, "atol", allow_zero=True)
        self._atol = tol
        if sp.issparse(P):
            if P.shape != (S * A1 * A2, S):
                raise ValueError(
                    f"sparse P must have shape (S * A1 * A2, S) = ({S * A1 * A2}, {S}) to match R "
                    f"of shape {R_arr.shape}; got {P.shape}"
                )
            csr = sp.csr_matrix(P, dtype=np.float64, copy=True)
            if csr.data.size and not np.all(np.isfinite(csr.data)):
                raise ValueError("P must be finite; the sparse P holds a NaN or infinite entry")
            if csr.data.size and csr.data.min() < 0:
                i = int(np.argmin(csr.data))
                row = int(np.searchsorted(csr.indptr, i, side="right") - 1)
                s, a1, a2 = np.unravel_index(row, (S, A1, A2))
                raise ValueError(f"P must be non-negative; P[{s}, {a1}, {a2}, {csr.indices[i]}] = {csr.data[i]}")
            sums = np.asarray(csr.sum(axis=1)).ravel().reshape(S, A1, A2)
            _check_game_row_sums(sums, tol)
            P_joint = csr
            self._sparse = True
        else:
            P_arr = as_float_array(P, "P")
            if P_arr.shape != (S, A1, A2, S):
                raise ValueError(
                    f"P must have shape (S, A1, A2, S) = ({S}, {A1}, {A2}, {S}) to match R of shape "
                    f"{R_arr.shape}; got {P_arr.shape}"
                )
            if P_arr.min() < 0:
                idx = np.unravel_index(int(np.argmin(P_arr)), P_arr.shape)
                raise ValueError(f"P must be non-negative; P[{', '.join(map(str, idx))}] = {P_arr[idx]}")
            _check_game_row_sums(P_arr.sum(axis=3), tol)
            P_joint = P_arr.reshape(S, A1 * A2, S)
            self._sparse = False
        rewards.setflags(write=False)
        self._S, self._A1, self._A2 = S, A1, A2
        self._rewards = rewards
        self._zero_sum = zero_sum
        # the joint-action MDP carries the row player's reward; validation already done above
        self._joint = TabularMDP(P_joint, rewards[0].reshape(S, A1 * A2), self._gamma, atol=max(tol, 1e-12))

    # ------------------------------------------------------------------ properties
    @property
    def n_states(self) -> int:
        return self._S

    @property
    def n_actions(self) -> tuple[int, int]:
        """``(A1, A2)``."""
        return (self._A1, self._A2)

    @property
    def gamma(self) -> float:
        return self._gamma

    @property
    def is_zero_sum(self) -> bool:
        return self._zero_sum

    @property
    def is_sparse(self) -> bool:
        return self._sparse

    @property
    def R(self) -> np.ndarray:
        """Row player's reward ``(S, A1, A2)`` (zero-sum payoff)."""
        return self._rewards[0]

    @property
    def rewards(self) -> np.ndarray:
        """Both players' rewards, ``(2, S, A1, A2)`` (``rewards[1] = -R`` for zero-sum games)."""
        return self._rewards

    @property
    def joint_mdp(self) -> TabularMDP:
        """The joint-action MDP (``A1 * A2`` actions, row player's reward)."""
        return self._joint

    @property
    def P(self):
        """Transitions: dense ``(S, A1, A2, S)`` read-only view, or the CSR ``(S*A1*A2, S)`` matrix."""
        if self._sparse:
            return self._joint.P
        return self._joint.P.reshape(self._S, self._A1, self._A2, self._S)

    def dense_P(self) -> np.ndarray:
        """Transitions as a dense ``(S, A1, A2, S)`` array (materialises a sparse model)."""
        return self._joint.dense_P().reshape(self._S, self._A1, self._A2, self._S)

    def __repr__(self) -> str:
        kind = "zero-sum" if self._zero_sum else "general-sum"
        store = "sparse" if self._sparse else "dense"
        return f"MarkovGame({kind}, S={self._S}, A1={self._A1}, A2={self._A2}, gamma={self._gamma}, {store})"

    # ------------------------------------------------------------------ backups
    def _induced_atol(self) -> float:
        # rows of an induced MDP are convex combinations of the game's rows: same deviation, plus
        # the round-off of the combination
        return max(self._atol, 1e-12) + 1e-12

    @staticmethod
    def _check_player(player, name: str = "player") -> int:
        return check_index(player, name, 2, what="player index (0 row, 1 column)")

    def q_values(self, v, player: int = 0) -> np.ndarray:
        """Stage games ``R_i[s] + gamma * sum_s' P[s, :, :, s'] v(s')``, shape ``(S, A1, A2)``."""
        player = self._check_player(player)
        v = as_float_array(v, "v", ndim=1)
        if v.shape[0] != self._S:
            raise ValueError(f"v must have length S = {self._S}, got {v.shape[0]}")
        return self._backup(self._rewards[player], v)

    def _backup(self, R, v) -> np.ndarray:
        from mdp._common import bellman as K

        R = np.ascontiguousarray(R.reshape(self._S, self._A1 * self._A2), dtype=np.float64)
        q = np.empty_like(R)
        if self._sparse:
            K.q_sparse(*self._joint.csr_arrays(), R, self._gamma, v, q)
        else:
            K.q_dense(self._joint.P, R, self._gamma, v, q)
        return q.reshape(self._S, self._A1, self._A2)

    def continuation(self, v) -> np.ndarray:
        """``gamma * sum_s' P[s, a1, a2, s'] v(s')``, shape ``(S, A1, A2)`` (no reward)."""
        v = as_float_array(v, "v", ndim=1)
        if v.shape[0] != self._S:
            raise ValueError(f"v must have length S = {self._S}, got {v.shape[0]}")
        return self._backup(np.zeros((self._S, self._A1, self._A2)), v)

    # ------------------------------------------------------------------ induced MDPs
    def fixed_column_mdp(self, y, player: int = 0) -> TabularMDP:
        """Single-agent MDP of the row player when the column player plays stationary ``y``.

        ``P_y[s, a1, s'] = sum_a2 y[s, a2] P[s, a1, a2, s']`` and
        ``R_y[s, a1] = sum_a2 y[s, a2] R_player[s, a1, a2]``, with ``player``'s reward
        (``player=0``: the row player's own reward, the usual best-response MDP).
        """
        player = self._check_player(player)
        y = check_stationary_strategy(y, "y", self._S, self._A2)
        S, A1, A2 = self._S, self._A1, self._A2
        R_y = np.einsum("sab,sb->sa", self._rewards[player], y)
        if self._sparse:
            # weight row (s, a1, a2) by y[s, a2] and sum the A2 rows of each (s, a1)
            w = np.repeat(y[:, None, :], A1, axis=1).ravel()
            agg = sp.csr_matrix(
                (w, (np.repeat(np.arange(S * A1), A2), np.arange(S * A1 * A2))),
                shape=(S * A1, S * A1 * A2),
            )
            P_y = agg @ self._joint.P.astype(np.float64)
        else:
            P_y = np.einsum("sabt,sb->sat", self.P, y, optimize=True)
        return TabularMDP(P_y, R_y, self._gamma, atol=self._induced_atol())

    def fixed_row_mdp(self, x, player: int = 1) -> TabularMDP:
        """Single-agent MDP of the column player when the row player plays stationary ``x``.

        Actions are the column player's; the reward is ``player``'s (default the column player's
        own, ``-R`` in a zero-sum game), so ``mdp.solve`` on it gives the column player's best
        response value.
        """
        player = self._check_player(player)
        x = check_stationary_strategy(x, "x", self._S, self._A1)
        S, A1, A2 = self._S, self._A1, self._A2
        R_x = np.einsum("sab,sa->sb", self._rewards[player], x)
        if self._sparse:
            # row (s, a2) of the result sums rows (s, a1, a2) weighted by x[s, a1]
            rows = np.repeat(np.arange(S * A2).reshape(S, 1, A2), A1, axis=1)  # (S, A1, A2) -> out row
            w = np.repeat(x[:, :, None], A2, axis=2)
            agg = sp.csr_matrix((w.ravel(), (rows.ravel(), np.arange(S * A1 * A2))), shape=(S * A2, S * A1 * A2))
            P_x = agg @ self._joint.P.astype(np.float64)
        else:
            P_x = np.einsum("sabt,sa->sbt", self.P, x, optimize=True)
        return TabularMDP(P_x, R_x, self._gamma, atol=self._induced_atol())

    def pair_chain(self, x, y):
        """``(P_xy, r_xy)``: the Markov chain ``(S, S)`` (dense or CSR) and both players' expected
        rewards ``(2, S)`` under the stationary pair ``(x, y)``."""
        x = check_stationary_strategy(x, "x", self._S, self._A1)
        y = check_stationary_strategy(y, "y", self._S, self._A2)
        w = x[:, :, None] * y[:, None, :]  # (S, A1, A2)
        r = np.einsum("isab,sab->is", self._rewards, w)
        S, J = self._S, self._A1 * self._A2
        if self._sparse:
            agg = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(S), J), np.arange(S * J))), shape=(S, S * J))
            P_xy = (agg @ self._joint.P.astype(np.float64)).tocsr()
        else:
            P_xy = np.einsum("sjt,sj->st", self._joint.P, w.reshape(S, J), optimize=True)
        return P_xy, r

    # ------------------------------------------------------------------ conversions
    def swap_players(self) -> "MarkovGame":
        """The same game with the players' roles exchanged (zero-sum: payoff ``-R^T``)."""
        P = self.dense_P().transpose(0, 2, 1, 3)
        if self._zero_sum:
            return MarkovGame(P, -self._rewards[0].transpose(0, 2, 1), self._gamma, atol=self._atol)
        return MarkovGame(P, self._rewards[::-1].transpose(0, 1, 3, 2), self._gamma, atol=self._atol)


def _check_game_row_sums(sums: np.ndarray, tol: float) -> None:
    dev = np.abs(sums - 1.0)
    if dev.size and dev.max() > tol:
        s, a1, a2 = np.unravel_index(int(np.argmax(dev)), dev.shape)
        raise ValueError(
            f"P[{s}, {a1}, {a2}, :] must sum to 1 (a probability distribution over next states), "
            f"sums to {float(sums[s, a1, a2])!r} (off by {sums[s, a1, a2] - 1.0:.3g}, tolerance {tol:g})"
        )
