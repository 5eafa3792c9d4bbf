"""Model generators: random and structured tabular MDPs, seeded by a ``numpy.random.Generator``.

All generators return a :class:`mdp.TabularMDP`. Structured models with many states (gridworld,
garnet) are built directly in the sparse ``(S * A, S)`` CSR form.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mdp._validation import check_gamma, check_positive_int, check_rng, check_tol
from mdp.model import TabularMDP

__all__ = ["random_mdp", "garnet", "gridworld", "chain", "riverswim", "forest"]


def _check_prob(x, name: str) -> float:
    check_tol(x, name, allow_zero=True)
    if not 0.0 <= float(x) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {x}")
    return float(x)


def random_mdp(
    n_states: int,
    n_actions: int,
    *,
    rng,
    alpha: float = 1.0,
    gamma: float = 0.9,
    sparse: bool = False,
    dtype=np.float64,
) -> TabularMDP:
    """Dense random MDP: ``P[s, a, :] ~ Dirichlet(alpha * 1)``, ``R[s, a] ~ U[0, 1]``.

    Small ``alpha`` (e.g. 0.1) gives nearly deterministic, hard instances; ``alpha = 1`` draws
    rows uniformly from the simplex (docs/papers/foundations.md, "random-instance generator").

    Parameters
    ----------
    n_states, n_actions : int
        ``S`` and ``A``.
    rng : numpy.random.Generator
        The only source of randomness.
    alpha : float, default 1.0
        Dirichlet concentration, ``> 0``.
    gamma : float, default 0.9
    sparse : bool, default False
        Return the CSR form (the rows are still dense).
    dtype : float64 or float32
        Storage type of ``P``.
    """
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    rng = check_rng(rng)
    alpha = check_tol(alpha, "alpha")
    gamma = check_gamma(gamma)
    # Dirichlet via normalised Gamma draws (vectorised; numpy's dirichlet loops in Python for 3-D)
    P = rng.standard_gamma(alpha, size=(S, A, S))
    sums = P.sum(axis=2, keepdims=True)
    # for tiny alpha a whole row can underflow to 0: put its mass on one uniform random state
    dead = sums[..., 0] == 0
    if np.any(dead):
        idx = np.argwhere(dead)
        P[idx[:, 0], idx[:, 1], rng.integers(0, S, size=len(idx))] = 1.0
        sums = P.sum(axis=2, keepdims=True)
    P /= sums
    R = rng.random((S, A))
    m = TabularMDP(P, R, gamma, dtype=dtype)
    return m.to_sparse() if sparse else m


def garnet(n_states: int, n_actions: int, branching: int, *, rng, gamma: float = 0.9, dtype=np.float64) -> TabularMDP:
    """GARNET MDP (Archibald, McKinnon & Thomas 1995; Bhatnagar et al. 2009), sparse.

    Each ``(s, a)`` moves to ``branching`` distinct successors drawn uniformly without replacement,
    with probabilities given by the gaps of ``branching - 1`` uniform cut points of ``[0, 1]``;
    ``R[s, a] ~ U[0, 1]``.
    """
    S = check_positive_int(n_states, "n_states")
    A = check_positive_int(n_actions, "n_actions")
    b = check_positive_int(branching, "branching")
    if b > S:
        raise ValueError(f"branching must be <= n_states = {S}, got {b}")
    rng = check_rng(rng)
    gamma = check_gamma(gamma)
    m_pairs = S * A
    # b distinct successors per row: argpartition of random keys is O(S) per row; for b << S use
    # rejection-free sampling by sorting b + few candidates is overkill, so draw keys row-blockwise.
    succ = np.empty((m_pairs, b), dtype=np.int64)
    block = max(1, int(2**22 // S))
    for start in range(0, m_pairs, block):
        stop = min(m_pairs, start + block)
        keys = rng.random((stop - start, S))
        succ[start:stop] = np.argpartition(keys, b - 1, axis=1)[:, :b] if b < S else np.argsort(keys, axis=1)
    cuts = np.sort(rng.random((m_pairs, b - 1)), axis=1)
    probs = np.diff(np.concatenate([np.zeros((m_pairs, 1)), cuts, np.ones((m_pairs, 1))], axis=1), axis=1)
    indptr = np.arange(0, m_pairs * b + 1, b, dtype=np.int64)
    P = sp.csr_matrix((probs.ravel(), succ.ravel(), indptr), shape=(m_pairs, S))
    R = rng.random((S, A))
    return TabularMDP(P, R, gamma, dtype=dtype)


# gridworld action order and displacements (dx, dy); y grows downwards (row index)
_GRID_MOVES = np.array([[0, -1], [0, 1], [1, 0], [-1, 0]])  # N, S, E, W
_GRID_PERP = np.array([[2, 3], [2, 3], [0, 1], [0, 1]])  # perpendicular directions of each action


def gridworld(
    width: int,
    height: int,
    *,
    slip: float = 0.1,
    walls=None,
    goal=None,
    goal_reward: float = 1.0,
    step_reward: float = 0.0,
    gamma: float = 0.99,
    dtype=np.float64,
) -> TabularMDP:
    """Sparse gridworld with slippery moves, walls and an absorbing goal.

    State ``s = y * width + x`` for the cell in column ``x`` and row ``y`` (row 0 at the top).
    Actions ``0..3`` are N, S, E, W. With probability ``1 - slip`` the agent moves as intended,
    with probability ``slip / 2`` each it moves in one of the two perpendicular directions. A move
    off the grid or into a wall leaves the agent where it is. Entering the goal pays
    ``goal_reward`` (as the expected reward ``R[s, a] = goal_reward * P[s, a, goal]``); every
    action taken outside the goal also pays ``step_reward``. The goal and the wall cells are
    absorbing with reward 0 (wall cells are unreachable; they keep the indexing rectangular).

    Parameters
    ----------
    width, height : int
        Grid size; up to 1000 x 1000 (10^6 states, 12 * 10^6 stored transitions) in a few seconds.
    slip : float in [0, 1]
    walls : array_like of bool, shape (height, width), or iterable of (x, y), optional
    goal : (x, y), default bottom-right corner ``(width - 1, height - 1)``
    goal_reward, step_reward : float
    gamma : float, default 0.99
    dtype : float64 or float32
    """
    W = check_positive_int(width, "width")
    H = check_positive_int(height, "height")
    slip = _check_prob(slip, "slip")
    gamma = check_gamma(gamma)
    S = W * H
    if S < 2:
        raise ValueError("gridworld needs at least 2 cells")
    wall = np.zeros((H, W), dtype=bool)
    if walls is not None:
        arr = np.asarray(walls)
        if arr.dtype == bool:
            if arr.shape != (H, W):
                raise ValueError(
                    f"walls as a boolean mask must have shape (height, width) = ({H}, {W}), got {arr.shape}"
                )
            wall = arr.copy()
        else:
            cells = np.asarray(list(walls))
            if cells.size == 0:
                cells = np.zeros((0, 2), dtype=np.int64)
            # an integer 0/1 mask must not be silently read as a list of (x, y) cells
            if cells.ndim != 2 or cells.shape[1] != 2 or not np.issubdtype(cells.dtype, np.integer):
                raise ValueError(
                    f"walls must be a boolean mask of shape (height, width) = ({H}, {W}) or an iterable of "
                    f"integer (x, y) cells; got an array of shape {cells.shape} and dtype {cells.dtype}"
                )
            cells = cells.astype(np.int64)
            if cells.size and (
                cells[:, 0].min() < 0 or cells[:, 0].max() >= W or cells[:, 1].min() < 0 or cells[:, 1].max() >= H
            ):
                raise ValueError(f"walls must be (x, y) cells inside the {W} x {H} grid")
            wall[cells[:, 1], cells[:, 0]] = True
    if goal is None:
        gx, gy = W - 1, H - 1
    else:
        g_arr = np.asarray(goal)
        if g_arr.shape != (2,) or not np.issubdtype(g_arr.dtype, np.integer):
            raise ValueError(f"goal must be an (x, y) pair of integers, got {goal!r}")
        gx, gy = int(g_arr[0]), int(g_arr[1])
    if not (0 <= gx < W and 0 <= gy < H):
        raise ValueError(f"goal must be an (x, y) cell inside the {W} x {H} grid, got {goal}")
    if wall[gy, gx]:
        raise ValueError(f"goal {(gx, gy)} is a wall cell")
    g = gy * W + gx
    wall_flat = wall.ravel()

    s = np.arange(S)
    x, y = s % W, s // W

    def move(direction):
        nx = x + _GRID_MOVES[direction, 0]
        ny = y + _GRID_MOVES[direction, 1]
        inside = (nx >= 0) & (nx < W) & (ny >= 0) & (ny < H)
        t = np.where(inside, ny.clip(0, H - 1) * W + nx.clip(0, W - 1), s)
        return np.where(wall_flat[t], s, t)

    targets = [move(d) for d in range(4)]
    absorbing = wall_flat.copy()
    absorbing[g] = True
    rows, cols, vals = [], [], []
    for a in range(4):
        outcomes = [
            (targets[a], 1.0 - slip),
            (targets[_GRID_PERP[a, 0]], slip / 2),
            (targets[_GRID_PERP[a, 1]], slip / 2),
        ]
        for t, p in outcomes:
            if p == 0.0:
                continue
            rows.append(s * 4 + a)
            cols.append(np.where(absorbing, s, t))
            vals.append(np.full(S, p))
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    P = sp.csr_matrix((vals, (rows, cols)), shape=(S * 4, S))  # duplicates are summed
    p_goal = np.asarray(P[:, g].todense()).ravel().reshape(S, 4)
    R = goal_reward * p_goal + step_reward
    R[absorbing] = 0.0
    return TabularMDP(P, R, gamma, dtype=dtype)


def chain(
    n_states: int = 5, *, slip: float = 0.2, small_reward: float = 2.0, large_reward: float = 10.0, gamma: float = 0.99
) -> TabularMDP:
    """The chain problem of Strens (2000) (also Dearden, Friedman & Russell 1998).

    Action 0 ("forward") moves from ``s`` to ``s + 1`` with reward 0, and at the last state stays
    there with reward ``large_reward``; action 1 ("back") returns to state 0 with reward
    ``small_reward``. With probability ``slip`` the other action's effect happens instead.
    """
    n = check_positive_int(n_states, "n_states", minimum=2)
    slip = _check_prob(slip, "slip")
    gamma = check_gamma(gamma)
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2))
    for s in range(n):
        fwd = min(s + 1, n - 1)
        r_fwd = large_reward if s == n - 1 else 0.0
        P[s, 0, fwd] += 1 - slip
        P[s, 0, 0] += slip
        R[s, 0] = (1 - slip) * r_fwd + slip * small_reward
        P[s, 1, 0] += 1 - slip
        P[s, 1, fwd] += slip
        R[s, 1] = (1 - slip) * small_reward + slip * r_fwd
    return TabularMDP(P, R, gamma)


def riverswim(
    n_states: int = 6, *, small_reward: float = 5e-3, large_reward: float = 1.0, gamma: float = 0.95
) -> TabularMDP:
    """RiverSwim (Strehl & Littman 2008), in the parameterisation of Osband, Russo & Van Roy (2013).

    Action 0 (left, with the current) moves deterministically to ``max(s - 1, 0)``; taking it in
    state 0 pays ``small_reward``. Action 1 (right, against the current) from an interior state
    moves right w.p. 0.35, stays w.p. 0.6 and drifts left w.p. 0.05; from state 0 it moves right
    w.p. 0.4 and stays w.p. 0.6; in the last state it stays w.p. 0.6 and drifts left w.p. 0.4, and
    pays ``large_reward`` (the expected reward of the pair is ``0.6 * large_reward``).
    """
    n = check_positive_int(n_states, "n_states", minimum=2)
    gamma = check_gamma(gamma)
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2))
    for s in range(n):
        P[s, 0, max(s - 1, 0)] = 1.0
        if s == 0:
            P[s, 1, 1] += 0.4
            P[s, 1, 0] += 0.6
        elif s == n - 1:
            P[s, 1, s] += 0.6
            P[s, 1, s - 1] += 0.4
        else:
            P[s, 1, s + 1] += 0.35
            P[s, 1, s] += 0.6
            P[s, 1, s - 1] += 0.05
    R[0, 0] = small_reward
    R[n - 1, 1] = 0.6 * large_reward
    return TabularMDP(P, R, gamma)


def forest(n_states: int = 3, *, r1: float = 4.0, r2: float = 2.0, p: float = 0.1, gamma: float = 0.96) -> TabularMDP:
    """Forest management (the example of MDPtoolbox's ``forest``; Cros et al.), in its conventions.

    States are forest ages ``0..S-1``; action 0 waits, action 1 cuts. Waiting ages the forest by
    one (capped at ``S - 1``) unless a fire (probability ``p``) resets it to 0; cutting resets it to
    0. Rewards: waiting in the oldest state pays ``r1``; cutting pays 0 in state 0, 1 in the
    intermediate states and ``r2`` in the oldest state.

    With the defaults and ``gamma = 0.96``, ``v* = (74.6496, 78.1056, 82.1056)`` (4 d.p.).
    """
    S = check_positive_int(n_states, "n_states", minimum=2)
    p = _check_prob(p, "p")
    gamma = check_gamma(gamma)
    P = np.zeros((S, 2, S))
    for s in range(S):
        P[s, 0, 0] += p
        P[s, 0, min(s + 1, S - 1)] += 1 - p
        P[s, 1, 0] = 1.0
    R = np.zeros((S, 2))
    R[S - 1, 0] = r1
    R[1:, 1] = 1.0
    R[S - 1, 1] = r2
    return TabularMDP(P, R, gamma)
