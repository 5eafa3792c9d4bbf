"""HECRL claims H1-H4 (``docs/papers/hecrl.md``) as executable checks on :mod:`mdp.goal`.

Source: D. Haramati, C. Qi, T. Daniel, A. Zhang, A. Tamar, G. Konidaris, *Hierarchical
Entity-centric Reinforcement Learning with Factored Subgoal Diffusion*, ICLR 2026, arXiv 2602.02722.
The paper is empirical; H1-H4 are the notes' properties of its composition (selection rule, progress,
target clamping, factored vs joint estimation), with constants derived here where stated.
"""

from __future__ import annotations

import math

import numpy as np

from mdp import goal as G
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register

__all__ = ["accept_seed", "accept_factored", "check_h1", "check_h2", "check_h3", "check_h4"]

_HECRL = "Haramati, Qi, Daniel, Zhang, Tamar & Konidaris (2026), HECRL, arXiv 2602.02722"
_NOTES = "docs/papers/hecrl.md"


def accept_seed(instance):
    if isinstance(instance, bool) or not isinstance(instance, (int, np.integer)):
        raise TypeError("expected an integer seed (the claim builds its own maze)")
    return int(instance)


def accept_factored(instance):
    """``(N >= 1, L >= 2, M >= 1)`` with ``L^N <= 10^5``."""
    if not (isinstance(instance, tuple) and len(instance) == 3):
        raise TypeError("expected a tuple (n_entities N, values per entity L, samples M)")
    N, L, M = (int(x) for x in instance)
    if N < 1 or L < 2 or M < 1 or L**N > 100_000:
        raise ValueError("expected N >= 1, L >= 2, M >= 1 and L^N <= 1e5")
    return N, L, M


def _maze(seed):
    g = np.random.default_rng(seed)
    m = G.maze(11, rng=g, loops=0.3)
    return m, m.distances(), g


# ----------------------------------------------------------------------------- H1
def check_h1(instance, rng, *, cases=300) -> CheckResult:
    m, d, g = _maze(int(instance))
    gamma = 0.99
    v = G.goal_values(d, gamma)
    S = m.n_states
    bad_pick = bad_filter = bad_fallback = 0
    for _ in range(cases):
        s, goal = (int(x) for x in g.integers(S, size=2))
        cand = g.integers(S, size=int(g.integers(1, 9)))
        R = int(g.integers(1, 9))
        radius = float(G.goal_values(float(R), gamma))  # the table's own formula: equal at d = R
        c = G.select_subgoal(v, s, goal, cand, radius=radius, goal_fallback=True)
        ok = cand[d[s, cand] <= R]
        if ok.size == 0 or d[s, goal] < d[ok, goal].min():
            bad_fallback += c != goal
            continue
        bad_fallback += c == goal and goal not in ok
        bad_filter += d[s, c] > R
        bad_pick += d[c, goal] != d[ok, goal].min()
    parts = {
        "picks a reachable candidate closest to g": identity("H1", bad_pick, 0.5, cases=cases),
        "respects the competence radius": identity("H1", bad_filter, 0.5),
        "returns g iff d(s, g) < min_c d(c, g) or none reachable": identity("H1", bad_fallback, 0.5),
    }
    return combine("H1", parts)


register(
    Claim(
        id="H1",
        name="hecrl-selection-rule",
        statement=r"c^* = \arg\min_{c:\,d(s,c)\le R} d(c, g);\ c^* = g \iff d(s, g) < \min_{c:\,d(s,c) \le R} d(c, g)",
        source=f"{_HECRL}, test-time subgoal selection (SGIQL.act); {_NOTES} H1",
        constant="none",
        tolerance=0.5,
        sample=lambda rng: int(rng.integers(0, 2**31)),
        evaluate=check_h1,
        default_instances=3,
        subjects=("mdp.goal.select_subgoal",),
        instance="int seed",
        accepts=accept_seed,
        notes="Exact values V = -(1 - gamma^d)/(1 - gamma) on an 11x11 maze with loops, 300 random (s, g, candidate "
        "set, R) cases; the radius in value units is V at distance R (monotone in d, so the filter is d(s, c) <= R). "
        "Counts violations.",
    )
)


