"""Action-grouping claims (``docs/papers/action_grouping.md``, AG1-AG6) as executable checks.

Every evaluator measures the lab's own code (:mod:`mdp.abstraction.grouping`): the lifted model,
the grouping errors, the three-term bound and the grouped learner. The bounds' constants are
derived in the note (and re-derived, for general bounded rewards, in
:func:`mdp.abstraction.grouping.grouping_loss_bound`), not taken from the paper, whose exact
constants were not verified: hence ``constant="derived"``.

A correction to the note: AG2's "refining a grouping never increases ``eps_P, eps_R``" is false
(one state, rewards ``{0, 10, 10, 10}`` plus a hundred ``5``'s: ``eps_R`` of the single group is
5.10, of the refinement ``{0, 10, 10, 10} | {5, ...}`` 7.5). What holds, for any ``mu``, is
``eps(finer) <= 2 eps(coarser)`` (a finer group's mean is a convex combination of its members,
each within ``eps`` of the coarse mean, so every member is within ``2 eps`` of it; the factor 2 is
approached by the same example); AG2 checks that.
"""

from __future__ import annotations

import numpy as np

import mdp
from mdp.abstraction import grouping as AG
from theory_checks import instances as I
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register, solve_exact

__all__ = [
    "sample_grouped_mdp",
    "check_ag1",
    "check_ag2",
    "sample_ag3",
    "check_ag3",
    "check_ag4",
    "check_ag5",
    "check_ag6",
]

_SOURCE = (
    "Li, Ju & Shroff (2024), Achieving sample and computational efficient RL by action space reduction "
    "via grouping, ICLR; docs/papers/action_grouping.md"
)


def _random_labels(rng, A: int, G: int) -> np.ndarray:
    labels = np.concatenate([np.arange(G), rng.integers(0, G, size=A - G)])
    return rng.permutation(labels)


def _random_mu(rng, labels: np.ndarray, S: int):
    """``None`` (uniform) half of the time, else a state-dependent rule with some zero entries."""
    if rng.random() < 0.5:
        return None
    w = rng.random((S, labels.size)) * (rng.random((S, labels.size)) < 0.8)
    G = labels.max() + 1
    for i in range(G):
        mem = np.flatnonzero(labels == i)
        block = w[:, mem]
        dead = block.sum(axis=1) == 0
        block[dead, 0] = 1.0
        w[:, mem] = block / block.sum(axis=1, keepdims=True)
    return w


def sample_grouped_mdp(rng: np.random.Generator):
    """An action-wise similar MDP and a grouping of it.

    ``S`` in 2-8, ``A`` in 2-10, ``G`` in 1..A, ``gamma`` in {0.5, 0.9, 0.99}; within each group the
    actions mix a group kernel ``Dirichlet(0.5 or 1)`` with their own draw (weight ``sigma`` in
    {0, 0.05, 0.3, 1}) and perturb a group reward; rewards in ``[0, 1]``; ``mu`` uniform or a random
    state-dependent rule; a quarter of the models sparse.
    """
    S = int(rng.integers(2, 9))
    A = int(rng.integers(2, 11))
    G = int(rng.integers(1, A + 1))
    gamma = float(rng.choice([0.5, 0.9, 0.99]))
    sigma = float(rng.choice([0.0, 0.05, 0.3, 1.0]))
    alpha = float(rng.choice([0.5, 1.0]))
    labels = _random_labels(rng, A, G)
    base = rng.dirichlet(np.full(S, alpha), size=(S, G))  # (S, G, S')
    own = rng.dirichlet(np.full(S, alpha), size=(S, A))
    P = (1 - sigma) * base[:, labels] + sigma * own
    R = np.clip(rng.random((S, G))[:, labels] + sigma * (rng.random((S, A)) - 0.5), 0.0, 1.0)
    m = mdp.TabularMDP(P, R, gamma)
    if rng.random() < 0.25:
        m = m.to_sparse()
    return m, AG.ActionGrouping(labels, _random_mu(rng, labels, S), n_groups=G)


def _values(m, pi) -> np.ndarray:
    return np.asarray(mdp.policy_evaluation(m, pi).v)


