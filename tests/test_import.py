"""``import mdp`` stays light: no torch, cvxpy, matplotlib, dask or pandas, and it is quick."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "cvxpy", "matplotlib", "dask", "pandas")

_PROBE = """
import json, sys, time
t = time.perf_counter()
import mdp
elapsed = time.perf_counter() - t
heavy = sorted(name for name in sys.modules if name.split('.')[0] in {heavy!r})
print(json.dumps({{"elapsed": elapsed, "heavy": heavy}}))
"""


def _probe():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(heavy=set(HEAVY))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_mdp_is_light_and_fast():
    first = _probe()
    second = _probe()  # warm file-system cache
    elapsed = min(first["elapsed"], second["elapsed"])
    print(f"import mdp: {first['elapsed']:.3f} s (cold), {second['elapsed']:.3f} s (warm)")
    assert first["heavy"] == [], f"import mdp pulled in {first['heavy']}"
    assert elapsed < 5.0, f"import mdp took {elapsed:.2f} s"


def test_lazy_backends_still_work_after_import():
    """The cvxpy backend is imported inside the function that needs it, not at import time."""
    code = (
        "import sys, mdp; assert 'cvxpy' not in sys.modules; "
        "mdp.linear_programming(mdp.generators.forest(), method='highs'); "
        "assert 'cvxpy' not in sys.modules; print('ok')"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("ok")


def test_a_missing_top_level_name_says_where_it_lives():
    """``marl.minimax_q`` (the README lists minimax-Q under marl/) used to raise a bare
    AttributeError; it now names marl.learners.minimax_q, and a typo names the closest names. The
    probe runs in a fresh process: it must not import anything heavy, and ``__x__`` probes by tools
    stay plain AttributeErrors."""
    probe = (
        "import sys, mdp, marl\n"
        "for mod, name in [(marl, 'minimax_q'), (mdp, 'q_learning'), (mdp, 'sovle'), (mdp, '__wrapped__')]:\n"
        "    try:\n"
        "        getattr(mod, name)\n"
        "    except AttributeError as e:\n"
        "        print(e)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {HEAVY!r}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "module 'marl' has no attribute 'minimax_q'; it is marl.learners.minimax_q"
    assert lines[1] == "module 'mdp' has no attribute 'q_learning'; it is mdp.learners.q_learning"
    assert lines[2] == "module 'mdp' has no attribute 'sovle' (did you mean 'mdp.solve'?)"
    assert lines[3] == "module 'mdp' has no attribute '__wrapped__'"
    assert lines[4] == "[]"  # no torch, cvxpy, matplotlib, dask or pandas
