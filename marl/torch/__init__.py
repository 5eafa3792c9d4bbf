"""Batched game solvers in torch (CPU or CUDA): many zero-sum games solved at once.

``import marl`` never imports torch; ``marl.torch`` loads this subpackage (and torch) on first
access. Everything here takes a ``device`` argument and works on whatever device its input
tensors live on.

* :func:`zero_sum_matrix_game` — exact value and optimal strategies of a batch ``(..., k1, k2)``
  of matrix games by Shapley–Snow kernel enumeration, with a duality-gap certificate.
* :func:`batched_shapley_value_iteration` — Shapley's value iteration for a batch of zero-sum Markov
  games ``P (B, S, A1, A2, S)``, ``R (B, S, A1, A2)`` with certified (MacQueen) stopping. Called
  ``shapley_value_iteration`` before rlab 0.2, the name of :func:`marl.shapley_value_iteration`,
  whose signature and result it does not share; the old name still works with a warning.
"""

from marl.torch.matrix import MAX_KERNELS, BatchedZeroSumSolution, kernel_count, zero_sum_matrix_game
from marl.torch.shapley import BatchedShapleyResult, batched_shapley_value_iteration

__all__ = [
    "zero_sum_matrix_game",
    "BatchedZeroSumSolution",
    "kernel_count",
    "MAX_KERNELS",
    "batched_shapley_value_iteration",
    "BatchedShapleyResult",
]

from mdp._common.results import renamed_names  # noqa: E402

__getattr__ = renamed_names(__name__, {"shapley_value_iteration": "batched_shapley_value_iteration"}, globals())
