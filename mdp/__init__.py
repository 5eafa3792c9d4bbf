"""rlab's single-agent core: tabular MDP model, generators, exact solvers with certified bounds.

``import mdp`` is light: numpy, scipy and numba only. torch, cvxpy and matplotlib are imported
inside the functions that need them.

Glossary: ``P`` is ``(S, A, S)`` (or CSR ``(S * A, S)``), ``R`` is ``(S, A)``, ``gamma`` the
discount, ``v`` ``(S,)``, ``q`` ``(S, A)``, ``pi`` a policy (``(S,)`` ints or ``(S, A)`` rows),
``mu`` a state distribution.
"""

# The tabular core needs numba and scipy. Without them (an LLM-only install: torch only) these
# names are absent and raise a clear ImportError on access; the torch subpackage mdp.llm still works.
_TABULAR_DEPS = ("numba", "scipy", "llvmlite")
_MISSING_DEP = None
try:
    from mdp import generators, learners
    from mdp.interop import from_gymnasium, to_gymnasium
    from mdp.model import TabularMDP
    from mdp.operators import bellman_operator, q_values
    from mdp.persistence import load_model, load_result, save_result
    from mdp.solvers import (
        AverageRewardResult,
        Certificate,
        ConvergenceWarning,
        FiniteHorizonResult,
        GainBias,
        PolicyEvaluationResult,
        PolicyImprovement,
        SoftPolicyEvaluationResult,
        SoftSolverResult,
        SolverResult,
        attainable_tol,
        certify,
        finite_horizon,
        improve_policy,
        linear_programming,
        modified_policy_iteration,
        policy_evaluation,
        policy_gain_bias,
        policy_iteration,
        relative_value_iteration,
        round_off_floor,
        simplex_policy_iteration,
        soft_policy_evaluation,
        soft_policy_iteration,
        soft_value_iteration,
        solve,
        value_iteration,
    )
except ModuleNotFoundError as _exc:
    if (_exc.name or "").split(".")[0] not in _TABULAR_DEPS:
        raise
    _MISSING_DEP = _exc.name.split(".")[0]

__version__ = "0.1.0"

__all__ = [
    "TabularMDP",
    "generators",
    "learners",
    "Certificate",
    "ConvergenceWarning",
    "FiniteHorizonResult",
    "PolicyEvaluationResult",
    "SolverResult",
    "attainable_tol",
    "bellman_operator",
    "certify",
    "finite_horizon",
    "linear_programming",
    "modified_policy_iteration",
    "policy_evaluation",
    "policy_iteration",
    "improve_policy",
    "PolicyImprovement",
    "q_values",
    "round_off_floor",
    "simplex_policy_iteration",
    "solve",
    "value_iteration",
    "from_gymnasium",
    "to_gymnasium",
    "AverageRewardResult",
    "relative_value_iteration",
    "GainBias",
    "policy_gain_bias",
    "load_model",
    "save_result",
    "load_result",
    "SoftSolverResult",
    "SoftPolicyEvaluationResult",
    "soft_value_iteration",
    "soft_policy_evaluation",
    "soft_policy_iteration",
]

# subpackages loaded on first attribute access (mdp.abstraction, mdp.cop; torch-based mdp.llm)
_LAZY_SUBPACKAGES = ("abstraction", "cop", "llm", "agnostic", "pomdp", "stability", "offline", "submodular", "goal")


def __getattr__(name):
    if name in _LAZY_SUBPACKAGES:
        import importlib

        mod = importlib.import_module(f"mdp.{name}")
        globals()[name] = mod
        return mod
    if _MISSING_DEP is not None and name in __all__:
        raise ImportError(
            f"mdp.{name} is part of rlab's tabular core, which needs {_MISSING_DEP} (not installed); "
            "install rlab with its dependencies, or use only the torch subpackage mdp.llm"
        )
    from mdp._lazy import missing_attribute

    raise missing_attribute("mdp", name, __all__, search=("learners", "generators") if _MISSING_DEP is None else ())