# ------------------------------------------------------------------------------------------- AG1
def check_ag1(instance, rng) -> CheckResult:
    """``V^{pi_h o mu}_M = V^{pi_h}_{M_g}`` for a random deterministic and a random stochastic ``pi_h``."""
    m, g = instance
    lifted = AG.lifted_model(m, g)
    S, G = m.n_states, g.n_groups
    parts = {}
    for kind, pi_h in (
        ("deterministic", rng.integers(0, G, size=S)),
        ("stochastic", rng.dirichlet(np.ones(G), size=S)),
    ):
        v_true = _values(m, g.execute(pi_h, S))
        v_lift = _values(lifted, pi_h)
        scale = 1.0 + float(np.abs(v_lift).max())
        parts[kind] = identity("AG1", float(np.abs(v_true - v_lift).max()), 1e-10 * scale)
    return combine("AG1", parts)


# ------------------------------------------------------------------------------------------- AG2
def _split(rng, g: AG.ActionGrouping) -> AG.ActionGrouping | None:
    """Split a random group of size >= 2 in two (mu made uniform); None if every group is a singleton."""
    big = np.flatnonzero(g.sizes >= 2)
    if big.size == 0:
        return None
    i = int(rng.choice(big))
    mem = rng.permutation(g.members(i))
    cut = int(rng.integers(1, mem.size))
    labels = g.labels.copy()
    labels[mem[cut:]] = g.n_groups
    return AG.ActionGrouping(labels, n_groups=g.n_groups + 1)


def check_ag2(instance, rng) -> CheckResult:
    """``0 <= V*_M - V^{pi_g* o mu}_M <= B(g)``; ``B = 0`` and zero loss when groups hold identical
    actions; a split grouping has ``eps <= 2 eps`` of the coarser one (the note's "never increases"
    is false, see the module docstring)."""
    m, g = instance
    gamma = m.gamma
    v_star = np.asarray(solve_exact(m, 1e-12).v)
    lifted = AG.lifted_model(m, g)
    pi_g = np.asarray(solve_exact(lifted, 1e-12).pi)
    loss = v_star - _values(m, g.execute(pi_g, m.n_states))
    b = AG.grouping_loss_bound(m, g, 1, 0).approximation
    scale = 1.0 + float(np.abs(v_star).max())
    parts = {
        # round-off allowances are folded into the bound, so that tightness <= 1 iff the claim holds
        "loss<=B(g)": inequality(
            "AG2", float(loss.max()), b + 1e-10 * scale, rtol=0.0, atol=0.0, eps=tuple(AG.grouping_errors(m, g))
        ),
        "loss>=0": inequality("AG2", float(-loss.min()), 0.0, rtol=0.0, atol=1e-10 * scale),
    }
    # identical actions within groups: replace every action by its group's mu-average
    P_bar = lifted.dense_P()[:, g.labels]
    R_bar = np.asarray(lifted.R)[:, g.labels]
    same = mdp.TabularMDP(P_bar, R_bar, gamma)
    b0 = AG.grouping_loss_bound(same, g, 1, 0).approximation
    lifted0 = AG.lifted_model(same, g)
    loss0 = np.asarray(solve_exact(same, 1e-12).v) - _values(
        same, g.execute(np.asarray(solve_exact(lifted0, 1e-12).pi), m.n_states)
    )
    parts["identical:B=0"] = identity("AG2", b0, 1e-12 / (1 - gamma) ** 2)
    parts["identical:loss=0"] = identity("AG2", float(np.abs(loss0).max()), 1e-9 * scale)
    fine = _split(rng, AG.ActionGrouping(g.labels, n_groups=g.n_groups))
    if fine is not None:
        coarse_e = AG.grouping_errors(m, g.labels)
        fine_e = AG.grouping_errors(m, fine)
        parts["refine:eps_P"] = inequality("AG2", fine_e.eps_P, 2 * coarse_e.eps_P + 1e-12, rtol=0.0, atol=0.0)
        parts["refine:eps_R"] = inequality("AG2", fine_e.eps_R, 2 * coarse_e.eps_R + 1e-12, rtol=0.0, atol=0.0)
    return combine("AG2", parts)


# ------------------------------------------------------------------------------------------- AG3
def sample_ag3(rng: np.random.Generator):
    """A small grouped MDP (``S`` in 2-4, ``A`` in 2-6) with Bernoulli reward observations, ``N`` in
    {5, 20, 100} and ``delta`` in {0.05, 0.2, 0.5}."""
    while True:
        m, g = sample_grouped_mdp(rng)
        if m.n_states <= 4 and m.n_actions <= 6:
            break
    return m.to_dense(), g, int(rng.choice([5, 20, 100])), float(rng.choice([0.05, 0.2, 0.5]))


