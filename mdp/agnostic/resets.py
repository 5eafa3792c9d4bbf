"""Policy search by dynamic programming (PSDP) with mu-resets, and conservative policy iteration.

**PSDP** (Bagnell, Kakade, Ng & Schneider 2003, "Policy search by dynamic programming"):
given per-layer classes ``Pi_h`` and reset distributions ``mu_h``, choose backwards

    pi_h = argmax_{f in Pi_h} E_{s ~ mu_h}[ R_h(s, f(s)) + E V^{pi_{h+1:H}}_{h+1}(s') ],

with the later layers' choices fixed, evaluated exactly or by rollouts from ``mu_h``. Its guarantee
needs the class to be *complete* (closed under the per-state combinations PSDP needs), not merely
to contain an optimal policy: the thesis of G. Li (2025) and Krishnamurthy, Li & Sekhari (2025) show
the failure; claim AR5 (``theory_checks/agnostic.py``) is the two-layer instance of
``docs/papers/agnostic_rl.md``.

**CPI** (Kakade & Langford 2002, "Approximately optimal approximate reinforcement learning",
Thm 4.1, cited from memory), in a finite-horizon form derived here (a reconstruction: the paper is
discounted). The iterate is a stochastic non-stationary policy; each step finds the class policy
``pi_k`` with the largest advantage ``Adv(k) = sum_h E_{s ~ d^pi_{nu,h}}[A^pi_h(s, pi_k(h, s))]``
(``d`` the layer distributions of ``pi`` started from ``nu``) and mixes ``pi <- (1 - alpha) pi +
alpha pi_k``. With returns in ``[0, 1]`` (so ``|A| <= 1``) the performance-difference lemma and
``TV(d^{pi'}_h, d^pi_h) <= 1 - (1 - alpha)^h <= alpha h`` give

    V_nu(pi') - V_nu(pi) >= alpha Adv - alpha^2 H (H - 1),

maximised by ``alpha = min(1, Adv / (2 H (H - 1)))``: an improvement of at least
``Adv^2 / (4 H (H - 1))`` (when ``alpha < 1``). CPI stops when ``Adv <= eps``.
"""

from __future__ import annotations

import numpy as np

from mdp._common import ConvergenceWarning, result
from mdp._validation import as_float_array, check_positive_int, check_rng, check_tol
from mdp.agnostic.model import LayeredMDP, check_policy_table, policy_values

__all__ = ["PSDPResult", "CPIResult", "psdp", "cpi", "stochastic_q_values", "layer_distributions"]


@result
class PSDPResult:
    """PSDP's choice per layer and its value.

    Attributes
    ----------
    pi : ndarray, shape (H, S)
        The chosen non-stationary policy (``pi[h] = classes[h][chosen[h]]``).
    chosen : ndarray, shape (H,)
        Index of the chosen member of each layer's class.
    scores : tuple of ndarray
        ``scores[h]`` ``(K_h,)``: each candidate's objective under ``mu_h`` (exact or estimated).
    value : float
        Exact ``V(pi)`` from ``rho0``.
    n_samples : int
        Rollouts per candidate (0: exact evaluation).
    """

    pi: np.ndarray
    chosen: np.ndarray
    scores: tuple
    value: float
    n_samples: int


@result
class CPIResult:
    """Conservative policy iteration's trace.

    Attributes
    ----------
    pi : ndarray, shape (H, S, A)
        The final stochastic policy.
    value : float
        ``V(pi)`` from ``rho0``.
    values : ndarray, shape (n_iter + 1,)
        ``V_nu`` of each iterate (``nu`` the measuring distribution).
    advantages : ndarray, shape (n_iter + 1,)
        The largest class advantage at each iterate (the last one is the stopping test).
    chosen : ndarray, shape (n_iter,)
        The class policy mixed in at each step.
    alphas : ndarray, shape (n_iter,)
    guaranteed : ndarray, shape (n_iter,)
        ``alpha Adv - alpha^2 H (H - 1)``, the certified improvement of each step.
    n_iter : int
    converged : bool
        ``Adv <= eps`` was reached.
    """

    pi: np.ndarray
    value: float
    values: np.ndarray
    advantages: np.ndarray
    chosen: np.ndarray
    alphas: np.ndarray
    guaranteed: np.ndarray
    n_iter: int
    converged: bool


def _require_model(model):
    if not isinstance(model, LayeredMDP):
        raise TypeError(f"model must be an mdp.agnostic.LayeredMDP, got {type(model).__name__}")
    return model


