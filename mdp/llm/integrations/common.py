"""Framework-neutral glue between rollouts of a trainer and :func:`mdp.llm.compute_advantages`.

Used by ``mdp.llm.integrations.trl``, ``mdp.llm.integrations.verl`` and any plain torch loop
(torch only; see ``docs/llm_integrations.md``).

* :func:`resolve_estimator_options` -- the options an estimator runs with under a framework's
  convention (``"trl"``: epsilon 1e-4, singleton groups get 0; ``"verl"``: epsilon 1e-6, singleton
  groups keep their reward), explicit options winning.
* :func:`outcome_advantages` -- one advantage per row from a ``(rows, funcs)`` table of reward
  function outputs with TRL's NaN rule: the row reward is the ``nansum`` of the weighted outputs,
  a row where *every* function returned NaN (``None``) is unscorable: it is left out of every group
  statistic and gets advantage 0.
* :func:`turn_batch` / :func:`spread_turn_advantages` -- multi-turn agents: one step row per turn
  (trajectory = the rollout row, ``step_ids`` = turn index, observation and action keys as recorded)
  for the step-level estimators (GiGPO, HGPO, SALT, ...), and the step advantages written back onto
  each turn's tokens.

Turn records (``TURNS_KEY``): one dict per rollout row with equal-length lists ``"spans"``
(``(start, end)`` token offsets of the turn's *model* tokens inside the completion), ``"rewards"``
(immediate environment reward of the turn), ``"observation_keys"`` (hashable key of the observation
the turn acted on) and ``"action_keys"`` (int key of the executed action, what SALT merges on).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

__all__ = [
    "TURNS_KEY",
    "resolve_estimator_options",
    "outcome_advantages",
    "turn_batch",
    "spread_turn_advantages",
    "is_step_estimator",
]

#: Key of the per-row turn records in a rollout (TRL ``extra_fields``) or a verl ``non_tensor_batch``.
TURNS_KEY = "rlab_turns"
_TURN_FIELDS = ("spans", "rewards", "observation_keys", "action_keys")
_CONVENTION_EPS = {"trl": 1e-4, "verl": 1e-6, "verl_vectorized": 1e-6}


def is_step_estimator(method: str) -> bool:
    """``True`` when ``method`` reads step rows (``trajectory_ids`` or ``step_ids``: GiGPO, HGPO, SALT, ...)."""
    from mdp.llm.registry import get_estimator

    spec = get_estimator(method)
    return bool({"trajectory_ids", "step_ids"} & set(spec.base_needs))


def resolve_estimator_options(method: str, options: Mapping | None = None, *, convention: str = "trl", **framework):
    """Options for ``compute_advantages(method, ...)`` under a framework ``convention``.

    Parameters
    ----------
    method : str
        A registered estimator (:func:`mdp.llm.list_estimators`).
    options : mapping, optional
        Explicit options; they always win. Unknown names are a ``TypeError`` listing the valid ones.
    convention : {"trl", "verl", "verl_vectorized"}
        Sets the estimator's ``convention`` option when it has one (grpo, dr_grpo, rloo, ...), else
        its ``epsilon`` option (GiGPO, HGPO, SALT, ...: 1e-4 for ``"trl"``, 1e-6 for ``"verl"``).
    **framework
        Framework settings mapped onto options the estimator has and the caller did not set:
        ``scale_rewards`` (TRL's ``"group" | "batch" | "none"``; grpo's option of that name, and
        ``"none"`` selects ``mode="mean_norm"`` for estimators with a ``mode`` option) and
        ``norm_adv_by_std_in_grpo`` (verl's bool; ``False`` means ``scale_rewards="none"`` /
        ``mode="mean_norm"``). ``None`` values are ignored.

    Returns
    -------
    dict
        Keyword options for :func:`mdp.llm.compute_advantages`.
    """
    from mdp.llm.registry import get_estimator

    if convention not in _CONVENTION_EPS:
        raise ValueError(f"convention must be one of {sorted(_CONVENTION_EPS)}, got {convention!r}")
    spec = get_estimator(method)
    opts = dict(options or {})
    unknown = sorted(set(opts) - set(spec.options))
    if unknown:
        raise TypeError(
            f"estimator {method!r} has no option(s) {unknown}; valid options: {', '.join(sorted(spec.options)) or 'none'}"
        )
    bad = sorted(set(framework) - {"scale_rewards", "norm_adv_by_std_in_grpo"})
    if bad:
        raise TypeError(f"unknown framework setting(s) {bad}; known: norm_adv_by_std_in_grpo, scale_rewards")
    if "convention" in spec.options:
        opts.setdefault("convention", convention)
    elif "epsilon" in spec.options:
        opts.setdefault("epsilon", _CONVENTION_EPS[convention])
    scale = framework.get("scale_rewards")
    if framework.get("norm_adv_by_std_in_grpo") is False:
        scale = "none"
    if scale is not None:
        if scale not in ("group", "batch", "none"):
            raise ValueError(f"scale_rewards must be 'group', 'batch' or 'none', got {scale!r}")
        if "scale_rewards" in spec.options:
            opts.setdefault("scale_rewards", scale)
        elif "mode" in spec.options and scale == "none":
            opts.setdefault("mode", "mean_norm")
    return opts


def _row_rewards(rewards_per_func, weights):
    r = torch.as_tensor(rewards_per_func)
    if r.dim() == 1:
        r = r.unsqueeze(-1)
    if r.dim() != 2:
        raise ValueError(f"rewards_per_func must be (rows,) or (rows, funcs), got shape {tuple(r.shape)}")
    r = r.to(torch.float64)
    if weights is None:
        w = torch.ones(r.shape[1], dtype=torch.float64, device=r.device)
    else:
        w = torch.as_tensor(weights, dtype=torch.float64, device=r.device).reshape(-1)
        if w.shape[0] != r.shape[1]:
            raise ValueError(f"weights must have one entry per reward function ({r.shape[1]}), got {w.shape[0]}")
    unscorable = torch.isnan(r).all(dim=1)
    total = (r * w).nansum(dim=1)
    if bool(torch.isinf(total).any()):
        raise ValueError("rewards_per_func holds an infinite reward")
    return total, unscorable


def outcome_advantages(
    method: str, rewards_per_func, group_ids, *, weights=None, options=None, response_mask=None, dtype=torch.float32
):
    """Outcome advantages ``(rows,)`` (or ``(rows, tokens)``) with TRL's NaN rule.

    Parameters
    ----------
    method : str
        A registered estimator that reads one row per completion.
    rewards_per_func : ``(rows, funcs)`` or ``(rows,)``
        Reward function outputs, NaN where a function returned ``None``. Rows of *all* processes
        (gather before grouping).
    group_ids : ``(rows,)`` ids
    weights : ``(funcs,)``, optional
        Reward weights (TRL's ``reward_weights``); the row reward is ``nansum(w * r)``.
    options : mapping, optional
        Estimator options (already resolved, e.g. by :func:`resolve_estimator_options`).
    response_mask : ``(rows, tokens)``, optional
        Passed to the batch (needed by token-level estimators such as ``reinforce_pp``).
    dtype : torch dtype
        Dtype of the result (computed in float64).

    Returns
    -------
    torch.Tensor
        Unscorable rows (every function NaN) get 0 and are left out of the group statistics.
    """
    from mdp.llm.batch import RolloutBatch
    from mdp.llm.registry import compute_advantages

    total, unscorable = _row_rewards(rewards_per_func, weights)
    keep = torch.nonzero(~unscorable).flatten()
    rows = total.shape[0]
    g = group_ids if isinstance(group_ids, torch.Tensor) else torch.as_tensor(group_ids)
    if g.shape[0] != rows:
        raise ValueError(f"group_ids must have one entry per row ({rows}), got {g.shape[0]}")
    tokens = None if response_mask is None else torch.as_tensor(response_mask).shape[-1]
    if keep.numel() == 0:
        return torch.zeros(rows if tokens is None else (rows, tokens), dtype=dtype, device=total.device)
    fields = {"rewards": total[keep], "group_ids": g.to(total.device)[keep]}
    if response_mask is not None:
        fields["response_mask"] = torch.as_tensor(response_mask).to(total.device)[keep]
    adv = compute_advantages(method, RolloutBatch(**fields), **dict(options or {}))
    out = torch.zeros((rows,) + tuple(adv.shape[1:]), dtype=adv.dtype, device=adv.device)
    out[keep] = adv
    return out.to(dtype)


def _check_turns(turns, rows: int):
    if len(turns) != rows:
        raise ValueError(f"turn records must have one entry per row ({rows}), got {len(turns)}")
    for i, rec in enumerate(turns):
        if not isinstance(rec, Mapping):
            raise TypeError(f"turn record of row {i} must be a dict with keys {_TURN_FIELDS}, got {type(rec).__name__}")
        missing = [k for k in _TURN_FIELDS if k not in rec]
        if missing:
            raise ValueError(f"turn record of row {i} lacks {missing} (needs {_TURN_FIELDS})")
        n = len(rec["spans"])
        if n == 0:
            raise ValueError(f"turn record of row {i} has no turn")
        if any(len(rec[k]) != n for k in _TURN_FIELDS):
            raise ValueError(f"turn record of row {i}: {_TURN_FIELDS} must have equal lengths")


def turn_batch(turns: Sequence, group_ids, *, outcome_rewards=None, device=None):
    """One step row per turn, ready for the step-level estimators.

    Parameters
    ----------
    turns : sequence of dict (rows)
        Turn records (module docstring), one per rollout row, rows of *all* processes.
    group_ids : ``(rows,)`` ids
        Group (prompt) of every rollout row.
    outcome_rewards : ``(rows,)`` float, optional
        The trainer's scalar reward of each row (e.g. TRL's ``nansum`` of reward functions), read
        as the episode return: the last turn's reward becomes ``r_last + R - sum_t r_t``, so the
        turn rewards sum to ``R`` and the environment's per-turn rewards fix their shape. NaN
        marks an unscorable row: its turns are left out (their advantages are 0).

    Returns
    -------
    batch : RolloutBatch
        Float64 ``rewards``, ``group_ids``, ``trajectory_ids`` (the row index), ``step_ids``,
        ``observation_keys``, ``extra["action_keys"]`` (one token per step row).
    step_row : ``(steps,)`` int64
        Rollout row of every step row.
    step_turn : ``(steps,)`` int64
        Turn index of every step row.
    """
    from mdp.llm.batch import RolloutBatch, stable_hash

    rows = len(turns)
    _check_turns(turns, rows)
    g = torch.as_tensor(group_ids) if not isinstance(group_ids, torch.Tensor) else group_ids
    if g.shape[0] != rows:
        raise ValueError(f"group_ids must have one entry per row ({rows}), got {g.shape[0]}")
    R = None
    if outcome_rewards is not None:
        R = torch.as_tensor(outcome_rewards, dtype=torch.float64).reshape(-1).cpu()
        if R.shape[0] != rows:
            raise ValueError(f"outcome_rewards must have one entry per row ({rows}), got {R.shape[0]}")
    rew, grp, traj, step, obs, act, srow, sturn = [], [], [], [], [], [], [], []
    for i, rec in enumerate(turns):
        n = len(rec["spans"])
        r = [float(x) for x in rec["rewards"]]
        if not all(math.isfinite(x) for x in r):
            raise ValueError(f"turn record of row {i} has a non-finite reward")
        if R is not None:
            if math.isnan(float(R[i])):
                continue
            r[-1] += float(R[i]) - sum(r)
        rew += r
        grp += [int(g[i])] * n
        traj += [i] * n
        step += list(range(n))
        obs += [stable_hash(k) for k in rec["observation_keys"]]
        act += [stable_hash(k) for k in rec["action_keys"]]
        srow += [i] * n
        sturn += list(range(n))
    if not rew:
        return None, torch.zeros(0, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)
    n = len(rew)
    batch = RolloutBatch(
        rewards=torch.tensor(rew, dtype=torch.float64),
        group_ids=torch.tensor(grp, dtype=torch.int64),
        trajectory_ids=torch.tensor(traj, dtype=torch.int64),
        step_ids=torch.tensor(step, dtype=torch.int64),
        observation_keys=torch.tensor(obs, dtype=torch.int64),
        response_mask=torch.ones((n, 1), dtype=torch.bool),
        extra={"action_keys": torch.tensor(act, dtype=torch.int64)},
        device=device,
    )
    return batch, torch.tensor(srow, dtype=torch.int64), torch.tensor(sturn, dtype=torch.int64)


def spread_turn_advantages(step_adv, step_row, step_turn, turns: Sequence, rows, n_tokens: int, *, dtype=None):
    """Write step advantages onto each turn's model tokens: ``(len(rows), n_tokens)``.

    Parameters
    ----------
    step_adv : ``(steps,)`` tensor
        Output of a step-level estimator on :func:`turn_batch`'s batch.
    step_row, step_turn : ``(steps,)`` int64
        From :func:`turn_batch`.
    turns : sequence of dict
        The same turn records (all rows).
    rows : sequence of int
        Which rollout rows to return (e.g. this process's slice), in order.
    n_tokens : int
        Completion length of the returned tensor (padded width).
    dtype : torch dtype, optional

    Returns
    -------
    torch.Tensor
        ``adv[k, s:e] = step_adv`` of turn ``t`` of row ``rows[k]`` for its span ``(s, e)``; every
        other token (environment tokens, padding, unscorable rows) is 0.
    """
    rows = list(rows)
    dtype = dtype or (step_adv.dtype if step_adv is not None else torch.float32)
    out = torch.zeros((len(rows), n_tokens), dtype=dtype)
    if step_adv is None or step_adv.numel() == 0:
        return out
    pos = {r: k for k, r in enumerate(rows)}
    vals = step_adv.detach().to("cpu", torch.float64).tolist()
    for a, r, t in zip(vals, step_row.tolist(), step_turn.tolist()):
        k = pos.get(r)
        if k is None:
            continue
        s, e = turns[r]["spans"][t]
        if not 0 <= s <= e <= n_tokens:
            raise ValueError(f"span {(s, e)} of row {r}, turn {t} does not fit a completion of {n_tokens} tokens")
        out[k, s:e] = a
    return out
