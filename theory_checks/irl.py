"""Multi-agent inverse RL claims (``docs/papers/mamql.md``): M1-M5 and the chi^2 bias.

M1 the marginal critic is the soft-Q of the induced MDP and its softmax a soft best response; M2 the
logit equilibrium's fixed point; M3 MAMQL with linear ``phi`` and exact occupancies recovers the
expert policy; M4 the recovered reward equals the true one up to potential shaping; M5 the joint-reward
regression's constraints and null space; M6 the chi^2 regulariser's policy bias shrinks as ``alpha``
grows. Each evaluator measures the lab's own code (:func:`marl.irl.marginal_soft_q`,
:func:`marl.logit_equilibrium`, :func:`marl.irl.mamql`, :func:`marl.irl.remove_shaping`,
:func:`marl.irl.joint_reward_regression`, :func:`mdp.soft_value_iteration`).
"""

from __future__ import annotations

import itertools

import numpy as np

import marl
import mdp
from marl import generators as G
from marl.irl import (
    induced_mdp,
    joint_reward_regression,
    logit_equilibrium,
    mamql,
    marginal_soft_q,
    occupancy_measure,
    remove_shaping,
)
from theory_checks.core import (
    CheckResult,
    Claim,
    combine,
    estimate,
    identity,
    inequality,
    register,
)

__all__ = ["accept_game", "check_m1", "check_m2", "check_m3", "check_m4", "check_m5", "check_m6", "sample_irl_game"]

_SRC = "Haynam et al. (2025), Multi-Agent Inverse Q-Learning from Demonstrations (MAMQL), arXiv:2503.04679, Sec. 4"
_LAMS = (0.5, 1.0, 2.0)


def sample_irl_game(rng: np.random.Generator):
    """``(game, lam)``: a random general-sum game (3-6 states, 2-3 actions each, gamma 0.9,
    Dirichlet(1) rows) and ``lam`` in {0.5, 1, 2}."""
    S = int(rng.integers(3, 7))
    A1, A2 = (int(a) for a in rng.integers(2, 4, size=2))
    return G.random_general_sum_game(S, A1, A2, rng=rng, gamma=0.9), float(rng.choice(_LAMS))


def accept_game(instance):
    """A ``MarkovGame`` (``lam = 1``) or a pair ``(MarkovGame, lam > 0)``."""
    if isinstance(instance, marl.MarkovGame):
        return instance, 1.0
    if isinstance(instance, tuple) and len(instance) == 2 and isinstance(instance[0], marl.MarkovGame):
        from mdp.solvers.soft_value_iteration import check_lam

        return instance[0], check_lam(instance[1])
    raise TypeError(f"instance must be a marl.MarkovGame or a pair (MarkovGame, lam), got {type(instance).__name__}")


def _softmax(q, lam):
    z = np.exp(lam * (q - q.max(axis=1, keepdims=True)))
    return z / z.sum(axis=1, keepdims=True)


def check_m1(instance, rng, *, n_random: int = 6) -> CheckResult:
    """``Qbar_i = rbar_i + gamma Pbar_i Vbar_i`` (soft Bellman of the induced MDP, by a linear solve of
    the softmax policy's regularised value) and no random policy beats ``softmax(lam Qbar_i)``."""
    game, lam = instance
    S = game.n_states
    worst_id, worst_br = 0.0, -np.inf
    for i in (0, 1):
        A_o = game.n_actions[1 - i]
        pi_o = rng.dirichlet(np.ones(A_o), size=S)
        Q, V = marginal_soft_q(game, lam, i, pi_o)
        m = induced_mdp(game, i, pi_o)
        pi = _softmax(Q, lam)
        v_pi = mdp.soft_policy_evaluation(m, pi, lam).v  # exact linear solve, independent of soft VI
        worst_id = max(
            worst_id, float(np.abs(Q - (m.R + game.gamma * m.dense_P() @ v_pi)).max()), float(np.abs(V - v_pi).max())
        )
        for _ in range(n_random):
            other = rng.dirichlet(np.ones(game.n_actions[i]) * 0.5, size=S)
            worst_br = max(worst_br, float((mdp.soft_policy_evaluation(m, other, lam).v - v_pi).max()))
    parts = {
        "soft-bellman-identity": identity("M1", worst_id, 1e-8),
        "soft-best-response": inequality("M1", worst_br, 0.0, atol=1e-9),
    }
    return combine("M1", parts)


