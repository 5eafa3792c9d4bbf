"""The action grouping: ``ActionGrouping`` (a partition of each state's actions with a low-level rule
``mu``) and the argument checks shared by the grouping modules."""

from __future__ import annotations

import numpy as np

from mdp._common import frozen
from mdp._validation import as_float_array, check_index, check_open_unit, check_positive_int
from mdp.model import TabularMDP

_MU_ATOL = 1e-8

__all__ = ["ActionGrouping"]


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
            if np.issubdtype(lab.dtype, np.floating) and np.all(np.isfinite(lab)) and np.all(lab == np.round(lab)):
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
            raise ValueError(
                f"labels[{a}] = {lab[a]} is not a group index in [0, {max(G, 1)}); labels must be integers 0 .. G-1"
            )
        sizes = np.bincount(lab, minlength=G)
        if np.any(sizes == 0):
            empty = np.flatnonzero(sizes == 0).tolist()
            raise ValueError(
                f"group(s) {empty} of {G} are empty; labels must use every group index 0 .. G-1 "
                "(relabel, or pass a smaller n_groups)"
            )
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
            raise ValueError(
                f"mu must sum to 1 within every group (mu(. | s, i) is a distribution over A_i); "
                f"at {where} it sums to {sums[s, i]:.12g}"
            )
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
        return self._members[check_index(i, "group index", self._G)]

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
            raise ValueError(
                f"mu has {self._mu.shape[0]} states but the model has {S}; "
                f"a state-dependent mu must have shape ({S}, {self.n_actions})"
            )
        return self._mu.copy()

    def check_model(self, m: TabularMDP, name: str = "grouping") -> None:
        """Raise ``ValueError`` unless the grouping has ``m``'s number of actions (and states, for ``mu``)."""
        if self.n_actions != m.n_actions:
            raise ValueError(
                f"{name} labels {self.n_actions} actions but the model has {m.n_actions}; "
                f"labels must have length A = {m.n_actions}"
            )
        if self.is_state_dependent and self._mu.shape[0] != m.n_states:
            raise ValueError(
                f"{name}.mu has shape {self._mu.shape} but the model has {m.n_states} states; "
                f"mu must have shape ({m.n_actions},) or ({m.n_states}, {m.n_actions})"
            )

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
            self._mu is not None
            and other._mu is not None
            and self._mu.shape == other._mu.shape
            and np.array_equal(self._mu, other._mu)
        )
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
    return check_open_unit(delta, "delta")


_REWARD_NOISE = ("none", "bernoulli")


def _check_reward_noise(reward_noise, m: TabularMDP) -> str:
    if reward_noise not in _REWARD_NOISE:
        raise ValueError(f"reward_noise must be one of {_REWARD_NOISE}, got {reward_noise!r}")
    if reward_noise == "bernoulli" and (m.R.min() < 0 or m.R.max() > 1):
        raise ValueError(
            f"reward_noise='bernoulli' needs rewards in [0, 1] (they are Bernoulli means); "
            f"R spans [{m.R.min():g}, {m.R.max():g}]"
        )
    return reward_noise


def _check_nonneg_int(x, name: str) -> int:
    return check_positive_int(x, name, minimum=0)
