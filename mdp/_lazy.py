"""Lazy public names for a package: ``__getattr__``/``__dir__`` that import a name's module on first use.

    __getattr__, __dir__, __all__ = lazy_names(__name__, {"Name": "pkg.module", ...}, submodules=("sub",))

keeps ``import pkg`` cheap (numba kernels compile, torch and cvxpy load, only when a name is used).
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["lazy_names", "missing_attribute"]


def missing_attribute(package: str, name: str, public, search=()) -> AttributeError:
    """The ``AttributeError`` for ``package.name``, saying where a public name of a ``search``
    submodule lives (``marl.minimax_q`` -> ``marl.learners.minimax_q``) or naming the closest
    public names. Only names without a leading underscore are looked up (tools probe ``__x__``
    and ``_x`` names with ``hasattr``; those stay plain and import nothing)."""
    msg = f"module {package!r} has no attribute {name!r}"
    if name.startswith("_"):
        return AttributeError(msg)
    where = {n: f"{package}.{n}" for n in public if not n.startswith("_")}
    for sub in search:
        try:
            mod = importlib.import_module(f"{package}.{sub}")
        except ImportError:
            continue
        for n in getattr(mod, "__all__", ()):
            where.setdefault(n, f"{package}.{sub}.{n}")
    if name in where:
        return AttributeError(f"{msg}; it is {where[name]}")
    from mdp._validation import did_you_mean

    return AttributeError(msg + did_you_mean(name, where, shown=where))


def lazy_names(package: str, names: dict, *, submodules=(), eager=(), search=()):
    """``(__getattr__, __dir__, __all__)`` for ``package``: ``names`` maps a public name to the module
    defining it, ``submodules`` are loaded as ``package.<name>``, ``eager`` lists names already bound;
    a missing name is looked up in the ``search`` submodules for the error message
    (:func:`missing_attribute`)."""
    subs = frozenset(submodules)
    public = sorted({*eager, *names, *subs})

    def __getattr__(name):
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif name in subs:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise missing_attribute(package, name, public, search)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(public))

    return __getattr__, __dir__, public
