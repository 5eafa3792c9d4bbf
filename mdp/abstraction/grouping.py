"""Action grouping: learn and plan over groups of similar actions (Li, Ju & Shroff, ICLR 2024).

Notation and propositions follow ``docs/papers/action_grouping.md`` (AG1-AG6). A grouping
``g : A -> {0, ..., G-1}`` partitions the ``A`` primitive actions into ``G`` groups ``A_i``; a
low-level rule ``mu(a | s, i)`` (uniform within the group by default) picks the primitive action
once the high level has chosen a group. The *lifted* MDP ``M_g`` has the ``G`` groups as actions::

    Pbar_i(. | s) = sum_{a in A_i} mu(a|s,i) P(.|s,a)        Rbar_i(s) = sum_{a in A_i} mu(a|s,i) R(s,a)
    eps_P(g) = max_{s, i, a in A_i} || P(.|s,a) - Pbar_i(.|s) ||_1
    eps_R(g) = max_{s, i, a in A_i} | R(s,a) - Rbar_i(s) |

and executing a high-level policy ``pi_h`` through ``mu`` in the true MDP has exactly its lifted
value (AG1). The learner (:func:`grouped_learner`, the paper's Algorithm 1) draws ``N`` samples
per state-group pair from the generative model, builds the empirical lifted model, runs ``T``
value-iteration sweeps from ``V_0 = 0`` and acts greedily. Its loss is bounded (AG5) by

    B(g) + 2 (e_R + gamma e_P span(R) / (2 (1 - gamma))) / (1 - gamma) + 2 gamma^{T+1} max|R| / (1 - gamma)^2

(approximation + estimation + computation; :func:`grouping_loss_bound`). :func:`select_grouping`
picks the number of groups for a sample budget by minimising that bound over a nested family of
agglomerative clusterings of action signatures (the note's selection procedure).

Constants. The note states its bounds for rewards in ``[0, 1]``. Here they are written for any
bounded rewards: the transition terms use ``span(R) = max R - min R`` (every value function of the
true, lifted or empirical lifted model has span at most ``span(R) / (1 - gamma)``, because lifted
rewards are convex combinations of ``R(s, .)``), the reward concentration term is Hoeffding for
values in a range of width ``span(R)``, and the computation term uses ``max |R|`` (``V_0 = 0``).
For rewards in ``[0, 1]`` every term is at most the note's. The derivations are in the docstrings
of :func:`grouping_loss_bound`; they are derived here, not copied from the paper, whose exact
constants were not verified (see the note).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import field

import numpy as np
import scipy.sparse as sp

from mdp._validation import as_float_array, check_positive_int, check_rng
from mdp._validation import check_mdp as require_mdp
from mdp.abstraction import _grouping_kernels as K
from mdp.model import TabularMDP
from mdp._common import frozen, result
from mdp.operators import bellman_operator

__all__ = [
    "ActionGrouping",
    "GroupingErrors",
    "GroupingLossBound",
    "GroupedLearnerResult",
    "GroupingSelection",
    "lifted_model",
    "grouping_errors",
    "grouping_loss_bound",
    "grouped_learner",
    "action_signatures",
    "nested_groupings",
    "select_grouping",
    "planted_cluster_mdp",
]

_MU_ATOL = 1e-8


# ============================================================================ the grouping
class ActionGrouping:
    """A partition of the actions into groups and the within-group rule ``mu``.

    Parameters
    ----------
    labels : array_like of int, shape (A,)
        ``labels[a] = g(a)``, the group of action ``a``, in ``0 .. G-1``. Every group must be
        non-empty.
    mu : array_like, shape (A,) or (S, A), optional
        Low-level rule ``mu[s, a] = mu(a | s, g(a))`` (state-independent when ``(A,)``). Entries are
        non-negative and, at every state, sum to 1 over each group. Default: uniform within each
        group, ``1 / |A_{g(a)}|``.
    n_groups : int, optional
        ``G``; default ``max(labels) + 1``. Given explicitly, every group ``0 .. G-1`` must still
        be used.

    Raises
    ------
    TypeError
        If ``labels`` does not hold integers or ``mu`` is not numeric.
    ValueError
        On an empty or non-1-D ``labels``, a label outside ``[0, G)``, an empty group, or a ``mu``
        of the wrong shape, with negative entries, or whose within-group sums differ from 1.

    Examples
    --------
    >>> g = ActionGrouping([0, 0, 1, 1, 1])
    >>> g.n_groups, g.sizes.tolist(), g.members(1).tolist()
    (2, [2, 3], [2, 3, 4])
    >>> g.mu_matrix(1).round(3).tolist()
    [[0.5, 0.5, 0.333, 0.333, 0.333]]
    """

    __slots__ = ("_labels", "_G", "_mu", "_sizes", "_members")

    def __init__(self, labels, mu=None, *, n_groups=None):
        if isinstance(labels, (str, bytes)) or labels is None:
            raise TypeError(f"labels must be an array of integer group indices, got {type(labels).__name__}")
        lab = np.asarray(labels)
        if lab.ndim != 1 or lab.size == 0:
            raise ValueError(f"labels must be a non-empty 1-D array (one group per action), got shape {lab.shape}")
        if lab.dtype == bool or not np.issubdtype(lab.dtype, np.integer):
            if (np.issubdtype(lab.dtype, np.floating) and np.all(np.isfinite(lab))
                    and np.all(lab == np.round(lab))):
                lab = lab.astype(np.int64)
            else:
                raise TypeError(f"labels must hold integer group indices, got dtype {lab.dtype}")
        lab = np.ascontiguousarray(lab, dtype=np.int64)
        if n_groups is None:
            G = int(lab.max()) + 1 if lab.min() >= 0 else 0
        else:
            G = check_positive_int(n_groups, "n_groups")
        bad = (lab < 0) | (lab >= max(G, 1))
        if G == 0 or np.any(bad):
            a = int(np.argmax(bad)) if np.any(bad) else int(np.argmin(lab))
            raise ValueError(f"labels[{a}] = {lab[a]} is not a group index in [0, {max(G, 1)}); "
                             "labels must be integers 0 .. G-1")
        sizes = np.bincount(lab, minlength=G)
        if np.any(sizes == 0):
            empty = np.flatnonzero(sizes == 0).tolist()
            raise ValueError(f"group(s) {empty} of {G} are empty; labels must use every group index 0 .. G-1 "
                             "(relabel, or pass a smaller n_groups)")
        self._labels = frozen(lab)
        self._G = G
        self._sizes = frozen(sizes.astype(np.int64))
        order = np.argsort(lab, kind="stable")
        self._members = tuple(frozen(x) for x in np.split(order, np.cumsum(sizes)[:-1]))
        self._mu = None if mu is None else frozen(self._check_mu(mu))

    def _check_mu(self, mu) -> np.ndarray:
        arr = as_float_array(mu, "mu")
        A = self.n_actions
        if arr.ndim not in (1, 2) or arr.shape[-1] != A:
            raise ValueError(f"mu must have shape ({A},) or (S, {A}) to match the {A} labels, got {arr.shape}")
        if np.any(arr < 0):
            idx = tuple(int(x) for x in np.argwhere(arr < 0)[0])
            raise ValueError(f"mu must be non-negative; mu[{', '.join(map(str, idx))}] = {arr[idx]}")
        sums = self._group_sums(np.atleast_2d(arr))
        dev = np.abs(sums - 1.0)
        if np.any(dev > _MU_ATOL):
            s, i = np.unravel_index(int(np.argmax(dev)), dev.shape)
            where = f"state {s}, group {i}" if arr.ndim == 2 else f"group {i}"
            raise ValueError(f"mu must sum to 1 within every group (mu(. | s, i) is a distribution over A_i); "
                             f"at {where} it sums to {sums[s, i]:.12g}")
        return arr.copy()

    def _group_sums(self, w: np.ndarray) -> np.ndarray:
        """``(S, G)`` sums of ``w[s, a]`` over each group."""
        out = np.zeros((w.shape[0], self._G))
        np.add.at(out.T, self._labels, w.T)
        return out

    # ------------------------------------------------------------------ accessors
    @property
    def labels(self) -> np.ndarray:
        """``g(a)`` for every action, ``(A,)`` int64 (read-only)."""
        return self._labels

    @property
    def n_groups(self) -> int:
        return self._G

    @property
    def n_actions(self) -> int:
        return int(self._labels.size)

    @property
    def sizes(self) -> np.ndarray:
        """``|A_i|`` for every group, ``(G,)``."""
        return self._sizes

    @property
    def mu(self):
        """The rule as given (``(A,)`` or ``(S, A)``), or ``None`` for uniform within groups."""
        return self._mu

    @property
    def is_state_dependent(self) -> bool:
        return self._mu is not None and self._mu.ndim == 2

    def members(self, i: int) -> np.ndarray:
        """Actions of group ``i`` in increasing order."""
        if isinstance(i, bool) or not isinstance(i, (numbers.Integral, np.integer)) or not 0 <= int(i) < self._G:
            raise ValueError(f"group index must be an integer in [0, {self._G}), got {i!r}")
        return self._members[int(i)]

    @property
    def groups(self) -> tuple:
        """Members of every group (tuple of int64 arrays)."""
        return self._members

    def mu_matrix(self, n_states: int) -> np.ndarray:
        """``mu[s, a] = mu(a | s, g(a))`` as an ``(S, A)`` float64 array."""
        S = check_positive_int(n_states, "n_states")
        if self._mu is None:
            row = 1.0 / self._sizes[self._labels]
            return np.broadcast_to(row, (S, self.n_actions)).copy()
        if self._mu.ndim == 1:
            return np.broadcast_to(self._mu, (S, self.n_actions)).copy()
        if self._mu.shape[0] != S:
            raise ValueError(f"mu has {self._mu.shape[0]} states but the model has {S}; "
                             f"a state-dependent mu must have shape ({S}, {self.n_actions})")
        return self._mu.copy()

    def check_model(self, m: TabularMDP, name: str = "grouping") -> None:
        """Raise ``ValueError`` unless the grouping has ``m``'s number of actions (and states, for ``mu``)."""
        if self.n_actions != m.n_actions:
            raise ValueError(f"{name} labels {self.n_actions} actions but the model has {m.n_actions}; "
                             f"labels must have length A = {m.n_actions}")
        if self.is_state_dependent and self._mu.shape[0] != m.n_states:
            raise ValueError(f"{name}.mu has shape {self._mu.shape} but the model has {m.n_states} states; "
                             f"mu must have shape ({m.n_actions},) or ({m.n_states}, {m.n_actions})")

    def execute(self, pi_high, n_states: int | None = None) -> np.ndarray:
        """The primitive policy ``pi(a | s) = mu(a | s, i)`` for ``a in A_i`` chosen by ``pi_high``.

        Parameters
        ----------
        pi_high : array_like
            High-level policy: ``(S,)`` group indices or ``(S, G)`` group probabilities.
        n_states : int, optional
            ``S`` (inferred from ``pi_high``).

        Returns
        -------
        ndarray, shape (S, A)
            ``pi(a | s) = sum_i pi_high(i | s) mu(a | s, i) [g(a) = i]``.
        """
        from mdp._validation import check_policy

        arr = np.asarray(pi_high)
        S = int(arr.shape[0]) if n_states is None and arr.ndim >= 1 else n_states
        if S is None or S < 1:
            raise ValueError(f"pi_high must have shape (S,) or (S, {self._G}), got {arr.shape}")
        pi = check_policy(pi_high, S, self._G, name="pi_high")
        W = self.mu_matrix(S)
        if pi.ndim == 1:
            return np.where(self._labels[None, :] == pi[:, None], W, 0.0)
        return W * pi[:, self._labels]

    # ------------------------------------------------------------------ structure
    def refines(self, other: "ActionGrouping") -> bool:
        """Whether every group of ``self`` lies inside one group of ``other`` (``self`` is finer)."""
        if not isinstance(other, ActionGrouping):
            raise TypeError(f"other must be an ActionGrouping, got {type(other).__name__}")
        if other.n_actions != self.n_actions:
            return False
        return all(np.unique(other.labels[mem]).size == 1 for mem in self._members)

    @classmethod
    def from_groups(cls, groups, n_actions: int | None = None, mu=None) -> "ActionGrouping":
        """Build from a list of action lists (group ``i`` is ``groups[i]``); every action exactly once."""
        groups = [np.asarray(g, dtype=np.int64).ravel() for g in groups]
        allacts = np.concatenate(groups) if groups else np.empty(0, dtype=np.int64)
        A = int(allacts.max()) + 1 if n_actions is None and allacts.size else (n_actions or 0)
        if allacts.size == 0 or np.any(allacts < 0) or np.any(allacts >= A):
            raise ValueError(f"groups must list action indices in [0, {A})")
        counts = np.bincount(allacts, minlength=A)
        if np.any(counts != 1):
            a = int(np.argmax(counts != 1))
            raise ValueError(f"every action must appear in exactly one group; action {a} appears {counts[a]} times")
        labels = np.empty(A, dtype=np.int64)
        for i, g in enumerate(groups):
            labels[g] = i
        return cls(labels, mu, n_groups=len(groups))

    @classmethod
    def singletons(cls, n_actions: int) -> "ActionGrouping":
        """The trivial grouping ``g(a) = a`` (no grouping)."""
        return cls(np.arange(check_positive_int(n_actions, "n_actions")))

    @classmethod
    def single(cls, n_actions: int) -> "ActionGrouping":
        """All actions in one group."""
        return cls(np.zeros(check_positive_int(n_actions, "n_actions"), dtype=np.int64))

    def canonical(self) -> "ActionGrouping":
        """The same partition with groups numbered by their smallest action (``mu`` kept)."""
        first = np.array([mem[0] for mem in self._members])
        rank = np.empty(self._G, dtype=np.int64)
        rank[np.argsort(first)] = np.arange(self._G)
        return ActionGrouping(rank[self._labels], self._mu, n_groups=self._G)

    def __eq__(self, other):
        if not isinstance(other, ActionGrouping):
            return NotImplemented
        same_mu = (self._mu is None and other._mu is None) or (
            self._mu is not None and other._mu is not None and self._mu.shape == other._mu.shape
            and np.array_equal(self._mu, other._mu))
        return self._G == other._G and np.array_equal(self._labels, other._labels) and same_mu

    __hash__ = None

    def __repr__(self) -> str:
        rule = "uniform" if self._mu is None else ("state-dependent mu" if self._mu.ndim == 2 else "mu")
        return f"ActionGrouping(A={self.n_actions}, G={self._G}, sizes={self._sizes.tolist()}, {rule})"


