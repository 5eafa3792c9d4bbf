"""Multi-task PSR claims (``docs/papers/multitask_psr.md``, MT1-MT5) as executable checks.

Every evaluator measures the lab's own code (:mod:`mdp.pomdp`): the forward-algorithm likelihood and
the finite-class MLE (MT1), the enumerated shared-emission joint class (MT2), joint vs per-task MLE
(MT3), the max-disagreement exploration rule on a two-model set (MT4) and the numerical rank of exact
Hankel matrices (MT5). Source: Huang, Cheng, Yang, Tan & Liang (2024), "Provable benefits of
multi-task RL under non-Markovian decision making processes", ICLR 2024, arXiv 2310.13550 (abstract and
introduction read; the finite-class propositions are the notes' self-contained versions, constants
derived here).
"""

from __future__ import annotations

import numpy as np

from mdp import pomdp as P
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register

__all__ = [
    "accept_mt1",
    "sample_mt1",
    "check_mt1",
    "accept_factored",
    "sample_mt2",
    "check_mt2",
    "sample_mt3",
    "check_mt3",
    "accept_needle",
    "check_mt4",
    "accept_pomdp",
    "check_mt5",
    "perturbed_class",
]

_PAPER = "Huang, Cheng, Yang, Tan & Liang (2024), UMT-PSR, ICLR 2024, arXiv 2310.13550"
_NOTES = "docs/papers/multitask_psr.md"


def _z(x, y):
    """Paired z-score of mean(x - y)."""
    d = np.asarray(x, float) - np.asarray(y, float)
    se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else 0.0
    return float(d.mean() / se) if se > 0 else (np.inf if d.mean() > 0 else 0.0)


# ----------------------------------------------------------------------------- MT1
def perturbed_class(truth, K, rng):
    """``K`` candidates ``(1 - lam_k) theta* + lam_k theta_k`` (random ``theta_k``, ``lam_k`` spread on (0, 1]);
    member 0 is ``theta*`` itself (realisable)."""
    S, A, O, H = truth.n_states, truth.n_actions, truth.n_obs, truth.horizon
    models = [truth]
    for lam in np.linspace(0.0, 1.0, K)[1:] ** 2:
        other = P.random_pomdp(S, A, O, H, rng=rng)
        models.append(
            P.POMDP((1 - lam) * truth.T + lam * other.T, (1 - lam) * truth.E + lam * other.E, truth.rho0, truth.horizon)
        )
    return P.ModelClass(models)


def accept_mt1(instance):
    """``(ModelClass with the truth at index 0, n trajectories, delta)``."""
    if not (isinstance(instance, tuple) and len(instance) == 3 and isinstance(instance[0], P.ModelClass)):
        raise TypeError("expected a tuple (mdp.pomdp.ModelClass with the true model at index 0, n, delta)")
    mc, n, delta = instance
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive number of trajectories, got {n!r}")
    if not 0 < float(delta) < 1:
        raise ValueError(f"delta must lie in (0, 1), got {delta!r}")
    return mc, int(n), float(delta)


def sample_mt1(rng):
    truth = P.random_pomdp(2, 2, 3, 4, rng=rng)
    return perturbed_class(truth, 50, rng), 100, 0.1


def check_mt1(instance, rng, *, reps=1000) -> CheckResult:
    mc, n, delta = instance
    truth = mc[0]
    tv = np.array([P.tv_distance(mc[k], truth) for k in range(mc.size)])
    obs, acts = P.sample_trajectories(truth, reps * n, rng=rng)
    ll = P.log_likelihoods(mc, obs, acts).reshape(mc.size, reps, n).sum(axis=2)
    tv_hat = tv[np.argmax(ll, axis=0)]
    derived, notes_form = P.mle_tv_bound(mc.size, n, delta)
    if not derived <= notes_form:  # 1 - exp(-2x) <= 2x: an algebraic fact, a broken bound function fails here
        raise AssertionError(f"MT1: derived bound {derived} exceeds the notes' form {notes_form}")
    freq = float(np.mean(tv_hat > derived))
    q = float(np.quantile(tv_hat, 1 - delta))
    parts = {
        "P(TV > derived bound) <= delta": inequality(
            "MT1",
            freq,
            delta,
            reps=reps,
            derived_bound=derived,
            notes_bound=notes_form,
            quantile_1_minus_delta=q,
            max_tv=float(tv_hat.max()),
        ),
        "(1 - delta) quantile of TV <= derived bound": inequality("MT1", q, derived),
    }
    return combine("MT1", parts)


