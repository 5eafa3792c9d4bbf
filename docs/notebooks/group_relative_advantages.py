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
# # Group-relative advantages against the exact $A^\pi$
#
# Critic-free LLM-RL methods replace the advantage $A^\pi(s, a) = Q^\pi(s, a) - V^\pi(s)$ of a
# policy-gradient step by a statistic of a *group* of rollouts that share a prompt. This notebook
# (1) computes what GRPO does on a hand-made group, under the verl and TRL conventions, and checks
# it against the formula; (2) rolls out groups in a multi-step toy MDP whose $Q^\pi$ and $A^\pi$
# are known exactly, and measures how well GRPO, RLOO, GiGPO, HGPO and SALT track $A^\pi$;
# (3) checks one of the lab's claims about these estimators with `theory_checks`.
#
# References: Shao et al. (2024), *DeepSeekMath*, arXiv:2402.03300, Sec. 4.1.2 (GRPO); Ahmadian
# et al. (2024), arXiv:2402.14740, Eq. 6 (RLOO); Feng et al. (2025), *GiGPO*, arXiv:2505.10978,
# Eqs. 3, 5-8; He, Feng et al. (2026), *HGPO*, arXiv:2602.22817; Li et al. (2025), *SALT*,
# arXiv:2510.20022. Paper notes: `docs/papers/gigpo.md`, `docs/papers/hgpo.md`, `docs/papers/salt.md`.

# %%
import matplotlib.pyplot as plt
import numpy as np

from labs.exact_advantage import advantage_metrics, estimate_advantages
from mdp.llm import RolloutBatch, compute_advantages, get_estimator, toy_envs
from theory_checks import assert_claim

rng = np.random.default_rng(2025)

# %% [markdown]
# ## 1. What GRPO computes on a group
#
# For a group $g$ of $G$ responses to one prompt with scalar rewards $r_1, \dots, r_G$, GRPO's
# outcome advantage (Shao et al. 2024, Sec. 4.1.2) is the z-score inside the group,
# $$\hat A_i = \frac{r_i - \operatorname{mean}_g(r)}{\operatorname{std}_g(r) + \epsilon},$$
# given to every token of response $i$. Frameworks agree on this formula and disagree on the
# small print, which `mdp.llm` exposes as named options: verl adds $\epsilon = 10^{-6}$, TRL
# $\epsilon = 10^{-4}$ (both use the unbiased std, ddof 1). A group whose rewards are all equal
# ("zero variance") carries no signal and gets $\hat A = 0$. A *singleton* group has no std: verl
# uses baseline 0 and scale 1 ($\hat A = r / (1 + \epsilon)$), TRL gives $0$.
#
# RLOO (Ahmadian et al. 2024) uses the mean of the *other* responses as baseline, $\hat A_i = r_i -
# \frac{1}{G-1}\sum_{j \ne i} r_j = \frac{G}{G-1}(r_i - \operatorname{mean}_g r)$, with no std.
#
# Group 0 below is an ordinary group, group 1 has zero variance, group 2 is a singleton.

# %%
r = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5])
g = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2])
batch = RolloutBatch(rewards=r, group_ids=g)
print(get_estimator("grpo").options)
adv = {conv: compute_advantages("grpo", batch, convention=conv).numpy() for conv in ("verl", "trl")}
adv["rloo"] = compute_advantages("rloo", batch).numpy()
for name, a in adv.items():
    print(f"{name:5s}", np.round(a, 7))

# %% [markdown]
# The same numbers from the formula, written out with numpy (group 0), and the two special groups:

# %%
r0 = r[g == 0]
for conv, eps in (("verl", 1e-6), ("trl", 1e-4)):
    by_hand = (r0 - r0.mean()) / (r0.std(ddof=1) + eps)
    assert np.allclose(adv[conv][g == 0], by_hand, rtol=0, atol=1e-12)
    print(f"{conv}: group 0 matches (r - mean) / (std_ddof1 + {eps:g}):", np.round(by_hand, 7))
G0 = len(r0)
assert np.allclose(adv["rloo"][g == 0], G0 / (G0 - 1) * (r0 - r0.mean()), rtol=0, atol=1e-12)
assert np.all(adv["verl"][g == 1] == 0) and np.all(adv["trl"][g == 1] == 0)  # zero variance
assert np.isclose(adv["verl"][g == 2][0], 0.5 / (1 + 1e-6)) and adv["trl"][g == 2][0] == 0.0  # singleton
print("singleton group: verl", adv["verl"][g == 2][0], " trl", adv["trl"][g == 2][0])

