"""Bisimulation claims (``docs/papers/foundations.md`` sections 3, 9, 10) as executable checks.

B1 (the exact quotient preserves ``V*`` and a lifted quotient-optimal policy is optimal), B2 (the
computed partition is the coarsest: planted symmetries give the planted number of blocks), AGG (the
value-loss bound of an approximate aggregation), B4 (the Ferns operator's fixed-point iteration:
monotone from 0, ``||d_t - d*|| <= c_T^t ||d*||``), B5 (``|V*(s) - V*(t)| <= d*(s, t)`` with
``c_R = 1, c_T = gamma``), B6 (``d*(s, t) = 0`` iff bisimilar), B7 (``|V^pi(s) - V^pi(t)| <=
d^pi(s, t)``) and B8 (Castro's sampled update converges to the LP fixed point). Each evaluator
measures the lab's own code (:mod:`mdp.abstraction.partition`, :mod:`mdp.abstraction.metrics`).

Instances: planted copies of random MDPs (:func:`mdp.abstraction.partition.planted_copies`:
every state duplicated 1-3 times, the transition mass into a state split at random over its
copies, the states shuffled) and stripe gridworlds (a goal row; one block per row).
"""

from __future__ import annotations

import numpy as np

import mdp
from mdp._validation import check_policy
from mdp.abstraction import metrics as MT
from mdp.abstraction.partition import approximate_aggregation, bisimulation, planted_copies, stripe_gridworld
from theory_checks import instances as I
from theory_checks.core import CheckResult, Claim, combine, identity, inequality, register, solve_exact

__all__ = [
    "sample_planted",
    "sample_noisy",
    "sample_small",
    "sample_deterministic",
    "check_b1",
    "check_b2",
    "check_agg",
    "check_b4",
    "check_b5",
    "check_b6",
    "check_b7",
    "check_b8",
]


# ----------------------------------------------------------------------------------- instances
def sample_planted(rng: np.random.Generator):
    """``(model, planted classes, n_classes)``: 3 in 4 draws are planted copies of a random MDP
    (2-6 base states, 1-3 actions, Dirichlet(0.1 or 1), 1-3 copies each, dense or CSR), the rest a
    stripe gridworld (width 2-8, height 2-6; one class per row)."""
    if rng.random() < 0.25:
        W, H = (int(x) for x in (rng.integers(2, 9), rng.integers(2, 7)))
        m = stripe_gridworld(W, H, slip=float(rng.choice([0.0, 0.1, 0.3])), gamma=float(rng.choice([0.5, 0.9])))
        return m, np.arange(m.n_states) // W, H
    n = int(rng.integers(2, 7))
    A = int(rng.integers(1, 4))
    base = mdp.generators.random_mdp(
        n, A, rng=rng, alpha=float(rng.choice([0.1, 1.0])), gamma=float(rng.choice([0.5, 0.9, 0.99]))
    )
    m, classes = planted_copies(base, rng.integers(1, 4, size=n), rng=rng, sparse=bool(rng.random() < 0.3))
    return m, classes, n


def sample_noisy(rng: np.random.Generator):
    """``(model, tol_r, tol_p)``: planted copies (2-5 base states, 3 copies) perturbed by
    ``noise in {1e-4, 1e-3, 1e-2}`` on rewards and rows; tolerances 4 and 8 times the noise."""
    n = int(rng.integers(2, 6))
    noise = float(rng.choice([1e-4, 1e-3, 1e-2]))
    base = mdp.generators.random_mdp(n, int(rng.integers(1, 4)), rng=rng, gamma=float(rng.choice([0.5, 0.9])))
    m, _ = planted_copies(base, 3, rng=rng, noise_r=noise, noise_p=noise)
    return m, 4 * noise, 8 * noise


def sample_small(rng: np.random.Generator):
    """A random MDP with 2-6 states, 1-3 actions, Dirichlet(0.1 or 1) rows, gamma in {0.5, 0.9}."""
    return mdp.generators.random_mdp(
        int(rng.integers(2, 7)),
        int(rng.integers(1, 4)),
        rng=rng,
        alpha=float(rng.choice([0.1, 1.0])),
        gamma=float(rng.choice([0.5, 0.9])),
    )


