"""Generative-model sampling and the certainty-equivalence ("plug-in") planner.

The generative model of Kearns & Singh (1999) answers a query ``(s, a)`` with a next state
``s' ~ P(s, a, .)`` (rewards are known: ``R`` is the expected reward). The plug-in planner of
Azar, Munos & Kappen (2013, "empirical QVI") draws ``N`` next states for every pair, builds the
empirical model ``P_hat(s, a, s') = #{s'} / N`` and solves it exactly.

Sampling is inverse-CDF on the rows of ``P``: both the dense ``(S, A, S)`` and the CSR
``(S * A, S)`` forms are turned into one "cumulative CSR" triple ``(indptr, indices, cdf)``, the
uniforms come from the caller's ``numpy.random.Generator`` (so the numba kernel and its numpy twin
see the same draws and agree exactly), and a uniform ``u`` picks the first entry of its row whose
cumulative mass exceeds ``u * row_total`` (scaling by the row total keeps round-off in the row sum
from ever selecting a state outside the support).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from numba import njit, prange

from mdp._common import cumulative_rows, result
from mdp._common.sampling import draw_csr as _draw
from mdp._validation import check_mdp as require_mdp
from mdp._validation import check_positive_int, check_rng
from mdp.model import TabularMDP
from mdp.solvers.policy_iteration import evaluate_deterministic, policy_iteration

__all__ = [
    "PluginResult",
    "empirical_model",
    "plugin_planner",
    "sample_next_states",
    "cumulative_rows",
    "reference_sample_next_states",
]


@njit(cache=True, parallel=True)
def _sample_kernel(indptr, indices, cdf, u, out):
    """``out[i, j]`` = successor of row ``i`` for the uniform ``u[i, j]``."""
    n_rows, n = u.shape
    for i in prange(n_rows):
        for j in range(n):
            out[i, j] = _draw(indptr, indices, cdf, i, u[i, j])


def reference_sample_next_states(P: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Plain-numpy inverse-CDF twin: dense ``P`` ``(S, A, S)``, uniforms ``u`` ``(S, A, n)``."""
    S, A, _ = P.shape
    out = np.empty(u.shape, dtype=np.int64)
    for s in range(S):
        for a in range(A):
            c = np.cumsum(np.asarray(P[s, a], dtype=np.float64))
            out[s, a] = np.searchsorted(c, u[s, a] * c[-1], side="right")
    return out


def sample_next_states(m, n, *, rng) -> np.ndarray:
    """Draw ``n`` i.i.d. next states for every ``(s, a)`` from the generative model of ``m``.

    Parameters
    ----------
    m : TabularMDP
        Dense or sparse model (``gamma`` is not used).
    n : int
        Samples per state-action pair.
    rng : numpy.random.Generator
        The only source of randomness: ``S * A * n`` uniforms are drawn from it in C order.

    Returns
    -------
    ndarray of int64, shape (S, A, n)
        ``out[s, a, j] ~ P(s, a, .)`` independently.
    """
    m = require_mdp(m, discounted=False)
    n = check_positive_int(n, "n")
    rng = check_rng(rng)
    S, A = m.n_states, m.n_actions
    u = rng.random((S * A, n))
    out = np.empty((S * A, n), dtype=np.int64)
    _sample_kernel(*cumulative_rows(m), u, out)
    return out.reshape(S, A, n)


@result
class PluginResult:
    """Result of :func:`plugin_planner`.

    Attributes
    ----------
    model : TabularMDP
        The empirical model ``(P_hat, R, gamma)``; sparse iff the input model is.
    q, v : ndarray
        ``Q_hat*`` ``(S, A)`` and ``V_hat*`` ``(S,)``, optimal for the empirical model.
    pi : ndarray of int64, shape (S,)
        ``pi_hat``, optimal for the empirical model.
    n_samples : int
        Total generative-model calls, ``S * A * N``.
    loss : float
        ``||V* - V^{pi_hat}||_inf`` in the true model when requested, else ``nan``.
    """

    model: TabularMDP
    q: np.ndarray
    v: np.ndarray
    pi: np.ndarray
    n_samples: int
    loss: float = float("nan")


def empirical_model(m: TabularMDP, next_states: np.ndarray) -> TabularMDP:
    """The empirical model ``P_hat(s, a, s') = #{j : next_states[s, a, j] = s'} / N`` (same ``R``, ``gamma``)."""
    S, A, n = next_states.shape
    rows = np.repeat(np.arange(S * A, dtype=np.int64), n)
    cols = next_states.reshape(-1)
    if m.is_sparse:
        P_hat = sp.csr_matrix((np.full(rows.size, 1.0 / n), (rows, cols)), shape=(S * A, S))
    else:
        P_hat = np.bincount(rows * S + cols, minlength=S * A * S).reshape(S, A, S) / n
    return TabularMDP(P_hat, m.R, m.gamma)


def plugin_planner(m, n_samples, *, rng, true_loss: bool = False, v_star=None) -> PluginResult:
    """Certainty-equivalence planning with a generative model (Azar, Munos & Kappen 2013).

    Draws ``n_samples`` next states per ``(s, a)`` (:func:`sample_next_states`), builds the
    empirical model and solves it exactly with Howard's policy iteration.

    Parameters
    ----------
    m : TabularMDP
        The true model (only sampled from, except for the optional loss).
    n_samples : int
        ``N``, next-state samples per state-action pair (total ``S * A * N``).
    rng : numpy.random.Generator
    true_loss : bool, default False
        Also compute ``||V* - V^{pi_hat}||_inf`` in the true model (one exact solve of ``m``
        unless ``v_star`` is given, plus one policy evaluation).
    v_star : array_like, shape (S,), optional
        ``V*`` of ``m``, to skip re-solving it when the loss is requested repeatedly.

    Returns
    -------
    PluginResult

    Examples
    --------
    >>> import numpy as np, mdp, mdp.learners
    >>> res = mdp.learners.plugin_planner(mdp.generators.forest(gamma=0.9), 1000,
    ...                                   rng=np.random.default_rng(0), true_loss=True)
    >>> res.pi.tolist(), res.loss
    ([0, 0, 0], 0.0)
    """
    m = require_mdp(m)
    n = check_positive_int(n_samples, "n_samples")
    rng = check_rng(rng)
    if not isinstance(true_loss, (bool, np.bool_)):
        raise TypeError(f"true_loss must be a bool, got {type(true_loss).__name__}")
    m_hat = empirical_model(m, sample_next_states(m, n, rng=rng))
    sol = policy_iteration(m_hat)
    loss = float("nan")
    if true_loss or v_star is not None:
        if v_star is None:
            v_star = policy_iteration(m).v
        else:
            v_star = np.asarray(v_star, dtype=np.float64)
            if v_star.shape != (m.n_states,):
                raise ValueError(f"v_star must have shape ({m.n_states},), got {v_star.shape}")
        loss = float(np.max(np.abs(v_star - evaluate_deterministic(m, sol.pi))))
    return PluginResult(
        model=m_hat,
        q=np.array(sol.q),
        v=np.array(sol.v),
        pi=np.array(sol.pi),
        n_samples=m.n_states * m.n_actions * n,
        loss=loss,
    )
