"""The shared validators of mdp._validation: kinds, intervals and messages."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mdp._validation import check_bool, check_open_unit, check_probability, check_real, did_you_mean


@pytest.mark.parametrize(
    "x,interval,ok",
    [
        (0.5, "[0, 1]", True),
        (0.0, "[0, 1]", True),
        (1.0, "[0, 1]", True),
        (1.0, "(0, 1)", False),
        (0.0, "(0, 1)", False),
        (0.75, "(1/2, 1]", True),
        (0.5, "(1/2, 1]", False),
        (3.0, "[0, inf)", True),
        (-1e-300, "[0, inf)", False),
        (np.float32(0.25), "(0, 1)", True),
        (2, "[0, 3]", True),
    ],
)
def test_check_real_intervals(x, interval, ok):
    if ok:
        assert check_real(x, "x", interval) == float(x)
    else:
        if interval.endswith("inf)"):  # half-lines read "finite and >= 0"
            rule = r"x must be finite and " + (">" if interval[0] == "(" else ">=")
        else:
            rule = r"x must lie in " + re.escape(interval)
        with pytest.raises(ValueError, match=rule):
            check_real(x, "x", interval)


@pytest.mark.parametrize("bad", [True, "0.5", None, [0.5], 1 + 0j])
def test_check_real_rejects_non_reals_with_type_error(bad):
    with pytest.raises(TypeError, match="eps must be a real number"):
        check_real(bad, "eps")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_real_rejects_non_finite(bad):
    with pytest.raises(ValueError, match="delta must be finite"):
        check_real(bad, "delta", "(0, 1)")


def test_probability_helpers():
    assert check_probability(0.0, "p") == 0.0
    with pytest.raises(ValueError, match=r"p must lie in \(0, 1\)"):
        check_probability(0.0, "p", open_ends=True)
    with pytest.raises(ValueError, match=r"delta must lie in \(0, 1\)"):
        check_open_unit(1.0, "delta")


def test_check_bool():
    assert check_bool(np.bool_(True), "flag") is True
    with pytest.raises(TypeError, match="flag must be a bool, got int"):
        check_bool(1, "flag")


def test_check_index_range_and_kind():
    from mdp._common import ArgumentKindError
    from mdp._validation import check_index

    assert check_index(np.int64(2), "s", 3, what="state index") == 2
    with pytest.raises(ValueError, match=r"s must be a state index in 0..2, got 3"):
        check_index(3, "s", 3, what="state index")
    with pytest.raises(ValueError, match=r"a must lie in 0..1, got -1"):
        check_index(-1, "a", 2)
    for bad in (True, 1.0, "1", None):
        # a wrong kind is a TypeError and, for callers of the older inline checks, a ValueError
        with pytest.raises(TypeError, match="s must be an integer state index in 0..2"):
            check_index(bad, "s", 3, what="state index")
        with pytest.raises(ValueError):
            check_index(bad, "s", 3, what="state index")
    assert issubclass(ArgumentKindError, TypeError) and issubclass(ArgumentKindError, ValueError)


@pytest.mark.parametrize("bad", [True, "0.5", None])
def test_scalar_kind_errors_are_both_type_and_value_errors(bad):
    from mdp._validation import check_gamma, check_positive_int, check_tol

    for fn in (
        lambda: check_real(bad, "x"),
        lambda: check_gamma(bad),
        lambda: check_tol(bad),
        lambda: check_positive_int(bad, "n"),
        lambda: check_bool("yes", "flag"),
    ):
        with pytest.raises(TypeError):
            fn()
        with pytest.raises(ValueError):
            fn()


def test_did_you_mean_names_the_closest_entries():
    labs = ["quickstart", "soccer", "solver_scaling"]
    assert did_you_mean("quickstrat", labs) == " (did you mean 'quickstart'?)"
    assert did_you_mean("GRPO", ["dr_grpo", "grpo"]) == " (did you mean 'grpo'?)"  # same name, other case first
    assert did_you_mean("f33", ["F1", "F3", "F13", "G1"]) == " (did you mean 'F3' or 'F13'?)"
    assert did_you_mean("zzz", labs) == ""
    assert did_you_mean(3, labs) == ""  # not a string: no suggestion, no crash
    registry = {"quickstart": object(), "soccer": object()}  # a registry dict: its keys are the names
    assert did_you_mean("quickstrat", registry) == " (did you mean 'quickstart'?)"
    where = {"q_learning": "mdp.learners.q_learning"}
    assert did_you_mean("q_learnin", where, shown=where) == " (did you mean 'mdp.learners.q_learning'?)"