# %% [markdown]
# Every group sums to zero (the singleton under verl's policy aside): GRPO ranks responses against
# each other, it never says how good the prompt's responses are in absolute terms. Whether that
# relative signal points in the direction of $A^\pi$ is the question of the next section.
#
# ## 2. A multi-step toy with an exact $A^\pi$
#
# `toy_envs.corridor(5)` has positions $0..5$, actions (left, stay, right), reward 1 on entering the
# goal 5, and a per-step continuation probability $\gamma = 0.95$ (a random turn budget). With it
# the expected *undiscounted* return after $(s_t, a_t)$ is exactly the discounted $Q^\pi(s_t, a_t)$
# of the model, so $Q^\pi$, $V^\pi$ and $A^\pi$ follow from one linear solve,
# $V^\pi = (I - \gamma P_\pi)^{-1} r_\pi$, $Q^\pi = R + \gamma P V^\pi$ (`mdp.policy_evaluation`,
# wrapped by `toy_envs.exact_values`). The policy is a softmax with a mild preference for *right*.

# %%
env = toy_envs.corridor(5, gamma=0.95)
theta = np.zeros((env.n_states, env.n_actions))
theta[:, 2] = 0.5
pi = toy_envs.softmax_policy(theta)
exact = toy_envs.exact_values(env, pi)
print("pi(. | s) =", np.round(pi[0], 3), " exact success probability:", round(toy_envs.success_probability(env, pi), 4))
print("A^pi (rows: positions 0..4 and the goal; columns: left, stay, right)")
print(np.round(exact.adv, 4))
assert np.allclose((pi * exact.adv).sum(axis=1), 0.0, atol=1e-12)  # E_{a~pi} A^pi(s, a) = 0

# %% [markdown]
# Each estimator sees only sampled rollouts: `toy_envs.rollout` draws `n_prompts` groups of $G$
# episodes, one row per step. The *outcome* estimators (GRPO, RLOO) score an episode by its return
# and give that score to every step of it. The *step-level* ones look inside the group:
#
# * **GiGPO** (Feng et al. 2025, Eqs. 5-8): $\hat A_t = A^E(\tau) + \omega A^S_t$, where
#   $A^S_t = (R_t - \operatorname{mean}_{G^S} R)/(\operatorname{std}_{G^S} R + \epsilon)$ compares the
#   discounted return-to-go $R_t$ with those of all steps of the group taken from the same
#   observation (the *anchor state* group $G^S$); $\omega = 1$, step-return discount $0.95$.
# * **HGPO**: a weighted mean of such relative advantages over groups that share the last
#   $k = 1..K+1$ observations (history contexts), deeper contexts weighted more.
# * **SALT**: the mean GRPO advantage of the trajectories of the group that pass through the same
#   prefix (observation, action, ..., observation, action).
#
# For two group sizes we pool 8 batches and compare every row's $\hat A$ with its exact
# $A^\pi(s_t, a_t)$: the Pearson correlation, the row sign agreement (fraction of rows with
# $A^\pi \neq 0$ where the signs match), and the *batch* sign agreement: the sign of the summed
# $\hat A$ over the rows of each (batch, $s$, $a$) cell, i.e. the sign of the tabular
# policy-gradient step on $\theta[s, a]$, against the sign of $A^\pi(s, a)$
# (`labs.exact_advantage.advantage_metrics`).

