"""HAPO's token-level adaptive parts: normalised entropy, adaptive temperature, token-level group
advantages, differential advantage redistribution and asymmetric adaptive clipping.

Source: Liu et al. (2025), *From Uniform to Heterogeneous: Tailoring Policy Optimization to Every
Token's Nature* (HAPO), arXiv:2509.16591; formulas as confirmed from the official code in
``docs/papers/hapo.md`` ("Algorithm"): normalised entropy :math:`\\hat h` (entropy pivot
quantile on log-entropy), (1) adaptive temperature :math:`T_t = T(1 + \\tau \\hat h_t)`, (2) the
token-level group average advantage

.. math::

    \\mu_g = \\frac{\\sum_i L_i r_i}{\\sum_i L_i},\\quad
    \\sigma_g^2 = \\frac{\\sum_i L_i (r_i - \\mu_g)^2}{\\sum_i L_i},\\quad
    A_i = \\frac{r_i - \\mu_g}{\\sigma_g + 10^{-6}}

with the per-group GRPO fallback when some :math:`|A_i| \\ge 5`, (3) redistribution
:math:`A' = A(1 + \\beta\\hat h)` (high-entropy tokens outside the neutral ratio band
:math:`(1-\\varepsilon_l/2, 1+\\varepsilon_h/2)`, low-entropy tokens inside it), (4) clipping
bounds :math:`\\varepsilon_l' = \\varepsilon_l(1 - \\alpha\\hat h)` for :math:`\\hat h \\le 0` and
:math:`\\varepsilon_h' = \\varepsilon_h(1 + \\alpha\\hat h)` for :math:`\\hat h > 0`, and a token-mean
PPO-clip loss with dual clip ``c = 10`` for negative advantages.

Shapes: ``(rows, tokens)`` for every token-level tensor, ``(rows,)`` for rewards and group ids.
All functions are vectorised (scatter-adds over group codes; ``O(rows * tokens)`` plus one
quantile, ``O(n log n)`` over the valid tokens).
"""

from __future__ import annotations

from mdp._common import result
from mdp.llm.bpo import _float, _group_codes, _tensor, aggregate

__all__ = [
    "EntropyStats",
    "normalized_entropy",
    "nearest_quantile",
    "apply_entropy_stats",
    "hapo_temperature",
    "hapo_token_advantages",
    "hapo_redistribute",
    "hapo_clip_bounds",
    "hapo_token_losses",
    "hapo_policy_loss",
]


@result
class EntropyStats:
    """Statistics of one batch's log-entropies, reused by the sampler at the next step.

    Attributes: ``pivot`` (the ``entropy_pivot`` quantile ``m`` of ``log H``), ``sd``
    (``sqrt(mean((log H - m)^2))``), ``scale_pos`` (max of the positive standardised values),
    ``scale_neg`` (``|min|`` of the non-positive ones).
    """

    pivot: float
    sd: float
    scale_pos: float
    scale_neg: float


def _mask_like(response_mask, like):
    mask = _tensor(response_mask, "response_mask")
    if tuple(mask.shape) != tuple(like.shape):
        raise ValueError(f"response_mask must have shape {tuple(like.shape)}, got {tuple(mask.shape)}")
    m = mask.to(like.dtype)
    if bool(((m != 0) & (m != 1)).any()):
        raise ValueError("response_mask must hold only 0/1 (or booleans)")
    return m > 0


