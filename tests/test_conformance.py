"""The shared contracts (theory_checks.conformance) over the project's own solvers and estimators,
and proof that each contract can fail."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mdp
from theory_checks import conformance as C
from theory_checks.conformance import ConformanceError, parametrize_with_checks

SOLVERS = {
    "value_iteration": lambda m, *, tol, max_iter=10_000: mdp.value_iteration(m, tol=tol, max_iter=max_iter),
    "value_iteration[gauss-seidel]": lambda m, *, tol, max_iter=10_000: mdp.value_iteration(
        m, tol=tol, max_iter=max_iter, method="gauss-seidel"
    ),
    "policy_iteration": lambda m, *, tol, max_iter=10_000: mdp.policy_iteration(m, max_iter=max_iter),
    "modified_policy_iteration": lambda m, *, tol, max_iter=10_000: mdp.modified_policy_iteration(
        m, tol=tol, max_iter=max_iter
    ),
    "linear_programming": lambda m, *, tol: mdp.linear_programming(m),
    "solve": lambda m, *, tol, max_iter=10_000: mdp.solve(m, tol=tol, max_iter=max_iter),
}


def _estimators():
    pytest.importorskip("torch")
    from mdp.llm import list_estimators

    return sorted(set(list_estimators()))


@parametrize_with_checks(solvers=SOLVERS)
def test_solvers_conform(name, check):
    assert check()


def test_estimators_conform():
    names = _estimators()
    assert len(names) >= 19
    for n in names:
        assert C.check_estimator(n) == list(C.ESTIMATOR_CHECKS), n


# ------------------------------------------------------------------------- each contract can fail
def _vi(m, *, tol, max_iter=10_000):
    return mdp.value_iteration(m, tol=tol, max_iter=max_iter)


def test_a_solver_that_overstates_its_accuracy_fails():
    def liar(m, *, tol, max_iter=10_000):
        r = _vi(m, tol=tol, max_iter=max_iter)
        import dataclasses

        return dataclasses.replace(r, v=np.asarray(r.v) + 10 * r.error_bound + 1e-6)

    with pytest.raises(ConformanceError, match="certified_bound.*error_bound"):
        C.check_solver(liar, checks=["certified_bound"])


def test_a_solver_that_cannot_take_read_only_models_fails():
    def vandal(m, *, tol, max_iter=10_000):
        r = _vi(m, tol=tol, max_iter=max_iter)
        if not m.is_sparse:
            P = m.P
            if not P.flags.writeable:
                raise ValueError("assignment destination is read-only")
        return r

    with pytest.raises(ValueError, match="read-only"):
        C.check_solver(vandal, checks=["inputs_untouched"])


def test_a_solver_that_stops_silently_fails_the_budget_check():
    def silent(m, *, tol, max_iter=10_000):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return _vi(m, tol=tol, max_iter=max_iter)

    with pytest.raises(ConformanceError, match="ConvergenceWarning"):
        C.check_solver(silent, checks=["budget_warning"])


def test_a_result_with_writeable_arrays_fails():
    class Loose:
        def __init__(self, r):
            self.v, self.pi = np.array(r.v), np.array(r.pi)
            self.error_bound, self.policy_error_bound, self.converged = r.error_bound, r.policy_error_bound, True

    with pytest.raises(ConformanceError, match="read-only"):
        C.check_solver(lambda m, *, tol, max_iter=10_000: Loose(_vi(m, tol=tol)), checks=["result_contract"])


def test_an_estimator_with_untruthful_needs_fails():
    torch = pytest.importorskip("torch")
    from mdp.llm import register_estimator
    from mdp.llm.registry import _REGISTRY

    def reads_steps(batch):
        return batch.rewards - batch.step_ids.to(batch.rewards.dtype)  # reads step_ids, declares no need

    register_estimator("_conf_untruthful", reads_steps, replace=True)
    try:
        with pytest.raises((ConformanceError, AttributeError, TypeError)):
            C.check_estimator("_conf_untruthful", checks=["needs_truthful"])

        def flips_dtype(batch):
            return batch.rewards.to(torch.float16)

        register_estimator("_conf_dtype", flips_dtype, replace=True)
        with pytest.raises(ConformanceError, match="advantages"):
            C.check_estimator("_conf_dtype", checks=["shape_dtype_determinism"])
    finally:
        _REGISTRY.pop("_conf_untruthful", None)
        _REGISTRY.pop("_conf_dtype", None)


def test_unknown_check_names_are_rejected():
    with pytest.raises(ValueError, match="unknown checks"):
        C.check_solver(_vi, checks=["nope"])
    with pytest.raises(TypeError, match="solver must be callable"):
        C.check_solver(3)