register(
    Claim(
        id="MT1",
        name="finite-class-mle-tv",
        statement=r"\Pr\big[\mathrm{TV}(P_{\hat\theta}, P_{\theta^*})^2 > 1 - (\delta/|\Theta|)^{2/n}\big] \le \delta,"
        r"\quad 1 - (\delta/|\Theta|)^{2/n} \le 2\log(|\Theta|/\delta)/n",
        source=f"{_PAPER} (MLE confidence sets); Zhang (2006) / van de Geer (2000) argument, constant derived here; {_NOTES} MT1",
        constant="derived",
        tolerance=0.0,
        sample=sample_mt1,
        evaluate=check_mt1,
        default_instances=1,
        subjects=("mdp.pomdp.mle", "mdp.pomdp.log_likelihoods", "mdp.pomdp.mle_tv_bound"),
        instance="(ModelClass with the true model at index 0, n trajectories, delta)",
        accepts=accept_mt1,
        notes="1000 repetitions of n = 100 uniform-action trajectories (|O| = 3, H = 4, S = 2, A = 2), |Theta| = 50 "
        "candidates interpolating between the truth and random models (so that wrong picks happen and are close). "
        "Derivation: Markov on E exp(LLR/2) = BC^n, union bound, TV <= sqrt(1 - BC^2). The bound is loose: details "
        "give the (1 - delta) quantile of the TV actually reached.",
    )
)


# ----------------------------------------------------------------------------- MT2
def accept_factored(instance):
    """``(FactoredClass, n_tasks)``."""
    if not (isinstance(instance, tuple) and len(instance) == 2 and isinstance(instance[0], P.FactoredClass)):
        raise TypeError("expected a tuple (mdp.pomdp.FactoredClass, n_tasks)")
    fc, N = instance
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 1:
        raise ValueError(f"n_tasks must be a positive integer, got {N!r}")
    return fc, int(N)


def sample_mt2(rng):
    M_O, M_T, N = int(rng.integers(2, 5)), int(rng.integers(2, 4)), int(rng.integers(1, 4))
    return P.random_factored_class(M_O, M_T, 2, 2, 2, 2, rng=rng), N


def check_mt2(instance, rng) -> CheckResult:
    fc, N = instance
    M_O, M_T = fc.n_emissions, fc.n_transitions
    members = P.enumerate_joint_class(fc, N)
    mc = fc.members()
    tables = np.stack([P.trajectory_probabilities(mc[k]).ravel() for k in range(mc.size)])
    # distinct trajectory distributions among the pairs (a finite class's bracketing number at eta -> 0)
    pair_ids = np.unique(np.round(tables, 12), axis=0, return_inverse=True)[1].ravel()
    tuples = np.stack([pair_ids[members[:, 0] * M_T + members[:, 1 + n]] for n in range(N)], axis=1)
    n_distinct = np.unique(tuples, axis=0).shape[0]
    n_pairs = int(pair_ids.max()) + 1
    sz = P.joint_class_size(M_O, M_T, N)
    want_ratio = (np.log(M_O) / N + np.log(M_T)) / (np.log(M_O) + np.log(M_T))
    parts = {
        "|P_joint| enumerated = M_O M_T^N": identity(
            "MT2", abs(members.shape[0] - M_O * M_T**N), 0.5, enumerated=int(members.shape[0])
        ),
        "distinct joint members = M_O M_T^N": identity(
            "MT2", abs(n_distinct - M_O * M_T**N), 0.5, distinct=int(n_distinct), distinct_pairs=n_pairs
        ),
        "joint <= product of single-task classes": inequality("MT2", members.shape[0], n_pairs**N),
        "per-task ratio formula": identity(
            "MT2", abs(sz["per_task_ratio"] - want_ratio), 1e-12, ratio=sz["per_task_ratio"]
        ),
        "log|P_joint| = log M_O + N log M_T": identity("MT2", abs(np.log(members.shape[0]) - sz["log_joint"]), 1e-9),
    }
    return combine("MT2", parts)


