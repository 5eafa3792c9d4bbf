"""The documentation site builds with warnings as errors, from the registries and docstrings.

``test_docs_site_builds`` runs the real build (``sphinx-build -E -W --keep-going``, notebooks
executed), so a broken docstring, a dead cross-reference or a notebook that raises fails the suite;
it then checks the generated pages against the registries they come from. The other tests cover
the generator of ``docs/_ext/rlab_registries.py`` directly.
"""

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import rlab_registries  # noqa: E402  (docs/_ext is not a package)


@pytest.mark.slow
def test_docs_site_builds(tmp_path):
    from labs import list_labs
    from mdp.llm import list_estimators
    from theory_checks import list_claims

    out = tmp_path / "html"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "RLAB_DOCS_EXECUTE": "force"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-E",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    log = "\n".join(line for line in (proc.stdout + proc.stderr).splitlines() if "IPKernelApp" not in line)
    assert proc.returncode == 0, f"docs build failed (warnings are errors):\n{log[-6000:]}"

    # the status tables list every built-in claim, lab and estimator (other tests of this process may
    # have registered their own toy ones, which the build's fresh interpreter does not see)
    from labs.base import _BUILTIN_LABS
    from mdp.llm import get_estimator
    from mdp.llm.registry import _BUILTIN_MODULES as _BUILTIN_ESTIMATOR_MODULES
    from theory_checks.core import _BUILTIN_MODULES as _BUILTIN_CLAIM_MODULES

    claims = (out / "_generated" / "claims.html").read_text()
    builtin_claims = [c for c in list_claims() if c.evaluate.__module__ in _BUILTIN_CLAIM_MODULES]
    assert len(builtin_claims) >= 64
    for c in builtin_claims:
        assert f'<code class="docutils literal notranslate"><span class="pre">{c.id}</span>' in claims, c.id
    labs_html = (out / "_generated" / "labs.html").read_text()
    builtin_labs = [lab for lab in list_labs() if lab.run.__module__ in _BUILTIN_LABS]
    assert len(builtin_labs) == len(_BUILTIN_LABS)
    assert all(f">{lab.name}<" in labs_html for lab in builtin_labs)
    estimators = (out / "_generated" / "estimators.html").read_text()
    builtin_est = [n for n in list_estimators() if get_estimator(n).module in _BUILTIN_ESTIMATOR_MODULES]
    assert builtin_est and all(f">{name}<" in estimators for name in builtin_est)
    # every teaching notebook is rendered with its outputs, figures included
    notebooks = sorted((DOCS / "notebooks").glob("*.py"))
    assert notebooks
    for nb in notebooks:
        page = (out / "notebooks" / f"{nb.stem}.html").read_text()
        assert "cell_output" in page, f"{nb.name} rendered without outputs"
        if "plt." in nb.read_text():
            assert "<img" in page, f"{nb.name} draws with matplotlib but its page shows no figure"
    # API pages document the public names, e.g. the solvers of mdp
    api = (out / "_generated" / "api" / "mdp.html").read_text()
    assert 'id="mdp.value_iteration"' in api and 'id="mdp.TabularMDP"' in api


def _app(packages):
    return SimpleNamespace(config=SimpleNamespace(rlab_api_packages=packages))


def test_api_pages_skip_packages_not_in_the_checkout():
    pages = rlab_registries.api_pages(_app(["mdp.learners", "mdp.no_such_subpackage", "no_such_root"]))
    assert set(pages) == {"mdp.learners", "index"}
    assert ".. autofunction:: mdp.learners.q_learning" in pages["mdp.learners"]
    assert "``mdp.no_such_subpackage``: not in this checkout" in pages["index"]
    assert "``no_such_root``: not in this checkout" in pages["index"]


def test_api_pages_skip_a_missing_optional_dependency_but_not_a_broken_import():
    real = importlib.import_module

    def missing(name, exc):
        def fake(mod, *a, **k):
            if mod == "mdp.learners":
                raise exc
            return real(mod, *a, **k)

        return fake

    with mock.patch.object(
        rlab_registries.importlib,
        "import_module",
        missing("mdp.learners", ModuleNotFoundError("no torch", name="torch")),
    ):
        pages = rlab_registries.api_pages(_app(["mdp.learners"]))
    assert set(pages) == {"index"} and "needs ``torch``, not installed" in pages["index"]

    broken = ModuleNotFoundError("no module mdp._gone", name="mdp._gone")
    with mock.patch.object(rlab_registries.importlib, "import_module", missing("mdp.learners", broken)):
        with pytest.raises(ModuleNotFoundError):
            rlab_registries.api_pages(_app(["mdp.learners"]))


def test_api_page_documents_only_the_public_names():
    import mdp.learners

    page = rlab_registries.api_page("mdp.learners", mdp.learners, {"mdp.learners"})
    documented = re.findall(r"^\.\. auto\w+:: mdp\.learners\.(\w+)", page, flags=re.M)
    assert documented == list(mdp.learners.__all__)


def test_subject_links_and_dead_subjects():
    rlab_registries.api_pages(_app(["mdp"]))  # fills the set of documented names
    assert rlab_registries._ref("mdp.value_iteration") == "{py:obj}`mdp.value_iteration`"
    with mock.patch.object(rlab_registries.logger, "warning") as warn:
        # a real public module without an API page is a literal, not a dead link
        assert rlab_registries._ref("mdp.llm.toy_envs") == "`mdp.llm.toy_envs`"
        warn.assert_not_called()
        # a subject that names nothing is a warning (an error under -W)
        assert rlab_registries._ref("mdp.no_such_function") == "`mdp.no_such_function`"
        warn.assert_called_once()


def test_table_cells_escape_pipes_and_newlines():
    table = rlab_registries._table(("a", "b"), [("x | y", "two\nlines"), ("", ("p", "q"))])
    assert table.splitlines()[2] == "| x \\| y | two lines |"
    assert table.splitlines()[3] == "| — | `p`, `q` |"


def test_catalog_ignores_the_docs_build_outputs(tmp_path, monkeypatch):
    import labs.catalog

    (tmp_path / "docs" / "papers").mkdir(parents=True)
    (tmp_path / "docs" / "_generated").mkdir()
    pages = [f"docs/{stem}.md" for stem in ("algorithms", "papers/some_paper", "_generated/claims")]
    for page in pages:
        (tmp_path / page).write_text("`value_iteration`")
    monkeypatch.setattr(labs.catalog, "_ROOT", tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in labs.catalog._doc_pages()] == pages[:2]


def test_constants_take_the_doc_comment_of_their_defining_module():
    import labs

    # labs.PALETTE is defined in labs.plotting: autodata alone would show list's docstring
    entry = rlab_registries._data_entry("labs.PALETTE", "labs", "PALETTE", labs.PALETTE)
    assert entry[:2] == [".. py:data:: PALETTE", "   :module: labs"]
    assert any("Cycle order" in line for line in entry)
    fake = SimpleNamespace(__name__="labs._fake_for_test", UNDOCUMENTED=object())
    with (
        mock.patch.dict(sys.modules, {"labs._fake_for_test": fake}),
        mock.patch.object(rlab_registries.logger, "warning") as warn,
    ):
        rlab_registries._data_entry("labs.UNDOCUMENTED", "labs", "UNDOCUMENTED", fake.UNDOCUMENTED)
    warn.assert_called_once()
