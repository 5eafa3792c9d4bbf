"""Tabular advantage-weighted regression and a hierarchical goal-reaching controller.

* :func:`awr`: the tabular maximiser of the AWR objective (HIQL's high and low levels, VSC-RL's
  return term; ``docs/papers/ota.md``, ``docs/papers/vsc_rl.md``)

      max_pi  sum_i w_i log pi(a_i | x_i) + lam sum_a pi_ref(a | x) log pi(a | x),
      w_i = min(exp(beta A_i), max_weight),

  is ``pi(a | x) = (W(x, a) + lam pi_ref(a | x)) / (W(x) + lam)`` per context ``x`` (``W`` = summed
  weights; a Lagrange-multiplier computation), the reference policy where ``x`` has no data. With
  ``lam > 0`` the second term is the cross-entropy to the reference, the imitation surrogate of
  VSC-RL's KL term;
* :func:`subgoal_candidates`: the dataset states ``k`` steps after each occurrence of a state;
* :func:`select_subgoal`: value-based choice among candidates (OTA's evaluation controller and
  HECRL's selection rule with competence filter and goal fallback, ``docs/papers/hecrl.md``);
* :func:`hierarchical_rollout`: high level every ``subgoal_steps`` primitive steps, low level an
  oracle (shortest path to the subgoal, :func:`oracle_low_level`) or greedy on a learned value
  (:func:`greedy_low_level`).
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_real
from mdp.goal.data import GoalDataset
from mdp.goal.model import GoalMDP, check_goals, check_states

__all__ = [
    "AWRPolicy",
    "awr",
    "SubgoalCandidates",
    "subgoal_candidates",
    "select_subgoal",
    "oracle_low_level",
    "greedy_low_level",
    "RolloutResult",
    "hierarchical_rollout",
]


@result
class AWRPolicy:
    """A tabular policy from :func:`awr`, stored sparsely per visited context.

    Attributes
    ----------
    contexts : ndarray of int64, shape (K,)
        Visited contexts (sorted).
    indptr : ndarray of int64, shape (K + 1,)
        Context ``contexts[k]`` owns entries ``indptr[k]:indptr[k + 1]`` of ``actions``/``weights``.
    actions : ndarray of int64, shape (nnz,)
    weights : ndarray, shape (nnz,)
        Summed AWR weights ``W(x, a)`` of the actions seen in each context.
    reference : ndarray or None, shape (n_contexts, A)
        ``pi_ref`` (``None``: uniform).
    lam : float
    n_contexts, n_actions : int
    """

    contexts: np.ndarray
    indptr: np.ndarray
    actions: np.ndarray
    weights: np.ndarray
    reference: np.ndarray | None
    lam: float
    n_contexts: int
    n_actions: int

    def probs(self, x) -> np.ndarray:
        """``pi(. | x)`` for one context index ``x``, shape ``(A,)``."""
        x = int(check_states(x, self.n_contexts, "x"))
        A = self.n_actions
        ref = np.full(A, 1.0 / A) if self.reference is None else self.reference[x]
        k = int(np.searchsorted(self.contexts, x))
        W = np.zeros(A)
        if k < self.contexts.size and self.contexts[k] == x:
            sl = slice(self.indptr[k], self.indptr[k + 1])
            W[self.actions[sl]] = self.weights[sl]
        tot = W.sum() + self.lam
        return (W + self.lam * ref) / tot if tot > 0 else ref.copy()

    def has(self, x) -> bool:
        """Whether context ``x`` has data (otherwise :meth:`probs` is the reference)."""
        k = int(np.searchsorted(self.contexts, int(x)))
        return bool(k < self.contexts.size and self.contexts[k] == int(x))

    def greedy(self, x) -> int:
        """The most probable action in context ``x`` (lowest index on ties)."""
        return int(np.argmax(self.probs(x)))

    def dense(self) -> np.ndarray:
        """``(n_contexts, A)`` table of :meth:`probs` (small problems only)."""
        return np.stack([self.probs(x) for x in range(self.n_contexts)])


def awr(
    contexts,
    actions,
    advantages,
    *,
    n_contexts: int,
    n_actions: int,
    beta: float = 3.0,
    max_weight: float = 100.0,
    reference=None,
    lam: float = 0.0,
) -> AWRPolicy:
    """Tabular advantage-weighted regression (closed form, see the module docstring).

    Parameters
    ----------
    contexts : array_like of int, shape (N,)
        Context index of each sample (e.g. ``s * n_goals + g``).
    actions : array_like of int, shape (N,)
        Action (or subgoal) index in ``[0, n_actions)``.
    advantages : array_like, shape (N,)
    n_contexts, n_actions : int
    beta : float
        Inverse temperature (``exp(beta A)``; VSC-RL writes ``exp(A / beta)``).
    max_weight : float
        Clip of the weights (as in the HIQL/IQL implementations).
    reference : array_like, shape (n_contexts, n_actions), optional
        ``pi_ref`` rows (default uniform).
    lam : float >= 0
        Weight of the cross-entropy to ``pi_ref``.
    """
    C = check_positive_int(n_contexts, "n_contexts")
    A = check_positive_int(n_actions, "n_actions")
    x = check_states(contexts, C, "contexts").ravel()
    a = check_states(actions, A, "actions").ravel()
    adv = as_float_array(advantages, "advantages", ndim=1)
    if not (x.shape == a.shape == adv.shape):
        raise ValueError(
            f"contexts, actions and advantages must have equal lengths, got {x.shape}, {a.shape}, {adv.shape}"
        )
    beta = check_real(beta, "beta", "[0, inf)")
    max_weight = check_real(max_weight, "max_weight", "(0, inf)")
    lam = check_real(lam, "lam", "[0, inf)")
    ref = None
    if reference is not None:
        ref = as_float_array(reference, "reference", ndim=2)
        if ref.shape != (C, A) or (ref < 0).any() or np.abs(ref.sum(axis=1) - 1).max() > 1e-8:
            raise ValueError(f"reference must be ({C}, {A}) probability rows")
    with np.errstate(over="ignore"):
        w = np.minimum(np.exp(beta * adv), max_weight)
    pair, inv = np.unique(x * A + a, return_inverse=True)
    W = np.bincount(inv.ravel(), weights=w, minlength=pair.size)
    ctx, act = pair // A, pair % A
    keys, starts = np.unique(ctx, return_index=True)
    indptr = np.append(starts, pair.size).astype(np.int64)
    return AWRPolicy(keys.astype(np.int64), indptr, act.astype(np.int64), W, ref, lam, C, A)


@result
class SubgoalCandidates:
    """Distinct dataset states ``k`` steps after each occurrence of every state (CSR).

    Attributes
    ----------
    indptr : ndarray of int64, shape (S + 1,)
    states : ndarray of int64
        Candidates of state ``s`` are ``states[indptr[s]:indptr[s + 1]]``.
    k : int
    """

    indptr: np.ndarray
    states: np.ndarray
    k: int

    def of(self, s: int) -> np.ndarray:
        """Candidates of state ``s`` (empty when ``s`` is not followed ``k`` steps in the data)."""
        return self.states[self.indptr[s] : self.indptr[s + 1]]


def subgoal_candidates(data: GoalDataset, k: int) -> SubgoalCandidates:
    """For every state ``s``, the distinct states ``s_{t+k}`` with ``s_t = s`` in the data
    (HIQL's subgoal targets; OTA's evaluation controller picks among them)."""
    if not isinstance(data, GoalDataset):
        raise TypeError(f"data must be a mdp.goal.GoalDataset, got {type(data).__name__}")
    k = check_positive_int(k, "k")
    if k > data.length:
        raise ValueError(f"k must be at most the trajectory length {data.length}, got {k}")
    S = data.n_states
    src = data.states[:, :-k].ravel()
    dst = data.states[:, k:].ravel()
    pair = np.unique(src * S + dst)
    s, c = pair // S, pair % S
    indptr = np.zeros(S + 1, dtype=np.int64)
    np.add.at(indptr, s + 1, 1)
    return SubgoalCandidates(np.cumsum(indptr), c.astype(np.int64), k)


def select_subgoal(v, s: int, g: int, candidates, *, radius: float | None = None, goal_fallback: bool = False) -> int:
    """Value-based subgoal choice: ``argmax_c v[c, g]`` over ``candidates``.

    ``radius``: keep only candidates with ``v[s, c] >= radius`` (HECRL's competence filter, in value
    units); ``goal_fallback``: return ``g`` when ``v[s, g] > max_c v[c, g]`` or no candidate is
    left (HECRL's rule, H1). Without fallback and no candidate, returns ``g``.
    """
    c = np.asarray(candidates, dtype=np.int64)
    if radius is not None and c.size:
        c = c[v[s, c] >= radius]
    if c.size == 0:
        return int(g)
    scores = v[c, g]
    best = int(np.argmax(scores))
    if goal_fallback and v[s, g] > scores[best]:
        return int(g)
    return int(c[best])


def oracle_low_level(m: GoalMDP):
    """A low level that steps along a shortest path to the subgoal: ``argmin_a d(next(s, a), sub)``."""
    d = m.distances()
    ns = m.next_state

    def act(s, sub):
        return int(np.argmin(d[ns[s], sub]))

    return act


def greedy_low_level(m: GoalMDP, v):
    """A low level greedy on a value table: ``argmax_a v[next(s, a), sub]`` (one-step lookahead on
    the known deterministic dynamics; ties to the lowest action)."""
    v = np.asarray(v)
    ns = m.next_state

    def act(s, sub):
        return int(np.argmax(v[ns[s], sub]))

    return act


@result
class RolloutResult:
    """One goal-reaching episode.

    Attributes
    ----------
    success : bool
    steps : int
        Primitive steps taken (up to reaching the goal).
    states : ndarray of int64, shape (steps + 1,)
    subgoals : ndarray of int64
        The subgoal chosen at each high-level decision.
    """

    success: bool
    steps: int
    states: np.ndarray
    subgoals: np.ndarray


def hierarchical_rollout(m: GoalMDP, start, goal, *, high, low, subgoal_steps: int, max_steps: int) -> RolloutResult:
    """Run ``high(s, g) -> subgoal`` every ``subgoal_steps`` steps (or once the subgoal is reached)
    and ``low(s, subgoal) -> action`` in between; success when the agent stands on ``goal`` within
    ``max_steps`` primitive steps (a decision that does not move the agent costs one idle step)."""
    if not isinstance(m, GoalMDP):
        raise TypeError(f"m must be a mdp.goal.GoalMDP, got {type(m).__name__}")
    s = check_states(start, m.n_states, "start")
    g = check_goals(goal, m.n_states, "goal")
    k = check_positive_int(subgoal_steps, "subgoal_steps")
    T = check_positive_int(max_steps, "max_steps")
    path = [int(s)]
    subs = []
    t = 0
    while t < T and s != g:
        sub = int(high(s, g))
        subs.append(sub)
        moved = False
        for _ in range(k):
            if t >= T or s == g or s == sub:
                break
            s = int(m.next_state[s, low(s, sub)])
            path.append(s)
            t += 1
            moved = True
        if not moved and s != g:  # a decision that does not move the agent costs one (idle) step
            path.append(s)
            t += 1
    return RolloutResult(bool(s == g), t, np.array(path, dtype=np.int64), np.array(subs, dtype=np.int64))
