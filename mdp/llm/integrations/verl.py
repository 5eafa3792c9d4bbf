"""verl integration: every rlab estimator and policy loss in verl's registries, and a ``compute_advantage``
that lets the agentic estimators (GiGPO, HGPO, SALT, ...) run.

Importing this module registers (tested with ``verl==0.9.1``):

* every estimator of :func:`mdp.llm.list_estimators` as ``rlab_<name>`` in
  ``verl.trainer.ppo.core_algos.ADV_ESTIMATOR_REGISTRY`` (``algorithm.adv_estimator=rlab_rloo``);
* every policy loss of :func:`mdp.llm.list_policy_losses` as ``rlab_<kind>`` in
  ``POLICY_LOSS_REGISTRY`` (``actor_rollout_ref.actor.policy_loss.loss_mode=rlab_ppo``).

verl imports it by itself: the ``rlab`` distribution declares the entry point
``verl.plugins: rlab = mdp.llm.integrations.verl``, and ``import verl`` loads every entry point of
that group (``VERL_USE_EXTERNAL_PLUGINS``, default ``auto``). verl logs a plugin that fails to
import at *debug* level only; this module therefore reports its own failure loudly (a
``RuntimeWarning`` and an ``ERROR`` log record on the ``mdp.llm.integrations.verl`` logger) before
re-raising. If the ``rlab`` package itself cannot be imported nothing of ours runs: check with
``python -c "import mdp.llm.integrations.verl"``.

Configuration mapping
---------------------
Estimators (``fn(token_level_rewards, response_mask, index, config)`` as verl calls them): the
convention is ``"verl"`` (epsilon 1e-6, one-row groups keep their reward);
``algorithm.norm_adv_by_std_in_grpo=False`` selects ``scale_rewards="none"`` (grpo family) or
``mode="mean_norm"`` (GiGPO/HGPO); ``algorithm.gamma`` is the step-return discount of estimators
with a ``gamma`` option (GiGPO, HGPO, IGPO, REINFORCE++: verl-agent reads the same field).
Estimator options, in increasing priority: :func:`set_estimator_options` (driver process),
``RLAB_VERL_OPTIONS`` (environment, JSON ``{"rlab_gigpo": {"step_advantage_w": 0.5}}``), the
config key ``algorithm.rlab_options`` (``+algorithm.rlab_options.step_advantage_w=0.5`` on the
Hydra command line; the ``algorithm`` section is an OmegaConf dict in verl's trainers).

Losses (``fn(old_log_prob, log_prob, advantages, response_mask, loss_agg_mode, config,
rollout_is_weights)``): ``actor.clip_ratio_low``/``clip_ratio_high`` (falling back to
``clip_ratio``) -> ``eps_low``/``eps_high`` (ppo, gspo, hapo), ``clip_ratio`` -> ``eps`` (bpo),
``clip_ratio_c`` -> ``dual_clip`` (ppo; verl's dual clip is always on). The per-token loss is
rlab's; ``rollout_is_weights`` multiply it; the aggregation is verl's own ``agg_loss`` with
``loss_agg_mode`` and ``config.global_batch_info`` (``dp_size``, ``batch_num_tokens``,
``global_batch_size``, ``loss_scale_factor``), so micro-batch and data-parallel normalisation is
exactly verl's. Loss options: :func:`set_loss_options` or ``RLAB_VERL_OPTIONS``
(``{"rlab_ppo": {...}}``; the losses run in verl's worker processes, where only the environment
reaches). Metrics: ``actor/pg_clipfrac``, ``actor/ppo_kl``, ``actor/pg_clipfrac_lower``.

What verl does not pass, and the workaround
-------------------------------------------
* verl's ``compute_advantage`` hands a registered estimator only ``token_level_rewards``,
  ``response_mask``, ``index`` (``uid``), ``config`` (and ``reward_baselines``). Estimators that
  need more (trajectory ids, step indices, observations, action keys, ``extra`` inputs) raise a
  ``ValueError`` there naming this module's :func:`compute_advantage`, which reads them from the
  ``DataProto`` (``traj_uid``, ``step_ids``, ``anchor_obs``, ``rewards``, ``action_keys`` in
  ``non_tensor_batch``; verl-agent's names) and accepts verl-agent's keyword arguments.
  :func:`patch_compute_advantage` installs it in ``verl.trainer.ppo.ray_trainer`` (the
  ``RayPPOTrainer.fit`` loop, ``trainer.use_v1=False``).
* verl's v1 trainer (``trainer.use_v1=True``) fetches only ``uid, response_mask, rm_scores,
  rollout_log_probs, old_log_probs, ref_log_prob, values`` from its transfer queue before computing
  advantages, so no per-step field reaches any ``compute_advantage`` there: the agentic estimators
  need the legacy loop (or a subclass overriding ``_compute_advantage`` to select the fields).
* Policy-loss functions get no token entropies: ``rlab_hapo`` raises a ``ValueError`` saying so.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Mapping
from enum import Enum

import numpy as np
import torch

__all__ = [
    "PREFIX",
    "register",
    "compute_advantage",
    "patch_compute_advantage",
    "set_estimator_options",
    "set_loss_options",
    "estimator_options",
    "loss_options",
]

PREFIX = "rlab_"
_log = logging.getLogger(__name__)
_ESTIMATOR_OPTIONS: dict = {}
_LOSS_OPTIONS: dict = {}
_ROW_FIELDS = ("rewards", "group_ids", "response_mask")


def _cfg_get(config, key, default=None):
    if config is None:
        return default
    if isinstance(config, Mapping) or hasattr(config, "get"):
        try:
            return config.get(key, default)
        except Exception:  # dataclass configs without the key
            return getattr(config, key, default)
    return getattr(config, key, default)


def _env_options(name: str) -> dict:
    raw = os.environ.get("RLAB_VERL_OPTIONS", "")
    if not raw:
        return {}
    try:
        table = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ValueError(f"RLAB_VERL_OPTIONS must be a JSON object {{'rlab_<name>': {{...}}}}: {e}") from None
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ValueError("RLAB_VERL_OPTIONS must be a JSON object mapping 'rlab_<name>' to an options object")
    return dict(table.get(name, {}))


def set_estimator_options(method: str, **options) -> None:
    """Default options of estimator ``method`` (name without or with the ``rlab_`` prefix) in this process."""
    from mdp.llm.registry import get_estimator

    m = method[len(PREFIX) :] if method.startswith(PREFIX) else method
    spec = get_estimator(m)
    unknown = sorted(set(options) - set(spec.options))
    if unknown:
        raise TypeError(f"estimator {m!r} has no option(s) {unknown}; valid: {', '.join(sorted(spec.options))}")
    _ESTIMATOR_OPTIONS[m] = dict(options)


def set_loss_options(kind: str, **options) -> None:
    """Default options of policy loss ``kind`` in this process (verl runs losses in its workers: prefer
    ``RLAB_VERL_OPTIONS`` there)."""
    k = kind[len(PREFIX) :] if kind.startswith(PREFIX) else kind
    from mdp.llm.losses import list_policy_losses

    if k not in list_policy_losses():
        raise ValueError(f"unknown policy loss {k!r}; known: {', '.join(list_policy_losses())}")
    _LOSS_OPTIONS[k] = dict(options)


def estimator_options(method: str, config=None, *, norm_adv_by_std_in_grpo=None, gamma=None) -> dict:
    """Options estimator ``method`` runs with under verl's ``algorithm`` config (module docstring)."""
    from mdp.llm.integrations.common import resolve_estimator_options
    from mdp.llm.registry import get_estimator

    spec = get_estimator(method)
    opts = dict(_ESTIMATOR_OPTIONS.get(method, {}))
    opts.update(_env_options(PREFIX + method))
    cfg_opts = _cfg_get(config, "rlab_options", None)
    if cfg_opts:
        opts.update({k: v for k, v in dict(cfg_opts).items()})
    if norm_adv_by_std_in_grpo is None:
        norm_adv_by_std_in_grpo = _cfg_get(config, "norm_adv_by_std_in_grpo", None)
    if gamma is None:
        gamma = _cfg_get(config, "gamma", None)
    if gamma is not None and "gamma" in spec.options:
        opts.setdefault("gamma", float(gamma))
    return resolve_estimator_options(
        method,
        opts,
        convention="verl",
        norm_adv_by_std_in_grpo=None if norm_adv_by_std_in_grpo is None else bool(norm_adv_by_std_in_grpo),
    )


