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
# # Spanning capacity, trajectory trees and why PSDP needs completeness
#
# Agnostic policy learning: given a policy class $\Pi$ that need not contain an optimal policy, find
# $\hat\pi$ with $V(\hat\pi) \ge \max_{\pi\in\Pi} V(\pi) - \epsilon$. With a generative model, the
# difficulty of $\Pi$ is measured by its **spanning capacity** (Jia, Li, Rakhlin, Sekhari & Srebro 2023;
# the thesis of G. Li 2025; project page `docs/papers/agnostic_rl.md`):
# $$C_h(\Pi) = \max_{M \text{ deterministic}} |\{(s_h, a_h) : \text{some } \pi \in \Pi \text{ reaches } s_h
# \text{ in } M \text{ and plays } a_h\}|, \qquad C(\Pi) = \max_h C_h(\Pi).$$
# The maximum is over *every* deterministic MDP on the state space, not the MDP at hand.

# %%
import numpy as np

from mdp import agnostic as ag
from theory_checks import get_claim
from theory_checks.agnostic import performance_difference_terms, psdp_counterexample

# %% [markdown]
# ## 1. By hand: three classes on $H = 3$ layers of $S = 2$ states, $A = 2$ actions
#
# * **All policies.** At layer $h$ (counting from 1) at most $A^h$ action strings have been played, so at
#   most $A^h$ pairs are reachable, and never more than $SA$: $C_h = \min(A^h, SA) = 2, 4, 4$.
# * **Constant actions** $\{\pi_a \equiv a\}$: every policy is at one state per layer, so at most
#   $|\Pi| = A = 2$ pairs.
# * **Singleton deviations** around "always 0": the deviators that have already deviated sit on at most
#   one path each, plus the default path and its one deviator at the current layer. With only $S = 2$
#   states per layer, layer 3 holds at most 3 pairs (the default state with both actions and one other
#   state) rather than $H + 1 = 4$ (the notes' corrected statement).

# %%
H, S, A = 3, 2, 2
for name, cls in [
    ("all policies", ag.all_policies(H, S, A)),
    ("constant action", ag.constant_action(H, S, A)),
    ("singleton deviations", ag.singleton_deviations(H, S, A)),
]:
    r = ag.spanning_capacity(cls, A, per_layer=True)
    lit = ag.reference_spanning_capacity(cls, A)  # literal enumeration of all 512 deterministic MDPs
    print(
        f"{name:22s} K = {len(cls):3d}  C_h = {r.per_layer.tolist()}  enumeration = {lit.tolist()}  exact = {r.exact}"
    )

# %% [markdown]
# Each value comes with a witness: a deterministic MDP (start state and transition maps) attaining it.

# %%
sd = ag.singleton_deviations(H, S, A)
r = ag.spanning_capacity(sd, A, per_layer=True)
start, T = r.witnesses[2]
print("start", start, "\nT[h, s, a] =\n", T)
print("reachable pairs per layer on the witness:", ag.reachable_pairs(sd, start, T, A))
for S_ in (3, 4):
    print(f"S = {S_}: singletons have C = {ag.spanning_capacity(ag.singleton_deviations(3, S_, 2), 2).capacity}")

# %% [markdown]
# ## 2. Beyond the exact search: certified brackets
#
# For 300 random policies on 20 states per layer the search gives up after its node budget and reports a
# lower bound attained by a witness and an upper bound that holds for every deterministic MDP.

# %%
big = ag.random_policies(300, 5, 20, 3, rng=np.random.default_rng(0))
r = ag.spanning_capacity(big, 3, max_nodes=200)
print("per layer lower", r.per_layer.tolist(), "upper", r.per_layer_upper.tolist(), "gap", r.gap, "exact", r.exact)

# %% [markdown]
# ## 3. Trajectory trees: queries per tree are bounded by $\sum_h C_h$, whatever $|S_h|$
#
# One tree queries the generative model once per distinct reachable pair; every policy's return along its path
# is an unbiased estimate of its value, and $n = \lceil 2\log(2|\Pi|/\delta)/\epsilon^2\rceil$ trees make the
# empirical best $\epsilon$-optimal in $\Pi$ with probability $1 - \delta$ (claims AR2, AR3).

# %%
rng = np.random.default_rng(1)
for S_ in (10, 1000, 100_000):
    m = ag.sparse_branching(4, S_, 2, rng=rng)
    cls = ag.constant_action(4, S_, 2)
    res = ag.trajectory_tree(m, cls, 0.1, 0.1, rng=rng)
    v = ag.policy_values(m, cls)
    print(
        f"|S_h| = {S_:6d}: {res.n_trees} trees, queries per tree <= {res.queries.max()} (sum_h C_h = 8), "
        f"loss {v.max() - v[res.best]:.3f}"
    )

# %% [markdown]
# ## 4. The PSDP counterexample (claim AR5)
#
# Layer 1: from $s_0$ the class only has "go to $x$" (the optimal first move). Layer 2: $x$ pays 1 under $f$
# and 0.5 under $g$; $y$ pays 0 under $f$ and 1 under $g$. PSDP picks the layer-2 policy that is best on
# its reset distribution $\mu_2 = (0.1, 0.9)$: $f$ scores $0.1$, $g$ scores $0.05 + 0.9 = 0.95$, so it
# takes $g$ and ends with value 0.5, although $\pi^* = (\text{go}_x, f) \in \Pi$ has value 1.

# %%
m, classes, mus, pi_star = psdp_counterexample()
r = ag.psdp(m, classes, mus)
print("scores at layer 2 (f, g):", r.scores[1], "-> chosen", "fg"[r.chosen[1]], "value", r.value)
mc, cc, _, _ = psdp_counterexample(complete=True)
rc = ag.psdp(mc, cc, mus)
print("completed class (f, g, h):", rc.scores[1], "-> chosen", "fgh"[rc.chosen[1]], "value", rc.value)

# %% [markdown]
# The performance-difference identity (claim AR6) locates the loss: with $Q$ of the returned policy and the
# state distribution of $\pi^*$, the only nonzero term is layer 2 at $x$, worth $0.5$; $\mu_2$ puts only
# $0.1$ of its mass there, which is why PSDP under-weighted it.

# %%
terms = performance_difference_terms(m, pi_star, r.pi)
print("terms[h, s] =\n", terms, "\nsum =", terms.sum())
for cid in ("AR1", "AR5", "AR6"):
    print(get_claim(cid).check(np.random.default_rng(0)))
