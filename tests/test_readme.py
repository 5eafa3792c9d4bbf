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


_NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve "
        "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}


def _expand_ids(text: str) -> set[str]:
    """``"F1-F13 foundations; G1-G6, MM games; B1, B4-B8"`` -> the claim ids it names (an id without
    digits, like ``MM``, only where a topic follows it: ``"..., SAPO, Graph-GRPO"`` are topics)."""
    ids = set()
    for part in re.split(r"[;,]", text):
        words = part.split()
        token = words[0] if words else ""
        m = re.fullmatch(r"([A-Z]+)(\d+)-\1(\d+)", token)
        if m:
            ids |= {f"{m[1]}{i}" for i in range(int(m[2]), int(m[3]) + 1)}
        elif re.fullmatch(r"[A-Z]+\d+", token) or (re.fullmatch(r"[A-Z]+", token) and len(words) > 1):
            ids.add(token)
    return ids


_REGISTRIES = """
import json
from labs import list_labs
from theory_checks import list_claims
out = {"claims": [c.id for c in list_claims()], "labs": [lab.name for lab in list_labs()]}
try:
    from mdp.llm import list_estimators
    out["estimators"] = list(list_estimators())
except ImportError:
    out["estimators"] = None
print(json.dumps(out))
"""


def _shipped_registries() -> dict:
    """The registries as a fresh process sees them: other tests register toy labs and estimators in
    this process (test_labs, test_conformance), which are not the product's."""
    import json

    proc = subprocess.run(
        [sys.executable, "-c", _REGISTRIES], cwd=README.parent, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_readme_counts_match_the_registries():
    """The numbers and lists the README states (claims, labs, notebooks) are what the code holds."""
    text = README.read_text()
    reg = _shipped_registries()
    claims = set(reg["claims"])
    m = re.search(r"`theory_checks/` \| (\d+) claims as data \+ checks \((.*?)\), each naming", text)
    assert m, "README's theory_checks row changed shape: update this test"
    assert int(m[1]) == len(claims), f"README says {m[1]} claims, the registry holds {len(claims)}"
    stated = {int(n) for n in re.findall(r"\b(\d+) claims\b", text)}  # "all 114 claims hold" too
    assert stated == {len(claims)}, f"README states {sorted(stated)} claims, the registry holds {len(claims)}"
    named = _expand_ids(m[2])
    assert named == claims, f"README's claim list: missing {sorted(claims - named)}, extra {sorted(named - claims)}"

    row = next(line for line in text.splitlines() if line.startswith("| `labs/` |"))
    listed = set(re.findall(r"`([a-z0-9_]+)`", row)) - {"rlab"}
    have = set(reg["labs"])
    assert listed == have, f"README's labs row: missing {sorted(have - listed)}, extra {sorted(listed - have)}"

    m = re.search(r"\b(\w+) teaching notebooks", text)
    notebooks = sorted((README.parent / "docs" / "notebooks").glob("*.py"))
    assert m and _NUMBER_WORDS.get(m[1]) == len(notebooks), (
        f"README says {m and m[1]} notebooks, there are {len(notebooks)}"
    )


def test_readme_estimator_count_matches_the_registry():
    pytest = __import__("pytest")
    pytest.importorskip("torch")
    text = README.read_text()
    names = set(_shipped_registries()["estimators"])
    m = re.search(r"names the (\d+) registered estimators \(([^)]*)\)", text)
    assert m, "README's estimator sentence changed shape: update this test"
    assert int(m[1]) == len(names), f"README says {m[1]} estimators, list_estimators() has {len(names)}"
    listed = {w.strip() for w in m[2].replace("...", "").split(",") if w.strip()}
    assert listed <= names, f"README names unregistered estimators {sorted(listed - names)}"
