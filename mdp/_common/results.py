"""One result vocabulary: frozen dataclasses whose array fields are read-only.

Every public result in rlab is declared with :func:`result`::

    @result
    class FooResult:
        v: np.ndarray
        n_iter: int

which is ``dataclasses.dataclass(frozen=True)`` plus a ``__post_init__`` step that makes every
``numpy.ndarray`` field read-only (also arrays inside tuples, lists and dicts of a field), after the
class's own ``__post_init__`` if it has one. Fields that hold a :class:`Deferred` are left for their
descriptor to freeze on first access. The field names follow the glossary of ``docs/algorithms.md``
(``pi`` for a policy, ``residuals`` for a per-iteration trace, ``n_iter``, ``error_bound``, ...).
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import FrozenInstanceError

import numpy as np

__all__ = ["frozen", "result", "Deferred", "DeferrableArray", "freeze_fields", "renamed_field", "renamed_names"]


def frozen(x) -> np.ndarray:
    """Return ``x`` as an array made read-only (results are immutable).

    An ndarray is frozen in place (no copy): a result owns the arrays it is built from.
    """
    x = np.asarray(x)
    x.setflags(write=False)
    return x


def _freeze_value(val):
    if isinstance(val, np.ndarray):
        val.setflags(write=False)
    elif isinstance(val, (tuple, list)):
        for item in val:
            if isinstance(item, np.ndarray):
                item.setflags(write=False)
    elif isinstance(val, dict):
        for item in val.values():
            if isinstance(item, np.ndarray):
                item.setflags(write=False)


def freeze_fields(obj) -> None:
    """Make every ndarray held by a field of the dataclass instance ``obj`` read-only.

    Fields backed by a :class:`DeferrableArray` descriptor are skipped (they freeze on first
    access; reading them here would compute them).
    """
    cls = type(obj)
    for f in dataclasses.fields(obj):
        if isinstance(cls.__dict__.get(f.name), DeferrableArray):
            continue
        _freeze_value(getattr(obj, f.name))


def result(cls=None, /, **dataclass_options):
    """Class decorator: a frozen dataclass whose ndarray fields are read-only.

    ``@result`` or ``@result(eq=False)`` (options are passed to ``dataclasses.dataclass``;
    ``frozen=True`` is always set). The class's own ``__post_init__`` runs first.
    """

    def wrap(c):
        own = c.__dict__.get("__post_init__")

        def __post_init__(self, *args):
            if own is not None:
                own(self, *args)
            freeze_fields(self)

        __post_init__.__qualname__ = f"{c.__qualname__}.__post_init__"
        __post_init__.__doc__ = own.__doc__ if own is not None else None
        c.__post_init__ = __post_init__
        c.__rlab_result__ = True
        return dataclasses.dataclass(c, **{**dataclass_options, "frozen": True})

    return wrap if cls is None else wrap(cls)


class Deferred:
    """An array field computed on first access: ``Deferred(fn)`` with ``fn()`` returning it.

    Used for results that are exact but cost a full pass over ``P`` that the solver itself did not
    need (``mdp.solve``'s ``q`` on dense models).
    """

    __slots__ = ("fn",)

    def __init__(self, fn):
        self.fn = fn


class DeferrableArray:
    """Data descriptor behind a dataclass field that accepts an array or a :class:`Deferred`.

    The value is computed on first access, made read-only and kept. Has no class-level default
    (``AttributeError`` on class access), so ``dataclass`` treats the field as required.
    """

    def __set_name__(self, owner, name):
        self.name = name
        self.slot = f"_{name}_value"

    def __get__(self, obj, owner=None):
        if obj is None:
            raise AttributeError(self.name)
        val = obj.__dict__[self.slot]
        if isinstance(val, Deferred):
            val = frozen(np.asarray(val.fn()))
            obj.__dict__[self.slot] = val
        return val

    def __set__(self, obj, value):
        if self.slot in obj.__dict__:
            raise FrozenInstanceError(f"cannot assign to field {self.name!r}")
        obj.__dict__[self.slot] = value if isinstance(value, Deferred) else frozen(value)


def renamed_field(new: str, old: str, since: str = "0.2"):
    """A read-only property ``old`` that returns the field ``new`` with a ``DeprecationWarning``
    (for a result field renamed onto the glossary's name)."""

    def get(self):
        warnings.warn(
            f"{type(self).__name__}.{old} is deprecated since rlab {since}; use .{new}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(self, new)

    return property(get, doc=f"Deprecated alias of ``{new}``.")


def renamed_names(module: str, renames: dict, namespace: dict, since: str = "0.2"):
    """A module ``__getattr__`` that serves ``renames = {old: new}`` from ``namespace`` with a
    ``DeprecationWarning`` (for a public name moved onto the glossary's name)."""

    def __getattr__(name):
        if name in renames:
            new = renames[name]
            warnings.warn(
                f"{module}.{name} is deprecated since rlab {since}; use {module}.{new}",
                DeprecationWarning,
                stacklevel=2,
            )
            return namespace[new]
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    return __getattr__
