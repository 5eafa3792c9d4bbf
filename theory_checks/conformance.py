"""Conformance checks as library code: the contracts every MDP solver and every LLM advantage
estimator must meet, runnable on your own solver or estimator (in the spirit of PettingZoo's
``api_test`` and scikit-learn's ``check_estimator``).

Solvers
-------
A *solver* is a callable ``solver(m, *, tol, max_iter=...)`` on a :class:`mdp.TabularMDP` that
returns a result with ``v`` ``(S,)``, ``pi`` ``(S,)``, ``error_bound``, ``policy_error_bound`` and
``converged`` (as every solver of :mod:`mdp` does). :func:`check_solver` runs every check of
:data:`SOLVER_CHECKS` over a fixed set of instances (:func:`solver_instances`: one state, dense and
sparse random models, slow-mixing ones at ``gamma = 0.99``, rewards scaled by ``1e3``, ``gamma =
0``, the forest and a slippery gridworld) against a plain-numpy Howard policy iteration:

* ``certified_bound``: ``||v - v*|| <= error_bound`` and ``v* - v^pi <= policy_error_bound``
  (up to the reference's own round-off), ``converged`` at a reachable ``tol``;
* ``inputs_untouched``: a model built from read-only arrays is accepted and left unchanged;
* ``storage_forms``: the dense, CSR and float32 forms of a model give results within their bounds
  (the float32 one against the float32 model's own optimum);
* ``budget_warning``: a budget too small for ``tol`` ends with ``converged=False``, a
  :class:`mdp.ConvergenceWarning` and a bound that still holds (skipped for solvers without
  ``max_iter``);
* ``result_contract``: the result's arrays are read-only, it pickles, ``pi`` holds valid actions.

Estimators
----------
:func:`check_estimator` runs :data:`ESTIMATOR_CHECKS` on a registered advantage estimator of
:mod:`mdp.llm`: its declared ``needs`` are truthful (a batch holding exactly those fields runs),
the output has the batch's rows and dtype, is finite, deterministic, leaves the batch unchanged,
broadcasts onto the response mask, and a missing needed field is a ``ValueError`` naming it.

pytest
------
>>> from theory_checks.conformance import parametrize_with_checks
>>> import mdp
>>> @parametrize_with_checks(solvers={"mine": lambda m, *, tol, max_iter=10_000: mdp.solve(m, tol=tol, max_iter=max_iter)})
... def test_conformance(name, check):       # doctest: +SKIP
...     check()
"""

from __future__ import annotations

import functools
import inspect
import pickle
import warnings
from typing import Callable, Mapping

import numpy as np

__all__ = [
    "ConformanceError",
    "SOLVER_CHECKS",
    "ESTIMATOR_CHECKS",
    "solver_instances",
    "check_solver",
    "check_estimator",
    "parametrize_with_checks",
    "estimator_fixture_batch",
]


class ConformanceError(AssertionError):
    """A solver or estimator broke one of the shared contracts (the message names which)."""


# ================================================================================= solvers
def solver_instances() -> list[tuple[str, object]]:
    """The fixed instances the solver checks run on, as ``(label, TabularMDP)`` pairs."""
    import mdp

    G = mdp.generators
    one = mdp.TabularMDP(np.ones((1, 1, 1)), np.array([[3.3]]), 0.9)
    scaled = G.random_mdp(6, 3, rng=np.random.default_rng(2), gamma=0.95)
    scaled = mdp.TabularMDP(scaled.P, 1e3 * np.asarray(scaled.R), scaled.gamma)
    return [
        ("one-state", one),
        ("random-5x3", G.random_mdp(5, 3, rng=np.random.default_rng(0), gamma=0.9)),
        ("random-8x2-slow", G.random_mdp(8, 2, rng=np.random.default_rng(1), alpha=0.1, gamma=0.99)),
        ("random-sparse", G.random_mdp(12, 3, rng=np.random.default_rng(4), gamma=0.9, sparse=True)),
        ("rewards-x1e3", scaled),
        ("gamma-0", G.random_mdp(4, 2, rng=np.random.default_rng(3), gamma=0.0)),
        ("forest", G.forest()),
        ("gridworld-3x3", G.gridworld(3, 3, slip=0.1, gamma=0.9)),
    ]


