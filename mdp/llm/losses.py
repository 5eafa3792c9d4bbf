r"""PPO-style policy losses, loss aggregation modes and KL estimators.

Shapes: ``logp``, ``old_logp``, ``ref_logp``, ``mask`` are ``(rows, tokens)``; ``advantages`` is
``(rows,)`` (broadcast over tokens) or ``(rows, tokens)``. Losses are to be *minimised*.

Policy losses (``policy_loss(kind, ...)``)
------------------------------------------
``"ppo"`` — PPO-clip (Schulman et al. 2017, Eq. 7) with decoupled bounds (clip-higher, DAPO: Yu et
al. 2025, arXiv:2503.14476, Eq. 10) and optional dual clip (Ye et al. 2020, arXiv:1912.09729, Eq. 5)::

    rho = exp(logp - old_logp)
    l   = max(-A rho, -A clip(rho, 1 - eps_low, 1 + eps_high))
    l   = min(l, -A c)            where A < 0, when dual_clip = c (> 1) is given

``"gspo"`` — GSPO (Zheng et al. 2025, arXiv:2507.18071, Eq. 5-7): one length-normalised
sequence ratio ``s_i = exp(mean_t (logp - old_logp))`` per row, clipped like PPO; per-token value
``s_i`` with gradient ``s_i * grad logp_t`` (verl's stop-gradient form), aggregated with
``"seq-mean-token-mean"`` by default.

Padding (``mask == 0``) may hold anything, NaN and ``-inf`` included (e.g. ``log_softmax`` over a
masked vocabulary): every per-token input (``logp``, ``old_logp``, ``ref_logp``, ``advantages``,
HAPO's ``entropies``/``h_hat``) is checked for finiteness only where ``mask == 1`` and replaced by
0 elsewhere with ``torch.where`` before any arithmetic, so neither the loss, the metrics nor the
gradient (exactly 0 at padding) see it. The same rule holds for every registered kind (``ppo``,
``gspo``, ``bpo``, ``hapo``), for :func:`agg_loss` and for the functional forms
:func:`mdp.llm.bpo.bpo_loss` and :func:`mdp.llm.hapo.hapo_policy_loss`. A non-finite value on a
valid token is a ``ValueError`` naming the input and the index.

An optional KL penalty to a reference policy is added per token: ``l + kl_coef * k(logp, ref)``
(TRL's ``beta`` with ``k3``; verl's ``use_kl_loss`` with ``kl_loss_type``).

Aggregation modes (named by formula; ``l`` the per-token loss, ``m`` the mask, ``B`` rows,
``B'`` rows with at least one token, ``C`` a constant, default the token-axis length)
-------------------------------------------------------------------------------------------------

=============================  ==================================  =====================  ===========================
mode                           formula                             TRL ``loss_type``      verl ``loss_agg_mode``
=============================  ==================================  =====================  ===========================
``token-mean``                 sum_it m l / sum_it m               ``"bnpo"``; ``"dapo"``  ``"token-mean"``
                                                                   (global token count)
``seq-mean-token-mean``        (1/B') sum_i [sum_t m l / sum_t m]  ``"grpo"`` (divides    ``"seq-mean-token-mean"``
                                                                   by B, see below)
``seq-mean-token-sum``         (1/B') sum_i sum_t m l              (``"luspo"`` with      ``"seq-mean-token-sum"``
                                                                   sequence ratios)
``seq-mean-token-sum-norm``    sum_it m l / (B * C)                ``"dr_grpo"``          —  (verl's mode of this name
                               (Dr.GRPO, Liu et al. 2025 Eq. 3;    (C = max_completion_   omits 1/B: use
                               constant normaliser)                 length)                ``token-sum-norm``)
``token-sum-norm``             sum_it m l / C                      —                      ``"seq-mean-token-sum-norm"``
                                                                                          (C = ``loss_scale_factor``,
                                                                                          default tokens)
=============================  ==================================  =====================  ===========================

The exact framework formulas are also selectable by name: ``"trl:grpo"`` (``mean_i`` over *all*
``B`` rows of ``sum_t m l / max(sum_t m, 1)``: empty rows count in the denominator),
``"trl:bnpo"``, ``"trl:dapo"`` (= token-mean over the batch given), ``"trl:dr_grpo"`` (= the
``B * C`` mode), ``"verl:token-mean"``, ``"verl:seq-mean-token-mean"``, ``"verl:seq-mean-token-sum"``,
``"verl:seq-mean-token-sum-norm"`` (= ``token-sum-norm``). Rows whose mask is all zero contribute
nothing and are excluded from ``B'`` (verl; the documented RolloutBatch convention).

KL estimators (``kl_estimate(logp, ref_logp, kind)``; Schulman 2020, "Approximating KL divergence")
---------------------------------------------------------------------------------------------------
With ``log r = ref_logp - logp`` (samples from the current policy):

==================  =================================  ===================================
kind (aliases)      value                              notes
==================  =================================  ===================================
``k1`` (``kl``)     ``logp - ref_logp``                unbiased, high variance, can be < 0
``abs``             ``|logp - ref_logp|``              verl ``"abs"``
``k2`` (``mse``)    ``0.5 (logp - ref_logp)^2``        biased, low variance
``k3``              ``exp(log r) - log r - 1``         unbiased, >= 0 (TRL GRPO's per-token KL)
``low_var_kl``      k3 with ``log r`` clamped to       verl ``"low_var_kl"`` (and verl's
                    [-20, 20], value to [-10, 10]      ``"k3"`` alias)
``k1+``, ``k3+``,   forward value of the base kind,    verl's straight-through variants
``low_var_kl+``     gradient of k2
==================  =================================  ===================================
"""

