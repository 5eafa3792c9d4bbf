"""Only the sweep benchmarks: `python -m benchmarks.bench_sweep [--quick] [--threads 1 2]` (see run_all)."""

from benchmarks.run_all import main

if __name__ == "__main__":
    main(default_only=("sweep",))
