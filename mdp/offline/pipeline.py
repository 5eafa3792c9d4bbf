"""The tabular offline model-based loop of the edge-of-reach lab (``docs/papers/edge_of_reach.md``).

Each round (Sims et al. 2024, arXiv 2402.12527, the RAVL loop of the official code reduced to a
table): roll out ``k`` steps of the current epsilon-greedy policy (greedy on ``min_j Q_j``) from
dataset states in the model, keep those rollouts and the dataset in the buffer, run ``n_updates``
synchronous critic sweeps (:func:`mdp.offline.buffer_q_iteration`), and record

* the buffer's edge set ``|E|`` (:func:`mdp.offline.buffer_sets`) and the fraction of rollout steps
  that end in it;
* the overestimation ``max_{s in U} [min_j Q_j(s, pi(s)) - V^pi_true(s)]`` of the greedy policy
  ``pi`` (exact policy evaluation in the true MDP);
* the true return ``V^pi_true(start)``.

With ``k = None`` the rollouts run until nothing new is reached (``max_len`` steps, default ``S``).
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_mdp, check_positive_int, check_real, check_rng

__all__ = ["OfflineRunResult", "offline_model_based", "epsilon_greedy"]


@result
class OfflineRunResult:
    """Result of :func:`offline_model_based`.

    Attributes
    ----------
    edge_size : ndarray of int64, shape (n_rounds,)
        ``|E|`` of each round's buffer.
    edge_hits : ndarray, shape (n_rounds,)
        Fraction of that round's rollout transitions whose next state is in ``E``.
    overestimation : ndarray, shape (n_rounds,)
        ``max_{s in U} [Q_min(s, pi(s)) - V^pi_true(s)]`` after the round's updates.
    true_return : ndarray, shape (n_rounds,)
        ``V^pi_true(start)`` of the greedy policy after the round.
    member_gap : ndarray, shape (n_rounds,)
        ``max_{(s, a) updated} (max_j - min_j) Q_j(s, a)`` (0 for one critic).
    q : ndarray, shape (N, S, A)
        Final critics.
    pi : ndarray of int64, shape (S,)
        Final greedy policy.
    edge : ndarray of bool, shape (S,)
        ``E`` of the last round's buffer.
    """

    edge_size: np.ndarray
    edge_hits: np.ndarray
    overestimation: np.ndarray
    true_return: np.ndarray
    member_gap: np.ndarray
    q: np.ndarray
    pi: np.ndarray
    edge: np.ndarray


def epsilon_greedy(q_min, epsilon: float) -> np.ndarray:
    """``(S, A)`` policy: ``1 - epsilon`` on ``argmax_a q_min(s, a)`` (first index on ties) plus ``epsilon`` uniform."""
    q_min = as_float_array(q_min, "q_min", ndim=2)
    epsilon = check_real(epsilon, "epsilon", "[0, 1]")
    S, A = q_min.shape
    pi = np.full((S, A), epsilon / A)
    pi[np.arange(S), np.argmax(q_min, axis=1)] += 1.0 - epsilon
    return pi


def offline_model_based(
    m,
    data,
    q0,
    *,
    k,
    rng,
    n_rounds: int = 50,
    n_updates: int = 200,
    n_rollouts: int = 200,
    epsilon: float = 0.1,
    penalty=None,
    model=None,
    start: int = 0,
    lr: float = 1.0,
    max_len: int | None = None,
) -> OfflineRunResult:
    """Run the offline model-based loop (module docstring).

    Parameters
    ----------
    m : TabularMDP
        The true MDP (used for evaluation, and for the rollouts unless ``model`` is given).
    data : Transitions
        The offline dataset (non-empty); ``D_0`` is its set of states.
    q0 : array_like, shape (N, S, A) or (S, A)
        Initial critics.
    k : int or None
        Rollout length ``>= 1``, or ``None`` for full rollouts.
    rng : numpy.random.Generator
    n_rounds, n_updates, n_rollouts : int
    epsilon : float in [0, 1]
        Exploration of the rollout policy.
    penalty : array_like (S, A), optional
        MOPO-style reward penalty (:func:`mdp.offline.mopo_penalty`).
    model : TabularMDP, optional
        The model rolled out in (default ``m``: the true dynamics).
    start : int
        State whose true return is reported.
    lr : float in (0, 1]
    max_len : int, optional
        Length of a "full" rollout (default ``S``).

    Returns
    -------
    OfflineRunResult
    """
    import mdp
    from mdp.offline.critics import _check_inputs, buffer_q_iteration
    from mdp.offline.data import _check_k, concatenate, model_rollouts
    from mdp.offline.reach import buffer_sets

    m = check_mdp(m)
    rng = check_rng(rng)
    q, _, penalty, _ = _check_inputs(data, q0, m.gamma, penalty, None)
    model = m if model is None else check_mdp(model, "model", discounted=False)
    S = m.n_states
    L = (S if max_len is None else check_positive_int(max_len, "max_len")) if k is None else _check_k(k)
    R = check_positive_int(n_rounds, "n_rounds")
    D0 = np.unique(np.concatenate([data.states, data.next_states]))
    out = {f: np.empty(R) for f in ("edge_hits", "overestimation", "true_return", "member_gap")}
    edge_size = np.empty(R, dtype=np.int64)
    for i in range(R):
        pol = epsilon_greedy(q.min(axis=0), epsilon)
        roll = model_rollouts(model, pol, D0, L, n_rollouts=n_rollouts, rng=rng)
        buf = concatenate(data, roll)
        sets = buffer_sets(buf)
        res = buffer_q_iteration(buf, q, m.gamma, n_sweeps=n_updates, lr=lr, penalty=penalty)
        q = np.array(res.q)
        pi = res.pi
        v_true = np.array(mdp.policy_evaluation(m, pi).v)
        qpi = res.q_min[np.arange(S), pi]
        edge_size[i] = int(sets.edge.sum())
        out["edge_hits"][i] = float(sets.edge[roll.next_states].mean())
        out["overestimation"][i] = float((qpi - v_true)[sets.used].max())
        out["true_return"][i] = float(v_true[int(start)])
        upd = res.updated
        out["member_gap"][i] = float((q.max(axis=0) - q.min(axis=0))[upd].max()) if upd.any() else 0.0
    return OfflineRunResult(edge_size=edge_size, q=q, pi=pi, edge=np.array(sets.edge), **out)
