"""TRL integration: :class:`RlabGRPOTrainer`, ``trl.GRPOTrainer`` with any rlab estimator and loss.

::

    from mdp.llm.integrations.trl import RlabGRPOTrainer      # instead of trl.GRPOTrainer

    trainer = RlabGRPOTrainer(model=..., reward_funcs=..., args=GRPOConfig(...), train_dataset=...,
                              advantage="rloo", loss="gspo")   # any list_estimators() / list_policy_losses()

Tested with ``trl==1.16.0`` (the ``llm`` extra pins it). Override points (TRL 1.16.0
``trl/trainer/grpo_trainer.py``):

* ``_calculate_rewards`` is wrapped to keep its output, the ``(rows, funcs)`` reward table of *all*
  processes (TRL gathers it before grouping);
* ``_generate_and_score_completions`` runs TRL's own step, then replaces ``output["advantages"]``
  by the rlab estimator's, computed on the gathered rows (groups = ``num_generations`` consecutive
  rows, TRL's sampler layout) and sliced to this process's rows afterwards. TRL's own values are
  kept in ``trainer.rlab_last["trl_advantages"]`` for comparison;
* ``_compute_loss`` (only when ``loss=`` is given) computes the per-token log-probabilities with
  TRL's ``_get_per_token_logps_and_entropies`` and the loss with :func:`mdp.llm.policy_loss`.

Conventions (``convention="trl"``, the default): estimators with a ``convention`` option get
``"trl"`` (epsilon 1e-4 added to the std, one-row groups get 0), the others get ``epsilon=1e-4``;
TRL's ``scale_rewards`` selects grpo's option of that name (``"none"`` also selects
``mode="mean_norm"`` for GiGPO/HGPO). Rewards follow TRL: the row reward is the ``nansum`` of the
weighted reward functions; a row where every function returned ``None`` is left out of the group
statistics and gets advantage 0. ``multi_objective_aggregation="normalize_then_sum"`` is TRL's
own estimator and is refused.

Multi-turn agents: pass ``rollout_func=ToyEnvRollout(...)`` (:mod:`mdp.llm.integrations.rollout`)
or any rollout function returning the turn records of :mod:`mdp.llm.integrations.common`
(``extra_fields["rlab_turns"]``). With a step-level estimator (GiGPO, HGPO, SALT, IGPO, ...) the
trainer builds one step row per turn (trajectory = rollout row, group = prompt), reads the row's TRL
reward as the episode return (:func:`~mdp.llm.integrations.common.turn_batch`), and returns
``(rows, tokens)`` advantages: each turn's step advantage on that turn's model tokens.

Loss (``loss="ppo" | "gspo" | "bpo" | "hapo" | ...``): ``loss_options`` go to
:func:`mdp.llm.policy_loss`; for ``"ppo"`` the defaults come from TRL's arguments (``epsilon``,
``epsilon_high``, ``delta``). Aggregation follows ``args.loss_type`` unless ``loss_options["agg"]``
is given: ``grpo``/``sapo`` -> ``"trl:grpo"``, ``bnpo`` -> ``"token-mean"``, ``dr_grpo`` ->
``"seq-mean-token-sum-norm"`` with ``C = max_completion_length``, ``luspo`` ->
``"seq-mean-token-sum"``, each divided by the gradient-accumulation steps as TRL does, and
``dapo``/``cispo``/``vespo`` -> the token sum over TRL's global token count
(``num_items_in_batch / num_processes * accumulation_steps / steps_per_generation``). TRL's KL
term (``beta`` with k3, times the importance ratio under ``use_bias_correction_kl``), ``top_entropy_quantile``, the off-policy mask, vLLM importance weights
and the static entropy bonus are applied as TRL applies them; adaptive entropy control is
refused with ``loss=`` (use TRL's loss, ``loss=None``).
"""

from __future__ import annotations

import inspect
import time

import torch
from trl import GRPOTrainer

from mdp.llm.integrations.common import (
    TURNS_KEY,
    is_step_estimator,
    outcome_advantages,
    resolve_estimator_options,
    spread_turn_advantages,
    turn_batch,
)

__all__ = ["RlabGRPOTrainer", "local_outcome_advantages"]

#: TRL ``loss_type`` -> (rlab aggregation mode, normaliser kind)
_TRL_AGG = {
    "grpo": ("trl:grpo", "accum"),
    "sapo": ("trl:grpo", "accum"),
    "bnpo": ("token-mean", "accum"),
    "dr_grpo": ("seq-mean-token-sum-norm", "accum"),
    "luspo": ("seq-mean-token-sum", "accum"),
    "dapo": ("token-sum-norm", "global"),
    "cispo": ("token-sum-norm", "global"),
    "vespo": ("token-sum-norm", "global"),
}


