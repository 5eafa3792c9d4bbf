"""Everything about one algorithm: its code, claims, labs, notebooks and docs pages.

The links come from the registries (``Claim.subjects``, ``Lab.subjects``) and from the texts
of the teaching notebooks and docs pages that name the algorithm; ``rlab list
mdp.value_iteration`` (or ``rlab list value_iteration``) prints the card.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AlgorithmCard", "algorithm_card", "known_subjects", "resolve"]

_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class AlgorithmCard:
    """What the project holds about one algorithm (dotted public name)."""

    name: str
    summary: str
    source: str | None
    claims: tuple
    labs: tuple
    notebooks: tuple
    docs: tuple


def known_subjects() -> list[str]:
    """Every dotted name some claim or lab declares as its subject, sorted."""
    import labs
    from theory_checks import list_claims

    names = {s for c in list_claims() for s in c.subjects}
    names |= {s for lab in labs.list_labs() for s in lab.subjects}
    return sorted(names)


def _matches(subject: str, query: str) -> bool:
    return subject == query or subject.endswith("." + query)


def resolve(name: str):
    """The object a dotted name points to: the longest importable module prefix, then attributes
    (``marl.MarkovGame.q_values``); ``None`` when it names nothing."""
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:  # noqa: BLE001 - not a module path
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def algorithm_card(query: str) -> AlgorithmCard | None:
    """The card of the algorithm named ``query`` (a dotted name or its last part), or ``None``
    when nothing in the project names it."""
    import labs
    from theory_checks import list_claims

    subjects = [s for s in known_subjects() if _matches(s, query)]
    name = subjects[0] if subjects else query
    obj = resolve(name)
    if obj is None and not subjects:
        return _estimator_card(query)
    short = name.rpartition(".")[2]
    claims = tuple(c.id for c in list_claims() if any(_matches(s, short) or s == name for s in c.subjects))
    lab_names = tuple(
        lab.name for lab in labs.list_labs() if any(_matches(s, short) or s == name for s in lab.subjects)
    )
    notebooks = tuple(
        sorted(
            str(p.relative_to(_ROOT))
            for p in (_ROOT / "docs" / "notebooks").glob("*.py")
            if short in p.read_text(encoding="utf-8")
        )
    )
    pages = _doc_pages()
    docs = tuple(
        str(p.relative_to(_ROOT))
        for p in pages
        if name in p.read_text(encoding="utf-8") or f"`{short}`" in p.read_text(encoding="utf-8")
    )
    summary, source = "", None
    if obj is not None:
        doc = inspect.getdoc(obj) or ""
        summary = doc.split("\n\n")[0].replace("\n", " ")
        try:
            source = str(Path(inspect.getsourcefile(inspect.unwrap(obj))).resolve().relative_to(_ROOT))
        except (TypeError, ValueError):
            source = None
    return AlgorithmCard(name, summary, source, claims, lab_names, notebooks, docs)


def _doc_pages() -> list[Path]:
    """The docs pages written by hand: not the docs build's outputs (``docs/_build``, ``docs/_generated``)."""
    docs = _ROOT / "docs"
    return sorted(p for p in docs.rglob("*.md") if not any(part.startswith("_") for part in p.relative_to(docs).parts))


def _estimator_card(query: str) -> AlgorithmCard | None:
    """The card of a registered LLM advantage estimator (``rlab list gigpo``), or ``None``."""
    try:
        from mdp.llm import get_estimator, list_estimators
    except ImportError:  # torch not installed
        return None
    if query not in list_estimators():
        return None
    spec = get_estimator(query)
    try:
        source = str(Path(inspect.getsourcefile(inspect.unwrap(spec.fn))).resolve().relative_to(_ROOT))
    except (TypeError, ValueError):
        source = None
    notebooks = tuple(
        sorted(
            str(p.relative_to(_ROOT))
            for p in (_ROOT / "docs" / "notebooks").glob("*.py")
            if f'"{query}"' in p.read_text(encoding="utf-8")
        )
    )
    docs = tuple(str(p.relative_to(_ROOT)) for p in _doc_pages() if f"`{query}`" in p.read_text(encoding="utf-8"))
    import labs

    lab_names = tuple(lab.name for lab in labs.list_labs() if "mdp.llm.compute_advantages" in lab.subjects)
    return AlgorithmCard(
        f"mdp.llm.compute_advantages({query!r})", spec.doc, source, spec.claims, lab_names, notebooks, docs
    )
