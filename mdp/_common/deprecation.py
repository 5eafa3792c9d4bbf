"""Moving public signatures onto the conventions without breaking callers.

:func:`migrate_signature` wraps a function whose new signature made some parameters keyword-only
or renamed them: a call in the old form still works, with one ``DeprecationWarning`` that says
what to write instead. ``inspect.signature`` shows the new signature (``functools.wraps``).
"""

from __future__ import annotations

import functools
import inspect
import warnings

__all__ = ["migrate_signature"]


def migrate_signature(*, renamed: dict | None = None, was_positional: tuple = (), since: str = "0.2"):
    """Decorator: accept the old calling forms of a function with a DeprecationWarning.

    Parameters
    ----------
    renamed : dict old -> new, optional
        Keyword arguments that were renamed.
    was_positional : tuple of str
        Keyword-only parameters that used to follow the positional ones, in their old order:
        surplus positional arguments are mapped onto them.
    """
    renamed = dict(renamed or {})

    def wrap(fn):
        sig = inspect.signature(fn)
        n_pos = sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in sig.parameters.values())

        @functools.wraps(fn)
        def inner(*args, **kwargs):
            if len(args) > n_pos and was_positional:
                extra = args[n_pos:]
                if len(extra) > len(was_positional):
                    raise TypeError(f"{fn.__name__}() takes {n_pos} positional arguments but {len(args)} were given")
                names = was_positional[: len(extra)]
                for name, value in zip(names, extra):
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}() got multiple values for argument {name!r}")
                    kwargs[name] = value
                args = args[:n_pos]
                warnings.warn(
                    f"passing {', '.join(names)} to {fn.__name__} positionally is deprecated since rlab "
                    f"{since}; write {', '.join(f'{n}=...' for n in names)}",
                    DeprecationWarning,
                    stacklevel=2,
                )
            for old, new in renamed.items():
                if old in kwargs:
                    if new in kwargs:
                        raise TypeError(f"{fn.__name__}() got both {old!r} (deprecated) and {new!r}")
                    kwargs[new] = kwargs.pop(old)
                    warnings.warn(
                        f"{fn.__name__}({old}=...) is deprecated since rlab {since}; use {new}=...",
                        DeprecationWarning,
                        stacklevel=2,
                    )
            return fn(*args, **kwargs)

        return inner

    return wrap