from __future__ import annotations

from typing import Callable

import torch

from mdp._common import result
from mdp.llm.batch import _check_finite  # the one finiteness check of mdp.llm

__all__ = [
    "policy_loss",
    "agg_loss",
    "kl_estimate",
    "PolicyLossResult",
    "AGG_MODES",
    "KL_KINDS",
    "register_policy_loss",
    "list_policy_losses",
]

#: The ``mode`` values :func:`agg_loss` accepts (how token losses become a scalar).
AGG_MODES = ("token-mean", "seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm", "token-sum-norm")
_AGG_ALIASES = {
    "trl:bnpo": "token-mean",
    "trl:dapo": "token-mean",
    "trl:dr_grpo": "seq-mean-token-sum-norm",
    "trl:grpo": "trl:grpo",
    "verl:token-mean": "token-mean",
    "verl:seq-mean-token-mean": "seq-mean-token-mean",
    "verl:seq-mean-token-sum": "seq-mean-token-sum",
    "verl:seq-mean-token-sum-norm": "token-sum-norm",
}
#: The ``kind`` values :func:`kl_estimate` accepts (estimators of the KL to the reference policy).
KL_KINDS = ("k1", "kl", "abs", "k2", "mse", "k3", "low_var_kl", "k1+", "kl+", "k3+", "low_var_kl+")


# ------------------------------------------------------------------------------------------------
# checks


def _as_tensor(x, name, like=None):
    if not isinstance(x, torch.Tensor):
        import numpy as np

        try:
            arr = np.asarray(x, dtype=np.float64)
        except Exception:
            raise TypeError(f"{name} must be a tensor or array of numbers, got {type(x).__name__}") from None
        x = torch.from_numpy(arr if arr.flags.writeable else arr.copy())  # rlab results are read-only
        if like is not None:
            x = x.to(like.device, like.dtype)
    return x


def _check_pair(a, b, name_a, name_b):
    if a.shape != b.shape:
        raise ValueError(f"{name_b} must have the shape of {name_a} {tuple(a.shape)}, got {tuple(b.shape)}")


def _keep_valid(t, mask):
    """``t`` where ``mask > 0``, 0 elsewhere (NaN/inf padding dropped; gradient 0 at padding)."""
    return torch.where(mask > 0, t, torch.zeros((), dtype=t.dtype, device=t.device))


