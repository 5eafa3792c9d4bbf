"""Bounded-ratio policy optimisation: BRRL's analytic target ratio, the BPO loss and GBPO.

Source: Ao et al. (2026), *Bounded Ratio Reinforcement Learning*, arXiv:2604.18578
(``docs/papers/bpo_gbpo.md``). The trust region is put on the probability ratio itself,

.. math::

    \\max_\\rho\\ \\sum_a \\pi_0(a)\\,\\rho(a)\\,A(a)\\quad\\text{s.t.}\\quad c_l \\le \\rho(a) \\le c_h,\\ \\
    \\sum_a \\pi_0(a)\\rho(a) = 1,

a linear programme (one per state) whose optimum is the *sign rule* (docs/papers/bpo_gbpo.md, "Analytic
optimum")

.. math::

    \\rho^*(a) = 1 + \\varepsilon\\,\\mathrm{sign}(Q(a) - \\mu),\\qquad \\mu = \\pi_0\\text{-weighted median of } Q,

with the mass of an atom of :math:`\\pi_0` sitting exactly at the median split so that
:math:`\\sum_a \\pi_0\\rho^* = 1`. With finitely many actions the weighted median generically *is*
such an atom (the cumulative mass crosses 1/2 inside one action), so the split is the common case:
that action gets :math:`\\rho = 1 + \\varepsilon (P(Q<\\mu) - P(Q>\\mu)) / P(Q=\\mu)`.

Public functions
----------------
* ``weighted_median`` -- lower :math:`\\pi_0`-weighted median of ``Q`` per state.
* :func:`bpo_sign_rule` -- the paper's sign rule (symmetric bounds ``1 +- eps``), atom split.
* :func:`bpo_target_ratio` -- the LP optimum for any bounds ``c_low <= 1 <= c_high`` (a fractional
  knapsack: fill the best actions up to ``c_high`` first); equal to :func:`bpo_sign_rule` for
  ``c_low = 1 - eps, c_high = 1 + eps`` and to the cross-entropy-method elite update for
  ``c_low = 0, c_high = 1/q`` (docs/papers/bpo_gbpo.md claim 5).
* :func:`gbpo_advantages` -- GBPO's group-median advantages ``r_i - median_g(r)`` (torch).
* :func:`bpo_target_from_advantages` -- per-token target ``1 + eps sign(A)`` (torch).
* ``bpo_token_losses``, :func:`bpo_loss` -- the BPO/GBPO loss ``|A| D(rho, rho*)`` with the
  squared or the one-sided hinge divergence (docs/papers/bpo_gbpo.md "BPO loss", a reconstruction).

The tabular functions take numpy arrays ``q, pi0`` of shape ``(..., A)`` (one row per state) and
are vectorised over the leading dimensions (``O(A log A)`` per row, one sort).
"""

from __future__ import annotations

import numpy as np

from mdp._validation import as_float_array, check_probability

__all__ = [
    "weighted_median",
    "bpo_sign_rule",
    "bpo_target_ratio",
    "gbpo_advantages",
    "bpo_target_from_advantages",
    "bpo_token_losses",
    "bpo_loss",
    "GBPO_SCALES",
    "BPO_DIVERGENCES",
]

GBPO_SCALES = ("none", "std", "mad")
BPO_DIVERGENCES = ("squared", "hinge")


# --------------------------------------------------------------------------------------------
# tabular target ratio
# --------------------------------------------------------------------------------------------
def _check_q_pi(q, pi0) -> tuple[np.ndarray, np.ndarray]:
    q = as_float_array(q, "q")
    pi0 = as_float_array(pi0, "pi0")
    if q.ndim == 0 or q.shape[-1] == 0:
        raise ValueError(f"q must have at least one action on its last axis, got shape {q.shape}")
    if q.shape != pi0.shape:
        raise ValueError(f"q and pi0 must have the same shape (..., A), got {q.shape} and {pi0.shape}")
    if np.any(pi0 < 0):
        raise ValueError("pi0 must be a probability vector per row: found a negative entry")
    s = pi0.sum(axis=-1)
    if np.any(np.abs(s - 1.0) > 1e-8):
        raise ValueError(f"pi0 rows must sum to 1 (within 1e-8); worst row sums to {s.flat[np.argmax(np.abs(s - 1))]}")
    return q, pi0