def check_m2(instance, rng) -> CheckResult:
    """The damped soft best-response iteration reaches a logit equilibrium: residual < 1e-8 and each
    agent's regularised best-response gap below 1e-8 (independently re-measured here)."""
    game, lam = instance
    eq = logit_equilibrium(game, lam, tol=1e-10)
    gaps = []
    for i in (0, 1):
        m = induced_mdp(game, i, eq.policies[1 - i])
        br = mdp.soft_value_iteration(m, lam, tol=1e-11).v
        gaps.append(float((br - mdp.soft_policy_evaluation(m, eq.policies[i], lam).v).max()))
        Q, _ = marginal_soft_q(game, lam, i, eq.policies[1 - i])
        gaps.append(float(np.abs(_softmax(Q, lam) - eq.policies[i]).sum(axis=1).max()))
    parts = {
        "residual": inequality("M2", eq.residual, 1e-8, atol=0.0),
        "regularised-gap": inequality("M2", max(gaps), 1e-8, atol=0.0),
    }
    return combine("M2", parts)


def _expert(game, lam):
    eq = logit_equilibrium(game, lam, tol=1e-11)
    return eq, occupancy_measure(game, eq.policies)


def _tv_on_support(res, eq):
    out = 0.0
    for i in (0, 1):
        on = res.support[i].any(axis=1)
        tv = 0.5 * np.abs(res.policies[i] - eq.policies[i]).sum(axis=1)
        out = max(out, float(tv[on].max()))
    return out


def check_m3(instance, rng) -> CheckResult:
    """MAMQL with ``phi(x) = x`` on the expert's exact occupancy recovers ``pi^E_i`` on its support (TV < 1e-6)."""
    game, lam = instance
    eq, occ = _expert(game, lam)
    res = mamql(game, occ, lam, phi="linear", tol=1e-11)
    return inequality("M3", _tv_on_support(res, eq), 1e-6, atol=0.0, n_iter=res.n_iter.tolist())


def check_m4(instance, rng) -> CheckResult:
    """Recovered marginal rewards equal the true ``rbar_i`` up to potential shaping: residual after removing the
    best potential < 1e-6 (correlations before and after in the details)."""
    game, lam = instance
    eq, occ = _expert(game, lam)
    res = mamql(game, occ, lam, phi="linear", tol=1e-11)
    worst, before, after = 0.0, [], []
    for i in (0, 1):
        m = induced_mdp(game, i, eq.policies[1 - i])
        sh = remove_shaping(res.rewards[i], m.R, res.p_bar[i], game.gamma, weights=res.support[i])
        worst = max(worst, sh.residual)
        before.append(sh.correlation_before)
        after.append(sh.correlation_after)
    return inequality("M4", worst, 1e-6, atol=0.0, correlation_before=before, correlation_after=after)


def check_m5(instance, rng) -> CheckResult:
    """The least-norm joint reward reproduces ``rbar_i`` under ``pi_{-i}`` and the constraint matrix's null space
    (measured by SVD) has dimension ``S |A_i| (|A_{-i}| - 1)``."""
    game, _ = instance
    S = game.n_states
    parts = {}
    for i in (0, 1):
        Ai, Ao = game.n_actions[i], game.n_actions[1 - i]
        rbar = rng.normal(size=(S, Ai))
        pi_o = rng.dirichlet(np.ones(Ao), size=S)
        res = joint_reward_regression(rbar, pi_o)
        C = np.zeros((S * Ai, S * Ai * Ao))
        for s in range(S):
            for a in range(Ai):
                C[s * Ai + a, (s * Ai + a) * Ao : (s * Ai + a + 1) * Ao] = pi_o[s]
        null_dim = S * Ai * Ao - int(np.linalg.matrix_rank(C))
        resid = float(np.abs(np.einsum("sab,sb->sa", res.reward, pi_o) - rbar).max())  # measured, not reported
        parts[f"constraints-{i}"] = identity("M5", resid, 1e-12)
        parts[f"null-space-{i}"] = estimate("M5", null_dim, S * Ai * (Ao - 1), 0.5, reported=res.null_space_dim)
        parts[f"reported-dim-{i}"] = estimate("M5", res.null_space_dim, null_dim, 0.5)
    return combine("M5", parts)


_ALPHAS = (0.1, 0.5, 2.0, 10.0)


def check_m6(instance, rng) -> CheckResult:
    """The chi^2 regulariser's bias: the largest TV between MAMQL's policy and the expert's (exact occupancy)
    decreases strictly as ``alpha`` grows over (0.1, 0.5, 2, 10)."""
    game, lam = instance
    eq, occ = _expert(game, lam)
    errs = [_tv_on_support(mamql(game, occ, lam, phi="chi2", alpha=a, tol=1e-11), eq) for a in _ALPHAS]
    # observed: the largest ratio of consecutive errors (must stay below 1 - 1e-6: strictly decreasing)
    ratio = max(b / a if a > 0 else np.inf for a, b in itertools.pairwise(errs))
    return inequality("M6", ratio, 1.0 - 1e-6, rtol=0.0, atol=0.0, tv=errs, alphas=list(_ALPHAS))


_COMMON = {
    "sample": sample_irl_game,
    "instance": "MarkovGame, or (MarkovGame, lam > 0)",
    "accepts": accept_game,
    "default_instances": 8,
}