def _mask_tensor(mask, like):
    if mask is None:
        return torch.ones_like(like)
    mask = _as_tensor(mask, "mask", like)
    _check_pair(like, mask, "logp", "mask")
    if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must contain only 0 and 1")
    if not bool(mask.any()):
        raise ValueError("mask is all zeros: nothing to aggregate")
    return mask.to(like.dtype)


# ------------------------------------------------------------------------------------------------
# KL


def kl_estimate(logp, ref_logp, kind: str = "k3"):
    """Per-token KL(pi || pi_ref) estimate from log-probabilities of tokens sampled from pi.

    Parameters
    ----------
    logp, ref_logp : tensor ``(rows, tokens)`` (any equal shapes)
    kind : str
        See the module table (``k1``/``kl``, ``abs``, ``k2``/``mse``, ``k3``, ``low_var_kl``, ``+``
        straight-through variants).

    Returns
    -------
    tensor of the same shape (differentiable in ``logp``).
    """
    logp = _as_tensor(logp, "logp")
    ref_logp = _as_tensor(ref_logp, "ref_logp", logp)
    _check_pair(logp, ref_logp, "logp", "ref_logp")
    if kind not in KL_KINDS:
        raise ValueError(f"kind must be one of {list(KL_KINDS)}, got {kind!r}")
    base = kind.rstrip("+")
    if base in ("k1", "kl"):
        val = logp - ref_logp
    elif base == "abs":
        val = (logp - ref_logp).abs()
    elif base in ("k2", "mse"):
        val = 0.5 * (logp - ref_logp) ** 2
    elif base == "k3":
        log_r = ref_logp - logp
        val = torch.exp(log_r) - log_r - 1.0
    else:  # low_var_kl (verl): clamped k3
        log_r = torch.clamp(ref_logp - logp, min=-20.0, max=20.0)
        val = torch.clamp(torch.exp(log_r) - log_r - 1.0, min=-10.0, max=10.0)
    if kind.endswith("+"):
        k2 = 0.5 * (logp - ref_logp) ** 2
        val = k2 - k2.detach() + val.detach()
    return val


# ------------------------------------------------------------------------------------------------
# aggregation


def agg_loss(loss_mat, mask, mode: str = "token-mean", *, loss_scale_factor=None):
    """Aggregate a per-token loss ``(rows, tokens)`` into a scalar (see the module table).

    ``loss_scale_factor`` is the constant ``C`` of the ``*-norm`` modes (default: ``tokens``, the
    padded length; Dr.GRPO and TRL use the generation budget ``max_completion_length``).
    """
    if mode not in AGG_MODES and mode not in _AGG_ALIASES:
        raise ValueError(f"agg must be one of {list(AGG_MODES) + sorted(_AGG_ALIASES)}, got {mode!r}")
    mode = _AGG_ALIASES.get(mode, mode)
    if loss_mat.dim() != 2:
        raise ValueError(f"loss_mat must be (rows, tokens), got shape {tuple(loss_mat.shape)}")
    m = mask.to(loss_mat.dtype)
    # where() keeps NaN/inf from padding positions out of the sums (and their gradient at 0)
    lm = _keep_valid(loss_mat, m)
    if loss_scale_factor is None:
        C = float(loss_mat.shape[1])
    else:
        if (
            isinstance(loss_scale_factor, bool)
            or not isinstance(loss_scale_factor, (int, float))
            or not loss_scale_factor > 0
        ):
            raise ValueError(f"loss_scale_factor must be a number > 0, got {loss_scale_factor!r}")
        C = float(loss_scale_factor)
    if mode == "token-mean":
        return lm.sum() / m.sum().clamp(min=1.0)
    tok = m.sum(-1)
    nonempty = (tok > 0).to(loss_mat.dtype)
    if mode == "seq-mean-token-mean":
        seq = lm.sum(-1) / tok.clamp(min=1.0)
        return (seq * nonempty).sum() / nonempty.sum().clamp(min=1.0)
    if mode == "trl:grpo":
        return (lm.sum(-1) / tok.clamp(min=1.0)).mean()
    if mode == "seq-mean-token-sum":
        return (lm.sum(-1) * nonempty).sum() / nonempty.sum().clamp(min=1.0)
    if mode == "seq-mean-token-sum-norm":
        return lm.sum() / (loss_mat.shape[0] * C)
    return lm.sum() / C  # token-sum-norm


