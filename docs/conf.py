"""Sphinx configuration of rlab's documentation site (``make docs``; built by the test suite).

The API pages and the status tables (claims, labs, LLM advantage estimators) are generated at
build time by ``docs/_ext/rlab_registries.py`` into ``docs/_generated/`` from the registries; the
teaching notebooks (``docs/notebooks/*.py``, jupytext percent format) are executed by myst-nb.
"""

import os
import sys
from pathlib import Path

_DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(_DOCS.parent))  # the checkout's own packages, not an installed copy
# ... in the notebook kernels too (they run in a temporary folder, see nb_execution_in_temp)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_DOCS.parent), os.environ.get("PYTHONPATH")]))
sys.path.insert(0, str(_DOCS / "_ext"))
# The notebook kernels inherit this environment: with MPLBACKEND set (Agg, as the tests set it)
# ipykernel keeps that backend and the figures are not captured; unset, it uses the inline one.
os.environ.pop("MPLBACKEND", None)
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

project = "rlab"
author = "rlab contributors"
copyright = "rlab contributors"
release = version = "0.1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",  # brings myst_parser for the markdown pages
    "rlab_registries",
]

# Packages with an API page, in order. Append a dotted name to add one; a package that is not in
# the checkout (a branch not merged yet) or whose optional third-party dependency is missing is
# left out with a note instead of breaking the build.
rlab_api_packages = [
    "mdp",
    "mdp.abstraction",
    "mdp.cop",
    "mdp.learners",
    "mdp.llm",
    "mdp.llm.integrations",
    "mdp.llm.integrations.trl",
    "mdp.llm.integrations.verl",
    "mdp.agnostic",
    "mdp.pomdp",
    "mdp.stability",
    "mdp.offline",
    "mdp.submodular",
    "mdp.goal",
    "marl",
    "marl.learners",
    "marl.envs",
    "marl.torch",
    "marl.irl",
    "marl.irl.torch",
    "marl.bn",
    "marl.bn.torch",
    "marl.spgg",
    "marl.spgg.torch",
    "marl.mean_field",
    "marl.population",
    "theory_checks",
    "labs",
]

source_suffix = {".md": "myst-nb", ".rst": "restructuredtext"}
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}
nb_execution_mode = os.environ.get("RLAB_DOCS_EXECUTE", "force")  # "off" for a quick text-only build
nb_execution_timeout = 300
nb_execution_in_temp = True  # a notebook that writes files leaves nothing in docs/notebooks
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

root_doc = "index"
exclude_patterns = ["_build", "_ext", "conf.py", "**/__pycache__", "**.ipynb_checkpoints"]
suppress_warnings = []

autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc Parameters sections carry the types
numpydoc_show_class_members = False
# Docstring checks that fail the build: sections out of order or unknown (GL06, GL07), a public
# object without a docstring (GL08), a documented parameter the signature lacks (PR02: renamed
# keywords, prose parsed as parameters), no summary line (SS01). Not PR01 (every parameter
# documented): the house style describes the parameters of short helpers in their prose.
numpydoc_validation_checks = {"GL06", "GL07", "GL08", "PR02", "SS01"}
numpydoc_class_members_toctree = False

nitpicky = True  # a dead cross-reference in a docstring is an error under -W
# Third-party targets: the build is offline (no intersphinx inventories), so a reference to
# another project's object cannot resolve: references into the third-party packages rlab uses are
# not checked (our own names all are).
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|scipy|torch|pettingzoo|gymnasium|cvxpy|matplotlib|numba)(\..*)?"),
]

html_theme = "alabaster"
html_title = "rlab"
html_static_path = []
