"""The grouped learner: a generative-model planner over groups (the paper's Algorithm 1)."""

from __future__ import annotations

from dataclasses import field

import numpy as np
import scipy.sparse as sp

from mdp._common import result
from mdp._common.deprecation import migrate_signature
from mdp._validation import as_float_array, check_positive_int, check_rng
from mdp._validation import check_mdp as require_mdp
from mdp.abstraction import _grouping_kernels as K
from mdp.abstraction.grouping.base import (
    ActionGrouping,
    _check_nonneg_int,
    _check_reward_noise,
    _require_grouping,
)
from mdp.model import TabularMDP
from mdp.operators import bellman_operator

__all__ = ["GroupedLearnerResult", "grouped_learner"]


@result
class GroupedLearnerResult:
    """Result of :func:`grouped_learner`.

    Attributes
    ----------
    pi_high : ndarray of int64, shape (S,)
        Greedy high-level policy (group per state) w.r.t. ``V_T`` in the empirical lifted model.
    policy : ndarray, shape (S, A)
        The executed primitive policy ``pi(a|s) = mu(a | s, pi_high(s))`` for ``a`` in that group.
    model : TabularMDP
        The empirical lifted model ``(Phat, Rhat)`` with ``G`` actions (sparse iff ``m`` is).
    v : ndarray, shape (S,)
        ``V_T`` after ``T`` sweeps from 0.
    q : ndarray, shape (S, G)
        ``Rhat + gamma Phat V_T`` (``pi_high`` is its row-wise argmax, lowest index on ties).
    n_samples : int
        Generative-model calls, ``N * S * G``.
    N, T : int
    loss_per_state : ndarray, shape (S,)
        ``V*_M - V^{policy}_M`` (exact linear solves) when requested, else NaN.
    loss : float
        ``max`` of ``loss_per_state`` (NaN when not requested).
    """

    pi_high: np.ndarray
    policy: np.ndarray
    model: TabularMDP
    v: np.ndarray
    q: np.ndarray
    n_samples: int
    N: int
    T: int
    loss_per_state: np.ndarray = field(repr=False)
    loss: float = float("nan")


def _mu_cdf(grouping: ActionGrouping, W: np.ndarray):
    """Cumulative CSR of ``mu``: row ``s * G + i`` lists ``A_i`` with the running sums of ``mu[s, .]``."""
    S = W.shape[0]
    G = grouping.n_groups
    order = np.concatenate(grouping.groups)
    starts = np.concatenate(([0], np.cumsum(grouping.sizes)))
    A = order.size
    indptr = (np.arange(S)[:, None] * A + starts[None, :-1]).ravel()
    indptr = np.append(indptr, S * A).astype(np.int64)
    actions = np.tile(order, S).astype(np.int64)
    w = W[:, order]
    cdf = np.empty(S * A)
    for i in range(G):
        lo, hi = starts[i], starts[i + 1]
        block = np.cumsum(w[:, lo:hi], axis=1)
        cdf.reshape(S, A)[:, lo:hi] = block
    return indptr, actions, cdf


def _draw_grouped(m: TabularMDP, grouping: ActionGrouping, N: int, rng: np.random.Generator):
    """``(actions, next_states)``, each ``(S * G, N)``: the two-stage generative draws."""
    from mdp._common.sampling import cumulative_rows

    S, G = m.n_states, grouping.n_groups
    W = grouping.mu_matrix(S)
    u_a = rng.random((S * G, N))
    u_s = rng.random((S * G, N))
    acts = np.empty((S * G, N), dtype=np.int64)
    nxt = np.empty((S * G, N), dtype=np.int64)
    K.sample_grouped(*_mu_cdf(grouping, W), *cumulative_rows(m), G, m.n_actions, u_a, u_s, acts, nxt)
    return acts, nxt


def _empirical_lifted(m: TabularMDP, G: int, acts: np.ndarray, nxt: np.ndarray, u_r=None) -> TabularMDP:
    S = m.n_states
    n = acts.shape[1]
    rows = np.repeat(np.arange(S * G, dtype=np.int64), n)
    cols = nxt.reshape(-1)
    s_of_row = np.repeat(np.arange(S), G)
    r = m.R[s_of_row[:, None], acts]
    if u_r is not None:  # Bernoulli observations with mean R(s, a)
        r = (u_r < r).astype(np.float64)
    Rhat = r.mean(axis=1).reshape(S, G)
    if m.is_sparse:
        Phat = sp.csr_matrix((np.full(rows.size, 1.0 / n), (rows, cols)), shape=(S * G, S))
    else:
        Phat = np.bincount(rows * S + cols, minlength=S * G * S).reshape(S, G, S) / n
    return TabularMDP(Phat, Rhat, m.gamma)


def _vi_sweeps(model: TabularMDP, T: int):
    """``V_T`` after ``T`` Jacobi sweeps from ``V_0 = 0`` and the greedy policy w.r.t. ``V_T`` (first
    maximiser: ties go to the lowest group), with the Bellman kernels of :mod:`mdp.solvers`."""
    v = np.zeros(model.n_states)
    scratch = np.empty(model.n_states)
    pi = np.empty(model.n_states, dtype=np.int64)
    for _ in range(T):
        bellman_operator(model, v, out=scratch, pi_out=pi)
        v, scratch = scratch, v
    bellman_operator(model, v, out=scratch, pi_out=pi)
    return v, pi