def sample_deterministic(rng: np.random.Generator):
    """``(model, pi)``: 2-12 states, 1-3 actions, one random successor per pair, U[0, 1] rewards,
    gamma in {0.5, 0.9}; a random deterministic policy."""
    S = int(rng.integers(2, 13))
    A = int(rng.integers(1, 4))
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, size=(S, A))] = 1.0
    m = mdp.TabularMDP(P, rng.random((S, A)), float(rng.choice([0.5, 0.9])))
    return m, rng.integers(0, A, size=S)


# ----------------------------------------------------------------------------------- checks
def check_b1(instance, rng) -> CheckResult:
    """``V*(s) = V*_Q(block(s))`` and ``V^{lift(pi_Q)} = V*`` (both to 1e-8 relative)."""
    m = instance[0]
    res = bisimulation(m)
    full = solve_exact(m, 1e-12)
    q = solve_exact(res.quotient, 1e-12)
    scale = 1.0 + float(np.abs(full.v).max())
    v_pi = mdp.policy_evaluation(m, res.lift_policy(q.pi)).v
    parts = {
        "values": identity("B1", np.abs(res.lift_values(q.v) - full.v).max(), 1e-8 * scale),
        "q-values": identity("B1", np.abs(res.lift_values(q.q) - full.q).max(), 1e-8 * scale),
        "lifted policy": identity("B1", np.abs(v_pi - full.v).max(), 1e-8 * scale),
    }
    out = combine("B1", parts)
    out.details.update(n_states=m.n_states, n_blocks=res.n_blocks)
    return out


def check_b2(instance, rng) -> CheckResult:
    """The number of blocks equals the planted number of classes and the blocks are the classes."""
    m, classes, n = instance
    res = bisimulation(m)
    same = res.labels[:, None] == res.labels[None, :]
    planted = np.asarray(classes)[:, None] == np.asarray(classes)[None, :]
    mismatch = int(np.count_nonzero(same != planted)) + abs(res.n_blocks - n)
    return identity("B2", mismatch, 0.5, n_blocks=res.n_blocks, planted=n, n_states=m.n_states)


def check_agg(instance, rng) -> CheckResult:
    """``||V* - lift(V*_Q)|| <= value_bound`` and ``||V* - V^{lift pi_Q}|| <= policy_bound``."""
    m, tol_r, tol_p = instance
    res = approximate_aggregation(m, tol_r, tol_p)
    full = solve_exact(m, 1e-12)
    err = float(np.abs(full.v - res.v_lifted).max())
    loss = float(np.abs(full.v - mdp.policy_evaluation(m, res.pi_lifted).v).max())
    parts = {
        "value": inequality("AGG", err, res.value_bound, rtol=1e-9, atol=1e-11),
        "policy": inequality("AGG", loss, res.policy_bound, rtol=1e-9, atol=1e-11),
    }
    out = combine("AGG", parts)
    out.details.update(n_states=m.n_states, n_blocks=res.n_blocks, eps_R=res.eps_R, eps_P=res.eps_P)
    return out


def check_b4(m, rng, *, c_T: float | None = None, n_steps: int = 6) -> CheckResult:
    """Iterates ``d_t`` of the Ferns operator from 0: non-decreasing, and
    ``||d_t - d*|| <= c_T^t ||d*||`` for ``t = 1..n_steps`` (``c_T`` checked: default ``gamma``)."""
    gamma = m.gamma
    c = gamma if c_T is None else c_T
    star = MT.bisimulation_metric(m, tol=1e-12)
    d = np.zeros((m.n_states, m.n_states))
    ratios, drops = [], []
    norm = float(np.abs(star.d).max())
    for t in range(1, n_steps + 1):
        new = MT.bisimulation_operator(m, d)
        drops.append(float(np.max(d - new)))
        d = new
        err = float(np.abs(star.d - d).max())
        ratios.append((err, c**t * norm + star.error_bound))
    worst = max(ratios, key=lambda r: r[0] - r[1])
    parts = {
        "rate": inequality("B4", worst[0], worst[1], rtol=1e-9, atol=1e-12),
        "monotone": identity("B4", max(0.0, max(drops)), 1e-12 * (1 + norm)),
    }
    return combine("B4", parts)


