"""Sphinx extension: write the registry-driven pages of the docs site into ``docs/_generated/``.

At ``builder-inited`` (before Sphinx reads the sources) it writes

* the markdown pages ``claims``, ``labs`` and ``estimators``: status tables built from
  :func:`theory_checks.list_claims`, :func:`labs.list_labs` and :func:`mdp.llm.list_estimators`;
* ``api/<package>.rst``: one autodoc page per package of the ``rlab_api_packages`` config value,
  documenting the names of the package's ``__all__`` (nothing else), and ``api/index.rst``.

A page is rewritten only when its text changes, so an incremental build re-reads nothing it need
not. A package of ``rlab_api_packages`` that is not in the checkout, or that needs an optional
third-party package that is not installed, is listed on the API index as not built; an import
error raised by the project's own code is a Sphinx warning (an error under ``-W``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import types
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

_PROJECT_ROOTS = ("mdp", "marl", "theory_checks", "labs")


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


class _Refs(tuple):
    """Dotted public names: a cross-reference where the name has an API entry, else literal."""


_DOCUMENTED: set = set()  # dotted names with an API entry, filled by api_pages()


def _resolve(dotted: str):
    """The object a dotted name denotes (``ImportError``/``AttributeError`` if there is none)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        head = ".".join(parts[:i])
        try:
            obj = importlib.import_module(head)
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"no module in {dotted!r}")


def _ref(dotted: str) -> str:
    if dotted in _DOCUMENTED:
        return f"{{py:obj}}`{dotted}`"
    try:
        _resolve(dotted)
    except (ImportError, AttributeError) as exc:
        logger.warning(f"rlab_registries: subject {dotted!r} names nothing importable ({exc})")
    return f"`{dotted}`"


def _cell(value) -> str:
    """One markdown table cell: no pipes or newlines, empty shown as an em dash."""
    if isinstance(value, _Refs):
        value = ", ".join(_ref(v) for v in value)
    elif isinstance(value, (tuple, list)):
        value = ", ".join(f"`{v}`" for v in value)
    text = " ".join(str(value).split()).replace("|", "\\|")
    return text or "—"


def _table(header, rows) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def claims_page() -> str:
    from theory_checks import list_claims

    claims = list_claims()
    rows = [(f"`{c.id}`", c.name, _Refs(c.subjects), c.instance, c.constant, c.source) for c in claims]
    return (
        "# Claims\n\n"
        f"The {len(claims)} registered claims (`theory_checks.list_claims()`), in registry order; "
        "generated at build time. `rlab check ID` runs one; `rlab list ID` prints its card.\n\n"
        + _table(("id", "name", "subjects", "instance", "constant", "source"), rows)
    )


def labs_page() -> str:
    from labs import list_labs

    found = list_labs()
    rows = [(f"`{lab.name}`", lab.description, _Refs(lab.subjects)) for lab in found]
    return (
        "# Labs\n\n"
        f"The {len(found)} registered labs (`labs.list_labs()`); generated at build time. "
        "`rlab run NAME --seeds 5` runs one.\n\n" + _table(("name", "description", "subjects"), rows)
    )


def estimators_page() -> str:
    try:
        from mdp.llm import get_estimator, list_estimators
    except ImportError as exc:  # torch not installed
        if not _is_optional_missing(exc):
            raise
        return (
            f"# LLM advantage estimators\n\nNot generated: `mdp.llm` needs a package that is not installed ({exc}).\n"
        )
    specs = [get_estimator(name) for name in list_estimators()]
    rows = [(f"`{s.name}`", s.paper, s.claims, f"`{s.module}`" if s.module else "") for s in specs]
    return (
        "# LLM advantage estimators\n\n"
        f"The {len(specs)} registered group-relative advantage estimators "
        "(`mdp.llm.list_estimators()`, `mdp.llm.get_estimator(name)`); generated at build time. "
        "A claim id links the estimator to the check in `theory_checks.llm`.\n\n"
        + _table(("name", "paper", "claims", "module"), rows)
    )


def _is_optional_missing(exc: ImportError) -> bool:
    """Whether ``exc`` is a missing third-party package (not a broken import of our own code)."""
    name = getattr(exc, "name", None) or ""
    return isinstance(exc, ModuleNotFoundError) and name.split(".")[0] not in _PROJECT_ROOTS


def _directive(qualname: str, obj) -> str:
    if isinstance(obj, types.ModuleType):
        return "automodule"
    if inspect.isclass(obj):
        if issubclass(obj, BaseException):
            return "autoexception"
        return "autoclass"
    if callable(obj):
        return "autofunction"
    return "autodata"


