"""OTA: option-aware temporally abstracted values, and the sign of high-level advantages.

HIQL's high level imitates subgoals ``s_{t+k}`` weighted by ``exp(beta A)``,
``A = V(s_{t+k}, g) - V(s_t, g)``. On a shortest-path problem the exact value is
``V = -(1 - gamma^d)/(1 - gamma)`` and a subgoal ``k`` steps closer has

    A(d) = gamma^(d-k) (1 - gamma^k) / (1 - gamma)              (OT1; docs/papers/ota.md),

exponentially small in ``d``: with value errors of standard deviation ``sigma`` (i.i.d. per table
entry) the estimated advantage has the right sign with probability ``Phi(A / (sqrt(2) sigma))``
(OT3). OTA trains the high level's value ``V_h`` on options of ``n`` steps
(:func:`mdp.goal.hindsight_transitions` with ``n > 1``, :func:`mdp.goal.expectile_td`), so its
effective horizon is about ``d / n`` and ``A_h`` stays of order one.

**Convention** (the OTA notes' closed form and their option-reward rule disagree; Corrections of
``docs/papers/ota.md``). The code implements both and checks each closed form against the exact TD
fixed point of its own operator (claims OT1, OT2):

* ``"start"`` (default): an option costs ``-1`` unless it starts on the goal; ``n = 1`` is exactly
  HIQL's value; fixed point ``V_h = -(1 - gamma^ceil(d/n)) / (1 - gamma)`` (the formula printed
  under OT1); ``A_h(d = 1000, k = n = 25, gamma = 0.99) = gamma^39 = 0.6757``;
* ``"reach"``: the rule as written (``r_h = 0`` when the goal is reached within the option), so the
  option that reaches the goal is free; fixed point ``-(1 - gamma^(ceil(d/n) - 1)) / (1 - gamma)``;
  ``A_h = gamma^38 = 0.6826`` in the same example; with ``n = 1`` it is *not* HIQL's value.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_real, check_rng
from mdp.goal.model import check_states, goal_values

__all__ = ["SignAccuracyResult", "closed_form_advantage", "predicted_sign_accuracy", "sign_accuracy"]


def closed_form_advantage(d, k: int, gamma: float, *, n: int = 1, convention: str = "start") -> np.ndarray:
    """``V(d - k) - V(d)`` with the closed-form values of :func:`mdp.goal.goal_values` (option
    length ``n``; ``n = 1``: HIQL's ``gamma^(d-k) (1 - gamma^k) / (1 - gamma)`` for ``d >= k``)."""
    k = check_positive_int(k, "k")
    d = np.asarray(d, dtype=np.float64)
    return goal_values(np.maximum(d - k, 0.0), gamma, n=n, convention=convention) - goal_values(
        d, gamma, n=n, convention=convention
    )


def predicted_sign_accuracy(advantage, sigma: float) -> np.ndarray:
    """``Phi(|A| / (sqrt(2) sigma))``: the probability that ``A + e_1 - e_2`` (``e_i`` i.i.d.
    ``N(0, sigma^2)``) has the sign of ``A`` (OT3), with ``1/2`` for ``A = 0``; ``sigma = 0``
    gives 1 for ``A != 0``."""
    sigma = check_real(sigma, "sigma", "[0, inf)")
    a = np.abs(as_float_array(advantage, "advantage"))
    if sigma == 0:
        return np.where(a > 0, 1.0, 0.5)
    return ndtr(a / (np.sqrt(2.0) * sigma))


@result
class SignAccuracyResult:
    """Sign accuracy of value-difference advantages against shortest-path ground truth.

    Attributes
    ----------
    correct : ndarray, shape (n_draws, M)
        1 when the estimated advantage has the true sign, 1/2 on an estimated tie, 0 otherwise,
        per noise draw and kept triple.
    accuracy : ndarray, shape (M,)
        ``correct`` averaged over the draws.
    predicted : ndarray, shape (M,)
        :func:`predicted_sign_accuracy` of the noiseless advantage.
    advantage : ndarray, shape (M,)
        Noiseless ``v[sub, g] - v[s, g]``.
    keep : ndarray of bool, shape (N,)
        Triples kept (``d(s, g) != d(sub, g)``, both finite).
    sigma : float
    """

    correct: np.ndarray
    accuracy: np.ndarray
    predicted: np.ndarray
    advantage: np.ndarray
    keep: np.ndarray
    sigma: float


def sign_accuracy(v, dist, s, sub, g, *, sigma: float, rng, n_draws: int = 1) -> SignAccuracyResult:
    """Does ``v[sub, g] - v[s, g]`` (plus table noise) say whether ``sub`` is closer to ``g``?

    Parameters
    ----------
    v : array_like, shape (S, S)
        Noiseless value table ``v[state, goal]``.
    dist : array_like, shape (S, S)
        Shortest-path distances (the ground truth: ``sub`` is better iff ``d(sub, g) < d(s, g)``).
    s, sub, g : array_like of int, shape (N,)
        Triples (state, candidate subgoal, goal); triples with ``d(s, g) = d(sub, g)`` or an
        infinite distance are dropped (no true sign).
    sigma : float >= 0
        Standard deviation of i.i.d. Gaussian noise added to every table entry, one fresh table per
        draw (``rng``).
    n_draws : int
    """
    v = as_float_array(v, "v", ndim=2)
    S = v.shape[0]
    if v.shape != (S, S):
        raise ValueError(f"v must be a square (S, S) table, got {v.shape}")
    dist = np.asarray(dist, dtype=np.float64)
    if dist.shape != (S, S):
        raise ValueError(f"dist must have the shape of v {v.shape}, got {dist.shape}")
    s = check_states(s, S, "s")
    sub = check_states(sub, S, "sub")
    g = check_states(g, S, "g")
    if not (s.shape == sub.shape == g.shape) or s.ndim != 1:
        raise ValueError("s, sub and g must be 1-D arrays of equal length")
    sigma = check_real(sigma, "sigma", "[0, inf)")
    rng = check_rng(rng)
    n_draws = check_positive_int(n_draws, "n_draws")
    ds, dsub = dist[s, g], dist[sub, g]
    keep = np.isfinite(ds) & np.isfinite(dsub) & (ds != dsub)
    s, sub, g = s[keep], sub[keep], g[keep]
    truth = np.sign(ds[keep] - dsub[keep])
    adv = v[sub, g] - v[s, g]
    correct = np.empty((n_draws, s.size))
    for r in range(n_draws):
        if sigma > 0:
            # noise of the table entries actually read: entries shared between triples share noise
            cells, inv = np.unique(np.concatenate([sub * S + g, s * S + g]), return_inverse=True)
            e = sigma * rng.standard_normal(cells.size)
            est = adv + e[inv[: s.size]] - e[inv[s.size :]]
        else:
            est = adv
        sgn = np.sign(est)
        correct[r] = np.where(sgn == 0, 0.5, (sgn == truth).astype(np.float64))
    pred = predicted_sign_accuracy(np.where(np.sign(adv) == truth, adv, -np.abs(adv)), sigma)
    # a noiseless advantage of the wrong sign has accuracy 1 - Phi(|A| / (sqrt 2 sigma))
    pred = np.where((np.sign(adv) != truth) & (adv != 0), 1.0 - pred, pred)
    return SignAccuracyResult(correct, correct.mean(axis=0), pred, adv, keep, sigma)
