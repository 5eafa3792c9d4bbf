"""The import edges between rlab's packages are declared here; a new edge fails this test.

Layers (an arrow reads "may import"):

* ``mdp`` -> ``mdp`` only (``mdp.llm`` may import ``marl`` inside a function, for the SPO LP);
* ``marl`` -> ``marl``, ``mdp``;
* ``theory_checks`` -> ``theory_checks``, ``mdp``, ``marl``;
* ``labs`` -> everything;

and a private module (a dotted name with a component starting with ``_``) is imported only from
inside the package that holds it, except the shared internals every package may use:
``mdp._common`` (results, sampling, numerics, exceptions), ``mdp._validation``, ``mdp._lazy``
and ``mdp._threads``. Read from the source (``ast``), nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mdp", "marl", "theory_checks", "labs")

#: top-level package -> packages its modules may import at module level
ALLOWED = {
    "mdp": {"mdp"},
    "marl": {"marl", "mdp"},
    "theory_checks": {"theory_checks", "mdp", "marl"},
    "labs": {"labs", "theory_checks", "mdp", "marl"},
}
#: (importing package prefix, imported package) allowed only inside a function (lazily)
LAZY_ONLY = {("mdp.llm", "marl")}
#: private modules every rlab package may import
SHARED_INTERNALS = ("mdp._common", "mdp._validation", "mdp._lazy", "mdp._threads")


def _modules():
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join(parts), path


def _resolve(module: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path):
    """``(imported dotted name, lazy)`` for every rlab import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    out = []

    def visit(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                out.extend((a.name, lazy) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(module, is_pkg, child)
                for a in child.names:
                    # ``from mdp import _common`` imports the module mdp._common
                    out.append((f"{base}.{a.name}" if a.name != "*" else base, lazy))
            visit(child, inner)

    visit(tree, False)
    return [(name, lazy) for name, lazy in out if name.split(".")[0] in PACKAGES]


def _private_owner(name: str) -> str | None:
    """The package that holds the first private component of ``name`` (None if all public).

    A private module ``mdp.solvers._core`` belongs to ``mdp.solvers``; a private name in a public
    module, ``mdp.llm.losses._keep``, belongs to the package of that module, ``mdp.llm``.
    """
    parts = name.split(".")
    for i, p in enumerate(parts):
        if p.startswith("_") and not p.startswith("__"):
            owner = parts[:i]
            if owner and not (ROOT.joinpath(*owner) / "__init__.py").exists():
                owner = owner[:-1]  # the private name lives in a module: its package owns it
            return ".".join(owner)
    return None


def _violations():
    bad = []
    for module, path in _modules():
        src_pkg = module.split(".")[0]
        for name, lazy in _imports(module, path):
            dst_pkg = name.split(".")[0]
            if dst_pkg not in ALLOWED[src_pkg]:
                lazy_ok = any(module.startswith(pre) and dst_pkg == d for pre, d in LAZY_ONLY)
                if not (lazy and lazy_ok):
                    bad.append(
                        f"{module} imports {name}{' (lazily)' if lazy else ''}: {src_pkg} may not import {dst_pkg}"
                    )
            owner = _private_owner(name)
            if owner is not None and not name.startswith(SHARED_INTERNALS):
                if not (module == owner or module.startswith(owner + ".")):
                    bad.append(f"{module} imports the private {name} from outside {owner or 'its package'}")
    return bad


def test_no_undeclared_import_edges():
    bad = _violations()
    assert not bad, "undeclared import edges:\n" + "\n".join(bad)


def test_the_checker_sees_edges(tmp_path):
    """The AST walk finds module-level, lazy and relative imports (a checker that saw none would pass)."""
    edges = dict(_imports("mdp.solvers.solve", ROOT / "mdp" / "solvers" / "solve.py"))
    assert any(n.startswith("mdp.solvers._core") for n in edges)
    src = tmp_path / "m.py"
    src.write_text("from . import _core\nimport marl.markov\n\ndef f():\n    from marl import zero_sum_matrix_game\n")
    got = _imports("mdp.llm.m", src)
    assert ("mdp.llm._core", False) in got and ("marl.markov", False) in got
    assert ("marl.zero_sum_matrix_game", True) in got
    assert _private_owner("mdp.solvers._core.frozen") == "mdp.solvers"
    assert _private_owner("mdp.llm.losses._keep_valid") == "mdp.llm"
    assert _private_owner("mdp.solvers.solve") is None


@pytest.mark.parametrize("pkg", PACKAGES)
def test_every_package_is_scanned(pkg):
    assert any(m.split(".")[0] == pkg for m, _ in _modules())
