"""LLM-RL claims (issue 5) as executable checks on the lab's own :mod:`mdp.llm` code.

L1 (zero mean per group: grpo / dr_grpo / rloo through the registry), L2 (GiGPO reduces to GRPO
when every observation is distinct; :func:`mdp.llm.agentic.check_gigpo_reduces_to_grpo`), L3
(MMR1: reward variance lower-bounds the expected squared gradient norm of a softmax policy, exact
gradients by autograd), L4 (D3S: the max-Var(A) selection attains the brute-force optimum of the
gradient-norm bound, and the Cauchy--Schwarz bound holds), L5 (ArenaRL judge-call counts), L6
(ArenaRL ranking accuracy vs round robin under a noisy judge, statistical), L7 (SPO: the averaged
self-play policy converges to the minimax winner, exact MW by :func:`marl.zero_sum_matrix_game`),
L8 (BRRL: the sign rule is the optimum of the bounded-ratio LP, checked against scipy's HiGHS),
L9 (HAPO: token-level group advantages have token-weighted zero mean).
"""

from __future__ import annotations

import math

import numpy as np

from theory_checks import instances as I
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register

__all__ = [
    "sample_groups",
    "check_l1",
    "sample_agentic",
    "check_l2",
    "sample_softmax_bandit",
    "check_l3",
    "sample_d3s",
    "check_l4",
    "sample_arena_sizes",
    "check_l5",
    "sample_arena_accuracy",
    "check_l6",
    "sample_preference",
    "check_l7",
    "sample_bpo",
    "check_l8",
    "check_l9",
]


# --------------------------------------------------------------------------------------------
# L1 zero mean per group
# --------------------------------------------------------------------------------------------
def sample_groups(rng: np.random.Generator) -> dict:
    """2-12 groups of 2-9 rows; binary, Gaussian or small-integer rewards; some constant groups."""
    n_groups = int(rng.integers(2, 13))
    sizes = rng.integers(2, 10, size=n_groups)
    g = np.repeat(np.arange(n_groups), sizes)
    kind = int(rng.integers(3))
    r = (
        (rng.random(g.size) < 0.5).astype(float)
        if kind == 0
        else (rng.normal(size=g.size) * 3 if kind == 1 else rng.integers(-2, 3, size=g.size).astype(float))
    )
    const = rng.random(n_groups) < 0.2
    r = np.where(const[g], 1.0, r)
    perm = rng.permutation(g.size)  # rows interleaved
    return {"rewards": r[perm], "group_ids": g[perm]}


_L1_METHODS = (("grpo", {"convention": "verl"}), ("grpo", {"convention": "trl"}), ("dr_grpo", {}), ("rloo", {}))


def check_l1(inst, rng) -> CheckResult:
    """``sum_{i in g} A_i = 0`` for every group and method (registry estimators of L1)."""
    import torch

    from mdp.llm import RolloutBatch, compute_advantages
    from mdp.llm.segments import dense_codes, segment_sum

    batch = RolloutBatch(rewards=inst["rewards"], group_ids=inst["group_ids"])
    codes, n = dense_codes(torch.as_tensor(inst["group_ids"]))
    parts = {}
    for method, opts in _L1_METHODS:
        a = compute_advantages(method, batch, **opts)
        s = float(segment_sum(a, codes, n).abs().max())
        scale = 1.0 + float(a.abs().sum())
        parts[f"{method}{opts or ''}"] = identity("L1", s, 1e-12 * scale)
    return combine("L1", parts)


# --------------------------------------------------------------------------------------------
# L2 GiGPO -> GRPO
# --------------------------------------------------------------------------------------------
def sample_agentic(rng: np.random.Generator) -> dict:
    """2-5 groups x 2-6 trajectories of 1-6 steps, N(0, 1) or sparse 0/1 step rewards, repeated
    observation keys (the check makes them distinct), rows shuffled."""
    g, traj, step, obs, rew = [], [], [], [], []
    tid = 0
    for gi in range(int(rng.integers(2, 6))):
        for _ in range(int(rng.integers(2, 7))):
            L = int(rng.integers(1, 7))
            g += [gi] * L
            traj += [tid] * L
            step += list(range(L))
            obs += list(rng.integers(0, 4, size=L))
            rew += list(rng.normal(size=L) if rng.random() < 0.5 else (rng.random(L) < 0.3).astype(float))
            tid += 1
    perm = rng.permutation(len(g))
    pick = lambda x, dt: np.asarray(x, dtype=dt)[perm]  # noqa: E731
    return {
        "rewards": pick(rew, float),
        "group_ids": pick(g, np.int64),
        "trajectory_ids": pick(traj, np.int64),
        "step_ids": pick(step, np.int64),
        "observation_keys": pick(obs, np.int64),
    }


