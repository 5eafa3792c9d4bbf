"""BQ-NCO claims (``docs/papers/bq_nco.md``) as executable checks on :mod:`mdp.cop`.

BQ1 (an optimal policy of the BQ-MDP solves the COP: exact DP through the quotient = direct-MDP
optimum = brute force, and the lifted policy is optimal in the direct MDP), BQ2 (the map to the
remaining sub-problem is a bisimulation: every BQ class lies inside one block of the coarsest
bisimulation of the direct MDP; the per-step state counts of the note), BQ4 (Held-Karp with
TSPLIB's GEO rule gives burma14 = 3323 and ulysses16 = 6859).
"""

from __future__ import annotations

import numpy as np

from mdp import cop
from theory_checks import instances as I
from theory_checks.core import CheckResult, Claim, identity, register

__all__ = [
    "sample_bq1",
    "check_bq1",
    "sample_bq2",
    "check_bq2",
    "check_bq4",
    "coarsest_bisimulation",
    "BURMA14",
    "ULYSSES16",
]

_SOURCE = (
    "Drakulic et al. (2023), BQ-NCO: Bisimulation Quotienting for Efficient Neural Combinatorial Optimization, NeurIPS"
)

# TSPLIB95 (Reinelt 1991) coordinates, EDGE_WEIGHT_TYPE GEO; optima 3323 and 6859 (TSPLIB95 STSP page)
BURMA14 = np.array(
    [
        (16.47, 96.10),
        (16.47, 94.44),
        (20.09, 92.54),
        (22.39, 93.37),
        (25.23, 97.24),
        (22.00, 96.05),
        (20.47, 97.02),
        (17.20, 96.29),
        (16.30, 97.38),
        (14.05, 98.12),
        (16.53, 97.38),
        (21.52, 95.59),
        (19.41, 97.13),
        (20.09, 94.55),
    ]
)
ULYSSES16 = np.array(
    [
        (38.24, 20.42),
        (39.57, 26.15),
        (40.56, 25.32),
        (36.26, 23.12),
        (33.48, 10.54),
        (37.56, 12.19),
        (38.42, 13.11),
        (37.52, 20.44),
        (41.23, 9.10),
        (41.17, 13.05),
        (36.08, -5.21),
        (38.47, 15.13),
        (38.15, 15.35),
        (37.51, 15.17),
        (35.49, 14.32),
        (39.36, 19.56),
    ]
)
_TSPLIB_OPTIMA = {"burma14": (BURMA14, 3323.0), "ulysses16": (ULYSSES16, 6859.0)}


def coarsest_bisimulation(m):
    """``(labels, n_blocks)`` of the coarsest bisimulation of ``m`` (:func:`mdp.abstraction.bisimulation`)."""
    from mdp.abstraction import bisimulation

    r = bisimulation(m)
    return np.asarray(r.labels), int(r.n_blocks)


# --------------------------------------------------------------------------- instances
def _instance(problem: str, n: int, rng: np.random.Generator):
    if problem == "tsp":
        return cop.euclidean_distances(rng.random((n, 2)))
    if problem == "atsp":
        return rng.integers(1, 20, size=(n, n)).astype(float)
    if problem == "knapsack":
        return cop.random_knapsack(n, rng=rng)
    if problem == "cvrp":
        return cop.random_cvrp(n, rng=rng, capacity=int(rng.integers(4, 10)), integral=bool(rng.random() < 0.5))
    return cop.random_orienteering(
        n, rng=rng, budget_ratio=float(rng.uniform(0.8, 2.0)), integral=bool(rng.random() < 0.7)
    )


_SIZES = {"tsp": (4, 8), "atsp": (4, 7), "knapsack": (3, 8), "cvrp": (3, 6), "op": (3, 7)}


def sample_bq1(rng: np.random.Generator):
    """A random small instance of one of the five problems (Euclidean TSP ``n <= 7``, integer ATSP ``n <= 6``,
    knapsack ``n <= 7``, CVRP ``n <= 5`` nodes, orienteering ``n <= 6``)."""
    problem = str(rng.choice(list(_SIZES)))
    lo, hi = _SIZES[problem]
    return problem, _instance(problem, int(rng.integers(lo, hi)), rng)


def _exact_and_brute(problem, inst):
    """(optimal value of the start state as a total reward, brute-force value, DP name)."""
    if problem in ("tsp", "atsp"):
        return -cop.solve_tsp_exact(inst).length, -cop.brute_force_tsp(inst)[0]
    if problem == "knapsack":
        return cop.solve_knapsack_exact(inst).value, cop.brute_force_knapsack(inst).value
    if problem == "cvrp":
        return -cop.solve_cvrp_exact(inst).value, -cop.brute_force_cvrp(inst).value
    return cop.solve_orienteering_exact(inst).value, cop.brute_force_orienteering(inst).value


