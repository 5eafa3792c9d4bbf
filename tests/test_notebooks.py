"""Every teaching notebook under docs/notebooks (jupytext percent format) runs top to bottom."""

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "docs" / "notebooks").glob("*.py"))


def test_notebooks_exist():
    assert NOTEBOOKS, "docs/notebooks must hold at least one jupytext notebook"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path):
    nb = jupytext.read(path)
    assert nb.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
    code_cells = [c.source for c in nb.cells if c.cell_type == "code"]
    assert code_cells, f"{path.name} has no code cells"
    script = tmp_path / "notebook.py"
    script.write_text("\n\n".join(code_cells))
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, f"{path.name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
