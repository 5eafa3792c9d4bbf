"""Argument checks shared by every public entry point.

Every function raises ``TypeError`` (wrong kind of object) or ``ValueError`` (right kind, rule
broken) with a message that names the argument and the rule, so that no numba traceback or silent
NaN ever reaches a user. The scalar checks raise :class:`mdp._common.ArgumentKindError` for a wrong
kind: a ``TypeError`` that is also a ``ValueError``, so that the functions that raised ``ValueError``
for every bad argument before they used these checks keep their contract.
"""

from __future__ import annotations

import numbers

import numpy as np

from mdp._common.exceptions import ArgumentKindError

__all__ = [
    "as_float_array",
    "check_gamma",
    "check_positive_int",
    "check_tol",
    "check_rng",
    "check_policy",
    "check_mdp",
    "check_real",
    "check_index",
    "check_probability",
    "check_open_unit",
    "check_bool",
    "check_progress",
    "progress_chunk",
    "did_you_mean",
]


def as_float_array(x, name: str, *, ndim: int | None = None, dtype=np.float64, allow_bool: bool = True) -> np.ndarray:
    """Coerce ``x`` to a C-contiguous float array, rejecting non-numeric and non-finite input.

    Masked arrays are refused (``np.asarray`` would use the masked entries' hidden values as
    numbers); ``allow_bool=False`` also refuses boolean arrays (rewards and payoffs, where ``True``
    is more likely a mask passed by mistake than the number 1).
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f"{name} is a numpy masked array: its masked entries would be used with their hidden "
            f"values; pass {name}.filled(value) or an unmasked array"
        )
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - numpy raises many kinds here
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be an array of real numbers, got dtype {arr.dtype}")
    if arr.dtype == bool and not allow_bool:
        raise TypeError(
            f"{name} must hold numbers, got a boolean array; cast it explicitly "
            f"({name}.astype(float)) if 0/1 values are meant"
        )
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got complex dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} must be finite; {name}[{', '.join(map(str, bad))}] = {arr[tuple(bad)]}")
    return arr


def check_gamma(gamma, name: str = "gamma", *, allow_one: bool = False) -> float:
    """Return ``gamma`` as a float in ``[0, 1)`` (``[0, 1]`` when ``allow_one``)."""
    if isinstance(gamma, bool) or not isinstance(gamma, numbers.Real):
        raise ArgumentKindError(f"{name} must be a real number, got {type(gamma).__name__}")
    g = float(gamma)
    if not np.isfinite(g):
        raise ValueError(f"{name} must be finite, got {g}")
    if allow_one:
        if not 0.0 <= g <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {g}")
    elif not 0.0 <= g < 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1) for a discounted problem, got {g}"
            + ("; use mdp.finite_horizon for undiscounted problems" if g == 1.0 else "")
        )
    return g


def check_positive_int(x, name: str, *, minimum: int = 1) -> int:
    """Return ``x`` as an int ``>= minimum``."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Integral, np.integer)):
        raise ArgumentKindError(f"{name} must be an integer, got {type(x).__name__}")
    if int(x) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {int(x)}")
    return int(x)


def check_tol(tol, name: str = "tol", *, allow_zero: bool = False) -> float:
    """Return ``tol`` as a positive finite float (``>= 0`` when ``allow_zero``)."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
        raise ArgumentKindError(f"{name} must be a real number, got {type(tol).__name__}")
    t = float(tol)
    if not np.isfinite(t) or t < 0 or (t == 0 and not allow_zero):
        rule = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {rule}, got {t}")
    return t


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """Require a ``numpy.random.Generator`` (the only source of randomness in the lab)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed)), got {type(rng).__name__}"
        )
    return rng