# ----------------------------------------------------------------------------- H2
def check_h2(instance, rng, *, episodes=40) -> CheckResult:
    m, d, g = _maze(int(instance))
    gamma = 0.99
    v = G.goal_values(d, gamma)
    S = m.n_states
    low = G.oracle_low_level(m)
    R = int(g.integers(2, 7))
    radius = float(G.goal_values(float(R), gamma))

    def along(s, goal, r):  # the state r steps along a shortest path from s towards goal
        for _ in range(r):
            if s == goal:
                break
            s = int(m.next_state[s, low(s, goal)])
        return s

    worst_ratio, not_decreasing, failures = 0.0, 0, 0
    for _ in range(episodes):
        s0, goal = (int(x) for x in g.integers(S, size=2))
        if s0 == goal:
            continue

        def high(s, gg):
            cand = np.append(g.integers(S, size=5), along(s, gg, R))
            return G.select_subgoal(v, s, gg, cand, radius=radius, goal_fallback=True)

        r = G.hierarchical_rollout(m, s0, goal, high=high, low=low, subgoal_steps=R, max_steps=4 * S)
        failures += not r.success
        dist = [d[r.states[0], goal]]
        pos = 0
        for sub in r.subgoals:  # distance after each decision (the low level reaches the subgoal)
            steps = int(min(d[r.states[pos], sub], R))
            pos = min(pos + max(steps, 1), len(r.states) - 1)  # an idle decision costs one step
            dist.append(d[r.states[pos], goal])
        not_decreasing += int(np.any(np.diff(dist) >= 0))
        worst_ratio = max(worst_ratio, len(r.subgoals) / math.ceil(d[s0, goal] / R))
    parts = {
        "every episode succeeds": identity("H2", failures, 0.5),
        "distance to g decreases at every decision": identity("H2", not_decreasing, 0.5),
        "decisions <= ceil(d / R)": inequality("H2", worst_ratio, 1.0, R=R),
    }
    return combine("H2", parts)


register(
    Claim(
        id="H2",
        name="hecrl-progress",
        statement=r"\text{a shortest-path candidate within } R \text{ and an oracle low level} \Rightarrow "
        r"d(s, g) \downarrow \text{ at every decision, success within } \lceil d(s_0, g)/R \rceil \text{ decisions}",
        source=f"{_HECRL}; {_NOTES} H2",
        constant="none",
        tolerance=0.0,
        sample=lambda rng: int(rng.integers(0, 2**31)),
        evaluate=check_h2,
        default_instances=3,
        subjects=("mdp.goal.select_subgoal", "mdp.goal.hierarchical_rollout"),
        instance="int seed",
        accepts=accept_seed,
        notes="Candidates: 5 random states plus the state min(R, d) steps along a shortest path; R random in 2..6; "
        "exact values; oracle low level with R steps per decision. The selected candidate is at least as close "
        "to g as the shortest-path one, which is min(R, d) closer, hence ceil(d/R).",
    )
)


# ----------------------------------------------------------------------------- H3
def check_h3(instance, rng) -> CheckResult:
    seed = int(instance)
    g = np.random.default_rng(seed)
    m = G.block_track(3, 8, ordered=True)
    gamma = 0.95
    data = G.random_walks(m, 200, 30, rng=g)
    tr = G.hindsight_transitions(data, rng=g, n_samples=20_000, p_current=0.2, p_future=0.8, p_random=0.0)
    kw = dict(gamma=gamma, expectile=0.9, tol=1e-10, max_iter=50_000)
    a = G.expectile_td(tr, **kw)
    b = G.expectile_td(tr, clip=True, **kw)
    S = m.n_states
    v0 = np.full((S, S), -1 / (1 - gamma))
    np.fill_diagonal(v0, 0.0)
    out = v0.copy()
    vis = a.visited & ~np.eye(S, dtype=bool)
    out[vis] = g.choice([-1.0, 1.0], size=int(vis.sum())) * 50 / (1 - gamma)  # out of range on cells with data
    c = G.expectile_td(tr, v0=out, **kw)
    e = G.expectile_td(tr, v0=out, clip=True, **kw)
    lo = -1 / (1 - gamma)
    parts = {
        "in-range start: clamped = unclamped": identity("H3", np.abs(a.v - b.v).max(), 1e-8),
        "out-of-range start: same fixed point": identity(
            "H3", max(np.abs(c.v - a.v).max(), np.abs(e.v - a.v).max()), 1e-8
        ),
        "fixed point inside [-1/(1-gamma), 0]": identity(
            "H3", max(float(lo - a.v.min()), float(a.v.max()), 0.0), 1e-12
        ),
        "out-of-range start: clamped needs no more sweeps": inequality(
            "H3", e.n_iter, c.n_iter, clamped=int(e.n_iter), unclamped=int(c.n_iter)
        ),
    }
    return combine("H3", parts)


