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
# # What a Hankel matrix's rank says about a POMDP
#
# A POMDP with $S$ hidden states generates observation sequences. A **predictive state
# representation** (PSR) describes the same process without hidden states: the "state" after a history
# is the vector of probabilities of a few *core tests* (future action-observation sequences). How many
# core tests are needed is the rank of the **system-dynamics (Hankel) matrix**
# $$D_h[x, t] = P(\text{observations of } x \text{ and } t \,\|\, \text{actions of } x \text{ and } t),$$
# rows = histories $x = (o_0, a_1, o_1, \dots, a_h, o_h)$, columns = tests $t = (a_{h+1}, o_{h+1}, \dots)$.
# UMT-PSR (Huang et al., ICLR 2024; project page `docs/papers/multitask_psr.md`) measures the
# complexity of the tasks by this rank $r$; claim MT5 checks $r \le S$. This notebook shows what the
# rank does and does not tell about the POMDP behind the data.

# %%
import numpy as np

from mdp import pomdp as P
from theory_checks import get_claim

np.set_printoptions(precision=4, suppress=True)

# %% [markdown]
# ## 1. Why $\operatorname{rank} D_h \le S$
#
# Split the probability of "history, then test" at the hidden state $s_h$:
# $D_h[x, t] = \sum_s P(o_{0:h}, s_h = s \| a_{1:h}) \, P(\text{test obs} \mid s_h = s, \text{test actions})
# = (\mathrm{Alpha}_h \mathrm{Beta}_h)[x, t]$, a product through an $S$-dimensional bottleneck.
# `hankel_matrix` computes every entry by its own forward pass (no factorisation), so the rank bound
# is something to check, not something built in.

# %%
rng = np.random.default_rng(0)
m = P.random_pomdp(2, 2, 2, 2, rng=rng)  # S = 2, A = 2, O = 2, H = 2
hk = P.hankel_matrix(m, 1)
print("D_1 shape (histories x tests):", hk.D.shape)
print("first rows:\n", hk.D[:3, :7])
print("max |direct - Alpha Beta| =", np.abs(hk.D - P.reference_hankel_matrix(m, 1)).max())
print("singular values:", np.linalg.svd(hk.D, compute_uv=False)[:4])

# %% [markdown]
# Two singular values are of order 0.1-1, the rest are round-off ($10^{-17}$): rank 2 = $S$.
#
# ## 2. The rank counts what the observations can tell apart, not the states
#
# Three POMDPs whose rank is *below* their number of states:
#
# * **i.i.d. observations**: every row of $T$ equals the start distribution. Whatever $S$, the future
#   does not depend on the past: rank 1.
# * **duplicated states**: give every state of a POMDP two copies; the start picks copy 0 or 1 once and
#   the chain stays in it, and both copies emit and move like the original. The observable process is
#   the same (a mixture of a process with itself), so every $D_h$ is the same matrix, with $2S$ states.
# * **the needle pair of claim MT4**: $S = H + 2 = 5$ states, but the observations only ever reveal
#   "needle reached or not".

# %%
q = rng.dirichlet(np.ones(4))
iid = P.POMDP(np.broadcast_to(q, (2, 4, 4)), rng.dirichlet(np.ones(3), size=4), q, 3)
base = P.random_pomdp(3, 2, 3, 3, rng=rng)
dup = P.duplicate_states(base)
needle, _ = P.needle_pair(3, 3, 5, eps=0.1)
for name, mod in (("i.i.d.", iid), ("random S=3", base), ("duplicated", dup), ("needle", needle)):
    r = P.psr_rank(mod)
    print(f"{name:12s} S = {mod.n_states}:  rank per split {r.ranks.tolist()},  PSR rank {r.rank}")
print("max |D(dup) - D(base)| at split 1:", np.abs(P.hankel_matrix(dup, 1).D - P.hankel_matrix(base, 1).D).max())

# %% [markdown]
# So the rank is a property of the *process*: a PSR of rank $r$ can be much smaller than any POMDP
# that generates the same data, and two POMDPs with different $S$ can be indistinguishable. For
# learning this is the point: the sample complexity of UMT-PSR scales with $r$, not with $S$.
#
# ## 3. Short horizons cap the rank too
#
# $D_h$ has only $O (AO)^h$ rows; at $h = 0$ with $O = 2$ observations the rank is at most 2 whatever
# $S$ is. For random POMDPs (dense Dirichlet rows) the PSR rank is $\min(S, \text{what the horizon
# can reveal})$:

# %%
for S in range(1, 7):
    r = P.psr_rank(P.random_pomdp(S, 2, 2, 3, rng=rng))
    print(f"S = {S}: ranks per split {r.ranks.tolist()}, PSR rank {r.rank}")

