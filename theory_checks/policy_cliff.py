"""Policy-cliff claims (``docs/papers/policy_cliff.md``, PC1-PC7) as executable checks.

Every evaluator measures :mod:`mdp.stability` (the tolerance-aware gap, the soft-optimal policy,
the effective-reward path) against exact solves of :func:`mdp.solve`. Source: X. Xu (2025), *The
Policy Cliff: A Theoretical Analysis of Reward-Policy Maps in Large Language Models*, arXiv
2507.20150; the constants are derived on the project's page (the paper's body was not verified).
"""

from __future__ import annotations

import math

import numpy as np

import mdp
from mdp import stability as stab
from theory_checks import instances as I
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register

__all__ = [
    "sample_mdp",
    "sample_bandit_pair",
    "duplicate_action",
    "accept_reward_pair",
    "check_pc1",
    "check_pc2",
    "check_pc3",
    "check_pc4",
    "check_pc5",
    "check_pc6",
    "check_pc7",
]

_SRC = "X. Xu (2025), The Policy Cliff, arXiv 2507.20150"
_NOTES = "docs/papers/policy_cliff.md"
_MDP = "an mdp.TabularMDP (dense, gamma < 1)"


def sample_mdp(rng):
    S, A = int(rng.integers(3, 8)), int(rng.integers(2, 5))
    return mdp.generators.random_mdp(S, A, rng=rng, gamma=float(rng.choice([0.5, 0.8, 0.9])), alpha=0.5)


def sample_bandit_pair(rng):
    """A 5-action one-state bandit (gamma = 0) with two rewards."""
    m = mdp.TabularMDP(np.ones((1, 5, 1)), np.zeros((1, 5)), 0.0)
    return m, rng.random((1, 5)), rng.random((1, 5))


def accept_mdp(x):
    m = I.tabular_mdp(x)
    if m.is_sparse:
        m = m.to_dense()
    if not m.gamma < 1:
        raise ValueError(f"the model must be discounted (gamma < 1), got gamma = {m.gamma}")
    return m


def accept_reward_pair(x):
    if not (isinstance(x, tuple) and len(x) == 3):
        raise TypeError("expected a tuple (TabularMDP, R1 (S, A), R2 (S, A))")
    m = accept_mdp(x[0])
    R1, R2 = (np.asarray(r, dtype=np.float64) for r in x[1:])
    for name, R in (("R1", R1), ("R2", R2)):
        if R.shape != (m.n_states, m.n_actions) or not np.all(np.isfinite(R)):
            raise ValueError(f"{name} must be a finite array of shape ({m.n_states}, {m.n_actions}), got {R.shape}")
    return m, R1, R2


def _solve(m):
    r = mdp.solve(m, tol=mdp.attainable_tol(m, 1e-12))
    return np.array(r.v), np.array(r.q), float(r.error_bound)


def duplicate_action(m, a):
    """``m`` with action ``a`` copied as a new last action (same ``P`` row and reward everywhere)."""
    P = np.concatenate([m.dense_P(), m.dense_P()[:, a : a + 1]], axis=1)
    R = np.concatenate([m.R, m.R[:, a : a + 1]], axis=1)
    return mdp.TabularMDP(P, R, m.gamma)


# ----------------------------------------------------------------------------- PC1
def check_pc1(m, rng) -> CheckResult:
    v, q, e = _solve(m)
    parts = {}
    for i, scale in enumerate((1e-3, 1e-1, 1.0, 3.0)):
        dR = scale * rng.standard_normal(m.R.shape)
        v2, q2, e2 = _solve(stab.with_reward(m, m.R + dR))
        b = np.abs(dR).max() / (1 - m.gamma)
        slack = e + e2
        parts[f"|dV| draw {i}"] = inequality("PC1", np.abs(v - v2).max(), b + slack, dR=float(np.abs(dR).max()))
        parts[f"|dQ| draw {i}"] = inequality("PC1", np.abs(q - q2).max(), b + m.gamma * slack)
    # a uniform shift attains the bound: V*_{R + c} = V*_R + c / (1 - gamma)
    v3, _, e3 = _solve(stab.with_reward(m, m.R + 0.5))
    parts["constant shift attains"] = identity("PC1", abs(np.abs(v3 - v).max() - 0.5 / (1 - m.gamma)), 1e-8 + e + e3)
    return combine("PC1", parts)


