"""Combinatorial optimisation through bisimulation-quotient MDPs (BQ-NCO, ``docs/papers/bq_nco.md``).

Exact core: the constructive ("direct") MDP of a COP and its bisimulation quotient, the BQ-MDP,
whose states are the remaining sub-problems (Drakulic et al., NeurIPS 2023), for the TSP
(Euclidean and asymmetric), the 0/1 knapsack, the CVRP and the orienteering problem; exact
dynamic programmes through the quotient (Held-Karp for the TSP); a TSPLIB95 reader; and helpers
for learned constructive policies (random instances, expert tours, suffix sub-problems, greedy
decoding).

Public names load lazily from their modules (numba kernels compile only when used).
"""

from __future__ import annotations

from mdp._lazy import lazy_names

_LAZY = {
    # TSP: exact DP and learning helpers (mdp/cop/tsp.py)
    "MAX_HELD_KARP_NODES": "mdp.cop.tsp",
    "TSPSolution": "mdp.cop.tsp",
    "TSPBatchSolution": "mdp.cop.tsp",
    "SubProblems": "mdp.cop.tsp",
    "GreedyDecoding": "mdp.cop.tsp",
    "solve_tsp_exact": "mdp.cop.tsp",
    "solve_tsp_batch": "mdp.cop.tsp",
    "brute_force_tsp": "mdp.cop.tsp",
    "tour_length": "mdp.cop.tsp",
    "euclidean_distances": "mdp.cop.tsp",
    "random_euclidean_tsp": "mdp.cop.tsp",
    "tsp_subproblems": "mdp.cop.tsp",
    "sample_subproblem_size": "mdp.cop.tsp",
    "greedy_tsp": "mdp.cop.tsp",
    "nearest_neighbour_scores": "mdp.cop.tsp",
    # TSPLIB95 reader (mdp/cop/tsplib.py)
    "TSPLIBInstance": "mdp.cop.tsplib",
    "read_tsplib": "mdp.cop.tsplib",
    "tsplib_distance": "mdp.cop.tsplib",
    # knapsack, CVRP, orienteering: instances, exact DPs, brute force (mdp/cop/problems.py)
    "KnapsackInstance": "mdp.cop.problems",
    "CVRPInstance": "mdp.cop.problems",
    "OrienteeringInstance": "mdp.cop.problems",
    "COPSolution": "mdp.cop.problems",
    "random_knapsack": "mdp.cop.problems",
    "random_cvrp": "mdp.cop.problems",
    "random_orienteering": "mdp.cop.problems",
    "solve_knapsack_exact": "mdp.cop.problems",
    "solve_cvrp_exact": "mdp.cop.problems",
    "solve_orienteering_exact": "mdp.cop.problems",
    "brute_force_knapsack": "mdp.cop.problems",
    "brute_force_cvrp": "mdp.cop.problems",
    "brute_force_orienteering": "mdp.cop.problems",
    # constructive MDPs and their bisimulation quotients (mdp/cop/constructive.py)
    "ConstructiveMDP": "mdp.cop.constructive",
    "direct_mdp": "mdp.cop.constructive",
    "bq_mdp": "mdp.cop.constructive",
    "bq_labels": "mdp.cop.constructive",
    "solve_total_reward": "mdp.cop.constructive",
    "reference_total_reward": "mdp.cop.constructive",
    "evaluate_total_reward": "mdp.cop.constructive",
    "lift_policy": "mdp.cop.constructive",
    "rollout": "mdp.cop.constructive",
    "tsp_state_counts": "mdp.cop.constructive",
    # learned constructive policies (torch, imported on first use; mdp/cop/policy.py)
    "BQPolicy": "mdp.cop.policy",
    "DirectPolicy": "mdp.cop.policy",
    "train_bq_policy": "mdp.cop.policy",
    "train_direct_policy": "mdp.cop.policy",
}

__getattr__, __dir__, __all__ = lazy_names(__name__, _LAZY)
