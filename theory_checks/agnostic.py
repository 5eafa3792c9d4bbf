"""Agnostic policy learning claims (``docs/papers/agnostic_rl.md``, AR1-AR6) as executable checks.

Every evaluator measures the lab's own code (:mod:`mdp.agnostic`): the spanning-capacity search
against a literal enumeration of every deterministic MDP, the trajectory-tree learner's queries,
estimates and PAC guarantee, and PSDP on the completeness counterexample. Sources: the thesis of
G. Li (2025, arXiv 2506.01884), Jia, Li, Rakhlin, Sekhari & Srebro (2023, arXiv 2310.06113),
Krishnamurthy, Li & Sekhari (2025, arXiv 2504.05405), Bagnell et al. (2003), Kearns, Mansour & Ng
(1999); the values are those of the paper notes after their Corrections section.
"""

from __future__ import annotations

import numpy as np

from mdp import agnostic as ag
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register

__all__ = [
    "psdp_counterexample",
    "sample_ar1",
    "check_ar1",
    "sample_model_and_class",
    "check_ar2",
    "check_ar3",
    "check_ar4",
    "check_ar5",
    "check_ar6",
    "accept_class",
    "accept_model_and_class",
]

_THESIS = "G. Li (2025), Agnostic Reinforcement Learning: Foundations and Algorithms, arXiv 2506.01884"
_JIA = "Jia, Li, Rakhlin, Sekhari & Srebro (2023), When is agnostic RL statistically tractable?, arXiv 2310.06113"
_NOTES = "docs/papers/agnostic_rl.md"


# ----------------------------------------------------------------------------- instances
def accept_class(instance):
    """``(policies (K, H, S), n_actions)``."""
    if not (isinstance(instance, tuple) and len(instance) == 2):
        raise TypeError("expected a tuple (policies of shape (K, H, S), n_actions)")
    pol, A = instance
    return ag.check_policy_table(pol, (None, None, int(A))), int(A)


def accept_model_and_class(instance):
    """``(LayeredMDP with returns in [0, 1], policies (K, H, S))``."""
    if not (isinstance(instance, tuple) and len(instance) == 2 and isinstance(instance[0], ag.LayeredMDP)):
        raise TypeError("expected a tuple (mdp.agnostic.LayeredMDP, policies of shape (K, H, S))")
    m, pol = instance
    pol = ag.check_policy_table(pol, m)
    if not m.returns_in_unit_interval():
        raise ValueError("the LayeredMDP's returns must lie in [0, 1] (use model.scaled())")
    return m, pol


def sample_ar1(rng):
    H, S, A = [(3, 2, 2), (2, 3, 2), (2, 2, 3)][int(rng.integers(3))]
    return ag.random_policies(int(rng.integers(1, 9)), H, S, A, rng=rng), A


def sample_model_and_class(rng):
    H, S, A = int(rng.integers(2, 5)), int(rng.integers(2, 6)), int(rng.integers(2, 4))
    m = ag.sparse_branching(H, S, A, rng=rng, branching=int(rng.integers(1, 4)))
    return m, ag.random_policies(int(rng.integers(2, 9)), H, S, A, rng=rng)


def psdp_counterexample(complete: bool = False, mu_x: float = 0.1):
    """The two-layer PSDP instance of AR5: ``(model, classes, mus, pi_star)``.

    Layer 0: start ``s0`` (state 0; state 1 unused), ``Pi_0 = {go_x}`` (action 0 goes to ``x``,
    action 1 to ``y``). Layer 1: states ``x = 0``, ``y = 1``; action 0 pays ``(x: 1, y: 0)``,
    action 1 pays ``(x: 0.5, y: 1)``; ``Pi_1 = {f = (0, 0), g = (1, 1)}`` plus ``h = (0, 1)`` when
    ``complete``. ``mu_1 = (mu_x, 1 - mu_x)``. ``pi* = (go_x, f)`` has value 1.
    """
    P = np.zeros((1, 2, 2, 2))
    P[0, :, 0, 0] = 1.0  # go_x
    P[0, :, 1, 1] = 1.0  # go_y
    R = np.zeros((2, 2, 2))
    R[1] = [[1.0, 0.5], [0.0, 1.0]]
    m = ag.LayeredMDP(P, R, [1.0, 0.0])
    pi1 = [[0, 0], [1, 1]] + ([[0, 1]] if complete else [])
    classes = [np.array([[0, 0]]), np.array(pi1)]
    mus = np.array([[1.0, 0.0], [mu_x, 1.0 - mu_x]])
    pi_star = np.array([[0, 0], [0, 0]])
    return m, classes, mus, pi_star