register(
    Claim(
        id="MT2",
        name="joint-class-size",
        statement=r"|\mathcal P_{joint}| = M_O M_T^N \le (M_O M_T)^N;\ \frac{\log N(\mathcal P_{joint})/N}{\log N(\mathcal P_n)}"
        r" = \frac{\log M_O / N + \log M_T}{\log M_O + \log M_T}",
        source=f"{_PAPER} (joint eta-bracketing number; examples with shared structure); {_NOTES} MT2",
        constant="none",
        tolerance=0.5,
        sample=sample_mt2,
        evaluate=check_mt2,
        default_instances=5,
        subjects=("mdp.pomdp.enumerate_joint_class", "mdp.pomdp.joint_class_size", "mdp.pomdp.FactoredClass"),
        instance="(FactoredClass, n_tasks)",
        accepts=accept_factored,
        notes="Enumerates P_joint and counts its distinct trajectory-distribution tuples (exact tables, rounded to "
        "1e-12): for a finite class with distinct members, the eta-bracketing number for eta below the smallest "
        "distance is the class size. Random Dirichlet candidates are distinct with probability 1.",
    )
)


# ----------------------------------------------------------------------------- MT3
def sample_mt3(rng):
    return int(rng.integers(0, 2**31))


def accept_seed(instance):
    if isinstance(instance, bool) or not isinstance(instance, (int, np.integer)):
        raise TypeError("expected an integer seed (MT3 builds its own factored classes)")
    return int(instance)


def _mt3_run(fc, tables, N, n, reps, rng):
    """Mean per-task TV of joint and per-task MLE over ``reps`` draws of truths and data."""
    M_O, M_T = fc.n_emissions, fc.n_transitions
    mc = fc.members()
    tv_j, tv_p = np.empty(reps), np.empty(reps)
    for r in range(reps):
        i0 = int(rng.integers(M_O))
        js = rng.integers(M_T, size=N)
        data = [P.sample_trajectories(fc.model(i0, int(j)), n, rng=rng) for j in js]
        ll = np.stack([P.log_likelihoods(mc, o, a).sum(axis=1).reshape(M_O, M_T) for o, a in data])
        est = {"joint": P.joint_mle(ll), "per": P.per_task_mle(ll)}
        out = {}
        for name, e in est.items():
            k_hat = e.emissions * M_T + e.transitions
            k_true = i0 * M_T + js
            out[name] = float(np.mean(0.5 * np.abs(tables[k_hat] - tables[k_true]).sum(axis=2).mean(axis=1)))
        tv_j[r], tv_p[r] = out["joint"], out["per"]
    return tv_j, tv_p


def check_mt3(instance, rng, *, reps=200, n=20, tasks=(1, 2, 5)) -> CheckResult:
    g = np.random.default_rng(int(instance))
    parts = {}
    fc = P.random_factored_class(40, 2, 2, 2, 3, 3, rng=g)
    mc = fc.members()
    tables = np.stack([P.trajectory_probabilities(mc[k]) for k in range(mc.size)])
    gaps = {}
    for N in tasks:
        tj, tp = _mt3_run(fc, tables, N, n, reps, rng)
        gaps[N] = (float(tp.mean() - tj.mean()), _z(tp, tj), float(tj.mean()), float(tp.mean()))
        if N == 1:
            parts["N = 1: joint = per-task"] = identity("MT3", float(np.abs(tj - tp).max()), 1e-15)
    Nmax = max(tasks)
    gap, z, mj, mp = gaps[Nmax]
    parts[f"N = {Nmax}: per-task TV - joint TV > 0 (paired z >= 3)"] = inequality(
        "MT3", 3.0, z, gap=gap, joint=mj, per_task=mp, gaps={k: v[0] for k, v in gaps.items()}
    )
    N2 = sorted(tasks)[-2]
    parts[f"gap at N = {Nmax} >= gap at N = {N2}"] = inequality("MT3", gaps[N2][0], gaps[Nmax][0])
    # no shared hard part: a single emission candidate makes joint and per-task MLE coincide
    fc1 = P.FactoredClass(fc.emissions[:1], fc.transitions, fc.rho0, fc.horizon)
    tj1, tp1 = _mt3_run(fc1, tables[: fc.n_transitions], Nmax, n, 20, rng)
    parts["M_O = 1: joint = per-task"] = identity("MT3", float(np.abs(tj1 - tp1).max()), 1e-15)
    return combine("MT3", parts)