def _require_grouping(grouping, m: TabularMDP, name: str = "grouping") -> ActionGrouping:
    if not isinstance(grouping, ActionGrouping):
        if isinstance(grouping, (list, tuple, np.ndarray)):
            grouping = ActionGrouping(grouping)
        else:
            raise TypeError(f"{name} must be an ActionGrouping or an array of labels, got {type(grouping).__name__}")
    grouping.check_model(m, name)
    return grouping


def _check_delta(delta) -> float:
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real):
        raise TypeError(f"delta must be a real number, got {type(delta).__name__}")
    d = float(delta)
    if not (0.0 < d < 1.0):
        raise ValueError(f"delta must lie in the open interval (0, 1), got {d}")
    return d


_REWARD_NOISE = ("none", "bernoulli")


def _check_reward_noise(reward_noise, m: TabularMDP) -> str:
    if reward_noise not in _REWARD_NOISE:
        raise ValueError(f"reward_noise must be one of {_REWARD_NOISE}, got {reward_noise!r}")
    if reward_noise == "bernoulli" and (m.R.min() < 0 or m.R.max() > 1):
        raise ValueError(f"reward_noise='bernoulli' needs rewards in [0, 1] (they are Bernoulli means); "
                         f"R spans [{m.R.min():g}, {m.R.max():g}]")
    return reward_noise


