"""MAMQL: multi-agent inverse soft-Q learning with marginalised critics, tabular, plus reward recovery.

For each agent ``i`` (Haynam et al. 2025, arXiv:2503.04679, Sec. 4; reconstruction from the paper's
ingredients and IQ-Learn, Garg et al. 2021, Eq. 9-10; ``docs/papers/mamql.md``) the marginal critic
``Qbar_i(s, a_i)`` maximises the concave IQ-Learn objective

    J_i(Q) = E_{(s, a_i, s') ~ D_E} [ phi(Q(s, a_i) - gamma V(s')) ] - E_{(s, s') ~ D_E} [ V(s) - gamma V(s') ],
    V(s) = (1/lam) log sum_b exp(lam Q(s, b)),     phi(x) = x - x^2 / (4 alpha)  ("chi2")  or  x  ("linear").

``D_E`` is either sampled joint trajectories, each step weighted by ``gamma^t`` (so that the value term
telescopes to ``(1 - gamma) E_{mu0} V(s_0)`` up to the truncation; ``docs/papers/mamql.md``), or the exact normalised discounted occupancy ``rho(s, a_i)`` with the expectation over
``s' ~ Pbar_i(.|s, a_i)`` taken inside ``phi`` (the population objective; ``Pbar_i`` built under the
other agent's policy read off ``rho``). Because the other agent's actions in ``D_E`` were drawn from
its policy, the data are samples of agent ``i``'s induced MDP and the critic is the marginalised one.

The objective and its gradient are one numba kernel over "terms" ``(s_k, a_k, w_k, next-state
distribution k)``; the maximiser is found by a numba L-BFGS with Armijo backtracking on the table
(diagonally rescaled by the data weight per state); the reference twin runs scipy's L-BFGS-B on a
plain-numpy objective. The policy is ``softmax(lam Qbar_i)``; the reward is read off by the
inverse soft Bellman operator (:func:`recover_reward`) and is identified only up to potential shaping
(:func:`remove_shaping`); :func:`joint_reward_regression` lifts a marginal reward to joint actions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from marl.irl.equilibrium import (
    Demonstrations,
    Occupancy,
    check_player,
    induced_mdp,
    require_game,
)
from marl.model import check_stationary_strategy
from mdp._common import result
from mdp._validation import as_float_array, check_gamma, check_positive_int, check_real, check_tol
from mdp.model import TabularMDP
from mdp.solvers.soft_value_iteration import check_lam, softmax_policy

__all__ = [
    "JointRewardResult",
    "MAMQLResult",
    "ShapingResult",
    "agent_terms",
    "check_demonstrations",
    "check_occupancy",
    "fit_critic",
    "iq_objective",
    "joint_reward_regression",
    "mamql",
    "recover_reward",
    "reference_fit_critic",
    "reference_iq_objective",
    "remove_shaping",
]


# ---------------------------------------------------------------------- data validation
def check_occupancy(occ, game, name: str = "occupancy") -> np.ndarray:
    """``rho`` ``(S, A1, A2)``: non-negative, summing to one (an :class:`marl.irl.Occupancy` or a raw array)."""
    rho = occ.rho if isinstance(occ, Occupancy) else occ
    rho = as_float_array(rho, name, ndim=3)
    S, (A1, A2) = game.n_states, game.n_actions
    if rho.shape != (S, A1, A2):
        raise ValueError(f"{name} must have shape (S, A1, A2) = ({S}, {A1}, {A2}), got {rho.shape}")
    if rho.min() < 0:
        idx = np.unravel_index(int(np.argmin(rho)), rho.shape)
        raise ValueError(
            f"{name} must be a distribution (non-negative); {name}[{', '.join(map(str, idx))}] = {rho[idx]}"
        )
    if abs(rho.sum() - 1.0) > 1e-8:
        raise ValueError(
            f"{name} must be a distribution summing to 1 (the normalised discounted occupancy); "
            f"sums to {rho.sum():.12g}"
        )
    return rho


def check_demonstrations(demos, game, name: str = "demonstrations"):
    """``(states (n, H+1), actions (n, H, 2))`` as int64, every state and action in range."""
    if isinstance(demos, Demonstrations):
        states, actions = demos.states, demos.actions
    elif isinstance(demos, (tuple, list)) and len(demos) == 2:
        states, actions = demos
    else:
        raise TypeError(
            f"{name} must be a marl.irl.Demonstrations or a pair (states, actions), got {type(demos).__name__}"
        )
    states, actions = np.asarray(states), np.asarray(actions)
    for arr, nm in ((states, "states"), (actions, "actions")):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{name}.{nm} must hold integers, got dtype {arr.dtype}")
    if (
        states.ndim != 2
        or actions.ndim != 3
        or actions.shape[2] != 2
        or states.shape[0] != actions.shape[0]
        or states.shape[1] != actions.shape[1] + 1
        or actions.shape[1] == 0
    ):
        raise ValueError(
            f"{name} must have states (n, H + 1) and actions (n, H, 2) with H >= 1; "
            f"got {states.shape} and {actions.shape}"
        )
    S, (A1, A2) = game.n_states, game.n_actions
    if states.min() < 0 or states.max() >= S:
        k, t = np.argwhere((states < 0) | (states >= S))[0]
        raise ValueError(f"{name}.states[{k}, {t}] = {states[k, t]} is not a state in [0, {S})")
    for j, A in enumerate((A1, A2)):
        a = actions[:, :, j]
        if a.min() < 0 or a.max() >= A:
            k, t = np.argwhere((a < 0) | (a >= A))[0]
            raise ValueError(f"{name}.actions[{k}, {t}, {j}] = {a[k, t]} is not an action of player {j} in [0, {A})")
    return states.astype(np.int64), actions.astype(np.int64)


# ---------------------------------------------------------------------- terms
def agent_terms(game, data, i):
    """The objective's terms for agent ``i``: ``(ts, ta, tw, indptr, indices, probs, p_bar, support)``.

    Term ``k`` is ``(state ts[k], own action ta[k], weight tw[k])`` with the next-state distribution in
    CSR row ``k``. Weights sum to one. ``p_bar`` ``(S, A_i, S)`` is the induced transition model the
    reward is read off with (exact for an occupancy; empirical counts for demonstrations, zero rows
    where ``(s, a_i)`` was never seen) and ``support`` the ``(s, a_i)`` with positive data weight.
    """
    S, (A1, A2) = game.n_states, game.n_actions
    A = (A1, A2)[i]
    if isinstance(data, Occupancy) or (isinstance(data, np.ndarray) and data.ndim == 3):
        rho = check_occupancy(data, game)
        rho_i = rho.sum(axis=2) if i == 0 else rho.sum(axis=1)
        rho_s = rho_i.sum(axis=1)
        other = rho.sum(axis=1) if i == 0 else rho.sum(axis=2)  # (S, A_other)
        A_o = other.shape[1]
        pi_o = np.where(rho_s[:, None] > 0, other / np.where(rho_s > 0, rho_s, 1.0)[:, None], 1.0 / A_o)
        pi_o = pi_o / pi_o.sum(axis=1, keepdims=True)
        p_bar = np.asarray(induced_mdp(game, i, pi_o).dense_P(), dtype=np.float64)
        ts, ta = np.nonzero(rho_i > 0)
        tw = rho_i[ts, ta]
        rows = p_bar[ts, ta]
        nz = rows > 0
        indptr = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int64)
        indices = np.nonzero(nz)[1].astype(np.int64)
        probs = rows[nz]
        support = rho_i > 0
    else:
        states, actions = check_demonstrations(data, game)
        n, H = actions.shape[:2]
        w_t = game.gamma ** np.arange(H)
        s, a, s2 = states[:, :-1].ravel(), actions[:, :, i].ravel(), states[:, 1:].ravel()
        w = np.broadcast_to(w_t, (n, H)).ravel()
        key = (s * A + a) * S + s2
        uniq, inv = np.unique(key, return_inverse=True)
        wsum = np.bincount(inv, weights=w)
        ts, ta, tn = uniq // (A * S), (uniq // S) % A, uniq % S
        tw = wsum / wsum.sum()
        indptr = np.arange(ts.size + 1, dtype=np.int64)
        indices = tn.astype(np.int64)
        probs = np.ones(ts.size)
        counts = np.zeros((S, A, S))
        np.add.at(counts, (s, a, s2), 1.0)
        tot = counts.sum(axis=2, keepdims=True)
        p_bar = np.divide(counts, tot, out=np.zeros_like(counts), where=tot > 0)
        support = tot[:, :, 0] > 0
    return (
        np.ascontiguousarray(ts, dtype=np.int64),
        np.ascontiguousarray(ta, dtype=np.int64),
        np.ascontiguousarray(tw, dtype=np.float64),
        indptr,
        indices,
        np.ascontiguousarray(probs),
        p_bar,
        support,
    )


# ---------------------------------------------------------------------- objective
@njit(cache=True)
def _iq_objective(Q, lam, gamma, ts, ta, tw, indptr, indices, probs, linear, alpha, grad):
    """``J(Q)`` and ``dJ/dQ`` (into ``grad``) of the IQ objective over the terms (module docstring)."""
    S, A = Q.shape
    V = np.empty(S)
    pi = np.empty((S, A))
    for s in range(S):
        m = Q[s, 0]
        for a in range(1, A):
            m = max(m, Q[s, a])
        acc = 0.0
        for a in range(A):
            e = math.exp(lam * (Q[s, a] - m))
            pi[s, a] = e
            acc += e
        for a in range(A):
            pi[s, a] /= acc
        V[s] = m + math.log(acc) / lam
    cV = np.zeros(S)
    for s in range(S):
        for a in range(A):
            grad[s, a] = 0.0
    J = 0.0
    for k in range(ts.shape[0]):
        s = ts[k]
        w = tw[k]
        ev = 0.0
        for j in range(indptr[k], indptr[k + 1]):
            ev += probs[j] * V[indices[j]]
        x = Q[s, ta[k]] - gamma * ev
        if linear:
            f, df = x, 1.0
        else:
            f, df = x - x * x / (4.0 * alpha), 1.0 - x / (2.0 * alpha)
        J += w * (f - V[s] + gamma * ev)
        grad[s, ta[k]] += w * df
        cV[s] -= w
        c = gamma * w * (1.0 - df)
        if c != 0.0:
            for j in range(indptr[k], indptr[k + 1]):
                cV[indices[j]] += c * probs[j]
    for s in range(S):
        if cV[s] != 0.0:
            for a in range(A):
                grad[s, a] += cV[s] * pi[s, a]
    return J


@njit(cache=True)
def _neg_scaled(z, sc, S, A, lam, gamma, ts, ta, tw, indptr, indices, probs, linear, alpha, Q, grad, g_out):
    """``-J(Q = sc * z)`` and its gradient in ``z`` (into ``g_out``)."""
    for k in range(S * A):
        Q[k // A, k % A] = sc[k] * z[k]
    J = _iq_objective(Q, lam, gamma, ts, ta, tw, indptr, indices, probs, linear, alpha, grad)
    for k in range(S * A):
        g_out[k] = -sc[k] * grad[k // A, k % A]
    return -J


@njit(cache=True)
def _lbfgs_fit(z, sc, S, A, lam, gamma, ts, ta, tw, indptr, indices, probs, linear, alpha, mem, max_iter, gtol, trace):
    """Maximise the IQ objective by L-BFGS (Nocedal & Wright 2006, Alg. 7.4/7.5) with Armijo backtracking
    on the rescaled table ``z`` (in place); where ``f`` no longer changes in float64, a step is also
    accepted when it halves the gradient's sup-norm without raising ``f``. Returns ``(n_iter, n_evals, stalled)``; ``trace[t]`` is
    ``J`` after iteration ``t``. The objective is concave, so ``s^T y > 0`` holds up to round-off
    (pairs that violate it are skipped)."""
    n = S * A
    Q = np.empty((S, A))
    grad = np.empty((S, A))
    g = np.empty(n)
    g_new = np.empty(n)
    z_new = np.empty(n)
    d = np.empty(n)
    s_hist = np.zeros((mem, n))
    y_hist = np.zeros((mem, n))
    rho = np.zeros(mem)
    alph = np.zeros(mem)
    f = _neg_scaled(z, sc, S, A, lam, gamma, ts, ta, tw, indptr, indices, probs, linear, alpha, Q, grad, g)
    n_evals = 1
    k_stored = 0
    head = 0
    for it in range(max_iter):
        gmax = 0.0
        for j in range(n):
            gmax = max(gmax, abs(g[j]))
        if gmax <= gtol:
            return it, n_evals, False
        # two-loop recursion: d = -H g
        for j in range(n):
            d[j] = -g[j]
        for c in range(k_stored):
            idx = (head - 1 - c) % mem
            a = 0.0
            for j in range(n):
                a += s_hist[idx, j] * d[j]
            a *= rho[idx]
            alph[idx] = a
            for j in range(n):
                d[j] -= a * y_hist[idx, j]
        if k_stored > 0:
            idx = (head - 1) % mem
            yy = 0.0
            for j in range(n):
                yy += y_hist[idx, j] * y_hist[idx, j]
            h0 = 1.0 / (rho[idx] * yy)
            for j in range(n):
                d[j] *= h0
        for c in range(k_stored - 1, -1, -1):
            idx = (head - 1 - c) % mem
            b = 0.0
            for j in range(n):
                b += y_hist[idx, j] * d[j]
            b *= rho[idx]
            for j in range(n):
                d[j] += s_hist[idx, j] * (alph[idx] - b)
        slope = 0.0
        for j in range(n):
            slope += g[j] * d[j]
        if not slope < 0.0:  # not a descent direction: restart from steepest descent
            k_stored = 0
            slope = 0.0
            for j in range(n):
                d[j] = -g[j]
                slope -= g[j] * g[j]
        step = 1.0 if k_stored > 0 else min(1.0, 1.0 / max(gmax, 1e-300))
        accepted = False
        for _ in range(60):
            for j in range(n):
                z_new[j] = z[j] + step * d[j]
            f_new = _neg_scaled(
                z_new, sc, S, A, lam, gamma, ts, ta, tw, indptr, indices, probs, linear, alpha, Q, grad, g_new
            )
            n_evals += 1
            if f_new < f + 1e-4 * step * slope:  # Armijo, strictly (no credit for round-off ties)
                accepted = True
                break
            if f_new <= f:
                # at the float64 floor of f: accept a step that does not raise f and shrinks the gradient
                gm_new = 0.0
                for j in range(n):
                    gm_new = max(gm_new, abs(g_new[j]))
                if gm_new < 0.5 * gmax:
                    accepted = True
                    break
            step *= 0.5
        if not accepted:
            # round-off floor: the objective cannot be decreased along d any more
            trace[it] = -f
            return it + 1, n_evals, True
        sy = 0.0
        for j in range(n):
            s_hist[head, j] = z_new[j] - z[j]
            y_hist[head, j] = g_new[j] - g[j]
            sy += s_hist[head, j] * y_hist[head, j]
        if sy > 1e-300:
            rho[head] = 1.0 / sy
            head = (head + 1) % mem
            if k_stored < mem:
                k_stored += 1
        for j in range(n):
            z[j] = z_new[j]
            g[j] = g_new[j]
        f = f_new
        trace[it] = -f
    return max_iter, n_evals, False


def iq_objective(Q, lam, gamma, terms, *, phi: str = "chi2", alpha: float = 0.5):
    """``(J, grad)`` of the IQ objective at the table ``Q`` ``(S, A_i)`` for :func:`agent_terms` ``terms``."""
    ts, ta, tw, indptr, indices, probs = terms[:6]
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    grad = np.empty_like(Q)
    J = _iq_objective(
        Q, float(lam), float(gamma), ts, ta, tw, indptr, indices, probs, phi == "linear", float(alpha), grad
    )
    return J, grad


def reference_iq_objective(Q, lam, gamma, terms, *, phi: str = "chi2", alpha: float = 0.5):
    """Plain numpy twin of :func:`iq_objective` (dense next-state matrix, autograd-free chain rule)."""
    ts, ta, tw, indptr, indices, probs = terms[:6]
    S, A = Q.shape
    from scipy.special import logsumexp

    V = logsumexp(lam * Q, axis=1) / lam
    pi = np.exp(lam * Q - (lam * V)[:, None])
    N = np.zeros((ts.size, S))
    for k in range(ts.size):
        N[k, indices[indptr[k] : indptr[k + 1]]] += probs[indptr[k] : indptr[k + 1]]
    ev = N @ V
    x = Q[ts, ta] - gamma * ev
    f, df = (x, np.ones_like(x)) if phi == "linear" else (x - x**2 / (4 * alpha), 1 - x / (2 * alpha))
    J = float(tw @ (f - V[ts] + gamma * ev))
    grad = np.zeros((S, A))
    np.add.at(grad, (ts, ta), tw * df)
    cV = -np.bincount(ts, weights=tw, minlength=S) + N.T @ (gamma * tw * (1 - df))
    grad += cV[:, None] * pi
    return J, grad


# ---------------------------------------------------------------------- fit
@result
class MAMQLResult:
    """Fitted marginal critics of both agents.

    Attributes
    ----------
    q : tuple (ndarray (S, A1), ndarray (S, A2))
        Marginal critics ``Qbar_i``.
    v : ndarray, shape (2, S)
        ``Vbar_i = (1/lam) logsumexp(lam Qbar_i)``.
    policies : tuple (ndarray (S, A1), ndarray (S, A2))
        Recovered policies ``softmax(lam Qbar_i)``.
    rewards : tuple (ndarray (S, A1), ndarray (S, A2))
        Recovered marginal rewards ``Qbar_i - gamma Pbar_i Vbar_i`` (:func:`recover_reward`), meaningful
        on ``support``.
    p_bar : tuple (ndarray (S, A1, S), ndarray (S, A2, S))
        The induced transition model used for ``rewards`` (exact or empirical).
    support : tuple (bool ndarray (S, A1), bool ndarray (S, A2))
        State-action pairs with positive data weight.
    objective : ndarray, shape (2,)
        Final ``J_i``.
    grad_norm : ndarray, shape (2,)
        Final sup-norm of the (preconditioned) gradient ``dJ_i/dz``.
    n_iter : ndarray of int, shape (2,)
        L-BFGS iterations per agent (gradient steps).
    n_evals : ndarray of int, shape (2,)
        Objective/gradient evaluations per agent.
    traces : tuple of ndarray (n_iter[i],)
        Objective ``J_i`` after each L-BFGS iteration.
    converged : bool
    lam, alpha : float
    phi, method : str
    """

    q: tuple
    v: np.ndarray
    policies: tuple
    rewards: tuple
    p_bar: tuple
    support: tuple
    objective: np.ndarray
    grad_norm: np.ndarray
    n_iter: np.ndarray
    n_evals: np.ndarray
    traces: tuple
    converged: bool
    lam: float
    alpha: float
    phi: str
    method: str


def _check_phi_alpha(phi, alpha):
    if phi not in ("chi2", "linear"):
        raise ValueError(f"phi must be 'chi2' or 'linear', got {phi!r}")
    return check_real(alpha, "alpha (chi2 regulariser weight)", "(0, inf)")


def _preconditioner(terms, S, A, gamma):
    """Per-entry scale ``1 / sqrt(weight touching the state)`` (floored at 1e-6 of the largest)."""
    ts, _, tw, indptr, indices, probs = terms[:6]
    touch = np.bincount(ts, weights=tw, minlength=S)
    touch += gamma * np.bincount(indices, weights=np.repeat(tw, np.diff(indptr)) * probs, minlength=S)
    scale = 1.0 / np.sqrt(np.maximum(touch, 1e-6 * max(touch.max(), 1e-300)))
    return np.repeat(scale, A)


def fit_critic(terms, S, A, lam, gamma, *, phi="chi2", alpha=0.5, tol=1e-10, max_iter=10_000, memory: int = 20):
    """Maximise the IQ objective over the ``(S, A)`` table: numba L-BFGS (``_lbfgs_fit``).

    Variables are rescaled per state by ``1 / sqrt(weight touching the state)`` (a diagonal
    preconditioner; rarely visited states otherwise converge slowly); ``tol`` bounds the sup-norm of
    the rescaled gradient at a converged fit. Returns ``(Q, J, grad_sup_norm, n_iter, n_evals,
    converged, trace)`` with ``trace[t]`` the objective after iteration ``t``.
    """
    ts, ta, tw, indptr, indices, probs = terms[:6]
    sc = _preconditioner(terms, S, A, gamma)
    z = np.zeros(S * A)
    trace = np.full(max_iter, np.nan)
    nit, nfev, stalled = _lbfgs_fit(
        z,
        sc,
        S,
        A,
        float(lam),
        float(gamma),
        ts,
        ta,
        tw,
        indptr,
        indices,
        probs,
        phi == "linear",
        float(alpha),
        int(memory),
        int(max_iter),
        float(tol),
        trace,
    )
    Q = (z * sc).reshape(S, A)
    J, g = iq_objective(Q, lam, gamma, terms, phi=phi, alpha=alpha)
    gz = float(np.abs(g.ravel() * sc).max())
    # a stalled line search is the float64 floor of the objective: accept it when the gradient is small
    converged = gz <= tol or (stalled and gz <= max(tol, 1e-7))
    return Q, float(J), gz, int(nit), int(nfev), bool(converged), trace[:nit]


def reference_fit_critic(terms, S, A, lam, gamma, *, phi="chi2", alpha=0.5, tol=1e-10, max_iter=10_000):
    """Reference twin of :func:`fit_critic`: scipy's L-BFGS-B on :func:`reference_iq_objective` (same
    preconditioner); returns ``Q``."""
    from scipy.optimize import minimize

    sc = _preconditioner(terms, S, A, gamma)

    def f(z):
        J, g = reference_iq_objective((z * sc).reshape(S, A), lam, gamma, terms, phi=phi, alpha=alpha)
        return -J, -(g.ravel() * sc)

    opt = minimize(
        f,
        np.zeros(S * A),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": 20, "maxls": 50},
    )
    return (opt.x * sc).reshape(S, A)


def recover_reward(Qbar, Pbar_i, gamma, lam) -> np.ndarray:
    """Inverse soft Bellman operator: ``rbar(s, a) = Qbar(s, a) - gamma sum_s' Pbar_i(s'|s, a) Vbar(s')``.

    ``Vbar = (1/lam) logsumexp(lam Qbar)``; the reward for which ``Qbar`` is soft-optimal in the MDP
    ``Pbar_i`` (Haynam et al. 2025, Sec. 4; IQ-Learn, Garg et al. 2021, Eq. 6; ``docs/papers/mamql.md``).

    Parameters
    ----------
    Qbar : array_like, shape (S, A)
    Pbar_i : array_like (S, A, S) or TabularMDP
        Induced transition model (rows may be zero where ``(s, a)`` is unknown).
    gamma : float in [0, 1)
    lam : float > 0

    Returns
    -------
    ndarray, shape (S, A)
    """
    Q = as_float_array(Qbar, "Qbar", ndim=2)
    lam = check_lam(lam)
    gamma = check_gamma(gamma)
    if isinstance(Pbar_i, TabularMDP):
        Pbar_i = Pbar_i.dense_P()
    P = as_float_array(Pbar_i, "Pbar_i", ndim=3)
    S, A = Q.shape
    if P.shape != (S, A, S):
        raise ValueError(f"Pbar_i must have shape (S, A, S) = ({S}, {A}, {S}) to match Qbar, got {P.shape}")
    if P.min() < 0 or np.any(P.sum(axis=2) > 1 + 1e-8):
        raise ValueError("Pbar_i must hold sub-probability rows (non-negative, each summing to at most 1)")
    m = Q.max(axis=1)
    V = m + np.log(np.exp(lam * (Q - m[:, None])).sum(axis=1)) / lam
    return Q - gamma * np.einsum("sat,t->sa", P, V)


def mamql(
    game, data, lam, *, phi: str = "chi2", alpha: float = 0.5, tol: float = 1e-10, max_iter: int = 10_000, agents=(0, 1)
) -> MAMQLResult:
    """Fit both agents' marginal soft critics from joint demonstrations or an exact occupancy (MAMQL).

    Parameters
    ----------
    game : MarkovGame
        Supplies ``S``, the action sets and ``gamma``; for an occupancy also the dynamics ``P`` that
        ``Pbar_i`` is built from. With sampled demonstrations the fit uses only the observed
        transitions (model-free, as IQ-Learn); ``P`` then only serves validation.
    data : Demonstrations, (states, actions), Occupancy or ndarray (S, A1, A2)
        Sampled joint trajectories (``states`` ``(n, H + 1)``, ``actions`` ``(n, H, 2)``), or the
        expert's normalised discounted occupancy ``rho(s, a1, a2)`` (:func:`marl.irl.occupancy_measure`).
    lam : float > 0
        The experts' inverse temperature (the critic's softmax scale).
    phi : {"chi2", "linear"}
        Concave regulariser ``phi(x) = x - x^2 / (4 alpha)`` (IQ-Learn's chi^2) or ``x`` (pure
        likelihood: with exact occupancies it recovers the expert policy on its support, claim M3).
    alpha : float > 0, default 0.5
    tol : float, default 1e-10
        The numba L-BFGS stops when the preconditioned gradient's sup-norm is ``<= tol`` (or when the
        line search reaches the float64 floor of the objective with the gradient below ``max(tol, 1e-7)``).
    max_iter : int, default 10000
        L-BFGS iterations per agent (the "gradient steps" of the lab).
    agents : tuple of {0, 1}
        Which agents to fit (default both; an agent not fitted gets a zero critic and ``n_iter = 0``).

    Returns
    -------
    MAMQLResult

    Raises
    ------
    TypeError, ValueError
        For a non-game, ``lam <= 0``, an unknown ``phi``, ``alpha <= 0``, demonstrations with states
        or actions out of range or of the wrong shape, an occupancy that is not a distribution.
    """
    game = require_game(game)
    lam = check_lam(lam)
    alpha = _check_phi_alpha(phi, alpha)
    tol = check_tol(tol)
    max_iter = check_positive_int(max_iter, "max_iter")
    agents = tuple(check_player(i, "agents[]") for i in agents)
    S, A_all, g = game.n_states, game.n_actions, game.gamma
    qs, vs, pis, rs, pbars, sups, traces = [], [], [], [], [], [], []
    obj, gn, nit, nfev = np.zeros(2), np.zeros(2), np.zeros(2, dtype=np.int64), np.zeros(2, dtype=np.int64)
    ok = True
    for i in (0, 1):
        A = A_all[i]
        terms = agent_terms(game, data, i)
        if i in agents:
            Q, J, gnorm, it, fe, conv, tr = fit_critic(
                terms, S, A, lam, g, phi=phi, alpha=alpha, tol=tol, max_iter=max_iter
            )
            ok = ok and conv
        else:
            Q, J, gnorm, it, fe, tr = np.zeros((S, A)), 0.0, 0.0, 0, 0, np.zeros(0)
        obj[i], gn[i], nit[i], nfev[i] = J, gnorm, it, fe
        traces.append(tr)
        m = Q.max(axis=1)
        V = m + np.log(np.exp(lam * (Q - m[:, None])).sum(axis=1)) / lam
        qs.append(Q)
        vs.append(V)
        pis.append(softmax_policy(Q, lam))
        rs.append(recover_reward(Q, terms[6], g, lam))
        pbars.append(terms[6])
        sups.append(terms[7])
    kind = "occupancy" if isinstance(data, (Occupancy, np.ndarray)) else "demonstrations"
    return MAMQLResult(
        q=tuple(qs),
        v=np.stack(vs),
        policies=tuple(pis),
        rewards=tuple(rs),
        p_bar=tuple(pbars),
        support=tuple(sups),
        objective=obj,
        grad_norm=gn,
        n_iter=nit,
        n_evals=nfev,
        traces=tuple(traces),
        converged=bool(ok),
        lam=lam,
        alpha=alpha,
        phi=phi,
        method=f"mamql[{phi}, {kind}, numba L-BFGS]",
    )


# ---------------------------------------------------------------------- shaping, joint rewards
@result
class ShapingResult:
    """Best potential-shaping alignment of a recovered reward to a reference.

    Attributes
    ----------
    reward : ndarray, shape (S, A)
        ``r_hat - (Phi(s) - gamma sum_s' Pbar(s'|s, a) Phi(s'))`` (shaping removed).
    potential : ndarray, shape (S,)
        The least-squares potential ``Phi``.
    residual : float
        ``max |reward - r_ref|`` over the weighted support.
    correlation_before, correlation_after : float
        Pearson correlation of ``r_hat`` (resp. ``reward``) with ``r_ref`` on the support, weighted by
        ``weights`` (pass an occupancy to weight state-action pairs by how often they are visited).
    """

    reward: np.ndarray
    potential: np.ndarray
    residual: float
    correlation_before: float
    correlation_after: float


def _corr(a, b, w=None):
    """Pearson correlation of ``a`` and ``b``, weighted by ``w`` (default equal weights)."""
    w = np.full(a.shape, 1.0 / a.size) if w is None else w / w.sum()
    a, b = a - w @ a, b - w @ b
    den = math.sqrt(float(w @ (a * a)) * float(w @ (b * b)))
    return float(w @ (a * b) / den) if den > 0 else (1.0 if np.allclose(a, b) else 0.0)


def remove_shaping(r_hat, r_ref, Pbar, gamma, *, weights=None) -> ShapingResult:
    """Fit and remove the potential shaping that best aligns ``r_hat`` with ``r_ref``.

    Soft inverse RL identifies a reward only up to ``Phi(s) - gamma E_{s'} Phi(s')`` (Ng et al. 1999;
    Cao et al. 2021; ``docs/papers/mamql.md`` claim M4). Solves
    ``min_Phi sum_{s,a} w(s,a) (r_hat - r_ref - Phi(s) + gamma Pbar Phi)(s, a)^2`` by least squares.

    Parameters
    ----------
    r_hat, r_ref : array_like, shape (S, A)
    Pbar : array_like (S, A, S) or TabularMDP
    gamma : float in [0, 1)
    weights : array_like (S, A), optional
        Non-negative weights (default all ones); entries with zero weight are ignored (off-support).
    """
    r_hat = as_float_array(r_hat, "r_hat", ndim=2)
    r_ref = as_float_array(r_ref, "r_ref", ndim=2)
    S, A = r_hat.shape
    if r_ref.shape != (S, A):
        raise ValueError(f"r_ref must have the shape of r_hat {r_hat.shape}, got {r_ref.shape}")
    gamma = check_gamma(gamma)
    if isinstance(Pbar, TabularMDP):
        Pbar = Pbar.dense_P()
    P = as_float_array(Pbar, "Pbar", ndim=3)
    if P.shape != (S, A, S):
        raise ValueError(f"Pbar must have shape (S, A, S) = ({S}, {A}, {S}), got {P.shape}")
    w = np.ones((S, A)) if weights is None else as_float_array(weights, "weights", ndim=2)
    if w.shape != (S, A) or w.min() < 0:
        raise ValueError(f"weights must be non-negative of shape ({S}, {A})")
    sel = w.ravel() > 0
    if not sel.any():
        raise ValueError("weights must have at least one positive entry")
    D = np.repeat(np.eye(S), A, axis=0) - gamma * P.reshape(S * A, S)
    sw = np.sqrt(w.ravel()[sel])
    diff = (r_hat - r_ref).ravel()[sel]
    from scipy.linalg import lstsq

    phi = lstsq(D[sel] * sw[:, None], diff * sw, lapack_driver="gelsy")[0]  # rank-revealing QR
    aligned = r_hat - (D @ phi).reshape(S, A)
    resid = float(np.abs((aligned - r_ref).ravel()[sel]).max())
    ws = w.ravel()[sel]
    return ShapingResult(
        reward=aligned,
        potential=phi,
        residual=resid,
        correlation_before=_corr(r_hat.ravel()[sel], r_ref.ravel()[sel], ws),
        correlation_after=_corr(aligned.ravel()[sel], r_ref.ravel()[sel], ws),
    )


@result
class JointRewardResult:
    """Least-norm joint reward meeting the marginal constraints.

    Attributes
    ----------
    reward : ndarray, shape (S, A_i, A_o)
        ``r(s, a_i, a_o)`` with ``sum_{a_o} pi_o(a_o|s) r(s, a_i, a_o) = rbar(s, a_i)``, closest to ``prior``.
    null_space_dim : int
        Dimension of the joint rewards with zero marginals: ``sum_{s} A_i (A_o - rank pi_o(.|s))``
        ``= S A_i (A_o - 1)`` (each ``pi_o(.|s)`` is a non-zero vector).
    residual : float
        ``max |E_{pi_o} reward - rbar|``.
    """

    reward: np.ndarray
    null_space_dim: int
    residual: float


def joint_reward_regression(rbar, pi_other, *, prior=None) -> JointRewardResult:
    """Least-norm (or closest-to-``prior``) joint reward whose marginal under ``pi_other`` is ``rbar``.

    Per ``(s, a_i)`` the constraint is one linear equation ``w . r = rbar`` with ``w = pi_other(.|s)``,
    whose minimum-norm correction is along ``w``: ``r = r0 + (rbar - w . r0) w / ||w||^2``
    (Haynam et al. 2025, Sec. 4, tabular form; ``docs/papers/mamql.md`` claim M5).

    Parameters
    ----------
    rbar : array_like, shape (S, A_i)
    pi_other : array_like, shape (S, A_o)
        The other agent's stationary strategy (rows on the simplex).
    prior : array_like (S, A_i, A_o), optional
        Default zeros (least norm).
    """
    rbar = as_float_array(rbar, "rbar", ndim=2)
    S, Ai = rbar.shape
    pi_o = as_float_array(pi_other, "pi_other", ndim=2)
    if pi_o.shape[0] != S:
        raise ValueError(f"pi_other must have S = {S} rows to match rbar, got shape {pi_o.shape}")
    pi_o = check_stationary_strategy(pi_o, "pi_other", S, pi_o.shape[1])
    Ao = pi_o.shape[1]
    r0 = np.zeros((S, Ai, Ao)) if prior is None else as_float_array(prior, "prior", ndim=3)
    if r0.shape != (S, Ai, Ao):
        raise ValueError(f"prior must have shape ({S}, {Ai}, {Ao}), got {r0.shape}")
    nrm = (pi_o**2).sum(axis=1)  # > 0 for a distribution
    defect = rbar - np.einsum("sab,sb->sa", r0, pi_o)
    r = r0 + defect[:, :, None] * (pi_o / nrm[:, None])[:, None, :]
    resid = float(np.abs(np.einsum("sab,sb->sa", r, pi_o) - rbar).max())
    return JointRewardResult(reward=r, null_space_dim=int(S * Ai * (Ao - 1)), residual=resid)
