"""The README's usage example runs as written."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README must hold a python usage example"
    script = tmp_path / "example.py"
    script.write_text(blocks[0])
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "modified_policy_iteration" in proc.stdout  # the solve() line printed its method


def test_readme_games_example_runs(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    games = [b for b in blocks if "import marl" in b]
    assert games, "README must hold a games example"
    script = tmp_path / "games.py"
    script.write_text(games[0])
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    value, expl = (float(x) for x in proc.stdout.split())
    assert abs(value - 0.218484) < 5e-7 and 0 <= expl < 1e-8


def test_readme_llm_example_runs(tmp_path):
    pytest = __import__("pytest")
    pytest.importorskip("torch")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    llm = [b for b in blocks if "mdp.llm" in b]
    assert llm, "README must hold an LLM example"
    script = tmp_path / "llm.py"
    script.write_text(llm[0])
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().startswith("[1.154")  # GRPO: (1 - 1/3) / std([1, 0, 0]) = 1.1547
