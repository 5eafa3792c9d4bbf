"""Group-relative outcome advantage estimators: GRPO, Dr.GRPO, RLOO, REINFORCE++ (and its group
baseline variant), Lite-PPO and Gaussian GRPO.

Every function takes a :class:`~mdp.llm.batch.RolloutBatch` and returns float advantages in the
batch dtype, ``(rows,)`` for the outcome estimators or ``(rows, tokens)`` for the REINFORCE++ pair
(token-level returns). All are vectorised: per-group statistics are scatters over dense group codes
(:mod:`mdp.llm.segments`), ``O(rows)`` (``O(rows log rows)`` for the rank-based Gaussian GRPO, one
``torch.unique`` for the group codes); REINFORCE++'s discounted return is one pass over the token
axis, vectorised over rows (``O(rows * tokens)``).

Scalar reward per row: ``batch.sequence_rewards()`` (token-level rewards are summed over tokens, as
verl's ``token_level_rewards.sum(-1)``).

Conventions (named, selectable)
-------------------------------
The frameworks disagree on the small print; each choice is an option and ``convention`` selects a
preset (explicit options override it):

=====================  ==========  =====  ===============  ==================================
convention             epsilon     ddof   singleton        source
=====================  ==========  =====  ===============  ==================================
``"verl"`` (default)   1e-6        1      ``"reward"``     verl ``compute_grpo_outcome_advantage``,
                                                           ``compute_rloo_outcome_advantage``
``"verl_vectorized"``  1e-6        1      ``"reward"``     verl ``compute_grpo_vectorized_outcome_advantage``
                       + variance                          (``std = sqrt(max(var, 1e-6))``);
                       floor 1e-6         (rloo: zero)     ``compute_rloo_vectorized_outcome_advantage``
``"trl"``              1e-4        1      ``"zero"``       TRL ``GRPOTrainer`` / ``RLOOTrainer``
=====================  ==========  =====  ===============  ==================================

* ``epsilon`` is added to the std *outside* the square root: ``(r - mean) / (std + epsilon)``
  (both TRL and verl). ``std_ddof=1`` is the unbiased std (``torch.std`` default; TRL's ``nanstd``
  applies the same Bessel correction).
* **Singleton groups** (one row): ``"reward"`` = baseline 0 and scale 1, i.e. ``A = r / (1 + eps)``
  for GRPO, ``A = r`` for Dr.GRPO and RLOO (verl's loop implementations set ``mean=0, std=1``);
  ``"zero"`` = ``A = 0`` (TRL, where a singleton has std 0 or NaN and ends at 0; verl's
  vectorised RLOO multiplies by ``count > 1``); ``"error"`` = raise ``ValueError``.
* **Zero-variance groups** (all rewards equal): ``r - mean`` is 0 up to rounding in every
  framework, so both ``"formula"`` (compute ``(r - mean) / (std + eps)`` literally, as TRL and verl
  do; rounding residue of order ``1e-16 / eps`` survives) and ``"zero"`` (exactly 0) give no
  learning signal; ``"zero"`` is the default. The frameworks differ for *near*-zero variance: verl's
  vectorised path floors the variance at ``1e-6`` (``variance_floor``), TRL and verl's loop do not.
* ``scale_rewards`` (TRL's option): ``"group"`` (group std), ``"batch"`` (std over the whole batch,
  group mean kept — this is Lite-PPO's normalisation), ``"none"`` (no std: Dr.GRPO, verl's
  ``norm_adv_by_std_in_grpo=False``).
"""

from __future__ import annotations

import torch

from mdp._validation import check_positive_int, check_real
from mdp.llm.registry import register_estimator
from mdp.llm.segments import (
    constant_groups,
    gather,
    group_ordinal_ranks,
    segment_count,
    segment_mean,
    segment_std,
)

__all__ = [
    "grpo",
    "dr_grpo",
    "rloo",
    "reinforce_pp",
    "reinforce_pp_baseline",
    "lite_ppo",
    "gaussian_grpo",
    "CONVENTIONS",
]

