"""Exact gain and bias of a fixed policy (average-reward criterion) by one linear solve.

For a policy ``pi`` with transition matrix ``P_pi`` and reward ``r_pi``, the gain ``g`` and bias ``h``
solve (Puterman 1994, *Markov Decision Processes*, Sec. 8.2.3, Eqs. 8.2.11-8.2.13)

    g 1 + (I - P_pi) h = r_pi,        P*_pi h = 0,

where ``P*_pi`` is the limiting (Cesaro) matrix. When ``P_pi`` is *unichain* (a single recurrent
class, plus possibly transient states) ``P*_pi = 1 mu^T`` with ``mu`` the unique stationary
distribution, so ``g = mu . r_pi`` is a scalar and ``P* h = 0`` is ``mu . h = 0``. Both come from
bordered systems that are nonsingular exactly in the unichain case:

    [[I - P_pi, 1], [e_k^T, 0]] [h'; g] = [r_pi; 0]      (k a recurrent state; h = h' - (mu . h') 1)
    [[(I - P_pi)^T, 1], [1^T, 0]] [mu; 0] = [0; 1].

A multichain policy (two or more closed classes: the gain differs between them) is refused with a
``ValueError`` naming the classes; the recurrent classes are the strongly connected components of
``P_pi``'s graph with no edge leaving them.

``m.gamma`` is ignored (undiscounted criterion).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.sparse.csgraph import connected_components

from mdp._common import result
from mdp._validation import check_mdp as require_mdp
from mdp._validation import check_policy

__all__ = ["GainBias", "policy_gain_bias", "reference_policy_gain_bias", "recurrent_classes"]


@result
class GainBias:
    """Result of :func:`mdp.policy_gain_bias`.

    Attributes
    ----------
    gain : float
        Long-run average reward of the policy (the same from every start: unichain).
    bias : ndarray, shape (S,)
        Bias ``h`` with ``mu . h = 0`` (``h = sum_t P_pi^t (r_pi - g 1)`` in the Cesaro sense).
    stationary : ndarray, shape (S,)
        The stationary distribution ``mu`` of ``P_pi``.
    residual : float
        ``||g 1 + (I - P_pi) h - r_pi||_inf`` of the computed solution (a check of the solve).
    """

    gain: float
    bias: np.ndarray
    stationary: np.ndarray
    residual: float


def recurrent_classes(P_pi) -> list[np.ndarray]:
    """Closed communicating classes of a stochastic matrix (dense or sparse), as sorted index arrays."""
    G = sp.csr_matrix(P_pi, copy=True)  # the model's arrays are read-only; eliminate_zeros works in place
    G.eliminate_zeros()
    n_comp, labels = connected_components(G, directed=True, connection="strong")
    coo = G.tocoo()
    leaves = np.zeros(n_comp, dtype=bool)
    leaves[labels[coo.row][labels[coo.row] != labels[coo.col]]] = True
    return [np.flatnonzero(labels == c) for c in range(n_comp) if not leaves[c]]


def reference_policy_gain_bias(P, R, pi):
    """Plain numpy twin for dense ``P`` and a deterministic ``pi``: ``(g, h)`` with ``mu . h = 0``;
    ``mu`` is the eigenvector of ``P_pi^T`` for eigenvalue 1, then least squares on the stacked
    system ``[[I - P_pi, 1], [mu^T, 0]] [h; g] = [r_pi; 0]``."""
    S = R.shape[0]
    P_pi = np.asarray(P, dtype=np.float64)[np.arange(S), pi]
    r = R[np.arange(S), pi]
    w, V = np.linalg.eig(P_pi.T)
    mu = np.real(V[:, np.argmin(np.abs(w - 1.0))])
    mu = mu / mu.sum()
    A = np.zeros((S + 1, S + 1))
    A[:S, :S] = np.eye(S) - P_pi
    A[:S, S] = 1.0
    A[S, :S] = mu
    sol = np.linalg.lstsq(A, np.concatenate([r, [0.0]]), rcond=None)[0]
    return float(sol[S]), sol[:S]


def policy_gain_bias(m, pi) -> GainBias:
    """Exact gain and bias of a deterministic or stochastic policy of a unichain model.

    Parameters
    ----------
    m : TabularMDP
        The model (``m.gamma`` is ignored). Dense or CSR.
    pi : array_like
        ``(S,)`` integer actions or ``(S, A)`` action probabilities.

    Returns
    -------
    GainBias

    Raises
    ------
    ValueError
        If ``P_pi`` has more than one recurrent class (a multichain policy: its gain depends on the
        start state and no single ``g`` exists); the message lists the classes.

    Examples
    --------
    >>> import mdp, numpy as np
    >>> round(mdp.policy_gain_bias(mdp.generators.forest(), np.zeros(3, dtype=int)).gain, 12)
    3.24
    """
    m = require_mdp(m, discounted=False)
    pi = check_policy(pi, m.n_states, m.n_actions)
    S = m.n_states
    P_pi = m.policy_matrix(pi)
    r = m.policy_reward(pi)
    classes = recurrent_classes(P_pi)
    if len(classes) > 1:
        shown = "; ".join(
            "{" + ", ".join(map(str, c[:6].tolist())) + (", ..." if c.size > 6 else "") + "}" for c in classes[:4]
        )
        raise ValueError(
            f"pi is multichain: P_pi has {len(classes)} recurrent classes ({shown}{'; ...' if len(classes) > 4 else ''}), "
            "so its gain depends on the start state; policy_gain_bias handles unichain policies (one recurrent "
            "class) only"
        )
    k = int(classes[0][0])
    if sp.issparse(P_pi):
        I_P = sp.identity(S, format="csr") - P_pi.tocsr()
        ones = sp.csr_matrix(np.ones((S, 1)))
        ek = sp.csr_matrix(([1.0], ([0], [k])), shape=(1, S))
        A1 = sp.bmat([[I_P, ones], [ek, None]], format="csc")
        A2 = sp.bmat([[I_P.T, ones], [sp.csr_matrix(np.ones((1, S))), None]], format="csc")
        sol = np.asarray(spla.spsolve(A1, np.concatenate([r, [0.0]])), dtype=np.float64)
        mu = np.asarray(spla.spsolve(A2, np.concatenate([np.zeros(S), [1.0]])), dtype=np.float64)[:S]
        Ph = lambda x: P_pi @ x  # noqa: E731
    else:
        P_pi = np.asarray(P_pi, dtype=np.float64)
        A1 = np.zeros((S + 1, S + 1))
        A1[:S, :S] = np.eye(S) - P_pi
        A1[:S, S] = 1.0
        A1[S, k] = 1.0
        A2 = np.zeros((S + 1, S + 1))
        A2[:S, :S] = A1[:S, :S].T
        A2[:S, S] = 1.0
        A2[S, :S] = 1.0
        sol = scipy.linalg.solve(A1, np.concatenate([r, [0.0]]), check_finite=False)
        mu = scipy.linalg.solve(A2, np.concatenate([np.zeros(S), [1.0]]), check_finite=False)[:S]
        Ph = lambda x: P_pi @ x  # noqa: E731
    g = float(sol[S])
    h = sol[:S] - float(mu @ sol[:S])
    residual = float(np.abs(g + h - Ph(h) - r).max())
    return GainBias(gain=g, bias=h, stationary=mu, residual=residual)
