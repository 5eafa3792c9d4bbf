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
# # Why long-horizon goal-conditioned values lose their sign
#
# A hierarchical goal-conditioned agent (HIQL) picks subgoals $s_{t+k}$ by the sign and size of the
# high-level advantage $A = V(s_{t+k}, g) - V(s_t, g)$. With the sparse reward $-1$ per step the
# optimal value of a state $d$ steps from $g$ is $V = -(1-\gamma^d)/(1-\gamma)$, so a subgoal $k$ steps
# closer has
# $$A(d) = \gamma^{d-k}\,\frac{1-\gamma^k}{1-\gamma},$$
# exponentially small in $d$. Any estimation error of size $\sigma$ then decides the sign. OTA (Ahn et
# al. 2025; project page `docs/papers/ota.md`) counts one unit of cost per *option* of $n$ steps, so its
# value's effective horizon is about $d/n$. This notebook measures the three steps of that argument with
# `mdp.goal`: the closed form, the sign under noise, and what expectile TD actually learns.

# %%
import numpy as np

from mdp import goal as G
from theory_checks import get_claim

gamma, k = 0.99, 25

# %% [markdown]
# ## 1. The advantage shrinks like $\gamma^d$, the option-aware one like $\gamma^{d/n}$
#
# Two conventions exist for the option reward (the notes' formula and their rule disagree; see the
# page): `"start"` (an option costs 1 unless it starts on the goal; $n = 1$ is HIQL) gives
# $V_h = -(1-\gamma^{\lceil d/n\rceil})/(1-\gamma)$, `"reach"` (free when the goal is reached inside the
# option) gives $\lceil d/n\rceil - 1$ in the exponent.

# %%
for d in (50, 100, 300, 600, 1000):
    a = G.closed_form_advantage(d, k, gamma)
    a_start = G.closed_form_advantage(d, k, gamma, n=k)
    a_reach = G.closed_form_advantage(d, k, gamma, n=k, convention="reach")
    print(f"d = {d:4d}:  HIQL A = {a:9.3g}   OTA A_h = {a_start:.4f} (start), {a_reach:.4f} (reach)")
assert abs(G.closed_form_advantage(1000, k, gamma) - 1.2332e-3) < 1e-6  # the notes' example

# %% [markdown]
# The closed forms are the exact fixed points of the TD operators: claim OT1 runs expectile TD on every
# state-goal pair of shortest-path walks on a corridor and compares (both conventions).

# %%
print(get_claim("OT1").check((30, 5, 0.95)))

# %% [markdown]
# ## 2. Sign accuracy under noise: $\Phi(|A|/(\sqrt 2\,\sigma))$
#
# If both values carry independent $N(0, \sigma^2)$ errors, the estimated advantage is
# $A + e_1 - e_2 \sim N(A, 2\sigma^2)$. Empirically, on a corridor with noisy tables:

# %%
rng = np.random.default_rng(0)
corr = G.corridor(700)
dist = corr.distances()
ds = np.array([50, 150, 300, 450, 650])
s, sub, goal = ds, ds - k, np.zeros(ds.size, dtype=np.int64)
for name, n in (("HIQL", 1), ("OTA", k)):
    v = G.goal_values(dist, gamma, n=n)
    r = G.sign_accuracy(v, dist, s, sub, goal, sigma=0.5, rng=rng, n_draws=400)
    print(name, " ".join(f"d={d}: {a:.2f} (pred {p:.2f})" for d, a, p in zip(ds, r.accuracy, r.predicted)))

# %% [markdown]
# HIQL's sign is a coin flip beyond a few hundred steps at $\sigma = 0.5$; OTA's stays near
# $\Phi(\gamma^{d/k}/(\sqrt2 \cdot 0.5))$, which also decays, only $k$ times more slowly.

# %% [markdown]
# ## 3. What expectile TD learns from random walks
#
# Offline data are random walks, not shortest paths. With expectile $\kappa = 0.7$ the learned value is
# between the data's average and its best continuation. On a 21x21 maze the learned HIQL value
# saturates near $-1/(1-\gamma)$ a few dozen steps from the goal, while the option-aware one keeps a
# slope over much longer distances: the "sign" problem is made worse by learning, not only by noise.

# %%
rng = np.random.default_rng(1)
m = G.maze(21, rng=rng)
d = m.distances()
data = G.random_walks(m, 300, 300, rng=rng, momentum=0.8)
goal = int(np.argmax(d.max(axis=0)))
for name, n in (("HIQL", 1), ("OTA", 10)):
    tr = G.goal_window_transitions(data, [goal], rng=rng, n_windows=30_000, n=n)
    v = G.expectile_td(tr, gamma=gamma, expectile=0.7, tol=1e-4).v[:, goal]
    prof = [v[(d[:, goal] >= lo) & (d[:, goal] < lo + 20)].mean() for lo in range(0, int(d[:, goal].max()), 20)]
    print(f"{name:5s} mean V by distance band of 20: " + " ".join(f"{x:7.1f}" for x in prof))

# %% [markdown]
# The lab `ota_horizon` draws these curves on 51x51 mazes with goals up to 600 steps away and runs a
# hierarchical controller on top (oracle low level). What reproduced and what did not is on the
# project page `docs/papers/ota.md`.
