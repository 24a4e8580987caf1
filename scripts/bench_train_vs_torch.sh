#!/usr/bin/env bash
# CPU training throughput of kiln next to PyTorch on the same small GPT and the same step
# (bench/train/train_step_bench.cpp and bench/baselines/train_step_torch.py), both on the same
# number of threads, and the ratio kiln/torch. Usage:
#   scripts/bench_train_vs_torch.sh [build-dir]     # default build/cpu; builds kiln_bench_train
# Environment: THREADS (default nproc), KILN_MIN_TIME (seconds kiln is timed, default 5),
# TORCH_STEPS (timed torch steps, default 20), PYTHON (default /usr/bin/python3, which has
# Debian's python3-torch).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/cpu}
threads=${THREADS:-$(nproc)}
python=${PYTHON:-/usr/bin/python3}

"$python" -c "import torch" 2>/dev/null ||
  { echo "error: $python cannot import torch (apt-get install python3-torch)" >&2; exit 1; }
cmake --build "$build" --target kiln_bench_train -j "$threads" >/dev/null

# Passive waiting for both: spinning OpenMP workers steal the cores from the serial parts of the
# step (autograd bookkeeping, allocation) and from anything else running; on a loaded 2-core
# machine, torch 1.13 with libgomp's default spinning ran 8x slower than with passive waiting.
export OMP_NUM_THREADS=$threads OMP_WAIT_POLICY=passive
kiln_json=$("$build/bin/kiln_bench_train" --benchmark_format=json --benchmark_filter=^gpt_train_step \
  --benchmark_min_time="${KILN_MIN_TIME:-5}" 2>/dev/null)
torch_json=$("$python" "$root/bench/baselines/train_step_torch.py" \
  --threads "$threads" --steps "${TORCH_STEPS:-20}")

"$python" - "$kiln_json" "$torch_json" "$threads" <<'PY'
import json, sys
kiln = json.loads(sys.argv[1])["benchmarks"][0]
torch = json.loads(sys.argv[2])
print(f"threads: {sys.argv[3]}  (torch {torch['torch']}, {torch['parameters']} parameters)")
print(f"kiln : {kiln['tokens_per_s']:10.0f} tokens/s  ({kiln['real_time']:.1f} ms/step,"
      f" {kiln['iterations']} steps)")
print(f"torch: {torch['tokens_per_s']:10.0f} tokens/s  ({torch['ms_per_step']:.1f} ms/step)")
print(f"kiln/torch: {kiln['tokens_per_s'] / torch['tokens_per_s']:.2f}")
PY
