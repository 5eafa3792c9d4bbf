"""Submodular RL claims (``docs/papers/subrl.md``, S1, S3, S4, S5) as executable checks.

S2 (hardness of approximation in general) has no executable form and is not registered; the page
says why. Source: M. Prajapat, M. Mutny, M. N. Zeilinger, A. Krause (2024), *Submodular
Reinforcement Learning*, ICLR 2024, arXiv 2307.13372; the greedy guarantee of S3 is Nemhauser,
Wolsey & Fisher (1978).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

import mdp
from mdp import submodular as sm
from theory_checks import instances as I
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register

__all__ = [
    "sample_tiny",
    "accept_tiny",
    "teleport",
    "sample_coverage12",
    "accept_coverage",
    "markov_gap_instance",
    "accept_pair",
    "check_s1",
    "check_s3",
    "check_s4",
    "check_s5",
]

_SRC = "Prajapat, Mutny, Zeilinger & Krause (2024), Submodular Reinforcement Learning, ICLR, arXiv 2307.13372"
_NOTES = "docs/papers/subrl.md"


def _random_coverage(rng, n_ground, n_items=8, p=0.35):
    cover = rng.random((n_ground, n_items)) < p
    return sm.CoverageFunction(cover, rng.random(n_items) + 0.1)


def sample_tiny(rng):
    """A random 4-state, 2-action MDP (Dirichlet rows with zeros: sparse branching)."""
    P = rng.dirichlet(np.full(4, 0.3), size=(4, 2))
    P[P < 0.15] = 0.0
    P /= P.sum(axis=2, keepdims=True)
    return mdp.TabularMDP(P, np.zeros((4, 2)), 0.9)


def accept_tiny(x):
    m = I.tabular_mdp(x)
    if m.n_states > 6 or m.n_actions > 3:
        raise ValueError(
            f"the check enumerates trajectories: need S <= 6 and A <= 3, got S={m.n_states}, A={m.n_actions}"
        )
    return m.to_dense() if m.is_sparse else m


def _rollout_estimates(m, f, theta, start, B, credit, rng):
    """Per-rollout score-function terms ``sum_h G_h (e_a - pi)`` (no baseline), ``(B, H*S*A)``."""
    H, S, A = theta.shape
    states, actions = sm.rollouts(m, theta, start, n_rollouts=B, rng=rng)
    G = sm.credits(f, states, credit)
    z = theta - theta.max(axis=2, keepdims=True)
    pi = np.exp(z) / np.exp(z).sum(axis=2, keepdims=True)
    terms = np.zeros((B, H, S, A))
    bb = np.arange(B)
    for h in range(H):
        s, a = states[:, h], actions[:, h]
        terms[bb, h, s, :] -= G[:, h, None] * pi[h, s]
        terms[bb, h, s, a] += G[:, h]
    return terms.reshape(B, -1), states


def check_s1(m, rng) -> CheckResult:
    f = _random_coverage(rng, m.n_states)
    H = 3
    theta = rng.normal(size=(H, m.n_states, m.n_actions))
    parts = {}
    terms, states = _rollout_estimates(m, f, theta, 0, 40_000, "reward_to_go", rng)
    tele = np.abs(sm.marginal_gains(f, states[:500]).sum(axis=1) - [f.value(s) for s in states[:500]]).max()
    parts["telescoping F(s0) + sum gains = F(tau)"] = identity("S1", tele, 1e-12)
    for credit in ("reward_to_go", "greedy"):
        if credit == "greedy":
            terms, _ = _rollout_estimates(m, f, theta, 0, 40_000, credit, rng)
        exact = sm.exact_gradient(m, f, theta, 0, credit).ravel()
        se = terms.std(axis=0) / math.sqrt(terms.shape[0])
        live = se > 0
        z = np.abs(terms.mean(axis=0) - exact)[live] / se[live]
        dead = float(np.abs(terms.mean(axis=0) - exact)[~live].max(initial=0.0))
        parts[f"{credit}: estimator mean = exact (max |z| over components)"] = inequality(
            "S1", float(z.max(initial=0.0)), 4.5, components=int(live.sum())
        )
        parts[f"{credit}: zero-variance components exact"] = identity("S1", dead, 1e-12)
    diff = np.abs(sm.exact_gradient(m, f, theta, 0, "greedy") - sm.exact_gradient(m, f, theta, 0)).max()
    parts["greedy surrogate differs from grad J (reported)"] = identity("S1", 0.0, 1.0, max_difference=float(diff))
    return combine("S1", parts)


register(
    Claim(
        id="S1",
        name="subpo-telescoping-unbiased",
        statement=r"F(\tau) = F(\{s_0\}) + \sum_h F(s_{h+1} | \tau_{0:h});\ E[\hat g_{rtg}] = \nabla J;\ "
        r"E[\hat g_{greedy}] = \nabla \sum_h E[F(s_{h+1}|\tau_{0:h})]_{\text{future frozen}}",
        source=f"{_SRC}, Sec. 4 (SubPO gradient); {_NOTES} S1",
        constant="none",
        tolerance=4.5,
        sample=sample_tiny,
        evaluate=check_s1,
        default_instances=3,
        subjects=("mdp.submodular.marginal_gains", "mdp.submodular.credits", "mdp.submodular.exact_gradient"),
        instance="an mdp.TabularMDP with S <= 6, A <= 3 (a random weighted coverage and H = 3 are drawn)",
        accepts=accept_tiny,
        notes="4e4 rollouts per credit; each gradient component's sample mean must lie within 4.5 standard errors "
        "of the enumerated value (at most 54 components); components with zero variance must match exactly.",
    )
)


# ----------------------------------------------------------------------------- S3
def teleport(f):
    """The bandit-like MDP of S3: states = ground elements plus a start state covering nothing;
    action ``a`` moves to element ``a``. Returns ``(model, f extended to the start state, start)``."""
    n = f.cover.shape[0]
    P = np.zeros((n + 1, n, n + 1))
    P[:, np.arange(n), np.arange(n)] = 1.0
    cover = np.vstack([f.cover, np.zeros((1, f.cover.shape[1]), dtype=bool)])
    return mdp.TabularMDP(P, np.zeros((n + 1, n)), 0.9), sm.CoverageFunction(cover, f.weights), n


def sample_coverage12(rng):
    return _random_coverage(rng, 12, n_items=20, p=0.2)


def accept_coverage(x):
    if not isinstance(x, sm.CoverageFunction):
        raise TypeError(f"expected an mdp.submodular.CoverageFunction, got {type(x).__name__}")
    if x.cover.shape[0] > 14:
        raise ValueError(f"brute force over 4-subsets needs at most 14 ground elements, got {x.cover.shape[0]}")
    return x


def check_s3(f, rng) -> CheckResult:
    m, fe, start = teleport(f)
    H = 4
    opt = max(f.value(c) for c in itertools.combinations(range(f.cover.shape[0]), H))
    greedy = float(sm.greedy_oracle(m, fe, horizon=H, start=start, rng=rng)[0])
    return inequality("S3", (1 - 1 / math.e) * opt, greedy, opt=opt, greedy=greedy, ratio=greedy / opt if opt else 1.0)


register(
    Claim(
        id="S3",
        name="greedy-constant-factor-bandit-like",
        statement=r"\text{every state reachable in one step}:\ F(\tau_{greedy}) \ge (1 - 1/e) \max_\tau F(\tau)",
        source=f"{_SRC} (constant-factor guarantee on bandit-like MDPs); Nemhauser, Wolsey & Fisher (1978), "
        f"Math. Programming 14; {_NOTES} S3",
        constant="source",
        tolerance=1e-9,
        sample=sample_coverage12,
        evaluate=check_s3,
        default_instances=100,
        subjects=("mdp.submodular.greedy_oracle",),
        instance="a CoverageFunction over <= 14 ground elements (teleport MDP, H = 4)",
        accepts=accept_coverage,
        notes="OPT by brute force over all 4-subsets; tightness = (1 - 1/e) OPT / F(greedy). The SubPO part of the "
        "notes' S3 (exact-gradient greedy-credit ascent reaching the greedy value) is not checked (see the page).",
    )
)


# ----------------------------------------------------------------------------- S4
def sample_deterministic_tiny(rng):
    S, A = 5, 2
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, size=(S, A))] = 1.0
    return mdp.TabularMDP(P, np.zeros((S, A)), 0.9)


def check_s4(m, rng) -> CheckResult:
    f = _random_coverage(rng, m.n_states)
    H = 3
    theta = np.zeros((H, m.n_states, m.n_actions))
    scale = f.value(range(m.n_states))
    J = [sm.exact_objective(m, f, theta, 0)]
    g0 = np.abs(sm.exact_gradient(m, f, theta, 0)).max()
    for _ in range(400):
        theta = theta + 2.0 * sm.exact_gradient(m, f, theta, 0) / scale
        J.append(sm.exact_objective(m, f, theta, 0))
    g = np.abs(sm.exact_gradient(m, f, theta, 0)).max()
    J = np.array(J)
    parts = {
        "J non-decreasing": inequality("S4", float(-np.diff(J).min()), 1e-12),
        "gradient -> 0 (|grad| <= 0.1 |grad_0|, or 1e-9)": inequality(
            "S4", float(g), max(0.1 * g0, 1e-9), grad0=float(g0), J_final=float(J[-1])
        ),
    }
    return combine("S4", parts)


register(
    Claim(
        id="S4",
        name="subpo-local-optimality",
        statement=r"\text{exact-gradient SubPO (reward-to-go)}:\ J(\theta_t) \uparrow,\ \|\nabla J(\theta_t)\| \to 0",
        source=f"{_SRC} (SubPO converges to a stationary point); {_NOTES} S4",
        constant="none",
        tolerance=1e-12,
        sample=sample_deterministic_tiny,
        evaluate=check_s4,
        default_instances=5,
        subjects=("mdp.submodular.exact_gradient", "mdp.submodular.exact_objective"),
        instance="an mdp.TabularMDP with S <= 6, A <= 3 (a random weighted coverage and H = 3 are drawn)",
        accepts=accept_tiny,
        notes="400 exact ascent steps of size 2 on credits normalised by F(all states), from the uniform policy; the "
        "gradient decays like 1/t near a deterministic limit (softmax PG), so 0.1 |grad_0| is asked after 400 steps. "
        "The one-step-improvement property of the limiting deterministic policy (notes S4) is not checked.",
    )
)


# ----------------------------------------------------------------------------- S5
def markov_gap_instance():
    """S5's instance: ``s0 --(any action)--> A or B (1/2 each) --> C --> X (action 0) or Y (action 1)``.
    Items: ``A`` and ``X`` cover item 0, ``B`` and ``Y`` item 1; ``F`` = number of items covered.
    History-dependent: 2 (cover the other item at ``C``); Markov at ``(C, h=2)``: 1.5."""
    s0, A_, B_, C_, X_, Y_ = range(6)
    P = np.zeros((6, 2, 6))
    P[s0, :, A_] = P[s0, :, B_] = 0.5
    P[A_, :, C_] = P[B_, :, C_] = 1.0
    P[C_, 0, X_] = P[C_, 1, Y_] = 1.0
    P[X_, :, X_] = P[Y_, :, Y_] = 1.0
    cover = np.zeros((6, 2), dtype=bool)
    cover[[A_, X_], 0] = True
    cover[[B_, Y_], 1] = True
    return mdp.TabularMDP(P, np.zeros((6, 2)), 0.9), sm.CoverageFunction(cover)


def accept_pair(x):
    if not (isinstance(x, tuple) and len(x) == 2 and hasattr(x[1], "value")):
        raise TypeError("expected a tuple (TabularMDP with S <= 6, set function over its states)")
    m = accept_tiny(x[0])
    if x[1].n_ground != m.n_states:
        raise ValueError("the set function must be over the MDP's states")
    return m, x[1]


def check_s5(instance, rng) -> CheckResult:
    m, f = instance
    H = 3
    hist = sm.best_history_value(m, f, horizon=H, start=0)
    mark = sm.best_markov_value(m, f, horizon=H, start=0)
    parts = {"max Markov J <= max history J": inequality("S5", mark, hist, markov=mark, history=hist)}
    mg, fg = markov_gap_instance()
    hg = sm.best_history_value(mg, fg, horizon=H, start=0)
    mk = sm.best_markov_value(mg, fg, horizon=H, start=0)
    parts["built instance: history 2.0, Markov 1.5"] = identity("S5", max(abs(hg - 2.0), abs(mk - 1.5)), 1e-12)
    return combine("S5", parts)


register(
    Claim(
        id="S5",
        name="markov-policies-lose",
        statement=r"\max_{\pi \text{ Markov}} J(\pi) \le \max_{\pi \text{ history}} J(\pi),\ \text{strict on a 6-state instance (1.5 < 2)}",
        source=f"{_SRC} (Markovian vs non-Markovian policy classes); {_NOTES} S5 and Measured values",
        constant="none",
        tolerance=1e-12,
        sample=lambda rng: markov_gap_instance(),
        evaluate=check_s5,
        default_instances=1,
        subjects=("mdp.submodular.best_markov_value", "mdp.submodular.best_history_value"),
        instance="(TabularMDP with S <= 6, A <= 3, set function over its states); H = 3 from state 0",
        accepts=accept_pair,
        notes="Markov optimum by enumerating deterministic time-indexed policies on the reachable (h, s) (J is "
        "multilinear in the per-(h, s) distributions, so a vertex attains it); history optimum by expectimax.",
    )
)
