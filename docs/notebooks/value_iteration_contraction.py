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
# # Value iteration and the contraction bound
#
# This notebook teaches the three facts that make value iteration (VI) a *certified* algorithm,
# checks each on random MDPs with `theory_checks`, and shows why certificates matter: a value
# function that "looks converged" can be far from $V^*$.
#
# Notation (the lab's glossary): $P$ is `(S, A, S)`, $R$ is `(S, A)`, $\gamma \in [0, 1)$, and the
# Bellman optimality operator is
# $$(TV)(s) = \max_a \; R(s, a) + \gamma \sum_{s'} P(s, a, s') V(s').$$
#
# References: Puterman (1994), *Markov Decision Processes*, Thm 6.2.3 (contraction), Thm 6.3.1
# (stopping rule), Thm 6.6.3 (MacQueen bounds); Singh & Yee (1994) (greedy-policy loss).

# %%
import matplotlib.pyplot as plt
import numpy as np

import mdp
from theory_checks import assert_claim, get_claim

rng = np.random.default_rng(2024)
m = mdp.generators.random_mdp(30, 4, rng=rng, alpha=0.1, gamma=0.9)
m

# %% [markdown]
# ## 1. $T$ is a $\gamma$-contraction in the sup norm (F1)
#
# For any $V, U$: $\|TV - TU\|_\infty \le \gamma \|V - U\|_\infty$. The reason: $|\max_a x_a - \max_a y_a| \le \max_a |x_a - y_a|$,
# and each $P(s, a, \cdot)$ is a probability vector, so averaging cannot increase a sup-norm difference.

# %%
ratios = []
for _ in range(200):
    V, U = rng.normal(size=(2, m.n_states)) * rng.uniform(0.1, 10)
    TV, _ = mdp.bellman_operator(m, V)
    TU, _ = mdp.bellman_operator(m, U)
    ratios.append(np.abs(TV - TU).max() / np.abs(V - U).max())
print(f"max ||TV - TU|| / ||V - U|| over 200 pairs: {max(ratios):.4f}  (gamma = {m.gamma})")
assert max(ratios) <= m.gamma + 1e-12

# %% [markdown]
# The same statement lives in the lab as a named claim, usable in any test-suite:

# %%
c = get_claim("F1")
print(c.statement, "--", c.source)
print(c.check(rng))
assert_claim("F1", rng=rng, n=5)

# %% [markdown]
# ## 2. Geometric convergence (F2) and the stopping rule (F3)
#
# Banach's fixed-point theorem gives $\|V_t - V^*\|_\infty \le \gamma^t \|V_0 - V^*\|_\infty$, an
# *a-priori* bound. We do not know $V^*$ while iterating, but the *a-posteriori* bound
# $$\|V_{t+1} - V^*\|_\infty \le \frac{\gamma}{1-\gamma}\|V_{t+1} - V_t\|_\infty$$
# is computable, and it is what `mdp.value_iteration` uses to stop and to report `error_bound`.

# %%
v_star = mdp.policy_iteration(m).v
V = np.zeros(m.n_states)
err, apriori, aposteriori = [], [], []
e0 = np.abs(V - v_star).max()
for t in range(1, 151):
    V_new, _ = mdp.bellman_operator(m, V)
    err.append(np.abs(V_new - v_star).max())
    apriori.append(m.gamma**t * e0)
    aposteriori.append(m.gamma / (1 - m.gamma) * np.abs(V_new - V).max())
    V = V_new
err, apriori, aposteriori = map(np.array, (err, apriori, aposteriori))
assert np.all(err <= apriori * (1 + 1e-9) + 1e-12)
assert np.all(err <= aposteriori * (1 + 1e-9) + 1e-12)

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.semilogy(err, label=r"$\|V_t - V^*\|_\infty$", color="#0072B2")
ax.semilogy(apriori, "--", label=r"$\gamma^t \|V_0 - V^*\|_\infty$ (F2)", color="#E69F00")
ax.semilogy(aposteriori, ":", label=r"$\frac{\gamma}{1-\gamma}\|V_t - V_{t-1}\|_\infty$ (F3)", color="#009E73")
ax.set_xlabel("iteration $t$")
ax.set_ylabel("sup-norm error")
ax.legend(frameon=False)
fig.tight_layout()

# %% [markdown]
# Both bounds hold at every iteration. The a-posteriori bound tracks the true error closely; the
# a-priori bound is exact in its rate but not in its constant.
#
# ## 3. What the solver returns
#
# `value_iteration` stops as soon as the stopping rule certifies `tol`, and also certifies the
# greedy policy with one more sweep (MacQueen bounds):

# %%
res = mdp.value_iteration(m, tol=1e-6)
print(f"{res.n_iter} sweeps, error_bound = {res.error_bound:.2e}, true error = {np.abs(res.v - v_star).max():.2e}")
print(f"policy_error_bound = {res.policy_error_bound:.2e}")
assert np.abs(res.v - v_star).max() <= res.error_bound

# %% [markdown]
# ## 4. Why certificates matter
#
# A VI run stopped by a *relative* change criterion, or after a fixed number of sweeps, can return
# values far from $V^*$ while the iterates barely move. On the classic forest-management example
# at $\gamma = 0.96$ the exact $V^* = (74.6496, 78.1056, 82.1056)$. Stop VI after a few sweeps and
# ask `mdp.certify` what the returned vector is worth:

# %%
forest = mdp.generators.forest(gamma=0.96)
V = np.zeros(3)
for _ in range(4):
    V, _ = mdp.bellman_operator(forest, V)
cert = mdp.certify(forest, V)
print("returned V      :", np.round(V, 4))
print("certified bound :", f"||V - V*|| <= {cert.input_error_bound:.2f}")
print("V* lies in      :", np.round(cert.lower, 3), "..", np.round(cert.upper, 3))
print("exact V*        :", np.round(mdp.solve(forest).v, 4))

# %% [markdown]
# The certificate brackets $V^*$ from a single extra sweep, whatever produced `V` (another
# library included). `mdp.solve` iterates until that bracket is narrower than the tolerance.
#
# ## 5. The greedy policy is better than the values suggest (F4)
#
# If $\|V - V^*\|_\infty \le e$, the greedy policy loses at most $2\gamma e / (1-\gamma)$ (Singh & Yee
# 1994). Often it is exactly optimal long before the values have converged:

# %%
pi_star = mdp.policy_iteration(m).pi
for n in (1, 5, 20, 60):
    V = np.zeros(m.n_states)
    for _ in range(n):
        V, pi = mdp.bellman_operator(m, V)
    _, pi = mdp.bellman_operator(m, V)
    loss = np.abs(v_star - mdp.policy_evaluation(m, pi).v).max()
    bound = 2 * m.gamma * np.abs(V - v_star).max() / (1 - m.gamma)
    print(f"after {n:3d} sweeps: policy loss {loss:.2e} <= bound {bound:.2e}; optimal: {np.array_equal(pi, pi_star)}")
    assert loss <= bound + 1e-10
