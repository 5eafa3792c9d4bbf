"""Only the jit benchmarks: `python -m benchmarks.bench_jit [--quick] [--threads 1 2]` (see run_all)."""

from benchmarks.run_all import main

if __name__ == "__main__":
    main(default_only=("jit",))