#: Named normalisation conventions of the group-relative estimators (``convention=`` keyword):
#: the ``epsilon``, ``std_ddof``, ``singleton`` and ``variance_floor`` each framework uses.
CONVENTIONS = {
    "verl": {"epsilon": 1e-6, "std_ddof": 1, "singleton": "reward", "variance_floor": None},
    "verl_vectorized": {"epsilon": 1e-6, "std_ddof": 1, "singleton": "reward", "variance_floor": 1e-6},
    "trl": {"epsilon": 1e-4, "std_ddof": 1, "singleton": "zero", "variance_floor": None},
}
_SINGLETON = ("reward", "zero", "error")
_ZERO_VAR = ("zero", "formula")


def _choice(value, allowed, name, method):
    if value not in allowed:
        raise ValueError(f"{method}: {name} must be one of {list(allowed)}, got {value!r}")
    return value


def _resolve(method, convention, **explicit):
    """Merge a named convention preset with explicit (non-None) options."""
    if convention not in CONVENTIONS:
        raise ValueError(f"{method}: convention must be one of {sorted(CONVENTIONS)}, got {convention!r}")
    out = dict(CONVENTIONS[convention])
    out.update({k: v for k, v in explicit.items() if v is not None})
    eps = out["epsilon"]
    check_real(eps, f"{method}: epsilon", "[0, inf)")
    ddof = out["std_ddof"]
    check_positive_int(ddof, f"{method}: std_ddof", minimum=0)
    floor = out["variance_floor"]
    if floor is not None:
        check_real(floor, f"{method}: variance_floor", "[0, inf)")
    _choice(out["singleton"], _SINGLETON, "singleton", method)
    return out


def _group_setup(batch, method):
    scores = batch.sequence_rewards()
    codes, n = batch.group_codes(method=method)
    count = segment_count(codes, n, dtype=scores.dtype)
    mean = segment_mean(scores, codes, n)
    return scores, codes, n, count, mean


def _check_singletons(count, codes, batch, policy, method):
    single = count <= 1
    if policy == "error" and bool(single.any()):
        g = int(torch.nonzero(single)[0])
        row = int(torch.nonzero(codes == g)[0])
        raise ValueError(
            f"{method}: group {int(batch.group_ids[row])} has a single row (row {row}) and "
            "singleton='error'; use singleton='zero' or 'reward' to allow it"
        )
    return single


def _std(values, ddof):
    """Std of all values (ddof); 0 when there are too few values (TRL's batch std fallback)."""
    if values.numel() <= ddof:
        return values.new_zeros(())
    return values.std(correction=ddof)


# ------------------------------------------------------------------------------------------------
# GRPO family


def grpo(
    batch,
    *,
    convention="verl",
    scale_rewards="group",
    epsilon=None,
    std_ddof=None,
    singleton=None,
    zero_variance="zero",
    variance_floor=None,
):
    """GRPO group-normalised outcome advantage ``A_i = (r_i - mean_g r) / (std_g r + eps)``.

    Shao et al. 2024 (DeepSeekMath, arXiv:2402.03300), Sec. 4.1.2 "outcome supervision".
    ``(rows,)``. Options: see the module docstring (``convention``, ``scale_rewards`` in
    {"group", "batch", "none"}, ``epsilon``, ``std_ddof``, ``singleton``, ``zero_variance``,
    ``variance_floor``).
    """
    m = "grpo"
    o = _resolve(m, convention, epsilon=epsilon, std_ddof=std_ddof, singleton=singleton, variance_floor=variance_floor)
    _choice(scale_rewards, ("group", "batch", "none"), "scale_rewards", m)
    _choice(zero_variance, _ZERO_VAR, "zero_variance", m)
    scores, codes, n, count, mean = _group_setup(batch, m)
    single = _check_singletons(count, codes, batch, o["singleton"], m)
    eps = float(o["epsilon"])
    if scale_rewards == "group":
        if o["variance_floor"] is not None:
            var = segment_std(scores, codes, n, ddof=o["std_ddof"], mean=mean) ** 2
            var = torch.where(count - o["std_ddof"] > 0, var, torch.zeros_like(var))
            std = torch.clamp(var, min=float(o["variance_floor"])).sqrt()
        else:
            std = segment_std(scores, codes, n, ddof=o["std_ddof"], mean=mean)
        # singletons: verl uses mean 0, std 1 ("reward"); "zero" is applied after the formula
        mean = torch.where(single, torch.zeros_like(mean), mean)
        std = torch.where(single, torch.ones_like(std), std)
        adv = (scores - gather(mean, codes)) / (gather(std, codes) + eps)
    else:
        mean = torch.where(single, torch.zeros_like(mean), mean) if o["singleton"] == "reward" else mean
        adv = scores - gather(mean, codes)
        if scale_rewards == "batch":
            adv = adv / (_std(scores, o["std_ddof"]) + eps)
    if o["singleton"] == "zero":
        adv = torch.where(gather(single, codes), torch.zeros_like(adv), adv)
    if zero_variance == "zero":
        const = constant_groups(scores, codes, n) & ~single
        adv = torch.where(gather(const, codes), torch.zeros_like(adv), adv)
    return adv