def check_policy(pi, n_states: int, n_actions: int, name: str = "pi") -> np.ndarray:
    """Validate a policy: deterministic ``(S,)`` integer actions or stochastic ``(S, A)`` rows.

    Returns an int64 ``(S,)`` array or a float64 ``(S, A)`` array.
    """
    if isinstance(pi, (str, bytes)) or pi is None:
        raise TypeError(f"{name} must be an array, got {type(pi).__name__}")
    arr = np.asarray(pi)
    if arr.ndim == 1:
        if arr.shape[0] != n_states:
            raise ValueError(f"{name} must have shape ({n_states},) or ({n_states}, {n_actions}), got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int64)
            else:
                raise TypeError(f"{name} given as (S,) must hold integer actions, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= n_actions):
            s = int(np.argmax((arr < 0) | (arr >= n_actions)))
            raise ValueError(f"{name}[{s}] = {arr[s]} is not an action in [0, {n_actions})")
        return arr
    if arr.ndim == 2:
        if arr.shape != (n_states, n_actions):
            raise ValueError(f"{name} must have shape ({n_states},) or ({n_states}, {n_actions}), got {arr.shape}")
        arr = as_float_array(arr, name)
        if np.any(arr < 0):
            s, a = np.argwhere(arr < 0)[0]
            raise ValueError(f"{name} must be non-negative; {name}[{s}, {a}] = {arr[s, a]}")
        dev = np.abs(arr.sum(axis=1) - 1.0)
        if np.any(dev > 1e-8):
            s = int(np.argmax(dev))
            raise ValueError(f"{name} rows must sum to 1; row {s} sums to {arr[s].sum():.12g} (off by {dev[s]:.3g})")
        return arr
    raise ValueError(f"{name} must have shape ({n_states},) or ({n_states}, {n_actions}), got {arr.shape}")


def check_mdp(m, name: str = "m", *, discounted: bool = True):
    """Require an :class:`mdp.TabularMDP` (with ``gamma < 1`` and representable values when
    ``discounted``); returns it."""
    from mdp._common.numerics import VALUE_LIMIT
    from mdp.model import TabularMDP

    if not isinstance(m, TabularMDP):
        raise TypeError(f"{name} must be an mdp.TabularMDP, got {type(m).__name__}")
    if discounted:
        check_gamma(m.gamma, f"{name}.gamma")
        scale = m.r_max / (1.0 - m.gamma)
        if not scale <= VALUE_LIMIT:
            raise ValueError(
                f"{name}: values can reach max|R| / (1 - gamma) = {m.r_max:.3g} / (1 - {m.gamma!r}) = {scale:.3g}, "
                f"beyond the {VALUE_LIMIT:g} that float64 solvers can represent with room for their sums; "
                "rescale R (the optimal policy is unchanged by a positive factor) or lower gamma"
            )
    return m


def check_real(x, name: str, interval: str | None = None) -> float:
    """Return ``x`` as a finite float, optionally inside ``interval``.

    ``interval`` is written as in mathematics: ``"[0, 1]"``, ``"(0, 1)"``, ``"(0, inf)"``,
    ``"[0, inf)"``, ``"(1/2, 1]"`` (bounds are numbers, ``inf`` or ``1/2``-style fractions). A
    non-real ``x`` (a bool, a string, ``None``) is a ``TypeError``; a non-finite one or one outside
    the interval a ``ValueError`` naming ``name`` and the interval.
    """
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        raise ArgumentKindError(f"{name} must be a real number, got {type(x).__name__}")
    v = float(x)
    if not np.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v}")
    if interval is not None:
        lo, hi, lo_open, hi_open = _parse_interval(interval)
        ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
        if not ok:
            if hi == np.inf and lo > -np.inf:  # "(0, inf)" reads "finite and > 0"
                raise ValueError(f"{name} must be finite and {'>' if lo_open else '>='} {lo:g}, got {v}")
            raise ValueError(f"{name} must lie in {interval}, got {v}")
    return v


def check_index(x, name: str, n: int, *, what: str | None = None) -> int:
    """Return ``x`` as an int in ``0..n-1`` (a state, action, player or group index).

    ``what`` names the kind of index in the message (``"state index"``, ``"player"``, ...).
    """
    kind = f" {what}" if what else ""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Integral, np.integer)):
        raise ArgumentKindError(f"{name} must be an integer{kind} in 0..{n - 1}, got {type(x).__name__} {x!r}")
    i = int(x)
    if not 0 <= i < n:
        raise ValueError(
            f"{name} must be a{kind} in 0..{n - 1}, got {i}" if what else f"{name} must lie in 0..{n - 1}, got {i}"
        )
    return i