def check_ag3(instance, rng, *, n_reps: int = 500) -> CheckResult:
    """Over ``n_reps`` independent samples: the frequency of the concentration event failing
    (``max ||Phat - Pbar||_1 > e_P`` or ``max |Rhat - Rbar| > e_R``) is at most ``delta``; the
    frequency of the loss event failing is reported (it is contained in the first)."""
    m, g, N, delta = instance
    lifted = AG.lifted_model(m, g)
    bound = AG.grouping_loss_bound(m, g, N, 0, delta=delta, reward_noise="bernoulli")
    Pbar, Rbar = lifted.dense_P(), np.asarray(lifted.R)
    v_g = np.asarray(solve_exact(lifted, 1e-12).v)
    conc_fail = loss_fail = 0
    worst_ratio = 0.0
    for _ in range(n_reps):
        res = AG.grouped_learner(m, g, N, 0, rng=rng, reward_noise="bernoulli")
        dP = np.abs(res.model.dense_P() - Pbar).sum(axis=2).max()
        dR = np.abs(np.asarray(res.model.R) - Rbar).max()
        conc_fail += bool(dP > bound.e_P or dR > bound.e_R)
        worst_ratio = max(worst_ratio, dP / bound.e_P)
        pi_inf = np.asarray(solve_exact(res.model, 1e-12).pi)
        loss_fail += bool((v_g - _values(lifted, pi_inf)).max() > bound.estimation)
    freq = conc_fail / n_reps
    return inequality(
        "AG3",
        freq,
        delta,
        rtol=0.0,
        atol=0.0,
        n_reps=n_reps,
        N=N,
        loss_failure_frequency=loss_fail / n_reps,
        worst_l1_over_e_P=worst_ratio,
        e_P=bound.e_P,
        e_R=bound.e_R,
    )


# ------------------------------------------------------------------------------------------- AG4
def check_ag4(instance, rng) -> CheckResult:
    """After ``T`` sweeps from 0 the greedy policy loses at most ``2 gamma^{T+1} max|Rhat| / (1-gamma)^2``
    in the empirical lifted model (``T`` random in 0-30, ``N`` in {1, 10})."""
    m, g = instance
    T = int(rng.integers(0, 31))
    res = AG.grouped_learner(
        m, g, int(rng.choice([1, 10])), T, rng=rng, reward_noise=str(rng.choice(["none", "bernoulli"]))
    )
    v_hat = np.asarray(solve_exact(res.model, 1e-13).v)
    loss = float((v_hat - _values(res.model, res.pi_high)).max())
    gamma = m.gamma
    bound = 2 * gamma ** (T + 1) * float(np.abs(res.model.R).max()) / (1 - gamma) ** 2
    return inequality("AG4", loss, bound + 1e-10 * (1 + float(np.abs(v_hat).max())), rtol=0.0, atol=0.0, T=T)


# ------------------------------------------------------------------------------------------- AG5
def sample_ag5(rng: np.random.Generator):
    """A planted-cluster MDP (``S`` = 4-8, 2-4 clusters of 3-6 actions (so ``A >= 6``: 5 distinct ``G``), ``sigma`` in {0.05, 0.2, 0.5},
    ``gamma`` in {0.5, 0.9}) and a reward-observation mode."""
    m, _ = AG.planted_cluster_mdp(
        rng,
        n_states=int(rng.integers(4, 9)),
        n_clusters=int(rng.integers(2, 5)),
        cluster_size=int(rng.integers(3, 7)),
        sigma=float(rng.choice([0.05, 0.2, 0.5])),
        gamma=float(rng.choice([0.5, 0.9])),
    )
    return m, str(rng.choice(["none", "bernoulli"]))