def _loss_fn_options(kind: str) -> set:
    from mdp.llm.losses import _LOSSES, list_policy_losses

    if kind not in list_policy_losses():
        raise ValueError(f"unknown policy loss {kind!r}; known: {', '.join(list_policy_losses())}")
    sig = inspect.signature(_LOSSES[kind])
    return {k for k, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY}


def local_outcome_advantages(
    method, rewards_per_func, weights, *, num_generations, process_index, local_rows, options=None, response_mask=None
):
    """Advantages of all rows and of one process's rows, TRL's layout: ``(all, local)``.

    ``rewards_per_func`` ``(processes * local_rows, funcs)`` is the gathered reward table; groups are
    ``num_generations`` consecutive rows of it (a group may straddle two processes); process ``p``
    owns rows ``[p * local_rows, (p + 1) * local_rows)``. NaN rule of
    :func:`~mdp.llm.integrations.common.outcome_advantages`.
    """
    n_all = rewards_per_func.shape[0]
    group_ids = torch.arange(n_all, device=rewards_per_func.device) // num_generations
    adv_all = outcome_advantages(
        method, rewards_per_func, group_ids, weights=weights, options=options, response_mask=response_mask
    )
    start = process_index * local_rows
    return adv_all, adv_all[start : start + local_rows]