def _check_nonneg_int(x, name: str) -> int:
    return check_positive_int(x, name, minimum=0)


# ============================================================================ lifted model and errors
def _weights_csr(grouping: ActionGrouping, W: np.ndarray) -> sp.csr_matrix:
    """``(S * G, S * A)`` matrix with ``[s * G + g(a), s * A + a] = mu[s, a]``."""
    S, A = W.shape
    G = grouping.n_groups
    s_idx = np.repeat(np.arange(S), A)
    a_idx = np.tile(np.arange(A), S)
    rows = s_idx * G + grouping.labels[a_idx]
    cols = s_idx * A + a_idx
    return sp.csr_matrix((W.ravel(), (rows, cols)), shape=(S * G, S * A))


def _lifted_arrays(m: TabularMDP, grouping: ActionGrouping):
    """``(Pbar, Rbar, W)``: ``Pbar`` dense ``(S, G, S)`` or CSR ``(S * G, S)``, ``Rbar`` ``(S, G)``."""
    S = m.n_states
    W = grouping.mu_matrix(S)
    Rbar = grouping._group_sums(W * m.R)
    if m.is_sparse:
        Pbar = (_weights_csr(grouping, W) @ m.P.astype(np.float64)).tocsr()
    else:
        order = np.concatenate(grouping.groups)
        starts = np.concatenate(([0], np.cumsum(grouping.sizes)[:-1]))
        Pw = (W[:, :, None] * np.asarray(m.P, dtype=np.float64))[:, order]
        Pbar = np.add.reduceat(Pw, starts, axis=1)
    return Pbar, Rbar, W


