"""Your own labs: ``rlab run path/to/my_lab.py`` or ``rlab run my_package.my_lab``.

A user lab is a Python file (or an importable module) that registers one or more labs with
:func:`labs.register_lab`, exactly like the built-in ones (``labs/quickstart.py`` is the model)::

    # my_lab.py
    from dataclasses import dataclass
    import mdp
    from labs import Lab, register_lab
    from labs.plotting import new_figure

    @dataclass(frozen=True)
    class Config:
        n_states: int = 20

    def run(config, rng):                 # one seed -> a list of row dicts
        m = mdp.generators.random_mdp(config.n_states, 3, rng=rng, gamma=0.9)
        return [{"n_iter": mdp.value_iteration(m).n_iter}]

    def plot(table, config):              # the tidy table of all seeds -> a matplotlib figure
        fig, ax = new_figure(1)
        ax.hist(table["n_iter"])
        return fig

    register_lab(Lab("my_lab", Config, run, plot, description="sweeps to 1e-8"))

It then gets the built-in labs' conventions: per-seed cache keyed by its config, seed and source
(the file and every rlab module it imports), resume, provenance, PDF + PNG in the paper style.

A file is imported under its own name (its folder is appended to ``sys.path``) so that the worker
processes of the ``local`` executor can import it too; a name that another module already has
(``random.py``, ``mdp.py``) is refused. With ``dask``/``slurm`` the module must be importable on the
workers (install it or put it on their ``PYTHONPATH``). ``path.py:name`` picks one lab of a file
that registers several.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from labs.base import Lab, get_lab, list_labs

__all__ = ["resolve_lab", "load_user_labs"]


def _split_name(target: str) -> tuple[str, str | None]:
    head, sep, tail = target.rpartition(":")
    if sep and tail.isidentifier() and head and not head.endswith(("/", "\\")):
        return head, tail
    return target, None


def _looks_like_file(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def load_user_labs(target: str) -> tuple[str, list[Lab]]:
    """Import a lab file or module; returns ``(module name, the labs it registers)``."""
    if _looks_like_file(target):
        path = Path(target).expanduser()
        if not path.is_file():
            raise ValueError(f"lab file {target!r} does not exist")
        if path.suffix != ".py":
            raise ValueError(f"lab file {target!r} must be a Python file ending in .py")
        path = path.resolve()
        name = path.stem
        if not name.isidentifier():
            raise ValueError(
                f"lab file {target!r}: its name {name!r} is not a valid module name (use letters, "
                "digits and underscores)"
            )
        loaded = sys.modules.get(name)
        if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() != path:
            raise ValueError(
                f"lab file {target!r} is named like the module {name!r} that is already imported from "
                f"{getattr(loaded, '__file__', None)}; rename the file"
            )
        if loaded is None:
            spec = importlib.util.find_spec(name)
            if spec is not None and spec.origin and Path(spec.origin).resolve() != path:
                raise ValueError(
                    f"lab file {target!r} is named like the module {name!r} at {spec.origin}; rename the file"
                )
            folder = str(path.parent)
            if folder not in sys.path:
                # appended, not prepended: nothing else in that folder may shadow a module already
                # reachable (a random.py beside the lab); spawned workers inherit sys.path
                sys.path.append(folder)
    else:
        name = target
        if not all(part.isidentifier() for part in name.split(".")):
            raise ValueError(f"{target!r} is neither a lab name, a .py file nor a module name")
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name or name.startswith(f"{exc.name}."):
            raise ValueError(f"no lab, lab file or module named {target!r} (rlab list shows the labs)") from None
        raise
    found = [lab for lab in list_labs() if getattr(lab.run, "__module__", None) == module.__name__]
    return module.__name__, found


def resolve_lab(target: str) -> Lab:
    """A registered lab's name, ``path/to/file.py``, ``package.module`` (each optionally ``:lab_name``)."""
    if not isinstance(target, str) or not target:
        raise ValueError(f"lab must be a lab name, a .py file or a module name, got {target!r}")
    where, pick = _split_name(target)
    if pick is None and not _looks_like_file(where):
        try:
            return get_lab(where)
        except KeyError:
            if "." not in where and (not where.isidentifier() or importlib.util.find_spec(where) is None):
                raise
    module, found = load_user_labs(where)
    if pick is not None:
        chosen = [lab for lab in found if lab.name == pick]
        if not chosen:
            raise ValueError(f"{where!r} registers no lab named {pick!r}; it registers {[lab.name for lab in found]}")
        return chosen[0]
    if not found:
        raise ValueError(f"{where!r} registers no lab: call labs.register_lab(Lab(...)) in it (see labs/user.py)")
    if len(found) > 1:
        raise ValueError(
            f"{where!r} registers {len(found)} labs ({', '.join(lab.name for lab in found)}); "
            f"pick one with {where}:NAME"
        )
    return found[0]