def _layer_classes(classes, model):
    H, S, A = model.R.shape
    if isinstance(classes, np.ndarray) and classes.ndim == 3:
        pol = check_policy_table(classes, model, "classes")
        return [np.unique(pol[:, h, :], axis=0) for h in range(H)]
    if isinstance(classes, (str, bytes)) or not hasattr(classes, "__len__"):
        raise TypeError("classes must be a (K, H, S) policy table or a sequence of H arrays (K_h, S)")
    if len(classes) != H:
        raise ValueError(f"classes must hold one class per layer (H = {H}), got {len(classes)}")
    out = []
    for h, c in enumerate(classes):
        arr = np.asarray(c)
        if arr.ndim != 2 or arr.shape[1] != S:
            raise ValueError(f"classes[{h}] must have shape (K_h, {S}), got {arr.shape}")
        out.append(check_policy_table(arr[:, None, :], (1, S, A), f"classes[{h}]")[:, 0, :])
    return out


def _check_mus(mus, H, S):
    mu = as_float_array(mus, "mus", ndim=2)
    if mu.shape != (H, S):
        raise ValueError(f"mus must have shape (H, S) = ({H}, {S}), got {mu.shape}")
    if mu.min() < 0 or np.max(np.abs(mu.sum(axis=1) - 1)) > 1e-9:
        raise ValueError("mus must hold one probability distribution per layer (rows nonnegative, summing to 1)")
    return mu


def _rollout_returns(model, pi, h, starts, acts, rng):
    """Returns from layer ``h`` of rollouts starting at ``starts`` with first actions ``acts``,
    then following ``pi`` (generative model)."""
    H = model.horizon
    s = starts.copy()
    a = acts.copy()
    G = model.R[h, s, a].copy()
    for t in range(h, H - 1):
        c = model.next_cdf[t, s, a]
        b = np.minimum((c <= (rng.random(s.size) * c[:, -1])[:, None]).sum(axis=1), c.shape[1] - 1)
        s = model.next_states[t, s, a, b]
        a = pi[t + 1, s]
        G += model.R[t + 1, s, a]
    return G


def psdp(model, classes, mus, *, n_samples=None, rng=None) -> PSDPResult:
    """Policy search by dynamic programming with reset distributions ``mus`` (module docstring).

    Parameters
    ----------
    model : LayeredMDP
    classes : (K, H, S) policy table or sequence of H arrays (K_h, S)
        The per-layer classes ``Pi_h`` (a table gives ``Pi_h`` = its distinct layer-``h`` rows).
    mus : array_like, shape (H, S)
        Reset distribution of each layer.
    n_samples : int, optional
        Rollouts per candidate from ``mu_h``; default exact evaluation.
    rng : numpy.random.Generator
        Required with ``n_samples``.

    Returns
    -------
    PSDPResult
    """
    model = _require_model(model)
    H, S, A = model.R.shape
    cls = _layer_classes(classes, model)
    mu = _check_mus(mus, H, S)
    if n_samples is not None:
        n = check_positive_int(n_samples, "n_samples")
        rng = check_rng(rng)
    else:
        n = 0
    pi = np.zeros((H, S), dtype=np.int64)
    chosen = np.zeros(H, dtype=np.int64)
    scores = [None] * H
    v_next = np.zeros(S)
    sidx = np.arange(S)
    for h in range(H - 1, -1, -1):
        C = cls[h]
        if n == 0:
            q = model.R[h].copy()
            if h < H - 1:
                q += (model.next_probs[h] * v_next[model.next_states[h]]).sum(axis=2)
            sc = (q[sidx[None, :], C] * mu[h][None, :]).sum(axis=1)
        else:
            sc = np.empty(C.shape[0])
            for k in range(C.shape[0]):
                starts = rng.choice(S, size=n, p=mu[h])
                sc[k] = _rollout_returns(model, pi, h, starts, C[k, starts], rng).mean()
        j = int(np.argmax(sc))
        chosen[h] = j
        pi[h] = C[j]
        scores[h] = sc
        q = model.R[h].copy()
        if h < H - 1:
            q += (model.next_probs[h] * v_next[model.next_states[h]]).sum(axis=2)
        v_next = q[sidx, pi[h]]
    value = float(policy_values(model, pi[None])[0])
    return PSDPResult(pi=pi, chosen=chosen, scores=tuple(scores), value=value, n_samples=n)


