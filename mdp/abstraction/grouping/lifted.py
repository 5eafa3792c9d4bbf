"""The lifted (grouped) model and the grouping errors ``eps_P``, ``eps_R`` it is measured by."""

from __future__ import annotations

from dataclasses import field

import numpy as np
import scipy.sparse as sp

from mdp._common import result
from mdp._validation import check_mdp as require_mdp
from mdp.abstraction.grouping.base import ActionGrouping, _require_grouping
from mdp.model import TabularMDP

__all__ = ["GroupingErrors", "lifted_model", "grouping_errors"]


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