def _reference(m):
    """``(v*, slack)``: plain-numpy Howard PI on the dense float64 form, and its round-off slack."""
    from mdp.solvers.policy_iteration import reference_policy_iteration

    P = np.asarray(m.dense_P(), dtype=np.float64)
    v, _, _ = reference_policy_iteration(P, np.asarray(m.R, dtype=np.float64), m.gamma)
    return v, 1e-10 * (1.0 + float(np.abs(v).max()))


def _policy_value(m, pi):
    P = np.asarray(m.dense_P(), dtype=np.float64)
    S = m.n_states
    idx = np.arange(S)
    return np.linalg.solve(np.eye(S) - m.gamma * P[idx, pi], np.asarray(m.R, dtype=np.float64)[idx, pi])


def _chosen(checks, table) -> list[str]:
    chosen = list(table) if checks is None else list(checks)
    unknown = [c for c in chosen if c not in table]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; known: {list(table)}")
    return chosen


def _fail(check: str, name: str, label: str, msg: str):
    raise ConformanceError(f"{name}: check {check} fails on instance {label!r}: {msg}")


def _run(solver, m, tol, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a solver asked for a reachable tol must not warn
        return solver(m, tol=tol, **kw)


def _reachable(m, tol):
    import mdp

    return mdp.attainable_tol(m, tol)


def _bounds_hold(res, m, v_star, slack, check, name, label):
    v = np.asarray(res.v, dtype=np.float64)
    err = float(np.abs(v - v_star).max())
    if not err <= res.error_bound + slack:
        _fail(check, name, label, f"||v - v*|| = {err:.3g} > error_bound {res.error_bound:.3g}")
    pi = np.asarray(res.pi)
    loss = float(np.max(v_star - _policy_value(m, pi)))
    if not loss <= res.policy_error_bound + slack:
        _fail(check, name, label, f"v* - v^pi = {loss:.3g} > policy_error_bound {res.policy_error_bound:.3g}")


def check_certified_bound(solver, name, instances, tol):
    """The certified bounds hold against exact policy iteration; a reachable ``tol`` converges."""
    for label, m in instances:
        v_star, slack = _reference(m)
        t = _reachable(m, tol)
        res = _run(solver, m, t)
        if not res.converged:
            _fail("certified_bound", name, label, f"converged=False at the reachable tol {t:.3g}")
        if res.error_bound > t * (1 + 1e-9) + slack:
            _fail("certified_bound", name, label, f"converged with error_bound {res.error_bound:.3g} > tol {t:.3g}")
        _bounds_hold(res, m, v_star, slack, "certified_bound", name, label)


def check_inputs_untouched(solver, name, instances, tol):
    """A model built from read-only arrays is accepted and left bit-for-bit unchanged."""
    import mdp

    for label, m in instances:
        if m.is_sparse:
            continue
        P, R = np.array(m.P), np.array(m.R)
        P.setflags(write=False)
        R.setflags(write=False)
        before = (P.copy(), R.copy())
        _run(solver, mdp.TabularMDP(P, R, m.gamma), _reachable(m, tol))
        if not (np.array_equal(P, before[0]) and np.array_equal(R, before[1])):
            _fail("inputs_untouched", name, label, "the model's P or R changed")


def check_storage_forms(solver, name, instances, tol):
    """Dense, CSR and float32 storage: each result within its bound of its own model's optimum."""
    for label, m in instances:
        if m.gamma >= 0.99:  # float32 row-sum defects are amplified by 1/(1-gamma)^2 there
            continue
        forms = {"dense": m.to_dense(), "sparse": m.to_sparse(), "float32": m.astype(np.float32)}
        res = {}
        for form, mm in forms.items():
            v_star, slack = _reference(mm)
            if form == "float32":  # rows off 1 by ~1e-8: the span bounds' textbook factor is off by as much
                eps = float(np.abs(np.asarray(mm.dense_P(), dtype=np.float64).sum(axis=2) - 1).max())
                slack += eps * (1.0 + float(np.abs(v_star).max())) / (1.0 - mm.gamma) ** 2
            r = _run(solver, mm, _reachable(mm, tol))
            _bounds_hold(r, mm, v_star, slack, f"storage_forms[{form}]", name, label)
            res[form] = r
        d, s = res["dense"], res["sparse"]
        gap = float(np.abs(np.asarray(d.v) - np.asarray(s.v)).max())
        if not gap <= d.error_bound + s.error_bound + 1e-10 * (1 + float(np.abs(d.v).max())):
            _fail("storage_forms", name, label, f"dense and sparse results differ by {gap:.3g}, beyond their bounds")


def check_budget_warning(solver, name, instances, tol):
    """A budget too small for ``tol``: ``converged=False``, a ConvergenceWarning, bounds still valid."""
    import mdp

    if "max_iter" not in inspect.signature(solver).parameters and not any(
        p.kind == p.VAR_KEYWORD for p in inspect.signature(solver).parameters.values()
    ):
        return  # a direct method (LP): no budget to exhaust
    label, m = next((lb, mm) for lb, mm in instances if lb == "random-8x2-slow")
    v_star, slack = _reference(m)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = solver(m, tol=_reachable(m, 1e-12), max_iter=1)
    if res.converged:
        return  # reached tol in one step (a direct method behind an iterative signature)
    if not any(issubclass(w.category, mdp.ConvergenceWarning) for w in caught):
        _fail("budget_warning", name, label, "stopped unconverged without a mdp.ConvergenceWarning")
    _bounds_hold(res, m, v_star, slack, "budget_warning", name, label)


def check_result_contract(solver, name, instances, tol):
    """Read-only arrays, valid actions, finite bounds, and a result that pickles unchanged."""
    label, m = instances[1]
    res = _run(solver, m, _reachable(m, tol))
    for field in ("v", "pi"):
        arr = getattr(res, field)
        if not isinstance(arr, np.ndarray) or arr.flags.writeable:
            _fail("result_contract", name, label, f"result.{field} must be a read-only ndarray")
    pi = np.asarray(res.pi)
    if pi.shape != (m.n_states,) or not np.issubdtype(pi.dtype, np.integer) or pi.min() < 0 or pi.max() >= m.n_actions:
        _fail("result_contract", name, label, f"result.pi must hold actions in [0, {m.n_actions}), got {pi!r}")
    if not (np.isfinite(res.error_bound) and np.isfinite(res.policy_error_bound)):
        _fail("result_contract", name, label, "bounds must be finite")
    back = pickle.loads(pickle.dumps(res))
    if not (np.array_equal(back.v, res.v) and np.array_equal(back.pi, res.pi)):
        _fail("result_contract", name, label, "the result does not survive pickling")


#: name -> check, in the order :func:`check_solver` runs them
SOLVER_CHECKS: Mapping[str, Callable] = {
    "certified_bound": check_certified_bound,
    "inputs_untouched": check_inputs_untouched,
    "storage_forms": check_storage_forms,
    "budget_warning": check_budget_warning,
    "result_contract": check_result_contract,
}


def check_solver(
    solver: Callable, *, name: str | None = None, instances=None, tol: float = 1e-8, checks=None
) -> list[str]:
    """Run the solver contracts on ``solver``; raise :class:`ConformanceError` on the first failure.

    Parameters
    ----------
    solver : callable ``solver(m, *, tol, max_iter=...) -> result``
        The result needs ``v``, ``pi``, ``error_bound``, ``policy_error_bound``, ``converged``.
    name : str, optional
        Shown in messages (default: the callable's name).
    instances : list of (label, TabularMDP), optional
        Default :func:`solver_instances`.
    tol : float
        Target accuracy (raised to what float64 can certify on each instance).
    checks : iterable of str, optional
        A subset of :data:`SOLVER_CHECKS` (default: all).

    Returns
    -------
    list of str
        The checks that passed.
    """
    if not callable(solver):
        raise TypeError(f"solver must be callable, got {type(solver).__name__}")
    name = name or getattr(solver, "__name__", repr(solver))
    instances = solver_instances() if instances is None else list(instances)
    chosen = _chosen(checks, SOLVER_CHECKS)
    for c in chosen:
        SOLVER_CHECKS[c](solver, name, instances, tol)
    return chosen


# ============================================================================== estimators
def estimator_fixture_batch(fields=None, *, dtype=None):
    """A 4-row, 2-token rollout batch holding ``fields`` (default: every field any built-in
    estimator reads): two trajectories of two steps in one prompt group."""
    from mdp.llm import RolloutBatch

    base = dict(
        rewards=[1.0, 0.0, 1.0, 0.0],
        group_ids=[0, 0, 0, 0],
        trajectory_ids=[0, 0, 1, 1],
        step_ids=[0, 1, 0, 1],
        observation_keys=np.array([1, 1, 2, 2]),
        response_mask=np.ones((4, 2)),
        token_entropies=np.full((4, 2), 0.5),
    )
    extra = dict(
        aux=[1.0, 0.0, 1.0, 0.0],
        hint_rollout_rewards=np.array([[1, 0, 1], [1, 1, 1], [0, 0, 1], [1, 0, 0]], float),
        step_scores=np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1], [1, 1, 1]], float),
        action_keys=np.array([0, 1, 0, 1]),
        gold_logprobs=[-1.0, -0.5, -1.0, -0.2],
        gold_logprob_init=[-2.0, -2.0, -2.0, -2.0],
        tags=np.array([0, 1, 0, 1]),
        meta_rewards=[1.0, 0.0, 1.0, 0.0],
    )
    if fields is not None:
        fields = set(fields) | {"rewards"}
        base = {k: v for k, v in base.items() if k in fields}
        extra = {k: v for k, v in extra.items() if k in fields}
    kw = {} if dtype is None else {"dtype": dtype}
    return RolloutBatch(**base, extra=extra, **kw)


