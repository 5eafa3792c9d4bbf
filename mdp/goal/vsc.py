"""VSC-RL's subgoal-conditioned ELBO on enumerable trajectories (``docs/papers/vsc_rl.md``).

With an optimality variable ``O`` and a prior (reference) policy ``pi_ref``, for any distribution
``q`` over trajectories

    log p(O | g) = log sum_tau p_ref(tau) p(O | tau, g)
                 >= E_q[log p(O | tau, g)] - KL(q || p_ref)                       (ELBO)

with equality iff ``q`` is the posterior ``p_ref(tau) p(O | tau, g) / p(O | g)`` (Gibbs'
inequality). VSC-RL's SGC-ELBO is this bound for a subgoal ``sg`` with ``q = p_pi(. | sg)``; on a
deterministic MDP (shared dynamics) the trajectory KL between two policies is the expected sum of
per-step KLs along ``q`` (chain rule). Everything here is exact enumeration over the ``A^H`` action
sequences of a :class:`mdp.goal.GoalMDP` from one start (small ``A^H`` only).
"""

from __future__ import annotations

import itertools

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int
from mdp.goal.model import GoalMDP, check_states

__all__ = [
    "Trajectories",
    "enumerate_trajectories",
    "trajectory_log_probs",
    "elbo",
    "log_evidence",
    "posterior",
    "stepwise_kl",
]

_MAX_TRAJECTORIES = 2_000_000


@result
class Trajectories:
    """Every action sequence of length ``H`` from ``start`` and the states it visits.

    Attributes
    ----------
    actions : ndarray of int64, shape (A^H, H)
    states : ndarray of int64, shape (A^H, H + 1)
    """

    actions: np.ndarray
    states: np.ndarray


def enumerate_trajectories(m: GoalMDP, start: int, horizon: int) -> Trajectories:
    """All ``A^H`` trajectories of ``m`` from ``start`` (deterministic dynamics)."""
    if not isinstance(m, GoalMDP):
        raise TypeError(f"m must be a mdp.goal.GoalMDP, got {type(m).__name__}")
    s0 = check_states(start, m.n_states, "start")
    H = check_positive_int(horizon, "horizon")
    A = m.n_actions
    if A**H > _MAX_TRAJECTORIES:
        raise ValueError(f"A^horizon = {A**H} trajectories is too many to enumerate (max {_MAX_TRAJECTORIES})")
    acts = np.array(list(itertools.product(range(A), repeat=H)), dtype=np.int64).reshape(-1, H)
    st = np.empty((acts.shape[0], H + 1), dtype=np.int64)
    st[:, 0] = s0
    for t in range(H):
        st[:, t + 1] = m.next_state[st[:, t], acts[:, t]]
    return Trajectories(acts, st)


def _policy(pi, m_states, m_actions, H, name):
    p = as_float_array(pi, name)
    if p.ndim == 2:
        p = np.broadcast_to(p, (H,) + p.shape)
    if p.shape != (H, m_states, m_actions):
        raise ValueError(f"{name} must have shape (S, A) or (H, S, A) = ({H}, {m_states}, {m_actions}), got {p.shape}")
    if (p < 0).any() or np.abs(p.sum(axis=-1) - 1).max() > 1e-9:
        raise ValueError(f"{name} rows must be probability distributions")
    return p


def trajectory_log_probs(tr: Trajectories, pi) -> np.ndarray:
    """``log p_pi(tau) = sum_t log pi_t(a_t | s_t)`` for every enumerated trajectory (``-inf`` where a
    step has probability 0). ``pi``: ``(S, A)`` (stationary) or ``(H, S, A)``."""
    H = tr.actions.shape[1]
    p = np.asarray(pi, dtype=np.float64)
    S = p.shape[-2]
    A = p.shape[-1]
    p = _policy(pi, S, A, H, "pi")
    t = np.arange(H)
    with np.errstate(divide="ignore"):
        return np.log(p[t[None, :], tr.states[:, :-1], tr.actions]).sum(axis=1)


def _dist(x, name):
    q = as_float_array(x, name, ndim=1)
    if (q < 0).any() or abs(q.sum() - 1) > 1e-9:
        raise ValueError(f"{name} must be a probability distribution over the trajectories")
    return q


def log_evidence(log_prior, log_lik) -> float:
    """``log p(O | g) = log sum_tau p_ref(tau) p(O | tau, g)`` (log-sum-exp)."""
    z = np.asarray(log_prior, dtype=np.float64) + np.asarray(log_lik, dtype=np.float64)
    mx = z.max()
    return float(mx + np.log(np.exp(z - mx).sum()))


def posterior(log_prior, log_lik) -> np.ndarray:
    """``p_ref(tau) p(O | tau, g) / p(O | g)``."""
    z = np.asarray(log_prior, dtype=np.float64) + np.asarray(log_lik, dtype=np.float64)
    w = np.exp(z - z.max())
    return w / w.sum()


def elbo(q, log_prior, log_lik) -> float:
    """``E_q[log p(O | tau, g)] - KL(q || p_ref)`` over enumerated trajectories (``0 log 0 = 0``;
    ``-inf`` when ``q`` puts mass where ``p_ref`` has none).

    Parameters
    ----------
    q : array_like, shape (T,)
        Distribution over the ``T`` trajectories (e.g. ``exp(trajectory_log_probs(tr, pi))``).
    log_prior : array_like, shape (T,)
        ``log p_ref(tau)``.
    log_lik : array_like, shape (T,)
        ``log p(O | tau, g) <= 0``.
    """
    q = _dist(q, "q")
    lp = np.asarray(log_prior, dtype=np.float64)
    ll = as_float_array(log_lik, "log_lik", ndim=1)
    if not (q.shape == lp.shape == ll.shape):
        raise ValueError("q, log_prior and log_lik must have equal shapes")
    if (ll > 1e-12).any():
        raise ValueError("log_lik must be <= 0 (a log-probability of success)")
    on = q > 0
    if np.any(np.isneginf(lp[on])):
        return -np.inf
    return float((q[on] * (ll[on] - np.log(q[on]) + lp[on])).sum())


def stepwise_kl(tr: Trajectories, pi, pi_ref) -> float:
    """``E_{p_pi}[sum_t KL(pi_t(. | s_t) || pi_ref_t(. | s_t))]`` by enumeration (the chain rule
    gives the trajectory KL ``KL(p_pi || p_ref)`` on shared deterministic dynamics)."""
    H = tr.actions.shape[1]
    p = np.asarray(pi, dtype=np.float64)
    S, A = p.shape[-2], p.shape[-1]
    p = _policy(pi, S, A, H, "pi")
    r = _policy(pi_ref, S, A, H, "pi_ref")
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(r)), 0.0).sum(axis=-1)  # (H, S)
    q = np.exp(trajectory_log_probs(tr, p))
    t = np.arange(H)
    return float((q * kl[t[None, :], tr.states[:, :-1]].sum(axis=1)).sum())