def lifted_model(m, grouping) -> TabularMDP:
    """The lifted MDP ``M_g``: the ``G`` groups are its actions (``docs/papers/action_grouping.md``).

    Parameters
    ----------
    m : TabularMDP
        ``P`` ``(S, A, S)`` dense or ``(S * A, S)`` CSR, ``R`` ``(S, A)``.
    grouping : ActionGrouping or array_like of int
        ``g`` with ``A`` labels and the rule ``mu``.

    Returns
    -------
    TabularMDP
        ``Pbar[s, i, :] = sum_{a in A_i} mu(a|s,i) P[s, a, :]`` (``(S, G, S)``, or CSR
        ``(S * G, S)`` when ``m`` is sparse) and ``Rbar[s, i] = sum_{a in A_i} mu(a|s,i) R[s, a]``,
        same ``gamma``. Executing a lifted policy through ``mu`` in ``m`` has exactly its lifted value
        (AG1).

    Examples
    --------
    >>> import numpy as np, mdp
    >>> m = mdp.generators.random_mdp(3, 4, rng=np.random.default_rng(0))
    >>> lifted_model(m, ActionGrouping([0, 1, 1, 0]))
    TabularMDP(S=3, A=2, gamma=0.9, dense, dtype=float64)
    """
    m = require_mdp(m, discounted=False)
    grouping = _require_grouping(grouping, m)
    Pbar, Rbar, _ = _lifted_arrays(m, grouping)
    return TabularMDP(Pbar, Rbar, m.gamma)


@result
class GroupingErrors:
    """``eps_P`` and ``eps_R`` of a grouping, with the per-action deviations they maximise.

    Unpacks as ``eps_P, eps_R = grouping_errors(m, g)``.

    Attributes
    ----------
    eps_P : float
        ``max_{s, a} ||P(.|s,a) - Pbar_{g(a)}(.|s)||_1`` (in ``[0, 2]``).
    eps_R : float
        ``max_{s, a} |R(s,a) - Rbar_{g(a)}(s)|``.
    deviation_P, deviation_R : ndarray, shape (S, A)
        The per-pair deviations.
    """

    eps_P: float
    eps_R: float
    deviation_P: np.ndarray = field(repr=False)
    deviation_R: np.ndarray = field(repr=False)

    def __iter__(self):
        yield self.eps_P
        yield self.eps_R


def grouping_errors(m, grouping) -> GroupingErrors:
    """Transition and reward errors ``eps_P(g)``, ``eps_R(g)`` of a grouping (``docs/papers/action_grouping.md``).

    ``eps_P = max_{s, i, a in A_i} ||P(.|s,a) - Pbar_i(.|s)||_1`` and
    ``eps_R = max_{s, i, a in A_i} |R(s,a) - Rbar_i(s)|``, with ``Pbar, Rbar`` the ``mu``-averages
    of :func:`lifted_model`. The maximum runs over *all* actions of a group, including those ``mu``
    never picks (the approximation bound AG2 needs them).

    Parameters
    ----------
    m : TabularMDP
    grouping : ActionGrouping or array_like of int

    Returns
    -------
    GroupingErrors
        Unpacks as ``(eps_P, eps_R)``.

    Examples
    --------
    >>> import numpy as np, mdp
    >>> P = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [0.0, 1.0]]])
    >>> R = np.array([[1.0, 0.0], [0.5, 0.5]])
    >>> eps_P, eps_R = grouping_errors(mdp.TabularMDP(P, R, 0.9), [0, 0])
    >>> eps_P, eps_R
    (0.5, 0.5)
    """
    m = require_mdp(m, discounted=False)
    grouping = _require_grouping(grouping, m)
    Pbar, Rbar, _ = _lifted_arrays(m, grouping)
    S, A, G = m.n_states, m.n_actions, grouping.n_groups
    lab = grouping.labels
    dev_R = np.abs(m.R - Rbar[:, lab])
    if m.is_sparse:
        s_idx = np.repeat(np.arange(S), A)
        rows = np.arange(S * A)
        cols = s_idx * G + lab[np.tile(np.arange(A), S)]
        E = sp.csr_matrix((np.ones(S * A), (rows, cols)), shape=(S * A, S * G))
        D = m.P.astype(np.float64) - E @ Pbar
        dev_P = np.asarray(abs(D).sum(axis=1)).reshape(S, A)
    else:
        dev_P = np.abs(np.asarray(m.P, dtype=np.float64) - Pbar[:, lab]).sum(axis=2)
    return GroupingErrors(eps_P=float(dev_P.max()), eps_R=float(dev_R.max()), deviation_P=dev_P, deviation_R=dev_R)