# %%
names = ("grpo", "rloo", "gigpo", "hgpo", "salt")
group_sizes = (4, 16)
results = {}
for G in group_sizes:
    est = {n: [] for n in names}
    a_true, cells, batch_ids = [], [], []
    for b in range(8):
        ro = toy_envs.rollout(env, theta, group_size=G, n_prompts=128 // G, rng=rng, exact=exact)
        for n, a in estimate_advantages(ro, names).items():
            est[n].append(a)
        a_true.append(np.array(ro.adv))
        cells.append(ro.states * env.n_actions + ro.actions)
        batch_ids.append(np.full(ro.n_rows, b))
    a_true, cells, batch_ids = map(np.concatenate, (a_true, cells, batch_ids))
    for n in names:
        a_hat = np.concatenate(est[n])
        results[n, G] = advantage_metrics(a_hat, a_true, cells, batch_ids)
        assert np.isclose(results[n, G]["corr"], np.corrcoef(a_hat, a_true)[0, 1])
    print(f"G = {G}: {len(a_true)} step rows from {8 * (128 // G)} groups")

print(f"\n{'estimator':10s}" + "".join(f"{'G=' + str(G) + ' corr':>12s}{'sign':>7s}{'batch':>7s}" for G in group_sizes))
for n in names:
    print(
        f"{n:10s}"
        + "".join(
            f"{results[n, G]['corr']:12.3f}{results[n, G]['sign_agree']:7.3f}{results[n, G]['cell_sign_agree']:7.3f}"
            for G in group_sizes
        )
    )

# %%
fig, axes = plt.subplots(1, 3, figsize=(9, 2.8))
x = np.arange(len(names))
for k, (col, title) in enumerate(
    (
        ("corr", r"corr$(\hat A, A^\pi)$"),
        ("sign_agree", "row sign agreement"),
        ("cell_sign_agree", "batch sign agreement"),
    )
):
    ax = axes[k]
    for j, G in enumerate(group_sizes):
        ax.bar(x + (j - 0.5) * 0.38, [results[n, G][col] for n in names], width=0.38, label=f"G = {G}")
    if col != "corr":
        ax.axhline(0.5, color="k", lw=0.8, ls=":")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=30)
    ax.set_title(title)
axes[0].legend()
fig.suptitle(
    r"Corridor(5), softmax policy, 128 episodes per batch x 8 batches: estimators vs exact $A^\pi$", fontsize=9
)
fig.tight_layout()

# %% [markdown]
# ## 3. A claim: GiGPO reduces to GRPO when no observation repeats (L2)
#
# If every observation is distinct, every anchor-state group is a singleton, $A^S = 0$, and GiGPO is
# GRPO on the episode returns (docs/papers/gigpo.md claim 2; with per-trajectory episode statistics; the default
# `episode_stats="step_rows"` follows verl-agent and takes them over step rows instead). Claim L2 in
# `theory_checks.llm` checks this identity, for the std-normalised mode (vs `grpo`) and the
# mean-only mode (vs `dr_grpo`). We run it on one batch of corridor rollouts and on random
# instances:

# %%
ro = toy_envs.rollout(env, theta, group_size=8, n_prompts=4, rng=rng, exact=exact)
instance = {
    "rewards": np.array(ro.rewards),
    "group_ids": np.array(ro.group_ids),
    "trajectory_ids": np.array(ro.trajectory_ids),
    "step_ids": np.array(ro.step_ids),
    "observation_keys": np.array(ro.observation_keys),
}
(on_corridor,) = assert_claim("L2", instance, rng=rng)
print("corridor batch:", on_corridor)
random_instances = assert_claim("L2", rng=rng, n=20)
print("20 random instances, worst tightness:", max(res.tightness for res in random_instances))

# %% [markdown]
# ## 4. What the cells showed
#
# * On a hand-made group, `grpo` with `convention="verl"` and `"trl"` equals
#   $(r - \operatorname{mean})/(\operatorname{std}_{\text{ddof}=1} + \epsilon)$ with
#   $\epsilon = 10^{-6}$ and $10^{-4}$; a zero-variance group gets 0 under both, and a singleton
#   gets $r/(1+\epsilon)$ under verl and 0 under TRL. RLOO equals $\frac{G}{G-1}(r - \operatorname{mean})$.
# * On the corridor (policy above, 8 batches of 128 episodes), every estimator's advantages
#   correlate weakly with the exact $A^\pi$ row by row: correlations 0.125-0.157 for GRPO, RLOO and
#   SALT, 0.22 for GiGPO and 0.28-0.29 for HGPO; row sign agreement lies between 0.485 and 0.598.
# * The batch-level sign (the direction of the tabular policy-gradient step on $\theta[s, a]$)
#   separates them: GRPO, RLOO and SALT (prefix trie) stay at 0.46-0.49 at both group sizes, no
#   better than chance; GiGPO reaches 0.88 ($G = 4$) and 0.82 ($G = 16$), HGPO 1.00 and 0.98.
#   Going from $G = 4$ to $G = 16$ did not change this ordering.
# * Claim L2 held on a batch of corridor rollouts and on 20 random instances.
#
# These numbers are for one policy, one seed and one toy; `rlab run exact_advantage` sweeps group
# sizes, a second environment and more estimators, and trains with each.