register(
    Claim(
        id="PC1",
        name="value-stability",
        statement=r"\|V^*_R - V^*_{R'}\|_\infty,\ \|Q^*_R - Q^*_{R'}\|_\infty \le \|R - R'\|_\infty / (1 - \gamma)",
        source=f"{_SRC} (value stability; standard, Puterman 1994 Thm 6.2.3 with the contraction); {_NOTES} PC1",
        constant="derived",
        tolerance=1e-9,
        sample=sample_mdp,
        evaluate=check_pc1,
        default_instances=10,
        subjects=("mdp.solve", "mdp.stability.with_reward"),
        instance=_MDP,
        accepts=accept_mdp,
        notes="Four Gaussian reward perturbations per instance (sizes 1e-3..3), the certified solve errors added "
        "to the bound; a constant shift attains it (checked as an identity).",
    )
)


# ----------------------------------------------------------------------------- PC2
def _tied_instance(m):
    """``m`` with the optimal action at state 0 duplicated (so Pi* has at least two vertices)."""
    a = int(stab.action_gap(m).pi[0])
    return duplicate_action(m, a)


def check_pc2(m, rng) -> CheckResult:
    mt = _tied_instance(m)
    g = stab.action_gap(mt)
    vstar = g.v
    parts = {}
    # the gap to the non-optimal actions (ties ignored) sets how large n must be
    nonopt = np.where(g.optimal, -np.inf, g.q).max(axis=1)
    gap2 = float((g.q.max(axis=1) - nonopt).min())
    delta = rng.standard_normal(mt.R.shape)
    n0 = math.ceil(2 * np.abs(delta).max() / ((1 - mt.gamma) * gap2)) if np.isfinite(gap2) else 1
    for k in (1, 10, 1000):
        n = n0 * k
        pi_n = stab.action_gap(stab.with_reward(mt, mt.R + delta / n)).pi
        v_n = np.array(mdp.policy_evaluation(mt, pi_n).v)
        parts[f"pi(R + delta/{n}) optimal for R"] = identity("PC2", np.abs(v_n - vstar).max(), 1e-9, n=n)
        parts[f"pi(R + delta/{n}) in Pi*(R)"] = identity("PC2", 0.0 if stab.in_optimal_set(g, pi_n) else 1.0, 0.5)
    # convexity: a random mixture of two deterministic optimal policies is optimal
    verts = stab.optimal_policies(g, limit=10_000)
    i, j = rng.choice(len(verts), size=2, replace=len(verts) < 2)
    lam = rng.random()
    mix = lam * np.eye(mt.n_actions)[verts[i]] + (1 - lam) * np.eye(mt.n_actions)[verts[j]]
    v_mix = np.array(mdp.policy_evaluation(mt, mix).v)
    parts["mixture of optimal policies optimal"] = identity("PC2", np.abs(v_mix - vstar).max(), 1e-9)
    parts["Pi* non-empty, >= 2 vertices"] = identity("PC2", 0.0 if len(verts) >= 2 else 1.0, 0.5, vertices=len(verts))
    return combine("PC2", parts)


register(
    Claim(
        id="PC2",
        name="optimal-set-upper-hemicontinuity",
        statement=r"\Pi^*(R) \ne \emptyset \text{ convex compact};\ R_n \to R,\ \pi_n \in \Pi^*(R_n) \Rightarrow"
        r" \pi_n \in \Pi^*(R) \text{ for all large } n",
        source=f"{_SRC} (Berge's maximum theorem for the reward-policy correspondence); {_NOTES} PC2",
        constant="derived",
        tolerance=1e-9,
        sample=sample_mdp,
        evaluate=check_pc2,
        default_instances=10,
        subjects=("mdp.stability.action_gap", "mdp.stability.optimal_policies", "mdp.stability.in_optimal_set"),
        instance=_MDP,
        accepts=accept_mdp,
        notes="The optimal action of state 0 is duplicated (a tie, so Pi* is not a single point). 'Large n' is "
        "made explicit: n >= 2 |delta| / ((1 - gamma) gap to the non-optimal actions), then n x 10 and x 1000.",
    )
)


# ----------------------------------------------------------------------------- PC3
def _smallest_flip(m, g, rng):
    """Smallest sup-norm perturbation found that changes the optimal action set (targeted: lower the
    best action by r and raise the runner-up by r at each state, bisection on r)."""
    best = math.inf
    base = g.pi
    for s in range(m.n_states):
        if m.n_actions < 2:
            continue
        order = np.argsort(-g.q[s])
        a, b = int(order[0]), int(order[1])

        def flips(r):
            R = m.R.copy()
            R[s, a] -= r
            R[s, b] += r
            return np.any(stab.action_gap(stab.with_reward(m, R)).pi != base)

        lo, hi = 0.0, 2 * (g.q[s].max() - g.q[s].min()) / (1 - m.gamma) + 1.0
        if not flips(hi):
            continue
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if flips(mid) else (mid, hi)
        best = min(best, hi)
    return best