# ------------------------------------------------------------------------------------------------
# policy losses


@result
class PolicyLossResult:
    """Output of :func:`policy_loss`.

    Attributes
    ----------
    loss : scalar tensor (differentiable; call ``.backward()``)
    per_token_loss : ``(rows, tokens)`` before aggregation (KL term included)
    ratio : ``(rows, tokens)`` importance ratio used (token ratio, or the broadcast sequence ratio)
    clip_fraction : float, share of masked tokens where the clipped branch is active
    dual_clip_fraction : float, share of masked tokens capped by the dual clip
    approx_kl : float, masked mean of ``old_logp - logp`` (verl's ``ppo_kl``)
    kl : float or None, masked mean of the KL estimate to the reference
    """

    loss: torch.Tensor
    per_token_loss: torch.Tensor
    ratio: torch.Tensor
    clip_fraction: float
    dual_clip_fraction: float
    approx_kl: float
    kl: float | None


_LOSSES: dict[str, Callable] = {}


def register_policy_loss(kind: str, fn: Callable, *, replace: bool = False) -> None:
    """Register ``fn(logp, old_logp, adv, mask, **options) -> (per_token_loss, ratio, metrics dict)``.

    ``adv`` arrives broadcast to ``(rows, tokens)``; ``metrics`` may hold ``clip_fraction`` and
    ``dual_clip_fraction`` (floats). Aggregation and the KL term are added by :func:`policy_loss`.
    """
    if not isinstance(kind, str) or not kind:
        raise TypeError(f"kind must be a non-empty str, got {kind!r}")
    if kind in _LOSSES and not replace:
        raise ValueError(f"policy loss {kind!r} is already registered; pass replace=True to overwrite it")
    _LOSSES[kind] = fn


def list_policy_losses() -> list[str]:
    """Sorted names of the registered policy-loss kinds."""
    from mdp.llm.registry import _load_builtin

    _load_builtin()
    return sorted(_LOSSES)


def _bound(x, name, like):
    if isinstance(x, torch.Tensor):
        if x.dim() and x.shape != like.shape:
            raise ValueError(
                f"{name} as a tensor must be a scalar or have shape {tuple(like.shape)}, got {tuple(x.shape)}"
            )
        if bool((x < 0).any()):
            raise ValueError(f"{name} must be >= 0")
        return x.to(like.dtype)
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not x >= 0 or x == float("inf"):
        raise ValueError(f"{name} must be a finite number >= 0 (or a tensor), got {x!r}")
    return float(x)


def _clamp_ratio(ratio, eps_low, eps_high):
    """``clip(ratio, 1 - eps_low, 1 + eps_high)`` for float or per-token tensor bounds."""
    if isinstance(eps_low, torch.Tensor) or isinstance(eps_high, torch.Tensor):
        lo = torch.as_tensor(1.0 - eps_low, dtype=ratio.dtype, device=ratio.device)
        hi = torch.as_tensor(1.0 + eps_high, dtype=ratio.dtype, device=ratio.device)
        return torch.minimum(torch.maximum(ratio, lo), hi)
    return torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)


def _clip_terms(ratio, adv, eps_low, eps_high, dual_clip, mask):
    l1 = -adv * ratio
    l2 = -adv * _clamp_ratio(ratio, eps_low, eps_high)
    loss = torch.maximum(l1, l2)
    msum = mask.sum().clamp(min=1.0)
    metrics = {"clip_fraction": float(((l2 > l1).to(mask.dtype) * mask).sum() / msum), "dual_clip_fraction": 0.0}
    if dual_clip is not None:
        l3 = -adv * dual_clip
        capped = torch.minimum(loss, l3)
        neg = adv < 0
        metrics["dual_clip_fraction"] = float((((loss > l3) & neg).to(mask.dtype) * mask).sum() / msum)
        loss = torch.where(neg, capped, loss)
    return loss, metrics


