"""Deep Bayesian-network actor-critic with a learned, context-dependent DAG (torch; CPU or CUDA).

``import marl.bn`` never imports torch; ``marl.bn.torch`` loads this subpackage on first access.

The pieces (Chen & Zhang 2023, Sec. 4; ``docs/papers/bn_marl.md``):

* :class:`DAGSampler` -- maps a context (one-hot state) to a distribution over DAGs by differentiable
  DAG sampling (after Charpentier et al., ICLR 2022): a permutation from Gumbel-perturbed scores,
  relaxed by SoftSort (``P_soft[k, i] = softmax_i(-|sorted_k - s_i| / tau)``), and an edge mask by
  Gumbel-sigmoid; both hard in the forward pass with straight-through gradients. The adjacency
  ``adj[i, j] = 1`` (agent ``i`` is a parent of ``j``) is ``(P^T U P) * E`` with ``U`` strictly upper
  triangular, so every sample is a DAG and the permutation is a topological order.
* :class:`BNActors` -- one MLP per agent whose input is the context and the one-hot actions of all
  agents, each multiplied by ``adj[j, i]`` (non-parents masked to zero); agents act in the sampled order.
* A centralised state-value critic ``V(s)`` (the digest: the critic sees the state, not individual
  actions) and advantage ``r + gamma V(s') - V(s)``.
* :func:`train_bn_actor_critic` -- synchronous advantage actor-critic (default) or a MAPPO-style
  clipped-ratio objective with GAE (``objective="mappo"``) on a PettingZoo environment
  (:mod:`marl.envs.coop_games_v0` by default; :mod:`marl.envs.coop_grid_v0` is the grid task) with the sparsity penalty ``beta_t * E[#edges]``,
  ``beta_t`` growing linearly from 0 to ``beta`` so training ends near the empty graph, evaluated
  *exactly* on the environment's model with the graph actually used at execution (thresholded) and
  with no graph at all (decentralised execution).

This is a small reconstruction of the paper's method (two small environments of ours, MLP actors,
full-batch clipped-ratio epochs); no claim of the paper is checked with it.
"""

from __future__ import annotations

from marl.bn.torch.actor_critic import (
    BNActors,
    DAGSampler,
    DeepBNResult,
    exact_joint_policy,
    train_bn_actor_critic,
)

__all__ = ["BNActors", "DAGSampler", "DeepBNResult", "exact_joint_policy", "train_bn_actor_critic"]