# ============================================================================ the loss bound
@result
class GroupingLossBound:
    """The three-term loss bound of AG5 and its ingredients.

    Attributes
    ----------
    approximation : float
        ``B(g) = (eps_R + gamma eps_P span / (2 (1 - gamma))) / (1 - gamma)`` (AG2).
    estimation : float
        ``2 (e_R + gamma e_P span / (2 (1 - gamma))) / (1 - gamma)`` (AG3), holding w.p. ``1 - delta``.
    computation : float
        ``2 gamma^{T+1} max|R| / (1 - gamma)^2`` (AG4).
    total : float
        The sum: with probability ``>= 1 - delta``, ``||V*_M - V^{pi_hat o mu}_M||_inf <= total`` (AG5).
    eps_P, eps_R : float
        Grouping errors used (exact or plug-in).
    e_P, e_R : float
        Weissman L1 radius ``sqrt(2 (S ln 2 + ln(2 S G / delta)) / N)`` and Hoeffding radius
        ``w sqrt(ln(4 S G / delta) / (2 N))`` with ``w`` the width of the observed rewards
        (``span``, or 1 for Bernoulli observations).
    n_groups, N, T : int
    delta, gamma, reward_span, reward_max : float
        ``span = max R - min R``; ``reward_max`` bounds ``max |Rhat|`` (``max |R|``, or 1 for
        Bernoulli observations), the reward scale of the computation term.
    trivial : float
        ``span / (1 - gamma)``: no policy loses more (the bound may exceed it at small ``N``).
    """

    approximation: float
    estimation: float
    computation: float
    total: float
    eps_P: float
    eps_R: float
    e_P: float
    e_R: float
    n_groups: int
    N: int
    T: int
    delta: float
    gamma: float
    reward_span: float
    reward_max: float
    trivial: float