class RlabGRPOTrainer(GRPOTrainer):
    """``trl.GRPOTrainer`` whose advantages (and optionally loss) come from rlab.

    Parameters
    ----------
    *args, **kwargs
        Everything ``trl.GRPOTrainer`` takes (``model``, ``reward_funcs``, ``args``,
        ``train_dataset``, ``processing_class``, ``rollout_func``, ...).
    advantage : str
        A registered estimator (:func:`mdp.llm.list_estimators`); default ``"grpo"``.
    advantage_options : dict, optional
        Its options (checked at construction; unknown names are a ``TypeError``).
    loss : str or None
        A registered policy loss (:func:`mdp.llm.list_policy_losses`), or ``None`` to keep TRL's
        own loss (``args.loss_type``) on the rlab advantages.
    loss_options : dict, optional
        Options of :func:`mdp.llm.policy_loss` (``agg``, ``loss_scale_factor``, the kind's own).
    convention : {"trl", "verl", "verl_vectorized"}
        Estimator conventions (module docstring); default ``"trl"``.

    Attributes
    ----------
    rlab_last : dict
        Of the latest generation batch: ``"advantages"`` (this process's rows, what the loss
        used), ``"trl_advantages"`` (TRL's own computation of the same rows), ``"rewards"``
        (``(rows, funcs)`` of all processes), ``"batch"`` (the RolloutBatch of step rows, for
        step-level estimators), ``"step_advantages"`` and ``"hook_seconds"`` (wall time of the
        rlab part of the step's scoring: grouping, estimator, slicing).
    """

    def __init__(
        self,
        *args,
        advantage: str = "grpo",
        advantage_options: dict | None = None,
        loss: str | None = None,
        loss_options: dict | None = None,
        convention: str = "trl",
        **kwargs,
    ):
        from mdp.llm.registry import get_estimator

        if not isinstance(advantage, str):
            raise TypeError(f"advantage must be the name of a registered estimator, got {type(advantage).__name__}")
        get_estimator(advantage)  # ValueError listing the known names
        if advantage_options is not None and not isinstance(advantage_options, dict):
            raise TypeError(f"advantage_options must be a dict, got {type(advantage_options).__name__}")
        if loss_options is not None and not isinstance(loss_options, dict):
            raise TypeError(f"loss_options must be a dict, got {type(loss_options).__name__}")
        if loss is not None:
            if not isinstance(loss, str):
                raise TypeError(f"loss must be None or the name of a registered policy loss, got {loss!r}")
            accepted = _loss_fn_options(loss) | {"agg", "loss_scale_factor"}
            unknown = sorted(set(loss_options or {}) - accepted)
            if unknown:
                raise TypeError(
                    f"policy loss {loss!r} has no option(s) {unknown}; valid: {', '.join(sorted(accepted))}"
                )
        elif loss_options:
            raise ValueError("loss_options needs loss=<a registered policy loss> (loss=None keeps TRL's own loss)")
        super().__init__(*args, **kwargs)
        if self.multi_objective_aggregation != "sum_then_normalize":
            raise ValueError(
                "RlabGRPOTrainer computes advantages from the nansum of the weighted rewards "
                "(multi_objective_aggregation='sum_then_normalize'); 'normalize_then_sum' is TRL's own estimator"
            )
        self.rlab_advantage = advantage
        self.rlab_convention = convention
        self.rlab_advantage_options = resolve_estimator_options(
            advantage, advantage_options, convention=convention, scale_rewards=getattr(self, "scale_rewards", None)
        )
        self.rlab_step_level = is_step_estimator(advantage)
        self.rlab_loss = loss
        self.rlab_loss_options = dict(loss_options or {})
        if loss is not None:
            if getattr(self, "use_adaptive_entropy", False):
                raise ValueError("adaptive entropy control is not supported with loss=...; use loss=None (TRL's loss)")
            if self.loss_type not in _TRL_AGG and "agg" not in self.rlab_loss_options:
                raise ValueError(
                    f"no aggregation known for loss_type={self.loss_type!r}; pass loss_options={{'agg': ...}}"
                )
        self.rlab_last: dict = {}

    # ------------------------------------------------------------------------------ advantages
    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        out = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._rlab_rewards_per_func = out  # (rows of all processes, funcs)
        return out

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        t0 = time.perf_counter()
        rpf = self._rlab_rewards_per_func
        local = len(inputs)
        mode = "train" if self.model.training else "eval"
        G = self.num_generations if mode == "train" else self.num_generations_eval
        n_all = rpf.shape[0]
        group_ids = torch.arange(n_all, device=rpf.device) // G
        start = self.accelerator.process_index * local
        rows = range(start, start + local)
        weights = self.reward_weights.to(rpf.device)
        device = output["completion_ids"].device
        last = {"trl_advantages": output["advantages"].detach().clone(), "rewards": rpf.detach().clone()}
        if self.rlab_step_level:
            if TURNS_KEY not in inputs[0]:
                raise ValueError(
                    f"estimator {self.rlab_advantage!r} needs one step row per turn: pass a rollout_func that "
                    f"returns {TURNS_KEY!r} records (e.g. mdp.llm.integrations.rollout.ToyEnvRollout)"
                )
            from accelerate.utils import gather_object

            turns = gather_object([inp[TURNS_KEY] for inp in inputs])
            total = (rpf.double() * weights.double()).nansum(dim=1)
            total[torch.isnan(rpf).all(dim=1)] = float("nan")
            batch, step_row, step_turn = turn_batch(turns, group_ids.cpu(), outcome_rewards=total.cpu())
            if batch is None:
                step_adv = None
            else:
                from mdp.llm.registry import compute_advantages

                step_adv = compute_advantages(self.rlab_advantage, batch, **self.rlab_advantage_options)
                if step_adv.dim() != 1:
                    raise ValueError(f"step-level estimator {self.rlab_advantage!r} returned {tuple(step_adv.shape)}")
            T = output["completion_ids"].shape[1]
            adv = spread_turn_advantages(step_adv, step_row, step_turn, turns, rows, T, dtype=torch.float32)
            last.update(batch=batch, step_advantages=step_adv, step_row=step_row, step_turn=step_turn, turns=turns)
        else:
            mask = None
            from mdp.llm.registry import get_estimator

            if "response_mask" in get_estimator(self.rlab_advantage).base_needs:
                m = output["completion_mask"]
                if "tool_mask" in output:
                    m = m * output["tool_mask"]
                m = self.accelerator.pad_across_processes(m, dim=1, pad_index=0)
                mask = self.accelerator.gather(m)
            adv_all, adv = local_outcome_advantages(
                self.rlab_advantage,
                rpf,
                weights,
                num_generations=G,
                process_index=self.accelerator.process_index,
                local_rows=local,
                options=self.rlab_advantage_options,
                response_mask=mask,
            )
            if adv.dim() == 2:
                adv = adv[:, : output["completion_ids"].shape[1]]
            else:
                # keep TRL's completion table consistent with what the loss sees
                logged = self._logs["advantages"]
                for _ in range(min(n_all, len(logged))):
                    logged.pop()
                logged.extend(adv_all.tolist())
        output["advantages"] = adv.to(device)
        last["advantages"] = output["advantages"].detach().clone()
        last["hook_seconds"] = time.perf_counter() - t0
        self.rlab_last = last
        return output

    # ------------------------------------------------------------------------------ loss
    def _compute_loss(self, model, inputs):
        if self.rlab_loss is None:
            return super()._compute_loss(model, inputs)
        from mdp.llm.losses import agg_loss, kl_estimate, policy_loss

        prompt_ids, prompt_mask = inputs["prompt_ids"], inputs["prompt_mask"]
        completion_ids, completion_mask = inputs["completion_ids"], inputs["completion_mask"]
        input_ids = torch.cat([prompt_ids, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, completion_mask], dim=1)
        logits_to_keep = completion_ids.size(1)
        mask = completion_mask if "tool_mask" not in inputs else completion_mask * inputs["tool_mask"]
        logps, entropies, aux_loss = self._get_per_token_logps_and_entropies(
            model,
            input_ids,
            attention_mask,
            logits_to_keep,
            compute_entropy=True,
            compute_aux_loss=self.aux_loss_enabled,
            pixel_values=inputs.get("pixel_values"),
            image_grid_thw=inputs.get("image_grid_thw"),
            num_images=inputs.get("num_images"),
            pixel_attention_mask=inputs.get("pixel_attention_mask"),
            spatial_shapes=inputs.get("spatial_shapes"),
            num_tiles=inputs.get("num_tiles"),
            image_sizes=inputs.get("image_sizes"),
            token_type_ids=inputs.get("token_type_ids"),
            mm_token_type_ids=inputs.get("mm_token_type_ids"),
            image_position_ids=inputs.get("image_position_ids"),
        )
        old = inputs.get("old_per_token_logps")
        old = logps.detach() if old is None else old
        adv = inputs["advantages"]
        mode = "train" if self.model.training else "eval"
        accum = self.current_gradient_accumulation_steps if mode == "train" else 1.0
        m = mask.to(logps.dtype)
        if not bool(m.any()):  # nothing to learn from in this micro-batch: keep the graph, loss 0
            return (logps * 0.0).sum()
        opts = {k: v for k, v in self.rlab_loss_options.items() if k not in ("agg", "loss_scale_factor")}
        accepted = _loss_fn_options(self.rlab_loss)
        if self.rlab_loss == "ppo":
            opts.setdefault("eps_low", float(self.epsilon_low))
            opts.setdefault("eps_high", float(self.epsilon_high))
            if getattr(self.args, "delta", None) is not None:
                opts.setdefault("delta", float(self.args.delta))
        if "entropies" in accepted and "entropies" not in opts:
            opts["entropies"] = entropies.detach()
        res = policy_loss(self.rlab_loss, logps, old, adv, m, agg="token-mean", **opts)
        per_tok = res.per_token_loss
        adv2 = adv if adv.dim() == 2 else adv.unsqueeze(1)
        if self.top_entropy_quantile < 1.0:
            per_tok = per_tok * self.get_high_entropy_mask(entropies, mask, 1 - self.top_entropy_quantile)
        if self.off_policy_mask_threshold is not None:
            sampling = inputs.get("sampling_per_token_logps", old)
            per_tok = per_tok * self.get_off_policy_mask(
                advantages=adv2,
                per_token_logps=logps,
                sampling_per_token_logps=sampling,
                mask=mask,
                off_policy_threshold=self.off_policy_mask_threshold,
            )
        if self.use_vllm and self.vllm_importance_sampling_correction:
            per_tok = per_tok * inputs["importance_sampling_ratio"]
        kl = None
        if self.beta != 0.0:
            kl = kl_estimate(logps, inputs["ref_per_token_logps"], "k3")
            if getattr(self.args, "use_bias_correction_kl", False):  # TRL: KL times the importance ratio
                log_ratio = logps - old
                if self.importance_sampling_level == "sequence":
                    log_ratio = ((log_ratio * m).sum(-1) / m.sum(-1).clamp(min=1.0)).unsqueeze(-1)
                kl = kl * torch.exp(log_ratio)
            per_tok = per_tok + self.beta * kl
        if "agg" in self.rlab_loss_options:
            agg, norm = self.rlab_loss_options["agg"], "accum"
        else:
            agg, norm = _TRL_AGG[self.loss_type]
        C = self.rlab_loss_options.get("loss_scale_factor")
        if agg == "seq-mean-token-sum-norm" and C is None and "agg" not in self.rlab_loss_options:
            C = self.max_completion_length
        if norm == "global":
            C = float(inputs["num_items_in_batch"].clamp(min=1.0)) / self.accelerator.num_processes
            if mode == "train":
                C = C * self.current_gradient_accumulation_steps / self.args.steps_per_generation
            loss = agg_loss(per_tok, m, "token-sum-norm", loss_scale_factor=C)
        else:
            loss = agg_loss(per_tok, m, agg, loss_scale_factor=C) / accum
        if getattr(self, "_entropy_bonus_enabled", False):
            eff = m
            ent = (entropies * eff).sum() / eff.sum().clamp(min=1.0) / accum
            loss = loss - self.entropy_coef * ent
        if self.aux_loss_enabled:
            loss = loss + self.router_aux_loss_coef * aux_loss / accum
        metrics = self._metrics[mode]
        red = self.accelerator.reduce
        totals = red(torch.stack([(entropies.detach() * m).sum(), m.sum()]), reduction="sum")
        metrics["entropy"].append((totals[0] / totals[1].clamp(min=1.0)).item())
        metrics["clip_ratio/region_mean"].append(res.clip_fraction)
        metrics["rlab/approx_kl"].append(res.approx_kl)
        if kl is not None:
            metrics["kl"].append(float((kl.detach() * m).sum() / m.sum().clamp(min=1.0)))
        return loss
