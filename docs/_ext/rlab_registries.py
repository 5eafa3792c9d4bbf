"""Sphinx extension: write the registry-driven pages of the docs site into ``docs/_generated/``.

At ``builder-inited`` (before Sphinx reads the sources) it writes

* ``claims.md``, ``labs.md``, ``estimators.md``: status tables built from
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
    return ("# Claims\n\n"
            f"The {len(claims)} registered claims (`theory_checks.list_claims()`), in registry order; "
            "generated at build time. `rlab check ID` runs one; `rlab list ID` prints its card.\n\n"
            + _table(("id", "name", "subjects", "instance", "constant", "source"), rows))


def labs_page() -> str:
    from labs import list_labs

    found = list_labs()
    rows = [(f"`{lab.name}`", lab.description, _Refs(lab.subjects)) for lab in found]
    return ("# Labs\n\n"
            f"The {len(found)} registered labs (`labs.list_labs()`); generated at build time. "
            "`rlab run NAME --seeds 5` runs one.\n\n"
            + _table(("name", "description", "subjects"), rows))


def estimators_page() -> str:
    try:
        from mdp.llm import get_estimator, list_estimators
    except ImportError as exc:  # torch not installed
        if not _is_optional_missing(exc):
            raise
        return ("# LLM advantage estimators\n\n"
                f"Not generated: `mdp.llm` needs a package that is not installed ({exc}).\n")
    specs = [get_estimator(name) for name in list_estimators()]
    rows = [(f"`{s.name}`", s.paper, s.claims, f"`{s.module}`" if s.module else "") for s in specs]
    return ("# LLM advantage estimators\n\n"
            f"The {len(specs)} registered group-relative advantage estimators "
            "(`mdp.llm.list_estimators()`, `mdp.llm.get_estimator(name)`); generated at build time. "
            "A claim id links the estimator to the check in `theory_checks.llm`.\n\n"
            + _table(("name", "paper", "claims", "module"), rows))


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
        lines += [f".. {kind}:: {full}", ""]
        if kind == "autoclass":
            lines.insert(len(lines) - 1, "   :members:")
    return "\n".join(lines) + "\n"


def api_pages(app) -> dict:
    packages = list(app.config.rlab_api_packages)
    built, skipped, pages = [], [], {}
    for package in packages:
        if importlib.util.find_spec(package.split(".")[0]) is None:
            skipped.append((package, "not in this checkout"))
            continue
        try:
            if importlib.util.find_spec(package) is None:
                skipped.append((package, "not in this checkout"))
                continue
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
    index = ["API reference", "=============", "",
             "One page per public package; each documents the names of the package's ``__all__``.",
             "", ".. toctree::", "   :maxdepth: 1", ""]
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
    _write(out / "claims.md", claims_page())
    _write(out / "labs.md", labs_page())
    _write(out / "estimators.md", estimators_page())
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
