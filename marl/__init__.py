"""rlab's multi-agent part: matrix and Markov games, equilibrium solvers, learners, PettingZoo envs.

Not implemented yet; the game solvers arrive with the "Matrix and Markov games" issue.
"""