def normalized_entropy(entropies, response_mask, *, pivot: float = 0.8):
    """HAPO's normalised token entropy :math:`\\hat h \\in [-1, 1]` (``compute_entropy_h``).

    ``e = log(max(H, 1e-8))``; ``m`` = the ``pivot`` quantile of ``e`` over valid tokens (torch's
    ``"nearest"`` interpolation, computed by ``nearest_quantile`` so any number of tokens
    works: ``torch.quantile`` stops at 2^24 elements); ``h = (e - m) / sd`` with
    ``sd = sqrt(mean((e - m)^2))``; then positive values are divided by their maximum and
    non-positive ones by ``|min|``.

    Parameters
    ----------
    entropies : tensor, shape (rows, tokens), >= 0 and finite on valid tokens (padding may hold
        anything, NaN included; it is ignored)
    response_mask : tensor, shape (rows, tokens), 0/1 with at least one valid token
    pivot : float in [0, 1]
        ``entropy_pivot`` (0.8 in the HAPO recipes; 0.5 = the median).

    Returns
    -------
    (torch.Tensor (rows, tokens), EntropyStats)
        ``h_hat`` (0 off the mask) and the statistics for ``apply_entropy_stats``.
    """
    import torch

    H = _float(entropies, "entropies", finite=False)
    if H.dim() != 2:
        raise ValueError(f"entropies must be (rows, tokens), got shape {tuple(H.shape)}")
    if not 0.0 <= float(pivot) <= 1.0:
        raise ValueError(f"pivot must lie in [0, 1], got {pivot}")
    valid = _mask_like(response_mask, H)
    if not bool(valid.any()):
        raise ValueError("response_mask has no valid token (all zeros)")
    from mdp.llm.bpo import _valid_only

    H = torch.where(valid, _valid_only(H, valid, "entropies"), torch.ones((), dtype=H.dtype))
    if bool((H < 0).any()):
        raise ValueError("entropies must be >= 0")
    e = torch.log(torch.clamp(H, min=1e-8))
    ev = e[valid]
    m = nearest_quantile(ev, float(pivot))
    sd = torch.sqrt(torch.mean((ev - m) ** 2))
    h = torch.where(sd > 0, (e - m) / torch.where(sd > 0, sd, torch.ones_like(sd)), torch.zeros_like(e))
    hv = h[valid]
    pos = hv[hv > 0]
    neg = hv[hv <= 0]
    sp = pos.max() if pos.numel() else h.new_tensor(0.0)
    sn = (-neg.min()) if neg.numel() else h.new_tensor(0.0)
    stats = EntropyStats(float(m), float(sd), float(sp), float(sn))
    return _scale(h, sp, sn) * valid, stats


_TORCH_QUANTILE_MAX = 2**24  # torch.quantile rejects larger inputs; its float32 rank is exact below


def nearest_quantile(values, q: float):
    """The ``q`` quantile of a 1-D tensor with ``torch.quantile(..., interpolation="nearest")``'s
    definition, for any number of elements.

    ``torch.quantile`` sorts and takes the element of 0-based rank ``round(q (n - 1))`` (round half
    to even, the rank computed in the input dtype); it refuses inputs above 2^24 elements. Here the
    same rank is computed (in the input dtype up to 2^24 elements, so results are identical, in
    float64 beyond, where float32 cannot represent ``n - 1``) and the element is found with
    ``torch.kthvalue`` (``O(n)``).
    """
    import torch

    v = values.reshape(-1)
    n = v.numel()
    if n == 0:
        raise ValueError("nearest_quantile needs at least one value")
    if v.dtype not in (torch.float32, torch.float64):
        v = v.to(torch.float32)
    rank_dtype = v.dtype if n <= _TORCH_QUANTILE_MAX else torch.float64
    rank = torch.round(torch.tensor(float(q), dtype=rank_dtype) * (n - 1))
    k = min(max(int(rank.item()), 0), n - 1)
    return torch.kthvalue(v, k + 1).values.to(values.dtype)


def _scale(h, sp, sn):
    """Divide positive values by ``sp`` and non-positive ones by ``sn`` (0 where a scale is 0)."""
    import torch

    sp, sn = float(sp), float(sn)
    up = h / sp if sp > 0 else torch.zeros_like(h)
    dn = h / sn if sn > 0 else torch.zeros_like(h)
    return torch.where(h > 0, up, dn)


def apply_entropy_stats(entropies, stats: EntropyStats):
    """:math:`\\hat h` of new tokens with a previous batch's :class:`EntropyStats`, clamped to
    ``[-1, 1]`` (what HAPO's patched sampler uses)."""
    import torch

    H = _float(entropies, "entropies")
    e = torch.log(torch.clamp(H, min=1e-8))
    h = (e - stats.pivot) / stats.sd if stats.sd > 0 else torch.zeros_like(e)
    sp, sn = h.new_tensor(stats.scale_pos), h.new_tensor(stats.scale_neg)
    return torch.clamp(_scale(h, sp, sn), -1.0, 1.0)


