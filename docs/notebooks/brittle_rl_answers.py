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
# # Three ways an RL answer can be brittle: ties, the edge of reach, and non-additive rewards
#
# Three exact, tabular stories (project pages `docs/papers/policy_cliff.md`,
# `docs/papers/edge_of_reach.md` and `docs/papers/subrl.md`):
#
# 1. **The policy cliff** (Xu 2025): when several actions are optimal, an arbitrarily small change of the
#    reward moves the optimal policy by total variation 1. Entropy regularisation makes the map Lipschitz.
# 2. **The edge of reach** (Sims et al. 2024): offline model-based RL with truncated rollouts bootstraps
#    from states whose values are never trained, and fails *even with the true dynamics*. An ensemble's
#    minimum (RAVL) is pessimistic exactly there.
# 3. **Non-additive rewards** (Prajapat et al. 2024): when the reward is a coverage of the visited states,
#    a Markov policy can be strictly worse than a history-dependent one, and training with the "obvious"
#    additive reward optimises the wrong thing.

# %%
import numpy as np

import mdp
from mdp import offline as off
from mdp import stability as st
from mdp import submodular as sm
from theory_checks import get_claim

# %% [markdown]
# ## 1. The policy cliff
#
# A one-state bandit ($\gamma = 0$) with two equally good arms. By hand: $\Delta(R) = 0$, the optimal
# set is every mixture of arms 0 and 1, and the selection "smallest index" is a choice, not a fact.

# %%
bandit = mdp.TabularMDP(np.ones((1, 3, 1)), [[1.0, 1.0, 0.2]], 0.0)
g = st.action_gap(bandit)
print(
    "gap",
    g.gap,
    "optimal actions",
    np.flatnonzero(g.optimal[0]),
    "deterministic optima",
    st.optimal_policies(g).ravel(),
)

# %% [markdown]
# Add $\epsilon$ to arm 0 or to arm 1: the two optimal policies are at total variation 1, for every
# $\epsilon$ (claim PC4). The soft-optimal policy at temperature $\tau$ moves by at most
# $\|dR\|_\infty / (2\tau(1-\gamma))$ in total variation (PC5).

# %%
for eps in (1e-1, 1e-4, 1e-8):
    up0 = st.with_reward(bandit, [[1 + eps, 1.0, 0.2]])
    up1 = st.with_reward(bandit, [[1.0, 1 + eps, 0.2]])
    hard = st.policy_tv(st.action_gap(up0).pi, st.action_gap(up1).pi, 3)[0]
    soft = st.policy_tv(st.soft_optimal_policy(up0, 0.1).pi, st.soft_optimal_policy(up1, 0.1).pi)[0]
    print(f"eps={eps:.0e}: TV argmax {hard:.0f}, TV soft(tau=0.1) {soft:.2e} <= bound {eps / (2 * 0.1):.2e}")

# %% [markdown]
# The price: $V^* - V^{\pi_\tau} \le \tau \log|A| / (1 - \gamma)$ (PC6), and as $\tau \to 0$ the soft
# policy splits the tie evenly instead of arbitrarily.

# %%
for tau in (1.0, 0.1, 0.01):
    r = st.soft_optimal_policy(bandit, tau)
    print(f"tau={tau}: pi={np.round(r.pi[0], 4)}, loss {1.0 - r.pi[0] @ bandit.R[0]:.4f} <= {r.price_bound:.4f}")

# %% [markdown]
# Multi-reward RL: with $R_{eff}(w) = (1-w) R_1 + w R_2$ the optimal policy is piecewise constant in $w$
# and jumps exactly where the effective reward has a tie. `effective_reward_path` finds the jumps
# exactly; here $R_1 = (1, 0.6, 0)$, $R_2 = (0, 0.6, 1)$, so the middle arm wins on $(0.4, 0.6)$.

# %%
path = st.effective_reward_path(bandit, [[1.0, 0.6, 0.0]], [[0.0, 0.6, 1.0]])
print("breakpoints", path.breakpoints, "policies", path.policies.ravel())
print("PC7 on this instance:", get_claim("PC7").check((bandit, [[1.0, 0.6, 0.0]], [[0.0, 0.6, 1.0]])))

