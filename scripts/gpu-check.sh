#!/usr/bin/env bash
# The GPU check: every test binary once with the CUDA cases required, the kernel and attention
# benchmarks next to their PyTorch baselines, and one JSON report, in about 5 minutes of GPU
# machine time (device minutes are scarce: build elsewhere and carry the build, see below).
#
#   scripts/gpu-check.sh OUTDIR                          the full check
#   scripts/gpu-check.sh --quick TESTS [BENCH] OUTDIR    one gtest filter (e.g. 'Attention*') and
#                                                        one benchmark regex (e.g. '^softmax/'),
#                                                        under 90 s; no PyTorch baselines unless
#                                                        BENCH is given
#
# The build: `scripts/pack-gpu-build.sh` (on any machine with the CUDA toolkit) builds for sm_90
# and packs the build tree, the project's files and the Debian runtime libraries it links into
# .gpu-carry/kiln-build.tar.xz; carry .gpu-carry to the GPU machine and this script unpacks it to
# the absolute path it was built at, and runs from there. Without it, the script configures and
# builds here (minutes of device time; sources .devdeps/env.sh, see ../shared/device/README.md).
#
# OUTDIR gets at most three files, rewritten after every step so a run cut short keeps its work:
#   <gpu>-<date>.json   the report (docs/benchmarks.md; commit it under bench/results/)
#   gpu-check.log       this script's log, failures with their messages at the end
#   raw.tar.gz          the inputs of the report: test logs and gtest XML, benchmark JSON (no
#                       build outputs, no checkpoints)
# Environment: KILN_CARRY_DIR (default .gpu-carry), KILN_CHECK_BUDGET (seconds in all, default 300 full and 90 quick), KILN_COMMIT
# (default `git rev-parse`, or the packed build's commit), PYTHON (default python3, the one with
# torch), KILN_BENCH_TIME (GPU seconds per benchmark case, default 0.05), TORCH_COMPILE_BUDGET
# (seconds for torch.compile baselines, default 0: off), BUILD_DIR (when building here, default
# build/gpu-check), NVIDIA_SMI (default nvidia-smi).
# Exit status: 0 when everything ran and no test failed; 1 otherwise; 2 for a usage error.
set -uo pipefail

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
quick=0 tests_filter='*' bench_filter=''
if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ ${1:-} == --quick ]]; then
  quick=1
  shift
  [[ $# -ge 2 ]] || { echo "usage: scripts/gpu-check.sh --quick TESTS [BENCH] OUTDIR" >&2; exit 2; }
  tests_filter=$1
  shift
  if [[ $# -ge 2 ]]; then bench_filter=$1; shift; fi
fi
if [[ $# -ne 1 ]]; then
  echo "usage: scripts/gpu-check.sh [--quick TESTS [BENCH]] OUTDIR   (-h for help)" >&2
  exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
start_epoch=$(date +%s)
deadline=$((SECONDS + ${KILN_CHECK_BUDGET:-$((quick ? 90 : 300))}))
left() { echo $((deadline - SECONDS)); }
say() { printf '[gpu-check %4ds] %s\n' "$SECONDS" "$*"; }
# Runs a command within what is left of the budget minus `reserve` seconds for later steps.
run_step() {
  local reserve=$1
  shift
  local limit=$(($(left) - reserve))
  if ((limit < 5)); then
    say "no time left for: $*"
    return 124
  fi
  timeout --kill-after=5 "$limit" "$@"
}

smi=${NVIDIA_SMI:-nvidia-smi}
gpu=$("$smi" --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
if [[ -z $gpu ]]; then
  echo "gpu-check: no CUDA device visible ($smi lists no GPU)" >&2
  exit 1
fi
driver=$("$smi" --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)
exec > >(tee "$out/gpu-check.log") 2>&1
say "gpu: $gpu, driver $driver, $(nproc) cores, budget $(left) s$( ((quick)) && echo ", quick")"

python=${PYTHON:-python3}
bench_time=${KILN_BENCH_TIME:-0.05}
raw=$(mktemp -d)
status=0
declare -a meta=("mode=$( ((quick)) && echo quick || echo full)")

# ---- the build: carried, or made here -----------------------------------------------------------
carry=${KILN_CARRY_DIR:-$root/.gpu-carry}
carried=$carry/kiln-build.tar.xz
if [[ -f $carried ]]; then
  say "unpacking $carried"
  tar -xJPf "$carried" || { say "cannot unpack $carried"; exit 1; }
  # What the pack script wrote beside the archive: build=..., libs=..., commit=...
  manifest=$(cat "$carry/manifest" 2>/dev/null)
  build=$(sed -n 's/^build=//p' <<<"$manifest")
  libs=$(sed -n 's/^libs=//p' <<<"$manifest")
  packed_commit=$(sed -n 's/^commit=//p' <<<"$manifest")
  [[ -d $build/bin ]] || { say "the manifest names no build ($build)"; exit 1; }
  meta+=(build=carried)
else
  packed_commit=''
  libs=''
  build=${BUILD_DIR:-$root/build/gpu-check}
  # shellcheck disable=SC1091
  [[ -f $root/.devdeps/env.sh ]] && source "$root/.devdeps/env.sh"
  export CMAKE_POLICY_VERSION_MINIMUM=3.5  # CMake 4 and Debian's older package configs
  say "building in $build (no carried build: this costs device time)"
  generator=()
  command -v ninja >/dev/null && [[ ! -f $build/CMakeCache.txt ]] && generator=(-G Ninja)
  if ! (cd "$root" && run_step 60 cmake --preset cuda -B "$build" "${generator[@]}" \
    -DCMAKE_CUDA_ARCHITECTURES=native -DKILN_BUILD_TESTS=ON -DKILN_BUILD_BENCH=ON &&
    run_step 60 cmake --build "$build" -j "$(nproc)") >"$raw/build.log" 2>&1; then
    grep -E -m 20 'error' "$raw/build.log"
    say "build FAILED"
    exit 1
  fi
  meta+=(build=here)
fi
commit=${KILN_COMMIT:-${packed_commit:-$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)}}
# cuBLAS, cuDNN and NCCL from PyTorch's wheels when the machine has no CUDA libraries of its own.
nvidia_libs=$("$python" -c 'import glob, os, sys
import nvidia
print(":".join(sorted(glob.glob(os.path.join(os.path.dirname(nvidia.__path__[0]), "nvidia/*/lib")))))' \
  2>/dev/null)
export LD_LIBRARY_PATH=${libs:+$libs:}${nvidia_libs:+$nvidia_libs:}${LD_LIBRARY_PATH:-}

date_utc=$(date -u -d "@$start_epoch" +%Y-%m-%d)
slug=$(echo "$gpu" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')
report=$out/$slug-$date_utc.json
update_report() {
  local args=(--out "$report" --gpu "$gpu" --driver "$driver" --commit "$commit" --date "$date_utc")
  local f m
  for f in "$raw"/tests_*.xml; do [[ -f $f ]] && args+=(--junit "$f"); done
  for f in "$raw"/kiln_*.json; do [[ -f $f ]] && args+=(--bench "$f"); done
  for f in "$raw"/torch_*.json; do [[ -f $f ]] && args+=(--baselines "$f"); done
  for f in "$raw"/entries_*.json; do [[ -f $f ]] && args+=(--entries "$f"); done
  for m in "${meta[@]}"; do args+=(--meta "$m"); done
  "$python" "$root/scripts/gpu_report.py" "${args[@]}" "$@" || say "gpu_report.py failed"
  tar -czf "$out/raw.tar.gz.tmp" -C "$raw" . && mv "$out/raw.tar.gz.tmp" "$out/raw.tar.gz"
}

# ---- tests: each binary once (one CUDA context each, not one per case as ctest would) ---------
tests_started=$SECONDS
for binary in "$build"/bin/kiln_*_tests; do
  name=$(basename "$binary" _tests)
  name=${name#kiln_}
  KILN_REQUIRE_CUDA=1 run_step 30 "$binary" --gtest_filter="$tests_filter" \
    --gtest_output="xml:$raw/tests_$name.xml" >"$raw/tests_$name.log" 2>&1
  rc=$?
  say "tests $name: $(grep -E -o '[0-9]+ tests? from [0-9]+ test suites? ran' "$raw/tests_$name.log" |
    head -n 1), status $rc"
  ((rc == 0)) || status=1
done
meta+=("tests_seconds=$((SECONDS - tests_started))")
update_report
# Tests that skip with their own GTEST_SKIP() rather than KILN_SKIP_WITHOUT_CUDA() slip past
# KILN_REQUIRE_CUDA; the report finds them by their "no CUDA device" message.
no_cuda=$("$python" -c 'import json, sys
print(len((json.load(open(sys.argv[1]))["tests"] or {}).get("skipped_without_cuda", [])))' \
  "$report" 2>/dev/null || echo 0)
if ((no_cuda > 0)); then
  say "$no_cuda tests skipped for want of a CUDA device on a GPU machine: counted as a failure"
  status=1
fi

# ---- benchmarks --------------------------------------------------------------------------------
bench_families=(copy "gemm_cublaslt|matmul|linear" layer_norm rms_norm softmax gelu cross_entropy
  embedding adamw)
if ((quick)); then bench_families=(); [[ -n $bench_filter ]] && bench_families=("$bench_filter"); fi
if ((${#bench_families[@]} > 0)) &&
  "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null
then
  torch_filter=$( ((quick)) && echo "$bench_filter" || echo '')
  compile=(--no-compile)
  ((${TORCH_COMPILE_BUDGET:-0} > 0)) && compile=(--compile-budget "$TORCH_COMPILE_BUDGET")
  say "baselines: bench/baselines/kernels_torch.py"
  run_step 60 "$python" "$root/bench/baselines/kernels_torch.py" --out "$raw/torch_kernels.json" \
    --time "$bench_time" --filter "$torch_filter" "${compile[@]}" >"$raw/torch_kernels.log" 2>&1 ||
    { say "kernels_torch.py: status $? (its JSON keeps the finished cases)"; status=1; }
elif ((${#bench_families[@]} > 0)); then
  say "baselines skipped: $python cannot import torch with CUDA"
  meta+=(baselines=no-torch)
fi
for family in "${bench_families[@]}"; do
  name=$(tr -c 'a-z0-9_\n' '_' <<<"${family%%|*}" | sed 's/^_*//; s/_*$//')
  KILN_BENCH_TIME=$bench_time run_step 20 "$build/bin/kiln_bench_kernels" \
    --benchmark_filter="$( ((quick)) && echo "$family" || echo "^($family)/")" \
    --benchmark_out="$raw/kiln_${name:-filter}.json" --benchmark_out_format=json \
    >>"$raw/kiln_bench.log" 2>&1 || { say "kiln_bench_kernels $family: status $?"; status=1; }
  say "kiln_bench_kernels: $family"
done
((${#bench_families[@]} > 0)) && update_report

# The attention sweep and its baselines: the full check only (quick: T in {512, 2048}).
if ((!quick)) && [[ -x $build/bin/kiln_bench_attention ]]; then
  say "kiln_bench_attention --quick, then bench/baselines/attention_torch.py --merge"
  KILN_BENCH_TIME=$bench_time run_step 30 "$build/bin/kiln_bench_attention" --quick \
    --json "$raw/entries_attention.json" --csv "$raw/attention.csv" >"$raw/kiln_attention.log" 2>&1 ||
    { say "kiln_bench_attention: status $?"; status=1; }
  if [[ -f $raw/entries_attention.json ]]; then
    run_step 20 "$python" "$root/bench/baselines/attention_torch.py" --quick \
      --merge "$raw/entries_attention.json" >"$raw/attention_torch.log" 2>&1 ||
      { say "attention_torch.py: status $?"; status=1; }
  fi
  update_report
fi

meta+=("total_seconds=$SECONDS")
update_report --summary
((status == 0)) || say "FAILED (the failures and their messages are above)"
say "report: $report (status $status)"
rm -rf "$raw"
exit "$status"