register(
    Claim(
        id="H3",
        name="hecrl-clamping",
        statement=r"\text{rewards in }\{-1, 0\}:\ \operatorname{clip}_{[-1/(1-\gamma), 0]} \text{ leaves the TD fixed point "
        r"unchanged and converges in no more sweeps from out-of-range starts}",
        source=f"{_HECRL}, critic targets clamp(y, -1/(1-gamma), 0); {_NOTES} H3",
        constant="none",
        tolerance=1e-8,
        sample=lambda rng: int(rng.integers(0, 2**31)),
        evaluate=check_h3,
        default_instances=3,
        subjects=("mdp.goal.expectile_td",),
        instance="int seed",
        accepts=accept_seed,
        notes="Expectile 0.9 TD on hindsight goals (20 % current, 80 % future) of random walks on 3 blocks on a track "
        "of 8. The out-of-range start is +-50/(1 - gamma) on the cells with data (cells without data keep their "
        "in-range default, which the fixed point depends on).",
    )
)


# ----------------------------------------------------------------------------- H4
def check_h4(instance, rng, *, reps=30) -> CheckResult:
    N, L, M = instance
    joint, fact = [], []
    for _ in range(reps):
        P = rng.dirichlet(np.ones(L), size=N)
        X = np.stack([rng.choice(L, size=M, p=P[b]) for b in range(N)], axis=1)
        p = np.ones(1)
        for b in range(N):
            p = np.outer(p, P[b]).ravel()
        code = X @ (L ** np.arange(N)[::-1])
        joint.append(G.empirical_tv(p, code))
        fact.append(G.product_tv(P, X))
    j, f = float(np.mean(joint)), float(np.mean(fact))
    bj = 0.5 * math.sqrt((L**N - 1) / M)
    bf = 0.5 * N * math.sqrt((L - 1) / M)
    parts = {
        "joint: E TV <= sqrt((L^N - 1)/M) / 2": inequality("H4", j, bj),
        "factored: E TV <= N sqrt((L - 1)/M) / 2": inequality("H4", f, bf),
    }
    if bf < min(bj, 1.0) / 2:
        parts["factored below joint"] = inequality("H4", f, j, joint=j, factored=f)
    return combine("H4", parts)


register(
    Claim(
        id="H4",
        name="hecrl-factored-estimation",
        statement=r"\mathbb{E}\,TV(\hat p_{joint}, p) \le \tfrac12\sqrt{(L^N - 1)/M},\ "
        r"\mathbb{E}\,TV(\textstyle\prod_b \hat p_b, \prod_b p_b) \le \tfrac N2 \sqrt{(L - 1)/M}",
        source=f"{_HECRL} (motivation of factored subgoals); {_NOTES} H4",
        constant="derived",
        tolerance=0.0,
        sample=lambda rng: (int(rng.integers(2, 5)), int(rng.integers(3, 8)), int(rng.choice([100, 1000, 10000]))),
        evaluate=check_h4,
        default_instances=3,
        subjects=("mdp.goal.empirical_tv", "mdp.goal.product_tv"),
        instance="(N entities, L values each, M samples)",
        accepts=accept_factored,
        notes="Derived here: E|p_hat_i - p_i| <= sqrt(p_i (1 - p_i)/M) and Cauchy-Schwarz give E TV <= "
        "sqrt((K - 1)/M)/2 for K outcomes; TV of a product <= sum of the marginals' TVs. Means over 30 random "
        "product distributions (Dirichlet(1) marginals); 'factored below joint' is checked where the factored bound "
        "is below half the joint one.",
    )
)