def hapo_temperature(h_hat, temperature: float = 1.0, tau: float = 0.05):
    """Adaptive sampling temperature ``T_t = T (1 + tau clamp(h_hat, -1, 1))`` (docs/papers/hapo.md (1))."""
    import torch

    h = _float(h_hat, "h_hat")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0 <= tau < 1:
        raise ValueError(f"tau must lie in [0, 1), got {tau}")
    return float(temperature) * (1.0 + float(tau) * torch.clamp(h, -1.0, 1.0))


def hapo_token_advantages(
    rewards,
    group_ids,
    response_mask,
    *,
    eps: float = 1e-6,
    fallback: float = 5.0,
    grpo_eps: float = 1e-6,
    zero_variance: str = "zero",
):
    """Token-level group average advantage (docs/papers/hapo.md (2), ``compute_hapo_outcome_advantage``).

    Parameters
    ----------
    rewards : tensor, shape (rows,)
        Sequence rewards ``r_i``.
    group_ids : integer tensor, shape (rows,)
    response_mask : tensor, shape (rows, tokens)
        ``L_i`` = number of valid tokens of row ``i``. A row with ``L_i = 0`` (an empty response,
        allowed by :class:`~mdp.llm.batch.RolloutBatch`) has weight 0 in ``mu_g, sigma_g`` and no
        token to carry an advantage (its output row is 0); its reward still counts in the GRPO
        fallback's group mean/std (verl's GRPO reads every row's score).
    eps : float
        Added to the token-level population std.
    fallback : float
        If some ``|A_i| >= fallback`` in a group, that group uses the GRPO advantage
        ``(r_i - mean) / (std + grpo_eps)`` (unbiased std; a singleton group gets ``r_i``, verl's
        mean-0/std-1 convention).
    zero_variance : {"zero", "formula"}
        ``"zero"`` (default, as the ``grpo`` estimator): a group whose rows with tokens all
        have the same reward gets exactly 0 (in float32 the computed ``sigma_g`` is rounding
        residue ~1e-8, not 0, and ``dev / (sigma_g + eps)`` would be far from 0);
        ``"formula"``: the literal formula (HAPO's code).

    Returns
    -------
    torch.Tensor, shape (rows, tokens)
        ``A_i`` on the valid tokens, 0 elsewhere; ``sum_i L_i A_i = 0`` per group (token-weighted
        zero mean) whenever the group does not fall back.
    """
    import torch

    from mdp.llm.segments import constant_groups, gather, segment_count, segment_mean, segment_sum

    r = _float(rewards, "rewards")
    if r.dim() != 1 or r.numel() == 0:
        raise ValueError(f"rewards must be a non-empty 1-D tensor (rows,), got shape {tuple(r.shape)}")
    mask = _float(response_mask, "response_mask").to(r.dtype)
    if mask.dim() != 2 or mask.shape[0] != r.shape[0]:
        raise ValueError(f"response_mask must be (rows, tokens) with {r.shape[0]} rows, got {tuple(mask.shape)}")
    valid = _mask_like(mask, mask)
    if zero_variance not in ("zero", "formula"):
        raise ValueError(f"zero_variance must be 'zero' or 'formula', got {zero_variance!r}")
    codes, n = _group_codes(group_ids, r.shape[0])
    L = valid.sum(1).to(r.dtype)
    has = L > 0
    Lsum = segment_sum(L, codes, n)
    Lsum = torch.where(Lsum > 0, Lsum, torch.ones_like(Lsum))  # a group of empty rows: no tokens at all
    mu = segment_sum(L * r, codes, n) / Lsum
    dev = r - gather(mu, codes)
    sig = torch.sqrt(segment_sum(L * dev * dev, codes, n) / Lsum)
    adv = dev / (gather(sig, codes) + float(eps))
    bad = segment_sum(((adv.abs() >= fallback) & has).to(r.dtype), codes, n) > 0
    # GRPO fallback (verl: unbiased std, singleton -> mean 0 / std 1)
    cnt = segment_count(codes, n, dtype=r.dtype)
    m = segment_mean(r, codes, n)
    d2 = r - gather(m, codes)
    var = segment_sum(d2 * d2, codes, n) / torch.clamp(cnt - 1, min=1)
    std = torch.where(cnt > 1, var.sqrt(), torch.ones_like(var))
    m = torch.where(cnt > 1, m, torch.zeros_like(m))
    grpo = (r - gather(m, codes)) / (gather(std, codes) + float(grpo_eps))
    out = torch.where(gather(bad, codes), grpo, adv)
    if zero_variance == "zero":
        const = constant_groups(r[has], codes[has], n)
        out = torch.where(gather(const, codes), torch.zeros_like(out), out)
    out = torch.where(has, out, torch.zeros_like(out))
    return out.unsqueeze(1) * valid.to(r.dtype)


