"""SPO, self-play preference optimisation (Swamy et al. 2024, arXiv:2401.04056; ``docs/papers/spo.md``):
win-rate rewards against the policy's own samples, the Minimax Winner and its self-play dynamics."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_rng
from mdp.llm._preference import _base_advantages, _Judge
from mdp.llm.registry import register_estimator

__all__ = [
    "spo_win_rates",
    "spo_win_rate_matrix",
    "minimax_winner",
    "preference_exploitability",
    "SelfPlayResult",
    "spo_self_play",
]


def spo_win_rates(items: Sequence, preference: Callable, *, symmetrize: bool = False) -> tuple[np.ndarray, int]:
    """SPO win-rate rewards ``r_i = 1/(K-1) sum_{j != i} P(item_i > item_j)`` (docs/papers/spo.md, SPO loop).

    Each unordered pair is judged once (``P(j > i) = 1 - P(i > j)``), or both orders averaged when
    ``symmetrize``. Returns ``(r (K,), n_calls)``; ``K = 1`` gives ``r = [1/2]`` (no opponent). For any
    such preference ``sum_i r_i = K/2`` (mean 1/2), docs/papers/spo.md's unit test.
    """
    items = list(items)
    K = len(items)
    if K == 0:
        raise ValueError("items must not be empty")
    J = _Judge(preference, "preference", symmetrize)
    M = np.full((K, K), 0.5)
    for i in range(K):
        for j in range(i + 1, K):
            p = J(items[i], items[j])
            M[i, j], M[j, i] = p, 1 - p
    if K == 1:
        return np.array([0.5]), 0
    return (M.sum(1) - 0.5) / (K - 1), J.calls


def spo_win_rate_matrix(P):
    """Vectorised win rates from preference matrices ``P`` ``(..., K, K)`` (``P[i, j] = P(i > j)``,
    diagonal ignored): ``(sum_j P[i, j] - P[i, i]) / (K - 1)``. torch in, torch out (numpy accepted)."""
    import torch

    from mdp.llm.bpo import _float

    M = _float(P, "P")
    if M.dim() < 2 or M.shape[-1] != M.shape[-2] or M.shape[-1] < 2:
        raise ValueError(f"P must be (..., K, K) with K >= 2, got shape {tuple(M.shape)}")
    K = M.shape[-1]
    return (M.sum(-1) - torch.diagonal(M, dim1=-2, dim2=-1)) / (K - 1)


def _check_preference_matrix(P, tol: float = 1e-9) -> np.ndarray:
    M = as_float_array(P, "P", ndim=2)
    if M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"P must be a square (n, n) preference matrix, got shape {M.shape}")
    if np.any(M < -tol) or np.any(M > 1 + tol):
        raise ValueError("P must hold probabilities in [0, 1]")
    err = np.abs(M + M.T - 1.0).max()
    if err > 1e-8:
        raise ValueError(f"P must satisfy P + P^T = 1 (a preference function); max |P + P^T - 1| = {err:.3g}")
    return M


def minimax_winner(P):
    """Exact Minimax Winner of the preference matrix ``P`` (``P[i, j] = P(i > j)``, ``P + P^T = 1``).

    The MW ``argmax_p min_q p^T P q`` is the row strategy of the symmetric zero-sum game with payoff
    ``P - 1/2`` (antisymmetric, value 0), solved exactly by :func:`marl.zero_sum_matrix_game`.
    Returns ``(p (n,), value)`` with ``value = min_q p^T P q = 1/2`` up to rounding.
    """
    import marl

    M = _check_preference_matrix(P)
    sol = marl.zero_sum_matrix_game(M - 0.5)
    p = np.asarray(sol.row_strategy, dtype=float)
    return p, float((p @ M).min())


def preference_exploitability(p, P) -> float:
    """``1/2 - min_q p^T P q = max_j (P p)_j - 1/2`` (``>= 0``, 0 exactly at a minimax winner)."""
    M = _check_preference_matrix(P)
    x = as_float_array(p, "p", ndim=1)
    if x.size != M.shape[0]:
        raise ValueError(f"p must have {M.shape[0]} entries, got {x.size}")
    return float(0.5 - (x @ M).min())


@result
class SelfPlayResult:
    """Output of :func:`spo_self_play`.

    ``average_policy`` ``(n,)`` (uniform mixture of the iterates ``p_1..p_T``), ``last_policy``,
    ``exploitability`` ``(T,)`` of the running average, ``regret`` (the learner's realised regret
    ``max_a sum_t (P p_t)_a - sum_t p_t^T P p_t`` on the exact win-rate rewards),
    ``regret_bound`` (Hedge: ``ln n / eta + eta T / 8``; ``nan`` for other updates),
    ``minimax_winner`` (LP), ``step_size``.
    """

    average_policy: np.ndarray
    last_policy: np.ndarray
    exploitability: np.ndarray
    regret: float
    regret_bound: float
    minimax_winner: np.ndarray
    step_size: float


def spo_self_play(
    P,
    *,
    n_iter: int = 2000,
    update: str = "hedge",
    step_size: float | None = None,
    n_samples: int = 8,
    rng: np.random.Generator | None = None,
    init_logits=None,
) -> SelfPlayResult:
    """Tabular SPO: a softmax policy over ``n`` responses trained on its own win rates.

    Parameters
    ----------
    P : array_like (n, n)
        Preference matrix, ``P + P^T = 1`` (possibly intransitive).
    n_iter : int
        Iterations ``T``.
    update : {"hedge", "pg", "sampled"}
        ``"hedge"``: exact win rates against the current policy, ``r_t = P p_t``, and logits
        ``z += eta r_t`` (multiplicative weights = natural policy gradient; no-regret, so
        ``exploitability(p_bar_T) <= Reg(T)/T <= ln n/(eta T) + eta/8`` by docs/papers/spo.md claim 1);
        ``"pg"``: exact softmax policy gradient ``z += eta p * (r_t - p^T r_t)``;
        ``"sampled"``: SPO proper -- ``n_samples`` responses from ``p_t``, win-rate rewards among them
        (:func:`spo_win_rates`), REINFORCE with the mean baseline 1/2 (needs ``rng``).
    step_size : float, optional
        ``eta`` (default ``sqrt(8 ln n / T)`` for hedge, 1.0 otherwise).
    """
    M = _check_preference_matrix(P)
    n = M.shape[0]
    T = check_positive_int(n_iter, "n_iter")
    if update not in ("hedge", "pg", "sampled"):
        raise ValueError(f"update must be 'hedge', 'pg' or 'sampled', got {update!r}")
    if update == "sampled":
        rng = check_rng(rng)
        K = check_positive_int(n_samples, "n_samples", minimum=2)
    if step_size is None:
        eta = math.sqrt(8 * math.log(max(n, 2)) / T) if update == "hedge" else 1.0
    else:
        eta = float(step_size)
        if not (eta > 0 and math.isfinite(eta)):
            raise ValueError(f"step_size must be finite and > 0, got {step_size}")
    z = np.zeros(n) if init_logits is None else as_float_array(init_logits, "init_logits", ndim=1).copy()
    if z.size != n:
        raise ValueError(f"init_logits must have {n} entries, got {z.size}")
    cum_p = np.zeros(n)
    cum_r = np.zeros(n)
    self_pay = 0.0
    expl = np.empty(T)
    for t in range(T):
        p = np.exp(z - z.max())
        p /= p.sum()
        r = M @ p  # exact win rate of each response against p_t
        cum_p += p
        cum_r += r
        self_pay += float(p @ r)  # = 1/2 by antisymmetry
        pbar = cum_p / (t + 1)
        expl[t] = 0.5 - float((pbar @ M).min())
        if update == "hedge":
            z = z + eta * r
        elif update == "pg":
            z = z + eta * p * (r - p @ r)
        else:
            a = rng.choice(n, size=K, p=p)
            w = (M[a][:, a].sum(1) - 0.5) / (K - 1)
            g = np.zeros(n)
            np.add.at(g, a, w - 0.5)
            g -= (w - 0.5).sum() * p
            z = z + eta * g / K
    regret = float(cum_r.max() - self_pay)
    bound = math.log(n) / eta + eta * T / 8 if update == "hedge" else float("nan")
    mw, _ = minimax_winner(M)
    return SelfPlayResult(cum_p / T, p, expl, regret, bound, mw, eta)


def _spo_estimator(batch, *, preference=None, symmetrize=False, baseline="mean", base_options=None):
    """SPO: self-play win-rate rewards ``r_i = mean_{j != i} P(i > j)`` within each group.

    ``preference(i, j)`` on row indices. ``baseline="mean"`` subtracts the group mean (exactly 1/2
    for a symmetric preference), ``"none"`` returns the raw win rates, ``"grpo"`` z-scores them with
    the registry's ``grpo`` (``base_options``: its options, e.g. ``{"epsilon": 1e-4}``). Singleton
    groups get win rate 1/2 and advantage 0 with either baseline (``grpo`` is called with
    ``singleton="zero"`` unless ``base_options`` sets ``singleton``).
    """
    import torch

    from mdp.llm.segments import gather, segment_mean

    if preference is None:
        raise ValueError("method 'spo' needs preference=callable(i, j) -> P(row i preferred to row j) in [0, 1]")
    if baseline not in ("mean", "none", "grpo"):
        raise ValueError(f"baseline must be 'mean', 'none' or 'grpo', got {baseline!r}")
    g = batch.group_ids.cpu().numpy()
    uniq, inv = np.unique(g, return_inverse=True)
    members = np.argsort(inv, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inv, minlength=uniq.size))])
    r = np.empty(g.size)
    for k in range(uniq.size):
        rows = members[bounds[k] : bounds[k + 1]]
        r[rows], _ = spo_win_rates(rows.tolist(), preference, symmetrize=symmetrize)
    rt = torch.as_tensor(r, dtype=batch.dtype, device=batch.device)
    if baseline == "none":
        return rt
    if baseline == "grpo":
        return _base_advantages("grpo", batch, rt, base_options, "spo")
    if base_options is not None:
        raise ValueError("spo: base_options applies to baseline='grpo' only")
    codes, n = batch.group_codes(method="spo")
    return rt - gather(segment_mean(rt, codes, n), codes)


register_estimator(
    "spo",
    _spo_estimator,
    needs=("group_ids",),
    options={"preference": None, "symmetrize": False, "baseline": "mean", "base_options": None},
    paper="SPO, Swamy et al. 2024, arXiv:2401.04056 (docs/papers/spo.md)",
    equation="r_i = 1/(K-1) sum_{j != i} P(i > j); A_i = r_i - mean_g r",
)