def check_l2(inst, rng) -> CheckResult:
    """GiGPO with all observations distinct equals GRPO (mean_std_norm) / Dr.GRPO (mean_norm) on
    the episode returns (docs/papers/gigpo.md claim 2), via L2's helper."""
    from mdp.llm import RolloutBatch
    from mdp.llm.agentic import check_gigpo_reduces_to_grpo

    batch = RolloutBatch(**inst)
    parts = {}
    for mode in ("mean_std_norm", "mean_norm"):
        gamma = float(rng.choice([0.9, 0.95, 1.0]))
        obs, bound = check_gigpo_reduces_to_grpo(batch, mode=mode, gamma=gamma)
        parts[mode] = identity("L2", obs, bound, gamma=gamma)
    return combine("L2", parts)


# --------------------------------------------------------------------------------------------
# L3 MMR1 variance bound
# --------------------------------------------------------------------------------------------
def sample_softmax_bandit(rng: np.random.Generator) -> dict:
    """Logits ``N(0, s^2)`` with ``s`` in {0.5, 2, 5} over 2-10 responses; Bernoulli or Gaussian rewards."""
    n = int(rng.integers(2, 11))
    z = rng.normal(size=n) * float(rng.choice([0.5, 2.0, 5.0]))
    r = (rng.random(n) < 0.5).astype(float) if rng.random() < 0.5 else rng.normal(size=n)
    return {"logits": z, "rewards": r}


def check_l3(inst, rng) -> CheckResult:
    """``E||g||^2 >= c_pi Var(r)`` and ``||grad J||^2 >= min(pi) Var(r)`` (docs/papers/mmr1_vas.md claim 1).

    Gradients are computed by torch autograd on the softmax logits (exact expectations by
    enumeration), independently of the closed forms in :func:`mdp.llm.samplers.variance_gradient_bounds`,
    which are compared too.
    """
    import torch

    from mdp.llm.samplers import variance_gradient_bounds

    z = torch.tensor(inst["logits"], dtype=torch.float64, requires_grad=True)
    r = torch.tensor(inst["rewards"], dtype=torch.float64)
    logp = torch.log_softmax(z, 0)
    pi = logp.exp()
    J = (pi * r).sum()
    (gradJ,) = torch.autograd.grad(J, z, retain_graph=True)
    n = z.numel()
    eg2 = 0.0
    Jv = float(J.detach())
    for y in range(n):  # exact expectation over the n responses
        (gy,) = torch.autograd.grad(logp[y], z, retain_graph=True)
        eg2 += float(pi[y].detach()) * (float(r[y]) - Jv) ** 2 * float((gy**2).sum())
    p = pi.detach().numpy()
    var = float(p @ (inst["rewards"] - Jv) ** 2)
    c_pi = float(np.min(1 - 2 * p + p @ p))
    closed = variance_gradient_bounds(p, inst["rewards"])
    scale = 1.0 + eg2
    parts = {
        "E||g||^2 >= c_pi Var": inequality("L3", c_pi * var, eg2, rtol=1e-9, atol=1e-15),
        "||grad J||^2 >= min(pi) Var": inequality(
            "L3", float(p.min()) * var, float((gradJ**2).sum()), rtol=1e-9, atol=1e-15
        ),
        "closed forms = autograd": identity(
            "L3",
            max(abs(closed["expected_sq_norm"] - eg2), abs(closed["exact_sq_norm"] - float((gradJ**2).sum()))),
            1e-10 * scale,
        ),
    }
    return combine("L3", parts)


# --------------------------------------------------------------------------------------------
# L4 D3S
# --------------------------------------------------------------------------------------------
def sample_d3s(rng: np.random.Generator) -> dict:
    """A group of 2-11 advantages (GRPO z-scores of binary/Gaussian rewards, or raw Gaussians), a
    subset size ``k``, and unit-bounded score vectors ``g_i`` in R^5."""
    G = int(rng.integers(2, 12))
    k = int(rng.integers(1, G + 1))
    r = (rng.random(G) < rng.random()).astype(float) if rng.random() < 0.4 else rng.normal(size=G)
    a = (r - r.mean()) / (r.std() + 1e-6) if rng.random() < 0.7 else r
    g = rng.normal(size=(G, 5))
    g /= np.maximum(1.0, np.linalg.norm(g, axis=1))[:, None] / rng.uniform(0.2, 1.0, size=(G, 1))
    return {"advantages": a, "k": k, "scores": g}


