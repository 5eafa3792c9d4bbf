"""rlab's multi-agent part: matrix and Markov games, equilibrium solvers, learners, PettingZoo envs.

``import marl`` is light (numpy, scipy, numba); the solvers load on first use, and torch,
cvxpy and pettingzoo only inside the functions and subpackages that need them.

Glossary: ``P`` is ``(S, A1, A2, S)``, ``R`` is ``(S, A1, A2)`` (zero-sum, row player's payoff)
or ``(2, S, A1, A2)`` (general-sum), ``x[s, a1]`` / ``y[s, a2]`` stationary strategies of the
row (maximising) and column (minimising) player, ``v`` a state value ``(S,)``.
"""

from __future__ import annotations

from marl.model import MarkovGame, MatrixGame  # noqa: F401  (public, eager)
from mdp._lazy import lazy_names

# public name -> module that defines it (loaded on first access)
_LAZY = {
    # matrix games
    "zero_sum_matrix_game": "marl.matrix",
    "zero_sum_lp": "marl.matrix",
    "ZeroSumSolution": "marl.matrix",
    "support_enumeration": "marl.bimatrix",
    "lemke_howson": "marl.bimatrix",
    "nash_equilibria": "marl.bimatrix",
    "BimatrixEquilibrium": "marl.bimatrix",
    "vertex_enumeration": "marl.bimatrix",
    "pure_equilibria": "marl.bimatrix",
    "ce_violations": "marl.correlated",
    "cce_violations": "marl.correlated",
    "grid_game": "marl.grid_games",
    "grid_layout": "marl.grid_games",
    "GridLayout": "marl.grid_games",
    "correlated_equilibrium": "marl.correlated",
    "coarse_correlated_equilibrium": "marl.correlated",
    "CorrelatedResult": "marl.correlated",
    "nash_conv": "marl.nashconv",
    "NashConvResult": "marl.nashconv",
    # Markov games
    "shapley_value_iteration": "marl.markov",
    "hoffman_karp": "marl.markov",
    "evaluate_strategies": "marl.markov",
    "best_response": "marl.markov",
    "exploitability": "marl.markov",
    "nash_gap": "marl.markov",
    "GameSolverResult": "marl.markov",
    "Exploitability": "marl.markov",
    "NashGap": "marl.markov",
    "BestResponse": "marl.markov",
    "shapley_operator": "marl.markov",
    # entropy-regularised games and inverse RL
    "logit_equilibrium": "marl.irl.equilibrium",
}
_SUBMODULES = {"generators", "learners", "envs", "torch", "bn", "irl", "spgg", "mean_field", "population"}

# a missing name (marl.minimax_q) is looked up in these for the error message (marl.learners.minimax_q)
_SEARCH = ("learners", "generators")

__getattr__, __dir__, __all__ = lazy_names(
    __name__, _LAZY, submodules=_SUBMODULES, eager=("MarkovGame", "MatrixGame"), search=_SEARCH
)