#: options an estimator needs that have no default (callables supplied by the user)
_REQUIRED_OPTIONS = {"spo": {"preference": lambda i, j: 0.5}, "arena": {"judge": lambda i, j: 0.5, "seeding": "index"}}


def _est_call(name, batch, options, **kw):
    from mdp.llm import compute_advantages

    return compute_advantages(name, batch, **options, **kw)


def _tensors(batch):
    import dataclasses as dc

    import torch

    out = {}
    for f in dc.fields(batch):
        v = getattr(batch, f.name)
        if isinstance(v, torch.Tensor):
            out[f.name] = v.clone()
    for k, v in (batch.extra or {}).items():
        if isinstance(v, torch.Tensor):
            out["extra." + k] = v.clone()
    return out


def check_needs_truthful(name, spec, batch, options):
    """A batch holding exactly the declared ``needs`` runs with the default options."""
    import torch

    if batch is None:
        batch = estimator_fixture_batch(spec.needs)
    adv = _est_call(name, batch, options)
    if not bool(torch.isfinite(adv).all()):
        raise ConformanceError(f"estimator {name}: non-finite advantages on a batch holding its needs {spec.needs}")


def check_shape_dtype_determinism(name, spec, batch, options):
    """Rows and dtype follow the batch; two calls agree bit for bit; the batch is left unchanged."""
    import torch

    for dtype in (torch.float32, torch.float64):
        b = estimator_fixture_batch(spec.needs, dtype=dtype) if batch is None else batch
        before = _tensors(b)
        a1 = _est_call(name, b, options)
        a2 = _est_call(name, b, options)
        if a1.shape[0] != b.n_rows or a1.ndim not in (1, 2):
            raise ConformanceError(f"estimator {name}: output shape {tuple(a1.shape)} is not (rows,) or (rows, tokens)")
        if batch is None and a1.dtype != dtype:
            raise ConformanceError(f"estimator {name}: a {dtype} batch gave {a1.dtype} advantages")
        if not torch.equal(a1, a2):
            raise ConformanceError(f"estimator {name}: two calls on the same batch differ")
        after = _tensors(b)
        changed = [k for k in before if not torch.equal(before[k], after[k])]
        if changed:
            raise ConformanceError(f"estimator {name}: modified the batch's {changed}")


