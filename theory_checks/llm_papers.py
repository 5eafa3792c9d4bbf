"""Claims of the last three LLM papers of issue 21, as executable checks on :mod:`mdp.llm`.

GF1 (G²RPO credit isolation: under singular stochastic sampling the reward is a deterministic, here
affine, function of the one injected noise, ``R^2 = 1``; under full-SDE sampling that noise explains
only its exact share ``||b_k||^2 / sum_j ||b_j||^2``), GF2 (the fused multi-granularity advantage has
zero mean per group, and the registered estimator equals its numpy twin), SA1 (SAPO: dropping
zero-variance groups leaves the policy-gradient sum unchanged), GG1 (Graph-GRPO: a per-query reward
shift leaves the group-relative advantage unchanged, while the absolute-reward REINFORCE advantage
moves by the shift), GG2 (Graph-GRPO edge credit: the critical edge gets positive credit, every other
edge zero credit in expectation; statistical).
"""

from __future__ import annotations

import numpy as np

from theory_checks import instances as I
from theory_checks.core import CheckResult, Claim, combine, estimate, identity, inequality, register

__all__ = [
    "sample_flow",
    "check_gf1",
    "sample_granular",
    "check_gf2",
    "sample_swarm_groups",
    "check_sa1",
    "sample_shift",
    "check_gg1",
    "sample_edge_credit",
    "check_gg2",
]

#: sample sizes of GF1 (singular, full SDE) and its tolerance on the full-SDE R^2
GF1_N = (2000, 40000)
GF1_TOL = 0.03


# --------------------------------------------------------------------------------------------
# GF1 credit isolation
# --------------------------------------------------------------------------------------------
def sample_flow(rng: np.random.Generator) -> dict:
    """A one-component (affine) flow: mean ``N(0, 1)``, std in (0.2, 1), noise level in (0.3, 1),
    ``T`` in 5..12, stochastic step ``k`` in 0..T-2, unit reward direction ``w``, shared ``x0``."""
    T = int(rng.integers(5, 13))
    w = rng.normal(size=2)
    return {
        "mean": rng.normal(size=2),
        "std": float(rng.uniform(0.2, 1.0)),
        "noise": float(rng.uniform(0.3, 1.0)),
        "n_steps": T,
        "step": int(rng.integers(0, T - 1)),
        "weight": w / np.linalg.norm(w),
        "x0": rng.normal(size=2),
    }


def check_gf1(inst, rng) -> CheckResult:
    """``R^2`` of the linear reward ``w . x_T`` on the step-``k`` noise: 1 under singular sampling
    (``GF1_N[0]`` branches of one prefix), the exact share of step ``k`` under full-SDE sampling
    (``GF1_N[1]`` paths, estimate within ``GF1_TOL``; docs/papers/g2rpo_flow.md claim 1)."""
    from mdp.llm.flow_grpo import GaussianMixtureFlow, explained_variance, noise_shares, sample_paths

    model = GaussianMixtureFlow(np.asarray(inst["mean"])[None], std=inst["std"])
    T, k, sig, w, x0 = inst["n_steps"], inst["step"], inst["noise"], inst["weight"], inst["x0"]
    out = {}
    for label, steps, n in (("singular", [k], GF1_N[0]), ("full_sde", range(T), GF1_N[1])):
        paths, eps = sample_paths(model, x0, n_steps=T, noise=sig, sde_steps=steps, n=n, rng=rng)
        r = paths[:, -1].numpy() @ w
        out[label] = explained_variance(r, eps[:, k].numpy())
    share = float(noise_shares(model, x0, w, n_steps=T, noise=sig, sde_steps=range(T))[k])
    parts = {
        "singular R^2 = 1": identity("GF1", abs(1.0 - out["singular"]), 1e-9),
        "full-SDE R^2 = exact share": estimate(
            "GF1", out["full_sde"], share, GF1_TOL, n=GF1_N[1], singular_r2=out["singular"], one_over_T=1 / T
        ),
    }
    return combine("GF1", parts)