def dr_grpo(batch, *, convention="verl", singleton=None, zero_variance="zero"):
    """Dr.GRPO outcome advantage ``A_i = r_i - mean_g r`` (no std division).

    Liu et al. 2025, "Understanding R1-Zero-Like Training: A Critical Perspective"
    (arXiv:2503.20783), Sec. 3.1 / Eq. 3: the std normalisation and the ``1/|o_i|`` length term
    are removed; the loss uses a constant normaliser (``agg="seq-mean-token-sum-norm"`` in
    :func:`mdp.llm.losses.policy_loss`). ``(rows,)``.
    """
    return grpo(batch, convention=convention, scale_rewards="none", singleton=singleton, zero_variance=zero_variance)


def rloo(batch, *, convention="verl", singleton=None, normalize=False, normalize_epsilon=1e-4):
    """RLOO leave-one-out advantage ``A_i = r_i - (1/(n-1)) sum_{j != i} r_j = n/(n-1) (r_i - mean_g r)``.

    Kool et al. 2019 ("Buy 4 REINFORCE samples, get a baseline for free!"); Ahmadian et al. 2024
    (arXiv:2402.14740), Eq. 6. ``singleton``: ``"reward"`` (verl's loop: ``A = r``), ``"zero"``
    (TRL, verl's vectorised RLOO). ``normalize=True``: whiten over the batch,
    ``(A - mean A) / (std A + normalize_epsilon)`` (TRL ``normalize_advantages``). ``(rows,)``.
    """
    m = "rloo"
    if convention == "verl_vectorized" and singleton is None:
        singleton = "zero"
    o = _resolve(m, convention, singleton=singleton)
    scores, codes, n, count, mean = _group_setup(batch, m)
    single = _check_singletons(count, codes, batch, o["singleton"], m)
    c = gather(count, codes)
    adv = (scores - gather(mean, codes)) * c / (c - 1).clamp(min=1)
    single_rows = gather(single, codes)
    adv = torch.where(single_rows, scores if o["singleton"] == "reward" else torch.zeros_like(adv), adv)
    if normalize:
        eps = float(normalize_epsilon)
        adv = (adv - adv.mean()) / (_std(adv, 1) + eps)
    return adv


# ------------------------------------------------------------------------------------------------
# REINFORCE++


def _token_rewards(batch, method, kl_coef, kl_kind):
    """Token-level rewards ``(rows, tokens)``, KL penalty in the reward when ``kl_coef != 0``.

    Scalar rewards are placed on the last response token of each row. With ``kl_coef`` the reward
    becomes ``r_t - kl_coef * kl_t * mask_t`` with ``kl_t = kl_estimate(old_logp, ref_logp, kl_kind)``
    (verl ``apply_kl_penalty``; needs ``extra["old_logp"]`` and ``extra["ref_logp"]``).
    """
    batch.require("response_mask", method=method)
    mask = batch.response_mask.to(batch.dtype)
    if batch.token_level:
        tr = batch.rewards
    else:
        tokens = mask.shape[1]
        pos = torch.arange(tokens, device=mask.device).expand_as(mask)
        last = torch.where(batch.response_mask, pos, torch.full_like(pos, -1)).amax(dim=1)
        tr = torch.zeros_like(mask)
        has = last >= 0
        rows = torch.nonzero(has).squeeze(-1)
        tr[rows, last[has]] = batch.rewards[has]
    if kl_coef:
        from mdp.llm.losses import kl_estimate

        old = batch.extra_tensor("old_logp", method=method + " with kl_coef != 0", ndim=2)
        ref = batch.extra_tensor("ref_logp", method=method + " with kl_coef != 0", ndim=2)
        if old.shape != mask.shape or ref.shape != mask.shape:
            raise ValueError(
                f"{method}: extra['old_logp'] and extra['ref_logp'] must have shape "
                f"{tuple(mask.shape)}, got {tuple(old.shape)} and {tuple(ref.shape)}"
            )
        tr = tr - float(kl_coef) * kl_estimate(old, ref, kl_kind) * mask
    return tr, mask