def check_broadcast(name, spec, batch, options):
    """``broadcast=True`` gives ``(rows, tokens)`` advantages that vanish off the response mask."""
    b = estimator_fixture_batch(set(spec.needs) | {"response_mask"}) if batch is None else batch
    if b.response_mask is None:
        return
    mask = b.response_mask.clone()
    if batch is None:
        mask[1, 1] = 0
        b = b.replace(response_mask=mask)
    adv = _est_call(name, b, options, broadcast=True)
    if tuple(adv.shape) != tuple(mask.shape):
        raise ConformanceError(f"estimator {name}: broadcast shape {tuple(adv.shape)} != mask {tuple(mask.shape)}")
    if bool((adv[mask == 0] != 0).any()):
        raise ConformanceError(f"estimator {name}: non-zero advantages on masked tokens")


def check_missing_field_named(name, spec, batch, options):
    """Dropping a needed field is a ValueError that names it."""
    if batch is not None:
        return
    for field in spec.needs:
        if field == "rewards":
            continue
        b = estimator_fixture_batch(set(spec.needs) - {field})
        try:
            _est_call(name, b, options)
        except ValueError as exc:
            if field not in str(exc):
                raise ConformanceError(f"estimator {name}: the error for a missing {field!r} does not name it: {exc}")
        else:
            raise ConformanceError(f"estimator {name}: ran without its declared need {field!r}")