register(
    Claim(
        id="MT3",
        name="multitask-estimation-benefit",
        statement=r"\mathbb{E}\,\overline{\mathrm{TV}}(\text{per-task MLE}) - \mathbb{E}\,\overline{\mathrm{TV}}(\text{joint MLE}) > 0"
        r" \text{ and grows with } N \text{ when } M_O \gg M_T;\ = 0 \text{ at } N = 1 \text{ or } M_O = 1",
        source=f"{_PAPER} (multi-task benefit when the joint class is smaller); {_NOTES} MT3",
        constant="none",
        tolerance=0.0,
        sample=sample_mt3,
        evaluate=check_mt3,
        default_instances=1,
        subjects=("mdp.pomdp.joint_mle", "mdp.pomdp.per_task_mle", "mdp.pomdp.likelihood_table"),
        instance="int seed (MT3 builds a shared-emission class M_O = 40, M_T = 2, S = 2, A = 2, O = 3, H = 3)",
        accepts=accept_seed,
        notes="200 repetitions per N in {1, 2, 5}, n = 20 uniform-action episodes per task; average per-task TV "
        "under uniform actions (exact tables). With one task, or one emission candidate, the joint class is the "
        "product class and the two estimates are identical (checked exactly).",
    )
)


# ----------------------------------------------------------------------------- MT4
def accept_needle(instance):
    """``(A, H, needle index, eps)``."""
    if not (isinstance(instance, tuple) and len(instance) == 4):
        raise TypeError("expected a tuple (A, H, needle sequence index, eps)")
    A, H, k, eps = instance
    P.needle_pair(A, H, k, eps=eps)  # validates
    return int(A), int(H), int(k), float(eps)


def _episodes_to_shrink(models, policy, beta, batch, reps, rng):
    """Episodes until the confidence set ``{k : LL_k >= max LL - beta}`` is ``{truth = 0}`` (censored at ``batch``)."""
    mc = P.ModelClass(models)
    out = np.empty(reps)
    for r in range(reps):
        obs, acts = P.sample_trajectories(models[0], batch, rng=rng, policy=policy)
        cum = np.cumsum(P.log_likelihoods(mc, obs, acts), axis=1)
        ok = np.flatnonzero(cum[0] - cum[1] > beta)
        out[r] = ok[0] + 1 if ok.size else batch
    return out


def _episodes_for(eps, beta, delta):
    """Smallest ``n`` with ``P(Bin(n, 1 - eps) > (n + beta / c) / 2) >= 1 - delta``, ``c = log((1 - eps) / eps)``:
    then the log-likelihood ratio after ``n`` informative episodes exceeds ``beta`` w.p. ``>= 1 - delta``."""
    from math import comb

    c = np.log((1 - eps) / eps)
    for n in range(1, 10_000):
        need = (n + beta / c) / 2
        p = sum(comb(n, j) * (1 - eps) ** j * eps ** (n - j) for j in range(n + 1) if j > need)
        if p >= 1 - delta:
            return n
    raise ValueError("eps too close to 1/2 for MT4's budget")


def check_mt4(instance, rng, *, reps=400, delta=0.1) -> CheckResult:
    A, H, k, eps = instance
    models = list(P.needle_pair(A, H, k, eps=eps))
    opt = P.optimistic_sequence(models)
    n_seq = A**H
    beta = float(np.log(len(models) / delta))
    point = np.eye(n_seq)[opt.sequence]
    t_opt = _episodes_to_shrink(models, point, beta, 200, reps, rng)
    t_uni = _episodes_to_shrink(models, None, beta, 200 * n_seq, reps, rng)
    ratio = float(t_uni.mean() / t_opt.mean())
    # delta-method standard error of the ratio of two independent means
    se = ratio * np.sqrt(t_uni.var(ddof=1) / reps / t_uni.mean() ** 2 + t_opt.var(ddof=1) / reps / t_opt.mean() ** 2)
    n_hi = _episodes_for(eps, beta, delta)
    shrunk = float(np.mean(t_opt <= n_hi))
    slack = 3.0 * np.sqrt(delta * (1 - delta) / reps)
    parts = {
        "argmax-TV picks the needle": identity("MT4", float(opt.sequence != k), 0.5, chosen=opt.sequence, needle=k),
        "TV is zero off the needle": identity("MT4", float(np.delete(opt.tv, k).max(initial=0.0)), 1e-12),
        "optimistic: B = {theta*} within n(eps, beta, delta) episodes w.p. >= 1 - delta": inequality(
            "MT4",
            1.0 - delta - slack,
            shrunk,
            n_episodes=n_hi,
            uniform_within_same_n=float(np.mean(t_uni <= n_hi)),
        ),
        "E[episodes] uniform / optimistic = A^H (|z| <= 4)": identity(
            "MT4",
            abs(ratio - n_seq) / max(se, 1e-12),
            4.0,
            ratio=ratio,
            A_pow_H=n_seq,
            se=float(se),
            mean_optimistic=float(t_opt.mean()),
            mean_uniform=float(t_uni.mean()),
            beta=beta,
        ),
    }
    return combine("MT4", parts)