def stochastic_q_values(model, pi):
    """``(Q, V)`` of a stochastic non-stationary policy ``pi`` ``(H, S, A)``: ``(H, S, A)``, ``(H, S)``."""
    H, S, A = model.R.shape
    Q = np.zeros((H, S, A))
    V = np.zeros((H, S))
    for h in range(H - 1, -1, -1):
        Q[h] = model.R[h]
        if h < H - 1:
            Q[h] += (model.next_probs[h] * V[h + 1][model.next_states[h]]).sum(axis=2)
        V[h] = (pi[h] * Q[h]).sum(axis=1)
    return Q, V


def layer_distributions(model, pi, nu):
    """``d[h, s]``: probability of being at ``s`` in layer ``h`` under ``pi`` ``(H, S, A)`` from ``nu``."""
    H, S, A = model.R.shape
    d = np.zeros((H, S))
    d[0] = nu
    for h in range(H - 1):
        w = d[h][:, None, None] * pi[h][:, :, None] * model.next_probs[h]  # (S, A, B)
        np.add.at(d[h + 1], model.next_states[h].reshape(-1), w.reshape(-1))
    return d


def cpi(model, policies, *, nu=None, init: int = 0, eps: float = 1e-3, max_iter: int = 10_000) -> CPIResult:
    """Conservative policy iteration over a class with exact advantages (module docstring).

    Parameters
    ----------
    model : LayeredMDP
        Returns in ``[0, 1]`` (checked: the step size and the guarantee use ``|A| <= 1``).
    policies : array_like, shape (K, H, S)
    nu : array_like, shape (S,), optional
        Start (reset) distribution that measures advantages and values (default ``rho0``).
    init : int
        Index of the starting policy.
    eps : float
        Stop when the largest class advantage is ``<= eps``.
    max_iter : int

    Returns
    -------
    CPIResult
    """
    import warnings

    model = _require_model(model)
    pol = check_policy_table(policies, model)
    H, S, A = model.R.shape
    if not model.returns_in_unit_interval():
        raise ValueError("model's returns must lie in [0, 1] for CPI's step size and guarantee; use model.scaled()")
    nu = model.rho0 if nu is None else as_float_array(nu, "nu", ndim=1)
    if nu.shape != (S,) or nu.min() < 0 or abs(nu.sum() - 1) > 1e-9:
        raise ValueError(f"nu must be a probability vector of shape ({S},)")
    K = pol.shape[0]
    init = check_positive_int(init, "init", minimum=0)
    if init >= K:
        raise ValueError(f"init must index a policy of the class (< {K}), got {init}")
    eps = check_tol(eps, "eps")
    max_iter = check_positive_int(max_iter, "max_iter")
    pi = np.eye(A)[pol[init]]  # (H, S, A)
    c = H * (H - 1)
    hh = np.arange(H)[None, :, None]
    ss = np.arange(S)[None, None, :]
    values, advs, chosen, alphas, guar = [], [], [], [], []
    converged = False
    for it in range(max_iter + 1):
        Q, V = stochastic_q_values(model, pi)
        d = layer_distributions(model, pi, nu)
        values.append(float(nu @ V[0]))
        adv = ((Q[hh, ss, pol] - V[None]) * d[None]).sum(axis=(1, 2))  # (K,)
        k = int(np.argmax(adv))
        advs.append(float(adv[k]))
        if adv[k] <= eps:
            converged = True
            break
        if it == max_iter:
            break
        alpha = 1.0 if c == 0 else min(1.0, adv[k] / (2.0 * c))
        pi = (1 - alpha) * pi + alpha * np.eye(A)[pol[k]]
        chosen.append(k)
        alphas.append(alpha)
        guar.append(alpha * adv[k] - alpha**2 * c)
    if not converged:
        warnings.warn(
            f"cpi: largest advantage {advs[-1]:.3g} > eps = {eps:g} after max_iter = {max_iter} steps",
            ConvergenceWarning,
            stacklevel=2,
        )
    Q, V = stochastic_q_values(model, pi)
    return CPIResult(
        pi=pi,
        value=float(model.rho0 @ V[0]),
        values=np.array(values),
        advantages=np.array(advs),
        chosen=np.array(chosen, dtype=np.int64),
        alphas=np.array(alphas),
        guaranteed=np.array(guar),
        n_iter=len(chosen),
        converged=converged,
    )