def _parse_interval(text: str):
    text = text.strip()
    if len(text) < 5 or text[0] not in "[(" or text[-1] not in "])" or "," not in text:
        raise ValueError(f"not an interval: {text!r}")
    a, b = (t.strip() for t in text[1:-1].split(","))

    def num(t):
        if t in ("inf", "+inf"):
            return np.inf
        if t == "-inf":
            return -np.inf
        if "/" in t:
            n, d = t.split("/")
            return float(n) / float(d)
        return float(t)

    return num(a), num(b), text[0] == "(", text[-1] == ")"


def check_probability(x, name: str, *, open_ends: bool = False) -> float:
    """Return ``x`` as a float in ``[0, 1]`` (``(0, 1)`` when ``open_ends``)."""
    return check_real(x, name, "(0, 1)" if open_ends else "[0, 1]")


def check_open_unit(x, name: str) -> float:
    """Return ``x`` as a float in ``(0, 1)`` (confidence levels ``delta``, accuracies ``eps``)."""
    return check_real(x, name, "(0, 1)")


def check_bool(x, name: str) -> bool:
    """Require a Python or numpy bool (not an int that happens to be 0 or 1)."""
    if not isinstance(x, (bool, np.bool_)):
        raise ArgumentKindError(f"{name} must be a bool, got {type(x).__name__}")
    return bool(x)


def check_progress(progress, name: str = "progress"):
    """``None`` or a callable ``progress(done, total)`` (the optional progress callback of long calls).

    Long library calls (learners, relative value iteration) call it with the work done so far and
    the budget, about every hundredth of the budget and once at the end; an exception raised by it
    stops the call and propagates.
    """
    if progress is not None and not callable(progress):
        raise TypeError(f"{name} must be None or a callable progress(done, total), got {type(progress).__name__}")
    return progress


def progress_chunk(chunk: int, total: int, progress) -> int:
    """``chunk`` capped so that a call with a ``progress`` callback reports about 100 times."""
    if progress is None:
        return chunk
    return max(1, min(int(chunk), -(-int(total) // 100)))


def did_you_mean(name, known, *, shown=None) -> str:
    """``" (did you mean 'x'?)"`` naming the entries of ``known`` closest to a mistyped ``name``, or ``""``.

    A match that differs only in case comes first (``"GRPO"`` -> ``'grpo'``); otherwise up to three
    close spellings by :func:`difflib.get_close_matches` (``"quickstrat"`` -> ``'quickstart'``). For
    the "unknown name" errors of the registries (labs, claims, estimators, losses, config fields),
    which list every known name after it. ``known`` is any iterable of names (a dict: its keys);
    ``shown`` optionally maps a name to the text shown for it (``{"q_learning":
    "mdp.learners.q_learning"}``).
    """
    import difflib

    known = [str(k) for k in known]
    text = str(name)
    same = [k for k in known if k.lower() == text.lower()]
    if same:
        close = same
    else:
        lowered = {}
        for k in known:
            lowered.setdefault(k.lower(), k)
        close = [lowered[k] for k in difflib.get_close_matches(text.lower(), list(lowered), n=3, cutoff=0.6)]
    if not close:
        return ""
    if shown is not None:
        close = [str(shown.get(k, k)) for k in close]
    return f" (did you mean {' or '.join(repr(k) for k in close)}?)"