def _ppo(logp, old_logp, adv, mask, *, eps_low=0.2, eps_high=None, dual_clip=None, delta=None, log_ratio_clamp=20.0):
    eps_low = _bound(eps_low, "eps_low", logp)
    eps_high = eps_low if eps_high is None else _bound(eps_high, "eps_high", logp)
    if dual_clip is not None and (
        isinstance(dual_clip, bool) or not isinstance(dual_clip, (int, float)) or not dual_clip > 1
    ):
        raise ValueError(f"dual_clip must be None or a number > 1, got {dual_clip!r}")
    log_ratio = logp - old_logp
    if log_ratio_clamp is not None:
        log_ratio = torch.clamp(log_ratio, min=-float(log_ratio_clamp), max=float(log_ratio_clamp))
    ratio = torch.exp(log_ratio)
    if delta is not None:
        # TRL's two-sided clipping (INTELLECT-2): cap the unclipped branch at delta
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 1:
            raise ValueError(f"delta must be None or a number > 1, got {delta!r}")
        if dual_clip is not None:
            raise ValueError("delta and dual_clip are alternative bounds; pass only one")
        l1 = -adv * torch.clamp(ratio, max=float(delta))
        l2 = -adv * _clamp_ratio(ratio, eps_low, eps_high)
        loss = torch.maximum(l1, l2)
        msum = mask.sum().clamp(min=1.0)
        metrics = {"clip_fraction": float(((l2 > l1).to(mask.dtype) * mask).sum() / msum), "dual_clip_fraction": 0.0}
        return loss, ratio, metrics
    loss, metrics = _clip_terms(ratio, adv, eps_low, eps_high, dual_clip, mask)
    return loss, ratio, metrics


def _gspo(logp, old_logp, adv, mask, *, eps_low=3e-4, eps_high=4e-4, log_ratio_clamp=10.0):
    eps_low = _bound(eps_low, "eps_low", logp)
    eps_high = _bound(eps_high, "eps_high", logp)
    tok = mask.sum(-1).clamp(min=1.0)
    seq_log_ratio = _keep_valid(logp - old_logp, mask).sum(-1) / tok
    # value s_i on every token, gradient s_i * grad logp_t  (GSPO Eq. 7, verl's stop-gradient form)
    log_s = logp - logp.detach() + seq_log_ratio.detach().unsqueeze(-1)
    if log_ratio_clamp is not None:
        log_s = torch.clamp(log_s, max=float(log_ratio_clamp))
    ratio = torch.exp(log_s)
    loss, metrics = _clip_terms(ratio, adv, eps_low, eps_high, None, mask)
    return loss, ratio, metrics


register_policy_loss("ppo", _ppo)
register_policy_loss("gspo", _gspo)

_DEFAULT_AGG = {"gspo": "seq-mean-token-mean"}


