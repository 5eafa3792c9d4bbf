"""Nash-Q learning (Hu & Wellman 2003) for two-player general-sum Markov games.

Each player ``j`` keeps ``Q_j(s, a1, a2)`` and, for an observed transition ``(s, a1, a2, s')``
with the model's expected rewards ``R[j, s, a1, a2]``, updates (Hu & Wellman, "Nash Q-learning
for general-sum stochastic games", JMLR 4, 2003, Eq. (8) / Table 1):

    Q_j(s, a1, a2) <- (1 - alpha) Q_j(s, a1, a2) + alpha (R_j(s, a1, a2) + gamma NashQ_j(s')),
    NashQ_j(s') = x(s')^T Q_j(s') y(s'),

where ``(x(s'), y(s'))`` is a Nash equilibrium of the stage game ``(Q_0(s'), Q_1(s'))`` chosen by
the selection rule of :func:`stage_equilibrium`:

1. if the stage game has pure equilibria, the one with the largest welfare ``Q_0 + Q_1``; ties
   go to the smallest joint action in row-major order ``(a1, a2)``;
2. otherwise the extreme equilibrium (:func:`marl.bimatrix.vertex_enumeration`, exact for
   degenerate stage games) with the largest welfare ``x^T (Q_0 + Q_1) y``; ties go to the first in
   that function's order.

The rule is deterministic, so the same stage game always gets the same equilibrium. In a
zero-sum game every equilibrium of a stage game has the LP value, so Nash-Q is then exactly
minimax-Q (Littman 1994; foundations G6).

Modes (as in :func:`mdp.learners.q_learning`):

* ``"synchronous"``: a generative model is queried once for *every* ``(s, a1, a2)`` per sweep; all
  entries are updated from the same ``Q_t`` (the stage equilibria of all states are computed once
  per sweep). ``alpha_t`` depends on the sweep ``t``. Next states are drawn by inverse CDF from the
  uniforms ``rng.random(S * A1 * A2)`` (one call per sweep, C order over ``(s, a1, a2)``):
  ``s' = searchsorted(cumsum(P[s, a1, a2]), u, side="right")``.
* ``"online"``: one trajectory from ``s0``. Behaviour: with probability ``epsilon`` a uniformly
  random joint action, otherwise ``a1 ~ x(s)``, ``a2 ~ y(s)`` from the current stage equilibrium.
  Per step the uniforms ``rng.random(4)`` are (explore?, a1, a2, next state). ``alpha`` depends on
  the number of earlier visits of the updated ``(s, a1, a2)`` (Hu & Wellman use ``1 / n``).

Known failure modes
-------------------
* Convergence is proven only when *every* stage game met during learning has a global optimum
  (a profile best for both players) or *every* one has a saddle point, and the learners select
  equilibria consistently (Hu & Wellman 2003, Assumption 3 and Thm. 4); Bowling (2000,
  "Convergence problems of general-sum multiagent reinforcement learning", ICML) shows the
  conditions are restrictive. Outside them Nash-Q (and its model-based twin, "Nash value
  iteration") may cycle or converge to a profile that is not a stationary equilibrium
  (Zinkevich, Greenwald & Littman 2005, "Cyclic equilibria in Markov games", NeurIPS). Check the
  returned profile with :func:`marl.nash_gap`.
* Equilibrium selection: stage games usually have several equilibria; a fixed rule such as the
  welfare rule above is consistent across *states* only in the weak sense that it is
  deterministic; small changes of ``Q`` can flip the selected equilibrium and the values jump.
  Two agents learning separately would need to agree on the rule.
* Cost: a stage equilibrium per update (vertex enumeration is exponential in the action counts);
  meant for small action sets. This learner is plain numpy (the stage solver is Python).
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._common.results import renamed_field
from mdp._common.sampling import draw_rows as _draw_many
from mdp._common.sampling import draw_vector as _draw_from
from mdp._validation import (
    as_float_array,
    check_index,
    check_positive_int,
    check_probability,
    check_progress,
    check_real,
    check_rng,
)

__all__ = ["NashQResult", "nash_q", "stage_equilibrium"]


@result
class NashQResult:
    """Result of :func:`nash_q`.

    Attributes
    ----------
    Q : ndarray, shape (2, S, A1, A2)
        Final ``Q_0``, ``Q_1``.
    row_policy : ndarray, shape (S, A1)
        Row player's strategy of the selected stage equilibrium of ``(Q_0[s], Q_1[s])`` (``x``
        before rlab 0.2).
    col_policy : ndarray, shape (S, A2)
        Column player's strategy of the same equilibria (``y`` before rlab 0.2).
    values : ndarray, shape (2, S)
        ``NashQ_j(s) = x(s)^T Q_j(s) y(s)`` with ``x, y`` the two policies.
    n_iter : int
        Sweeps (synchronous) or trajectory steps (online).
    n_samples : int
        Generative-model calls / observed transitions.
    residuals : ndarray, shape (n_iter,)
        Synchronous: ``||Q_{t+1} - Q_t||_inf`` per sweep (both players). Online: ``|change|`` of the
        updated entries at each step (max over the two players). ``history`` before rlab 0.2.
    mode, step_size : str
    final_state : int
        Online mode: the state the trajectory ended in (-1 in synchronous mode).
    """

    Q: np.ndarray
    row_policy: np.ndarray
    col_policy: np.ndarray
    values: np.ndarray
    n_iter: int
    n_samples: int
    residuals: np.ndarray
    mode: str
    step_size: str
    final_state: int = -1

    x = renamed_field("row_policy", "x")
    y = renamed_field("col_policy", "y")
    history = renamed_field("residuals", "history")


# ---------------------------------------------------------------------------- stage games
def stage_equilibrium(Q0, Q1):
    """Selected Nash equilibrium ``(x, y, (v0, v1))`` of the bimatrix stage game ``(Q0, Q1)``.

    Selection rule (see the module docstring): pure equilibrium of largest welfare (ties:
    smallest ``(a1, a2)`` in row-major order); otherwise the extreme equilibrium of largest
    welfare from vertex enumeration (ties: first in its order).
    """
    from marl.bimatrix import vertex_enumeration

    Q0 = np.asarray(Q0, dtype=np.float64)
    Q1 = np.asarray(Q1, dtype=np.float64)
    A1, A2 = Q0.shape
    pure = (Q0 >= Q0.max(axis=0, keepdims=True)) & (Q1 >= Q1.max(axis=1, keepdims=True))
    if pure.any():
        welfare = np.where(pure, Q0 + Q1, -np.inf)
        k = int(np.argmax(welfare))  # first maximiser in row-major order
        i, j = divmod(k, A2)
        x = np.zeros(A1)
        y = np.zeros(A2)
        x[i] = 1.0
        y[j] = 1.0
        return x, y, (float(Q0[i, j]), float(Q1[i, j]))
    eqs = vertex_enumeration(Q0, Q1)
    best = max(range(len(eqs)), key=lambda t: (eqs[t].welfare, -t))
    e = eqs[best]
    return np.array(e.row_strategy), np.array(e.col_strategy), (e.row_payoff, e.col_payoff)


def _all_stage(Q):
    _, S, A1, A2 = Q.shape
    x = np.zeros((S, A1))
    y = np.zeros((S, A2))
    v = np.zeros((2, S))
    for s in range(S):
        x[s], y[s], (v[0, s], v[1, s]) = stage_equilibrium(Q[0, s], Q[1, s])
    return x, y, v


# ---------------------------------------------------------------------------- learner
def _parse_step(step_size, omega):
    if isinstance(step_size, str):
        if step_size == "count":
            return "count", lambda k: 1.0 / (k + 1.0)
        if step_size == "polynomial":
            if not 0.5 < omega <= 1.0:
                raise ValueError(f"omega must lie in (1/2, 1] for polynomial step sizes, got {omega}")
            return f"polynomial(omega={omega})", lambda k: 1.0 / (k + 1.0) ** omega
        raise ValueError(f"step_size must be 'count', 'polynomial' or a float in (0, 1], got {step_size!r}")
    c = check_real(step_size, "constant step_size", "(0, 1]")
    return f"constant({c})", lambda k: c


def nash_q(
    game,
    *,
    n_iter: int,
    rng,
    mode: str = "synchronous",
    step_size="count",
    omega: float = 0.7,
    epsilon: float = 0.2,
    s0: int = 0,
    Q0=None,
    progress=None,
) -> NashQResult:
    """Nash-Q learning (Hu & Wellman 2003) with a generative model or along one trajectory.

    Parameters
    ----------
    game : MarkovGame
        Two-player game, zero-sum or general-sum (``R`` ``(2, S, A1, A2)``); only sampled: the
        learner reads the expected rewards and draws next states from ``P``.
    n_iter : int
        Sweeps (``"synchronous"``) or trajectory steps (``"online"``).
    rng : numpy.random.Generator
        The only source of randomness (consumed as documented in the module docstring).
    mode : {"synchronous", "online"}
    step_size : {"count", "polynomial"} or float, default "count"
        ``"count"``: ``alpha_k = 1 / (k + 1)`` (Hu & Wellman's ``1 / n(s, a1, a2)``);
        ``"polynomial"``: ``1 / (k + 1)^omega``; a float in ``(0, 1]``: constant. ``k`` is the
        sweep (synchronous) or the number of earlier visits of the pair (online).
    omega : float, default 0.7
        Exponent of the polynomial schedule, in ``(1/2, 1]``.
    epsilon : float, default 0.2
        Online exploration probability, in ``[0, 1]``.
    s0 : int, default 0
        Online start state.
    Q0 : array_like, optional
        Initial ``(2, S, A1, A2)`` estimate (default zeros).
    progress : callable, optional
        ``progress(done, n_iter)``, called about 100 times and once at the end; an exception it
        raises stops the call.

    Returns
    -------
    NashQResult

    Raises
    ------
    TypeError, ValueError
        On a non-game, bad counts, step sizes, ``epsilon``, ``s0``, ``Q0`` or ``rng``.
    """
    from marl.model import MarkovGame

    if not isinstance(game, MarkovGame):
        raise TypeError(f"game must be a marl.MarkovGame, got {type(game).__name__}")
    n_iter = check_positive_int(n_iter, "n_iter")
    rng = check_rng(rng)
    progress = check_progress(progress)
    every = -(-n_iter // 100)
    if mode not in ("synchronous", "online"):
        raise ValueError(f"mode must be 'synchronous' or 'online', got {mode!r}")
    label, alpha_of = _parse_step(step_size, float(omega))
    check_probability(epsilon, "epsilon")
    S = game.n_states
    A1, A2 = game.n_actions
    check_index(s0, "s0", S, what="state index")
    if Q0 is None:
        Q = np.zeros((2, S, A1, A2))
    else:
        Q = as_float_array(Q0, "Q0").copy()
        if Q.shape != (2, S, A1, A2):
            raise ValueError(f"Q0 must have shape (2, S, A1, A2) = {(2, S, A1, A2)}, got {Q.shape}")
    R = np.asarray(game.rewards, dtype=np.float64)
    gamma = game.gamma
    cdf = np.cumsum(game.dense_P().reshape(S * A1 * A2, S), axis=1)
    history = np.empty(n_iter)

    if mode == "synchronous":
        rows = np.arange(S * A1 * A2)
        for t in range(n_iter):
            _, _, v = _all_stage(Q)
            u = rng.random(S * A1 * A2)
            nxt = _draw_many(cdf, rows, u).reshape(S, A1, A2)
            a = alpha_of(t)
            target = R + gamma * v[:, nxt]
            new = (1.0 - a) * Q + a * target
            history[t] = float(np.abs(new - Q).max())
            Q = new
            if progress is not None and ((t + 1) % every == 0 or t + 1 == n_iter):
                progress(t + 1, n_iter)
        x, y, v = _all_stage(Q)
        return NashQResult(
            Q=Q,
            row_policy=x,
            col_policy=y,
            values=v,
            n_iter=n_iter,
            n_samples=n_iter * S * A1 * A2,
            residuals=history,
            mode=mode,
            step_size=label,
        )

    # online
    counts = np.zeros((S, A1, A2), dtype=np.int64)
    cache: dict[int, tuple] = {}

    def stage(s):
        if s not in cache:
            cache[s] = stage_equilibrium(Q[0, s], Q[1, s])
        return cache[s]

    s = int(s0)
    eps = float(epsilon)
    for t in range(n_iter):
        u = rng.random(4)
        if u[0] < eps:
            a1 = min(int(u[1] * A1), A1 - 1)
            a2 = min(int(u[2] * A2), A2 - 1)
        else:
            xs, ys, _ = stage(s)
            a1 = _draw_from(xs, u[1])
            a2 = _draw_from(ys, u[2])
        row = (s * A1 + a1) * A2 + a2
        s2 = int(_draw_many(cdf, np.array([row]), np.array([u[3]]))[0])
        _, _, (v0, v1) = stage(s2)
        a = alpha_of(counts[s, a1, a2])
        counts[s, a1, a2] += 1
        old = Q[:, s, a1, a2].copy()
        Q[0, s, a1, a2] = (1.0 - a) * old[0] + a * (R[0, s, a1, a2] + gamma * v0)
        Q[1, s, a1, a2] = (1.0 - a) * old[1] + a * (R[1, s, a1, a2] + gamma * v1)
        history[t] = float(np.abs(Q[:, s, a1, a2] - old).max())
        cache.pop(s, None)
        s = s2
        if progress is not None and ((t + 1) % every == 0 or t + 1 == n_iter):
            progress(t + 1, n_iter)
    x, y, v = _all_stage(Q)
    return NashQResult(
        Q=Q,
        row_policy=x,
        col_policy=y,
        values=v,
        n_iter=n_iter,
        n_samples=n_iter,
        residuals=history,
        mode=mode,
        step_size=label,
        final_state=s,
    )