def weighted_median(q, pi0) -> np.ndarray:
    """Lower :math:`\\pi_0`-weighted median of ``q`` per row.

    Parameters
    ----------
    q, pi0 : array_like, shape (..., A)
        Action values and a probability vector per row.

    Returns
    -------
    numpy.ndarray, shape (...)
        The smallest value ``m`` among ``q[..., a]`` with ``P(Q <= m) >= 1/2`` (mass compared with
        a ``1e-12`` tolerance), so ``P(Q < m) <= 1/2`` and ``P(Q > m) <= 1/2``.
    """
    q, pi0 = _check_q_pi(q, pi0)
    order = np.argsort(q, axis=-1, kind="stable")
    qs = np.take_along_axis(q, order, -1)
    cum = np.cumsum(np.take_along_axis(pi0, order, -1), axis=-1)
    idx = np.argmax(cum >= 0.5 - 1e-12, axis=-1)
    return np.take_along_axis(qs, idx[..., None], -1)[..., 0]


def bpo_sign_rule(q, pi0, eps: float = 0.2) -> np.ndarray:
    """The BRRL sign rule ``rho* = 1 + eps sign(Q - mu)`` with the median atom split.

    Parameters
    ----------
    q, pi0 : array_like, shape (..., A)
        ``Q_{pi0}(s, .)`` and ``pi0(. | s)`` per state row.
    eps : float in [0, 1]
        Ratio bound (the trust region ``1 - eps <= rho <= 1 + eps``).

    Returns
    -------
    numpy.ndarray, shape (..., A)
        Target ratios: ``1 + eps`` above the weighted median ``mu`` (``weighted_median``),
        ``1 - eps`` below it and ``1 + eps (P(Q<mu) - P(Q>mu)) / P(Q=mu)`` on the actions whose
        value equals ``mu``, so that ``sum_a pi0 rho* = 1`` (docs/papers/bpo_gbpo.md, analytic optimum).

    Examples
    --------
    >>> bpo_sign_rule([0.0, 1.0, 2.0], [0.25, 0.5, 0.25], eps=0.2).tolist()
    [0.8, 1.0, 1.2]
    """
    q, pi0 = _check_q_pi(q, pi0)
    e = check_probability(eps, "eps")
    mu = weighted_median(q, pi0)[..., None]
    above, below, at = q > mu, q < mu, q == mu
    pa = np.where(above, pi0, 0.0).sum(-1, keepdims=True)
    pb = np.where(below, pi0, 0.0).sum(-1, keepdims=True)
    pm = np.where(at, pi0, 0.0).sum(-1, keepdims=True)
    mid = 1.0 + e * np.divide(pb - pa, pm, out=np.zeros_like(pm), where=pm > 0)
    return np.where(above, 1.0 + e, np.where(below, 1.0 - e, mid))


