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
# # Zero-sum Markov games: Shapley iteration and the equilibrium certificate
#
# A two-player zero-sum Markov game has transitions $P(s' \mid s, a, o)$ and a payoff $R(s, a, o)$ that
# the row player maximises and the column player minimises. Shapley (1953) showed that it has a value
# $V^*$ and stationary optimal strategies, and that $V^*$ is the fixed point of
# $$(TV)(s) = \mathrm{val}\Big(R(s,\cdot,\cdot) + \gamma \sum_{s'} P(s' \mid s, \cdot, \cdot)\, V(s')\Big),$$
# where $\mathrm{val}(M) = \max_x \min_y x^\top M y$ is the value of a matrix game.
#
# This notebook shows (1) how `val` is computed exactly, (2) why $T$ is a $\gamma$-contraction (claim
# G1), (3) how the lab *certifies* a solution: best responses computed exactly by single-agent MDP
# solves (claim G2), and (4) how far a learner's strategies are from that certificate, on Littman's
# soccer. References: Shapley (1953); Littman (1994); docs/papers/foundations.md sections 6-7.

# %%
import matplotlib.pyplot as plt
import numpy as np

import marl
from marl.envs import soccer_v0
from theory_checks import assert_claim

rng = np.random.default_rng(7)

# %% [markdown]
# ## 1. The value of a matrix game, with its own certificate
#
# `marl.zero_sum_matrix_game` solves a batch of games with a tableau simplex in numba. The answer
# is an optimal *basic* solution, and each game comes with a proof of its accuracy: what the row
# strategy guarantees (`lower`) and what the column strategy concedes (`upper`) bracket the value.
# Rock-paper-scissors has value 0 and uniform optimal strategies:

# %%
rps = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
sol = marl.zero_sum_matrix_game(rps)
print(sol.value, sol.row_strategy, sol.lower, sol.upper)

batch = rng.normal(size=(10_000, 5, 5))
sols = marl.zero_sum_matrix_game(batch)
print("largest certificate gap over 10,000 random 5x5 games:", sols.gap.max())

# %% [markdown]
# ## 2. Shapley's operator is a contraction (G1)
#
# `val` is monotone and shifts with constants: $\mathrm{val}(M + c) = \mathrm{val}(M) + c$. Hence
# $|\mathrm{val}(M_1) - \mathrm{val}(M_2)| \le \max |M_1 - M_2|$ and $\|TV - TU\|_\infty \le
# \gamma\|V - U\|_\infty$. The claim is data in `theory_checks`; here it is checked on a random game.

# %%
game = marl.generators.random_zero_sum_game(20, 3, 4, rng=rng, gamma=0.9)
(result,) = assert_claim("G1", game)
print(result)

# %% [markdown]
# Because $T$ is monotone and shifts with constants, the MacQueen bounds of single-agent value
# iteration carry over: one backup brackets $V^*$. `marl.shapley_value_iteration` stops on that
# bracket, so its `error_bound` is certified, not estimated. The bracket's half-width falls much
# faster than $\gamma^t$:

# %%
res = marl.shapley_value_iteration(game, tol=1e-12)
fig, ax = plt.subplots(figsize=(4.5, 2.8))
ax.semilogy(np.arange(1, res.n_iter + 1), res.residuals, marker="o", label="certified half-width")
ax.semilogy(np.arange(1, res.n_iter + 1), 10 * 0.9 ** np.arange(1, res.n_iter + 1), ls="--", label=r"$\propto\gamma^t$")
ax.set_xlabel("Shapley backups")
ax.legend()
print(res.n_iter, res.error_bound)

# %% [markdown]
# ## 3. The equilibrium certificate (G2)
#
# Fix the column player's stationary strategy $y$: the row player then faces an ordinary MDP, and
# `mdp.solve` gives its best-response value exactly. Doing the same for the column player against
# $x$ brackets the value from both sides,
# $$\min_{y'} V^{x, y'} \le V^* \le \max_{x'} V^{x', y},$$
# and the gap between the two is the pair's *exploitability*. At the returned strategies it is at
# round-off level:

# %%
cert = marl.exploitability(game, res.row_policy, res.col_policy)
print("exploitability:", cert.value, " |V^{x,y} - V*|:", np.abs(cert.v_pair - res.v).max())

uniform = (np.full((20, 3), 1 / 3), np.full((20, 4), 1 / 4))
print("uniform play is exploitable by", marl.exploitability(game, *uniform).value)

# %% [markdown]
# ## 4. Littman's soccer: exact value, learned strategies
#
# `soccer_v0.model()` exports the exact 760-state game behind the PettingZoo environment (conventions
# of docs/papers/foundations.md section 6). Its value at kick-off with A holding the ball is $+0.218484$.
# Minimax-Q (Littman 1994) learns from the same model used as a simulator; the certificate tells how
# much a best-responding opponent could take from the learned strategy.

# %%
soccer = soccer_v0.model(gamma=0.9)
kickoff = soccer_v0.KICKOFF_STATES
exact = marl.shapley_value_iteration(soccer, tol=1e-10)
print("V*(kick-off, A has ball) =", round(float(exact.v[kickoff[0]]), 6))

from marl.learners.minimax_q import minimax_q  # noqa: E402

reset = np.zeros(soccer.n_states)
reset[list(kickoff)] = 0.5
steps = [10_000, 100_000, 1_000_000]
learned = minimax_q(
    soccer,
    n_iter=steps[-1],
    rng=np.random.default_rng(0),
    mode="online",
    epsilon=0.2,
    opponent="minimax",
    s0=kickoff[0],
    reset_prob=0.1,
    reset_dist=reset,
    checkpoints=steps,
)
for t, q in zip(steps, learned.q_checkpoints):
    x = marl.zero_sum_matrix_game(q).row_strategy
    br = marl.best_response(soccer, x, 1)  # the column player's exact best response to x
    conceded = exact.v[kickoff[0]] + br.v[kickoff[0]]
    print(f"after {t:>9,} steps: the learned strategy concedes {conceded:.3f} to a best response at kick-off")

# %% [markdown]
# The learned strategy approaches the certificate slowly: after $10^6$ steps a best response still
# takes a sizeable part of the value (the `soccer` lab follows it to $10^7$ steps and compares step
# sizes and opponents: `rlab run soccer`).