register(
    Claim(
        id="M1",
        name="marginal-critic-soft-q",
        statement=r"\bar Q_i = \bar r_i + \gamma \bar P_i \bar V_i,\ \bar V_i = \tfrac1\lambda\log\sum e^{\lambda \bar Q_i}"
        r"\ \text{and}\ \mathrm{softmax}(\lambda \bar Q_i) \in \arg\max_{\pi_i} V^{\pi_i,\lambda}_i",
        source=f"{_SRC}; docs/papers/mamql.md M1",
        constant="none",
        tolerance=1e-8,
        evaluate=check_m1,
        subjects=(
            "marl.irl.marginal_soft_q",
            "marl.irl.induced_mdp",
            "mdp.soft_value_iteration",
            "mdp.soft_policy_evaluation",
        ),
        notes="Random other-agent policy; the right side uses mdp.soft_policy_evaluation (a linear solve), the left "
        "soft value iteration; 6 random Dirichlet(0.5) policies per agent must not beat the softmax policy.",
        **_COMMON,
    )
)

register(
    Claim(
        id="M2",
        name="logit-equilibrium-fixed-point",
        statement=r"\pi_i = \mathrm{softmax}(\lambda \bar Q_i[\pi_{-i}])\ \forall i:\ \text{residual} < 10^{-8},\ "
        r"\max_s (V^{BR,\lambda}_i - V^{\pi,\lambda}_i) < 10^{-8}",
        source=f"{_SRC}; McKelvey & Palfrey (1998), Quantal response equilibria for extensive form games; docs/papers/mamql.md M2",
        constant="source",
        tolerance=1e-8,
        evaluate=check_m2,
        subjects=("marl.logit_equilibrium",),
        notes="Damped (eta = 0.5) simultaneous soft best responses; the gap is re-measured with independent solves.",
        **_COMMON,
    )
)

register(
    Claim(
        id="M3",
        name="mamql-policy-recovery",
        statement=r"\phi(x) = x,\ \rho = \rho^E \Rightarrow \mathrm{TV}(\mathrm{softmax}(\lambda\hat Q_i), \pi^E_i) < 10^{-6}"
        r"\ \text{on } \mathrm{supp}\,\rho^E",
        source=f"{_SRC}; Garg et al. (2021), IQ-Learn, NeurIPS, Sec. 4; docs/papers/mamql.md M3",
        constant="source",
        tolerance=1e-6,
        evaluate=check_m3,
        subjects=("marl.irl.mamql", "marl.irl.occupancy_measure"),
        notes="Normalised discounted occupancy, Pbar_i under the expert's other policy (both are needed for the TV to reach round-off).",
        **_COMMON,
    )
)

register(
    Claim(
        id="M4",
        name="reward-up-to-shaping",
        statement=r"\hat{\bar r}_i - \bar r_i = \Phi - \gamma \bar P_i \Phi\ \text{on } \mathrm{supp}\,\rho^E:\ "
        r"\text{residual after the best } \Phi < 10^{-6}",
        source=f"{_SRC}; Ng, Harada & Russell (1999), ICML (potential shaping); docs/papers/mamql.md M4",
        constant="source",
        tolerance=1e-6,
        evaluate=check_m4,
        subjects=("marl.irl.recover_reward", "marl.irl.remove_shaping", "marl.irl.mamql"),
        notes="Least-squares potential over the expert support; the details report Pearson correlations before/after.",
        **_COMMON,
    )
)

register(
    Claim(
        id="M5",
        name="joint-reward-null-space",
        statement=r"E_{a_{-i}\sim\pi_{-i}} r_i = \bar r_i\ \text{exactly};\ \dim\ker = |S||A_i|(|A_{-i}| - 1)",
        source=f"{_SRC}; docs/papers/mamql.md M5",
        constant="none",
        tolerance=1e-12,
        evaluate=check_m5,
        subjects=("marl.irl.joint_reward_regression",),
        notes="Random rbar and full-support pi_{-i}; the null space dimension by numpy.linalg.matrix_rank.",
        **_COMMON,
    )
)

register(
    Claim(
        id="M6",
        name="chi2-bias-shrinks",
        statement=r"\alpha \mapsto \max_s \mathrm{TV}(\mathrm{softmax}(\lambda\hat Q^{\chi^2,\alpha}_i), \pi^E_i)\ "
        r"\text{strictly decreasing on } (0.1, 0.5, 2, 10)",
        source=f"{_SRC}; Garg et al. (2021), IQ-Learn, Sec. 5.1 (chi^2 regulariser); docs/papers/mamql.md (chi^2 bias)",
        constant="derived",
        tolerance=0.0,
        evaluate=check_m6,
        subjects=("marl.irl.mamql",),
        notes="The constant is derived here: strict monotonicity (observed = the largest ratio of consecutive TVs, "
        "< 1 - 1e-6 holds); the paper gives no rate. Measured decay is roughly 1/alpha.",
        **_COMMON,
    )
)