def bpo_target_ratio(
    q, pi0, eps: float = 0.2, *, c_low: float | None = None, c_high: float | None = None
) -> np.ndarray:
    """Exact optimum of the bounded-ratio LP for bounds ``c_low <= rho <= c_high``.

    Solves ``max_rho sum_a pi0 rho A`` s.t. ``c_low <= rho <= c_high``, ``sum_a pi0 rho = 1``
    (docs/papers/bpo_gbpo.md "BRRL problem"; ``A`` may be ``Q`` or ``Q - V``: the constraint makes the two
    objectives differ by a constant). Substituting the mass ``w = pi0 rho`` it is a fractional
    knapsack: every action starts at ``c_low``, and the free budget ``1 - c_low`` is poured into the
    actions in decreasing order of ``Q`` up to ``c_high``. Actions with equal ``Q`` share one ratio
    (the LP's symmetric optimum when ties make it non-unique).

    Parameters
    ----------
    q, pi0 : array_like, shape (..., A)
    eps : float in [0, 1]
        Used for the default bounds ``c_low = 1 - eps``, ``c_high = 1 + eps``.
    c_low, c_high : float, optional
        Asymmetric bounds with ``0 <= c_low <= 1 <= c_high``. ``c_low = 0, c_high = 1/q`` gives the
        cross-entropy-method update (top-``q`` mass kept, reweighted by ``1/q``).

    Returns
    -------
    numpy.ndarray, shape (..., A)
    """
    q, pi0 = _check_q_pi(q, pi0)
    e = check_probability(eps, "eps")
    lo = 1.0 - e if c_low is None else float(c_low)
    hi = 1.0 + e if c_high is None else float(c_high)
    if not (np.isfinite(lo) and np.isfinite(hi)) or not 0.0 <= lo <= 1.0 <= hi:
        raise ValueError(f"bounds must satisfy 0 <= c_low <= 1 <= c_high, got c_low={lo}, c_high={hi}")
    shape = q.shape
    A = shape[-1]
    q2, p2 = q.reshape(-1, A), pi0.reshape(-1, A)
    B = q2.shape[0]
    order = np.argsort(-q2, axis=1, kind="stable")
    qs = np.take_along_axis(q2, order, 1)
    cap = (hi - lo) * np.take_along_axis(p2, order, 1)
    new = np.ones((B, A), dtype=bool)
    new[:, 1:] = qs[:, 1:] != qs[:, :-1]
    gid = np.cumsum(new.ravel()) - 1  # global tie-group id
    cap_group = np.bincount(gid, weights=cap.ravel())[gid].reshape(B, A)
    cum_excl = np.cumsum(cap, axis=1) - cap
    start = np.maximum.accumulate(np.where(new, np.arange(A)[None, :], 0), axis=1)
    before = np.take_along_axis(cum_excl, start, 1)  # capacity of strictly better actions
    budget = 1.0 - lo
    room = budget - before
    frac = np.where(
        cap_group > 0,
        np.clip(np.divide(room, cap_group, out=np.zeros_like(room), where=cap_group > 0), 0.0, 1.0),
        (room > 0).astype(float),
    )
    rho_sorted = lo + (hi - lo) * frac
    rho = np.empty_like(rho_sorted)
    np.put_along_axis(rho, order, rho_sorted, 1)
    return rho.reshape(shape)


# --------------------------------------------------------------------------------------------
# GBPO (torch)
# --------------------------------------------------------------------------------------------
def _tensor(x, name: str, *, dtype=None, finite: bool = True):
    import torch

    if isinstance(x, torch.Tensor):
        t = x
    else:
        if isinstance(x, (str, bytes)) or x is None:
            raise TypeError(f"{name} must be a tensor or array of numbers, got {type(x).__name__}")
        arr = np.asarray(x)
        if arr.dtype == object:
            raise TypeError(f"{name} must be a tensor or array of numbers, got dtype object")
        t = torch.as_tensor(arr if arr.flags.writeable else arr.copy())  # rlab results are read-only
    if t.is_complex():
        raise TypeError(f"{name} must be real, got {t.dtype}")
    if dtype is not None:
        t = t.to(dtype)
    if finite and t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return t


def _float(x, name, *, finite: bool = True):
    import torch

    t = _tensor(x, name, finite=finite)
    if not t.is_floating_point():
        t = t.to(torch.float64)
    return t


def _group_codes(group_ids, rows: int):
    import torch

    from mdp.llm.segments import dense_codes

    g = _tensor(group_ids, "group_ids")
    if g.is_floating_point() or g.dtype == torch.bool:
        raise TypeError(f"group_ids must be integers, got {g.dtype}")
    if g.shape != (rows,):
        raise ValueError(f"group_ids must have shape ({rows},) like rewards, got {tuple(g.shape)}")
    return dense_codes(g.to(torch.int64))


def group_median(values, codes, n: int):
    """Per-group median ``(n,)`` of ``values`` ``(rows,)`` (mean of the two middle values for an even
    count, so a half-successful binary group has median 1/2 as docs/papers/bpo_gbpo.md prescribes)."""
    import torch

    from mdp.llm.segments import segment_count

    order = torch.argsort(values, stable=True)
    order = order[torch.argsort(codes[order], stable=True)]
    vs = values[order]
    count = segment_count(codes, n, dtype=torch.int64)
    start = torch.cumsum(count, 0) - count
    lo = start + (count - 1) // 2
    hi = start + count // 2
    return 0.5 * (vs[lo] + vs[hi])


