"""VSC-RL claims (``docs/papers/vsc_rl.md``): the SGC-ELBO bound and its KL reduction, by enumeration.

Source: Q. Wu, J. Liu, J. Hao, J. Wang, K. Shao, *VSC-RL: Advancing Autonomous Vision-Language Agents
with Variational Subgoal-Conditioned Reinforcement Learning*, NeurIPS 2025, arXiv 2502.07949
(SGC-ELBO definition from the abstract and project page; the rest reconstructed).
"""

from __future__ import annotations

import numpy as np

from mdp import goal as G
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register

__all__ = ["accept_seed", "toy_instance", "check_vsc1", "check_vsc2"]

_VSC = "Wu, Liu, Hao, Wang & Shao (2025), VSC-RL, arXiv 2502.07949"
_NOTES = "docs/papers/vsc_rl.md"


def accept_seed(instance):
    if isinstance(instance, bool) or not isinstance(instance, (int, np.integer)):
        raise TypeError("expected an integer seed (the claim builds its own grid, policies and subgoal)")
    return int(instance)


def toy_instance(seed, horizon=5, beta=2.0):
    """A 5x5 open grid, start in a corner, a random subgoal, random prior and policy, success
    likelihood ``p(O | tau, sg) = exp(beta (1[tau visits sg] - 1))``."""
    g = np.random.default_rng(seed)
    free = np.ones((5, 5), dtype=bool)
    m = G.grid_mdp(free, name="open 5x5")
    tr = G.enumerate_trajectories(m, 0, horizon)
    sg = int(g.integers(1, m.n_states))
    reached = (tr.states == sg).any(axis=1)
    log_lik = beta * (reached.astype(float) - 1.0)
    pi_ref = g.dirichlet(np.ones(m.n_actions), size=m.n_states)
    return m, tr, log_lik, pi_ref, g


def check_vsc1(instance, rng) -> CheckResult:
    m, tr, ll, pi_ref, g = toy_instance(int(instance))
    lp = G.trajectory_log_probs(tr, pi_ref)
    logZ = G.log_evidence(lp, ll)
    gaps = []
    for _ in range(20):
        pi = g.dirichlet(np.full(m.n_actions, 0.5), size=m.n_states)
        gaps.append(G.elbo(np.exp(G.trajectory_log_probs(tr, pi)), lp, ll) - logZ)
    post = G.posterior(lp, ll)
    at_post = G.elbo(post, lp, ll) - logZ
    # a distribution on the posterior's support that is not the posterior: strictly below
    other = post * np.exp(g.normal(size=post.size))
    other /= other.sum()
    parts = {
        "ELBO(pi) <= log p(O | g) (20 random policies)": inequality("VSC1", max(gaps), 0.0, atol=1e-12),
        "ELBO(posterior) = log p(O | g)": identity("VSC1", abs(at_post), 1e-10),
        "perturbed posterior strictly below": inequality("VSC1", G.elbo(other, lp, ll) - logZ, -1e-8),
    }
    return combine("VSC1", parts)


register(
    Claim(
        id="VSC1",
        name="sgc-elbo-bound",
        statement=r"\mathbb{E}_{q}[\log p(O|\tau, g)] - KL(q \,\|\, p_{\pi_{ref}}) \le \log p(O|g),"
        r"\ \text{equality iff } q(\tau) = p_{\pi_{ref}}(\tau) p(O|\tau,g)/p(O|g)",
        source=f"{_VSC}, SGC-ELBO; {_NOTES} claim 1",
        constant="none",
        tolerance=1e-10,
        sample=lambda rng: int(rng.integers(0, 2**31)),
        evaluate=check_vsc1,
        default_instances=5,
        subjects=("mdp.goal.elbo", "mdp.goal.log_evidence", "mdp.goal.posterior"),
        instance="int seed",
        accepts=accept_seed,
        notes="Exact enumeration of the 4^5 = 1024 trajectories of a 5x5 open grid from a corner; p(O | tau, sg) = "
        "exp(2 (1[tau visits sg] - 1)); prior and policies with Dirichlet rows. Gibbs' inequality.",
    )
)


def check_vsc2(instance, rng) -> CheckResult:
    m, tr, ll, pi_ref, g = toy_instance(int(instance))
    errs = []
    for _ in range(10):
        pi = g.dirichlet(np.full(m.n_actions, 0.5), size=m.n_states)
        q = np.exp(G.trajectory_log_probs(tr, pi))
        lq, lr = G.trajectory_log_probs(tr, pi), G.trajectory_log_probs(tr, pi_ref)
        on = q > 0
        kl_traj = float((q[on] * (lq[on] - lr[on])).sum())
        errs.append(abs(kl_traj - G.stepwise_kl(tr, pi, pi_ref)))
    return combine("VSC2", {"KL(p_pi || p_ref) = E sum_t KL(pi || pi_ref)": identity("VSC2", max(errs), 1e-10)})


register(
    Claim(
        id="VSC2",
        name="sgc-elbo-kl-chain-rule",
        statement=r"KL(p_\pi(\tau|sg) \,\|\, p_{\pi_{ref}}(\tau|g)) = \mathbb{E}_{p_\pi}\Big[\sum_t KL(\pi(\cdot|s_t, sg) \,\|\, "
        r"\pi_{ref}(\cdot|s_t, g))\Big]",
        source=f"{_VSC} (KL term of the SGC-ELBO, shared dynamics); {_NOTES} algorithm",
        constant="none",
        tolerance=1e-10,
        sample=lambda rng: int(rng.integers(0, 2**31)),
        evaluate=check_vsc2,
        default_instances=5,
        subjects=("mdp.goal.stepwise_kl", "mdp.goal.trajectory_log_probs"),
        instance="int seed",
        accepts=accept_seed,
        notes="Deterministic dynamics cancel in the trajectory likelihood ratio; checked by enumeration on the "
        "VSC1 instance with 10 random policies.",
    )
)
