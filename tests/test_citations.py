"""Every paper page cited in code, claims, notebooks or docs must be a file a reader can open.

The regular expression is the one of the project's before-stop review hook: any ``<name>.md``
mentioned in a tracked ``.py`` or ``.md`` file. A few such names are not citations but files that
code *writes* (report outputs, argparse attributes, templates); they are listed in ``OUTPUTS`` with
the reason, so that a new dangling citation still fails.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAME = re.compile(r"\b([A-Za-z0-9_\-]+\.md)\b")
PAGE = re.compile(r"(?<![\w/.-])((?:docs/papers|shared/papers)/[A-Za-z0-9_\-]+\.md)")

#: ``<name>.md`` strings that name generated files, not documents (checked to stay few)
OUTPUTS = {
    "claims_report.md": "written by `rlab check/demo --out` (README, tests/test_cli.py)",
    "OUT.md": "the --out placeholder in `rlab check --help` (labs/cli.py)",
    "rep.md": "a report written to tmp_path by tests/test_cli.py",
    "r.md": "a report written to tmp_path by tests/test_cli.py",
    "a.md": "argparse attribute `a.md` (--md option) in benchmarks/run_all.py, bench_games.py",
    "_section.md": "template `benchmarks/<name>_section.md` spliced by benchmarks/report.py",
    "gpu_llm.md": "summary written under $OUT by benchmarks/gpu_llm.sh (docs/benchmarks.md)",
    "llm_hot_path.md": "written under --out by benchmarks/bench_llm_hot_path.py",
}


def _tracked(*patterns: str) -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [f for f in out.stdout.split() if (ROOT / f).is_file()]


def _texts():
    for f in _tracked("*.py", "*.md"):
        yield f, (ROOT / f).read_text(encoding="utf-8", errors="ignore")


def test_every_cited_md_file_is_in_the_repository():
    have = {Path(f).name for f in _tracked("*.md")}
    missing: dict[str, list[str]] = {}
    for f, text in _texts():
        for name in set(NAME.findall(text)):
            if name not in have and name not in OUTPUTS:
                missing.setdefault(name, []).append(f)
    assert not missing, "cited .md files that the repository does not hold: " + "; ".join(
        f"{n} (in {', '.join(sorted(w)[:3])})" for n, w in sorted(missing.items())
    )


def test_paper_citations_are_paths_in_the_repository():
    """``docs/papers/<paper>.md`` must exist at that path; ``shared/papers/`` is not shipped."""
    bad = {}
    for f, text in _texts():
        for path in set(PAGE.findall(text)):
            if path.startswith("shared/") or not (ROOT / path).is_file():
                bad.setdefault(path, []).append(f)
    assert not bad, "; ".join(f"{p} (in {', '.join(sorted(w)[:3])})" for p, w in sorted(bad.items()))


def test_output_names_are_not_documents():
    """The exemptions stay exemptions: none of them is (or shadows) a real document."""
    have = {Path(f).name for f in _tracked("*.md")}
    assert not set(OUTPUTS) & have


def _index_table_rows(text: str) -> list[str]:
    """The rows of the index's table: the header line ``| page |`` and the ``|`` lines right after it
    (a row after a blank line or a paragraph is not part of the rendered table)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("| page |")), None)
    assert start is not None, "docs/papers/README.md has no '| page | ...' table"
    rows = []
    for line in lines[start + 2 :]:  # skip the header and the |---| line
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_papers_index_lists_every_page():
    """Every page is a row of the index's one table (rows that trail a paragraph render as text)."""
    index = (ROOT / "docs" / "papers" / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in (ROOT / "docs" / "papers").glob("*.md") if p.name != "README.md")
    assert pages, "docs/papers holds no page"
    rows = "\n".join(_index_table_rows(index))
    unlisted = [p for p in pages if f"[{p}]({p})" not in rows]
    assert not unlisted, f"pages missing from the table of docs/papers/README.md: {unlisted}"
    stray = [line for line in index.splitlines() if line.startswith("| [") and line not in rows]
    assert not stray, f"table rows outside the table of docs/papers/README.md: {stray}"


