"""The "reasoning tree" toy of the policy-cliff lab: a deterministic token tree with a verifier reward.

A prompt is answered by ``depth`` tokens, each one of ``n_tokens``; the ``n_tokens ** depth``
traces are the leaves. A verifier pays 1 for the traces that end in the correct answer: some are
*faithful*, some *shortcuts* (``docs/papers/policy_cliff.md``, "CPU-scale lab experiment"; the
concrete traces and format scores here are this project's choice). A second, weak reward (a format
or length preference in ``[0, 1]``) scores every trace; by default it prefers the shortcuts among the
correct traces and one incorrect trace above all (the reward-hacking direction).

As a :class:`mdp.TabularMDP`: states are the prefixes (root, ``n_tokens`` one-token prefixes, ...)
plus one absorbing terminal state (index ``S - 1``); action ``a`` appends token ``a``; the reward is
paid on the last token. ``gamma`` discounts it by ``gamma^(depth - 1)`` on every trace alike, so the
argmax is that of the undiscounted tree.
"""

from __future__ import annotations

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_gamma, check_policy, check_positive_int

__all__ = ["ReasoningTree", "reasoning_tree", "trace_distribution"]

_FAITHFUL = ((0, 0, 0), (0, 0, 1), (0, 1, 2))
_SHORTCUT = ((3, 3, 3), (3, 2, 3), (3, 3, 0))


@result(eq=False)
class ReasoningTree:
    """Result of :func:`reasoning_tree`.

    Attributes
    ----------
    mdp : TabularMDP
        The tree with the verifier reward.
    verifier : ndarray, shape (S, A)
        Verifier reward (1 on the last token of a correct trace).
    weak : ndarray, shape (S, A)
        Weak (format) reward of each trace, on its last token.
    traces : ndarray of int64, shape (T, depth)
        Every trace, in lexicographic order.
    correct, shortcut : ndarray of bool, shape (T,)
        Correct traces; the correct ones that are shortcuts.
    leaf_state, leaf_action : ndarray of int64, shape (T,)
        ``(state, action)`` of each trace's last token.
    decision_states : ndarray of int64, shape (S - 1,)
        The non-terminal states.
    depth, n_tokens : int
    """

    mdp: object
    verifier: np.ndarray
    weak: np.ndarray
    traces: np.ndarray
    correct: np.ndarray
    shortcut: np.ndarray
    leaf_state: np.ndarray
    leaf_action: np.ndarray
    decision_states: np.ndarray
    depth: int
    n_tokens: int


def _default_weak(traces, correct, shortcut):
    """Format scores: incorrect traces ``((3 t0 + 5 t1 + 7 t2) mod 10) / 10 <= 0.9`` with one at 1.0;
    faithful 0.3, 0.4, 0.5...; shortcuts 0.6, 0.7, 0.8..."""
    T, D = traces.shape
    coef = np.array([3, 5, 7, 11, 13, 17, 19][:D] + [1] * max(0, D - 7))
    weak = ((traces @ coef) % 10) / 10.0
    fi = np.flatnonzero(correct & ~shortcut)
    si = np.flatnonzero(shortcut)
    weak[fi] = 0.3 + 0.1 * np.arange(fi.size) / max(1, fi.size // 3)
    weak[si] = 0.6 + 0.1 * np.arange(si.size) / max(1, si.size // 3)
    wrong = np.flatnonzero(~correct)
    if wrong.size:
        weak[wrong[int(np.argmax(traces[wrong].sum(axis=1) == D))]] = 1.0
    return np.clip(weak, 0.0, 1.0)


def reasoning_tree(
    *, depth: int = 3, n_tokens: int = 4, gamma: float = 0.9, faithful=_FAITHFUL, shortcut=_SHORTCUT, weak=None
) -> ReasoningTree:
    """Build the reasoning tree (module docstring).

    Parameters
    ----------
    depth : int, default 3
        Tokens per trace.
    n_tokens : int, default 4
        Tokens per step (the actions).
    gamma : float, default 0.9
    faithful, shortcut : sequence of token tuples
        The correct traces (disjoint).
    weak : array_like, shape (n_tokens ** depth,), optional
        Weak reward of each trace (lexicographic order); default: the format scores of the module docstring.

    Returns
    -------
    ReasoningTree
    """
    from mdp.model import TabularMDP

    D = check_positive_int(depth, "depth")
    K = check_positive_int(n_tokens, "n_tokens", minimum=2)
    gamma = check_gamma(gamma)
    T = K**D
    traces = np.array(np.unravel_index(np.arange(T), (K,) * D)).T.astype(np.int64)
    code = {tuple(t): i for i, t in enumerate(traces.tolist())}
    correct = np.zeros(T, dtype=bool)
    short = np.zeros(T, dtype=bool)
    for group, is_short in ((faithful, False), (shortcut, True)):
        for t in group:
            t = tuple(int(x) for x in t)
            if t not in code:
                raise ValueError(f"trace {t} is not a sequence of {D} tokens in [0, {K})")
            if correct[code[t]]:
                raise ValueError(f"trace {t} is listed twice (faithful and shortcut must be disjoint)")
            correct[code[t]] = True
            short[code[t]] = is_short
    offsets = np.cumsum([0] + [K**d for d in range(D)])  # level d starts at offsets[d]
    S = int(offsets[-1]) + 1
    term = S - 1
    P = np.zeros((S, K, S))
    for d in range(D):
        for p in range(K**d):
            s = offsets[d] + p
            for a in range(K):
                P[s, a, offsets[d + 1] + p * K + a if d + 1 < D else term] = 1.0
    P[term, :, term] = 1.0
    leaf_state = (offsets[D - 1] + traces[:, :-1] @ (K ** np.arange(D - 2, -1, -1))).astype(np.int64)
    leaf_action = traces[:, -1].copy()
    if weak is None:
        wk = _default_weak(traces, correct, short)
    else:
        wk = as_float_array(weak, "weak", ndim=1)
        if wk.shape != (T,):
            raise ValueError(f"weak must have shape ({T},) (one score per trace), got {wk.shape}")
    ver = np.zeros((S, K))
    ver[leaf_state, leaf_action] = correct.astype(float)
    wr = np.zeros((S, K))
    wr[leaf_state, leaf_action] = wk
    return ReasoningTree(
        mdp=TabularMDP(P, ver, gamma),
        verifier=ver,
        weak=wr,
        traces=traces,
        correct=correct,
        shortcut=short,
        leaf_state=leaf_state,
        leaf_action=leaf_action,
        decision_states=np.arange(S - 1, dtype=np.int64),
        depth=D,
        n_tokens=K,
    )


def trace_distribution(tree: ReasoningTree, pi) -> np.ndarray:
    """Probability of every trace under ``pi`` (``(S,)`` actions or ``(S, A)`` rows), shape ``(T,)``."""
    if not isinstance(tree, ReasoningTree):
        raise TypeError(f"tree must be a ReasoningTree, got {type(tree).__name__}")
    S, K, D = tree.mdp.n_states, tree.n_tokens, tree.depth
    pi = check_policy(pi, S, K)
    if pi.ndim == 1:
        full = np.zeros((S, K))
        full[np.arange(S), pi] = 1.0
        pi = full
    offsets = np.cumsum([0] + [K**d for d in range(D)])
    prob = np.ones(tree.traces.shape[0])
    for d in range(D):
        prefix = tree.traces[:, :d] @ (K ** np.arange(d - 1, -1, -1)) if d else np.zeros(len(prob), dtype=np.int64)
        prob *= pi[offsets[d] + prefix, tree.traces[:, d]]
    return prob