def _lipschitz_part(claim, v, res, tol=1e-9):
    """``max gap / upper(d*)`` over pairs at positive distance (bound 1), and ``gap = 0`` where ``d* = 0``."""
    gap = np.abs(v[:, None] - v[None, :])
    upper = res.upper
    pos = upper > 1e-12
    ratio = float(np.max(gap[pos] / upper[pos])) if np.any(pos) else 0.0
    zero_gap = float(np.max(gap[~pos])) if np.any(~pos) else 0.0
    parts = {
        "ratio": inequality(claim, ratio, 1.0, rtol=tol, atol=0.0, max_gap=float(gap.max()), max_d=float(upper.max())),
        "zero distance": identity(claim, zero_gap, tol * (1.0 + float(np.abs(v).max()))),
    }
    return combine(claim, parts)


def check_b5(m, rng) -> CheckResult:
    """``|V*(s) - V*(t)| <= d*(s, t)`` for all pairs, ``d*`` with ``c_R = 1``, ``c_T = gamma``
    (observed ``max gap / d`` over pairs at positive distance, bound 1)."""
    res = MT.bisimulation_metric(m, tol=1e-10)
    v = solve_exact(m, 1e-12).v
    return _lipschitz_part("B5", v, res)


def check_b6(instance, rng) -> CheckResult:
    """``{(s, t): d*(s, t) <= 1e-9}`` is exactly the bisimulation relation."""
    m, classes, n = instance
    res = MT.bisimulation_metric(m, tol=1e-10)
    lab = bisimulation(m).labels
    same = lab[:, None] == lab[None, :]
    mismatch = int(np.count_nonzero((res.d <= 1e-9) != same))
    sep = float(res.d[~same].min()) if np.any(~same) else float("inf")
    return identity("B6", mismatch, 0.5, min_distance_between_blocks=sep)


def check_b7(instance, rng) -> CheckResult:
    """``|V^pi(s) - V^pi(t)| <= d^pi(s, t)`` with the LP on-policy metric (stochastic ``pi``)."""
    m = instance
    pi = rng.dirichlet(np.ones(m.n_actions), size=m.n_states)
    res = MT.on_policy_bisimulation_metric(m, pi, tol=1e-10)
    v = mdp.policy_evaluation(m, pi).v
    return _lipschitz_part("B7", v, res)


def check_b8(instance, rng) -> CheckResult:
    """Castro's sampled update (random pairs) reaches the transport-LP fixed point to 1e-8."""
    m, pi = instance
    lp = MT.on_policy_bisimulation_metric(m, pi, tol=1e-11)
    smp = MT.on_policy_bisimulation_metric(m, pi, method="sampled", rng=rng, tol=1e-9)
    return identity("B8", float(np.abs(smp.d - lp.d).max()), 1e-8, chunks=smp.n_iter, converged=smp.converged)


# ----------------------------------------------------------------------------------- user instances
#: state counts above which the metric claims refuse a model: every fixed-point iteration of the Ferns
#: operator solves S^2 transport problems between next-state distributions (measured: docs/algorithms.md)
METRIC_MAX_STATES = 20


def _model_or_tuple(x, name="instance"):
    """A model, or a tuple whose first entry is one (the samplers' form); returns the model."""
    if isinstance(x, (tuple, list)) and x:
        return I.tabular_mdp(x[0], f"{name}[0]")
    return I.tabular_mdp(x, name)


def _metric_model(x, name="instance"):
    m = I.tabular_mdp(x, name)
    I.max_size(METRIC_MAX_STATES, "the number of states", "S^2 transport problems per fixed-point iteration")(
        m.n_states, name
    )
    return m


def _accept_b1(x, name="instance"):
    return (_model_or_tuple(x, name),)


def _accept_b2(x, name="instance"):
    """``(m, classes)`` or ``(m, classes, n_classes)``: the planted (expected coarsest) partition."""
    if not isinstance(x, (tuple, list)) or len(x) not in (2, 3):
        raise TypeError(f"{name} must be a tuple (m, classes) or (m, classes, n_classes), got {I.kind_name(x)}")
    m = I.tabular_mdp(x[0], f"{name}[0] (m)")
    classes = I.int_array(1)(x[1], f"{name}[1] (classes)")
    if classes.shape != (m.n_states,):
        raise ValueError(f"{name}: classes must have shape (S,) = ({m.n_states},), got {classes.shape}")
    n = int(np.unique(classes).size)
    if len(x) == 3 and I.positive_int(x[2], f"{name}[2] (n_classes)") != n:
        raise ValueError(f"{name}: n_classes = {x[2]} but classes holds {n} distinct labels")
    return m, classes, n