def hapo_redistribute(advantages, h_hat, ratio, *, eps_low: float = 0.2, eps_high: float = 0.2, beta: float = 1.0):
    """Differential advantage redistribution (docs/papers/hapo.md (3)).

    High-entropy tokens (``h_hat > 0``) are amplified, ``A (1 + beta h_hat)``, when the ratio is
    outside the neutral band ``(1 - eps_low/2, 1 + eps_high/2)``; low-entropy tokens are damped,
    ``A (1 + beta h_hat)``, when it is inside. All inputs ``(rows, tokens)`` (advantages may be
    ``(rows,)``).
    """
    import torch

    h = _float(h_hat, "h_hat")
    rho = _float(ratio, "ratio").to(h.dtype)
    a = _float(advantages, "advantages").to(h.dtype)
    if a.dim() == 1:
        a = a.unsqueeze(1).expand_as(h)
    if a.shape != h.shape or rho.shape != h.shape:
        raise ValueError(
            f"advantages, h_hat and ratio must share the shape (rows, tokens); got "
            f"{tuple(a.shape)}, {tuple(h.shape)}, {tuple(rho.shape)}"
        )
    in_band = (rho > 1.0 - eps_low / 2) & (rho < 1.0 + eps_high / 2)
    scaled = a * (1.0 + float(beta) * h)
    return torch.where(h > 0, torch.where(in_band, a, scaled), torch.where(in_band, scaled, a))


def hapo_clip_bounds(h_hat, *, eps_low: float = 0.2, eps_high: float = 0.2, alpha: float = 1.0):
    """Asymmetric adaptive clip bounds ``(eps_low', eps_high')`` per token (docs/papers/hapo.md (4)).

    ``eps_low' = eps_low (1 - alpha h_hat)`` where ``h_hat <= 0`` (else ``eps_low``);
    ``eps_high' = eps_high (1 + alpha h_hat)`` where ``h_hat > 0`` (else ``eps_high``).
    """
    import torch

    h = _float(h_hat, "h_hat")
    lo = torch.where(h <= 0, eps_low * (1.0 - alpha * h), torch.full_like(h, eps_low))
    hi = torch.where(h > 0, eps_high * (1.0 + alpha * h), torch.full_like(h, eps_high))
    return lo, hi


def hapo_token_losses(
    log_probs,
    old_log_probs,
    advantages,
    response_mask,
    *,
    h_hat=None,
    entropies=None,
    pivot: float = 0.8,
    eps_low: float = 0.2,
    eps_high: float = 0.2,
    alpha: float = 1.0,
    beta: float = 1.0,
    dual_clip: float = 10.0,
    redistribute: bool = True,
    adaptive_clip: bool = True,
):
    """Per-token HAPO PPO-clip loss (``(rows, tokens)``, zero off the mask).

    ``loss = -min(rho A', clip(rho, 1 - eps_low', 1 + eps_high') A')``, and for ``A' < 0`` it is
    capped at ``-dual_clip A'`` (dual clip). ``h_hat`` is taken as given or computed from
    ``entropies`` by :func:`normalized_entropy`; with ``redistribute=False, adaptive_clip=False``
    this is plain dual-clip PPO.
    """
    import torch

    from mdp.llm.bpo import _token_inputs, _valid_only

    lp, old, adv, mask = _token_inputs(log_probs, old_log_probs, advantages, response_mask)
    if h_hat is None:
        if entropies is None:
            raise ValueError("hapo_token_losses needs h_hat or entropies (token entropies of the behaviour policy)")
        h_hat, _ = normalized_entropy(entropies, mask, pivot=pivot)
    h = _float(h_hat, "h_hat", finite=False).to(lp.dtype)
    if h.shape != lp.shape:
        raise ValueError(f"h_hat must have shape {tuple(lp.shape)}, got {tuple(h.shape)}")
    h = _valid_only(h, mask, "h_hat")
    if not dual_clip > 1:
        raise ValueError(f"dual_clip must be > 1, got {dual_clip}")
    rho = torch.exp(lp - old)
    a = hapo_redistribute(adv, h, rho, eps_low=eps_low, eps_high=eps_high, beta=beta) if redistribute else adv
    if adaptive_clip:
        lo, hi = hapo_clip_bounds(h, eps_low=eps_low, eps_high=eps_high, alpha=alpha)
    else:
        lo, hi = torch.full_like(h, eps_low), torch.full_like(h, eps_high)
    clipped = torch.minimum(torch.maximum(rho, 1.0 - lo), 1.0 + hi)
    loss = torch.maximum(-rho * a, -clipped * a)
    loss = torch.where(a < 0, torch.minimum(loss, -float(dual_clip) * a), loss)
    return loss * mask