def _masked_whiten(values, mask, eps, method):
    """verl ``masked_whiten``: ``(x - mean_m) / sqrt(var_m + eps)`` with the unbiased masked variance."""
    total = mask.sum()
    if total <= 1:
        raise ValueError(f"{method}: whitening needs at least 2 response tokens in the batch, got {int(total)}")
    mean = (values * mask).sum() / total
    var = (((values - mean) ** 2) * mask).sum() / (total - 1)
    return (values - mean) * torch.rsqrt(var + eps)


def reinforce_pp(batch, *, gamma=1.0, kl_coef=0.0, kl_kind="kl", whiten_epsilon=1e-8):
    """REINFORCE++: token-level discounted returns, whitened over the whole batch.

    Hu 2025, "REINFORCE++" (arXiv:2501.03262), Sec. 3: ``G_t = sum_{k>=t} gamma^{k-t} r_k`` with the
    KL penalty in the token reward ``r_k = score_k - beta * KL_k``, then
    ``A_t = (G_t - mean(G)) / sqrt(var(G) + 1e-8)`` over all response tokens of the batch. The
    discounted sum restarts after every masked token (verl's ``running_return * mask_t``).
    Returns ``(rows, tokens)``, zero off the mask. Needs ``response_mask``.

    Empty rows (all-zero ``response_mask``): the exception to RolloutBatch's "advantage still
    computed from its reward" rule. REINFORCE++ has no row-level quantity: returns live on response
    tokens and the whitening statistics are over response tokens (verl ``masked_whiten``), so a row
    without tokens has no return, its reward enters no statistic and its advantages are 0.
    """
    m = "reinforce_pp"
    check_real(gamma, f"{m}: gamma", "[0, 1]")
    tr, mask = _token_rewards(batch, m, kl_coef, kl_kind)
    returns = torch.zeros_like(tr)
    running = torch.zeros_like(tr[:, 0])
    for t in range(tr.shape[1] - 1, -1, -1):  # over tokens, vectorised over rows
        running = tr[:, t] + gamma * running
        returns[:, t] = running
        running = running * mask[:, t]
    return _masked_whiten(returns, mask, whiten_epsilon, m) * mask


def reinforce_pp_baseline(batch, *, convention="verl", singleton=None, kl_coef=0.0, kl_kind="kl", whiten_epsilon=1e-8):
    """REINFORCE++ with a group-mean baseline (verl ``reinforce_plus_plus_baseline``).

    Hu 2025 (arXiv:2501.03262): ``A_i = r_i - mean_g r`` broadcast to the response tokens, then
    whitened over all response tokens of the batch, ``(A - mean) / sqrt(var + 1e-8)``. ``r_i`` is
    the sum of the (KL-shaped) token rewards. ``singleton``: ``"reward"`` (verl: baseline 0) or
    ``"zero"``. Returns ``(rows, tokens)``. Needs ``group_ids`` and ``response_mask``.

    Empty rows (all-zero ``response_mask``) follow the RolloutBatch convention: their reward counts
    in their group's baseline ``mean_g r`` (as in verl, whose ``scores`` are taken before masking),
    and their token advantages are 0 (no tokens). The whitening is over response tokens, so such a
    row adds nothing to its statistics.
    """
    m = "reinforce_pp_baseline"
    o = _resolve(m, convention, singleton=singleton)
    tr, mask = _token_rewards(batch, m, kl_coef, kl_kind)
    scores = tr.sum(-1)
    if not batch.token_level:
        # a scalar reward of an empty row has no last token to sit on: count it in the baseline
        empty = ~batch.response_mask.any(dim=1)
        scores = torch.where(empty, batch.rewards, scores)
    codes, n = batch.group_codes(method=m)
    count = segment_count(codes, n, dtype=scores.dtype)
    single = _check_singletons(count, codes, batch, o["singleton"], m)
    mean = segment_mean(scores, codes, n)
    mean = torch.where(single, torch.zeros_like(mean), mean)
    adv = scores - gather(mean, codes)
    if o["singleton"] == "zero":
        adv = torch.where(gather(single, codes), torch.zeros_like(adv), adv)
    adv = adv.unsqueeze(-1) * mask
    return _masked_whiten(adv, mask, whiten_epsilon, m) * mask