# ----------------------------------------------------------------------------- AR1
def _known_values():
    parts = {}
    for H, S, A in ((3, 2, 2), (2, 3, 2), (2, 2, 3)):
        r = ag.spanning_capacity(ag.all_policies(H, S, A), A, per_layer=True)
        want = np.array([min(A ** (h + 1), S * A) for h in range(H)])
        parts[f"all policies H={H} S={S} A={A}"] = identity(
            "AR1", np.abs(r.per_layer - want).max(), 0.5, got=r.per_layer.tolist(), want=want.tolist()
        )
    for A in (2, 3):
        r = ag.spanning_capacity(ag.constant_action(3, 3, A), A)
        parts[f"constant-action A={A}"] = identity("AR1", abs(r.capacity - A), 0.5, got=r.capacity)
    for (H, S), want in {(3, 2): 3, (3, 3): 4, (3, 4): 4, (4, 4): 5}.items():
        r = ag.spanning_capacity(ag.singleton_deviations(H, S, 2), 2)
        parts[f"singletons H={H} S={S}"] = identity("AR1", abs(r.capacity - want), 0.5, got=r.capacity, want=want)
    return parts


def check_ar1(instance, rng) -> CheckResult:
    pol, A = instance
    r = ag.spanning_capacity(pol, A, per_layer=True)
    parts = _known_values()
    K = np.unique(pol, axis=0).shape[0]
    parts["C <= |Pi|"] = inequality("AR1", r.upper if not r.exact else r.capacity, K)
    H, S = pol.shape[1], pol.shape[2]
    if S ** (1 + (H - 1) * S * A) <= 20_000:
        ref = ag.reference_spanning_capacity(pol, A)
        parts["search = enumeration"] = identity(
            "AR1", np.abs(r.per_layer - ref).max(), 0.5, search=r.per_layer.tolist(), enumeration=ref.tolist()
        )
    else:  # too large to enumerate: the bracket must be consistent and its lower end attained
        h = int(np.argmax(r.per_layer))
        start, T = r.witnesses[h]
        att = ag.reachable_pairs(pol, start, T, A)[h]
        parts["witness attains lower"] = identity("AR1", abs(att - r.per_layer[h]), 0.5)
    return combine("AR1", parts)


register(
    Claim(
        id="AR1",
        name="spanning-capacity-values",
        statement=r"C_h(\Pi_{all}) = \min(A^{h}, SA);\ C(\Pi_{const}) = A;\ C(\Pi_{sing}) = H + 1 \text{ iff } S \ge H;"
        r"\ C(\Pi) \le |\Pi|;\ \text{search} = \max_{M \text{ det.}} |\mathrm{Reach}_h(\Pi; M)|",
        source=f"{_JIA}, definition of spanning capacity and its examples; {_THESIS}; {_NOTES} AR1 and Corrections",
        constant="none",
        tolerance=0.5,
        sample=sample_ar1,
        evaluate=check_ar1,
        default_instances=10,
        subjects=("mdp.agnostic.spanning_capacity", "mdp.agnostic.reference_spanning_capacity"),
        instance="(policies (K, H, S), n_actions)",
        accepts=accept_class,
        notes="Exact search vs literal enumeration of every deterministic MDP (start state and transition maps) "
        "where that is at most 2e4 MDPs; the known values (all policies, constant-action, singleton deviations "
        "at the corrected (H, S)) are checked on every call. Singletons: C = H + 1 needs S >= H (Corrections).",
    )
)


# ----------------------------------------------------------------------------- AR2
def _determinized(m):
    return ag.LayeredMDP.from_successors(
        m.next_states[..., :1], np.ones(m.next_states.shape[:3] + (1,)), m.R, np.eye(m.n_states)[int(np.argmax(m.rho0))]
    )