def check_bq1(instance, rng) -> CheckResult:
    """Direct-MDP optimum = BQ-MDP optimum (at every direct state, through ``Phi``) = numba DP = brute force,
    and the lifted BQ-optimal policy attains the direct optimum from every state."""
    problem, inst = instance
    kind = "tsp" if problem == "atsp" else problem
    D, B = cop.direct_mdp(kind, inst), cop.bq_mdp(kind, inst)
    labels = cop.bq_labels(D, B, inst)
    vD, _ = cop.solve_total_reward(D)
    vB, piB = cop.solve_total_reward(B)
    v_lift = cop.evaluate_total_reward(D, cop.lift_policy(piB, labels))
    dp, brute = _exact_and_brute(problem, inst)
    scale = 1.0 + abs(brute)
    err = max(
        abs(vD[D.start] - brute),
        abs(vB[B.start] - brute),
        abs(dp - brute),
        float(np.abs(vD - vB[labels]).max()),
        float(np.abs(v_lift - vD).max()),
    )
    return identity("BQ1", err, 1e-9 * scale, problem=problem, n_direct=D.n_states, n_bq=B.n_states, optimum=brute)


def sample_bq2(rng: np.random.Generator):
    """A small instance for the quotient check (TSP/ATSP ``n`` in 4..7 or one of the other problems)."""
    return sample_bq1(rng)


def check_bq2(instance, rng) -> CheckResult:
    """Every BQ class inside one block of the coarsest bisimulation of the direct MDP; for the TSP also
    the per-step counts ``(n-1)!/(n-1-t)!`` (direct) and ``C(n-1, t) t`` (BQ).

    ``observed`` counts violations: BQ classes split by the refinement, plus count mismatches.
    """
    problem, inst = instance
    kind = "tsp" if problem == "atsp" else problem
    D, B = cop.direct_mdp(kind, inst), cop.bq_mdp(kind, inst)
    labels = cop.bq_labels(D, B, inst)
    blocks, n_blocks = coarsest_bisimulation(D.mdp)
    # a BQ class is split iff it meets more than one block
    pairs = np.unique(np.stack([labels, blocks]), axis=1)
    split = int(pairs.shape[1] - np.unique(pairs[0]).size)
    mismatches = 0
    if kind == "tsp":
        n = inst.shape[0]
        c = cop.tsp_state_counts(n)
        mismatches += int(np.sum(np.bincount(D.depth[:-1], minlength=n) != c["direct"]))
        mismatches += int(np.sum(np.bincount(B.depth[:-1], minlength=n) != c["bq"]))
    return identity(
        "BQ2",
        split + mismatches,
        0.5,
        problem=problem,
        n_direct=D.n_states,
        n_bq=B.n_states,
        n_blocks=n_blocks,
        split_classes=split,
        count_mismatches=mismatches,
    )


def check_bq4(instance, rng) -> CheckResult:
    """Held-Karp on TSPLIB GEO distances: ``|length - optimum|`` for burma14 and ulysses16."""
    errs = {}
    for name, (coords, opt) in _TSPLIB_OPTIMA.items():
        r = cop.solve_tsp_exact(cop.tsplib_distance(coords, "GEO"))
        errs[name] = abs(r.length - opt)
    return identity("BQ4", max(errs.values()), 0.5, **errs)


# --------------------------------------------------------------------------- user instances
#: largest instance sizes a user may pass: BQ1 enumerates every solution ((n-1)! tours) and both checks
#: build the direct MDP of all partial solutions (sum_t (n-1)!/(n-1-t)! states for the TSP)
MAX_SIZE = {"tsp": 8, "atsp": 8, "knapsack": 10, "cvrp": 6, "op": 8}
_KINDS = {"knapsack": "KnapsackInstance", "cvrp": "CVRPInstance", "op": "OrienteeringInstance"}


def _accept_problem(x, name="instance"):
    """``(problem, data)``: ``"tsp"``/``"atsp"`` with a square distance matrix, ``"knapsack"``,
    ``"cvrp"``, ``"op"`` with the matching ``mdp.cop`` instance; sizes up to :data:`MAX_SIZE`."""
    problem, data = I.tuple_of(I.choice(*_SIZES), lambda d, n: d, names=("problem", "data"))(x, name)
    if problem in ("tsp", "atsp"):
        D = I.float_array(2)(data, f"{name}[1] (distances)")
        if D.shape[0] != D.shape[1] or D.shape[0] < 2:
            raise ValueError(f"{name}: a {problem} instance is a square (n, n) distance matrix, got shape {D.shape}")
        n, data = D.shape[0], D
    else:
        cls = getattr(cop, _KINDS[problem])
        if not isinstance(data, cls):
            raise TypeError(f"{name}[1]: problem {problem!r} needs an mdp.cop.{cls.__name__}, got {I.kind_name(data)}")
        n = len(data.weights) if problem == "knapsack" else data.dist.shape[0]
    I.max_size(
        MAX_SIZE[problem],
        f"the {problem} size n",
        "brute force enumerates every solution and the direct MDP holds every partial one",
    )(n, name)
    return problem, data