# ------------------------------------------------------------------------------------------------
# Lite-PPO and Gaussian GRPO


def lite_ppo(batch, *, epsilon=1e-6, std_ddof=1, singleton="zero", zero_variance="zero"):
    """Lite-PPO advantage: group mean, batch std, ``A_i = (r_i - mean_g r) / (std_batch r + eps)``.

    Liu et al. 2025, "Tricks or Traps? A Deep Dive into RL for LLM Reasoning" (arXiv:2508.08221),
    Sec. 4 (advantage normalisation; ROLL ``norm_mean_type="group", norm_std_type="batch"``); pair
    with ``agg="token-mean"``. A batch with fewer than ``std_ddof + 1`` rows has batch std 0.
    ``singleton``: ``"zero"`` (default: a one-row group is its own mean, advantage 0) or
    ``"reward"`` (baseline 0, verl's convention). ``zero_variance``: ``"zero"`` (default, a group
    with equal rewards gets exactly 0) or ``"formula"``.

    Exact equivalence: ``lite_ppo(epsilon=e, std_ddof=d, singleton=s, zero_variance=z)`` equals
    ``grpo(scale_rewards="batch", epsilon=e, std_ddof=d, singleton=s, zero_variance=z)``. With the
    defaults of both, ``lite_ppo()`` equals ``grpo(scale_rewards="batch", singleton="zero")``
    (grpo's default ``convention="verl"`` has ``singleton="reward"``, which differs on one-row
    groups); TRL's ``scale_rewards="batch"`` is ``lite_ppo(epsilon=1e-4)`` (TRL's singleton policy
    is ``"zero"``).
    """
    m = "lite_ppo"
    _choice(singleton, _SINGLETON, "singleton", m)
    _choice(zero_variance, _ZERO_VAR, "zero_variance", m)
    check_real(epsilon, f"{m}: epsilon", "[0, inf)")
    scores, codes, n, count, mean = _group_setup(batch, m)
    single = _check_singletons(count, codes, batch, singleton, m)
    if singleton == "reward":
        mean = torch.where(single, torch.zeros_like(mean), mean)
    adv = (scores - gather(mean, codes)) / (_std(scores, std_ddof) + float(epsilon))
    if zero_variance == "zero":
        const = constant_groups(scores, codes, n) & ~single
        adv = torch.where(gather(const, codes), torch.zeros_like(adv), adv)
    return adv


def gaussian_grpo(batch, *, ties="average_rank", unit_variance=False):
    """Gaussian GRPO (G^2RPO): within-group ranks mapped to normal quantiles.

    Hu et al. 2026, OpenVLThinkerV2 (arXiv:2604.08539); notes ``docs/papers/g2rpo_gaussian.md`` (the
    discretisation is a documented reconstruction): ``A_i = Phi^{-1}((rank_i - 0.5) / n_g)``.
    ``ties="average_rank"``: tied rewards share their average rank before ``Phi^{-1}`` (the brief's
    rule); ``"average_quantile"``: tied rows share the average of ``Phi^{-1}`` over their slots
    (keeps the group sum exactly 0). All-equal groups and singletons give 0. ``unit_variance``:
    rescale each group to population variance 1 (groups with zero spread stay 0). ``(rows,)``.
    """
    m = "gaussian_grpo"
    _choice(ties, ("average_rank", "average_quantile"), "ties", m)
    # ranks and Phi^{-1} in float64 (ndtri has no bf16/f16 kernel; ranks are exact), cast back at the end
    scores = batch.sequence_rewards().to(torch.float64)
    codes, n = batch.group_codes(method=m)
    count = gather(segment_count(codes, n, dtype=scores.dtype), codes)
    ranks, block, n_blocks = group_ordinal_ranks(scores, codes, n)
    if ties == "average_rank":
        avg = segment_mean(ranks, block, n_blocks).index_select(0, block)
        adv = torch.special.ndtri((avg - 0.5) / count)
    else:
        q = torch.special.ndtri((ranks - 0.5) / count)
        adv = segment_mean(q, block, n_blocks).index_select(0, block)
    const = gather(constant_groups(scores, codes, n), codes)
    adv = torch.where(const, torch.zeros_like(adv), adv)
    if unit_variance:
        sd = gather(segment_std(adv, codes, n, ddof=0), codes)
        adv = torch.where(sd > 0, adv / torch.where(sd > 0, sd, torch.ones_like(sd)), adv)
    return adv.to(batch.dtype)


