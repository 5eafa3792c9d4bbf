"""Lazy public names for a package: ``__getattr__``/``__dir__`` that import a name's module on first use.

    __getattr__, __dir__, __all__ = lazy_names(__name__, {"Name": "pkg.module", ...}, submodules=("sub",))

keeps ``import pkg`` cheap (numba kernels compile, torch and cvxpy load, only when a name is used).
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["lazy_names"]


def lazy_names(package: str, names: dict, *, submodules=(), eager=()):
    """``(__getattr__, __dir__, __all__)`` for ``package``: ``names`` maps a public name to the module
    defining it, ``submodules`` are loaded as ``package.<name>``, ``eager`` lists names already bound."""
    subs = frozenset(submodules)
    public = sorted({*eager, *names, *subs})

    def __getattr__(name):
        if name in names:
            value = getattr(importlib.import_module(names[name]), name)
        elif name in subs:
            value = importlib.import_module(f"{package}.{name}")
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(public))

    return __getattr__, __dir__, public