# --------------------------------------------------------------------------------------------
# GF2 fused advantage zero mean
# --------------------------------------------------------------------------------------------
def sample_granular(rng: np.random.Generator) -> dict:
    """1-5 groups of 2-8 samples x 1-3 granularities (long format, rows shuffled); binary or Gaussian
    rewards, some granularities constant within a group."""
    g, tr, m, r = [], [], [], []
    tid = 0
    for gi in range(int(rng.integers(1, 6))):
        G, M = int(rng.integers(2, 9)), int(rng.integers(1, 4))
        for mi in range(M):
            col = (rng.random(G) < 0.5).astype(float) if rng.random() < 0.5 else rng.normal(size=G) * (mi + 1)
            if rng.random() < 0.2:
                col[:] = 1.0
            r += list(col)
            g += [gi] * G
            tr += list(range(tid, tid + G))
            m += [mi] * G
        tid += G
    perm = rng.permutation(len(r))
    return {
        "rewards": np.asarray(r)[perm],
        "group_ids": np.asarray(g, dtype=np.int64)[perm],
        "trajectory_ids": np.asarray(tr, dtype=np.int64)[perm],
        "granularity": np.asarray(m, dtype=np.int64)[perm],
    }


def check_gf2(inst, rng) -> CheckResult:
    """``sum_{i in g} A_i = 0`` for the fused advantage (sum and mean fusion) of the registered
    ``"g2rpo"``, and equality with the numpy twin :func:`mdp.llm.flow_grpo.fused_advantages`
    (docs/papers/g2rpo_flow.md claim 4)."""
    from mdp.llm import RolloutBatch, compute_advantages
    from mdp.llm.flow_grpo import fused_advantages

    batch = RolloutBatch(
        rewards=inst["rewards"],
        group_ids=inst["group_ids"],
        trajectory_ids=inst["trajectory_ids"],
        step_ids=inst["granularity"],
    )
    g, tr, m, r = (inst[k] for k in ("group_ids", "trajectory_ids", "granularity", "rewards"))
    parts = {}
    for fuse in ("sum", "mean"):
        a = compute_advantages("g2rpo", batch, fuse=fuse).numpy()
        worst_sum = worst_twin = 0.0
        for gi in np.unique(g):
            rows = np.nonzero(g == gi)[0]
            trajs = np.unique(tr[rows])
            grans = np.unique(m[rows])
            first = np.array([rows[tr[rows] == t][0] for t in trajs])
            worst_sum = max(worst_sum, abs(float(a[first].sum())))
            R = np.empty((trajs.size, grans.size))
            for i in rows:
                R[np.searchsorted(trajs, tr[i]), np.searchsorted(grans, m[i])] = r[i]
            twin = fused_advantages(R, fuse=fuse)
            worst_twin = max(worst_twin, float(np.abs(twin - a[first]).max()))
        scale = 1.0 + float(np.abs(a).sum())
        parts[f"{fuse}: zero mean"] = identity("GF2", worst_sum, 1e-12 * scale)
        parts[f"{fuse}: = numpy twin"] = identity("GF2", worst_twin, 1e-9 * scale)
    return combine("GF2", parts)


# --------------------------------------------------------------------------------------------
# SA1 zero-variance filtering
# --------------------------------------------------------------------------------------------
def sample_swarm_groups(rng: np.random.Generator) -> dict:
    """Logits ``N(0, 1)`` over 3-6 questions x 2-8 answers, a 0/1 or Gaussian reward table, 2-10
    groups of 2-8 answers drawn uniformly (so some groups are all-equal)."""
    Q, A = int(rng.integers(3, 7)), int(rng.integers(2, 9))
    n, L = int(rng.integers(2, 11)), int(rng.integers(2, 9))
    R = (rng.random((Q, A)) < 0.3).astype(float) if rng.random() < 0.7 else np.round(rng.normal(size=(Q, A)), 1)
    return {
        "theta": rng.normal(size=(Q, A)),
        "rewards": R,
        "q": rng.integers(0, Q, size=n),
        "answers": rng.integers(0, A, size=(n, L)),
    }