def _data_doc(package: str, name: str, obj) -> str | None:
    """The ``#:`` comment of a module-level constant, looked up in the module that defines it.

    ``autodata`` reads ``#:`` comments only in the module named in the directive, so for a constant
    re-exported by a package it falls back to the docstring of the value's type (``list``, ``int``).
    """
    import sys

    from sphinx.pycode import ModuleAnalyzer, PycodeError

    owners = [
        m
        for m_name, m in sorted(sys.modules.items())
        if (m_name == package or m_name.startswith(package + ".")) and getattr(m, name, None) is obj
    ]
    for owner in owners:
        try:
            docs = ModuleAnalyzer.for_module(owner.__name__).find_attr_docs()
        except PycodeError:
            continue
        if ("", name) in docs:
            return "\n".join(docs[("", name)]).strip()
    return None


def _data_entry(full: str, package: str, name: str, obj) -> list:
    doc = _data_doc(package, name, obj)
    if doc is None:
        logger.warning(f"rlab_registries: public constant {full} has no '#:' doc comment where it is defined")
        doc = ""
    value = " ".join(repr(obj).split())
    if len(value) > 200:
        value = value[:197] + "..."
    return (
        [f".. py:data:: {name}", f"   :module: {package}", f"   :value: {value}", ""]
        + [f"   {line}" for line in doc.splitlines()]
        + [""]
    )


def api_page(package: str, module, documented: set) -> str:
    title = f"``{package}``"
    lines = [title, "=" * len(title), "", f".. automodule:: {package}", "   :no-members:", ""]
    names = list(getattr(module, "__all__", ()))
    for name in names:
        obj = getattr(module, name)
        full = f"{package}.{name}"
        kind = _directive(full, obj)
        if kind == "automodule":
            if full in documented:
                lines += [f"* :mod:`{full}` (own page)", ""]
                continue
            lines += [f".. automodule:: {full}", "   :members:", ""]
            continue
        if kind == "autodata":
            lines += _data_entry(full, package, name, obj)
            continue
        lines += [f".. {kind}:: {full}", ""]
        if kind == "autoclass":
            lines.insert(len(lines) - 1, "   :members:")
    return "\n".join(lines) + "\n"


def _in_checkout(package: str) -> bool:
    """Whether ``package`` is a module of the checkout being documented.

    The spec must lie inside the top-level package's folder: an editable install of another checkout
    (setuptools' finder maps every ``mdp.*`` name to its own tree) must not supply a missing one.
    """
    root = package.split(".")[0]
    root_spec = importlib.util.find_spec(root)
    if root_spec is None or root_spec.submodule_search_locations is None:
        return False
    try:
        spec = importlib.util.find_spec(package)
    except ImportError:  # a parent is not a package
        return False
    if spec is None or spec.origin is None:
        return False
    folders = [Path(p).resolve() for p in root_spec.submodule_search_locations]
    origin = Path(spec.origin).resolve()
    return any(origin.is_relative_to(folder) for folder in folders)


def api_pages(app) -> dict:
    packages = list(app.config.rlab_api_packages)
    built, skipped, pages = [], [], {}
    for package in packages:
        if not _in_checkout(package):
            skipped.append((package, "not in this checkout"))
            continue
        try:
            module = importlib.import_module(package)
        except ImportError as exc:
            if not _is_optional_missing(exc):
                raise
            skipped.append((package, f"needs ``{exc.name}``, not installed"))
            continue
        built.append((package, module))
    documented = {p for p, _ in built}
    _DOCUMENTED.clear()
    for package, module in built:
        _DOCUMENTED.add(package)
        for name in getattr(module, "__all__", ()):
            _DOCUMENTED.add(f"{package}.{name}")
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType):
                _DOCUMENTED.update(f"{package}.{name}.{n}" for n in getattr(obj, "__all__", ()))
    for package, module in built:
        pages[package] = api_page(package, module, documented)
    index = [
        "API reference",
        "=============",
        "",
        "One page per public package; each documents the names of the package's ``__all__``.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    index += [f"   {package}" for package, _ in built]
    if skipped:
        index += ["", "Not built here:", ""]
        index += [f"* ``{package}``: {why}" for package, why in skipped]
    pages["index"] = "\n".join(index) + "\n"
    for package, why in skipped:
        logger.info(f"rlab_registries: API page of {package} not built ({why})")
    return pages


def generate(app) -> None:
    out = Path(app.srcdir) / "_generated"
    pages = api_pages(app)  # first: it fills _DOCUMENTED, which the tables link against
    for stem, page in (("claims", claims_page), ("labs", labs_page), ("estimators", estimators_page)):
        _write(out / f"{stem}.md", page())
    api = out / "api"
    for name, text in pages.items():
        _write(api / f"{name}.rst", text)
    for stale in api.glob("*.rst"):  # a package taken off the list
        if stale.stem not in pages:
            stale.unlink()


def setup(app):
    app.add_config_value("rlab_api_packages", [], "env")
    app.connect("builder-inited", generate)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