# %% [markdown]
# ## 4. Numerical rank: a tolerance and a spectrum
#
# Rank is numerical here: `psr_rank` counts singular values above `max(shape) * eps * sigma_max`
# (numpy's rule) unless an explicit `tol` is given, and it returns the spectrum. Make the two copies of
# a duplicated POMDP differ by $\delta$ in their emissions: the process becomes a mixture of two
# different POMDPs and the rank rises above $S$, but the new singular values are of order $\delta$, and a
# coarser tolerance does not see them. A PSR whose smallest relevant singular value is tiny
# is *poorly conditioned* (the "regularity" constant that UMT-PSR's bounds divide by): learning it from
# data needs a number of samples that grows as that value shrinks.

# %%
for delta in (1e-1, 1e-3, 1e-6):
    E = dup.E.copy()
    E[: base.n_states] = (1 - delta) * E[: base.n_states] + delta * rng.dirichlet(np.ones(3), size=base.n_states)
    pert = P.POMDP(dup.T, E, dup.rho0, dup.horizon)
    r_default = P.psr_rank(pert)
    r_coarse = P.psr_rank(pert, tol=1e-4)
    sv = r_default.singular_values[1]
    print(
        f"delta = {delta:g}: rank (default tol) {r_default.rank}, rank (tol 1e-4) {r_coarse.rank}, "
        f"singular values at split 1: {' '.join(f'{x:.1e}' for x in sv[:6])}"
    )

# %% [markdown]
# At $\delta = 0.1$ and $10^{-3}$ the default tolerance finds all $2S = 6$ dimensions, with singular
# values down to the order of $\delta^2$; at $\delta = 10^{-6}$ the smallest ones fall below
# $\max(\text{shape})\,\epsilon\,\sigma_{\max}$ and the count drops. A coarser, explicit tolerance
# ($10^{-4}$) reports the rank that data of realistic size could support.
#
# ## 5. From data: the noise floor hides small singular values
#
# An empirical Hankel matrix from $n$ episodes has entries with errors of order $1/\sqrt n$, so only
# singular values well above that floor can be told from noise. (The lab's learners avoid this by
# maximum likelihood over a finite class; spectral PSR learning would face it directly.)

# %%
m3 = P.random_pomdp(3, 2, 2, 3, rng=rng)
exact = P.hankel_matrix(m3, 1, max_test_length=2)
A_, O_ = 2, 2
for n in (1_000, 100_000):
    obs, acts = P.sample_trajectories(m3, n, rng=rng)
    # estimate D_1 entries with tests of length <= 2 from empirical frequencies of whole prefixes
    Dhat = np.zeros_like(exact.D)
    col = 0
    for k in range(3):
        L = 1 + k  # actions in history (1) plus test (k)
        a_idx = (acts[:, :L] * (A_ ** np.arange(L - 1, -1, -1))).sum(axis=1)
        o_idx = (obs[:, : L + 1] * (O_ ** np.arange(L, -1, -1))).sum(axis=1)
        joint = np.zeros((A_**L, O_ ** (L + 1)))
        np.add.at(joint, (a_idx, o_idx), 1.0)
        joint /= np.maximum(joint.sum(axis=1, keepdims=True), 1)  # P_hat(o || a) per action sequence
        # reorder (a_1..a_L, o_0..o_L) into rows (o_0, a_1, o_1) and columns (a_2, o_2, ...)
        full = joint.reshape((A_,) * L + (O_,) * (L + 1))
        order = [L] + [x for i in range(L) for x in (i, L + 1 + i)]
        Dhat[:, col : col + (A_ * O_) ** k] = full.transpose(order).reshape(O_ * A_ * O_, -1)
        col += (A_ * O_) ** k
    err = np.abs(Dhat - exact.D).max()
    print(
        f"n = {n:>7,}: max entry error {err:.4f};  singular values exact "
        f"{np.linalg.svd(exact.D, compute_uv=False)[:4]}  estimated {np.linalg.svd(Dhat, compute_uv=False)[:4]}"
    )

# %% [markdown]
# With $10^3$ episodes the third singular value is buried under the noise (the estimate has a fourth
# one of the same size); with $10^5$ the three true values stand out and the fourth falls to the noise
# floor.
#
# ## 6. The claim, as the project checks it
#
# MT5 draws random POMDPs and checks $\operatorname{rank} D_h \le S$ at every split, that the direct
# entries equal the factorisation, and that the duplicated-state copy keeps the rank.

# %%
print(get_claim("MT5").check(rng=np.random.default_rng(1)))
print(get_claim("MT5").check(base))