def check_l4(inst, rng) -> CheckResult:
    """D3S's selected subset attains ``max_{|S|=k} Var_S(A)`` (brute force over all subsets), i.e.
    it maximises the bound ``C sqrt(Var_S(A))`` on the norm of the re-centred gradient estimate
    ``(1/k) sum_S (A_i - mean_S A) g_i`` (docs/papers/d3s.md claims 1-2), and that bound holds for it."""
    from itertools import combinations

    from mdp.llm.samplers import max_variance_subset

    a, k, g = inst["advantages"], inst["k"], inst["scores"]
    S = max_variance_subset(a, k)
    var_sel = float(np.var(a[S]))
    best = max(float(np.var(a[list(T)])) for T in combinations(range(a.size), k))
    C = float(np.linalg.norm(g, axis=1).max())
    ac = a[S] - a[S].mean()
    gnorm = float(np.linalg.norm((ac[:, None] * g[S]).mean(0)))
    parts = {
        "selection = brute-force max Var": identity("L4", best - var_sel, 1e-12 * (1 + best)),
        "||g_S|| <= C sqrt(Var_S)": inequality("L4", gnorm, C * math.sqrt(var_sel), rtol=1e-12, atol=1e-15),
    }
    return combine("L4", parts)


# --------------------------------------------------------------------------------------------
# L5 / L6 ArenaRL
# --------------------------------------------------------------------------------------------
def sample_arena_sizes(rng: np.random.Generator) -> list:
    """Group sizes: 4, 8, 16, 32 and three random sizes in 1..40 (byes when not a power of two)."""
    return [4, 8, 16, 32] + [int(x) for x in rng.integers(1, 41, size=3)]