def _accept_agg(x, name="instance"):
    """``(m, tol_r, tol_p)`` with non-negative tolerances."""
    return I.tuple_of(I.tabular_mdp, I.real("[0, inf)"), I.real("[0, inf)"), names=("m", "tol_r", "tol_p"))(x, name)


def _accept_b6(x, name="instance"):
    return _metric_model(_model_or_tuple(x, name), name), None, None


def _accept_b8(x, name="instance"):
    """``(m, pi)``: a model whose transitions under ``pi`` are deterministic and a policy ``pi``."""
    m, pi = I.tuple_of(I.tabular_mdp, lambda p, n: p, names=("m", "pi"))(x, name)
    pi = check_policy(pi, m.n_states, m.n_actions, f"{name}[1] (pi)")
    return m, pi


_GDG = "Givan, Dean & Greig (2003), Equivalence notions and model minimization in MDPs, Artif. Intell. 147"
_FPP = "Ferns, Panangaden & Precup (2004), Metrics for finite MDPs, UAI (Thm 4.5); SIAM J. Comput. 40 (2011)"
_CASTRO = "Castro (2020), Scalable methods for computing state similarity in deterministic MDPs, AAAI"

register(
    Claim(
        id="B1",
        name="bisimulation-value-preservation",
        statement=r"V^*_M(s) = V^*_{M/B}(\beta(s)),\ Q^*_M(s,a) = Q^*_{M/B}(\beta(s),a),\ V^{\pi_B\circ\beta}_M = V^*_M",
        source=f"{_GDG}, Thm 7-8; docs/papers/foundations.md B1",
        constant="none",
        tolerance=1e-8,
        sample=sample_planted,
        evaluate=check_b1,
        notes="Exact bisimulation by splitter refinement; both models solved by mdp.solve to 1e-12 (or 4x the float64 round-off floor where that is larger).",
        subjects=("mdp.abstraction.bisimulation", "mdp.solve"),
        instance="an mdp.TabularMDP (or a tuple whose first entry is one)",
        accepts=_accept_b1,
    )
)

register(
    Claim(
        id="B2",
        name="bisimulation-coarsest",
        statement=r"\text{planted classes } \mathcal{C} \Rightarrow B = \mathcal{C}\ (\text{coarsest bisimulation})",
        source=f"{_GDG}, Thm 6 (uniqueness of the coarsest); docs/papers/foundations.md B2",
        constant="none",
        tolerance=0.5,
        sample=sample_planted,
        evaluate=check_b2,
        notes="Observed = number of state pairs on which the computed and planted relations disagree plus the block "
        "count difference. Random U[0,1] rewards make the base model's own bisimulation trivial, so the planted "
        "classes are the coarsest bisimulation; stripe gridworlds have one block per row.",
        subjects=("mdp.abstraction.bisimulation",),
        instance="(m, classes) or (m, classes, n_classes): an mdp.TabularMDP and its planted coarsest partition, an int array (S,)",
        accepts=_accept_b2,
    )
)

register(
    Claim(
        id="AGG",
        name="aggregation-value-loss",
        statement=r"\|V^* - V^*_Q\circ\beta\|_\infty \le \frac{\delta}{1-\gamma},\ \|V^* - V^{\pi_Q\circ\beta}\|_\infty "
        r"\le \frac{2\delta}{1-\gamma},\ \delta = \epsilon_R + \gamma\,\epsilon_P\,\mathrm{span}(V^*_Q)/2",
        source="simulation lemma, docs/papers/foundations.md F9-F10 (span form); Whitt (1978), Approximations of dynamic programs I",
        constant="derived",
        tolerance=1e-9,
        sample=sample_noisy,
        evaluate=check_agg,
        notes="delta = ||T u - u|| bound for u = lift(V*_Q): |max_a x_a - max_a y_a| <= max_a|x_a - y_a| and "
        "|(p - q).V| <= ||p - q||_1 span(V)/2 on the block-aggregated rows (plus a row-sum term for rows "
        "stochastic only up to atol). eps_R, eps_P are measured on the returned partition, solver errors added.",
        subjects=("mdp.abstraction.approximate_aggregation", "mdp.solve"),
        instance="(m, tol_r, tol_p): an mdp.TabularMDP and the aggregation tolerances (non-negative floats)",
        accepts=_accept_agg,
    )
)