def check_ar2(instance, rng) -> CheckResult:
    m, pol = instance
    cap = ag.spanning_capacity(pol, m.n_actions, per_layer=True)
    bound = int(cap.per_layer_upper.sum())
    _, q = ag.tree_returns(m, pol, 200, rng=rng)
    parts = {
        "queries per tree <= sum_h C_h": inequality(
            "AR2", q.max(), bound, exact_capacity=cap.exact, sum_C=bound, H_times_C=m.horizon * cap.upper
        )
    }
    d = _determinized(m)
    ret, qd = ag.tree_returns(d, pol, 3, rng=rng)
    reach = ag.reachable_pairs(pol, int(np.argmax(d.rho0)), d.next_states[..., 0], m.n_actions).sum()
    parts["deterministic: estimates exact"] = identity("AR2", np.abs(ret - ag.policy_values(d, pol)).max(), 1e-12)
    parts["deterministic: queries = sum |Reach_h|"] = identity("AR2", np.abs(qd - reach).max(), 0.5)
    return combine("AR2", parts)


register(
    Claim(
        id="AR2",
        name="trajectory-tree-queries",
        statement=r"\#\text{queries per tree} = \sum_h |\mathrm{Reach}_h(\Pi; \text{tree})| \le \sum_h C_h(\Pi) \le H\,C(\Pi);"
        r"\ \text{deterministic } M: \hat V(\pi) = V(\pi)",
        source=f"{_THESIS} (generative-model upper bound); Kearns, Mansour & Ng (1999); {_NOTES} AR2 and Corrections",
        constant="none",
        tolerance=0.0,
        sample=sample_model_and_class,
        evaluate=check_ar2,
        default_instances=10,
        subjects=("mdp.agnostic.trajectory_tree", "mdp.agnostic.tree_returns", "mdp.agnostic.spanning_capacity"),
        instance="(LayeredMDP with returns in [0, 1], policies (K, H, S))",
        accepts=accept_model_and_class,
        notes="200 trees on the instance; the bound uses the certified per-layer upper bounds (the exact C_h when "
        "the search finishes). The deterministic part keeps the first successor of every pair and a fixed start.",
    )
)


# ----------------------------------------------------------------------------- AR3
def sample_ar3(rng):
    m = ag.sparse_branching(4, 8, 3, rng=rng, branching=2)
    return m, ag.random_policies(50, 4, 8, 3, rng=rng)


def check_ar3(instance, rng, *, eps=0.25, delta=0.1, runs=500) -> CheckResult:
    m, pol = instance
    v = ag.policy_values(m, pol)
    vstar, _ = ag.optimal_policy(m)
    fails = 0
    for _ in range(runs):
        r = ag.trajectory_tree(m, pol, eps, delta, rng=rng)
        fails += v[r.best] < v.max() - eps
    freq = fails / runs
    ret, _ = ag.tree_returns(m, pol, 4000, rng=rng)
    se = ret.std(axis=0) / np.sqrt(ret.shape[0]) + 1e-15
    z = float(np.max(np.abs(ret.mean(axis=0) - v) / se))
    parts = {
        "failure frequency <= delta": inequality(
            "AR3",
            freq,
            delta,
            runs=runs,
            eps=eps,
            n_trees=ag.required_trees(pol.shape[0], eps, delta),
            agnostic_gap=float(vstar - v.max()),
        ),
        "single-tree estimates unbiased (max |z| <= 5)": inequality("AR3", z, 5.0),
    }
    return combine("AR3", parts)


register(
    Claim(
        id="AR3",
        name="trajectory-tree-pac",
        statement=r"n = \lceil 2\log(2|\Pi|/\delta)/\epsilon^2 \rceil:\ \Pr[V(\hat\pi) < \max_{\pi\in\Pi} V(\pi) - \epsilon] \le \delta;"
        r"\ \mathbb{E}[\text{tree return of }\pi] = V(\pi)",
        source=f"{_THESIS}; Kearns, Mansour & Ng (1999); Hoeffding (1963); {_NOTES} AR3 and Corrections",
        constant="derived",
        tolerance=0.0,
        sample=sample_ar3,
        evaluate=check_ar3,
        default_instances=1,
        subjects=("mdp.agnostic.trajectory_tree", "mdp.agnostic.tree_returns"),
        instance="(LayeredMDP with returns in [0, 1], policies (K, H, S))",
        accepts=accept_model_and_class,
        notes="n derived here (Hoeffding with a two-sided union bound over |Pi| policies at accuracy eps/2, returns in "
        "[0, 1]; Corrections). Statistical: 500 runs at eps = 0.25, delta = 0.1 on a sparse-branching MDP with 50 "
        "random policies (agnostic: details give V* - max_Pi V); the bound is loose (0 failures expected), so "
        "unbiasedness of single-tree returns is also checked (4000 trees, every policy within 5 standard errors).",
    )
)


