"""Benchmarks of rlab's MDP core against pymdptoolbox and QuantEcon (the ``[bench]`` extra).

Run everything (several minutes; writes ``benchmarks/latest.json`` and ``docs/benchmarks.md``)::

    python -m benchmarks.run_all            # full: dense S in {500, 2000}, gridworld 1000 x 1000
    python -m benchmarks.run_all --quick    # small sizes, a minute or two

or one topic: ``python -m benchmarks.bench_sweep``, ``python -m benchmarks.bench_solve``,
``python -m benchmarks.bench_jit`` (same options). Every measurement runs in a fresh subprocess whose
numba and BLAS thread counts are pinned (environment variables set before numpy is imported, plus
``threadpoolctl`` and ``numba.set_num_threads`` inside), and every ratio compares numbers taken in
the same process, interleaved round by round. These are not tests; nothing here asserts a timing.
"""
