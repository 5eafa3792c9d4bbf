"""Rollout samplers and selectors: D3S down-sampling, MMR1 variance-aware prompt sampling and
iGRPO's draft-then-refine rollout wrapper.

* **D3S** (Wang et al. 2025, arXiv:2509.22115; ``docs/papers/d3s.md``): per group keep the
  ``k``-subset of rollouts that maximises the advantage variance ``Var_{i in S}(A_i)``
  (:func:`d3s_sample_mask`; the optimum is an "extremes" set -- the ``t`` largest and ``k - t``
  smallest values -- found by scanning ``t``), keep the tokens with the largest ``|A_{i,t}| H_{i,t}``
  (:func:`d3s_token_mask`) and relax both retention ratios with a schedule
  (:func:`d3s_retention`). The motivation is the Cauchy--Schwarz bound (docs/papers/d3s.md claim 1)
  ``||(1/k) sum_{i in S} A_i g_i|| <= C sqrt((1/k) sum_{i in S} A_i^2)`` for ``||g_i|| <= C``, which
  for re-centred advantages is ``C sqrt(Var_S(A))``.
* **MMR1 VAS** (Leng et al. 2025, arXiv:2509.21268; ``docs/papers/mmr1_vas.md``): Variance
  Promotion Score ``VPS = alpha OVS + beta TDS`` with ``OVS = p(1 - p)`` and a trajectory diversity
  score, min-max normalised into sampling weights (:func:`vps_weights`), and a batch sampler that
  draws ``floor(lambda B)`` prompts by weight and the rest from a shuffled uniform pass
  (:class:`MixtureSampler`). :func:`variance_gradient_bounds` evaluates the variance--progress
  inequalities of docs/papers/mmr1_vas.md claim 1 exactly on a softmax policy.
* **iGRPO** (Hatamizadeh et al. 2026, arXiv:2602.09000; ``docs/papers/igrpo.md``):
  :func:`igrpo_rollout` samples ``N_d`` drafts, keeps the best by the task reward, conditions the
  prompt on it and returns the ``G`` refinements with their GRPO advantages (drafts never enter
  the loss).

Tensor-valued selectors take and return torch tensors (numpy accepted) and are vectorised over rows
(``O(rows log rows)``: one sort); the ``_reference`` twins are plain loops used by the tests.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from mdp._common import result
from mdp._validation import as_float_array, check_positive_int, check_rng
from mdp.llm.bpo import _float, _group_codes, _tensor

__all__ = [
    "max_variance_subset",
    "d3s_sample_mask",
    "d3s_token_mask",
    "d3s_retention",
    "outcome_variance_score",
    "distinct_n",
    "mean_edit_distance",
    "trajectory_diversity",
    "vps_weights",
    "MixtureSampler",
    "variance_gradient_bounds",
    "IGRPORollout",
    "igrpo_rollout",
    "best_of_n_success",
]


# --------------------------------------------------------------------------------------------
# D3S
# --------------------------------------------------------------------------------------------
def _keep_counts(keep, counts):
    """Per-group subset sizes from an int (capped at the group size) or a ratio in (0, 1]."""
    import torch

    if isinstance(keep, bool) or not isinstance(keep, numbers.Real):
        raise TypeError(
            f"keep must be an int (rollouts per group) or a float ratio in (0, 1], got {type(keep).__name__}"
        )
    if isinstance(keep, (numbers.Integral, np.integer)):
        if int(keep) < 1:
            raise ValueError(f"keep must be >= 1 rollouts per group, got {int(keep)}")
        return torch.clamp(counts, max=int(keep))
    r = float(keep)
    if not 0.0 < r <= 1.0:
        raise ValueError(f"keep as a ratio must lie in (0, 1], got {r}")
    return torch.clamp(torch.ceil(counts.to(torch.float64) * r - 1e-9).to(torch.int64), min=1)


def d3s_sample_mask(advantages, group_ids, keep):
    """D3S sample-level selection: per group, the ``k``-subset of maximal ``Var(A)``.

    Parameters
    ----------
    advantages : tensor or array, shape (rows,)
        One scalar advantage per rollout (the sequence-level ``A_i``).
    group_ids : integer tensor or array, shape (rows,)
    keep : int or float
        Rollouts kept per group: an int ``k`` (groups smaller than ``k`` are kept whole) or a ratio
        ``r`` in (0, 1] (``k_g = ceil(r n_g)``; the schedule :func:`d3s_retention` gives ``r``).

    Returns
    -------
    torch.Tensor of bool, shape (rows,), on the device of ``advantages``
        ``True`` for the kept rollouts. Within a group the kept set is ``{t largest} U {k - t
        smallest}`` for the ``t`` maximising the population variance (docs/papers/d3s.md claim 2; ties go to
        the smallest ``t``, then to the lowest row index among equal values). Advantages are
        *kept*, not recomputed on the subset (recompute them with the registry on the kept rows
        when the base method needs re-centred groups).

    Notes
    -----
    ``O(rows log rows)``: one sort by (group, value) and prefix sums; ``sum_g (k_g + 1)``
    candidates are scored at once.
    """
    import torch

    from mdp.llm.segments import segment_count

    a = _float(advantages, "advantages")
    if a.dim() != 1 or a.numel() == 0:
        raise ValueError(f"advantages must be a non-empty 1-D tensor (rows,), got shape {tuple(a.shape)}")
    a = a.to(torch.float64)
    dev = a.device  # every tensor below lives on the input's device
    codes, n = _group_codes(group_ids, a.shape[0])
    codes = codes.to(dev)
    count = segment_count(codes, n, dtype=torch.int64)
    k = _keep_counts(keep, count)
    rows = a.shape[0]
    order = torch.argsort(a, stable=True)
    order = order[torch.argsort(codes[order], stable=True)]
    vs = a[order]
    start = torch.cumsum(count, 0) - count
    zero = torch.zeros(1, dtype=torch.float64, device=dev)
    E1 = torch.cat([zero, torch.cumsum(vs, 0)])
    E2 = torch.cat([zero, torch.cumsum(vs * vs, 0)])
    # candidates (g, t): t top values and k_g - t bottom values
    ncand = k + 1
    cg = torch.repeat_interleave(torch.arange(n, device=dev), ncand)
    t = torch.arange(int(ncand.sum()), device=dev) - torch.repeat_interleave(torch.cumsum(ncand, 0) - ncand, ncand)
    s, ng, kg = start[cg], count[cg], k[cg]
    b = kg - t

    def pre(E, m):  # sum of the first m sorted values of group cg
        return E[s + m] - E[s]

    S1 = pre(E1, b) + pre(E1, ng) - pre(E1, ng - t)
    S2 = pre(E2, b) + pre(E2, ng) - pre(E2, ng - t)
    kf = kg.to(torch.float64)
    var = torch.clamp(S2 / kf - (S1 / kf) ** 2, min=0.0)
    gmax = torch.full((n,), -1.0, dtype=torch.float64, device=dev).scatter_reduce(0, cg, var, "amax")
    scale = 1e-12 * (1.0 + gmax[cg].abs())
    big = torch.iinfo(torch.int64).max
    cand_t = torch.where(var >= gmax[cg] - scale, t, torch.full_like(t, big))
    best_t = torch.full((n,), big, dtype=torch.int64, device=dev).scatter_reduce(0, cg, cand_t, "amin")
    pos = torch.arange(rows, device=dev) - start[codes[order]]
    g_sorted = codes[order]
    tb = best_t[g_sorted]
    keep_sorted = (pos < (k[g_sorted] - tb)) | (pos >= count[g_sorted] - tb)
    mask = torch.empty(rows, dtype=torch.bool, device=dev)
    mask[order] = keep_sorted
    return mask


def max_variance_subset(values, k: int) -> np.ndarray:
    """Indices (ascending) of a ``k``-subset of ``values`` ``(G,)`` with maximal population variance
    (a single group of :func:`d3s_sample_mask`)."""
    v = as_float_array(values, "values", ndim=1)
    if v.size == 0:
        raise ValueError("values must not be empty")
    k = check_positive_int(k, "k")
    if k > v.size:
        raise ValueError(f"k must be <= len(values) = {v.size}, got {k}")
    m = d3s_sample_mask(v, np.zeros(v.size, dtype=np.int64), k)
    return np.flatnonzero(m.numpy())


def _max_variance_subset_reference(values, k: int) -> tuple[float, tuple]:
    """Brute force over all ``k``-subsets: ``(max population variance, a maximising subset)``."""
    v = np.asarray(values, dtype=float)
    best, arg = -1.0, ()
    for S in itertools.combinations(range(v.size), k):
        x = v[list(S)]
        var = float(np.mean((x - x.mean()) ** 2))
        if var > best + 1e-12 * (1 + abs(best)):
            best, arg = var, S
    return best, arg


def d3s_token_mask(advantages, entropies, response_mask, keep_fraction: float, *, sample_mask=None):
    """D3S token-level selection: keep the top ``keep_fraction`` of valid tokens by ``|A| H``.

    Parameters
    ----------
    advantages : tensor, shape (rows,) or (rows, tokens)
    entropies : tensor, shape (rows, tokens), >= 0
        Behaviour-policy token entropies ``H_{i,t}``.
    response_mask : tensor, shape (rows, tokens), 0/1
    keep_fraction : float in (0, 1]
        Fraction of the candidate tokens kept (``ceil``), ranked over the whole batch.
    sample_mask : bool tensor (rows,), optional
        Rows kept by :func:`d3s_sample_mask`; the others are never selected and do not count.

    Returns
    -------
    torch.Tensor of bool, shape (rows, tokens), on the device of ``entropies``
        Ties in the score are broken by position (row-major), so the mask is deterministic. Use
        the same mask for the ratio, the clip statistics and the aggregation denominator.
    """
    import torch

    H = _float(entropies, "entropies")
    if H.dim() != 2:
        raise ValueError(f"entropies must be (rows, tokens), got shape {tuple(H.shape)}")
    if bool((H < 0).any()):
        raise ValueError("entropies must be >= 0")
    A = _float(advantages, "advantages").to(device=H.device, dtype=H.dtype)
    if A.dim() == 1:
        if A.shape[0] != H.shape[0]:
            raise ValueError(f"advantages (rows,) must have {H.shape[0]} rows, got {A.shape[0]}")
        A = A.unsqueeze(1).expand_as(H)
    elif A.shape != H.shape:
        raise ValueError(f"advantages must be (rows,) or {tuple(H.shape)}, got {tuple(A.shape)}")
    mask = _tensor(response_mask, "response_mask")
    if tuple(mask.shape) != tuple(H.shape):
        raise ValueError(f"response_mask must have shape {tuple(H.shape)}, got {tuple(mask.shape)}")
    valid = mask.to(device=H.device, dtype=torch.float64) > 0  # everything on the entropies' device
    if sample_mask is not None:
        sm = _tensor(sample_mask, "sample_mask")
        if tuple(sm.shape) != (H.shape[0],):
            raise ValueError(f"sample_mask must have shape ({H.shape[0]},), got {tuple(sm.shape)}")
        valid = valid & (sm.to(device=H.device, dtype=torch.bool).unsqueeze(1))
    f = float(keep_fraction)
    if not 0.0 < f <= 1.0:
        raise ValueError(f"keep_fraction must lie in (0, 1], got {f}")
    n_valid = int(valid.sum())
    if n_valid == 0:
        raise ValueError("no valid token to select (response_mask/sample_mask all zero)")
    n_keep = max(1, math.ceil(f * n_valid - 1e-9))
    score = torch.where(valid, A.abs() * H, torch.full_like(H, -math.inf)).reshape(-1)
    order = torch.argsort(-score, stable=True)
    out = torch.zeros(score.numel(), dtype=torch.bool, device=H.device)
    out[order[:n_keep]] = True
    return out.reshape(H.shape)


def d3s_retention(step, *, warmup_steps: int, r_min: float = 0.25, shape: str = "linear"):
    """D3S retention schedule (docs/papers/d3s.md step 3, a reconstruction): ``r_min`` at step 0 rising to 1.

    ``linear``: ``r_min + (1 - r_min) min(1, t / T)``; ``cosine``:
    ``r_min + (1 - r_min) (1 - cos(pi min(1, t / T))) / 2``. ``step`` may be an int or an array.
    """
    T = check_positive_int(warmup_steps, "warmup_steps")
    if not 0.0 < float(r_min) <= 1.0:
        raise ValueError(f"r_min must lie in (0, 1], got {r_min}")
    t = np.asarray(step, dtype=float)
    if np.any(t < 0) or not np.all(np.isfinite(t)):
        raise ValueError("step must be finite and >= 0")
    x = np.minimum(1.0, t / T)
    if shape == "linear":
        out = r_min + (1 - r_min) * x
    elif shape == "cosine":
        out = r_min + (1 - r_min) * (1 - np.cos(np.pi * x)) / 2
    else:
        raise ValueError(f"shape must be 'linear' or 'cosine', got {shape!r}")
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------------------------
# MMR1 variance-aware sampling
# --------------------------------------------------------------------------------------------
def outcome_variance_score(correct) -> np.ndarray:
    """Outcome Variance Score ``p(1 - p)`` per prompt from ``correct`` ``(prompts, n)`` 0/1 outcomes
    (``p`` = fraction correct; docs/papers/mmr1_vas.md step 2)."""
    c = as_float_array(correct, "correct", ndim=2)
    if c.shape[1] == 0:
        raise ValueError("correct must have at least one rollout per prompt")
    if np.any((c != 0) & (c != 1)):
        raise ValueError("correct must hold 0/1 outcomes")
    p = c.mean(axis=1)
    return p * (1 - p)


def _ngrams(seq, n):
    return [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]


def distinct_n(responses: Sequence[Sequence[int]], n: int = 3) -> float:
    """distinct-n of a prompt's responses: unique n-grams / total n-grams over all responses
    (token ids; 0 when no response has ``n`` tokens)."""
    n = check_positive_int(n, "n")
    grams = [g for r in responses for g in _ngrams(list(r), n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def _edit_distance(a, b) -> int:
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def mean_edit_distance(responses: Sequence[Sequence[int]], *, normalize: bool = True) -> float:
    """Mean pairwise token-level Levenshtein distance (divided by the longer length when
    ``normalize``); 0 for fewer than two responses."""
    rs = [list(r) for r in responses]
    pairs = list(itertools.combinations(range(len(rs)), 2))
    if not pairs:
        return 0.0
    tot = 0.0
    for i, j in pairs:
        d = _edit_distance(rs[i], rs[j])
        tot += d / max(1, len(rs[i]), len(rs[j])) if normalize else d
    return tot / len(pairs)


def trajectory_diversity(responses_per_prompt, *, kind: str = "distinct_n", n: int = 3) -> np.ndarray:
    """Trajectory Diversity Score per prompt (docs/papers/mmr1_vas.md step 3): ``"distinct_n"`` or
    ``"edit_distance"`` (normalised). Self-BLEU is not implemented."""
    if kind == "distinct_n":
        return np.array([distinct_n(r, n) for r in responses_per_prompt])
    if kind == "edit_distance":
        return np.array([mean_edit_distance(r) for r in responses_per_prompt])
    raise ValueError(f"kind must be 'distinct_n' or 'edit_distance', got {kind!r}")


def vps_weights(
    ovs, tds=None, *, alpha: float = 1.0, beta: float = 0.0, previous=None, momentum: float = 0.0
) -> np.ndarray:
    """Sampling weights from the Variance Promotion Score (docs/papers/mmr1_vas.md steps 4-5).

    ``VPS = alpha OVS + beta TDS``; ``w = (VPS - min) / (max - min + 1e-8)``; with ``previous``
    weights and ``momentum`` m: ``w <- m previous + (1 - m) w`` (released config: OVS only, m = 0).
    """
    o = as_float_array(ovs, "ovs", ndim=1)
    if o.size == 0:
        raise ValueError("ovs must not be empty")
    v = alpha * o
    if tds is not None:
        t = as_float_array(tds, "tds", ndim=1)
        if t.shape != o.shape:
            raise ValueError(f"tds must have shape {o.shape} like ovs, got {t.shape}")
        v = v + beta * t
    elif beta != 0:
        raise ValueError("beta != 0 needs tds (trajectory diversity scores)")
    w = (v - v.min()) / (v.max() - v.min() + 1e-8)
    if previous is not None:
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must lie in [0, 1], got {momentum}")
        p = as_float_array(previous, "previous", ndim=1)
        if p.shape != w.shape:
            raise ValueError(f"previous must have shape {w.shape}, got {p.shape}")
        w = momentum * p + (1 - momentum) * w
    return w


class MixtureSampler:
    """MMR1's mixed curriculum sampler (docs/papers/mmr1_vas.md step 6).

    Each batch of ``batch_size`` prompt indices holds ``floor(mixture_ratio * batch_size)`` draws
    with replacement proportional to ``weights`` and the rest from a shuffled uniform pass over the
    dataset (a new permutation when one is used up), the two streams interleaved (weighted first).
    All-zero weights fall back to uniform draws in the weighted stream.

    Parameters
    ----------
    weights : array_like (n_prompts,), >= 0
    batch_size : int
    mixture_ratio : float in [0, 1]
    rng : numpy.random.Generator
    """

    def __init__(self, weights, batch_size: int, *, mixture_ratio: float = 0.5, rng: np.random.Generator):
        self.rng = check_rng(rng)
        self.batch_size = check_positive_int(batch_size, "batch_size")
        lam = float(mixture_ratio)
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"mixture_ratio must lie in [0, 1], got {lam}")
        self.mixture_ratio = lam
        self.update(weights)
        self._perm = self.rng.permutation(self.n_prompts)
        self._pos = 0

    def update(self, weights) -> None:
        """Replace the weights (after a refresh)."""
        w = as_float_array(weights, "weights", ndim=1)
        if w.size == 0:
            raise ValueError("weights must not be empty")
        if np.any(w < 0):
            raise ValueError("weights must be >= 0")
        if hasattr(self, "weights") and w.size != self.weights.size:
            raise ValueError(f"weights must keep the dataset size {self.weights.size}, got {w.size}")
        self.weights = w
        self.n_prompts = w.size

    @property
    def n_weighted(self) -> int:
        return int(math.floor(self.mixture_ratio * self.batch_size))

    def _probs(self) -> np.ndarray:
        s = self.weights.sum()
        return self.weights / s if s > 0 else np.full(self.n_prompts, 1.0 / self.n_prompts)

    def draw_probabilities(self) -> np.ndarray:
        """Expected fraction of a batch taken by each prompt:
        ``(nw / B) w / sum w + (1 - nw / B) / n_prompts`` (>= ``(1 - lambda) / n`` each)."""
        lw = self.n_weighted / self.batch_size
        return lw * self._probs() + (1 - lw) / self.n_prompts

    def sample(self) -> np.ndarray:
        """Next batch of prompt indices, shape (batch_size,)."""
        nw = self.n_weighted
        nu = self.batch_size - nw
        wdraw = self.rng.choice(self.n_prompts, size=nw, replace=True, p=self._probs())
        udraw = np.empty(nu, dtype=np.int64)
        for i in range(nu):  # a pass over the permutation (at most batch_size steps)
            if self._pos == self.n_prompts:
                self._perm, self._pos = self.rng.permutation(self.n_prompts), 0
            udraw[i] = self._perm[self._pos]
            self._pos += 1
        out = np.empty(self.batch_size, dtype=np.int64)
        m = min(nw, nu)
        out[0 : 2 * m : 2], out[1 : 2 * m : 2] = wdraw[:m], udraw[:m]
        out[2 * m :] = wdraw[m:] if nw > nu else udraw[m:]
        return out


def variance_gradient_bounds(pi, r) -> dict:
    """Exact gradient norms of a softmax policy over a finite response set and MMR1's lower bounds.

    For logits ``z`` with ``pi = softmax(z)`` and rewards ``r`` (docs/papers/mmr1_vas.md claim 1):
    ``E||g||^2 = sum_y pi_y (r_y - J)^2 ||e_y - pi||^2 >= c_pi Var(r)``, ``c_pi = min_y ||e_y - pi||^2``,
    for the single-sample estimator ``g = (r(y) - J) grad log pi(y)``, and
    ``||grad J||^2 = sum_y pi_y^2 (r_y - J)^2 >= (min_y pi_y) Var(r)``.

    Returns a dict with ``expected_sq_norm``, ``c_pi``, ``exact_sq_norm``, ``min_pi``, ``var``.
    """
    p = as_float_array(pi, "pi", ndim=1)
    rr = as_float_array(r, "r", ndim=1)
    if p.shape != rr.shape:
        raise ValueError(f"pi and r must have the same shape, got {p.shape} and {rr.shape}")
    if np.any(p < 0) or abs(p.sum() - 1) > 1e-8:
        raise ValueError("pi must be a probability vector")
    J = float(p @ rr)
    d = rr - J
    var = float(p @ d**2)
    sq = 1.0 - 2.0 * p + float(p @ p)  # ||e_y - pi||^2
    return {
        "expected_sq_norm": float(p @ (d**2 * sq)),
        "c_pi": float(sq.min()),
        "exact_sq_norm": float(np.sum((p * d) ** 2)),
        "min_pi": float(p.min()),
        "var": var,
    }


# --------------------------------------------------------------------------------------------
# iGRPO
# --------------------------------------------------------------------------------------------
@result
class IGRPORollout:
    """Result of :func:`igrpo_rollout` (refinement rows only; drafts carry no gradient).

    Attributes
    ----------
    prompts : list
        Conditioned prompt ``q' = template(q, d*)`` of each refinement row (rows,).
    responses : list
        Refinements ``y`` (rows,).
    rewards : numpy.ndarray (rows,)
    group_ids : numpy.ndarray (rows,) int64
        Index of the original prompt.
    advantages : torch.Tensor (rows,)
        GRPO advantages of the refinements within each prompt's group.
    draft_rewards : numpy.ndarray (prompts, n_drafts)
    best_draft : numpy.ndarray (prompts,) int64
        Index of the selected draft.
    zero_variance : numpy.ndarray (prompts,) bool
        Refinement groups with equal rewards (no GRPO signal; e.g. a correct draft copied).
    """

    prompts: list
    responses: list
    rewards: np.ndarray
    group_ids: np.ndarray
    advantages: Any
    draft_rewards: np.ndarray
    best_draft: np.ndarray
    zero_variance: np.ndarray


def _default_template(prompt, draft):
    if isinstance(prompt, str) and isinstance(draft, str):
        return f"{prompt}\n\nHere is a previous attempt:\n{draft}\n\nImprove on it and give a complete final answer."
    return (prompt, draft)


def _call_n(fn, name, prompt, n, rng):
    out = list(fn(prompt, n, rng))
    if len(out) != n:
        raise ValueError(f"{name} must return {n} responses for one prompt, got {len(out)}")
    return out


def igrpo_rollout(
    prompts: Sequence,
    *,
    draft_fn: Callable,
    refine_fn: Callable,
    reward_fn: Callable,
    n_drafts: int,
    group_size: int,
    rng: np.random.Generator,
    template: Callable | None = None,
    tie: str = "first",
    eps: float = 1e-6,
) -> IGRPORollout:
    """iGRPO's two-stage rollout (docs/papers/igrpo.md "Algorithm").

    Stage 1: ``draft_fn(q, n_drafts, rng)`` -> drafts, scored by ``reward_fn(q, d)``; ``d*`` is the
    argmax (``tie="first"`` or ``"random"``). Stage 2: ``refine_fn(template(q, d*), group_size, rng)``
    -> refinements ``y``, rewarded by ``reward_fn(q, y)`` against the *original* prompt; advantages
    ``A_i = (r_i - mean r) / (std r + eps)`` (unbiased std) within each prompt's group.

    Budget matching (``n_drafts + group_size`` equal to the baseline GRPO group) is the caller's.
    """
    import torch

    rng = check_rng(rng)
    nd = check_positive_int(n_drafts, "n_drafts")
    G = check_positive_int(group_size, "group_size", minimum=2)
    if tie not in ("first", "random"):
        raise ValueError(f"tie must be 'first' or 'random', got {tie!r}")
    prompts = list(prompts)
    if not prompts:
        raise ValueError("prompts must not be empty")
    tmpl = _default_template if template is None else template
    draft_rewards = np.empty((len(prompts), nd))
    best = np.empty(len(prompts), dtype=np.int64)
    rows_p, rows_y, rows_r, gids = [], [], [], []
    for p_idx, q in enumerate(prompts):
        drafts = _call_n(draft_fn, "draft_fn", q, nd, rng)
        dr = np.array([float(reward_fn(q, d)) for d in drafts])
        if not np.all(np.isfinite(dr)):
            raise ValueError(f"reward_fn returned a non-finite draft reward for prompt {p_idx}")
        draft_rewards[p_idx] = dr
        top = np.flatnonzero(dr == dr.max())
        j = int(top[0] if tie == "first" else rng.choice(top))
        best[p_idx] = j
        q2 = tmpl(q, drafts[j])
        ys = _call_n(refine_fn, "refine_fn", q2, G, rng)
        rs = [float(reward_fn(q, y)) for y in ys]
        if not np.all(np.isfinite(rs)):
            raise ValueError(f"reward_fn returned a non-finite refinement reward for prompt {p_idx}")
        rows_p += [q2] * G
        rows_y += ys
        rows_r += rs
        gids += [p_idx] * G
    r = np.asarray(rows_r)
    R = r.reshape(len(prompts), G)
    zero_var = np.all(R == R[:, :1], axis=1)
    rt = torch.as_tensor(R)
    adv = (rt - rt.mean(1, keepdim=True)) / (rt.std(1, keepdim=True) + float(eps))
    return IGRPORollout(
        rows_p, rows_y, r, np.asarray(gids, dtype=np.int64), adv.reshape(-1), draft_rewards, best, zero_var
    )


def best_of_n_success(p, n: int):
    """``P(max of n Bernoulli(p) draws = 1) = 1 - (1 - p)^n`` (docs/papers/igrpo.md claim 1)."""
    n = check_positive_int(n, "n")
    p = np.asarray(p, dtype=float)
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must lie in [0, 1]")
    return 1.0 - (1.0 - p) ** n
