"""``import mdp.llm`` in an environment with torch but none of the tabular stack.

A subprocess installs an import hook that makes numba, llvmlite, scipy, cvxpy, pettingzoo,
matplotlib, pandas, gymnasium and networkx unimportable (as if not installed), then imports
``mdp.llm``, computes advantages with every built-in estimator that reads only rewards and group
ids, runs ``policy_loss`` forward and backward, and checks that no blocked module was loaded and that
a tabular name says what is missing.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = textwrap.dedent(
    """
    import importlib.abc, sys
    BLOCK = {"numba", "llvmlite", "scipy", "cvxpy", "pettingzoo", "matplotlib", "pandas",
             "gymnasium", "networkx"}

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] in BLOCK:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by the test)", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
    import torch
    import mdp.llm
    from mdp.llm import RolloutBatch, compute_advantages, list_estimators, policy_loss, agg_loss

    b = RolloutBatch(rewards=[1.0, 0.0, 1.0, 1.0, 0.5, 0.2], group_ids=["a", "a", "b", "b", "c", "c"],
                     response_mask=torch.ones(6, 3))
    out = {}
    for m in ("grpo", "dr_grpo", "rloo", "lite_ppo", "gaussian_grpo", "reinforce_pp_baseline"):
        out[m] = compute_advantages(m, b, broadcast=True).sum().item()
    assert abs(compute_advantages("grpo", b)[0].item() - 0.7071) < 1e-3
    lp = torch.zeros(6, 3, requires_grad=True)
    r = policy_loss("ppo", lp, torch.zeros(6, 3), compute_advantages("grpo", b), torch.ones(6, 3))
    r.loss.backward()
    assert lp.grad is not None and len(list_estimators()) > 10
    loaded = sorted(k for k in sys.modules if k.split(".")[0] in BLOCK)
    assert not loaded, loaded
    import mdp
    try:
        mdp.value_iteration
    except ImportError as exc:
        assert "tabular core" in str(exc) and "mdp.llm" in str(exc), exc
    else:
        raise AssertionError("mdp.value_iteration should need the tabular stack")
    print("OK", len(list_estimators()))
    """
)


def test_mdp_llm_imports_and_runs_without_the_tabular_stack():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("OK")


def test_missing_non_tabular_dependency_still_raises():
    # the guard in mdp/__init__.py swallows only the tabular stack, not a broken install of anything else
    script = SCRIPT.replace('"networkx"}', '"networkx", "numpy"}').split("import torch")[0] + "import mdp\n"
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env={"PYTHONPATH": str(ROOT)}, capture_output=True, text=True
    )
    assert proc.returncode != 0 and "numpy" in proc.stderr