def check_pc3(m, rng) -> CheckResult:
    g = stab.action_gap(m)
    if not g.gap_lower > 0:
        return identity("PC3", 0.0, 1.0, note="Delta(R) = 0 within the tolerance: PC3 says nothing")
    r = g.radius
    parts = {}
    flips = 0
    for _ in range(20):
        d = rng.choice([-1.0, 1.0], size=m.R.shape) * rng.uniform(0.9, 0.999)
        gp = stab.action_gap(stab.with_reward(m, m.R + r * d))
        flips += int(np.any(gp.pi != g.pi) or gp.gap == 0)
    parts["no flip inside the radius (20 vertex draws)"] = identity("PC3", flips, 0.5)
    flip = _smallest_flip(m, g, rng)
    parts["smallest flip found >= radius"] = inequality("PC3", r, flip, radius=r, smallest_flip=flip)
    return combine("PC3", parts)


register(
    Claim(
        id="PC3",
        name="stability-under-unique-optimum",
        statement=r"\Delta(R) > 0,\ \|R' - R\|_\infty < (1 - \gamma)\Delta(R)/2 \Rightarrow \pi^*(R') = \pi^*(R)"
        r" \text{ (unique)}",
        source=f"{_SRC} (stability under unique optima); {_NOTES} PC3",
        constant="derived",
        tolerance=0.0,
        sample=sample_mdp,
        evaluate=check_pc3,
        default_instances=8,
        subjects=("mdp.stability.action_gap",),
        instance=_MDP,
        accepts=accept_mdp,
        notes="Radius from the certified gap_lower. Perturbations at vertices of the sup ball (random signs, "
        "90-99.9% of the radius) never flip; a targeted search (lower the best, raise the runner-up at each state, "
        "bisection) finds the smallest flip, which must be >= the radius; tightness radius/flip = 1 in bandits.",
    )
)


# ----------------------------------------------------------------------------- PC4
def _cliff_tv(m, s, a, b, eps):
    R1 = m.R.copy()
    R1[s, a] += eps
    R2 = m.R.copy()
    R2[s, b] += eps
    p1 = stab.action_gap(stab.with_reward(m, R1)).pi
    p2 = stab.action_gap(stab.with_reward(m, R2)).pi
    return float(stab.policy_tv(p1, p2, m.n_actions).max())


def check_pc4(m, rng) -> CheckResult:
    g = stab.action_gap(m)
    s = int(np.argmin(g.state_gaps)) if g.gap > 0 else int(g.tie_states[0])
    a = int(g.pi[s])
    mt = duplicate_action(m, a)
    b = mt.n_actions - 1
    parts = {}
    eps_list = [10.0**-k for k in range(1, 9)]
    tv_tied = [_cliff_tv(mt, s, a, b, e) for e in eps_list]
    parts["tied: TV = 1 for eps = 1e-1..1e-8"] = identity("PC4", 1.0 - min(tv_tied), 1e-12, tv=tv_tied)
    if g.gap_lower > 0:
        runner = int(np.argsort(-g.q[s])[1])
        small = [e for e in eps_list if e < g.radius]
        tv_untied = [_cliff_tv(m, s, a, runner, e) for e in small]
        parts["untied: TV = 0 below the PC3 radius"] = identity(
            "PC4", max(tv_untied, default=0.0), 1e-12, n_eps=len(small), radius=g.radius
        )
    return combine("PC4", parts)


register(
    Claim(
        id="PC4",
        name="policy-cliff",
        statement=r"Q^*(s, a) = Q^*(s, b) \Rightarrow \forall \epsilon > 0\ \exists R', R'' \in B_\epsilon(R):"
        r"\ \mathrm{TV}(\pi^*(R')(\cdot|s), \pi^*(R'')(\cdot|s)) = 1",
        source=f"{_SRC} (the cliff: action degeneracy makes every selection discontinuous); {_NOTES} PC4",
        constant="none",
        tolerance=1e-12,
        sample=sample_mdp,
        evaluate=check_pc4,
        default_instances=8,
        subjects=("mdp.stability.action_gap", "mdp.stability.policy_tv"),
        instance=_MDP,
        accepts=accept_mdp,
        notes="The optimal action at the state with the smallest gap is duplicated (an exact tie); +eps on either "
        "copy flips the selection (TV 1) for every eps in 1e-1..1e-8. On the untied model the same construction "
        "with the runner-up leaves the policy unchanged for eps below the PC3 radius.",
    )
)


