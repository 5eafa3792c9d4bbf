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
# # Mean-field limits: watching a swarm's empirical distribution converge
#
# $N$ agents on a ring of 8 cells each see only which of 4 sectors they are in and pick left, stay or
# right from a shared **decision rule** $h_t(u \mid y)$ (with probability 0.1 the move is replaced by a
# random one). The empirical distribution $\mu^N_t = \frac1N \sum_i \delta_{x^i_t}$ is random; as
# $N \to \infty$ it follows the deterministic **mean-field** recursion
#
# $$\mu_{t+1}(x') = \sum_x \mu_t(x) \sum_y O(y \mid x) \sum_u h_t(u \mid y) P(x' \mid x, u),$$
#
# which turns the $N$-agent problem into a single-agent MDP whose state is $\mu$ and whose action is
# the rule $h$ (Cui et al. 2024, Dec-POMFC). This notebook (1) optimises the rules on the mean-field
# MDP with exact gradients, (2) simulates swarms of growing $N$ with those rules and measures
# $\|\mu^N_t - \mu_t\|_1$, whose mean shrinks like $N^{-1/2}$ (claim D1), (3) repeats it when the
# transitions depend on $\mu$ (crowding), and (4) shows why the rule must sometimes randomise (D4).
#
# Code: `marl.mean_field` (`docs/papers/dec_pomfc.md`).

# %%
import matplotlib.pyplot as plt
import numpy as np

from marl.mean_field import mf_open_loop, mf_rollout, ring_aggregation, swarm_simulate

m = ring_aggregation()
opt = mf_open_loop(m, steps=300)
traj = mf_rollout(m, opt.h)
print(f"mean-field value J = {opt.value:.3f} (uniform rules: -18); last distribution:", np.round(traj[-1], 3))

# %% [markdown]
# ## 1. Swarms of growing size
#
# For each $N$ we run 40 episodes with the optimised rules and plot, at every step, the $L^1$ distance
# between the swarm's histogram and the mean-field distribution.

# %%
rng = np.random.default_rng(0)
sizes = [10, 100, 1_000, 10_000, 100_000]
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
final = []
for N in sizes:
    r = swarm_simulate(m, opt.h, N, n_episodes=40, rng=rng)
    err = np.abs(r.mu - traj[None]).sum(axis=2)  # (episodes, H + 1)
    axes[0].plot(err.mean(axis=0), marker="o", ms=3, label=f"N = {N:,}")
    final.append(err[:, -1].mean())
axes[0].set_yscale("log")
axes[0].set_xlabel("step t")
axes[0].set_ylabel(r"mean $\|\mu^N_t - \mu_t\|_1$")
axes[0].legend(fontsize=7)
slope = np.polyfit(np.log(sizes), np.log(final), 1)[0]
axes[1].loglog(sizes, final, "o-", label=f"measured (slope {slope:.2f})")
axes[1].loglog(sizes, final[0] * (np.array(sizes) / sizes[0]) ** -0.5, "k--", label=r"$N^{-1/2}$")
axes[1].set_xlabel("N")
axes[1].set_ylabel("error at the horizon")
axes[1].legend(fontsize=7)
fig.tight_layout()
print(f"fitted slope {slope:.3f} (D1 predicts -1/2)")

# %% [markdown]
# ## 2. One swarm, up close
#
# The histogram of a single episode against the mean-field path, for a small and a large swarm.

# %%
fig, axes = plt.subplots(1, 3, figsize=(9, 2.6), sharey=True)
for ax, (title, img) in zip(
    axes,
    [
        ("mean field", traj),
        ("N = 20", swarm_simulate(m, opt.h, 20, rng=rng).mu[0]),
        ("N = 20,000", swarm_simulate(m, opt.h, 20_000, rng=rng).mu[0]),
    ],
):
    ax.imshow(img.T, aspect="auto", origin="lower", cmap="Blues", vmin=0, vmax=0.6)
    ax.set_title(title)
    ax.set_xlabel("step t")
axes[0].set_ylabel("cell")
fig.tight_layout()

# %% [markdown]
# ## 3. When the dynamics depend on the mean field
#
# With crowding, a move into cell $x'$ fails with probability $0.6\,\mu(x')$: each agent's kernel now
# depends on the *empirical* $\mu^N_t$, so fluctuations feed back into the dynamics. The rate stays
# $N^{-1/2}$ (the kernels are Lipschitz in $\mu$); the constant grows.

# %%
mc = ring_aggregation(crowding=0.6)
opt_c = mf_open_loop(mc, steps=300)
traj_c = mf_rollout(mc, opt_c.h)
final_c = []
for N in sizes:
    r = swarm_simulate(mc, opt_c.h, N, n_episodes=40, rng=rng)
    final_c.append(np.abs(r.mu[:, -1] - traj_c[-1]).sum(axis=1).mean())
print("crowding: errors", np.round(final_c, 4), "slope", round(np.polyfit(np.log(sizes), np.log(final_c), 1)[0], 3))

# %% [markdown]
# ## 4. Why the rule may have to randomise
#
# All agents start in cell 0 and see the same observation; the target is half the swarm in cell 1 and
# half in cell 2. A deterministic rule sends everyone to the same cell ($L^1$ distance 1); the rule
# "left or right with probability 1/2" reaches the target exactly in the limit -- the lifted MDP's
# optimal action is a *randomised* decision rule, unlike a single-agent MDP (claim D4).

# %%
from marl.mean_field import mf_objective  # noqa: E402
from theory_checks.mean_field import split_model  # noqa: E402

sm = split_model(2)
print("deterministic rules:", [mf_objective(sm, np.eye(2)[[a]][None]) for a in (0, 1)])
print("randomised rule   :", mf_objective(sm, np.full((1, 1, 2), 0.5)))
for N in (10, 1000):
    print(
        f"N = {N}: mean return of the randomised rule",
        swarm_simulate(sm, np.full((1, 1, 2), 0.5), N, n_episodes=200, rng=rng).returns.mean().round(4),
    )