def check_sa1(inst, rng) -> CheckResult:
    """The SAPO policy-gradient sum ``sum_i A_i grad log pi(a_i | q)`` over all groups equals the sum
    over the groups :func:`mdp.llm.sapo.filter_zero_variance` keeps (docs/papers/sapo.md claim 2);
    :func:`mdp.llm.sapo.node_update` divides by the number of groups, so the filtered step is larger
    by ``n / n_kept`` (reported)."""
    from mdp.llm.sapo import filter_zero_variance, node_update

    th = inst["theta"]
    groups = {"q": inst["q"], "answers": inst["answers"], "logp": np.zeros(inst["answers"].shape)}
    n, L = groups["answers"].shape
    keep = filter_zero_variance(groups, inst["rewards"])
    full, _ = node_update(th, inst["rewards"], groups, learning_rate=1.0)
    kept = {k: v[keep] for k, v in groups.items()}
    filt, _ = node_update(th, inst["rewards"], kept, learning_rate=1.0)
    g_full = (full - th) * n * L
    g_filt = (filt - th) * keep.size * L
    err = float(np.abs(g_full - g_filt).max())
    return identity("SA1", err, 1e-10 * (1.0 + float(np.abs(g_full).max())), kept=int(keep.size), groups=n)


# --------------------------------------------------------------------------------------------
# GG1 shift invariance
# --------------------------------------------------------------------------------------------
def sample_shift(rng: np.random.Generator) -> dict:
    """2-10 queries x 2-12 graphs, binary (easy and hard queries) or Gaussian rewards, shifts
    ``c(x) ~ N(0, 5^2)`` per query."""
    nq = int(rng.integers(2, 11))
    sizes = rng.integers(2, 13, size=nq)
    g = np.repeat(np.arange(nq), sizes)
    if rng.random() < 0.5:
        p = rng.random(nq)
        r = (rng.random(g.size) < p[g]).astype(float)
    else:
        r = rng.normal(size=g.size)
    perm = rng.permutation(g.size)
    return {"rewards": r[perm], "group_ids": g[perm], "shift": rng.normal(size=nq) * 5}


def check_gg1(inst, rng) -> CheckResult:
    """``A(r + c(x)) = A(r)`` for the registered ``"graph_grpo"`` (baselines ``"group"`` and ``"mean"``),
    while the absolute-reward advantage (``"none"``, REINFORCE) moves by exactly ``c(x)``
    (docs/papers/graph_grpo.md claim 1)."""
    from mdp.llm import RolloutBatch, compute_advantages

    r, g, c = inst["rewards"], inst["group_ids"], inst["shift"]
    codes = np.unique(g, return_inverse=True)[1]
    shifted = r + c[codes]
    b0 = RolloutBatch(rewards=r, group_ids=g)
    b1 = RolloutBatch(rewards=shifted, group_ids=g)
    parts = {}
    for base in ("group", "mean"):
        a0 = compute_advantages("graph_grpo", b0, baseline=base).numpy()
        a1 = compute_advantages("graph_grpo", b1, baseline=base).numpy()
        scale = 1.0 + float(np.abs(a0).max())
        # rounding of r + c: |c| eps_64 / std, bounded by 1e-9 for |c| < 50 and std > 1e-5
        parts[f"{base}: shift invariant"] = identity("GG1", float(np.abs(a1 - a0).max()), 1e-8 * scale)
    a0 = compute_advantages("graph_grpo", b0, baseline="none").numpy()
    a1 = compute_advantages("graph_grpo", b1, baseline="none").numpy()
    parts["none: moves by c(x)"] = identity(
        "GG1", float(np.abs(a1 - a0 - c[codes]).max()), 1e-12 * (1 + float(np.abs(c).max()))
    )
    return combine("GG1", parts)


# --------------------------------------------------------------------------------------------
# GG2 critical-edge credit
# --------------------------------------------------------------------------------------------
GG2 = {"groups": 3000, "group_size": 8, "z_critical": 4.0, "z_irrelevant": 4.5}