register(
    Claim(
        id="BQ1",
        name="bq-mdp-solves-cop",
        statement=r"\pi^*_{BQ}\circ\Phi \text{ is optimal in the direct MDP}:\ V^*_{dir}(s) = V^*_{BQ}(\Phi(s))"
        r"= V^{\pi^*_{BQ}\circ\Phi}_{dir}(s),\ \ V^*_{BQ}(\Phi(s_0)) = -\min_{y \in Y(x)} f(x, y)",
        source=f"{_SOURCE}, main proposition (docs/papers/bq_nco.md BQ1)",
        constant="none",
        tolerance=1e-9,
        sample=sample_bq1,
        evaluate=check_bq1,
        default_instances=10,
        notes="Direct MDP (partial solutions) and BQ-MDP (sub-problems) solved by exact backward induction; the DP is "
        "Held-Karp (TSP/ATSP), DP over (item, capacity) (knapsack), over (current, remaining, capacity) (CVRP), "
        "over (current, remaining, budget) (orienteering); brute force enumerates all solutions. Tolerance "
        "1e-9 * (1 + |optimum|).",
        subjects=(
            "mdp.cop.direct_mdp",
            "mdp.cop.bq_mdp",
            "mdp.cop.solve_total_reward",
            "mdp.cop.lift_policy",
            "mdp.cop.solve_tsp_exact",
        ),
        instance="(problem, data): problem in {tsp, atsp, knapsack, cvrp, op}; data a square distance matrix (tsp, atsp) or an mdp.cop KnapsackInstance / CVRPInstance / OrienteeringInstance; n at most 8, 8, 10, 6, 8",
        accepts=_accept_problem,
    )
)

register(
    Claim(
        id="BQ2",
        name="bq-quotient-is-bisimulation",
        statement=r"\Phi(s) = \Phi(t) \Rightarrow s \sim t \text{ (coarsest bisimulation)};\ \ "
        r"|S_t^{dir}| = \tfrac{(n-1)!}{(n-1-t)!},\ |S_t^{BQ}| = \binom{n-1}{t}\, t \ (t \ge 1)",
        source=f"{_SOURCE}, Sec. 3 (bisimulation quotienting); Givan, Dean & Greig (2003); docs/papers/bq_nco.md BQ2",
        constant="none",
        tolerance=0.5,
        sample=sample_bq2,
        evaluate=check_bq2,
        default_instances=10,
        notes="Coarsest bisimulation by splitter-based partition refinement (mdp.abstraction.bisimulation). "
        "Inclusion, not equality: the refinement can be "
        "strictly coarser (equidistant TSPs; knapsack/CVRP/OP capacity or budget levels that no remaining "
        "item distinguishes). observed = split BQ classes + state-count mismatches (must be 0).",
        subjects=("mdp.cop.bq_mdp", "mdp.cop.bq_labels", "mdp.abstraction.bisimulation"),
        instance="(problem, data): problem in {tsp, atsp, knapsack, cvrp, op}; data a square distance matrix (tsp, atsp) or an mdp.cop KnapsackInstance / CVRPInstance / OrienteeringInstance; n at most 8, 8, 10, 6, 8",
        accepts=_accept_problem,
    )
)

register(
    Claim(
        id="BQ4",
        name="held-karp-tsplib",
        statement=r"\text{Held-Karp}(\text{burma14}) = 3323,\ \ \text{Held-Karp}(\text{ulysses16}) = 6859 \ (\text{TSPLIB GEO})",
        source="Reinelt (1991), TSPLIB95 (optimal values, GEO distance); docs/papers/bq_nco.md BQ4",
        constant="source",
        tolerance=0.5,
        sample=lambda rng: None,
        evaluate=check_bq4,
        default_instances=1,
        notes="GEO: PI = 3.141592, deg = int(x), d = int(6378.388 acos(...) + 1). Deterministic (no random instance).",
        subjects=("mdp.cop.solve_tsp_exact", "mdp.cop.tsplib_distance"),
        instance="no instance: burma14 and ulysses16 (TSPLIB) are fixed",
        accepts=I.no_instance,
    )
)