def loss_options(kind: str, config=None) -> dict:
    """Options policy loss ``kind`` runs with under verl's actor config (module docstring)."""
    return _loss_options(kind[len(PREFIX) :] if kind.startswith(PREFIX) else kind, config)


def _accepted_loss_options(kind: str) -> set:
    import inspect

    from mdp.llm.losses import _LOSSES, list_policy_losses

    if kind not in list_policy_losses():
        raise ValueError(f"unknown policy loss {kind!r}; known: {', '.join(list_policy_losses())}")
    sig = inspect.signature(_LOSSES[kind])
    return {k for k, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY}


def _loss_options(kind: str, config=None) -> dict:
    accepted = _accepted_loss_options(kind)
    out = {}
    clip = _cfg_get(config, "clip_ratio", None)
    lo = _cfg_get(config, "clip_ratio_low", None)
    hi = _cfg_get(config, "clip_ratio_high", None)
    lo = clip if lo is None else lo
    hi = clip if hi is None else hi
    if "eps_low" in accepted and lo is not None:
        out["eps_low"] = float(lo)
    if "eps_high" in accepted and hi is not None:
        out["eps_high"] = float(hi)
    if "eps" in accepted and clip is not None:
        out["eps"] = float(clip)
    c = _cfg_get(config, "clip_ratio_c", None)
    if kind == "ppo" and c is not None:
        out["dual_clip"] = float(c)
    out.update(_LOSS_OPTIONS.get(kind, {}))
    out.update(_env_options(PREFIX + kind))
    unknown = sorted(set(out) - accepted)
    if unknown:
        raise TypeError(f"policy loss {kind!r} has no option(s) {unknown}; valid: {', '.join(sorted(accepted))}")
    return out


