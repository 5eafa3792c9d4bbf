"""Every jitted path survives a reload from numba's on-disk cache.

A cached non-parallel njit function that calls a cached *parallel* one from another module compiles
and runs, but segfaults when a second process loads it back from the cache (found in
``mdp.finite_horizon``). The suite compiles in-process, so only a second process sees it: run one
script twice; the first run compiles what is not cached yet (the package's own ``__pycache__``, so
kernels the suite already compiled are reused), the second loads every kernel back from disk.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import numpy as np, mdp, marl
from mdp import learners
rng = np.random.default_rng(0)
for m in (mdp.generators.random_mdp(12, 3, rng=rng, gamma=0.9), mdp.generators.gridworld(4, 4, slip=0.1)):
    mdp.solve(m, tol=1e-8)
    mdp.value_iteration(m, tol=1e-6, method="jacobi")
    mdp.value_iteration(m, tol=1e-6, method="gauss-seidel")
    mdp.policy_iteration(m)
    mdp.modified_policy_iteration(m, tol=1e-6)
    mdp.simplex_policy_iteration(m)
    mdp.policy_evaluation(m, np.zeros(m.n_states, dtype=np.int64), method="iterative")
    mdp.finite_horizon(m, horizon=4)
    mdp.certify(m, np.zeros(m.n_states))
    learners.q_learning(m, n_iter=50, rng=rng)
    learners.q_learning(m, n_iter=50, rng=rng, mode="online")
    learners.plugin_planner(m, 2, rng=rng)
    mdp.abstraction.bisimulation(m)
g = marl.generators.random_zero_sum_game(5, 3, rng=rng)
marl.zero_sum_matrix_game(rng.normal(size=(10, 3, 3)))
marl.zero_sum_matrix_game(rng.normal(size=(10, 3, 3)), parallel=True)
r = marl.shapley_value_iteration(g)
marl.hoffman_karp(g)
marl.exploitability(g, r.row_policy, r.col_policy)
from marl.learners.minimax_q import minimax_q
minimax_q(g, n_iter=20, rng=rng)
minimax_q(g, n_iter=200, rng=rng, mode="online")
mdp.cop.solve_tsp_exact(rng.random((6, 6)))
print("ok")
"""


@pytest.mark.slow
def test_kernels_reload_from_disk_cache(tmp_path):
    env = {
        **os.environ,
        "NUMBA_NUM_THREADS": "2",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    env.pop("NUMBA_DISABLE_JIT", None)
    script = tmp_path / "exercise.py"
    script.write_text(SCRIPT)
    for run in ("compile", "reload"):
        proc = subprocess.run(
            [sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900
        )
        assert proc.returncode == 0 and proc.stdout.strip().endswith("ok"), (run, proc.returncode, proc.stderr[-3000:])