def check_l5(sizes, rng) -> CheckResult:
    """Judge calls: seeded single elimination ``N - 1`` (+ ``N`` anchor seeding = ``2N - 1``), round
    robin ``N(N-1)/2``, all doubled by symmetrised judging (docs/papers/arenarl.md claim 1)."""
    from mdp.llm.arena import round_robin, single_elimination

    worst = 0
    for N in sizes:
        q = rng.normal(size=N)
        val = lambda x: 0.0 if isinstance(x, str) else float(q[x])  # noqa: E731  (the anchor has quality 0)
        judge = lambda a, b: 0.5 + 0.4 * math.tanh(val(a) - val(b))  # noqa: E731
        for sym in (False, True):
            f = 2 if sym else 1
            got = [
                single_elimination(range(N), judge, anchor="anchor", symmetrize=sym).n_judge_calls,
                single_elimination(range(N), judge, seeding="random", rng=rng, symmetrize=sym).n_judge_calls,
                single_elimination(range(N), judge, seeding="scores", seed_scores=q, symmetrize=sym).n_judge_calls,
                round_robin(range(N), judge, symmetrize=sym).n_judge_calls,
            ]
            want = [f * (2 * N - 1), f * (N - 1), f * (N - 1), f * N * (N - 1) // 2]
            worst = max(worst, max(abs(x - y) for x, y in zip(got, want)))
    return identity("L5", float(worst), 0.5, sizes=list(sizes))


_L6 = {"N": 16, "quality_sd": 1.0, "judge_noise": 0.5, "groups": 400, "gap": 0.2, "margin": 0.2}


def sample_arena_accuracy(rng: np.random.Generator) -> dict:
    """A seed for 400 groups of N = 16 qualities ``q ~ N(0, 1)``."""
    return {"seed": int(rng.integers(2**31))}


def check_l6(inst, rng) -> CheckResult:
    """Mean Kendall tau vs the true qualities over 400 groups under a noisy pairwise judge
    ``J(a, b) = sigmoid(q_a - q_b + e)``, ``e ~ N(0, 0.5^2)`` fresh per call (anchor of quality 0):
    round robin (120 calls) - seeded single elimination (31 calls) <= 0.2, and seeded single
    elimination >= random-bracket single elimination (15 calls) + 0.2 (docs/papers/arenarl.md claim 3)."""
    from mdp.llm.arena import kendall_tau, round_robin, single_elimination

    c = _L6
    g = np.random.default_rng(inst["seed"])
    taus = {"rr": [], "seeded": [], "random": []}
    for _ in range(c["groups"]):
        q = g.normal(0.0, c["quality_sd"], size=c["N"])

        def judge(a, b):
            qb = 0.0 if b == "anchor" else q[b]
            return 1.0 / (1.0 + math.exp(-(q[a] - qb + g.normal(0.0, c["judge_noise"]))))

        taus["rr"].append(kendall_tau(round_robin(range(c["N"]), judge).ranks, q))
        taus["seeded"].append(kendall_tau(single_elimination(range(c["N"]), judge, anchor="anchor").ranks, q))
        taus["random"].append(kendall_tau(single_elimination(range(c["N"]), judge, seeding="random", rng=g).ranks, q))
    m = {k: float(np.mean(v)) for k, v in taus.items()}
    se = {k: float(np.std(v) / math.sqrt(len(v))) for k, v in taus.items()}
    parts = {
        "rr - seeded <= gap": inequality("L6", m["rr"] - m["seeded"], c["gap"], rtol=0.0, atol=0.0, means=m, se=se),
        "random + margin <= seeded": inequality(
            "L6", m["random"] + c["margin"], m["seeded"], rtol=0.0, atol=0.0, means=m, se=se
        ),
    }
    return combine("L6", parts)


# --------------------------------------------------------------------------------------------
# L7 SPO
# --------------------------------------------------------------------------------------------
def _rpsd() -> np.ndarray:
    """docs/papers/spo.md lab (a): R, P, S cyclic with win probability 0.9, D losing to all with 0.2."""
    P = np.full((4, 4), 0.5)
    for i, j in ((1, 0), (2, 1), (0, 2)):  # paper beats rock, scissors beat paper, rock beats scissors
        P[i, j], P[j, i] = 0.9, 0.1
    for i in range(3):
        P[3, i], P[i, 3] = 0.2, 0.8
    return P


def sample_preference(rng: np.random.Generator) -> np.ndarray:
    """docs/papers/spo.md's R/P/S/D matrix (a quarter of the time) or ``1/2 + S`` with ``S`` antisymmetric,
    entries uniform in (-1/2, 1/2), 3-7 responses (generically intransitive)."""
    if rng.random() < 0.25:
        return _rpsd()
    n = int(rng.integers(3, 8))
    U = np.triu(rng.uniform(-0.5, 0.5, size=(n, n)), 1)
    return 0.5 + U - U.T


def check_l7(P, rng, *, n_iter: int = 4000) -> CheckResult:
    """Self-play Hedge on exact win rates (SPO's no-regret learner): ``exploitability(p_bar_T) =
    Reg(T)/T <= ln n/(eta T) + eta/8`` with ``eta = sqrt(8 ln n / T)`` (docs/papers/spo.md claim 1 and the Hedge
    regret bound), and the LP minimax winner has exploitability 0."""
    from mdp.llm.spo import minimax_winner, preference_exploitability, spo_self_play

    res = spo_self_play(P, n_iter=n_iter, update="hedge")
    T = n_iter
    e_bar = float(res.exploitability[-1])
    mw, _ = minimax_winner(P)
    parts = {
        "exploitability(p_bar) <= hedge bound": inequality(
            "L7",
            e_bar,
            res.regret_bound / T,
            rtol=1e-9,
            atol=1e-12,
            distance_to_mw=float(np.abs(res.average_policy - mw).sum()),
        ),
        "exploitability(p_bar) = Reg/T": identity("L7", abs(e_bar - res.regret / T), 1e-10),
        "LP minimax winner exploitability": identity("L7", abs(preference_exploitability(mw, P)), 1e-10),
    }
    return combine("L7", parts)


# --------------------------------------------------------------------------------------------
# L8 BPO
# --------------------------------------------------------------------------------------------
def sample_bpo(rng: np.random.Generator) -> dict:
    """2-9 actions, ``pi0 ~ Dirichlet(1)``, ``Q ~ N(0, 1)`` (rounded to integers a third of the time:
    ties), ``eps`` uniform in (0.05, 0.5)."""
    A = int(rng.integers(2, 10))
    q = rng.normal(size=A) * 2
    if rng.random() < 1 / 3:
        q = np.round(q)
    return {"q": q, "pi0": rng.dirichlet(np.ones(A)), "eps": float(rng.uniform(0.05, 0.5))}


def check_l8(inst, rng) -> CheckResult:
    """The sign rule ``rho* = 1 + eps sign(Q - mu)`` (median atom split) is feasible and attains the
    optimum of ``max sum pi0 rho Q`` s.t. ``1 - eps <= rho <= 1 + eps``, ``sum pi0 rho = 1`` solved by
    scipy HiGHS; equal to the LP's ratios when ``Q`` has no ties (unique optimum); and
    ``E_{pi*}[Q - V] = eps E_{pi0}|Q - mu|`` (docs/papers/bpo_gbpo.md claims 1-2)."""
    from scipy.optimize import linprog

    from mdp.llm.bpo import bpo_sign_rule, weighted_median

    q, p, e = inst["q"], inst["pi0"], inst["eps"]
    rho = bpo_sign_rule(q, p, e)
    lp = linprog(-(p * q), A_eq=p[None, :], b_eq=[1.0], bounds=[(1 - e, 1 + e)] * q.size, method="highs")
    scale = 1.0 + float(np.abs(q).max())
    obj = float(p @ (rho * q))
    parts = {
        "objective = LP optimum": identity("L8", abs(obj - (-lp.fun)), 1e-9 * scale),
        "feasible": identity(
            "L8",
            max(
                abs(float(p @ rho) - 1.0),
                float(np.max(np.abs(rho - 1.0)) - e) if np.max(np.abs(rho - 1.0)) > e else 0.0,
            ),
            1e-12,
        ),
    }
    if np.unique(q).size == q.size:
        parts["ratios = LP ratios"] = identity("L8", float(np.abs(rho - lp.x).max()), 1e-7)
    mu = float(weighted_median(q, p))
    V = float(p @ q)
    parts["improvement = eps * MAD"] = identity("L8", abs(obj - V - e * float(p @ np.abs(q - mu))), 1e-12 * scale)
    return combine("L8", parts)


# --------------------------------------------------------------------------------------------
# L9 HAPO
# --------------------------------------------------------------------------------------------
def _sample_hapo(rng: np.random.Generator) -> dict:
    n_groups = int(rng.integers(1, 6))
    sizes = rng.integers(2, 9, size=n_groups)
    g = np.repeat(np.arange(n_groups), sizes)
    T = int(rng.integers(3, 20))
    L = rng.integers(1, T + 1, size=g.size)
    mask = (np.arange(T)[None, :] < L[:, None]).astype(float)
    r = (rng.random(g.size) < 0.5).astype(float) if rng.random() < 0.5 else rng.normal(size=g.size)
    return {"rewards": r, "group_ids": g, "mask": mask}


def check_l9(inst, rng) -> CheckResult:
    """HAPO's token-level group advantage has token-weighted zero mean, ``sum_i L_i A_i = 0`` per
    group, in every group that does not fall back to GRPO (docs/papers/hapo.md claim 1)."""
    import torch

    from mdp.llm.hapo import hapo_token_advantages
    from mdp.llm.segments import dense_codes, segment_sum

    A = hapo_token_advantages(inst["rewards"], inst["group_ids"], inst["mask"], fallback=math.inf)
    codes, n = dense_codes(torch.as_tensor(inst["group_ids"]))
    s = float(segment_sum(A.sum(1), codes, n).abs().max())
    return identity("L9", s, 1e-9 * (1.0 + float(A.abs().sum())))


# --------------------------------------------------------------------------------------------
# user instances
# --------------------------------------------------------------------------------------------
def _same_length(d: dict, name: str, keys=None) -> dict:
    keys = list(d) if keys is None else keys
    lengths = {k: len(d[k]) for k in keys}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{name}: {', '.join(keys)} must have one length (one entry per row), got {lengths}")
    return d


def _groups_of_two(d: dict, name: str) -> dict:
    counts = np.unique(d["group_ids"], return_counts=True)[1]
    if counts.size and counts.min() < 2:
        raise ValueError(
            f"{name}: every group needs at least 2 rows (singleton conventions differ by framework), "
            f"got a group of {int(counts.min())}"
        )
    return d


_rows = I.float_array(1, min_len=1)
_ids = I.int_array(1)


def _accept_groups(x, name="instance"):
    return _groups_of_two(_same_length(I.record(rewards=_rows, group_ids=_ids)(x, name), name), name)


def _accept_agentic(x, name="instance"):
    fields = I.record(rewards=_rows, group_ids=_ids, trajectory_ids=_ids, step_ids=_ids, observation_keys=_ids)
    return _same_length(fields(x, name), name)


def _accept_bandit(x, name="instance"):
    return _same_length(I.record(logits=I.float_array(1, min_len=2), rewards=_rows)(x, name), name)


#: D3S's check compares with brute force over all C(G, k) subsets
L4_MAX_GROUP = 20


def _accept_d3s(x, name="instance"):
    d = I.record(advantages=_rows, k=I.positive_int, scores=I.float_array(2))(x, name)
    G = d["advantages"].size
    if d["k"] > G:
        raise ValueError(f"{name}: k = {d['k']} exceeds the group size {G}")
    if d["scores"].shape[0] != G:
        raise ValueError(f"{name}: scores must have one row per advantage ({G}), got shape {d['scores'].shape}")
    I.max_size(L4_MAX_GROUP, "the group size", "brute force over all C(G, k) subsets")(G, name)
    return d


def _accept_sizes(x, name="instance"):
    if not isinstance(x, (list, tuple)) or not x:
        raise TypeError(f"{name} must be a non-empty list of group sizes (positive ints), got {I.kind_name(x)}")
    return [I.positive_int(n, f"{name}[{i}]") for i, n in enumerate(x)]


def _accept_seed(x, name="instance"):
    if isinstance(x, dict):
        return I.record(seed=I.positive_int)(x, name)
    return {"seed": I.positive_int(x, name)}


def _accept_preference(x, name="instance"):
    """A square win-rate matrix ``P`` with entries in [0, 1] and ``P + P^T = 1``."""
    P = I.float_array(2)(x, name)
    if P.shape[0] != P.shape[1] or P.shape[0] < 2:
        raise ValueError(f"{name} must be a square (n, n) win-rate matrix with n >= 2, got shape {P.shape}")
    if P.min() < 0 or P.max() > 1 or float(np.abs(P + P.T - 1.0).max()) > 1e-12:
        raise ValueError(f"{name}: a win-rate matrix has entries in [0, 1] and P + P^T = 1 (P[i, j] = Pr(i beats j))")
    return P


def _accept_bpo(x, name="instance"):
    d = _same_length(I.record(q=_rows, pi0=_rows, eps=I.real("(0, 1)"))(x, name), name, ["q", "pi0"])
    if d["pi0"].min() < 0 or abs(float(d["pi0"].sum()) - 1.0) > 1e-9:
        raise ValueError(f"{name}: pi0 must be a probability vector (non-negative, summing to 1)")
    return d


def _accept_hapo(x, name="instance"):
    d = _same_length(I.record(rewards=_rows, group_ids=_ids, mask=I.float_array(2))(x, name), name)
    if not np.isin(d["mask"], (0.0, 1.0)).all():
        raise ValueError(f"{name}: mask must hold 0/1 token indicators")
    return d


# --------------------------------------------------------------------------------------------
# registration
# --------------------------------------------------------------------------------------------
register(
    Claim(
        id="L1",
        name="group-advantages-zero-mean",
        statement=r"\sum_{i \in g} A_i = 0 \text{ for every group } g \text{ (GRPO verl/TRL, Dr.GRPO, RLOO)}",
        source="Shao et al. 2024 (GRPO) Sec. 4.1.2; Liu et al. 2025 (Dr.GRPO); Ahmadian et al. 2024 (RLOO); issue 5",
        constant="none",
        tolerance=1e-12,
        sample=sample_groups,
        evaluate=check_l1,
        notes="Tolerance 1e-12 * (1 + sum|A|). Constant groups (zero variance) included; groups have >= 2 rows "
        "(singleton conventions differ by framework and are tested separately).",
        subjects=("mdp.llm.compute_advantages",),
        instance="a dict {rewards: float (n,), group_ids: int (n,)} with every group of >= 2 rows",
        accepts=_accept_groups,
    )
)

register(
    Claim(
        id="L2",
        name="gigpo-reduces-to-grpo",
        statement=r"\text{all } o_t \text{ distinct} \Rightarrow A^{GiGPO}_t = A^{E}(\tau) = A^{GRPO}(R(\tau))",
        source="Feng et al. 2025, GiGPO, arXiv:2505.10978 (docs/papers/gigpo.md claim 2)",
        constant="none",
        tolerance=1e-8,
        sample=sample_agentic,
        evaluate=check_l2,
        notes="Measured by mdp.llm.agentic.check_gigpo_reduces_to_grpo (per-trajectory episode statistics) for "
        "mean_std_norm (vs grpo) and mean_norm (vs dr_grpo); bound 1e-8 * max(1, max|A|).",
        subjects=("mdp.llm.check_gigpo_reduces_to_grpo", "mdp.llm.compute_advantages"),
        instance="a dict of equal-length arrays {rewards, group_ids, trajectory_ids, step_ids, observation_keys} (one row per step)",
        accepts=_accept_agentic,
    )
)

register(
    Claim(
        id="L3",
        name="mmr1-variance-gradient-bound",
        statement=r"E\|g\|^2 \ge \min_y\|e_y - \pi\|^2\,\mathrm{Var}_\pi(r),\quad \|\nabla_z J\|^2 \ge \min_y \pi_y\,\mathrm{Var}_\pi(r)",
        source="Leng et al. 2025, MMR1, arXiv:2509.21268 (docs/papers/mmr1_vas.md claim 1, concrete softmax instance)",
        constant="derived",
        tolerance=1e-9,
        sample=sample_softmax_bandit,
        evaluate=check_l3,
        notes="The paper states a Fisher-type constant; the constants c_pi = min_y ||e_y - pi||^2 and min_y pi_y are "
        "derived in docs/papers/mmr1_vas.md for a softmax policy with logits z and the single-sample estimator "
        "g = (r(y) - J) grad log pi(y) (Cauchy-Schwarz / termwise bounds). Exact expectations by enumeration, "
        "gradients by torch autograd. Tightness is small for peaked policies (min pi tiny).",
        subjects=("mdp.llm.samplers.variance_gradient_bounds",),
        instance="a dict {logits: float (n,), rewards: float (n,)}, n >= 2",
        accepts=_accept_bandit,
    )
)

register(
    Claim(
        id="L4",
        name="d3s-max-variance-selection",
        statement=r"S^* = \arg\max_{|S|=k}\mathrm{Var}_S(A);\ \ \|\tfrac1k\textstyle\sum_{S}(A_i - \bar A_S) g_i\| \le C\sqrt{\mathrm{Var}_S(A)}",
        source="Wang et al. 2025, D3S, arXiv:2509.22115 (docs/papers/d3s.md claims 1-2)",
        constant="derived",
        tolerance=1e-12,
        sample=sample_d3s,
        evaluate=check_l4,
        notes="C = max_i ||g_i|| (random score vectors with norms <= 1); the bound C sqrt(mean_S (A - mean_S A)^2) is "
        "Cauchy-Schwarz as in docs/papers/d3s.md, applied to re-centred advantages so that it is C sqrt(Var_S). The O(k) "
        "extremes scan (mdp.llm.samplers.d3s_sample_mask) is compared with brute force over all k-subsets.",
        subjects=("mdp.llm.samplers.max_variance_subset",),
        instance="a dict {advantages: float (G,), k: int in 1..G, scores: float (G, d)}, G <= 20 (brute force over all k-subsets)",
        accepts=_accept_d3s,
    )
)

register(
    Claim(
        id="L5",
        name="arena-judge-calls",
        statement=r"\#\text{calls} = N - 1 \text{ (bracket)},\ 2N - 1 \text{ (anchor-seeded)},\ N(N-1)/2 \text{ (round robin)};\ \times 2 \text{ symmetrised}",
        source="Zhang et al. 2026, ArenaRL, arXiv:2601.06487 (docs/papers/arenarl.md claim 1)",
        constant="source",
        tolerance=0.5,
        sample=sample_arena_sizes,
        evaluate=check_l5,
        notes="Counts for N in {4, 8, 16, 32} and random N in 1..40 (byes to the top seeds); seeding by anchor, "
        "random bracket and given scores.",
        subjects=("mdp.llm.single_elimination", "mdp.llm.round_robin"),
        instance="a list of group sizes (positive ints)",
        accepts=_accept_sizes,
    )
)

register(
    Claim(
        id="L6",
        name="arena-ranking-accuracy",
        statement=r"\bar\tau_{RR} - \bar\tau_{seeded} \le 0.2,\ \ \bar\tau_{random} + 0.2 \le \bar\tau_{seeded}\ \ (N = 16,\ 400 \text{ groups})",
        source="Zhang et al. 2026, ArenaRL, arXiv:2601.06487 (docs/papers/arenarl.md claim 3, an empirical claim)",
        constant="derived",
        tolerance=0.2,
        sample=sample_arena_accuracy,
        evaluate=check_l6,
        default_instances=1,
        notes="Noise model fixed here: q ~ N(0,1), judge sigmoid(q_a - q_b + e), e ~ N(0, 0.5^2) fresh per call, anchor "
        "of quality 0, tie-breaks by anchor seed score. In a 300-group pilot mean Kendall tau was 0.884 (round "
        "robin, 120 calls), 0.745 (seeded single elimination, 31 calls), 0.450 (random bracket, 15 calls), "
        "s.e. <= 0.007: the seeded bracket recovers ~84% of round robin's tau at a quarter of the calls "
        "(with e ~ N(0, 1): 0.80 / 0.56 / 0.38, ~70%), so 'close to round robin' holds only loosely and the "
        "0.2 gap/margin are derived from the pilot (>= 9 s.e. of slack).",
        subjects=("mdp.llm.single_elimination", "mdp.llm.round_robin"),
        instance="a seed (int, or {seed: int}) for the 400 simulated groups",
        accepts=_accept_seed,
    )
)

register(
    Claim(
        id="L7",
        name="spo-minimax-winner",
        statement=r"\tfrac12 - \min_q \bar p_T^\top P q = \mathrm{Reg}(T)/T \le \tfrac{\ln n}{\eta T} + \tfrac{\eta}{8},\ \ \eta = \sqrt{8\ln n/T}",
        source="Swamy et al. 2024, SPO, arXiv:2401.04056, Thm (self-play suffices; docs/papers/spo.md claim 1); Hedge regret "
        "(Freund & Schapire 1997)",
        constant="derived",
        tolerance=1e-10,
        sample=sample_preference,
        evaluate=check_l7,
        notes="T = 4000 iterations of exact-win-rate Hedge (z += eta P p_t). The regret bound ln n/eta + eta T/8 is the "
        "standard Hedge bound for payoffs in [0, 1]; the identity exploitability = Reg/T uses P + P^T = 1. The "
        "minimax winner is the row strategy of the antisymmetric game P - 1/2 from marl.zero_sum_matrix_game; "
        "the L1 distance of p_bar to it is reported in details (it need not be unique).",
        subjects=("mdp.llm.spo_self_play", "mdp.llm.minimax_winner"),
        instance="a win-rate matrix P (n, n), entries in [0, 1], P + P^T = 1",
        accepts=_accept_preference,
    )
)

register(
    Claim(
        id="L8",
        name="bpo-sign-rule-lp",
        statement=r"\rho^* = 1 + \varepsilon\,\mathrm{sign}(Q - \mu) \in \arg\max\{\textstyle\sum_a\pi_0\rho Q : 1-\varepsilon\le\rho\le 1+\varepsilon,\ \sum_a\pi_0\rho = 1\}",
        source="Ao et al. 2026, BRRL, arXiv:2604.18578 (docs/papers/bpo_gbpo.md claims 1-2)",
        constant="none",
        tolerance=1e-9,
        sample=sample_bpo,
        evaluate=check_l8,
        notes="mu is the lower pi0-weighted median; the action(s) at mu get the fractional ratio that makes the "
        "constraint exact (docs/papers/bpo_gbpo.md's atom split). LP by scipy HiGHS; ratios compared only when Q has no "
        "ties (otherwise the optimum is not unique).",
        subjects=("mdp.llm.bpo_sign_rule",),
        instance="a dict {q: float (A,), pi0: probability vector (A,), eps: float in (0, 1)}",
        accepts=_accept_bpo,
    )
)

register(
    Claim(
        id="L9",
        name="hapo-token-weighted-zero-mean",
        statement=r"\sum_{i \in g} L_i A_i = 0,\ A_i = (r_i - \mu_g)/(\sigma_g + 10^{-6}),\ \mu_g = \textstyle\sum L_i r_i / \sum L_i",
        source="Liu et al. 2025, HAPO, arXiv:2509.16591 (docs/papers/hapo.md claim 1)",
        constant="none",
        tolerance=1e-9,
        sample=_sample_hapo,
        evaluate=check_l9,
        notes="Fallback to GRPO disabled (fallback=inf) so every group uses the token-level statistics.",
        subjects=("mdp.llm.hapo_token_advantages",),
        instance="a dict {rewards: float (n,), group_ids: int (n,), mask: 0/1 float (n, T)}",
        accepts=_accept_hapo,
    )
)