def _true_values(m: TabularMDP, policy: np.ndarray) -> np.ndarray:
    from mdp._common.linear import solve_policy_system

    return solve_policy_system(m.policy_matrix(policy), m.gamma, np.einsum("sa,sa->s", policy, m.R))


def _v_star(m: TabularMDP) -> np.ndarray:
    from mdp.solvers.policy_iteration import policy_iteration

    return np.asarray(policy_iteration(m).v)


@migrate_signature(was_positional=("rng",))
def grouped_learner(
    m, grouping, N, T, *, rng, reward_noise: str = "none", true_loss: bool = False, v_star=None
) -> GroupedLearnerResult:
    """Learn over groups with a generative model (``docs/papers/action_grouping.md``, the paper's Algorithm 1).

    For every state ``s`` and group ``i``, draw ``N`` pairs ``a ~ mu(.|s,i)``, ``s' ~ P(.|s,a)``
    (observing ``r = R(s, a)``); build ``Phat_i(.|s)`` (empirical distribution of ``s'``) and
    ``Rhat_i(s)`` (mean ``r``); run ``T`` sweeps ``V <- max_i Rhat_i + gamma Phat_i V`` from
    ``V_0 = 0``; act greedily (ties to the lowest group) and execute through ``mu``. No exploration:
    this is planning with a generative model, not an online algorithm.

    Parameters
    ----------
    m : TabularMDP
        True model (sampled from; used exactly only for the optional loss).
    grouping : ActionGrouping or array_like of int
        Grouping and low-level rule (the same ``mu`` is used to sample and to execute, so AG1 holds).
    N : int
        Samples per state-group pair, ``>= 1`` (``N * S * G`` generative calls in all).
    T : int
        Value-iteration sweeps, ``>= 0`` (``T = 0`` acts greedily on ``Rhat``).
    rng : numpy.random.Generator
        The only randomness: ``(S * G, N)`` uniforms for the actions, then as many for the
        successors (and, with Bernoulli rewards, as many for the rewards).
    reward_noise : {"none", "bernoulli"}, default "none"
        ``"none"``: the sample reports the expected reward ``R(s, a)``. ``"bernoulli"``: it reports
        ``r ~ Bernoulli(R(s, a))`` (requires ``R`` in ``[0, 1]``), the stochastic-reward setting of the
        paper; pass the same value to :func:`grouping_loss_bound`.
    true_loss : bool, default False
        Also compute ``V*_M - V^{pi_hat o mu}_M`` by exact linear solves.
    v_star : array_like, shape (S,), optional
        ``V*_M``, to skip solving ``m`` when the loss is wanted repeatedly (implies ``true_loss``).

    Returns
    -------
    GroupedLearnerResult

    Examples
    --------
    >>> import numpy as np
    >>> from mdp.abstraction import planted_cluster_mdp
    >>> m, clusters = planted_cluster_mdp(np.random.default_rng(0), sigma=0.05)
    >>> res = grouped_learner(m, clusters, 200, 100, rng=np.random.default_rng(1), true_loss=True)
    >>> res.n_samples, res.policy.shape, bool(res.loss < 0.5)
    (8000, (10, 64), True)
    """
    m = require_mdp(m)
    grouping = _require_grouping(grouping, m)
    N = check_positive_int(N, "N")
    T = _check_nonneg_int(T, "T")
    rng = check_rng(rng)
    if not isinstance(true_loss, (bool, np.bool_)):
        raise TypeError(f"true_loss must be a bool, got {type(true_loss).__name__}")
    reward_noise = _check_reward_noise(reward_noise, m)
    S, G = m.n_states, grouping.n_groups
    if v_star is not None:
        v_star = as_float_array(v_star, "v_star", ndim=1)
        if v_star.shape != (S,):
            raise ValueError(f"v_star must have shape ({S},), got {v_star.shape}")
    acts, nxt = _draw_grouped(m, grouping, N, rng)
    u_r = rng.random((S * G, N)) if reward_noise == "bernoulli" else None
    m_hat = _empirical_lifted(m, G, acts, nxt, u_r)
    v, pi_high = _vi_sweeps(m_hat, T)
    from mdp.operators import q_values

    q = q_values(m_hat, v)
    policy = grouping.execute(pi_high, S)
    loss_s = np.full(S, np.nan)
    if true_loss or v_star is not None:
        vs = _v_star(m) if v_star is None else v_star
        loss_s = vs - _true_values(m, policy)
    return GroupedLearnerResult(
        pi_high=pi_high,
        policy=policy,
        model=m_hat,
        v=v,
        q=q,
        n_samples=N * S * G,
        N=N,
        T=T,
        loss_per_state=loss_s,
        loss=float(np.max(loss_s)) if np.all(np.isfinite(loss_s)) else float("nan"),
    )
