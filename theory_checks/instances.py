"""Validators for the instances a user hands to ``claim.check(instance)`` / ``assert_claim(id, instance)``.

Each claim declares, in words, what it accepts (``Claim.instance``) and a validator
(``Claim.accepts``) built from the pieces below. A validator takes the user's object and returns it
normalised to the form the claim's evaluator reads (e.g. a bare :class:`mdp.TabularMDP` becomes
``(m,)`` for a claim whose sampler draws tuples), or raises ``TypeError`` (wrong kind of object) /
``ValueError`` (right kind, broken rule: shapes, sizes, premises of the theorem). ``Claim.check``
prefixes the message with the claim id and its ``instance`` text, so the user reads both what was
expected and what was wrong.

The pieces are small and composable:

* :func:`tabular_mdp`, :func:`mdp_pair`, :func:`zero_sum_game`: model objects;
* :func:`tuple_of`: a fixed-length tuple, one validator per entry;
* :func:`record`: a mapping with required keys, one validator per key;
* :func:`float_array`, :func:`int_array`, :func:`positive_int`, :func:`real`, :func:`choice`:
  leaves;
* :func:`no_instance`: for claims that check fixed data and take no instance.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from mdp._validation import as_float_array, check_positive_int, check_real

__all__ = [
    "kind_name",
    "tabular_mdp",
    "mdp_pair",
    "zero_sum_game",
    "tuple_of",
    "record",
    "float_array",
    "int_array",
    "positive_int",
    "real",
    "choice",
    "no_instance",
    "max_size",
]

Validator = Callable[[Any], Any]


def kind_name(x) -> str:
    """A short description of ``x`` for error messages (``tuple of 2: (TabularMDP, ndarray)``)."""
    if isinstance(x, tuple):
        inner = ", ".join(type(v).__name__ for v in x[:6]) + (", ..." if len(x) > 6 else "")
        return f"tuple of {len(x)}: ({inner})"
    if isinstance(x, np.ndarray):
        return f"ndarray of shape {x.shape} and dtype {x.dtype}"
    if isinstance(x, dict):
        return f"dict with keys {sorted(map(str, x))}"
    return type(x).__name__


def tabular_mdp(x, name: str = "instance"):
    """Require an :class:`mdp.TabularMDP` (dense or sparse)."""
    import mdp

    if not isinstance(x, mdp.TabularMDP):
        raise TypeError(f"{name} must be an mdp.TabularMDP, got {kind_name(x)}")
    return x


def mdp_pair(x, name: str = "instance"):
    """Require ``(M, M_hat)``: two :class:`mdp.TabularMDP` with the same states, actions and discount."""
    m, mh = tuple_of(tabular_mdp, tabular_mdp, names=("M", "M_hat"))(x, name)
    if (m.n_states, m.n_actions) != (mh.n_states, mh.n_actions):
        raise ValueError(
            f"{name}: M and M_hat must have the same (S, A), got {(m.n_states, m.n_actions)} and "
            f"{(mh.n_states, mh.n_actions)}"
        )
    if m.gamma != mh.gamma:
        raise ValueError(f"{name}: M and M_hat must have the same gamma, got {m.gamma} and {mh.gamma}")
    return m, mh


def zero_sum_game(x, name: str = "instance"):
    """Require a zero-sum :class:`marl.MarkovGame` (``R`` of shape ``(S, A1, A2)``)."""
    import marl

    if not isinstance(x, marl.MarkovGame):
        raise TypeError(f"{name} must be a zero-sum marl.MarkovGame, got {kind_name(x)}")
    if not x.is_zero_sum:
        raise ValueError(f"{name} must be a zero-sum marl.MarkovGame (R of shape (S, A1, A2)); got a general-sum game")
    return x


def tuple_of(*validators: Validator, names: tuple = ()) -> Callable:
    """A validator for a tuple (or list) of ``len(validators)`` entries, each checked by its validator."""
    labels = tuple(names) + tuple(f"entry {i}" for i in range(len(names), len(validators)))

    def check(x, name: str = "instance"):
        if not isinstance(x, (tuple, list)) or len(x) != len(validators):
            raise TypeError(f"{name} must be a tuple ({', '.join(labels)}), got {kind_name(x)}")
        return tuple(v(item, f"{name}[{i}] ({labels[i]})") for i, (v, item) in enumerate(zip(validators, x)))

    return check


def record(**fields: Validator) -> Callable:
    """A validator for a mapping holding (at least) the keys ``fields``; returns a dict of the
    validated values (extra keys are rejected, so a misspelt key does not pass silently)."""

    def check(x, name: str = "instance"):
        if not isinstance(x, dict):
            raise TypeError(f"{name} must be a dict with keys {sorted(fields)}, got {kind_name(x)}")
        missing = sorted(set(fields) - set(x))
        extra = sorted(set(map(str, x)) - set(fields))
        if missing or extra:
            raise ValueError(
                f"{name} must be a dict with keys {sorted(fields)}; "
                + (f"missing {missing}" if missing else "")
                + ("; " if missing and extra else "")
                + (f"unknown {extra}" if extra else "")
            )
        return {k: v(x[k], f"{name}[{k!r}]") for k, v in fields.items()}

    return check


def float_array(ndim: int | None = None, *, min_len: int = 0) -> Callable:
    """A finite float64 array of ``ndim`` dimensions whose first axis has at least ``min_len`` entries."""

    def check(x, name: str = "instance"):
        if isinstance(x, (str, bytes, dict)) or x is None:
            raise TypeError(f"{name} must be a numeric array, got {kind_name(x)}")
        arr = as_float_array(x, name, ndim=ndim)
        if arr.ndim and arr.shape[0] < min_len:
            raise ValueError(f"{name} must have at least {min_len} entries along its first axis, got {arr.shape}")
        return arr

    return check


def int_array(ndim: int = 1) -> Callable:
    """An integer array (floats holding whole numbers are converted)."""

    def check(x, name: str = "instance"):
        if isinstance(x, (str, bytes, dict)) or x is None:
            raise TypeError(f"{name} must be an integer array, got {kind_name(x)}")
        arr = np.asarray(x)
        if arr.ndim != ndim:
            raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                return arr.astype(np.int64)
            raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
        return arr.astype(np.int64)

    return check


def positive_int(x, name: str = "instance"):
    """A positive integer."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {kind_name(x)}")
    return check_positive_int(int(x), name)


def real(interval: str | None = None) -> Callable:
    """A finite real number, optionally in ``interval`` written as in mathematics (``"(0, 1)"``,
    ``"[0, inf)"``): :func:`mdp._validation.check_real`."""

    def check(x, name: str = "instance"):
        return check_real(x, name, interval)

    return check


def choice(*options) -> Callable:
    """One of the given values."""

    def check(x, name: str = "instance"):
        if x not in options:
            raise ValueError(f"{name} must be one of {list(options)}, got {x!r}")
        return x

    return check


def max_size(limit: int, what: str, cost: str) -> Callable:
    """Reject sizes above ``limit`` (for checks whose cost explodes): ``ValueError`` saying why."""

    def check(n: int, name: str = "instance"):
        if n > limit:
            raise ValueError(f"{name}: {what} = {n} is above the limit {limit} of this check ({cost})")
        return n

    return check


def no_instance(x, name: str = "instance"):
    """For claims that check fixed data: any instance is refused."""
    raise TypeError(
        f"this claim takes no instance (it checks fixed data; call check() or check(rng)), got {kind_name(x)}"
    )