def sample_edge_credit(rng: np.random.Generator) -> dict:
    """A seed, 4-6 agents, critical-edge effect ``beta`` in (1, 3), difficulty sd in (0.5, 3)."""
    return {
        "seed": int(rng.integers(1, 2**31)),
        "n_agents": int(rng.integers(4, 7)),
        "effect": float(rng.uniform(1.0, 3.0)),
        "difficulty_sd": float(rng.uniform(0.5, 3.0)),
    }


def check_gg2(inst, rng) -> CheckResult:
    """Over ``GG2["groups"]`` queries of ``K = 8`` graphs (edge probabilities uniform in (0.2, 0.8)),
    the mean edge credit ``Delta_{e*}`` of the critical edge is at least 4 standard errors above 0,
    and every other edge's is within 4.5 standard errors of 0 (docs/papers/graph_grpo.md claim 3)."""
    from mdp.llm import RolloutBatch, compute_advantages
    from mdp.llm.graph_grpo import edge_credit, make_topology_task, sample_graphs, success_probability

    g = np.random.default_rng(inst["seed"])
    task = make_topology_task(
        n_agents=inst["n_agents"], n_types=1, effect=inst["effect"], difficulty_sd=inst["difficulty_sd"], rng=g
    )
    n, K = GG2["groups"], GG2["group_size"]
    p = g.uniform(0.2, 0.8, size=task.n_edges)
    acts = sample_graphs(p, n * K, rng=g)
    diff = np.repeat(task.difficulty_sd * g.standard_normal(n), K)
    r = (g.random(n * K) < success_probability(task, np.zeros(n * K, np.int64), diff, acts)).astype(float)
    gid = np.repeat(np.arange(n), K)
    A = compute_advantages("graph_grpo", RolloutBatch(rewards=r, group_ids=gid)).numpy()
    ec = edge_credit(A, acts, gid)
    e = int(task.critical[0])
    others = np.delete(np.arange(task.n_edges), e)
    z = ec.delta / ec.stderr
    parts = {
        "critical edge credit > 0": inequality(
            "GG2",
            GG2["z_critical"] * float(ec.stderr[e]),
            float(ec.delta[e]),
            rtol=0.0,
            atol=0.0,
            delta_critical=float(ec.delta[e]),
            z_critical=float(z[e]),
        ),
        "other edges credit = 0": inequality(
            "GG2", float(np.abs(z[others]).max()), GG2["z_irrelevant"], rtol=0.0, atol=0.0, z_others=z[others].tolist()
        ),
    }
    return combine("GG2", parts)


# --------------------------------------------------------------------------------------------
# user instances
# --------------------------------------------------------------------------------------------
def _accept_flow(x, name="instance"):
    d = I.record(
        mean=I.float_array(1),
        std=I.real("(0, inf)"),
        noise=I.real("(0, inf)"),
        n_steps=I.positive_int,
        step=lambda v, nm: int(I.int_array(1)([v], nm)[0]),
        weight=I.float_array(1),
        x0=I.float_array(1),
    )(x, name)
    dim = d["mean"].size
    if d["weight"].size != dim or d["x0"].size != dim:
        raise ValueError(
            f"{name}: mean, weight and x0 must have one dimension d, got {dim}, {d['weight'].size}, {d['x0'].size}"
        )
    if not 0 <= d["step"] < d["n_steps"] or d["n_steps"] < 2:
        raise ValueError(
            f"{name}: step must lie in 0..n_steps-1 and n_steps >= 2, got step {d['step']}, n_steps {d['n_steps']}"
        )
    if not np.any(d["weight"]):
        raise ValueError(f"{name}: weight must not be zero (the reward would be constant)")
    return d