# %% [markdown]
# ## 2. The edge of reach
#
# A chain $0 \to 1 \to \dots \to 7$ ("move" pays 1, "stay" pays 0). Rollouts of length $k = 2$ from the
# dataset state 0 train $Q$ on states 0 and 1 only, and bootstrap from state 2: the edge of reach.

# %%
n = 8
P = np.zeros((n, 2, n))
for s in range(n):
    P[s, 0, min(s + 1, n - 1)] = 1.0
    P[s, 1, s] = 1.0
R = np.zeros((n, 2))
R[: n - 1, 0] = 1.0
chain = mdp.TabularMDP(P, R, 0.9)
move = np.zeros(n, dtype=int)
sets = off.reach_sets(chain, move, [0], 2)
print("used", np.flatnonzero(sets.used), "targets", np.flatnonzero(sets.targets), "edge", np.flatnonzero(sets.edge))

# %% [markdown]
# Train on the exact rollout buffer. The edge values stay at their initialisation, and whatever they are
# shifts the trained values by $c\,\gamma^t$ (claim E2): put 100 on the edge and state 0 believes it is
# worth $1 + 0.9 + 0.81 \cdot 100$.

# %%
buf = off.model_rollouts(chain, move, [0], 2, n_rollouts=5, rng=np.random.default_rng(0))
q0 = np.zeros((n, 2))
q0[2] = 100.0
r = off.buffer_q_iteration(buf, q0, chain.gamma, n_sweeps=50, pi=move)
v_true = mdp.policy_evaluation(chain, move).v
print("Q(0, move) =", r.q_min[0, 0], " true value", round(float(v_true[0]), 4), " edge Q(2, .) =", r.q_min[2])

# %% [markdown]
# With $N$ critics initialised i.i.d. $N(0, \sigma_0^2)$ and the minimum as target, the value seen at the
# edge is the minimum of $N$ normals. Its exact mean (order statistics) is much less pessimistic than the
# asymptotic $-\sigma_0\sqrt{2 \ln N}$ at the ensemble sizes used in practice:

# %%
for N in (2, 5, 10, 50):
    print(f"N={N:3d}: exact E[min] = {off.min_normal_mean(N):+.4f}, asymptotic {-np.sqrt(2 * np.log(N)):+.4f}")

# %% [markdown]
# The claims, on random deterministic MDPs (`rlab check E1 ... E5` runs more):

# %%
for cid in ("E1", "E2", "E5"):
    print(get_claim(cid).check(np.random.default_rng(0)))

# %% [markdown]
# The lab `edge_of_reach` runs the full offline model-based loop on a 15x15 grid with the *true*
# dynamics: one critic collapses for every truncated $k$, a MOPO-style penalty (zero with the true
# model) changes nothing, RAVL stays optimal, and full rollouts fix everything.

# %% [markdown]
# ## 3. Non-additive rewards: submodular coverage
#
# The objective $F(\{s_0, \dots, s_H\})$ counts each covered item once. In the 6-state instance of claim
# S5 the start branches at random to $A$ or $B$, both lead to a hub $C$, and from $C$ one picks $X$
# (covers what $A$ covers) or $Y$ (covers what $B$ covers). Remembering the branch covers both items;
# a Markov policy at $(C, h = 2)$ cannot remember and gets 1.5 on average:

# %%
from theory_checks.subrl import markov_gap_instance  # noqa: E402

m5, f5 = markov_gap_instance()
print(
    "history-dependent",
    sm.best_history_value(m5, f5, horizon=3, start=0),
    "Markov",
    sm.best_markov_value(m5, f5, horizon=3, start=0),
)

# %% [markdown]
# On a 6x6 grid, SubPO with the reward-to-go of marginal gains learns to cover; the additive reward
# (each step paid the coverage of its cell, repeats included) does not, because it is paid for
# re-covering the same cells:

# %%
from labs.subrl_coverage import grid5  # noqa: E402

g6, fcov = grid5(6), sm.grid_coverage(6)
for credit in ("reward_to_go", "additive"):
    r = sm.subpo(
        g6, fcov, horizon=12, start=0, rng=np.random.default_rng(0), credit=credit, n_epochs=60, batch=128, lr=100.0
    )
    print(f"{credit:13s}: covered {r.values[0]:.1f} -> {r.values[-5:].mean():.1f} of 36 cells")