#: a repository path with a file extension, as code and docs cite them (``mdp/solvers/value_iteration.py``)
REPO_FILE = re.compile(
    r"(?<![\w/.-])((?:mdp|marl|labs|benchmarks|tests|theory_checks|docs)/[A-Za-z0-9_\-/.]*[A-Za-z0-9_\-]"
    r"\.(?:py|md|json|sh|csv|txt|npz|tsp|yaml|cfg))\b"
)
#: a repository directory in backticks (```mdp/goal/```)
REPO_DIR = re.compile(r"`((?:mdp|marl|labs|benchmarks|tests|theory_checks|docs)/[A-Za-z0-9_\-/]+)/?`")
#: directories that the docs build writes (cited as outputs, absent from a clean checkout)
BUILD_DIRS = ("docs/_build", "docs/_generated")


def test_repository_paths_in_code_and_docs_exist():
    """A path into the repository named in a docstring, comment or page (``mdp/solvers/value_iteration.py``,
    ```marl/bn/```) names a file or folder that exists, so a module moved into a package
    (``grouping.py`` -> ``grouping/``) leaves no stale pointer behind."""
    bad: dict[str, list[str]] = {}
    for f, text in _texts():
        found = set(REPO_FILE.findall(text)) | set(REPO_DIR.findall(text))
        for path in found:
            if path.startswith(BUILD_DIRS) or not path.strip("/"):
                continue
            if not (ROOT / path).exists():
                bad.setdefault(path, []).append(f)
    assert not bad, "repository paths that do not exist: " + "; ".join(
        f"{p} (in {', '.join(sorted(w)[:3])})" for p, w in sorted(bad.items())
    )


#: ``path.py::name`` or ``path.py:name``: a function, class or constant defined in that file
REPO_SYMBOL = re.compile(
    r"(?<![\w/.-])((?:mdp|marl|labs|benchmarks|tests|theory_checks)/[A-Za-z0-9_/]+\.py)::?([A-Za-z_]\w*)"
)


def test_cited_functions_are_defined_where_cited():
    """``mdp/_common/roundoff.py::macqueen_bounds`` names a file that defines it (docs/algorithms.md
    pointed at ``mdp/solvers/_core.py``, which only imports it since it moved)."""
    bad: dict[str, list[str]] = {}
    for f, text in _texts():
        for path, name in set(REPO_SYMBOL.findall(text)):
            target = ROOT / path
            if not target.is_file():
                continue  # a missing file is test_repository_paths_in_code_and_docs_exist's
            source = target.read_text(encoding="utf-8")
            if not re.search(rf"^\s*(?:async\s+)?(?:def|class)\s+{name}\b|^{name}\s*[:=]", source, re.M):
                bad.setdefault(f"{path}::{name}", []).append(f)
    assert not bad, "cited names not defined in the cited file: " + "; ".join(
        f"{p} (in {', '.join(sorted(w)[:3])})" for p, w in sorted(bad.items())
    )


def test_every_claim_is_in_the_papers_index():
    """Each registered claim id is named in docs/papers/README.md: in its page's row (ranges such as
    ``F1-F13`` count) or in the notes below the table (claims that cite their sources directly)."""
    from theory_checks import list_claims

    index = (ROOT / "docs" / "papers" / "README.md").read_text(encoding="utf-8")
    named = set()
    for first, low, high in re.findall(r"\b([A-Z]+)(\d+)-\1(\d+)\b", index):
        named |= {f"{first}{i}" for i in range(int(low), int(high) + 1)}
    named |= set(re.findall(r"\b[A-Z]+\d*\b", index))
    missing = sorted(c.id for c in list_claims() if c.id not in named)
    assert not missing, f"claims missing from docs/papers/README.md: {missing}"