def check_ag5(instance, rng, *, budgets=(200, 2_000, 20_000), T: int = 10, delta: float = 0.05) -> CheckResult:
    """Realised loss ``max_s V*_M - V^{pi_hat o mu}_M`` <= the AG5 bound for 5 nested groupings x 3 budgets."""
    m, noise = instance
    A, S = m.n_actions, m.n_states
    sizes = {1, 2, max(1, A // 4), max(1, A // 2), A}
    extra = [G for G in rng.permutation(np.arange(1, A + 1)) if G not in sizes]
    sizes = sorted(sizes | set(int(G) for G in extra[: max(0, 5 - len(sizes))]))
    fam = AG.nested_groupings(AG.action_signatures(m), sizes)
    v_star = np.asarray(solve_exact(m, 1e-12).v)
    parts = {}
    for budget in budgets:
        for g in fam:
            N = max(1, budget // (S * g.n_groups))
            res = AG.grouped_learner(m, g, N, T, rng=rng, reward_noise=noise, v_star=v_star)
            b = AG.grouping_loss_bound(m, g, N, T, delta=delta, reward_noise=noise)
            parts[f"G={g.n_groups},N={N}"] = inequality(
                "AG5",
                res.loss,
                b.total,
                rtol=1e-9,
                atol=1e-10,
                approximation=b.approximation,
                estimation=b.estimation,
                computation=b.computation,
            )
    return combine("AG5", parts)


# ------------------------------------------------------------------------------------------- AG6
def sample_ag6(rng: np.random.Generator) -> np.random.Generator:
    """The instances are drawn inside the check (30 planted-cluster MDPs from this generator)."""
    return np.random.default_rng(rng.integers(2**63))


def check_ag6(
    instance,
    rng,
    *,
    n_replicates: int = 30,
    sigma: float = 0.05,
    budgets=(2_000, 200_000),
    sizes=(1, 2, 4, 8, 16, 32, 64),
    T: int = 100,
) -> CheckResult:
    """``argmin_G`` of the mean realised loss at the small budget is strictly coarser than at the large one.

    The note's lab instance (``S = 10``, 4 clusters x 16 actions, ``gamma = 0.9``), Bernoulli reward
    observations, ``N = budget // (S G)``, loss ``mean_s (V* - V^{pi_hat o mu})`` averaged over
    ``n_replicates`` instances. ``observed`` is the index (in ``sizes``) of the small-budget argmin,
    ``bound`` the large-budget argmin's index minus one.
    """
    gen = instance if isinstance(instance, np.random.Generator) else np.random.default_rng(instance)
    losses = np.zeros((len(budgets), len(sizes)))
    bounds = np.zeros((len(budgets), len(sizes)))
    for _ in range(n_replicates):
        m, _clusters = AG.planted_cluster_mdp(gen, sigma=sigma)
        v_star = np.asarray(solve_exact(m, 1e-12).v)
        fam = AG.nested_groupings(AG.action_signatures(m), sizes)
        for bi, budget in enumerate(budgets):
            for gi, g in enumerate(fam):
                N = max(1, budget // (m.n_states * g.n_groups))
                res = AG.grouped_learner(m, g, N, T, rng=gen, reward_noise="bernoulli", v_star=v_star)
                losses[bi, gi] += res.loss_per_state.mean() / n_replicates
                bounds[bi, gi] += AG.grouping_loss_bound(m, g, N, T, reward_noise="bernoulli").total / n_replicates
    k_small, k_large = int(np.argmin(losses[0])), int(np.argmin(losses[-1]))
    return inequality(
        "AG6",
        k_small,
        k_large - 1,
        rtol=0.0,
        atol=0.0,
        argmin_G={b: sizes[int(np.argmin(losses[i]))] for i, b in enumerate(budgets)},
        bound_argmin_G={b: sizes[int(np.argmin(bounds[i]))] for i, b in enumerate(budgets)},
        mean_loss={b: losses[i].round(4).tolist() for i, b in enumerate(budgets)},
    )


# ------------------------------------------------------------------------------------ user instances
_PAIR = "(m, grouping): an mdp.TabularMDP and an mdp.abstraction.ActionGrouping (or its labels, an int array (A,)) of its actions"


def _grouping(x, name="grouping"):
    if isinstance(x, AG.ActionGrouping):
        return x
    return AG.ActionGrouping(I.int_array(1)(x, name))


def _accept_grouped(x, name="instance"):
    """``(m, grouping)``; labels are turned into an :class:`ActionGrouping` (uniform ``mu``)."""
    m, g = I.tuple_of(I.tabular_mdp, _grouping, names=("m", "grouping"))(x, name)
    g.check_model(m, f"{name}[1] (grouping)")
    return m, g


def _accept_ag3(x, name="instance"):
    """``(m, grouping, N, delta)``."""
    if not isinstance(x, (tuple, list)) or len(x) != 4:
        raise TypeError(f"{name} must be a tuple (m, grouping, N, delta), got {I.kind_name(x)}")
    m, g = _accept_grouped(tuple(x[:2]), name)
    N = I.positive_int(x[2], f"{name}[2] (N)")
    delta = I.real("(0, 1)")(x[3], f"{name}[3] (delta)")
    R = np.asarray(m.R)
    if R.min() < 0 or R.max() > 1:
        raise ValueError(
            f"{name}: Bernoulli reward observations need rewards in [0, 1], got [{R.min():.3g}, {R.max():.3g}]"
        )
    return m.to_dense(), g, N, delta


def _accept_ag5(x, name="instance"):
    """A model (exact reward observations) or ``(m, noise)`` with ``noise in {"none", "bernoulli"}``."""
    if not isinstance(x, (tuple, list)):
        return I.tabular_mdp(x, name), "none"
    m, noise = I.tuple_of(I.tabular_mdp, I.choice("none", "bernoulli"), names=("m", "noise"))(x, name)
    if noise == "bernoulli" and (np.asarray(m.R).min() < 0 or np.asarray(m.R).max() > 1):
        raise ValueError(f"{name}: Bernoulli reward observations need rewards in [0, 1]")
    return m, noise


def _accept_ag6(x, name="instance"):
    """An int seed (a Generator passed to check() is its rng and seeds the draw)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)) or x < 0:
        raise TypeError(
            f"{name} must be a non-negative int seed (the 30 planted-cluster instances are drawn "
            f"inside the check), got {I.kind_name(x)}"
        )
    return np.random.default_rng(int(x))


register(
    Claim(
        id="AG1",
        name="grouping-lifting-exact",
        statement=r"V^{\pi_h \circ \mu}_M = V^{\pi_h}_{M_g}\ \text{for every high-level } \pi_h",
        source=f"{_SOURCE} AG1",
        constant="none",
        tolerance=1e-10,
        sample=sample_grouped_mdp,
        evaluate=check_ag1,
        notes="Exact linear solves (mdp.policy_evaluation) on random action-wise similar MDPs (dense and sparse), "
        "uniform and random state-dependent mu with zero entries; one deterministic and one stochastic pi_h; "
        "tolerance 1e-10 (1 + ||V||).",
        subjects=("mdp.abstraction.lifted_model", "mdp.abstraction.ActionGrouping.execute"),
        instance=_PAIR,
        accepts=_accept_grouped,
    )
)

register(
    Claim(
        id="AG2",
        name="grouping-approximation-error",
        statement=r"0 \le V^*_M - V^{\pi_g^* \circ \mu}_M \le B(g) = \frac{\epsilon_R + \gamma\,\epsilon_P\,"
        r"\mathrm{span}(R) / (2(1-\gamma))}{1-\gamma};\ \ \epsilon(g') \le 2\,\epsilon(g)\ (g' \text{ refines } g)",
        source=f"{_SOURCE} AG2 (via foundations F9)",
        constant="derived",
        tolerance=1e-10,
        sample=sample_grouped_mdp,
        evaluate=check_ag2,
        notes="Derived in the note (span(R) generalises its rewards-in-[0,1] constant; for those rewards it is at "
        "most the note's B). Also: B = 0 and zero loss when groups hold identical actions. The note's "
        "'refining never increases eps_P, eps_R' is false (counterexample in theory_checks/grouping.py); the "
        "true factor-2 statement is checked on a random split of a group with uniform mu.",
        subjects=(
            "mdp.abstraction.lifted_model",
            "mdp.abstraction.grouping_loss_bound",
            "mdp.abstraction.grouping_errors",
        ),
        instance=_PAIR,
        accepts=_accept_grouped,
    )
)

register(
    Claim(
        id="AG3",
        name="grouping-estimation-error",
        statement=r"\Pr\big[\max_{s,i}\|\hat P_i(\cdot|s)-\bar P_i(\cdot|s)\|_1 > e_P \ \vee\ \max|\hat R-\bar R| > e_R\big]"
        r" \le \delta,\ e_P = \sqrt{2(|S|\ln 2 + \ln(2|S|G/\delta))/N},\ e_R = \sqrt{\ln(4|S|G/\delta)/(2N)}",
        source=f"{_SOURCE} AG3; Weissman et al. (2003) L1 deviation; Hoeffding (1963)",
        constant="derived",
        tolerance=0.0,
        sample=sample_ag3,
        evaluate=check_ag3,
        default_instances=1,
        notes="Statistical: one instance = 500 independent samplings (the note's count) of a small grouped MDP "
        "(S <= 4, A <= 6) with Bernoulli reward observations, N in {5, 20, 100}, delta in {0.05, 0.2, 0.5}; "
        "observed is the failure frequency of the concentration event, bound is delta. The frequency with "
        "which the empirical optimum loses more than 2(e_R + gamma e_P c)/(1-gamma) in M_g is reported in "
        "details (always 0 in our runs: Weissman + the union bound are loose).",
        subjects=("mdp.abstraction.grouped_learner", "mdp.abstraction.grouping_loss_bound"),
        instance="(m, grouping, N, delta): a small mdp.TabularMDP with rewards in [0, 1], a grouping (as for AG1), N a positive int, delta in (0, 1); 500 samplings and 500 exact solves",
        accepts=_accept_ag3,
    )
)

register(
    Claim(
        id="AG4",
        name="grouping-computation-error",
        statement=r"V^*_{\hat M_g} - V^{\hat\pi_T}_{\hat M_g} \le 2\gamma^{T+1}\max|\hat R| / (1-\gamma)^2",
        source=f"{_SOURCE} AG4 (foundations F2 + F4)",
        constant="derived",
        tolerance=1e-10,
        sample=sample_grouped_mdp,
        evaluate=check_ag4,
        notes="T VI sweeps from V_0 = 0 in the empirical lifted model of grouped_learner (T random in 0-30, N in "
        "{1, 10}, expected or Bernoulli reward observations); exact evaluation of the greedy policy.",
        subjects=("mdp.abstraction.grouped_learner",),
        instance=_PAIR,
        accepts=_accept_grouped,
    )
)

register(
    Claim(
        id="AG5",
        name="grouping-total-loss-bound",
        statement=r"V^*_M - V^{\hat\pi\circ\mu}_M \le B(g) + \frac{2(e_R + \gamma e_P\,\mathrm{span}(R)/(2(1-\gamma)))}"
        r"{1-\gamma} + \frac{2\gamma^{T+1}\max|\hat R|}{(1-\gamma)^2}\ \text{w.p.} \ge 1-\delta",
        source=f"{_SOURCE} AG5 (same structure as the paper's Theorem 1)",
        constant="derived",
        tolerance=1e-10,
        sample=sample_ag5,
        evaluate=check_ag5,
        default_instances=200,
        notes="Statistical (delta = 0.05 per run): each instance is a planted-cluster MDP with 5 nested Ward "
        "groupings x 3 budgets (200, 2e3, 2e4 samples; T = 10); default 200 instances = 3000 runs, as in the "
        "note. A violation would be a bug: the realised loss is typically 20-300x below the bound.",
        subjects=(
            "mdp.abstraction.grouped_learner",
            "mdp.abstraction.grouping_loss_bound",
            "mdp.abstraction.nested_groupings",
        ),
        instance='an mdp.TabularMDP (exact reward observations) or (m, noise) with noise in {"none", "bernoulli"}; 15 grouped-learner runs',
        accepts=_accept_ag5,
    )
)

register(
    Claim(
        id="AG6",
        name="grouping-tradeoff",
        statement=r"\arg\min_G \overline{\mathrm{loss}}(G; N_{tot} = 2\cdot 10^3) < \arg\min_G "
        r"\overline{\mathrm{loss}}(G; N_{tot} = 2\cdot 10^5)\ \text{over } G \in \{1, 2, 4, \dots, 64\}",
        source=f"{_SOURCE} AG6 (the paper's headline trade-off)",
        constant="none",
        tolerance=0.0,
        sample=sample_ag6,
        evaluate=check_ag6,
        default_instances=1,
        notes="The note's lab instance (S = 10, 4 planted clusters x 16 actions, sigma = 0.05, gamma = 0.9, T = 100), "
        "30 instances per check, Bernoulli reward observations. With exact (noise-free) reward observations "
        "the finest grouping wins at every budget here (only the transitions are estimated, and the planted "
        "clusters differ a lot), so the trade-off needs noisy rewards. The note's second assertion (the "
        "bound's argmin tracks the realised one within one step) is NOT made: the bound's argmin stays at "
        "G = 4 at every budget while the realised one moves to 32 (details report both).",
        subjects=("mdp.abstraction.grouped_learner", "mdp.abstraction.planted_cluster_mdp"),
        instance="an int seed (the 30 planted-cluster MDPs are drawn inside the check)",
        accepts=_accept_ag6,
    )
)