# ----------------------------------------------------------------------------- PC5
def check_pc5(m, rng) -> CheckResult:
    parts = {}
    for tau in (0.05, 0.3, 1.0):
        base = stab.soft_optimal_policy(m, tau)
        for i, scale in enumerate((1e-4, 1e-2, 1.0)):
            dR = scale * rng.standard_normal(m.R.shape)
            pert = stab.soft_optimal_policy(stab.with_reward(m, m.R + dR), tau)
            l1 = 2 * stab.policy_tv(base.pi, pert.pi)
            slack = base.policy_error_bound + pert.policy_error_bound
            bound = np.abs(dR).max() * base.lipschitz
            parts[f"tau={tau} draw {i}: L1 <= |dR|/(tau(1-gamma))"] = inequality(
                "PC5", l1.max(), bound + slack, ratio=float(l1.max() / bound)
            )
            span = ((pert.q - base.q).max(axis=1) - (pert.q - base.q).min(axis=1)) / (2 * tau)
            q_slack = m.gamma * (base.error_bound + pert.error_bound) / tau
            parts[f"tau={tau} draw {i}: L1 <= span(dQ)/(2 tau) (tighter form)"] = inequality(
                "PC5", float((l1 - span).max()), slack + q_slack
            )
    return combine("PC5", parts)


register(
    Claim(
        id="PC5",
        name="entropy-regularised-lipschitz",
        statement=r"\max_s \|\pi_\tau(\cdot|s; R) - \pi_\tau(\cdot|s; R')\|_1 \le \|R - R'\|_\infty / (\tau (1 - \gamma))",
        source=f"{_SRC} (entropy regularisation restores stability); {_NOTES} PC5 (constant derived there)",
        constant="derived",
        tolerance=1e-9,
        sample=sample_mdp,
        evaluate=check_pc5,
        default_instances=8,
        subjects=("mdp.stability.soft_optimal_policy", "mdp.soft_policy_iteration"),
        instance=_MDP,
        accepts=accept_mdp,
        notes="tau in {0.05, 0.3, 1}, three perturbation sizes each; the certified policy errors are added. The "
        "intermediate span form ||dpi||_1 <= span_a(dQ_tau(s, .)) / (2 tau) is checked too (it is what makes the "
        "headline bound loose by the factor measured in the tightness).",
    )
)


# ----------------------------------------------------------------------------- PC6
def check_pc6(m, rng) -> CheckResult:
    v, _, e = _solve(m)
    parts = {}
    for tau in (0.01, 0.1, 1.0):
        so = stab.soft_optimal_policy(m, tau)
        pe = mdp.policy_evaluation(m, so.pi)
        loss = float((v - np.array(pe.v)).max())
        parts[f"tau={tau}: V* - V^pi_tau <= tau log A/(1-gamma)"] = inequality(
            "PC6", loss, so.price_bound + e + pe.error_bound, price_bound=so.price_bound
        )
    # bandit limit: ties resolved uniformly
    row = m.R[0].copy()
    row = np.append(row, row.max())  # duplicate the best arm: an exact tie
    bandit = mdp.TabularMDP(np.ones((1, row.size, 1)), row[None, :], 0.0)
    top = row.max()
    opt = row == top
    k = int(opt.sum())
    rest = row[~opt]
    d = float(top - rest.max()) if rest.size else math.inf
    for tau in (1e-1, 1e-2, 1e-3):
        sb = stab.soft_optimal_policy(bandit, tau)
        uniform = opt / k
        bound = 2 * (row.size - k) * math.exp(-d / tau) / k if math.isfinite(d) else 0.0
        parts[f"bandit tau={tau}: pi_tau -> uniform over argmax"] = inequality(
            "PC6", float(np.abs(sb.pi[0] - uniform).sum()), bound + sb.policy_error_bound, atol=1e-12
        )
    return combine("PC6", parts)