# ------------------------------------------------------------------------------------------------
# estimators through verl's registry


def _make_adv_fn(method: str):
    from mdp.llm.registry import get_estimator

    spec = get_estimator(method)
    beyond = [f for f in spec.base_needs if f not in _ROW_FIELDS]

    def rlab_adv_fn(token_level_rewards, response_mask, index=None, config=None, **kwargs):
        from mdp.llm.batch import RolloutBatch
        from mdp.llm.registry import compute_advantages

        if beyond:
            raise ValueError(
                f"{PREFIX}{method} needs {beyond}, which verl's compute_advantage does not pass to registered "
                "estimators (only token_level_rewards, response_mask, index, config); use "
                "mdp.llm.integrations.verl.compute_advantage (patch_compute_advantage() installs it in "
                "verl.trainer.ppo.ray_trainer)"
            )
        opts = estimator_options(method, config)
        fields = {"rewards": token_level_rewards.detach(), "response_mask": response_mask}
        if index is not None:
            fields["group_ids"] = list(index)
        with torch.no_grad():
            adv = compute_advantages(method, RolloutBatch(**fields), broadcast=True, **opts)
        adv = adv.to(token_level_rewards.dtype) * response_mask.to(token_level_rewards.dtype)
        return adv, adv

    rlab_adv_fn.__name__ = rlab_adv_fn.__qualname__ = f"{PREFIX}{method}"
    rlab_adv_fn._rlab = method
    return rlab_adv_fn


