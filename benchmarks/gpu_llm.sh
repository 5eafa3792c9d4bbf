#!/usr/bin/env bash
# GPU checks of mdp.llm in one short call on a CUDA machine (issue 21, "GPU").
#
#   OUT=/some/dir bash benchmarks/gpu_llm.sh          # or via the device runner, which sets $OUT
#
# 1. the CUDA tests (skipped on CPU machines): tests/test_llm_gpu.py (bf16/fp16 numerics on CUDA,
#    one host synchronisation in policy_loss), the CUDA cases of tests/test_llm_core.py and
#    tests/test_llm_samplers.py, and the torch-MARL CUDA tests when their dependencies import;
# 2. throughput and peak memory at 1024 x 4096 tokens of the estimators (GRPO, RLOO) and losses
#    (PPO-clip, GSPO) against verl's and TRL's functions in the same process
#    (benchmarks/bench_llm_hot_path.py --device cuda --work all), when verl / trl import;
# 3. writes $OUT/gpu_llm.md (summary), $OUT/llm_hot_path.{json,md}, $OUT/pytest_*.txt, $OUT/env.txt.
#
# PYTHON defaults to the first of ./.venv-llm/bin/python, python3 that
# imports torch with CUDA. Nothing is installed. Budget: about 3-5 minutes.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/gpu_llm_out}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" NUMBA_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=1

if [ -z "${PYTHON:-}" ]; then
  for p in ./.venv-llm/bin/python python3 python; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
      PYTHON="$p"; break
    fi
  done
fi
if [ -z "${PYTHON:-}" ]; then
  echo "no python with CUDA torch found" | tee "$OUT/gpu_llm.md"; exit 2
fi

{
  echo "python: $PYTHON"; date -u
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | head -3
  "$PYTHON" - <<'EOF'
import importlib, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))
for m in ("verl", "trl", "transformers", "pytest", "hypothesis", "numba", "scipy"):
    try:
        mod = importlib.import_module(m)
        print(m, getattr(mod, "__version__", "?"))
    except Exception as exc:
        print(m, "MISSING:", type(exc).__name__, str(exc)[:120])
EOF
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

status=0
run_pytest () {  # name, args...
  local name="$1"; shift
  timeout 300 "$PYTHON" -m pytest -p no:cacheprovider -q -rs "$@" > "$OUT/pytest_$name.txt" 2>&1
  local rc=$?
  echo "pytest $name: rc=$rc; $(tail -1 "$OUT/pytest_$name.txt")"
  [ $rc -eq 0 ] || [ $rc -eq 5 ] || status=1
}
# LLM CUDA tests: the whole low-precision file (CPU and CUDA cases) plus the CUDA cases elsewhere
run_pytest llm_gpu tests/test_llm_gpu.py -s
run_pytest llm_cuda_cases tests/test_llm_core.py::test_cuda_batch_and_estimators_stay_on_device \
  tests/test_llm_core.py::test_unavailable_device_is_a_value_error \
  tests/test_llm_samplers.py::test_d3s_masks_on_the_input_device
# torch MARL CUDA tests (need the tabular stack; reported, not fatal, when it is absent)
if "$PYTHON" -c "import numba, scipy, pettingzoo" 2>/dev/null; then
  run_pytest marl_cuda tests/test_marl_irl_torch.py tests/test_marl_torch.py tests/test_marl_bn_torch.py -k "cuda"
else
  echo "marl CUDA tests skipped: numba/scipy/pettingzoo not importable" | tee "$OUT/pytest_marl_cuda.txt"
fi

# throughput and peak memory, same run as verl / TRL (missing peers are reported as missing)
timeout 420 "$PYTHON" -m benchmarks.bench_llm_hot_path --device cuda --rows 1024 --tokens 4096 \
  --rounds 15 --work all --out "$OUT" > "$OUT/bench_stdout.txt" 2>&1
brc=$?
echo "benchmark rc=$brc"
[ $brc -eq 0 ] || status=1

{
  echo "## LLM hot path on GPU"
  echo
  sed -n '1,3p' "$OUT/env.txt"
  echo
  for f in "$OUT"/pytest_*.txt; do echo "- $(basename "$f" .txt): $(tail -1 "$f")"; done
  echo
  if [ -f "$OUT/llm_hot_path.md" ]; then cat "$OUT/llm_hot_path.md"; else tail -20 "$OUT/bench_stdout.txt"; fi
} > "$OUT/gpu_llm.md"
cat "$OUT/gpu_llm.md"
exit $status