def _accept_granular(x, name="instance"):
    _ids = I.int_array(1)
    d = I.record(rewards=I.float_array(1, min_len=2), group_ids=_ids, trajectory_ids=_ids, granularity=_ids)(x, name)
    lengths = {k: len(v) for k, v in d.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{name}: rewards, group_ids, trajectory_ids, granularity need one length, got {lengths}")
    return d


def _accept_swarm(x, name="instance"):
    d = I.record(theta=I.float_array(2), rewards=I.float_array(2), q=I.int_array(1), answers=I.int_array(2))(x, name)
    Q, A = d["theta"].shape
    if d["rewards"].shape != (Q, A):
        raise ValueError(f"{name}: rewards must be (Q, A) = {(Q, A)} like theta, got {d['rewards'].shape}")
    if d["answers"].shape[0] != d["q"].size or d["answers"].shape[1] < 2:
        raise ValueError(f"{name}: answers must be (n, L >= 2) with n = len(q), got {d['answers'].shape}")
    if d["q"].size and (d["q"].min() < 0 or d["q"].max() >= Q or d["answers"].min() < 0 or d["answers"].max() >= A):
        raise ValueError(f"{name}: q must index 0..{Q - 1} and answers 0..{A - 1}")
    return d


def _accept_shift(x, name="instance"):
    d = I.record(rewards=I.float_array(1, min_len=2), group_ids=I.int_array(1), shift=I.float_array(1))(x, name)
    if d["group_ids"].size != d["rewards"].size:
        raise ValueError(f"{name}: rewards and group_ids need one length")
    n = np.unique(d["group_ids"]).size
    if d["shift"].size != n:
        raise ValueError(
            f"{name}: shift needs one entry per group ({n}, in sorted group-id order), got {d['shift'].size}"
        )
    if np.abs(d["shift"]).max() > 50:
        raise ValueError(f"{name}: |shift| must be <= 50 (the check's rounding bound assumes it)")
    return d


def _accept_edge(x, name="instance"):
    d = I.record(
        seed=I.positive_int, n_agents=I.positive_int, effect=I.real("(0, inf)"), difficulty_sd=I.real("[0, inf)")
    )(x, name)
    if not 3 <= d["n_agents"] <= 8:
        raise ValueError(f"{name}: n_agents must lie in 3..8, got {d['n_agents']}")
    return d


# --------------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------------
register(
    Claim(
        id="GF1",
        name="g2rpo-singular-credit-isolation",
        statement=r"R^2(r \mid \varepsilon_k) = 1 \text{ (singular)},\quad R^2(r \mid \varepsilon_k) = \|b_k\|^2 / \textstyle\sum_j \|b_j\|^2 \text{ (full SDE)}",
        source="Zhou et al. 2025, G2RPO, arXiv:2510.01982 (docs/papers/g2rpo_flow.md claim 1)",
        constant="derived",
        tolerance=GF1_TOL,
        sample=sample_flow,
        evaluate=check_gf1,
        default_instances=5,
        notes="One-component flow (affine velocity) and linear reward w . x_T, so r is affine in the noises and the "
        "population R^2 of r on eps_k is exactly the share ||b_k||^2 / sum_j ||b_j||^2, b_j = dr/deps_j by autograd. "
        f"Singular: {GF1_N[0]} branches, R^2 = 1 to 1e-9. Full SDE: {GF1_N[1]} paths with the same x0; the R^2 "
        f"estimator's s.e. is <= 0.4 * 2 / sqrt(n) < 0.004, tolerance {GF1_TOL} (> 7 s.e.). The notes' '~1/T' is "
        "the share when every step contributes alike; the exact share is reported with 1/T in details.",
        subjects=(
            "mdp.llm.flow_grpo.sample_paths",
            "mdp.llm.flow_grpo.noise_shares",
            "mdp.llm.flow_grpo.explained_variance",
        ),
        instance="a dict {mean (d,), std > 0, noise > 0, n_steps >= 2, step in 0..n_steps-1, weight (d,), x0 (d,)}",
        accepts=_accept_flow,
    )
)

register(
    Claim(
        id="GF2",
        name="g2rpo-fused-advantage-zero-mean",
        statement=r"\sum_{i \in g} \sum_{m} \frac{r_i^m - \bar r_g^m}{\mathrm{std}_g(r^m) + \epsilon} = 0",
        source="Zhou et al. 2025, G2RPO, arXiv:2510.01982 (docs/papers/g2rpo_flow.md claim 4)",
        constant="none",
        tolerance=1e-12,
        sample=sample_granular,
        evaluate=check_gf2,
        notes="Long format (one row per sample and granularity). Tolerance 1e-12 * (1 + sum|A|) for the zero mean, "
        "1e-9 * (1 + sum|A|) against the numpy twin (verl convention: eps 1e-6, ddof 1).",
        subjects=("mdp.llm.compute_advantages", "mdp.llm.flow_grpo.fused_advantages"),
        instance="a dict of equal-length arrays {rewards, group_ids, trajectory_ids, granularity}, one row per "
        "(sample, granularity), every sample with one row per granularity of its group",
        accepts=_accept_granular,
    )
)

register(
    Claim(
        id="SA1",
        name="sapo-zero-variance-filter",
        statement=r"\sum_{g} \sum_{i \in g} A_i \nabla \log \pi(a_i \mid q_g) = \sum_{g:\ \mathrm{Var}_g(r) > 0} \sum_{i \in g} A_i \nabla \log \pi(a_i \mid q_g)",
        source="Gensyn AI Team 2025, SAPO, arXiv:2509.08721 (docs/papers/sapo.md claim 2)",
        constant="none",
        tolerance=1e-10,
        sample=sample_swarm_groups,
        evaluate=check_sa1,
        notes="Tabular softmax policy, GRPO advantages by the registered 'sapo' (zero for all-equal groups). The claim "
        "compares gradient sums; the update itself (mean over groups) grows by n / n_kept.",
        subjects=("mdp.llm.sapo.node_update", "mdp.llm.sapo.filter_zero_variance"),
        instance="a dict {theta (Q, A), rewards (Q, A), q (n,) ints, answers (n, L) ints}",
        accepts=_accept_swarm,
    )
)

register(
    Claim(
        id="GG1",
        name="graph-grpo-shift-invariance",
        statement=r"A_k(r + c(x)) = A_k(r) \text{ (group baseline)},\quad A^{\mathrm{REINFORCE}}_k(r + c(x)) = A^{\mathrm{REINFORCE}}_k(r) + c(x)",
        source="Cang et al. 2026, Graph-GRPO, arXiv:2603.02701 (docs/papers/graph_grpo.md claim 1)",
        constant="none",
        tolerance=1e-8,
        sample=sample_shift,
        evaluate=check_gg1,
        notes="Shift c(x) per query (group); tolerance 1e-8 * (1 + max|A|) covers the rounding of r + c. Scale "
        "invariance holds only up to eps / std (A = (r - mean) / (std + eps)) and is not claimed.",
        subjects=("mdp.llm.compute_advantages", "mdp.llm.graph_grpo.graph_grpo_advantages"),
        instance="a dict {rewards (n,), group_ids (n,), shift (n_groups,) in sorted group-id order, |shift| <= 50}",
        accepts=_accept_shift,
    )
)

register(
    Claim(
        id="GG2",
        name="graph-grpo-critical-edge-credit",
        statement=r"E[\Delta_{e^*}] > 0,\quad E[\Delta_e] = 0\ (e \ne e^*),\quad \Delta_e = \overline{A}_{a_e = 1} - \overline{A}_{a_e = 0}",
        source="Cang et al. 2026, Graph-GRPO, arXiv:2603.02701 (docs/papers/graph_grpo.md claim 3)",
        constant="derived",
        tolerance=GG2["z_critical"],
        sample=sample_edge_credit,
        evaluate=check_gg2,
        default_instances=3,
        notes=f"{GG2['groups']} queries x {GG2['group_size']} graphs, independent Bernoulli edges; success "
        "sigmoid(d + beta a_e*), d ~ N(0, s^2). Critical edge: mean credit >= 4 s.e.; others within 4.5 s.e. of 0 "
        "(with <= 27 other edges the family-wise false-alarm rate is < 2e-4). Irrelevant edges have zero "
        "expected credit because a_e is independent of the rewards (exchangeability).",
        subjects=("mdp.llm.graph_grpo.edge_credit", "mdp.llm.compute_advantages"),
        instance="a dict {seed: int, n_agents: 3..8, effect > 0, difficulty_sd >= 0}",
        accepts=_accept_edge,
    )
)