# ----------------------------------------------------------------------------- AR4
def _structured_class(H, S, A):
    s = np.arange(S)
    extra = [np.broadcast_to(s % A, (H, S)), np.broadcast_to((s >= S // 2).astype(np.int64) % A, (H, S))]
    return np.concatenate([ag.constant_action(H, S, A), np.stack(extra).astype(np.int64)])


def sample_ar4(rng):
    return int(rng.integers(0, 2**31))


def check_ar4(instance, rng, *, sizes=(4, 40, 400), H=4, A=2, n_trees=300) -> CheckResult:
    seed = int(instance)
    parts = {}
    bounds = []
    for S in sizes:
        g = np.random.default_rng(seed + S)
        m = ag.sparse_branching(H, S, A, rng=g, branching=2)
        pol = _structured_class(H, S, A)
        cap = ag.spanning_capacity(pol, A, per_layer=True)
        bound = int(cap.per_layer_upper.sum())
        bounds.append(bound)
        _, q = ag.tree_returns(m, pol, n_trees, rng=rng)
        parts[f"S={S}: queries <= sum_h C_h"] = inequality(
            "AR4",
            q.max(),
            bound,
            mean_queries=float(q.mean()),
            model_based_samples_per_triple=float(q.sum() / ((H - 1) * S * A)),
        )
    parts["sum_h C_h independent of S"] = identity("AR4", max(bounds) - min(bounds), 0.5, bounds=bounds)
    return combine("AR4", parts)


def accept_seed(instance):
    if isinstance(instance, bool) or not isinstance(instance, (int, np.integer)):
        raise TypeError("expected an integer seed (AR4 builds its own instances at |S_h| = 4, 40, 400)")
    return int(instance)


register(
    Claim(
        id="AR4",
        name="trajectory-tree-size-free",
        statement=r"\#\text{queries per tree} \le \sum_h C_h(\Pi) \text{ at every } |S_h|;\ "
        r"C_h(\Pi) \text{ does not grow with } |S_h| \text{ for a fixed structured class}",
        source=f"{_THESIS}; {_JIA} (generative upper bound, no |S| dependence); {_NOTES} AR4",
        constant="none",
        tolerance=0.0,
        sample=sample_ar4,
        evaluate=check_ar4,
        default_instances=3,
        subjects=("mdp.agnostic.trajectory_tree", "mdp.agnostic.spanning_capacity"),
        instance="int seed",
        accepts=accept_seed,
        notes="Class: constant actions plus 's mod A' and a threshold policy, at |S_h| = 4, 40, 400 (H = 4, A = 2, sparse "
        "branching 2). The exact spanning capacity is the same at every size, and so is the query bound; "
        "details give the per-triple samples a model-based learner would get from the same total (falls as 1/S).",
    )
)


# ----------------------------------------------------------------------------- AR5
def check_ar5(instance, rng) -> CheckResult:
    mu_x = float(instance)
    m, classes, mus, pi_star = psdp_counterexample(False, mu_x)
    r = ag.psdp(m, classes, mus)
    mc, cc, _, _ = psdp_counterexample(True, mu_x)
    rc = ag.psdp(mc, cc, mus)
    vstar = ag.policy_values(m, pi_star[None])[0]
    # with mu_x < 1/6 the incomplete class picks g (0.5 + 0.5 (1 - mu_x) > mu_x); value 0.5
    parts = {
        "incomplete: PSDP value = 0.5": identity("AR5", abs(r.value - 0.5), 1e-12, chose=int(r.chosen[1])),
        "pi* in class has value 1": identity("AR5", abs(vstar - 1.0), 1e-12),
        "completed class: PSDP optimal": identity("AR5", abs(rc.value - 1.0), 1e-12, chose=int(rc.chosen[1])),
    }
    return combine("AR5", parts)


def accept_mu(instance):
    x = float(instance)
    if not 0.0 <= x < 1.0 / 3.0:
        raise ValueError("expected the reset mass mu_x on x in [0, 1/3) (where g beats f under mu_2)")
    return x


register(
    Claim(
        id="AR5",
        name="psdp-needs-completeness",
        statement=r"\pi^* \in \Pi,\ \mu_2 = (0.1, 0.9):\ V(\mathrm{PSDP}) = 0.5 < 1 = V(\pi^*);\ "
        r"\Pi_2 \cup \{h\}\ (h = f \text{ on } x, g \text{ on } y):\ V(\mathrm{PSDP}) = 1",
        source=f"{_THESIS}; Krishnamurthy, Li & Sekhari (2025), arXiv 2504.05405; Bagnell et al. (2003); {_NOTES} AR5",
        constant="none",
        tolerance=1e-12,
        sample=lambda rng: float(rng.uniform(0.0, 0.3)),
        evaluate=check_ar5,
        default_instances=5,
        subjects=("mdp.agnostic.psdp",),
        instance="float mu_x in [0, 1/3): the reset mass on x",
        accepts=accept_mu,
        notes="Exact evaluation. g beats f under mu_2 iff 0.5 mu_x + (1 - mu_x) > mu_x, i.e. mu_x < 2/3; the claim "
        "samples mu_x in [0, 0.3) (the notes' 0.1 among them).",
    )
)


# ----------------------------------------------------------------------------- AR6
def performance_difference_terms(m, pi_star, pi_hat):
    """``terms[h, s] = d^{pi*}_h(s) (Q^{pi_hat}_h(s, pi*_h(s)) - Q^{pi_hat}_h(s, pi_hat_h(s)))``."""
    H, S, A = m.R.shape
    eye = np.eye(A)
    Q, _ = ag.stochastic_q_values(m, eye[pi_hat])
    d = ag.layer_distributions(m, eye[pi_star], m.rho0)
    sidx = np.arange(S)
    return np.stack([d[h] * (Q[h, sidx, pi_star[h]] - Q[h, sidx, pi_hat[h]]) for h in range(H)])


def check_ar6(instance, rng) -> CheckResult:
    m, pol = instance
    H, S, A = m.R.shape
    mus = np.full((H, S), 1.0 / S)
    r = ag.psdp(m, pol, mus)
    v = ag.policy_values(m, pol)
    pi_star = pol[int(np.argmax(v))]
    terms = performance_difference_terms(m, pi_star, r.pi)
    loss = v.max() - r.value
    parts = {"V(pi*) - V(PSDP) = sum of PD terms": identity("AR6", abs(loss - terms.sum()), 1e-10, loss=float(loss))}
    mc, classes, mus2, ps = psdp_counterexample(False, 0.1)
    rc = ag.psdp(mc, classes, mus2)
    t2 = performance_difference_terms(mc, ps, rc.pi)
    parts["AR5 loss = layer-2 term on x = 0.5"] = identity("AR6", abs(t2[1, 0] - 0.5) + abs(t2.sum() - t2[1, 0]), 1e-12)
    return combine("AR6", parts)


register(
    Claim(
        id="AR6",
        name="psdp-performance-difference",
        statement=r"V(\pi^*) - V(\hat\pi) = \sum_h \mathbb{E}_{s\sim d^{\pi^*}_h}\big[Q^{\hat\pi}_h(s, \pi^*_h(s)) - "
        r"Q^{\hat\pi}_h(s, \hat\pi_h(s))\big]",
        source=f"Kakade & Langford (2002), performance-difference lemma (Lemma 6.1, cited from memory; finite-horizon form; foundations F11); {_NOTES} AR6 and Corrections",
        constant="none",
        tolerance=1e-10,
        sample=sample_model_and_class,
        evaluate=check_ar6,
        default_instances=10,
        subjects=("mdp.agnostic.psdp",),
        instance="(LayeredMDP with returns in [0, 1], policies (K, H, S))",
        accepts=accept_model_and_class,
        notes="pi* = the best policy of the class (exact values), pi_hat = PSDP's output with uniform resets; Q of "
        "pi_hat, d of pi* (Corrections). On AR5's instance the whole loss is the layer-2 term at x, 0.5.",
    )
)
