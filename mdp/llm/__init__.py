"""Policy-optimisation hooks for LLM-RL: rollout schema, group-relative advantage estimators,
PPO-style losses and KL estimators, all in torch (imported only inside this subpackage).

Public names load lazily, so ``import mdp.llm`` is cheap until something is used::

    from mdp.llm import RolloutBatch, compute_advantages, list_estimators, policy_loss

    batch = RolloutBatch(rewards=r, group_ids=g, response_mask=m)
    adv = compute_advantages("grpo", batch, broadcast=True)          # (rows, tokens)
    loss = policy_loss("ppo", logp, old_logp, adv, m, agg="token-mean")
"""

from __future__ import annotations

from mdp._lazy import lazy_names

# public name -> defining module
_LAZY = {
    # group statistics over integer group codes (mdp/llm/segments.py; the module itself is public)
    "dense_codes": "mdp.llm.segments",
    "segment_sum": "mdp.llm.segments",
    "segment_mean": "mdp.llm.segments",
    "group_stats": "mdp.llm.segments",
    # schema (mdp/llm/batch.py)
    "RolloutBatch": "mdp.llm.batch",
    "stable_hash": "mdp.llm.batch",
    # registry (mdp/llm/registry.py)
    "EstimatorSpec": "mdp.llm.registry",
    "register_estimator": "mdp.llm.registry",
    "compute_advantages": "mdp.llm.registry",
    "list_estimators": "mdp.llm.registry",
    "get_estimator": "mdp.llm.registry",
    # losses (mdp/llm/losses.py)
    "policy_loss": "mdp.llm.losses",
    "agg_loss": "mdp.llm.losses",
    "global_batch_info": "mdp.llm.losses",
    "rollout_is_weights": "mdp.llm.losses",
    "RolloutISResult": "mdp.llm.losses",
    "kl_estimate": "mdp.llm.losses",
    "PolicyLossResult": "mdp.llm.losses",
    "AGG_MODES": "mdp.llm.losses",
    "KL_KINDS": "mdp.llm.losses",
    "register_policy_loss": "mdp.llm.losses",
    "list_policy_losses": "mdp.llm.losses",
    # group-relative estimators (mdp/llm/estimators.py); also reachable via compute_advantages
    "CONVENTIONS": "mdp.llm.estimators",
    # agentic helpers and checks (mdp/llm/agentic.py)
    "step_returns": "mdp.llm.agentic",
    "episode_returns": "mdp.llm.agentic",
    "gcpo_mask": "mdp.llm.agentic",
    "check_gigpo_reduces_to_grpo": "mdp.llm.agentic",
    "check_gigpo_zero_mean": "mdp.llm.agentic",
    "check_hgpo_k0_equals_gigpo_step": "mdp.llm.agentic",
    "check_salt_shared_prefix_neutral": "mdp.llm.agentic",
    "check_igpo_telescoping": "mdp.llm.agentic",
    # preference estimators, samplers, HAPO and BPO/GBPO
    "gbpo_advantages": "mdp.llm.bpo",
    "bpo_target_ratio": "mdp.llm.bpo",
    "bpo_sign_rule": "mdp.llm.bpo",
    "bpo_loss": "mdp.llm.bpo",
    "hapo_policy_loss": "mdp.llm.hapo",
    "normalized_entropy": "mdp.llm.hapo",
    "hapo_token_advantages": "mdp.llm.hapo",
    "d3s_sample_mask": "mdp.llm.samplers",
    "d3s_token_mask": "mdp.llm.samplers",
    "d3s_retention": "mdp.llm.samplers",
    "MixtureSampler": "mdp.llm.samplers",
    "vps_weights": "mdp.llm.samplers",
    "igrpo_rollout": "mdp.llm.samplers",
    "single_elimination": "mdp.llm.arena",
    "round_robin": "mdp.llm.arena",
    "minimax_winner": "mdp.llm.spo",
    "spo_self_play": "mdp.llm.spo",
    "spo_win_rates": "mdp.llm.spo",
    "spark_aggregate": "mdp.llm.spark",
    "hill_hint_reward": "mdp.llm.hill",
    "hill_replace_groups": "mdp.llm.hill",
    # the last three papers of issue 21 (G2RPO for flows, SAPO, Graph-GRPO)
    "train_flow_grpo": "mdp.llm.flow_grpo",
    "fused_advantages": "mdp.llm.flow_grpo",
    "sapo_swarm": "mdp.llm.sapo",
    "make_swarm_task": "mdp.llm.sapo",
    "edge_credit": "mdp.llm.graph_grpo",
    "train_topology": "mdp.llm.graph_grpo",
}

__getattr__, __dir__, __all__ = lazy_names(__name__, _LAZY)