def gbpo_advantages(rewards, group_ids, *, scale: str = "none", eps: float = 1e-6):
    """GBPO's group-relative median advantages ``A_i = (r_i - median_g r) / (scale_g + eps)``.

    Parameters
    ----------
    rewards : tensor or array, shape (rows,)
    group_ids : integer tensor or array, shape (rows,)
    scale : {"none", "std", "mad"}
        ``"none"`` (no division, the default), ``"std"`` (population std of the group) or ``"mad"``
        (mean absolute deviation about the median) -- docs/papers/bpo_gbpo.md "GBPO" (reconstruction).
    eps : float
        Added to the scale (ignored for ``"none"``).

    Returns
    -------
    torch.Tensor, shape (rows,)
        Binary groups: ``A = 0`` for the majority side (the median equals its reward), e.g.
        rewards ``[1, 0, 0]`` give ``[1, 0, 0]`` -- unlike GRPO's z-scores.
    """
    from mdp.llm.segments import gather, segment_mean

    r = _float(rewards, "rewards")
    if r.dim() != 1:
        raise ValueError(f"rewards must be 1-D (rows,), got shape {tuple(r.shape)}")
    if r.numel() == 0:
        raise ValueError("rewards must not be empty")
    if scale not in GBPO_SCALES:
        raise ValueError(f"scale must be one of {GBPO_SCALES}, got {scale!r}")
    codes, n = _group_codes(group_ids, r.shape[0])
    med = group_median(r, codes, n)
    adv = r - gather(med, codes)
    if scale == "none":
        return adv
    if scale == "mad":
        s = segment_mean(adv.abs(), codes, n)
    else:
        m = segment_mean(r, codes, n)
        s = segment_mean((r - gather(m, codes)) ** 2, codes, n).sqrt()
    return adv / (gather(s, codes) + float(eps))


def bpo_target_from_advantages(advantages, eps: float = 0.2):
    """Per-row or per-token target ratio ``1 + eps sign(A)`` (``1`` where ``A = 0``)."""
    import torch

    a = _float(advantages, "advantages")
    return 1.0 + check_probability(eps, "eps") * torch.sign(a)


def _valid_only(t, mask, name):
    """Check ``t`` is finite where ``mask > 0`` and return it with 0 elsewhere (padding may hold
    NaN/-inf; ``torch.where`` keeps it out of the values and gives it gradient 0)."""
    from mdp.llm.batch import _check_finite
    from mdp.llm.losses import _keep_valid

    _check_finite(_keep_valid(t.detach(), mask), name)
    return _keep_valid(t, mask)


def _token_inputs(log_probs, old_log_probs, advantages, response_mask):
    """Validated ``(log_probs, old, adv, mask)``, all ``(rows, tokens)``; only valid tokens
    (``mask == 1``) must be finite, padding is replaced by 0 (the rule of :mod:`mdp.llm.losses`)."""
    lp = _float(log_probs, "log_probs", finite=False)
    old = _float(old_log_probs, "old_log_probs", finite=False).to(lp.dtype)
    if lp.dim() != 2:
        raise ValueError(f"log_probs must be (rows, tokens), got shape {tuple(lp.shape)}")
    if old.shape != lp.shape:
        raise ValueError(f"old_log_probs must have shape {tuple(lp.shape)} like log_probs, got {tuple(old.shape)}")
    mask = _tensor(response_mask, "response_mask")
    if tuple(mask.shape) != tuple(lp.shape):
        raise ValueError(f"response_mask must have shape {tuple(lp.shape)} like log_probs, got {tuple(mask.shape)}")
    mask = mask.to(lp.dtype)
    if bool(((mask != 0) & (mask != 1)).any()):
        raise ValueError("response_mask must hold only 0/1 (or booleans)")
    adv = _float(advantages, "advantages", finite=False).to(lp.dtype)
    if adv.dim() == 1:
        if adv.shape[0] != lp.shape[0]:
            raise ValueError(f"advantages (rows,) must have {lp.shape[0]} rows, got {adv.shape[0]}")
        adv = adv.unsqueeze(1).expand_as(lp)
    elif tuple(adv.shape) != tuple(lp.shape):
        raise ValueError(f"advantages must be (rows,) or {tuple(lp.shape)}, got {tuple(adv.shape)}")
    lp = _valid_only(lp, mask, "log_probs")
    old = _valid_only(old, mask, "old_log_probs")
    adv = _valid_only(adv, mask, "advantages")
    return lp, old, adv, mask