def grouping_loss_bound(m, grouping, N, T, *, delta: float = 0.05, eps_P=None, eps_R=None,
                        reward_noise: str = "none") -> GroupingLossBound:
    """The AG5 bound on the loss of :func:`grouped_learner`: approximation + estimation + computation.

    With probability at least ``1 - delta`` over the samples,

        V*_M - V^{pi_hat o mu}_M <= B(g) + 2 (e_R + gamma e_P c) / (1 - gamma) + 2 gamma^{T+1} r / (1 - gamma)^2

    componentwise, with ``c = span / (2 (1 - gamma))``, ``span = max R - min R`` and ``r = max |R|``
    (``docs/papers/action_grouping.md`` AG5; same structure as Li, Ju & Shroff 2024, Thm 1; constants derived
    here). Derivation: write ``M_hat`` for the empirical lifted model, ``pi_g*``, ``pi_inf`` for the
    optima of ``M_g``, ``M_hat``, and ``d(pi) = ||V^pi_{M_g} - V^pi_{M_hat}||_inf``. Then

    * ``V*_M - V*_{M_g} <= B(g)``: ``V*_{M_g}`` is the optimal value of ``M~`` with
      ``P~(.|s,a) = Pbar_{g(a)}(.|s)``, ``R~(s,a) = Rbar_{g(a)}(s)``, so
      ``V*_M - V*_{M_g} <= V^{pi*}_M - V^{pi*}_{M~}``, bounded by the simulation lemma (foundations
      F9) with ``|(p - q) V| <= ||p - q||_1 span(V) / 2`` and ``span(V) <= span / (1 - gamma)``;
    * ``V*_{M_g} - V^{pi_hat}_{M_g} <= 2 sup_pi d(pi) + ||V*_{M_hat} - V^{pi_hat}_{M_hat}||`` (F10),
      where ``sup_pi d(pi) <= (e_R + gamma e_P c) / (1 - gamma)`` (F8 written with ``V^pi_{M_g}``,
      whose span is at most ``span / (1 - gamma)``, so this holds for any observed rewards) on the event
      ``max_{s,i} ||Phat - Pbar||_1 <= e_P`` and ``max |Rhat - Rbar| <= e_R``, which has probability
      ``>= 1 - delta``: Weissman et al. (2003) gives ``P(||p_hat - p||_1 >= e) <= (2^S - 2) exp(-N e^2 / 2)``
      and Hoeffding ``P(|r_hat - r| >= t) <= 2 exp(-2 N t^2 / span^2)``, each set to
      ``delta / (2 S G)`` and united over the ``2 S G`` events;
    * ``V*_{M_hat} - V^{pi_hat}_{M_hat} <= 2 gamma ||V_T - V*_{M_hat}|| / (1 - gamma)`` (F4) and
      ``||V_T - V*_{M_hat}|| <= gamma^T ||V*_{M_hat}|| <= gamma^T r / (1 - gamma)`` (F2, ``V_0 = 0``;
      ``r`` bounds ``max |Rhat|``: ``max |R|``, or 1 for Bernoulli observations);
    * ``V^{pi_hat o mu}_M = V^{pi_hat}_{M_g}`` (AG1).

    Parameters
    ----------
    m : TabularMDP
        The true model (its ``gamma``, ``R`` and, unless given, the exact ``eps_P, eps_R``).
    grouping : ActionGrouping or array_like of int
    N : int
        Samples per state-group pair, ``>= 1``.
    T : int
        Value-iteration sweeps, ``>= 0``.
    delta : float, default 0.05
        Failure probability in ``(0, 1)``.
    eps_P, eps_R : float, optional
        Plug-in grouping errors (e.g. from a pilot sample); default: exact, :func:`grouping_errors`.
    reward_noise : {"none", "bernoulli"}, default "none"
        How :func:`grouped_learner` observes rewards: the observed rewards range over an interval
        of width ``span`` (``"none"``: they are values ``R(s, a)``) or ``1`` (``"bernoulli"``), the
        width that enters Hoeffding's ``e_R``.

    Returns
    -------
    GroupingLossBound
    """
    m = require_mdp(m)
    grouping = _require_grouping(grouping, m)
    N = check_positive_int(N, "N")
    T = _check_nonneg_int(T, "T")
    delta = _check_delta(delta)
    if eps_P is None or eps_R is None:
        exact = grouping_errors(m, grouping)
        eps_P = exact.eps_P if eps_P is None else eps_P
        eps_R = exact.eps_R if eps_R is None else eps_R
    eps_P = _check_eps(eps_P, "eps_P")
    eps_R = _check_eps(eps_R, "eps_R")
    reward_noise = _check_reward_noise(reward_noise, m)
    return _bound(m.n_states, grouping.n_groups, m.gamma, float(m.R.max() - m.R.min()), float(np.abs(m.R).max()),
                  eps_P, eps_R, N, T, delta, 1.0 if reward_noise == "bernoulli" else None)