def _make_loss_fn(kind: str):
    def rlab_loss_fn(
        old_log_prob,
        log_prob,
        advantages,
        response_mask,
        loss_agg_mode="token-mean",
        config=None,
        rollout_is_weights=None,
    ):
        from verl.trainer.ppo.core_algos import agg_loss as verl_agg_loss

        from mdp.llm.losses import policy_loss

        opts = _loss_options(kind, config)
        if kind == "hapo" and "entropies" not in opts and "h_hat" not in opts:
            raise ValueError(
                f"{PREFIX}hapo needs token entropies, which verl's policy-loss call does not pass; "
                "call mdp.llm.policy_loss('hapo', ..., entropies=...) from your own actor loss instead"
            )
        m = response_mask.to(log_prob.dtype)
        res = policy_loss(kind, log_prob, old_log_prob, advantages, m, agg="token-mean", **opts)
        per_tok = res.per_token_loss
        if rollout_is_weights is not None:
            per_tok = per_tok * rollout_is_weights
        info = dict(getattr(config, "global_batch_info", None) or {}) if config is not None else {}
        loss = verl_agg_loss(loss_mat=per_tok, loss_mask=response_mask, loss_agg_mode=loss_agg_mode, **info)
        metrics = {
            "actor/pg_clipfrac": float(res.clip_fraction),
            "actor/ppo_kl": float(res.approx_kl),
            "actor/pg_clipfrac_lower": float(res.dual_clip_fraction),
        }
        return loss, metrics

    rlab_loss_fn.__name__ = rlab_loss_fn.__qualname__ = f"{PREFIX}{kind}"
    rlab_loss_fn._rlab = kind
    return rlab_loss_fn


def register() -> tuple:
    """Register every estimator and loss in verl's registries; returns ``(estimator names, loss names)``.

    Idempotent: names already holding an rlab function are replaced, a name taken by something
    else is a ``ValueError``.
    """
    from verl.trainer.ppo import core_algos

    from mdp.llm.losses import list_policy_losses
    from mdp.llm.registry import list_estimators

    adv_names, loss_names = [], []
    for method in list_estimators():
        name = PREFIX + method
        old = core_algos.ADV_ESTIMATOR_REGISTRY.get(name)
        if old is not None and not hasattr(old, "_rlab"):
            raise ValueError(f"verl advantage estimator {name!r} is already registered by {old!r}")
        core_algos.ADV_ESTIMATOR_REGISTRY[name] = _make_adv_fn(method)
        adv_names.append(name)
    for kind in list_policy_losses():
        name = PREFIX + kind
        old = core_algos.POLICY_LOSS_REGISTRY.get(name)
        if old is not None and not hasattr(old, "_rlab"):
            raise ValueError(f"verl policy loss {name!r} is already registered by {old!r}")
        core_algos.POLICY_LOSS_REGISTRY[name] = _make_loss_fn(kind)
        loss_names.append(name)
    return tuple(adv_names), tuple(loss_names)


# ------------------------------------------------------------------------------------------------
# compute_advantage (drop-in for verl's and verl-agent's)


def _key(v):
    if isinstance(v, np.ndarray):
        return (str(v.dtype), v.shape, v.tobytes())
    if isinstance(v, torch.Tensor):
        return _key(v.detach().cpu().numpy())
    if isinstance(v, list):
        return tuple(_key(x) for x in v)
    return v


def _texts_similarity(texts):
    import difflib

    def sim(rows, reps):
        out = [difflib.SequenceMatcher(None, texts[int(i)], texts[int(j)]).ratio() for i, j in zip(rows, reps)]
        return torch.tensor(out, dtype=torch.float64)

    return sim


def _step_ids_from_order(traj) -> list:
    seen: dict = {}
    out = []
    for t in traj:
        k = seen.get(t, 0)
        out.append(k)
        seen[t] = k + 1
    return out


