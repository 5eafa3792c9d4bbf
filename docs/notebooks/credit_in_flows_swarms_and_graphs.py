# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Credit in flows, swarms and communication graphs
#
# Three group-relative methods that move GRPO's idea to new places: **G²RPO** (Zhou et al. 2025,
# arXiv:2510.01982) to the denoising steps of a flow model, **SAPO** (Gensyn AI Team 2025,
# arXiv:2509.08721) to a swarm of nodes that share rollouts, and **Graph-GRPO** (Cang et al. 2026,
# arXiv:2603.02701) to the edges of a multi-agent communication graph. Each is a reconstruction on a
# toy (project pages: `docs/papers/g2rpo_flow.md`, `docs/papers/sapo.md`, `docs/papers/graph_grpo.md`).
# This notebook checks, in each, *which random choice the reward is credited to*.

# %%
import matplotlib.pyplot as plt
import numpy as np

from mdp.llm import RolloutBatch, compute_advantages
from mdp.llm import flow_grpo as F
from mdp.llm import graph_grpo as GG
from mdp.llm import sapo as S

rng = np.random.default_rng(21)

# %% [markdown]
# ## 1. G²RPO: one stochastic step makes the reward a function of one noise
#
# A one-component flow has an affine velocity, so the sampled image (here a point in the plane) is
# an affine function of every injected noise, and a linear reward $r = w \cdot x_T$ is too:
# $r = c + \sum_j b_j \cdot \varepsilon_j$. With noise at every step (DanceGRPO), the step-$k$ noise
# explains the share $\|b_k\|^2 / \sum_j \|b_j\|^2$ of the reward variance; with noise at step $k$
# only (singular sampling), it explains all of it (claim GF1).

# %%
model = F.GaussianMixtureFlow([[1.0, -0.5]], std=0.4)
T, k, w, x0 = 10, 3, np.array([0.6, 0.8]), np.array([0.3, -0.2])
for label, steps in (("singular", [k]), ("full SDE", range(T))):
    paths, eps = F.sample_paths(model, x0, n_steps=T, noise=0.7, sde_steps=steps, n=4000, rng=rng)
    r2 = F.explained_variance(paths[:, -1].numpy() @ w, eps[:, k].numpy())
    exact = F.noise_shares(model, x0, w, n_steps=T, noise=0.7, sde_steps=steps)[k]
    print(f"{label:9s} R^2 of r on eps_k: {r2:.4f}   exact share: {exact:.4f}")

# %% [markdown]
# Each branch is then completed at several step granularities (every $m$ Euler steps merged into
# one); the rewards of each granularity are z-scored inside the group and summed. The registered
# estimator `"g2rpo"` reads one row per (sample, granularity), with the granularity in `step_ids`;
# the fused advantage has zero mean in the group (claim GF2). Here the reward is the negative squared
# distance to the mode's centre, whose value depends on how coarse the completion is.

# %%
grp = F.singular_group(model, x0, k, 6, n_steps=T, noise=0.7, granularities=(1, 2, 3), rng=rng)
R = np.stack([-((f - [1.0, -0.5]) ** 2).sum(1) for f in grp.finals], 1)  # (G, M)
b = RolloutBatch(
    rewards=R.ravel(),
    group_ids=np.zeros(R.size, int),
    trajectory_ids=np.repeat(np.arange(6), 3),
    step_ids=np.tile(np.arange(3), 6),
)
A = compute_advantages("g2rpo", b).numpy().reshape(6, 3)[:, 0]
print("rewards per granularity:\n", R.round(3))
print("fused advantages:", A.round(3), " sum:", f"{A.sum():.1e}")

# %% [markdown]
# ## 2. SAPO: external rollouts carry signal the node's own rollouts lack
#
# A node whose 8 answers to a question are all wrong gets zero GRPO advantage from them. Another
# node that found the answer publishes its group; the receiving node re-scores it with its own reward
# and trains on it as if it had sampled it. Dropping zero-variance groups changes nothing in the
# gradient sum (claim SA1), so the swarm filters them before sampling external items.

# %%
task = S.make_swarm_task(n_nodes=4, n_families=4, questions_per_family=3, rng=rng)
seed = int(rng.integers(2**31))
curves = {}
for I, J in ((8, 0), (4, 4), (2, 6)):
    res = S.sapo_swarm(task, local_items=I, external_items=J, n_rounds=80, rng=np.random.default_rng(seed))
    curves[f"{I}/{J}"] = res.expected_reward.mean(1)
    print(f"{I}/{J}: cumulative expected reward {res.cumulative_reward.mean():.2f}")

# %% [markdown]
# ## 3. Graph-GRPO: the edge that matters gets the credit
#
# Each query samples $K$ graphs with independent edges; the answer is correct with probability
# $\sigma(d + \beta a_{e^*})$, so only the critical edge $e^*$ matters, while the query's difficulty
# $d$ moves every graph's reward together. Group-relative advantages remove $d$ (claim GG1); the
# credit $\Delta_e = \bar A_{a_e = 1} - \bar A_{a_e = 0}$ is positive for $e^*$ and zero in expectation
# for every other edge (claim GG2).

# %%
topo = GG.make_topology_task(n_agents=5, n_types=1, rng=rng)
n, K = 800, 8
acts = GG.sample_graphs(np.full(topo.n_edges, 0.5), n * K, rng=rng)
d = np.repeat(topo.difficulty_sd * rng.standard_normal(n), K)
r = (rng.random(n * K) < GG.success_probability(topo, np.zeros(n * K, int), d, acts)).astype(float)
gid = np.repeat(np.arange(n), K)
credit = GG.edge_credit(compute_advantages("graph_grpo", RolloutBatch(rewards=r, group_ids=gid)).numpy(), acts, gid)
print("critical edge:", int(topo.critical[0]), " credit z-scores:", (credit.delta / credit.stderr).round(1))

# %%
fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.4), layout="constrained")
for label, c in curves.items():
    axes[0].plot(c, label=label)
axes[0].set_xlabel("round")
axes[0].set_ylabel("expected reward (mean over nodes)")
axes[0].set_title("SAPO: local/external groups per round")
axes[0].legend()
colours = ["0.5"] * topo.n_edges
colours[int(topo.critical[0])] = "#D55E00"
axes[1].bar(range(topo.n_edges), credit.delta, yerr=2 * credit.stderr, color=colours)
axes[1].set_xlabel("candidate edge $e$")
axes[1].set_ylabel(r"$\Delta_e$ ($\pm$ 2 s.e.)")
axes[1].set_title("Graph-GRPO edge credit (critical edge in orange)")
plt.show()
