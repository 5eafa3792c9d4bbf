"""Sequential public-goods games (SPGG) of MAC-SPGG (Liang et al. 2025; ``docs/papers/mac_spgg.md``).

``N`` agents move in a fixed order ``1, ..., N``; agent ``i`` sees its predecessors' contributions and
chooses an effort ``q_i`` from a finite grid in ``[0, 1]``. Its payoff is the digest's reconstructed
formula (the paper's abstract names the four components, not the formula):

``u_i = -c q_i + bonus * q_i * S_i + (rho / N) * T - penalty * 1[T < B]``,

``S_i = sum_{j<i} q_j`` the predecessors' contributions, ``T = sum_j q_j`` the public good, ``c`` the
private cost, ``rho`` the multiplier of the equally shared good, ``bonus`` (the paper's gamma) the
cooperation bonus on predecessors' effort, ``B`` the quality threshold and ``penalty`` the collective
penalty when the group misses it. The threshold test is ``T < B - SUM_TOL`` so that a grid sum that
equals ``B`` up to round-off counts as reaching it. ``bonus = penalty = 0`` is the classic public-goods
game.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from mdp._validation import as_float_array, check_positive_int, check_real

__all__ = [
    "SUM_TOL",
    "SPGGame",
    "full_effort_sufficient",
    "last_mover_necessary",
    "reference_spgg_payoffs",
    "spgg_payoffs",
]

#: a total contribution ``T`` misses the threshold when ``T < B - SUM_TOL`` (grid sums carry round-off)
SUM_TOL = 1e-9


class SPGGame:
    """A sequential public-goods game on an effort grid (``docs/papers/mac_spgg.md``, reconstructed payoff).

    Parameters
    ----------
    n_agents : int
        ``N >= 1`` agents, moving in the order ``0, ..., N - 1``.
    grid : array_like, shape (G,)
        Effort levels: non-empty, strictly increasing, inside ``[0, 1]``.
    cost : float, default 1.0
        Private cost ``c >= 0`` per unit of effort.
    multiplier : float, default 2.0
        ``rho >= 0``: the public good ``rho * T`` is shared equally, ``rho T / N`` each.
    bonus : float, default 0.0
        Cooperation bonus ``>= 0`` (the paper's gamma) on ``q_i * S_i``.
    threshold : float, default 0.0
        Quality threshold ``B >= 0`` of the collective penalty.
    penalty : float, default 0.0
        Collective penalty ``>= 0`` paid by every agent when ``T < B``.

    Attributes
    ----------
    grid : ndarray, shape (G,)
        Read-only copy of the effort levels.
    n_levels : int
        ``G``.
    """

    __slots__ = ("n_agents", "grid", "cost", "multiplier", "bonus", "threshold", "penalty")

    def __init__(
        self,
        n_agents,
        grid,
        *,
        cost: float = 1.0,
        multiplier: float = 2.0,
        bonus: float = 0.0,
        threshold: float = 0.0,
        penalty: float = 0.0,
    ):
        n = check_positive_int(n_agents, "n_agents")
        g = check_grid(grid)
        object.__setattr__(self, "n_agents", n)
        object.__setattr__(self, "grid", g)
        for name, val in (
            ("cost", cost),
            ("multiplier", multiplier),
            ("bonus", bonus),
            ("threshold", threshold),
            ("penalty", penalty),
        ):
            object.__setattr__(self, name, check_real(val, name, "[0, inf)"))

    def __setattr__(self, name, value):
        raise AttributeError("SPGGame is immutable; use SPGGame.replace(...)")

    @classmethod
    def classic(cls, n_agents, grid, *, cost: float = 1.0, multiplier: float = 2.0) -> SPGGame:
        """The classic public-goods game: no bonus, no threshold penalty."""
        return cls(n_agents, grid, cost=cost, multiplier=multiplier)

    def replace(self, **changes) -> SPGGame:
        """A copy with some parameters changed (same keywords as the constructor)."""
        kw = {k: getattr(self, k) for k in ("cost", "multiplier", "bonus", "threshold", "penalty")}
        n = changes.pop("n_agents", self.n_agents)
        g = changes.pop("grid", self.grid)
        unknown = set(changes) - set(kw)
        if unknown:
            raise TypeError(f"unknown SPGGame parameter(s): {sorted(unknown)}")
        kw.update(changes)
        return SPGGame(n, g, **kw)

    @property
    def n_levels(self) -> int:
        return int(self.grid.shape[0])

    def params(self) -> np.ndarray:
        """``(cost, multiplier, bonus, threshold, penalty)`` as a float array (the kernels' layout)."""
        return np.array([self.cost, self.multiplier, self.bonus, self.threshold, self.penalty])

    def __repr__(self) -> str:
        return (
            f"SPGGame(n_agents={self.n_agents}, grid=<{self.n_levels} levels in [{self.grid[0]:g}, {self.grid[-1]:g}]>, "
            f"cost={self.cost:g}, multiplier={self.multiplier:g}, bonus={self.bonus:g}, "
            f"threshold={self.threshold:g}, penalty={self.penalty:g})"
        )


def check_grid(grid, name: str = "grid") -> np.ndarray:
    """A non-empty, strictly increasing effort grid inside ``[0, 1]`` (read-only float copy)."""
    g = as_float_array(grid, name, ndim=1, allow_bool=False).copy()
    if g.size == 0:
        raise ValueError(f"{name} must hold at least one effort level, got an empty array")
    if np.any(np.diff(g) <= 0):
        k = int(np.argmax(np.diff(g) <= 0))
        raise ValueError(f"{name} must be strictly increasing (sorted, no repeats); {name}[{k}] >= {name}[{k + 1}]")
    if g[0] < 0 or g[-1] > 1:
        raise ValueError(f"{name} must lie inside [0, 1] (efforts are quality levels), got [{g[0]:g}, {g[-1]:g}]")
    g.flags.writeable = False
    return g


def require_game(game, name: str = "game") -> SPGGame:
    if not isinstance(game, SPGGame):
        raise TypeError(f"{name} must be a marl.spgg.SPGGame, got {type(game).__name__}")
    return game


@njit(cache=True)
def _profile_payoffs(q, params, out):
    """``out[j] = u_j(q)`` for one profile ``q`` ``(N,)`` (the module's formula)."""
    c, rho, bonus, B, pen = params[0], params[1], params[2], params[3], params[4]
    n = q.shape[0]
    total = 0.0
    for j in range(n):
        total += q[j]
    share = rho * total / n
    pay = pen if total < B - SUM_TOL else 0.0
    s = 0.0
    for j in range(n):
        out[j] = -c * q[j] + bonus * q[j] * s + share - pay
        s += q[j]


@njit(cache=True)
def _payoffs_kernel(q, params, out):
    for k in range(q.shape[0]):
        _profile_payoffs(q[k], params, out[k])


def reference_spgg_payoffs(game: SPGGame, q: np.ndarray) -> np.ndarray:
    """Plain-numpy twin of :func:`spgg_payoffs` (profiles ``(..., N)``)."""
    q = np.asarray(q, dtype=np.float64)
    n = q.shape[-1]
    total = q.sum(axis=-1, keepdims=True)
    prefix = np.cumsum(q, axis=-1) - q
    miss = (total < game.threshold - SUM_TOL).astype(np.float64)
    return -game.cost * q + game.bonus * q * prefix + game.multiplier * total / n - game.penalty * miss


def spgg_payoffs(game: SPGGame, q) -> np.ndarray:
    """Payoffs ``u_i(q)`` of effort profiles ``q`` ``(..., N)`` (any efforts in ``[0, 1]``, not only grid levels).

    ``docs/papers/mac_spgg.md``, Algorithm step 4 (reconstruction).

    Returns
    -------
    ndarray, shape (..., N)
    """
    game = require_game(game)
    q = as_float_array(q, "q", allow_bool=False)
    if q.ndim == 0 or q.shape[-1] != game.n_agents:
        raise ValueError(f"q must have a last axis of length n_agents = {game.n_agents}, got shape {q.shape}")
    if q.size and (q.min() < 0 or q.max() > 1):
        raise ValueError("q must lie inside [0, 1] (efforts are quality levels)")
    flat = np.ascontiguousarray(q.reshape(-1, game.n_agents))
    out = np.empty_like(flat)
    _payoffs_kernel(flat, game.params(), out)
    return out.reshape(q.shape)


def full_effort_sufficient(game: SPGGame) -> bool:
    """The sufficient condition (C) under which full effort ``M = max(grid)`` is the SPNE outcome.

    With ``d = M - grid[-2]`` (``d = inf`` for a one-level grid): ``N M - d < B <= N M`` (any agent below
    ``M`` triggers the penalty, full effort does not) and ``penalty > max(0, c - rho / N) (M - min(grid))``
    (the penalty outweighs the first mover's saving). Derivation in ``docs/papers/mac_spgg.md``, SPG2:
    an agent deviating from ``M`` on the path pays the penalty and gains at most
    ``(M - q)(c - bonus * S_i - rho / N) <= (M - q_min) max(0, c - rho / N)``. Uniqueness additionally
    needs no tie off the path (generic parameters); :func:`marl.spgg.spgg_spne` certifies it.
    """
    game = require_game(game)
    g, n = game.grid, game.n_agents
    M = float(g[-1])
    d = float(M - g[-2]) if g.size > 1 else np.inf
    B = game.threshold
    gain = max(0.0, game.cost - game.multiplier / n) * (M - float(g[0]))
    return bool(n * M - d < B - SUM_TOL and B <= n * M + SUM_TOL and game.penalty > gain)


def last_mover_necessary(game: SPGGame) -> bool:
    """The last mover's condition, necessary for full effort to be the SPNE outcome.

    Facing ``N - 1`` predecessors at ``M = max(grid)``, agent ``N`` must strictly prefer ``M`` to every
    lower level ``q`` (it has no successors): ``u_N(M, ..., M) > u_N(M, ..., M, q)``. For ``N = 1`` this is
    the whole game. Checked exactly with :func:`spgg_payoffs` (``docs/papers/mac_spgg.md``, SPG3).
    """
    game = require_game(game)
    g, n = game.grid, game.n_agents
    if g.size == 1:
        return True
    prof = np.full((g.size, n), g[-1])
    prof[:, -1] = g
    u = spgg_payoffs(game, prof)[:, -1]
    return bool(np.all(u[-1] > u[:-1]))
