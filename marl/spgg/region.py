"""Where the SPNE of a sequential public-goods game is unique full effort: a map over (bonus, penalty).

For each pair of the cooperation bonus and the collective penalty (the other parameters of the given
game fixed), :func:`marl.spgg.spgg_spne` solves the game exactly; the map records whether the SPNE is
unique, whether its path is full effort, the mean effort on the path, and the two analytic boundaries
of ``docs/papers/mac_spgg.md``: the sufficient condition (C) of SPG2 and the last mover's necessary
condition of SPG3.
"""

from __future__ import annotations

import numpy as np

from marl.spgg.model import full_effort_sufficient, last_mover_necessary, require_game
from marl.spgg.spne import _check, _solve
from mdp._common import result
from mdp._validation import as_float_array, check_tol

__all__ = ["RegionResult", "spgg_region"]


@result
class RegionResult:
    """The SPNE over a (bonus, penalty) grid.

    Attributes
    ----------
    bonus : ndarray, shape (B,)
    penalty : ndarray, shape (P,)
    full_effort : ndarray, shape (B, P)
        The SPNE is unique and its path is full effort.
    unique : ndarray, shape (B, P)
        No tie at any node.
    mean_effort : ndarray, shape (B, P)
        Mean effort on the (selected) equilibrium path.
    sufficient : ndarray, shape (B, P)
        :func:`marl.spgg.full_effort_sufficient` holds.
    necessary : ndarray, shape (B, P)
        :func:`marl.spgg.last_mover_necessary` holds.
    """

    bonus: np.ndarray
    penalty: np.ndarray
    full_effort: np.ndarray
    unique: np.ndarray
    mean_effort: np.ndarray
    sufficient: np.ndarray
    necessary: np.ndarray


def _axis(x, name):
    a = as_float_array(x, name, ndim=1, allow_bool=False)
    if a.size == 0:
        raise ValueError(f"{name} must hold at least one value, got an empty array")
    if a.min() < 0:
        raise ValueError(f"{name} must be >= 0 (bonus and penalty are non-negative), got {a.min():g}")
    return a


def spgg_region(game, bonus, penalty, *, tol: float = 1e-9) -> RegionResult:
    """Map the unique full-effort SPNE region of ``game`` over ``bonus x penalty`` (``docs/papers/mac_spgg.md`` SPG2, SPG3).

    Parameters
    ----------
    game : SPGGame
        Supplies ``n_agents``, ``grid``, ``cost``, ``multiplier`` and ``threshold``.
    bonus, penalty : array_like, shape (B,), (P,)
        Non-negative values of the cooperation bonus and of the collective penalty.
    tol : float, default 1e-9
        Tie tolerance of :func:`marl.spgg.spgg_spne`.

    Returns
    -------
    RegionResult
    """
    game = require_game(game)
    b = _axis(bonus, "bonus")
    p = _axis(penalty, "penalty")
    tol = check_tol(tol, allow_zero=True)
    _check(game, tol)
    shape = (b.size, p.size)
    full, uniq, mean, suff, nec = (
        np.zeros(shape, bool),
        np.zeros(shape, bool),
        np.zeros(shape),
        np.zeros(shape, bool),
        np.zeros(shape, bool),
    )
    G = game.n_levels
    for i, bi in enumerate(b):
        for j, pj in enumerate(p):
            g = game.replace(bonus=float(bi), penalty=float(pj))
            strategy, _, _, ties = _solve(g.grid, g.params(), g.n_agents, tol)
            h, idx = 0, []
            for s in strategy:
                idx.append(int(s[h]))
                h = h * G + idx[-1]
            idx = np.asarray(idx)
            uniq[i, j] = ties == 0
            full[i, j] = ties == 0 and bool(np.all(idx == G - 1))
            mean[i, j] = float(g.grid[idx].mean())
            suff[i, j] = full_effort_sufficient(g)
            nec[i, j] = last_mover_necessary(g)
    return RegionResult(b, p, full, uniq, mean, suff, nec)