def bpo_token_losses(
    log_probs, old_log_probs, advantages, response_mask, *, eps: float = 0.2, divergence: str = "squared"
):
    """Per-token BPO loss ``|A| D(rho, 1 + eps sign(A))`` (zero off the mask).

    Padding tokens (mask 0) may hold NaN/inf in any input; only valid tokens must be finite.

    Parameters
    ----------
    log_probs, old_log_probs : tensor, shape (rows, tokens)
        ``log pi_theta`` and ``log pi_old`` of the sampled tokens.
    advantages : tensor, shape (rows,) or (rows, tokens)
        Median advantages (:func:`gbpo_advantages`, or ``Q - mu`` from a critic).
    response_mask : tensor, shape (rows, tokens), 0/1
    eps : float in [0, 1]
    divergence : {"squared", "hinge"}
        ``"squared"``: ``(rho - rho*)^2``; ``"hinge"``: one-sided ``max(sign(A) (rho* - rho), 0)``,
        flat beyond the target, which for ``A > 0`` equals PPO-clip's ``-A min(rho, 1 + eps)`` up to
        a constant (docs/papers/bpo_gbpo.md, "BPO loss").

    Returns
    -------
    torch.Tensor, shape (rows, tokens)
    """
    import torch

    if divergence not in BPO_DIVERGENCES:
        raise ValueError(f"divergence must be one of {BPO_DIVERGENCES}, got {divergence!r}")
    e = check_probability(eps, "eps")
    lp, old, adv, mask = _token_inputs(log_probs, old_log_probs, advantages, response_mask)
    rho = torch.exp(lp - old)
    sgn = torch.sign(adv)
    target = 1.0 + e * sgn
    if divergence == "squared":
        d = (rho - target) ** 2
    else:
        d = torch.relu(sgn * (target - rho))
    return adv.abs() * d * mask


def bpo_loss(
    log_probs,
    old_log_probs,
    advantages,
    response_mask,
    *,
    eps: float = 0.2,
    divergence: str = "squared",
    loss_agg_mode: str = "token-mean",
):
    """Scalar BPO/GBPO loss: ``bpo_token_losses`` aggregated by ``loss_agg_mode``.

    ``loss_agg_mode``: any mode of :func:`mdp.llm.agg_loss` (``"token-mean"``,
    ``"seq-mean-token-mean"``, ``"seq-mean-token-sum"``, ``"seq-mean-token-sum-norm"``, ...). The
    same loss is available as ``mdp.llm.policy_loss("bpo", logp, old_logp, adv, mask, eps=...,
    divergence=...)``.
    """
    losses = bpo_token_losses(log_probs, old_log_probs, advantages, response_mask, eps=eps, divergence=divergence)
    mask = _tensor(response_mask, "response_mask").to(losses.dtype)
    return aggregate(losses, mask, loss_agg_mode)


def aggregate(token_losses, mask, mode: str, *, loss_scale_factor=None):
    """Aggregate a ``(rows, tokens)`` loss over ``mask`` with :func:`mdp.llm.agg_loss`."""
    from mdp.llm.losses import agg_loss

    if float(mask.sum()) == 0:
        raise ValueError("response_mask has no valid token (all zeros)")
    return agg_loss(token_losses, mask, mode, loss_scale_factor=loss_scale_factor)


# --------------------------------------------------------------------------------------------
# registration: the "gbpo" estimator and the "bpo" policy loss
# --------------------------------------------------------------------------------------------
def _gbpo_estimator(batch, *, scale="none", eps=1e-6):
    """GBPO: group-median advantages ``r_i - median_g(r)`` (optionally scaled)."""
    return gbpo_advantages(batch.sequence_rewards(), batch.group_ids, scale=scale, eps=eps).to(batch.dtype)


def _bpo_policy_loss(logp, old_logp, adv, mask, *, eps=0.2, divergence="squared"):
    """``policy_loss("bpo", ...)``: per-token ``|A| D(rho, 1 + eps sign(A))``."""
    import torch

    per_tok = bpo_token_losses(logp, old_logp, adv, mask, eps=eps, divergence=divergence)
    ratio = torch.exp(logp - old_logp)
    return per_tok, ratio, {}


def _register() -> None:
    from mdp.llm.losses import register_policy_loss
    from mdp.llm.registry import register_estimator

    register_estimator(
        "gbpo",
        _gbpo_estimator,
        needs=("group_ids",),
        options={"scale": "none", "eps": 1e-6},
        paper="BRRL/GBPO, Ao et al. 2026, arXiv:2604.18578 (docs/papers/bpo_gbpo.md)",
        equation="A_i = (r_i - median_g r) / (scale_g + eps); target ratio 1 + eps sign(A_i)",
        replace=True,
    )
    register_policy_loss("bpo", _bpo_policy_loss, replace=True)


_register()