def compute_advantage(
    data,
    adv_estimator,
    gamma: float = 1.0,
    lam: float = 1.0,
    num_repeat: int = 1,
    multi_turn: bool = False,
    norm_adv_by_std_in_grpo: bool = True,
    config=None,
    step_advantage_w=None,
    gigpo_mode=None,
    gigpo_enable_similarity=None,
    gigpo_similarity_thresh=None,
    **kwargs,
):
    """verl's ``compute_advantage`` with the rlab estimators able to read per-step fields.

    Parameters
    ----------
    data : verl.DataProto
        ``batch``: ``token_level_rewards``, ``response_mask`` (or ``responses`` and
        ``attention_mask``); ``non_tensor_batch``: ``uid`` (group), and for step-level estimators
        ``traj_uid`` (trajectory), ``step_ids`` (optional: defaults to the order of appearance of
        a trajectory's rows), ``anchor_obs`` (observation; strings, numbers, tuples or arrays),
        ``rewards`` (immediate step reward; defaults to ``token_level_rewards.sum(-1)``),
        ``action_keys`` (SALT; defaults to a hash of the masked response tokens), optional
        ``active_masks`` (rows outside it get advantage 0 and stay out of the statistics), and any
        ``extra`` input an estimator names (``aux``, ``tags``, ``gold_logprobs``, ...).
    adv_estimator : str or enum
        ``"rlab_<name>"`` runs :func:`mdp.llm.compute_advantages`; anything else is delegated to
        verl's own ``verl.trainer.ppo.ray_trainer.compute_advantage``.
    gamma, lam, num_repeat, multi_turn, norm_adv_by_std_in_grpo, config
        verl's arguments (``gamma`` is the step-return discount of estimators with that option).
    step_advantage_w, gigpo_mode, gigpo_enable_similarity, gigpo_similarity_thresh
        verl-agent's GiGPO arguments, mapped to ``step_advantage_w``, ``mode``,
        ``grouping="similarity"`` (``difflib`` ratio of the ``anchor_obs`` texts, as verl-agent)
        and ``similarity_threshold``.
    **kwargs
        Passed on to verl's function when delegating; ignored otherwise.

    Returns
    -------
    DataProto
        ``data`` with ``batch["advantages"]`` and ``batch["returns"]`` ``(rows, tokens)``.
    """
    name = adv_estimator.value if isinstance(adv_estimator, Enum) else str(adv_estimator)
    if not name.startswith(PREFIX):
        import inspect

        orig = _ORIGINAL.get("compute_advantage")
        if orig is None:
            from verl.trainer.ppo import ray_trainer

            orig = ray_trainer.compute_advantage
        accepted = set(inspect.signature(orig).parameters)
        kw = dict(
            gamma=gamma, lam=lam, num_repeat=num_repeat, norm_adv_by_std_in_grpo=norm_adv_by_std_in_grpo, config=config
        )
        kw.update(multi_turn=multi_turn, **kwargs)
        return orig(data, adv_estimator, **{k: v for k, v in kw.items() if k in accepted})
    method = name[len(PREFIX) :]
    from mdp.llm.batch import FIELDS, RolloutBatch
    from mdp.llm.integrations.common import is_step_estimator
    from mdp.llm.registry import compute_advantages, get_estimator

    spec = get_estimator(method)
    if "response_mask" not in data.batch.keys():
        L = data.batch["responses"].shape[-1]
        data.batch["response_mask"] = data.batch["attention_mask"][:, -L:]
    mask = data.batch["response_mask"]
    ntb = data.non_tensor_batch
    opts = estimator_options(method, config, norm_adv_by_std_in_grpo=norm_adv_by_std_in_grpo, gamma=gamma)
    agent = {
        "step_advantage_w": ("step_advantage_w", step_advantage_w),
        "mode": ("gigpo_mode", gigpo_mode),
        "similarity_threshold": ("gigpo_similarity_thresh", gigpo_similarity_thresh),
    }
    for opt, (_, value) in agent.items():
        if value is not None and opt in spec.options:
            opts[opt] = value
    rows = len(data)
    keep = np.ones(rows, dtype=bool)
    if "active_masks" in ntb:
        keep = np.asarray(ntb["active_masks"], dtype=bool).reshape(-1)
    idx = np.flatnonzero(keep)
    if idx.size == 0:
        adv = torch.zeros_like(data.batch["token_level_rewards"])
        data.batch["advantages"], data.batch["returns"] = adv, adv
        return data
    tlr = data.batch["token_level_rewards"]
    step_level = is_step_estimator(method)
    fields = {"response_mask": mask[idx]}
    if step_level and "rewards" in ntb:
        fields["rewards"] = torch.as_tensor(np.asarray(ntb["rewards"], dtype=np.float64)[idx])
    else:
        fields["rewards"] = tlr[idx].detach()
    if "uid" in ntb:
        fields["group_ids"] = [ntb["uid"][i] for i in idx]
    needs = set(spec.required_fields(**opts))
    if gigpo_enable_similarity and "grouping" in spec.options:
        opts["grouping"] = "similarity"
        needs.discard("observation_keys")
    if "traj_uid" in ntb:
        fields["trajectory_ids"] = [ntb["traj_uid"][i] for i in idx]
    if step_level or "step_ids" in needs:
        if "step_ids" in ntb:
            fields["step_ids"] = np.asarray(ntb["step_ids"], dtype=np.int64)[idx]
        elif "trajectory_ids" in fields:
            fields["step_ids"] = np.asarray(_step_ids_from_order(fields["trajectory_ids"]), dtype=np.int64)
    if "anchor_obs" in ntb:
        obs = [ntb["anchor_obs"][i] for i in idx]
        fields["observation_keys"] = [_key(o) for o in obs]
        if opts.get("grouping") == "similarity" and opts.get("similarity") is None:
            opts["similarity"] = _texts_similarity([str(o) for o in obs])
    extra = {}
    for f in needs:
        if f in FIELDS:
            continue
        if f in ntb:
            extra[f] = np.asarray(ntb[f])[idx]
        elif f in data.batch.keys():
            extra[f] = data.batch[f][idx]
        elif f == "action_keys":
            resp = data.batch["responses"][idx].masked_fill(mask[idx] == 0, -1).cpu().numpy()
            from mdp.llm.batch import stable_hash

            extra[f] = np.array([stable_hash(r.tobytes()) for r in resp], dtype=np.int64)
    if extra:
        fields["extra"] = extra
    with torch.no_grad():
        a = compute_advantages(method, RolloutBatch(**fields), broadcast=True, **opts)
    adv = torch.zeros_like(tlr)
    adv[torch.as_tensor(idx, device=tlr.device)] = a.to(tlr.dtype).to(tlr.device)
    adv = adv * mask.to(adv.dtype)
    data.batch["advantages"] = adv
    data.batch["returns"] = adv
    return data