def _check_eps(x, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    x = float(x)
    if not np.isfinite(x) or x < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {x}")
    return x


def _bound(S, G, gamma, span, rmax, eps_P, eps_R, N, T, delta, obs_width=None) -> GroupingLossBound:
    c = span / (2.0 * (1.0 - gamma))
    approx = (eps_R + gamma * eps_P * c) / (1.0 - gamma)
    e_P = math.sqrt(2.0 * (S * math.log(2.0) + math.log(2.0 * S * G / delta)) / N)
    width = span if obs_width is None else obs_width
    e_R = width * math.sqrt(math.log(4.0 * S * G / delta) / (2.0 * N))
    if obs_width is not None:  # Bernoulli observations: the empirical rewards lie in [0, 1]
        rmax = max(rmax, 1.0)
    est = 2.0 * (e_R + gamma * e_P * c) / (1.0 - gamma)
    comp = 2.0 * gamma ** (T + 1) * rmax / (1.0 - gamma) ** 2
    return GroupingLossBound(approximation=approx, estimation=est, computation=comp, total=approx + est + comp,
                             eps_P=eps_P, eps_R=eps_R, e_P=e_P, e_R=e_R, n_groups=int(G), N=int(N), T=int(T),
                             delta=delta, gamma=float(gamma), reward_span=span, reward_max=rmax,
                             trivial=span / (1.0 - gamma))


# ============================================================================ the learner
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


def grouped_learner(m, grouping, N, T, rng=None, *, reward_noise: str = "none", true_loss: bool = False,
                    v_star=None) -> GroupedLearnerResult:
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
    >>> m, clusters = planted_cluster_mdp(np.random.default_rng(0), sigma=0.05)
    >>> res = grouped_learner(m, clusters, 200, 100, np.random.default_rng(1), true_loss=True)
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
    return GroupedLearnerResult(pi_high=pi_high, policy=policy, model=m_hat, v=v, q=q, n_samples=N * S * G, N=N,
                                T=T, loss_per_state=loss_s,
                                loss=float(np.max(loss_s)) if np.all(np.isfinite(loss_s)) else float("nan"))


# ============================================================================ candidate groupings
def action_signatures(m, *, reward_weight: float = 1.0) -> np.ndarray:
    """``phi(a) = concat_s [P(.|s,a), w R(s,a)]``, shape ``(A, S * (S + 1))`` (``docs/papers/action_grouping.md``).

    Pass an empirical model (e.g. :func:`mdp.learners.empirical_model` of a pilot sample) to get
    the plug-in signatures of the note's selection procedure.
    """
    m = require_mdp(m, discounted=False)
    w = float(reward_weight)
    if not np.isfinite(w) or w < 0:
        raise ValueError(f"reward_weight must be finite and >= 0, got {reward_weight}")
    P = np.asarray(m.dense_P(), dtype=np.float64)  # (S, A, S)
    phi = np.concatenate([P, w * m.R[:, :, None]], axis=2)  # (S, A, S + 1)
    return np.ascontiguousarray(phi.transpose(1, 0, 2).reshape(m.n_actions, -1))


_LINKAGES = ("ward", "average", "complete", "single")


def nested_groupings(signatures, sizes=None, *, method: str = "ward") -> list:
    """Nested groupings from agglomerative clustering of action signatures.

    Parameters
    ----------
    signatures : array_like, shape (A, d)
        One feature vector per action (:func:`action_signatures`).
    sizes : iterable of int, optional
        Numbers of groups wanted, each in ``[1, A]``; default ``1, 2, 4, ...`` up to ``A`` (and ``A``).
    method : {"ward", "average", "complete", "single"}
        scipy linkage (Euclidean distances).

    Returns
    -------
    list of ActionGrouping
        One per size, in increasing order of ``G``, numbered canonically (by smallest action). Each
        refines every coarser one: they are cuts of one dendrogram, obtained by replaying its first
        ``A - G`` merges (so exactly ``G`` groups even when merge heights tie).
    """
    from scipy.cluster.hierarchy import linkage

    X = as_float_array(signatures, "signatures", ndim=2)
    A = X.shape[0]
    if A < 1:
        raise ValueError("signatures must have at least one row (one per action)")
    if method not in _LINKAGES:
        raise ValueError(f"method must be one of {_LINKAGES}, got {method!r}")
    sizes = _default_sizes(A) if sizes is None else sorted({_check_size(G, A) for G in sizes})
    if A == 1:
        return [ActionGrouping([0]) for _ in sizes]
    Z = linkage(X, method=method, metric="euclidean")
    return [_cut(Z, A, G) for G in sizes]


def _default_sizes(A: int) -> list:
    out, g = [], 1
    while g < A:
        out.append(g)
        g *= 2
    return out + [A]


def _check_size(G, A: int) -> int:
    G = check_positive_int(G, "n_groups")
    if G > A:
        raise ValueError(f"n_groups must be <= A = {A}, got {G}")
    return G


def _cut(Z: np.ndarray, A: int, G: int) -> ActionGrouping:
    """Replay the first ``A - G`` merges of the linkage ``Z`` (union-find) and label the clusters."""
    parent = np.arange(2 * A - 1)

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for k in range(A - G):
        a, b = int(Z[k, 0]), int(Z[k, 1])
        new = A + k
        parent[find(a)] = new
        parent[find(b)] = new
    roots = np.array([find(a) for a in range(A)])
    _, first = np.unique(roots, return_index=True)
    rank = {roots[f]: r for r, f in enumerate(np.sort(first))}
    return ActionGrouping(np.array([rank[r] for r in roots]), n_groups=G)


# ============================================================================ selection
@result
class GroupingSelection:
    """Result of :func:`select_grouping`.

    Attributes
    ----------
    grouping : ActionGrouping
        The selected grouping (least bound; ties to the coarser).
    n_groups, N, T : int
        Its ``G``, samples per pair ``N = budget // (S G)`` and sweeps.
    candidates : tuple of ActionGrouping
        The nested family searched (increasing ``G``).
    bounds : tuple of GroupingLossBound or None
        Bound per candidate (``None`` where ``budget < S G``, i.e. ``N`` would be 0).
    totals : ndarray
        ``bound.total`` per candidate (``inf`` where infeasible).
    pilot_samples : int
        Generative calls spent on the pilot (``0`` when the exact model was used).
    budget : int
        The sample budget for the learner.
    """

    grouping: ActionGrouping
    n_groups: int
    N: int
    T: int
    candidates: tuple
    bounds: tuple
    totals: np.ndarray
    pilot_samples: int
    budget: int



def select_grouping(m, budget, *, T: int = 100, delta: float = 0.05, sizes=None, pilot: int = 0, rng=None,
                    method: str = "ward", compute_budget=None, reward_weight: float = 1.0,
                    reward_noise: str = "none") -> GroupingSelection:
    """Choose the grouping (number of groups) for a sample budget by minimising the AG5 bound.

    The note's selection procedure: build a nested family of groupings by agglomerative clustering
    of the action signatures (:func:`action_signatures`, :func:`nested_groupings`), so the search is
    over ``G`` only (cost independent of ``A`` beyond the clustering); for each ``G`` set
    ``N = budget // (S G)`` (and ``T = compute_budget // (S^2 G)`` when a compute budget is given,
    one sweep costing ``S^2 G`` multiply-adds) and evaluate :func:`grouping_loss_bound` with
    plug-in ``eps_P, eps_R``; return the minimiser (ties to the coarser grouping).

    Parameters
    ----------
    m : TabularMDP
        The model. With ``pilot = 0`` the signatures and errors are computed from it exactly
        (oracle); with ``pilot > 0`` only through ``pilot`` generative samples per ``(s, a)``.
    budget : int
        Total generative samples for the learner, ``N_tot = N S G`` (``>= S``).
    T : int, default 100
        Sweeps (ignored when ``compute_budget`` is given).
    delta : float, default 0.05
    sizes : iterable of int, optional
        Candidate ``G`` values (default ``1, 2, 4, ..., A``).
    pilot : int, default 0
        Pilot samples per state-action pair (``S A pilot`` calls, reported, not taken from ``budget``).
    rng : numpy.random.Generator
        Required when ``pilot > 0``.
    method : str, default "ward"
        Linkage of :func:`nested_groupings`.
    compute_budget : int, optional
        Multiply-adds for planning; sets ``T`` per candidate.
    reward_weight : float, default 1.0
        Weight of the reward in the signatures.
    reward_noise : {"none", "bernoulli"}, default "none"
        How the learner will observe rewards (see :func:`grouping_loss_bound`).

    Returns
    -------
    GroupingSelection
    """
    m = require_mdp(m)
    budget = check_positive_int(budget, "budget")
    S, A = m.n_states, m.n_actions
    if budget < S:
        raise ValueError(f"budget must be >= S = {S} (one sample per state for a single group), got {budget}")
    T = _check_nonneg_int(T, "T")
    delta = _check_delta(delta)
    pilot = _check_nonneg_int(pilot, "pilot")
    if compute_budget is not None:
        compute_budget = check_positive_int(compute_budget, "compute_budget")
    obs_width = 1.0 if _check_reward_noise(reward_noise, m) == "bernoulli" else None
    ref = m
    if pilot > 0:
        from mdp.learners.plugin import empirical_model, sample_next_states

        rng = check_rng(rng)
        ref = empirical_model(m, sample_next_states(m, pilot, rng=rng))
    candidates = nested_groupings(action_signatures(ref, reward_weight=reward_weight), sizes, method=method)
    span, rmax = float(m.R.max() - m.R.min()), float(np.abs(m.R).max())
    bounds, totals = [], []
    for g in candidates:
        G = g.n_groups
        N = budget // (S * G)
        TG = T if compute_budget is None else compute_budget // (S * S * G)
        if N < 1:
            bounds.append(None)
            totals.append(np.inf)
            continue
        e = grouping_errors(ref, g)
        b = _bound(S, G, m.gamma, span, rmax, e.eps_P, e.eps_R, N, TG, delta, obs_width)
        bounds.append(b)
        totals.append(b.total)
    totals = np.array(totals)
    k = int(np.argmin(totals))  # first minimiser: the coarsest among ties
    best = bounds[k]
    return GroupingSelection(grouping=candidates[k], n_groups=candidates[k].n_groups, N=best.N, T=best.T,
                             candidates=tuple(candidates), bounds=tuple(bounds), totals=totals,
                             pilot_samples=S * A * pilot, budget=budget)


# ============================================================================ instances
def planted_cluster_mdp(rng, *, n_states: int = 10, n_clusters: int = 4, cluster_size: int = 16,
                        sigma: float = 0.2, alpha: float = 0.5, gamma: float = 0.9):
    """An action-wise similar MDP with planted action clusters (``docs/papers/action_grouping.md``, lab section).

    Cluster ``c`` has a base kernel ``P_c(.|s) ~ Dirichlet(alpha)`` and a base reward
    ``r_c(s) ~ U[sigma/2, 1 - sigma/2]``; each of its ``cluster_size`` actions mixes the base kernel
    with its own ``Dirichlet(alpha)`` draw, ``(1 - sigma) P_c + sigma Q_a``, and adds reward noise
    ``U[-sigma/2, sigma/2]`` (rewards stay in ``[0, 1]``). Actions are shuffled, so a cluster's
    actions are not contiguous.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_states, n_clusters, cluster_size : int
        ``S``, the number of clusters and actions per cluster (``A = n_clusters * cluster_size``).
    sigma : float in [0, 1]
        Within-cluster deviation (0: identical actions within a cluster).
    alpha : float
        Dirichlet concentration.
    gamma : float

    Returns
    -------
    (TabularMDP, ActionGrouping)
        The model and its planted clusters (canonical labels).
    """
    from mdp._validation import check_gamma, check_tol

    rng = check_rng(rng)
    S = check_positive_int(n_states, "n_states")
    C = check_positive_int(n_clusters, "n_clusters")
    k = check_positive_int(cluster_size, "cluster_size")
    alpha = check_tol(alpha, "alpha")
    gamma = check_gamma(gamma)
    if isinstance(sigma, bool) or not isinstance(sigma, numbers.Real) or not 0.0 <= float(sigma) <= 1.0:
        raise ValueError(f"sigma must be a number in [0, 1], got {sigma!r}")
    sigma = float(sigma)
    A = C * k

    def dirichlet(shape):
        x = rng.standard_gamma(alpha, size=shape + (S,))
        tot = x.sum(axis=-1, keepdims=True)
        dead = tot[..., 0] == 0
        if np.any(dead):
            x[dead, 0] = 1.0
            tot = x.sum(axis=-1, keepdims=True)
        return x / tot

    base_P = dirichlet((C, S))  # (C, S, S')
    base_R = rng.uniform(sigma / 2, 1 - sigma / 2, size=(C, S))
    own = dirichlet((A, S))  # (A, S, S')
    cluster = np.repeat(np.arange(C), k)
    perm = rng.permutation(A)
    cluster = cluster[perm]
    P = (1 - sigma) * base_P[cluster] + sigma * own  # (A, S, S')
    R = base_R[cluster] + rng.uniform(-sigma / 2, sigma / 2, size=(A, S))
    m = TabularMDP(P.transpose(1, 0, 2), R.T, gamma)
    return m, ActionGrouping(cluster, n_groups=C).canonical()
