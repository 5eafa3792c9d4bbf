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
# # Soft best responses, logit equilibria, and why inverse RL recovers rewards only up to shaping
#
# With an entropy bonus $\frac1\lambda H(\pi(\cdot\mid s))$ added to every reward, the optimal policy of an
# MDP is no longer greedy but Boltzmann: $\pi(a\mid s) \propto e^{\lambda Q(s,a)}$, with the *soft* value
# $V(s) = \frac1\lambda \log\sum_a e^{\lambda Q(s,a)}$ and $Q = r + \gamma P V$. In a two-player Markov game,
# fixing the other player's policy $\pi_{-i}$ leaves player $i$ an ordinary MDP (the *induced* MDP, rewards and
# transitions averaged over $a_{-i}\sim\pi_{-i}$); its soft-optimal $Q$ is the *marginal critic* $\bar Q_i$ of
# MAMQL, and a profile where every player is Boltzmann in its own marginal critic is a *logit equilibrium*.
#
# This notebook works on a game small enough to print: 2 states, 2 actions per player.
# Sources: Haynam et al. (2025), MAMQL, arXiv:2503.04679; McKelvey & Palfrey (1995); Ng, Harada & Russell
# (1999); the project's page `docs/papers/mamql.md`.

# %%
import numpy as np

import marl
import mdp
from marl.irl import (
    induced_mdp,
    logit_equilibrium,
    mamql,
    marginal_soft_q,
    occupancy_measure,
    remove_shaping,
)

np.set_printoptions(precision=4, suppress=True)
rng = np.random.default_rng(1)
game = marl.generators.random_general_sum_game(2, 2, 2, rng=rng, gamma=0.8)
lam = 2.0
print(game)
print("player 0's reward R[0, s, a0, a1]:\n", game.rewards[0])
print("player 1's reward R[1, s, a0, a1]:\n", game.rewards[1])

# %% [markdown]
# ## 1. A soft best response
# Fix player 1 at a uniform policy. Player 0's induced MDP has $\bar r_0(s,a_0) = \sum_{a_1}\pi_1(a_1|s) r_0(s,a_0,a_1)$.
# Soft value iteration (`mdp.soft_value_iteration`, a $\gamma$-contraction with a certified stopping rule) gives
# the marginal critic; its softmax is player 0's soft best response, and no other policy has a higher
# entropy-regularised value.

# %%
y = np.full((2, 2), 0.5)
Q0, V0 = marginal_soft_q(game, lam, 0, y)
m0 = induced_mdp(game, 0, y)
br = np.exp(lam * (Q0 - Q0.max(axis=1, keepdims=True)))
br /= br.sum(axis=1, keepdims=True)
print("rbar_0 =\n", m0.R)
print("Qbar_0 =\n", Q0, "\nsoft best response =\n", br)
for _ in range(3):
    other = rng.dirichlet(np.ones(2), size=2)
    print("a random policy's regularised value", mdp.soft_policy_evaluation(m0, other, lam).v, "<= Vbar_0", V0)

# %% [markdown]
# ## 2. A logit equilibrium
# Damped simultaneous soft best responses converge here; the result carries its certificate: the fixed-point
# residual and each player's regularised best-response gap (claim M2).

# %%
eq = logit_equilibrium(game, lam)
print("x =\n", eq.policies[0], "\ny =\n", eq.policies[1])
print(f"rounds {eq.n_iter}, residual {eq.residual:.1e}, gaps {eq.gaps}")

# %% [markdown]
# ## 3. Inverse RL: the policy is recovered, the reward only up to shaping
# Give MAMQL the experts' exact discounted occupancy. With the linear $\phi$ its objective is the experts'
# log-likelihood, so the recovered policy equals the experts' (claim M3). The reward read off by the inverse soft
# Bellman operator, $\hat r = \hat Q - \gamma \bar P \hat V$, differs from the true $\bar r$: any potential
# $\Phi$ gives $r + \Phi(s) - \gamma \mathbb E\,\Phi(s')$ the same soft-optimal policy, and the data cannot tell them
# apart. Removing the best-fitting potential makes the two agree to round-off (claim M4).

# %%
occ = occupancy_measure(game, eq.policies)
fit = mamql(game, occ, lam, phi="linear")
for i in (0, 1):
    m = induced_mdp(game, i, eq.policies[1 - i])
    sh = remove_shaping(fit.rewards[i], m.R, m, game.gamma)
    print(f"player {i}: max |pi_hat - pi_E| = {np.abs(fit.policies[i] - eq.policies[i]).max():.1e}")
    print("  true rbar =\n", m.R, "\n  recovered =\n", fit.rewards[i])
    print(
        f"  potential Phi = {sh.potential}, residual after removing it {sh.residual:.1e}, "
        f"correlation {sh.correlation_before:.3f} -> {sh.correlation_after:.3f}"
    )

# %% [markdown]
# The joint reward $r_i(s, a_i, a_{-i})$ is identified even less: only its average under $\pi_{-i}$ enters, so
# `marl.irl.joint_reward_regression` returns the least-norm joint reward with the right marginals and reports the
# $|S||A_i|(|A_{-i}|-1)$-dimensional null space it cannot resolve (claim M5).

# %%
from marl.irl import joint_reward_regression

jr = joint_reward_regression(induced_mdp(game, 0, eq.policies[1]).R, eq.policies[1])
print("least-norm joint reward of player 0:\n", jr.reward, "\nnull-space dimension", jr.null_space_dim)