register(
    Claim(
        id="PC6",
        name="price-of-stability",
        statement=r"V^*_R - V^{\pi_\tau}_R \le \tau \log|A| / (1 - \gamma);\ \gamma = 0:\ \pi_\tau \to"
        r" \mathrm{Unif}(\arg\max_a R(s, a)) \text{ as } \tau \to 0",
        source=f"{_SRC} (the price of entropy regularisation); {_NOTES} PC6",
        constant="derived",
        tolerance=1e-9,
        sample=sample_mdp,
        evaluate=check_pc6,
        default_instances=8,
        subjects=("mdp.stability.soft_optimal_policy", "mdp.soft_value_iteration"),
        instance=_MDP,
        accepts=accept_mdp,
        notes="The loss is measured with exact policy evaluation. The bandit part duplicates the best arm of the "
        "model's state-0 rewards; the L1 distance to the uniform distribution on the argmax is exactly "
        "2 sum_{a not opt} e^{-d_a/tau} / (k + sum_{a not opt} e^{-d_a/tau}) <= 2 (A - k) e^{-d/tau} / k.",
    )
)


# ----------------------------------------------------------------------------- PC7
def _grid_policies(m, R1, R2, grid):
    if m.n_states == 1 and m.gamma == 0:  # bandit: vectorised argmax (smallest index on ties)
        q = (1 - grid)[:, None] * R1[0][None, :] + grid[:, None] * R2[0][None, :]
        return np.argmax(q, axis=1)[:, None]
    return stab.reference_effective_policies(m, R1, R2, grid)


def check_pc7(instance, rng) -> CheckResult:
    m, R1, R2 = instance
    n = 10_000 if m.n_states == 1 else 200
    grid = np.linspace(0.0, 1.0, n)
    path = stab.effective_reward_path(m, R1, R2)
    pols = _grid_policies(m, R1, R2, grid)
    jumps = np.flatnonzero(np.any(pols[1:] != pols[:-1], axis=1))  # a jump in (grid[j], grid[j+1])
    predicted = np.searchsorted(grid, path.breakpoints, side="left") - 1
    parts = {
        "grid jumps = breakpoints": identity(
            "PC7",
            len(set(jumps.tolist()) ^ set(predicted.tolist())),
            0.5,
            jumps=grid[jumps].tolist(),
            breakpoints=path.breakpoints.tolist(),
        )
    }
    gaps = [stab.action_gap(stab.with_reward(m, (1 - w) * R1 + w * R2)).gap for w in path.breakpoints]
    parts["Delta(R_eff) = 0 at every breakpoint"] = identity("PC7", max(gaps, default=0.0), 1e-9)
    mids = 0.5 * (np.r_[0.0, path.breakpoints] + np.r_[path.breakpoints, 1.0])
    mid_gaps = [stab.action_gap(stab.with_reward(m, (1 - w) * R1 + w * R2)).gap for w in mids]
    parts["Delta(R_eff) > 0 between breakpoints"] = identity("PC7", float(min(mid_gaps) <= 0), 0.5)
    for tau in (0.05, 0.2):
        ws = np.linspace(0.0, 1.0, 41)
        pis = [stab.soft_optimal_policy(stab.with_reward(m, (1 - w) * R1 + w * R2), tau).pi for w in ws]
        lip = max(2 * stab.policy_tv(p, q).max() for p, q in zip(pis[:-1], pis[1:])) / (ws[1] - ws[0])
        bound = np.abs(R1 - R2).max() / (tau * (1 - m.gamma))
        parts[f"tau={tau}: Lipschitz in w"] = inequality("PC7", lip, bound, atol=1e-9)
    return combine("PC7", parts)


register(
    Claim(
        id="PC7",
        name="effective-reward-ties",
        statement=r"R_{eff}(w) = (1 - w) R_1 + w R_2:\ \pi^*(w) \text{ piecewise constant, jumps} = \{w : \Delta(R_{eff}(w))"
        r" = 0\};\ \pi_\tau(w)\ \tfrac{\|R_1 - R_2\|_\infty}{\tau(1-\gamma)}\text{-Lipschitz}",
        source=f"{_SRC} (multi-reward RL: stability is governed by the effective reward's ties); {_NOTES} PC7",
        constant="derived",
        tolerance=0.5,
        sample=sample_bandit_pair,
        evaluate=check_pc7,
        default_instances=10,
        subjects=(
            "mdp.stability.effective_reward_path",
            "mdp.stability.action_gap",
            "mdp.stability.soft_optimal_policy",
        ),
        instance="(TabularMDP, R1 (S, A), R2 (S, A))",
        accepts=accept_reward_pair,
        notes="Bandits (one state, gamma = 0) are swept on a 1e4 grid (vectorised argmax), other models on 200 "
        "exact solves. The exact breakpoints of the parametric path must be exactly the grid intervals where "
        "the grid policy changes; the effective reward's gap is 0 at each breakpoint and positive between them. "
        "With tau > 0 the L1 change per unit w stays below |R1 - R2| / (tau (1 - gamma)) (PC5 along the segment).",
    )
)