def hapo_policy_loss(
    log_probs, old_log_probs, advantages, response_mask, *, loss_agg_mode: str = "token-mean", **kwargs
):
    """Scalar HAPO loss: ``hapo_token_losses`` aggregated (token-mean in the HAPO recipes)."""
    losses = hapo_token_losses(log_probs, old_log_probs, advantages, response_mask, **kwargs)
    mask = _tensor(response_mask, "response_mask").to(losses.dtype)
    return aggregate(losses, mask, loss_agg_mode)


# --------------------------------------------------------------------------------------------
# registration: the "hapo" estimator (token-level group average) and the "hapo" policy loss
# --------------------------------------------------------------------------------------------
def _hapo_estimator(batch, *, eps=1e-6, fallback=5.0, grpo_eps=1e-6, zero_variance="zero"):
    """HAPO token-level group average advantage ``(r_i - mu_g)/(sigma_g + eps)`` over the group's
    tokens, GRPO fallback per group when some ``|A| >= fallback``; returns ``(rows, tokens)``.
    Zero-variance groups get 0 (``zero_variance="zero"``, as grpo); rows with an all-zero
    response mask get zero token advantages (the RolloutBatch convention)."""
    return hapo_token_advantages(
        batch.sequence_rewards(),
        batch.group_ids,
        batch.response_mask,
        eps=eps,
        fallback=fallback,
        grpo_eps=grpo_eps,
        zero_variance=zero_variance,
    ).to(batch.dtype)


def _hapo_policy_loss(
    logp,
    old_logp,
    adv,
    mask,
    *,
    h_hat=None,
    entropies=None,
    pivot=0.8,
    eps_low=0.2,
    eps_high=0.2,
    alpha=1.0,
    beta=1.0,
    dual_clip=10.0,
    redistribute=True,
    adaptive_clip=True,
):
    """``policy_loss("hapo", ..., entropies=H)``: per-token HAPO loss (redistribution + adaptive clip)."""
    import torch

    per_tok = hapo_token_losses(
        logp,
        old_logp,
        adv,
        mask,
        h_hat=h_hat,
        entropies=entropies,
        pivot=pivot,
        eps_low=eps_low,
        eps_high=eps_high,
        alpha=alpha,
        beta=beta,
        dual_clip=dual_clip,
        redistribute=redistribute,
        adaptive_clip=adaptive_clip,
    )
    return per_tok, torch.exp(logp - old_logp), {}


def _register() -> None:
    from mdp.llm.losses import register_policy_loss
    from mdp.llm.registry import register_estimator

    register_estimator(
        "hapo",
        _hapo_estimator,
        needs=("group_ids", "response_mask"),
        options={"eps": 1e-6, "fallback": 5.0, "grpo_eps": 1e-6, "zero_variance": "zero"},
        paper="HAPO, Liu et al. 2025, arXiv:2509.16591 (docs/papers/hapo.md)",
        equation="mu_g = sum L_i r_i / sum L_i; sigma_g^2 = sum L_i (r_i - mu_g)^2 / sum L_i; A_i = (r_i - mu_g)/(sigma_g + eps)",
        replace=True,
    )
    register_policy_loss("hapo", _hapo_policy_loss, replace=True)


_register()