#: name -> check, in the order :func:`check_estimator` runs them
ESTIMATOR_CHECKS: Mapping[str, Callable] = {
    "needs_truthful": check_needs_truthful,
    "shape_dtype_determinism": check_shape_dtype_determinism,
    "broadcast": check_broadcast,
    "missing_field_named": check_missing_field_named,
}


def check_estimator(name: str, *, batch=None, options: Mapping | None = None, checks=None) -> list[str]:
    """Run the estimator contracts on the registered estimator ``name``.

    Parameters
    ----------
    name : str
        A name known to :func:`mdp.llm.list_estimators` (register yours first).
    batch : RolloutBatch, optional
        A batch your estimator can run on (needed when it reads ``extra`` fields the fixture does
        not hold); by default a 4-row fixture holding exactly the estimator's ``needs``.
    options : mapping, optional
        Options without defaults (callables such as a judge).
    checks : iterable of str, optional
        A subset of :data:`ESTIMATOR_CHECKS` (default: all).

    Returns
    -------
    list of str
        The checks that passed; a failure raises :class:`ConformanceError`.
    """
    from mdp.llm import get_estimator

    spec = get_estimator(name)
    opts = dict(_REQUIRED_OPTIONS.get(name, {}))
    opts.update(options or {})
    chosen = _chosen(checks, ESTIMATOR_CHECKS)
    for c in chosen:
        ESTIMATOR_CHECKS[c](name, spec, batch, opts)
    return chosen


# ================================================================================== pytest
def parametrize_with_checks(*, solvers: Mapping[str, Callable] | None = None, estimators=None):
    """A ``pytest.mark.parametrize("name, check", ...)`` over every (solver or estimator, check)
    pair, each ``check`` a zero-argument callable that raises :class:`ConformanceError`.

    ``solvers`` maps a label to a solver callable; ``estimators`` is an iterable of registered
    estimator names.
    """
    import pytest

    params, ids = [], []
    for label, fn in (solvers or {}).items():
        for c in SOLVER_CHECKS:
            params.append((label, functools.partial(check_solver, fn, name=label, checks=[c])))
            ids.append(f"{label}-{c}")
    for est in estimators or ():
        for c in ESTIMATOR_CHECKS:
            params.append((est, functools.partial(check_estimator, est, checks=[c])))
            ids.append(f"{est}-{c}")
    return pytest.mark.parametrize("name, check", params, ids=ids)
