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
``token-sum``                  sum_it m l                          —                      ``"token-sum"`` (0.9)
=============================  ==================================  =====================  ===========================

The exact framework formulas are also selectable by name: ``"trl:grpo"`` (``mean_i`` over *all*
``B`` rows of ``sum_t m l / max(sum_t m, 1)``: empty rows count in the denominator),
``"trl:bnpo"``, ``"trl:dapo"`` (= token-mean over the batch given), ``"trl:dr_grpo"`` (= the
``B * C`` mode), ``"verl:token-mean"``, ``"verl:seq-mean-token-mean"``, ``"verl:seq-mean-token-sum"``,
``"verl:seq-mean-token-sum-norm"`` (= ``token-sum-norm``). Rows whose mask is all zero contribute
nothing and are excluded from ``B'`` (verl; the documented RolloutBatch convention).

The ``verl:`` aliases follow the verl commit of the parity vectors (tests/data/llm_parity). verl 0.9.1
changed its ``"seq-mean-token-sum-norm"`` to ``sum_i (row sums) / (G * C)`` with ``G`` the
``global_batch_size`` (non-empty rows when not given): with ``global_batch_size`` passed, that is this
module's ``seq-mean-token-sum-norm``.

Micro-batching and data parallelism
-----------------------------------
Every mode's denominator above is computed from the tensor given, so with gradient accumulation the
micro-batch losses do not add up to the full-batch loss (issue 21 measured 2.17x on one of two
micro-batches). :func:`agg_loss` and :func:`policy_loss` take verl's global normalisers
(``verl/trainer/ppo/core_algos.py::agg_loss`` in verl 0.9.1): ``batch_num_tokens`` (valid tokens of the
whole mini-batch on all ranks; TRL's ``num_items_in_batch``) replaces the token count of
``token-mean``, ``global_batch_size`` (rows of the whole mini-batch) replaces the row count of the
sequence modes, and ``dp_size`` multiplies the loss because DDP/FSDP average gradients over ranks.
Summed over a rank's micro-batches and averaged over ranks, the loss and its gradient are those of the
whole batch for every mode (property test in tests/test_llm_distributed.py).
:func:`global_batch_info` computes the counts of a batch.

Rollout/training mismatch and entropy
-------------------------------------
:func:`rollout_is_weights` gives truncated (TIS) or band-masked (IcePop) importance weights
``pi_train / pi_rollout`` at token or sequence level (verl's ``rollout_is`` options, TRL's
``vllm_importance_sampling_mode``); ``policy_loss(..., rollout_is_weights=w)`` multiplies them into the
per-token policy-gradient loss. ``policy_loss(..., policy_entropy=H, entropy_coef=c)`` subtracts
``c * agg(H)`` (entropy bonus, aggregated like the loss).

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

import math
from typing import Callable

import torch

from mdp._common import result
from mdp._validation import check_positive_int, check_real, did_you_mean
from mdp.llm.batch import _bool_to, _check_finite  # the one finiteness check of mdp.llm

__all__ = [
    "policy_loss",
    "agg_loss",
    "global_batch_info",
    "rollout_is_weights",
    "RolloutISResult",
    "kl_estimate",
    "PolicyLossResult",
    "AGG_MODES",
    "KL_KINDS",
    "register_policy_loss",
    "list_policy_losses",
]

#: The ``mode`` values :func:`agg_loss` accepts (how token losses become a scalar).
AGG_MODES = (
    "token-mean",
    "seq-mean-token-mean",
    "seq-mean-token-sum",
    "seq-mean-token-sum-norm",
    "token-sum-norm",
    "token-sum",
)
_AGG_ALIASES = {
    "trl:bnpo": "token-mean",
    "trl:dapo": "token-mean",
    "trl:dr_grpo": "seq-mean-token-sum-norm",
    "trl:grpo": "trl:grpo",
    "verl:token-mean": "token-mean",
    "verl:seq-mean-token-mean": "seq-mean-token-mean",
    "verl:seq-mean-token-sum": "seq-mean-token-sum",
    "verl:seq-mean-token-sum-norm": "token-sum-norm",
    "verl:token-sum": "token-sum",
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


def _mask_tensor(mask, like, allow_empty=False):
    if mask is None:
        return torch.ones_like(like)
    mask = _as_tensor(mask, "mask", like)
    _check_pair(like, mask, "logp", "mask")
    if mask.dtype != torch.bool and not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError("mask must contain only 0 and 1")
    if not allow_empty and not bool(mask.any()):
        raise ValueError(
            "mask is all zeros: nothing to aggregate (a padding-only micro-batch is allowed when the "
            "global normalisers batch_num_tokens / global_batch_size are given)"
        )
    return mask.to(like.dtype)


def _row_or_token(x, name, like):
    """``(rows,)``, ``(rows, 1)`` or ``(rows, tokens)`` -> broadcast ``(rows, tokens)`` in ``like``'s dtype."""
    t = _as_tensor(x, name, like).to(like.dtype)
    if t.dim() == 1:
        t = t.unsqueeze(-1)
    if t.dim() != 2 or t.shape[0] != like.shape[0] or t.shape[1] not in (1, like.shape[1]):
        raise ValueError(
            f"{name} must be ({like.shape[0]},), ({like.shape[0]}, 1) or {tuple(like.shape)}, got {tuple(t.shape)}"
        )
    return t.expand_as(like)


def _row_or_token_view(x, name, like):
    """Like :func:`_row_or_token` without the expand: ``(rows, 1)`` or ``(rows, tokens)``, detached."""
    t = _as_tensor(x, name, like).detach().to(like.dtype)
    if t.dim() == 1:
        t = t.unsqueeze(-1)
    if t.dim() != 2 or t.shape[0] != like.shape[0] or t.shape[1] not in (1, like.shape[1]):
        raise ValueError(
            f"{name} must be ({like.shape[0]},), ({like.shape[0]}, 1) or {tuple(like.shape)}, got {tuple(t.shape)}"
        )
    return t


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

#: modes whose denominator is a token count (``batch_num_tokens`` / TRL's ``num_items_in_batch``)
_TOKEN_NORMALISED = ("token-mean",)
#: modes whose denominator is a row count (``global_batch_size``)
_ROW_NORMALISED = ("seq-mean-token-mean", "seq-mean-token-sum", "seq-mean-token-sum-norm", "trl:grpo")


def _check_scale(value, name):
    """A positive number, or a one-element tensor (value not checked: no host sync)."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{name} must be a number or a one-element tensor, got shape {tuple(value.shape)}")
        return value.reshape(())
    check_real(value, name, "(0, inf)")
    return value


def _resolve_mode(mode):
    if mode not in AGG_MODES and mode not in _AGG_ALIASES:
        modes = list(AGG_MODES) + sorted(_AGG_ALIASES)
        raise ValueError(f"agg must be one of {modes}, got {mode!r}{did_you_mean(mode, modes)}")
    return _AGG_ALIASES.get(mode, mode)


def _global_info(mode, loss_scale_factor, global_batch_size, batch_num_tokens, num_items_in_batch, dp_size):
    """Validated ``(C or None, G or None, N or None, dp_size)`` for ``mode`` (already resolved)."""
    dp_size = check_positive_int(dp_size, "dp_size")
    if num_items_in_batch is not None:
        if batch_num_tokens is not None:
            raise ValueError("pass batch_num_tokens (verl) or num_items_in_batch (TRL), not both: they are one count")
        if mode not in _TOKEN_NORMALISED and mode != "token-sum":
            raise ValueError(
                f"num_items_in_batch (TRL's global token count) normalises token-mean ('trl:dapo', 'trl:bnpo'); "
                f"mode {mode!r} divides by a row count: pass global_batch_size"
            )
        batch_num_tokens = num_items_in_batch
        name_n = "num_items_in_batch"
    else:
        name_n = "batch_num_tokens"
    C = None if loss_scale_factor is None else _check_scale(loss_scale_factor, "loss_scale_factor")
    if isinstance(C, torch.Tensor):
        raise ValueError("loss_scale_factor must be a number > 0, got a tensor")
    G = None if global_batch_size is None else _check_scale(global_batch_size, "global_batch_size")
    N = None if batch_num_tokens is None else _check_scale(batch_num_tokens, name_n)
    if dp_size > 1:
        if mode in _TOKEN_NORMALISED and N is None:
            raise ValueError(f"agg {mode!r} with dp_size > 1 needs the global token count batch_num_tokens")
        if mode in _ROW_NORMALISED and G is None:
            raise ValueError(f"agg {mode!r} with dp_size > 1 needs the global row count global_batch_size")
    return C, G, N, dp_size


def _aggregate(lm, m, mode, C, G, N, dp_size):
    """The aggregation of a per-token loss ``lm`` already zeroed off the mask ``m`` (float)."""
    if mode == "token-mean":
        loss = lm.sum() / (m.sum().clamp(min=1.0) if N is None else N)
    elif mode == "token-sum":
        loss = lm.sum()
    elif mode == "token-sum-norm":
        loss = lm.sum() / (float(lm.shape[1]) if C is None else C)
    elif mode == "seq-mean-token-sum-norm":
        loss = lm.sum() / ((lm.shape[0] if G is None else G) * (float(lm.shape[1]) if C is None else C))
    else:
        tok = m.sum(-1)
        if mode == "seq-mean-token-sum":
            num = lm.sum()  # empty rows hold zeros
        else:  # seq-mean-token-mean, trl:grpo
            num = (lm.sum(-1) / tok.clamp(min=1.0)).sum()
        if G is None:
            G = lm.shape[0] if mode == "trl:grpo" else (tok > 0).sum().clamp(min=1)
        loss = num / G
    return loss * dp_size if dp_size != 1 else loss


def agg_loss(
    loss_mat,
    mask,
    mode: str = "token-mean",
    *,
    loss_scale_factor=None,
    global_batch_size=None,
    batch_num_tokens=None,
    num_items_in_batch=None,
    dp_size: int = 1,
):
    """Aggregate a per-token loss ``(rows, tokens)`` into a scalar (see the module table).

    Parameters
    ----------
    loss_mat : tensor ``(rows, tokens)``
        Per-token loss; values where ``mask == 0`` are ignored (NaN/inf allowed there).
    mask : tensor ``(rows, tokens)`` 0/1 (bool or float)
    mode : str
        An entry of :data:`AGG_MODES` or a ``"trl:..."`` / ``"verl:..."`` alias.
    loss_scale_factor : float, optional
        The constant ``C`` of the ``*-norm`` modes (default: ``tokens``, the padded length;
        Dr.GRPO and TRL use the generation budget ``max_completion_length``).
    global_batch_size : int or one-element tensor, optional
        Row count of the whole (mini-)batch over all micro-batches and data-parallel ranks: the
        denominator of the sequence mean instead of this micro-batch's. It is the count the local
        formula would use on the full batch: rows with at least one valid token for
        ``seq-mean-token-mean`` / ``seq-mean-token-sum``, all rows for ``seq-mean-token-sum-norm``
        and ``trl:grpo`` (:func:`global_batch_info` computes both). verl's ``global_batch_size``.
    batch_num_tokens : int or one-element tensor, optional
        Valid-token count of the whole (mini-)batch (verl's ``batch_num_tokens``): the denominator of
        ``token-mean`` instead of this micro-batch's token count.
    num_items_in_batch : int or one-element tensor, optional
        TRL's name for the same global token count (``GRPOTrainer``'s ``num_items_in_batch``, used by
        its ``"dapo"``/``"cispo"`` losses): identical to ``batch_num_tokens``; pass one of the two.
        TRL divides it by ``num_processes`` (give that as ``dp_size``) and, when
        ``steps_per_generation`` differs from the gradient-accumulation steps, multiplies it by
        ``gradient_accumulation_steps / steps_per_generation`` (pass the product).
    dp_size : int
        Data-parallel world size. DDP/FSDP *average* gradients over ranks, so each rank's loss is
        multiplied by ``dp_size`` (verl's rule) and the averaged gradient is that of the global loss.
        With ``dp_size > 1`` the modes with a batch-dependent denominator require the global count.

    Returns
    -------
    scalar tensor
        With the global normalisers, the sum of this value over the micro-batches of a rank,
        averaged over ranks, equals the loss of the whole batch (value and gradient) for every
        mode; without them (``dp_size == 1``) the value is the local formula of the module table.
    """
    mode = _resolve_mode(mode)
    if loss_mat.dim() != 2:
        raise ValueError(f"loss_mat must be (rows, tokens), got shape {tuple(loss_mat.shape)}")
    info = _global_info(mode, loss_scale_factor, global_batch_size, batch_num_tokens, num_items_in_batch, dp_size)
    m = mask.to(loss_mat.dtype)
    # where() keeps NaN/inf from padding positions out of the sums (and their gradient at 0)
    return _aggregate(_keep_valid(loss_mat, m), m, mode, *info)


def global_batch_info(mask, mode: str = "token-mean", *, dp_size: int = 1) -> dict:
    """The global normalisers of a whole (mini-)batch, to pass to every micro-batch's loss.

    Parameters
    ----------
    mask : ``(rows, tokens)`` 0/1
        The mask of the whole batch on this process (gathered or not; see below).
    mode : str
        The aggregation mode the loss will use (it decides which rows ``global_batch_size`` counts).
    dp_size : int
        Copied into the result.

    Returns
    -------
    dict
        ``{"batch_num_tokens": int, "global_batch_size": int, "dp_size": dp_size}``, ready for
        ``agg_loss(..., **info)`` / ``policy_loss(..., **info)``. Both counts are sums over rows:
        under data parallelism all-reduce (sum) the values of every rank before using them.
    """
    mode = _resolve_mode(mode)
    m = _as_tensor(mask, "mask")
    if m.dim() != 2:
        raise ValueError(f"mask must be (rows, tokens), got shape {tuple(m.shape)}")
    dp_size = check_positive_int(dp_size, "dp_size")
    tok = (m != 0).sum(-1)
    rows = m.shape[0] if mode in ("seq-mean-token-sum-norm", "trl:grpo") else int((tok > 0).sum())
    # an all-empty batch aggregates to 0 whatever the denominator; 1 keeps the counts valid (> 0)
    return {"batch_num_tokens": max(int(tok.sum()), 1), "global_batch_size": max(int(rows), 1), "dp_size": dp_size}


# ------------------------------------------------------------------------------------------------
# rollout / training engine mismatch: truncated or masked importance-sampling weights

#: verl's safety bound on the log importance ratio before ``exp`` (``rollout_corr_helper.SAFETY_BOUND``)
IS_LOG_RATIO_BOUND = 20.0


@result
class RolloutISResult:
    """Output of :func:`rollout_is_weights`.

    Attributes
    ----------
    weights : ``(rows, tokens)`` detached importance weights, 0 at padding (multiply the per-token
        policy-gradient loss by them: ``policy_loss(..., rollout_is_weights=res.weights)``)
    log_ratio : ``(rows, tokens)`` (token level) or ``(rows, 1)`` (sequence level) log ratio
        ``log pi_train - log pi_rollout`` before the safety clamp, 0 at padding
    mean : float, masked mean of the weights before ``batch_normalize``
    clipped_fraction : float, share of valid tokens whose weight was truncated or masked
    """

    weights: torch.Tensor
    log_ratio: torch.Tensor
    mean: float
    clipped_fraction: float


def _is_band(threshold, mode):
    """``(lower or None, upper or None, mode)`` from a threshold spec (verl's and TRL's forms)."""
    if isinstance(threshold, str):
        try:
            parts = [float(x) for x in threshold.strip().split("_")]
        except ValueError:
            raise ValueError(f"threshold string must be 'upper' or 'lower_upper', got {threshold!r}") from None
        if len(parts) not in (1, 2):
            raise ValueError(f"threshold string must be 'upper' or 'lower_upper', got {threshold!r}")
        threshold = parts[0] if len(parts) == 1 else tuple(parts)
    if isinstance(threshold, tuple) and len(threshold) == 2:
        lo, hi = threshold
        for v, nm in ((lo, "lower"), (hi, "upper")):
            if v is not None:
                check_real(v, f"threshold {nm} bound", "(0, inf)")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"threshold lower bound must be <= upper bound, got {threshold!r}")
        if lo is None and hi is None:
            raise ValueError("threshold needs at least one bound")
        default_mode = "mask"
    elif isinstance(threshold, (int, float)) and not isinstance(threshold, bool):
        if not 0 < threshold < float("inf"):
            raise ValueError(f"threshold must be a finite number > 0, got {threshold!r}")
        lo, hi = None, float(threshold)
        default_mode = "truncate"
    else:
        raise ValueError(
            f"threshold must be a number, a (lower, upper) pair or a 'lower_upper' string, got {threshold!r}"
        )
    if mode is None:
        mode = default_mode
    if mode not in ("truncate", "mask"):
        raise ValueError(f"mode must be None, 'truncate' or 'mask', got {mode!r}")
    return lo, hi, mode


def rollout_is_weights(
    logp, rollout_logp, mask=None, *, level="token", threshold=2.0, mode=None, batch_normalize=False
) -> RolloutISResult:
    r"""Importance weights ``pi_train / pi_rollout`` correcting a rollout/training engine mismatch.

    The rollout engine (vLLM, SGLang, bf16) samples from ``pi_rollout``; the trainer's
    log-probabilities of the same tokens (``logp``: verl's ``old_log_prob``, TRL's
    ``old_per_token_logps``) differ slightly. The policy-gradient loss is reweighted by
    ``w = pi_train / pi_rollout``, made safe by truncation (TIS, "truncated importance sampling")
    or by masking weights outside a band (IcePop / "masked importance sampling"). Reference for the
    names and meaning: verl ``trainer/ppo/rollout_corr_helper.py::compute_rollout_correction_weights``
    (``rollout_is``, ``rollout_is_threshold``, ``rollout_is_batch_normalize``) and TRL
    ``GRPOConfig.vllm_importance_sampling_mode`` (``token_truncate``, ``token_mask``,
    ``sequence_truncate``, ``sequence_mask``); Yao et al. 2025, "Your efficient RL framework secretly
    brings you off-policy RL training" (fengyao.notion.site/off-policy-rl).

    Parameters
    ----------
    logp : ``(rows, tokens)``
        Training-engine log-probabilities of the sampled tokens (no gradient is taken).
    rollout_logp : ``(rows, tokens)``
        Rollout-engine log-probabilities of the same tokens.
    mask : ``(rows, tokens)`` 0/1, optional
    level : {"token", "sequence"}
        ``"token"``: ``w_t = exp(clamp(log r_t, -20, 20))``; ``"sequence"``: one weight per row,
        ``w_i = exp(clamp(sum_t m_t log r_t, -20, 20))`` on all its tokens (verl's safety bound 20).
    threshold : float, ``(lower, upper)`` or ``"lower_upper"`` string
        A number ``u``: truncate, ``w <- min(w, u)`` (verl's TIS, default 2.0). A band: zero the
        weights outside ``[lower, upper]`` (verl's IcePop ``"lower_upper"``); either bound may be
        ``None`` (no bound).
    mode : {None, "truncate", "mask"}
        Overrides the rule implied by ``threshold``: ``"truncate"`` with a band clamps to
        ``[lower, upper]`` (TRL's ``*_truncate`` with ``vllm_importance_sampling_clip_min``),
        ``"mask"`` with a number zeroes weights above it (TRL's ``*_mask``).
    batch_normalize : bool
        Divide by the mean weight (over valid tokens, or over non-empty rows at sequence level) so
        the batch mean is 1 (verl's ``rollout_is_batch_normalize``; this process's batch only).

    Returns
    -------
    RolloutISResult
    """
    logp = _as_tensor(logp, "logp")
    if logp.dim() != 2:
        raise ValueError(f"logp must be (rows, tokens), got shape {tuple(logp.shape)}")
    if not logp.is_floating_point():
        raise TypeError(f"logp must be a float tensor, got {logp.dtype}")
    logp = logp.detach()
    rlp = _as_tensor(rollout_logp, "rollout_logp", logp).detach().to(logp.dtype)
    _check_pair(logp, rlp, "logp", "rollout_logp")
    if level not in ("token", "sequence"):
        raise ValueError(f"level must be 'token' or 'sequence', got {level!r}")
    lo, hi, mode = _is_band(threshold, mode)
    m = _mask_tensor(mask, logp, allow_empty=False)
    _check_finite(_keep_valid(logp, m), "logp")
    _check_finite(_keep_valid(rlp, m), "rollout_logp")
    log_ratio = _keep_valid(logp - rlp, m)
    if level == "sequence":
        log_ratio = log_ratio.sum(-1, keepdim=True)
    raw = torch.exp(log_ratio.clamp(-IS_LOG_RATIO_BOUND, IS_LOG_RATIO_BOUND)).expand_as(m) * m
    if mode == "truncate":
        w = raw.clamp(min=lo, max=hi)
    else:
        keep = torch.ones_like(raw, dtype=torch.bool)
        if lo is not None:
            keep &= raw >= lo
        if hi is not None:
            keep &= raw <= hi
        w = torch.where(keep, raw, torch.zeros((), dtype=raw.dtype))
    w = w * m
    n_valid = m.sum().clamp(min=1.0)
    mean = float(w.sum() / n_valid)
    clipped = float(((w != raw).to(m.dtype) * m).sum() / n_valid)
    if batch_normalize:
        if level == "token":
            denom = w.sum() / n_valid
        else:
            nonempty = (m.sum(-1) > 0).to(m.dtype)
            denom = (w.amax(-1) * nonempty).sum() / nonempty.sum().clamp(min=1.0)
        if float(denom) > 1e-8:
            w = w / denom
    return RolloutISResult(weights=w, log_ratio=log_ratio, mean=mean, clipped_fraction=clipped)


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
    entropy : float or None, masked mean of ``policy_entropy`` when given
    """

    loss: torch.Tensor
    per_token_loss: torch.Tensor
    ratio: torch.Tensor
    clip_fraction: float
    dual_clip_fraction: float
    approx_kl: float
    kl: float | None
    entropy: float | None = None


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
    return check_real(x, name, "[0, inf)")


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
    if dual_clip is not None:
        check_real(dual_clip, "dual_clip", "(1, inf)")
    log_ratio = logp - old_logp
    if log_ratio_clamp is not None:
        log_ratio = torch.clamp(log_ratio, min=-float(log_ratio_clamp), max=float(log_ratio_clamp))
    ratio = torch.exp(log_ratio)
    if delta is not None:
        # TRL's two-sided clipping (INTELLECT-2): cap the unclipped branch at delta
        check_real(delta, "delta", "(1, inf)")
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


# ------------------------------------------------------------------------------------------------
# the PPO-clip hot path: one fused forward, one saved tensor, one host synchronisation


class _PPOClipFn(torch.autograd.Function):
    """Per-token PPO-clip loss of :func:`_ppo` (clip-higher, dual clip, log-ratio clamp), fused.

    Forward: ``r = exp(clamp((logp - old) m, +-lim))``, ``l1 = -A r``, ``l2 = -A clip(r, 1 - eps_low,
    1 + eps_high)``, ``l = min(max(l1, l2), relu(-A) c)`` (the dual cap acts where ``A < 0`` only:
    for ``A >= 0`` the cap is 0 and ``l <= 0``), times ``m``. The gradient flows where the unclipped
    branch is the value (``l == l1``) and the log-ratio is not clamped: ``d l / d logp = -A r m`` there,
    0 elsewhere, so only that coefficient is saved for backward. Same function as :func:`_ppo`
    (tests/test_llm_hot_path.py compares values, gradients and clip fractions).
    """

    @staticmethod
    def forward(ctx, logp, old, adv, m, lo, hi, c, lim):
        lr = torch.sub(logp, old).mul_(m)  # 0 at padding (non-finite padding shows in the sums)
        stats = [lr.sum()]  # sum of logp - old over valid tokens (approx_kl = -stats[0] / n)
        keep = None
        if lim is not None:
            keep = lr.abs() <= lim  # the clamp passes no gradient outside [-lim, lim]
            lr.clamp_(-lim, lim)
        r = lr.exp_()
        neg_a = torch.neg(adv)
        l1 = r * neg_a
        l2 = torch.clamp(r, 1.0 - lo, 1.0 + hi).mul_(neg_a)
        stats.append(torch.dot(_bool_to(l2 > l1, r.dtype).reshape(-1), m.reshape(-1)))  # clipped tokens
        loss = torch.maximum(l1, l2, out=l2)
        if c is not None:
            cap = neg_a.clamp(min=0).mul_(c)  # |A| c where A < 0, 0 elsewhere
            stats.append(torch.dot(_bool_to((r > c) & (adv < 0), r.dtype).reshape(-1), m.reshape(-1)))
            loss = torch.minimum(loss, cap, out=loss)
            del cap
        else:
            stats.append(r.new_zeros(()))
        flows = loss == l1
        del l1
        if keep is not None:
            flows &= keep
        del keep
        neg_am = neg_a.mul(m)  # -A m
        g = _bool_to(flows, r.dtype).mul_(r).mul_(neg_am)  # d per_tok / d logp
        if lim is None or lim >= math.log(torch.finfo(r.dtype).max):
            # the ratio can overflow (fp16 above e^11): 0 * inf where the branch does not flow is 0
            g.nan_to_num_(nan=0.0, posinf=math.inf, neginf=-math.inf)
        per_tok = loss.mul_(m)
        ctx.save_for_backward(g)
        stats = torch.stack(stats)
        ctx.mark_non_differentiable(r, stats)
        return per_tok, r, stats

    @staticmethod
    def backward(ctx, grad_per_tok, grad_ratio, grad_stats):
        (g,) = ctx.saved_tensors
        return grad_per_tok * g, None, None, None, None, None, None, None


def _ppo_fast_ok(kind, options):
    """The fused path applies to the built-in ``ppo`` with scalar bounds and no TRL ``delta``."""
    if kind != "ppo" or _LOSSES.get("ppo") is not _ppo:
        return False
    allowed = {"eps_low", "eps_high", "dual_clip", "log_ratio_clamp"}
    if set(options) - allowed:
        return False
    return not any(isinstance(options.get(k), torch.Tensor) for k in ("eps_low", "eps_high"))


def _fast_mask(mask, like, validate):
    """Float mask and the deferred 0/1 check (a 0-d bool tensor, or None when not needed)."""
    if mask is None:
        return torch.ones_like(like), None
    mask = _as_tensor(mask, "mask", like)
    _check_pair(like, mask, "logp", "mask")
    ok = None
    if mask.dtype == torch.bool:
        return _bool_to(mask, like.dtype), None
    if validate:
        if mask.is_floating_point():
            lo, hi = torch.aminmax(torch.addcmul(mask, mask, mask, value=-1))  # 0 iff mask in {0, 1}
            ok = (lo == 0) & (hi == 0)
        else:
            lo, hi = torch.aminmax(mask)
            ok = (lo >= 0) & (hi <= 1)
    return (mask if mask.dtype == like.dtype else mask.to(like.dtype)), ok


def _policy_loss_fast(
    logp, old_logp, adv, mask, mode, info, micro, validate, is_w, ref, kl_coef, kl_kind, ent, ent_coef, options
):
    """``policy_loss("ppo", ...)`` on the fused path; ``None`` when a check fails (the caller then
    runs the exact path, which raises the precise error or handles non-finite padding)."""
    eps_low = _bound(options.get("eps_low", 0.2), "eps_low", logp)
    eps_high = eps_low if options.get("eps_high") is None else _bound(options["eps_high"], "eps_high", logp)
    dual_clip = options.get("dual_clip")
    if dual_clip is not None:
        check_real(dual_clip, "dual_clip", "(1, inf)")
    lim = options.get("log_ratio_clamp", 20.0)
    lim = None if lim is None else float(lim)
    m, mask_ok = _fast_mask(mask, logp, validate)
    per_tok, ratio, stats = _PPOClipFn.apply(
        logp, old_logp, adv, m, float(eps_low), float(eps_high), None if dual_clip is None else float(dual_clip), lim
    )
    extra = [m.sum()]
    if is_w is not None:
        w = _row_or_token_view(is_w, "rollout_is_weights", logp)
        wm = w * m
        extra += [wm.sum(), wm.amin()]
        per_tok = per_tok * wm
    if kl_coef:
        kl = kl_estimate(logp, ref, kl_kind) * m
        extra.append(kl.detach().sum())
        per_tok = per_tok + float(kl_coef) * kl
    if ent is not None:
        em = ent * m
        extra.append(em.detach().sum())
        if ent_coef:
            per_tok = per_tok - float(ent_coef) * em
    loss = _aggregate(per_tok, m, mode, *info)
    checks = [loss.detach().reshape(1).to(stats.dtype), stats, torch.stack(extra).to(stats.dtype)]
    if mask_ok is not None:
        checks.append(mask_ok.reshape(1).to(stats.dtype))
    vals = torch.cat(checks).tolist()  # the one host synchronisation
    if mask_ok is not None and vals[-1] != 1.0:
        return None
    if not all(math.isfinite(v) for v in vals):
        return None
    kl_sum, n_clip, n_dual, n = vals[1], vals[2], vals[3], vals[4]
    if n == 0 and not micro:
        return None
    rest = vals[5:]
    if is_w is not None:
        if rest[1] < 0:
            return None
        rest = rest[2:]
    den = max(n, 1.0)
    kl_mean = rest.pop(0) / den if kl_coef else None
    ent_mean = rest.pop(0) / den if ent is not None else None
    return PolicyLossResult(
        loss=loss,
        per_token_loss=per_tok,
        ratio=ratio,
        clip_fraction=n_clip / den,
        dual_clip_fraction=n_dual / den,
        approx_kl=-kl_sum / den,
        kl=kl_mean,
        entropy=ent_mean,
    )


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
    global_batch_size=None,
    batch_num_tokens=None,
    num_items_in_batch=None,
    dp_size=1,
    rollout_is_weights=None,
    ref_logp=None,
    kl_coef=0.0,
    kl_kind="k3",
    policy_entropy=None,
    entropy_coef=0.0,
    validate=True,
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
    global_batch_size, batch_num_tokens, num_items_in_batch, dp_size
        Global normalisers for micro-batching and data parallelism (see :func:`agg_loss`); with them
        the micro-batch losses sum to the full-batch loss and gradient. A micro-batch whose mask is
        all zero is then allowed (it contributes 0).
    rollout_is_weights : ``(rows, tokens)``, ``(rows,)`` or ``(rows, 1)``, optional
        Importance weights for the rollout/training engine mismatch (:func:`rollout_is_weights`),
        multiplied into the per-token policy-gradient loss before the KL and entropy terms (verl's
        ``pg_losses * rollout_is_weights``; TRL's ``per_token_loss * importance_sampling_ratio``).
        Treated as constants.
    ref_logp, kl_coef, kl_kind
        Add ``kl_coef * kl_estimate(logp, ref_logp, kl_kind)`` per token (needs ``ref_logp``).
    policy_entropy : ``(rows, tokens)``, optional
        Per-token entropy of the *current* policy (differentiable, e.g. from the logits). With
        ``entropy_coef`` the loss becomes ``loss - entropy_coef * agg(policy_entropy)``, aggregated
        with the same mode and global normalisers (verl's ``entropy_coeff``; TRL's ``entropy_coef``
        with a token mean). Not HAPO's ``entropies`` option (the behaviour policy's, no gradient).
    entropy_coef : float
        Weight of the entropy bonus (needs ``policy_entropy``).
    validate : bool
        ``True``: check that ``mask`` is 0/1. ``False`` (trusted callers): skip that check. Either
        way non-finite values on valid tokens raise ``ValueError`` and non-finite padding is
        ignored: the built-in ``"ppo"`` runs a fused path (one saved tensor for backward, one host
        synchronisation for all checks and metrics) and falls back to the exact path only when a
        sum is not finite.
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
        hint = did_you_mean(kind, _LOSSES)
        raise ValueError(f"unknown policy loss kind {kind!r}{hint}; known: {', '.join(sorted(_LOSSES))}")
    mode = _resolve_mode(agg if agg is not None else _DEFAULT_AGG.get(kind, "token-mean"))
    info = _global_info(mode, loss_scale_factor, global_batch_size, batch_num_tokens, num_items_in_batch, dp_size)
    micro = info[1] is not None or info[2] is not None or info[3] > 1
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
        adv = adv.unsqueeze(-1)
    else:
        _check_pair(logp, adv, "logp", "advantages")
    if not isinstance(validate, bool):
        raise TypeError(f"validate must be a bool, got {type(validate).__name__}")
    check_real(entropy_coef, "entropy_coef")
    if entropy_coef and policy_entropy is None:
        raise ValueError("entropy_coef != 0 needs policy_entropy (per-token entropies of the current policy)")
    if kl_coef and ref_logp is None:
        raise ValueError("kl_coef != 0 needs ref_logp")
    if _ppo_fast_ok(kind, options):
        ref = ent = None
        if kl_coef:
            ref = _as_tensor(ref_logp, "ref_logp", logp).detach()
            _check_pair(logp, ref, "logp", "ref_logp")
        if policy_entropy is not None:
            ent = _as_tensor(policy_entropy, "policy_entropy", logp)
            _check_pair(logp, ent, "logp", "policy_entropy")
        res = _policy_loss_fast(
            logp, old_logp, adv, mask, mode, info, micro, validate, rollout_is_weights,
            ref, kl_coef, kl_kind, ent, entropy_coef, options,
        )  # fmt: skip
        if res is not None:
            return res
    adv = adv.expand_as(logp)
    m = _mask_tensor(mask, logp, allow_empty=micro)
    for t, name in ((logp, "logp"), (old_logp, "old_logp"), (adv, "advantages")):
        _check_finite(_keep_valid(t.detach(), m), name)
    # padding may hold NaN/-inf: replace it by 0 before any arithmetic (loss, metrics and gradient)
    logp, old_logp, adv = _keep_valid(logp, m), _keep_valid(old_logp, m), _keep_valid(adv, m)
    for key in ("entropies", "h_hat"):
        if isinstance(options.get(key), torch.Tensor) and options[key].shape == m.shape:
            _check_finite(_keep_valid(options[key].detach(), m), key)
            options[key] = _keep_valid(options[key], m)
    per_tok, ratio, metrics = _LOSSES[kind](logp, old_logp, adv, m, **options)
    if rollout_is_weights is not None:
        w = _row_or_token(rollout_is_weights, "rollout_is_weights", logp).detach()
        _check_finite(_keep_valid(w, m), "rollout_is_weights")
        if bool((_keep_valid(w, m) < 0).any()):
            raise ValueError("rollout_is_weights must be >= 0")
        per_tok = per_tok * _keep_valid(w, m)
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
    ent_mean = None
    if policy_entropy is not None:
        ent = _as_tensor(policy_entropy, "policy_entropy", logp)
        _check_pair(logp, ent, "logp", "policy_entropy")
        _check_finite(_keep_valid(ent.detach(), m), "policy_entropy")
        ent = _keep_valid(ent, m)
        ent_mean = float((ent.detach() * m).sum() / m.sum().clamp(min=1.0))
        if entropy_coef:
            per_tok = per_tok - float(entropy_coef) * ent
    loss = _aggregate(_keep_valid(per_tok, m), m, mode, *info)
    approx_kl = float(((old_logp - logp.detach()) * m).sum() / m.sum().clamp(min=1.0))
    return PolicyLossResult(
        loss=loss,
        per_token_loss=per_tok,
        ratio=ratio,
        clip_fraction=float(metrics.get("clip_fraction", 0.0)),
        dual_clip_fraction=float(metrics.get("dual_clip_fraction", 0.0)),
        approx_kl=approx_kl,
        kl=kl_mean,
        entropy=ent_mean,
    )