_ORIGINAL: dict = {}


def patch_compute_advantage():
    """Install :func:`compute_advantage` as ``verl.trainer.ppo.ray_trainer.compute_advantage``.

    ``RayPPOTrainer.fit`` calls that module-level name, so after the patch ``rlab_*`` estimators
    see the whole ``DataProto`` while every other estimator still runs verl's code. Returns a
    function that undoes the patch.
    """
    from verl.trainer.ppo import ray_trainer

    if ray_trainer.compute_advantage is not compute_advantage:
        _ORIGINAL["compute_advantage"] = ray_trainer.compute_advantage
    ray_trainer.compute_advantage = compute_advantage

    def undo():
        ray_trainer.compute_advantage = _ORIGINAL.get("compute_advantage", ray_trainer.compute_advantage)

    return undo


# ------------------------------------------------------------------------------------------------
# plugin entry (runs on import; verl swallows import errors of plugins, so report them here)
try:
    REGISTERED = register()
except ModuleNotFoundError as _err:
    if (_err.name or "").split(".")[0] != "verl":  # verl is there but something it or we need is not
        _msg = (
            f"rlab's verl plugin (mdp.llm.integrations.verl) failed to register its estimators and losses: "
            f"{type(_err).__name__}: {_err}. verl will run without the rlab_* names."
        )
        _log.error(_msg)
        warnings.warn(_msg, RuntimeWarning, stacklevel=2)
    raise  # verl itself is not installed: a plain ImportError, nobody is loading the plugin
except Exception as _err:  # tests patch register() to fail
    _msg = (
        f"rlab's verl plugin (mdp.llm.integrations.verl) failed to register its estimators and losses: "
        f"{type(_err).__name__}: {_err}. verl will run without the rlab_* names."
    )
    _log.error(_msg)
    warnings.warn(_msg, RuntimeWarning, stacklevel=2)
    raise
