"""Which source files a lab's results depend on, read from the import statements (never by
importing): the lab's module and every module of rlab's packages it imports, transitively. A
seed's cache key hashes them (:func:`lab_source_digest`), so editing a solver recomputes the labs
that use it and leaves the others' caches alone."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

from labs.provenance import sha256_file

__all__ = ["lab_source_files", "lab_source_digest"]

# rlab's own packages: a lab's numbers depend on the code it imports from these
_RLAB_PACKAGES = ("mdp", "marl", "theory_checks", "labs")


def _package_roots() -> dict[str, Path]:
    """Folder of each of rlab's top-level packages (found without importing them)."""
    import importlib.util

    roots = {}
    for name in _RLAB_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            roots[name] = Path(spec.origin).parent
    return roots


def _module_file(name: str, roots: dict[str, Path]) -> Path | None:
    """Source file of module ``name`` under ``roots`` (``None``: not a module there, e.g. a function)."""
    top, *rest = name.split(".")
    if top not in roots:
        return None
    base = roots[top].joinpath(*rest)
    for cand in (base / "__init__.py", base.with_suffix(".py") if rest else None):
        if cand is not None and cand.is_file():
            return cand
    return None


_IMPORTS_CACHE: dict[tuple, frozenset] = {}
# assignments whose string values are modules imported later (see _imports_of); labs/base.py's own
# _BUILTIN_LABS is deliberately not one of them: registering the labs is not a dependency of a lab
_STRING_IMPORT_TABLES = {
    "_LAZY": "absolute",
    "_BUILTIN_MODULES": "absolute",
    "_SUBMODULES": "relative",
    "_LAZY_SUBPACKAGES": "relative",
}


def _imports_of(path: Path, module: str) -> frozenset:
    """Every module name ``path`` imports, at any depth of its code (lazy imports in functions too),
    with relative imports resolved against ``module``; ``from a import b`` names ``a`` and ``a.b``.
    Imports by string count too: ``importlib.import_module("a.b")`` with a literal name, and the tables
    listed in ``_STRING_IMPORT_TABLES`` (those of :func:`mdp._lazy.lazy_names`, ``mdp``'s lazy
    subpackages, the claim and estimator registries)."""
    st = path.stat()
    key = (str(path), module, st.st_mtime_ns, st.st_size)
    hit = _IMPORTS_CACHE.get(key)
    if hit is not None:
        return hit
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base:
                names.add(base)
                names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Assign):
            # imports by string, made on first use: the tables of mdp._lazy.lazy_names (``_LAZY`` maps
            # names to modules, ``_SUBMODULES`` / ``_LAZY_SUBPACKAGES`` name subpackages) and the
            # registries' ``_BUILTIN_MODULES`` (claims, LLM estimators)
            kind = next(
                (
                    _STRING_IMPORT_TABLES[t.id]
                    for t in node.targets
                    if isinstance(t, ast.Name) and t.id in _STRING_IMPORT_TABLES
                ),
                None,
            )
            if kind is not None:
                value = node.value
                items = value.values if isinstance(value, ast.Dict) else getattr(value, "elts", [])
                found = [x.value for x in items if isinstance(x, ast.Constant) and isinstance(x.value, str)]
                names.update(f"{package}.{x}" if kind == "relative" else x for x in found)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.args[0].value.startswith(".")
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
        ):
            names.add(node.args[0].value)  # importlib.import_module("pkg.module")
    out = frozenset(names)
    _IMPORTS_CACHE[key] = out
    return out


def lab_source_files(lab) -> list[Path]:
    """The source files a lab's results depend on.

    The module that defines ``lab.run`` and every module of rlab's packages (``mdp``, ``marl``,
    ``theory_checks``, ``labs``) that it imports, transitively, found by reading the import
    statements at any depth (imports inside functions count), never by importing. A package imported
    by name (``import mdp``) counts with everything its ``__init__`` imports; a package that only
    lies on the way to a submodule (``labs`` for ``labs.base``) counts with its ``__init__.py`` alone,
    so one lab does not depend on the others that ``labs/__init__.py`` registers. Empty when
    ``lab.run`` has no source file (e.g. defined in a REPL).
    """
    import inspect

    run = inspect.unwrap(lab.run)  # a decorated run: the function the decorator wraps
    try:
        path = inspect.getsourcefile(run)
    except TypeError:
        return []
    if not path or not Path(path).is_file():
        return []
    roots = _package_roots()
    followed: set[Path] = set()
    on_the_way: set[Path] = set()
    todo = [(Path(path).resolve(), getattr(run, "__module__", "") or "")]
    while todo:
        file, module = todo.pop()
        if file in followed:
            continue
        followed.add(file)
        for name in _imports_of(file, module):
            parts = name.split(".")
            for i in range(1, len(parts)):
                f = _module_file(".".join(parts[:i]), roots)
                if f is not None:
                    on_the_way.add(f.resolve())
            f = _module_file(name, roots)
            if f is not None and f.resolve() not in followed:
                todo.append((f.resolve(), name))
    return sorted(followed | on_the_way)


def lab_source_digest(lab) -> str | None:
    """sha256 over :func:`lab_source_files` (paths relative to their package and file contents), or
    ``None`` when the lab has no source file. Editing the lab, or any rlab module it imports, changes it."""
    files = lab_source_files(lab)
    if not files:
        return None
    roots = {p.resolve().parent: p for p in _package_roots().values()}
    h = hashlib.sha256()
    for f in files:
        rel = next((f.relative_to(parent).as_posix() for parent in roots if f.is_relative_to(parent)), f.name)
        h.update(f"{rel}\0{sha256_file(f)}\n".encode())
    return h.hexdigest()