register(
    Claim(
        id="MT4",
        name="optimistic-exploration-needle",
        statement=r"\arg\max_a \max_{\theta,\theta'} \mathrm{TV}(P_\theta(\cdot\|a), P_{\theta'}(\cdot\|a)) = a^\star;\ "
        r"\mathbb{E}[\text{episodes to } B = \{\theta^*\}]_{\text{uniform}} = |A|^H\,\mathbb{E}[\cdot]_{\text{optimistic}}",
        source=f"{_PAPER} (optimistic exploration by model disagreement); {_NOTES} MT4; construction ours",
        constant="derived",
        tolerance=4.0,
        sample=lambda rng: (3, 3, int(rng.integers(27)), float(rng.uniform(0.05, 0.2))),
        evaluate=check_mt4,
        default_instances=2,
        subjects=("mdp.pomdp.optimistic_sequence", "mdp.pomdp.confidence_set", "mdp.pomdp.needle_pair"),
        instance="(A, H, needle sequence index in [0, A^H), eps in (0, 1/2))",
        accepts=accept_needle,
        notes="The two models agree exactly off the needle, so an uninformative episode changes no log-likelihood "
        "ratio; by Wald's identity the expected number of uniform episodes is exactly A^H times the optimistic one "
        "(derived here; the notes say 'worst case'). beta = log(2/delta); 400 repetitions each; the third part checks "
        "the empirical (1 - delta) quantile of the optimistic stopping time on fresh runs.",
    )
)


# ----------------------------------------------------------------------------- MT5
def accept_pomdp(instance):
    if not isinstance(instance, P.POMDP):
        raise TypeError("expected an mdp.pomdp.POMDP (small: the Hankel matrices are built exactly)")
    return instance


def check_mt5(instance, rng) -> CheckResult:
    m = instance
    r = P.psr_rank(m)
    parts = {
        "rank D_h <= S for every split": inequality(
            "MT5", r.rank, m.n_states, ranks=r.ranks.tolist(), smallest_kept=r.smallest_kept
        ),
    }
    err = max(float(np.abs(P.hankel_matrix(m, h).D - P.reference_hankel_matrix(m, h)).max()) for h in range(m.horizon))
    parts["forward-pass entries = Alpha Beta"] = identity("MT5", err, 1e-12)
    d = P.duplicate_states(m)
    rd = P.psr_rank(d)
    parts["2S-state copy: same rank"] = identity("MT5", abs(rd.rank - r.rank), 0.5, rank_copy=rd.rank)
    return combine("MT5", parts)


def sample_mt5(rng):
    S = int(rng.integers(1, 5))
    return P.random_pomdp(S, 2, int(rng.integers(2, 4)), 3, rng=rng)


register(
    Claim(
        id="MT5",
        name="hankel-rank-at-most-S",
        statement=r"\operatorname{rank} D_h \le S \text{ for every split } h;\ D_h = \mathrm{Alpha}_h \mathrm{Beta}_h",
        source=f"{_PAPER} (POMDPs are PSRs of rank <= S); Littman, Sutton & Singh (2002); {_NOTES} MT5",
        constant="none",
        tolerance=0.0,
        sample=sample_mt5,
        evaluate=check_mt5,
        default_instances=10,
        subjects=("mdp.pomdp.psr_rank", "mdp.pomdp.hankel_matrix"),
        instance="small POMDP (H <= 3 or so: the matrices are exact)",
        accepts=accept_pomdp,
        notes="Every entry of D_h is its own forward pass, not the factorisation, so the rank bound is a real check. "
        "Rank tolerance max(shape) eps sigma_max per split. The 2S-state copy (every state split in two) has the same "
        "process and must keep the rank.",
    )
)