register(
    Claim(
        id="B4",
        name="bisimulation-metric-contraction",
        statement=r"d_0 = 0,\ d_{t+1} = F(d_t):\ d_t \le d_{t+1},\ \|d_t - d^*\|_\infty \le c_T^t\,\|d^*\|_\infty",
        source=f"{_FPP}; docs/papers/foundations.md B4",
        constant="source",
        tolerance=1e-9,
        sample=sample_small,
        evaluate=check_b4,
        notes="c_R = 1, c_T = gamma; d* from 1e-12-certified iteration (its error bound is added to the right side); "
        "six steps per instance.",
        subjects=("mdp.abstraction.bisimulation_metric", "mdp.abstraction.bisimulation_operator"),
        instance="an mdp.TabularMDP with at most 20 states (the metric solves S^2 transport problems per iteration: ~0.4 s at 10 states, ~15 s at 20)",
        accepts=_metric_model,
    )
)

register(
    Claim(
        id="B5",
        name="bisimulation-metric-value-bound",
        statement=r"|V^*(s) - V^*(t)| \le d^*(s,t)\quad (c_R = 1,\ c_T = \gamma)",
        source=f"{_FPP}, Thm 5.1; docs/papers/foundations.md B5",
        constant="derived",
        tolerance=1e-9,
        sample=sample_small,
        evaluate=check_b5,
        notes="docs/papers/foundations.md states c_R|V*(s) - V*(t)| <= d*(s, t) for c_T >= gamma; with c_R = 1, c_T = gamma it is "
        "the bound above (induction on value iteration and Kantorovich duality). Observed max |V*(s) - V*(t)| / "
        "(d + error bound) over pairs at positive distance, bound 1; pairs at distance 0 must have equal values.",
        subjects=("mdp.abstraction.bisimulation_metric", "mdp.solve"),
        instance="an mdp.TabularMDP with at most 20 states (the metric solves S^2 transport problems per iteration: ~0.4 s at 10 states, ~15 s at 20)",
        accepts=_metric_model,
    )
)

register(
    Claim(
        id="B6",
        name="bisimulation-metric-kernel",
        statement=r"d^*(s,t) = 0 \iff s \sim t",
        source=f"{_FPP}, Thm 4.5; docs/papers/foundations.md B6",
        constant="none",
        tolerance=0.5,
        sample=sample_planted,
        evaluate=check_b6,
        notes="Zero means <= 1e-9; observed = number of disagreeing pairs.",
        subjects=("mdp.abstraction.bisimulation_metric", "mdp.abstraction.bisimulation"),
        instance="an mdp.TabularMDP with at most 20 states (or a tuple whose first entry is one)",
        accepts=_accept_b6,
    )
)

register(
    Claim(
        id="B7",
        name="on-policy-metric-value-bound",
        statement=r"d^\pi = |r_\pi(s) - r_\pi(t)| + \gamma W_{d^\pi}(P_\pi(s), P_\pi(t)),\ |V^\pi(s) - V^\pi(t)| \le d^\pi(s,t)",
        source=f"{_CASTRO}, Thm 2-3; docs/papers/foundations.md B7",
        constant="source",
        tolerance=1e-9,
        sample=sample_small,
        evaluate=check_b7,
        notes="Random stochastic policy; d^pi by fixed-point iteration with exact transport distances.",
        subjects=("mdp.abstraction.on_policy_bisimulation_metric", "mdp.policy_evaluation"),
        instance="an mdp.TabularMDP with at most 20 states (the metric solves S^2 transport problems per iteration: ~0.4 s at 10 states, ~15 s at 20)",
        accepts=_metric_model,
    )
)

register(
    Claim(
        id="B8",
        name="sampled-on-policy-metric",
        statement=r"d(s,t) \leftarrow |r_\pi(s) - r_\pi(t)| + \gamma\, d(N(s), N(t))\ \text{on sampled pairs} \to d^\pi",
        source=f"{_CASTRO}, Sec. 4; docs/papers/foundations.md B8",
        constant="none",
        tolerance=1e-8,
        sample=sample_deterministic,
        evaluate=check_b8,
        notes="Uniformly sampled pairs in chunks of S^2 until the certificate ||F d - d|| / (1 - gamma) <= 1e-9.",
        subjects=("mdp.abstraction.on_policy_bisimulation_metric",),
        instance="(m, pi): an mdp.TabularMDP whose transitions under pi are deterministic, and a policy pi ((S,) ints or (S, A) rows)",
        accepts=_accept_b8,
    )
)