def policy_loss(
    kind,
    logp,
    old_logp,
    advantages,
    mask=None,
    *,
    agg=None,
    loss_scale_factor=None,
    ref_logp=None,
    kl_coef=0.0,
    kl_kind="k3",
    **options,
) -> PolicyLossResult:
    """Clipped policy-gradient loss of ``kind`` aggregated with ``agg``.

    Parameters
    ----------
    kind : str
        ``"ppo"``, ``"gspo"`` or a kind registered with :func:`register_policy_loss`.
    logp : tensor ``(rows, tokens)``
        Current-policy log-probabilities of the sampled tokens (carries the gradient).
    old_logp : tensor ``(rows, tokens)``
        Behaviour-policy log-probabilities (treated as constants).
    advantages : ``(rows,)`` or ``(rows, tokens)``
    mask : ``(rows, tokens)`` 0/1, optional (default all ones)
    agg : str
        Aggregation mode (module table); default ``"token-mean"`` (``"seq-mean-token-mean"`` for gspo).
    loss_scale_factor : float, optional
        ``C`` for the ``*-norm`` modes.
    ref_logp, kl_coef, kl_kind
        Add ``kl_coef * kl_estimate(logp, ref_logp, kl_kind)`` per token (needs ``ref_logp``).
    **options
        ``ppo``: ``eps_low=0.2``, ``eps_high=eps_low`` (floats or per-token tensors, e.g. HAPO's
        adaptive bounds), ``dual_clip=None`` (``c > 1``; verl's ``clip_ratio_c`` default is 3),
        ``delta=None`` (TRL's two-sided cap), ``log_ratio_clamp=20`` (verl's stability clamp; None
        disables). ``gspo``: ``eps_low=3e-4``, ``eps_high=4e-4`` (GSPO paper), ``log_ratio_clamp=10``.
    """
    if kind not in _LOSSES:
        from mdp.llm.registry import _load_builtin

        _load_builtin()
    if kind not in _LOSSES:
        raise ValueError(f"unknown policy loss kind {kind!r}; known: {', '.join(sorted(_LOSSES))}")
    logp = _as_tensor(logp, "logp")
    if logp.dim() != 2:
        raise ValueError(f"logp must be (rows, tokens), got shape {tuple(logp.shape)}")
    if not logp.is_floating_point():
        raise TypeError(f"logp must be a float tensor, got {logp.dtype}")
    old_logp = _as_tensor(old_logp, "old_logp", logp).detach()
    _check_pair(logp, old_logp, "logp", "old_logp")
    adv = _as_tensor(advantages, "advantages", logp).detach().to(logp.dtype)
    if adv.dim() == 1:
        if adv.shape[0] != logp.shape[0]:
            raise ValueError(f"advantages must be ({logp.shape[0]},) or {tuple(logp.shape)}, got {tuple(adv.shape)}")
        adv = adv.unsqueeze(-1).expand_as(logp)
    else:
        _check_pair(logp, adv, "logp", "advantages")
    m = _mask_tensor(mask, logp)
    for t, name in ((logp, "logp"), (old_logp, "old_logp"), (adv, "advantages")):
        _check_finite(_keep_valid(t.detach(), m), name)
    # padding may hold NaN/-inf: replace it by 0 before any arithmetic (loss, metrics and gradient)
    logp, old_logp, adv = _keep_valid(logp, m), _keep_valid(old_logp, m), _keep_valid(adv, m)
    for key in ("entropies", "h_hat"):
        if isinstance(options.get(key), torch.Tensor) and options[key].shape == m.shape:
            _check_finite(_keep_valid(options[key].detach(), m), key)
            options[key] = _keep_valid(options[key], m)
    per_tok, ratio, metrics = _LOSSES[kind](logp, old_logp, adv, m, **options)
    kl_mean = None
    if kl_coef:
        if ref_logp is None:
            raise ValueError("kl_coef != 0 needs ref_logp")
        ref = _as_tensor(ref_logp, "ref_logp", logp).detach()
        _check_pair(logp, ref, "logp", "ref_logp")
        _check_finite(_keep_valid(ref, m), "ref_logp")
        ref = _keep_valid(ref, m)
        kl = kl_estimate(logp, ref, kl_kind)
        per_tok = per_tok + float(kl_coef) * kl
        kl_mean = float((kl.detach() * m).sum() / m.sum().clamp(min=1.0))
    mode = agg if agg is not None else _DEFAULT_AGG.get(kind, "token-mean")
    loss = agg_loss(per_tok, m, mode, loss_scale_factor=loss_scale_factor)
    approx_kl = float(((old_logp - logp.detach()) * m).sum() / m.sum().clamp(min=1.0))
    return PolicyLossResult(
        loss=loss,
        per_token_loss=per_tok,
        ratio=ratio,
        clip_fraction=float(metrics.get("clip_fraction", 0.0)),
        dual_clip_fraction=float(metrics.get("dual_clip_fraction", 0.0)),
        approx_kl=approx_kl,
        kl=kl_mean,
    )