# ------------------------------------------------------------------------------------------------
# registration

_GRPO_OPTS = {
    "convention": "verl",
    "scale_rewards": "group",
    "epsilon": None,
    "std_ddof": None,
    "singleton": None,
    "zero_variance": "zero",
    "variance_floor": None,
}

register_estimator(
    "grpo",
    grpo,
    needs=("group_ids",),
    options=_GRPO_OPTS,
    paper="Shao et al. 2024, DeepSeekMath (arXiv:2402.03300) Sec. 4.1.2",
    equation="A_i = (r_i - mean_g(r)) / (std_g(r) + eps)",
)
register_estimator(
    "dr_grpo",
    dr_grpo,
    needs=("group_ids",),
    options={"convention": "verl", "singleton": None, "zero_variance": "zero"},
    paper="Liu et al. 2025, Dr.GRPO (arXiv:2503.20783) Sec. 3.1",
    equation="A_i = r_i - mean_g(r)",
)
register_estimator(
    "rloo",
    rloo,
    needs=("group_ids",),
    options={"convention": "verl", "singleton": None, "normalize": False, "normalize_epsilon": 1e-4},
    paper="Ahmadian et al. 2024 (arXiv:2402.14740) Eq. 6; Kool et al. 2019",
    equation="A_i = r_i - mean_{j != i} r_j = n/(n-1) (r_i - mean_g(r))",
)
register_estimator(
    "reinforce_pp",
    reinforce_pp,
    needs=("response_mask",),
    options={"gamma": 1.0, "kl_coef": 0.0, "kl_kind": "kl", "whiten_epsilon": 1e-8},
    paper="Hu 2025, REINFORCE++ (arXiv:2501.03262) Sec. 3",
    equation="A_t = whiten_batch(sum_{k>=t} gamma^(k-t) (r_k - beta KL_k))",
)
register_estimator(
    "reinforce_pp_baseline",
    reinforce_pp_baseline,
    needs=("group_ids", "response_mask"),
    options={"convention": "verl", "singleton": None, "kl_coef": 0.0, "kl_kind": "kl", "whiten_epsilon": 1e-8},
    paper="Hu 2025, REINFORCE++ (arXiv:2501.03262); verl reinforce_plus_plus_baseline",
    equation="A_t = whiten_batch(r_i - mean_g(r))",
)
register_estimator(
    "lite_ppo",
    lite_ppo,
    needs=("group_ids",),
    options={"epsilon": 1e-6, "std_ddof": 1, "singleton": "zero", "zero_variance": "zero"},
    paper="Liu et al. 2025, Tricks or Traps (arXiv:2508.08221) Sec. 4; notes docs/papers/lite_ppo.md",
    equation="A_i = (r_i - mean_g(r)) / (std_batch(r) + eps)",
)
register_estimator(
    "gaussian_grpo",
    gaussian_grpo,
    needs=("group_ids",),
    options={"ties": "average_rank", "unit_variance": False},
    paper="Hu et al. 2026, OpenVLThinkerV2 G^2RPO (arXiv:2604.08539); notes docs/papers/g2rpo_gaussian.md (reconstruction)",
    equation="A_i = Phi^{-1}((rank_i - 0.5) / n_g)",
)
