#!/usr/bin/env bash
# One GPU machine call: build kiln for the local GPU, run every test with the CUDA cases required,
# run the GPU kernel benchmarks and their PyTorch baselines, and merge it all into one JSON report.
#
#   scripts/gpu-check.sh OUTDIR
#
# OUTDIR gets three files, rewritten after every step so a run cut short still leaves what it did:
#   <gpu>-<date>.json   the report (format: docs/benchmarks.md; commit it as bench/results/...)
#   gpu-check.log       this script's log
#   raw.tar.gz          the inputs of the report (build and test logs, ctest's JUnit, the
#                       benchmarks' JSON)
# Steps, within KILN_CHECK_BUDGET seconds in all (default 560, for a 10-minute call):
#   configure (cuda preset, architectures native) -> build everything in the background, niced,
#   while the PyTorch baselines run on the otherwise idle GPU -> ctest with KILN_REQUIRE_CUDA=1
#   (a skipped CUDA case fails) -> kiln_bench_kernels, one process per op family
#   -> kiln_bench_attention and `kiln bench scaling` when they exist -> the report.
# Environment: KILN_COMMIT (the commit to name; default `git rev-parse`, which a copy without
# .git lacks), BUILD_DIR (default build/gpu-check), JOBS (default nproc), PYTHON (default python3),
# KILN_BENCH_TIME (GPU seconds timed per benchmark case, default 0.1), TORCH_COMPILE_BUDGET
# (seconds for all torch.compile variants, default 120), KILN_CUDA_ARCHITECTURES (default native),
# NVIDIA_SMI (default nvidia-smi).
# Sources .devdeps/env.sh first when present (the GPU machine's unpacked -dev packages).
# Exit status: 0 when everything built and ran and no test failed; 1 otherwise (no GPU visible,
# a build or test failure, a step cut short); 2 for a usage error.
set -uo pipefail

usage() {
  sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}
if [[ $# -ne 1 ]]; then
  echo "usage: scripts/gpu-check.sh OUTDIR   (-h for help)" >&2
  exit 2
fi
if [[ $1 == -h || $1 == --help ]]; then
  usage
  exit 0
fi

root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$1" || exit 2
out=$(cd "$1" && pwd)
start_epoch=$(date +%s)
deadline=$((SECONDS + ${KILN_CHECK_BUDGET:-560}))
left() { echo $((deadline - SECONDS)); }
say() { printf '[gpu-check %4ds] %s\n' "$SECONDS" "$*"; }

# The driver's tool answers first: without a visible GPU nothing below can mean anything.
smi=${NVIDIA_SMI:-nvidia-smi}
gpu=$("$smi" --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
if [[ -z $gpu ]]; then
  echo "gpu-check: no CUDA device visible ($smi lists no GPU)" >&2
  exit 1
fi
driver=$("$smi" --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -n 1)

exec > >(tee "$out/gpu-check.log") 2>&1
say "gpu: $gpu, driver $driver, $(nproc) cores, budget $(left) s"

if [[ -f $root/.devdeps/env.sh ]]; then
  # shellcheck disable=SC1091
  source "$root/.devdeps/env.sh"
  say "sourced .devdeps/env.sh"
fi

python=${PYTHON:-python3}
jobs=${JOBS:-$(nproc)}
build=${BUILD_DIR:-$root/build/gpu-check}
bench_time=${KILN_BENCH_TIME:-0.1}
commit=${KILN_COMMIT:-$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)}
if [[ $commit != unknown && -z ${KILN_COMMIT:-} ]] &&
  [[ -n $(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  commit+="+dirty"
fi
date_utc=$(date -u -d "@$start_epoch" +%Y-%m-%d)
slug=$(echo "$gpu" | tr '[:upper:]' '[:lower:]' | tr -cs 'a-z0-9' '-' | sed 's/^-//; s/-$//')
report=$out/$slug-$date_utc.json
raw=$build/gpu-check-raw
mkdir -p "$raw"
rm -f "$raw"/*
status=0
declare -a meta=()

update_report() {
  local args=(--out "$report" --gpu "$gpu" --driver "$driver" --commit "$commit"
    --date "$date_utc")
  local f m
  [[ -f $raw/ctest.xml ]] && args+=(--junit "$raw/ctest.xml")
  for f in "$raw"/kiln_*.json; do [[ -f $f ]] && args+=(--bench "$f"); done
  for f in "$raw"/torch_*.json; do [[ -f $f ]] && args+=(--baselines "$f"); done
  for f in "$raw"/entries_*.json; do [[ -f $f ]] && args+=(--entries "$f"); done
  for m in "${meta[@]}"; do args+=(--meta "$m"); done
  "$python" "$root/scripts/gpu_report.py" "${args[@]}" "$@" || say "gpu_report.py failed"
  tar -czf "$out/raw.tar.gz.tmp" -C "$raw" . && mv "$out/raw.tar.gz.tmp" "$out/raw.tar.gz"
}
# Runs a step under what is left of the budget (minus `reserve` seconds kept for later steps).
# timeout's status 124 means the step was cut short.
run_step() {
  local reserve=$1
  shift
  local limit=$(($(left) - reserve))
  if ((limit < 10)); then
    say "no time left for: $*"
    return 124
  fi
  timeout --kill-after=10 "$limit" "$@"
}
update_report

# ---- configure ------------------------------------------------------------------------------
# CMake 4 refuses package config files written for CMake < 3.5 (some Debian ones) without this;
# earlier versions ignore it.
export CMAKE_POLICY_VERSION_MINIMUM=3.5
cmake_args=(--preset cuda -B "$build" -DCMAKE_CUDA_ARCHITECTURES="${KILN_CUDA_ARCHITECTURES:-native}"
  -DKILN_BUILD_TESTS=ON -DKILN_BUILD_BENCH=ON)
# Ninja when there is one, unless the build directory was made with another generator.
if command -v ninja >/dev/null && [[ ! -f $build/CMakeCache.txt ]]; then
  cmake_args+=(-G Ninja)
fi
if command -v ccache >/dev/null; then
  cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
# Unpacked OpenBLAS has no libblas alternative link for its CMake config to find.
openblas=/tmp/devdeps/usr/lib/x86_64-linux-gnu/openblas-pthread
if [[ -f $openblas/libopenblas.so ]]; then
  cmake_args+=(-DOpenBLAS_LIBRARIES="$openblas/libopenblas.so"
    -DOpenBLAS_INCLUDE_DIRS=/tmp/devdeps/usr/include/x86_64-linux-gnu/openblas-pthread)
fi
say "configure: cmake ${cmake_args[*]}"
if ! (cd "$root" && run_step 300 cmake "${cmake_args[@]}") >"$raw/configure.log" 2>&1; then
  tail -n 30 "$raw/configure.log"
  say "configure FAILED"
  meta+=(build=configure-failed)
  update_report --summary
  exit 1
fi

# ---- build (background) while the PyTorch baselines use the GPU --------------------------------
say "build: -j$jobs in the background (log in raw.tar.gz: build.log)"
build_started=$SECONDS
nice -n 10 timeout --kill-after=10 $(($(left) - 150)) \
  cmake --build "$build" -j "$jobs" >"$raw/build.log" 2>&1 &
build_pid=$!

torch_args=(--time "$bench_time" --compile-budget "${TORCH_COMPILE_BUDGET:-120}")
if "$python" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null
then
  say "baselines: bench/baselines/kernels_torch.py"
  run_step 200 timeout 240 "$python" "$root/bench/baselines/kernels_torch.py" \
    --out "$raw/torch_kernels.json" "${torch_args[@]}" >"$raw/torch_kernels.log" 2>&1 || {
    say "kernels_torch.py stopped early (status $?); its JSON keeps the finished cases"
    status=1
  }
  # The attention benchmark's baseline (helper "flash"): the SDPA backends on its sweep, as
  # per-case entries. It prints progress lines and then the JSON, unless it takes --out.
  attention_torch=$root/bench/baselines/attention_torch.py
  if [[ -f $attention_torch ]]; then
    say "baselines: bench/baselines/attention_torch.py (at most 120 s)"
    if [[ $("$python" "$attention_torch" --help 2>&1) == *--out* ]]; then
      run_step 200 timeout 120 "$python" "$attention_torch" \
        --out "$raw/entries_attention_torch.json" >"$raw/attention_torch.log" 2>&1
    else
      run_step 200 timeout 120 "$python" "$attention_torch" >"$raw/attention_torch.out" \
        2>"$raw/attention_torch.log" &&
        sed -n '/^{/,$p' "$raw/attention_torch.out" >"$raw/entries_attention_torch.json"
    fi || { say "attention_torch.py: status $?"; status=1; }
  fi
else
  say "baselines skipped: $python cannot import torch with CUDA"
  meta+=(baselines=no-torch)
fi
update_report

wait "$build_pid"
build_status=$?
say "build finished with status $build_status after $((SECONDS - build_started)) s"
if ((build_status != 0)); then
  grep -E -m 20 'error|Error' "$raw/build.log"
  tail -n 20 "$raw/build.log"
  meta+=(build=failed)
  update_report --summary
  exit 1
fi
meta+=(build=ok "build_seconds=$((SECONDS - build_started))")

# ---- tests ------------------------------------------------------------------------------------
say "ctest -j$jobs with KILN_REQUIRE_CUDA=1"
ctest_started=$SECONDS
KILN_REQUIRE_CUDA=1 run_step 120 ctest --test-dir "$build" -j "$jobs" --timeout 180 \
  --output-on-failure --output-junit "$raw/ctest.xml" >"$raw/ctest.log" 2>&1
ctest_status=$?
meta+=("ctest_seconds=$((SECONDS - ctest_started))")
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
grep -E '% tests passed' "$raw/ctest.log"
# The first failures by name (the whole list is in ctest.log and the report).
sed -n '/The following tests FAILED/,$p' "$raw/ctest.log" | head -n 21 | cut -c1-150
if ((ctest_status != 0)); then
  say "ctest status $ctest_status"
  status=1
fi
update_report

# ---- kiln benchmarks: one process per family, so a cut-short run keeps the finished ones -------
bench_bin=$build/bin/kiln_bench_kernels
families=(copy "gemm_cublaslt|matmul|linear" layer_norm rms_norm softmax gelu cross_entropy
  embedding adamw)
for family in "${families[@]}"; do
  name=${family%%|*}
  say "kiln_bench_kernels: $family"
  KILN_BENCH_TIME=$bench_time run_step 20 "$bench_bin" --benchmark_filter="^($family)/" \
    --benchmark_out="$raw/kiln_$name.json" --benchmark_out_format=json \
    >>"$raw/kiln_bench.log" 2>&1 || {
    say "$family: status $?: $(tail -n 1 "$raw/kiln_bench.log")"
    status=1
  }
  update_report
done
grep -E 'ERROR OCCURRED' "$raw/kiln_bench.log" | sed 's/^/  skipped: /' | head -n 40

# ---- hooks: the attention benchmark (helper "flash") and `kiln bench scaling` ------------------
attention_bin=$build/bin/kiln_bench_attention
if [[ -x $attention_bin ]]; then
  say "kiln_bench_attention (at most 150 s)"
  # Its own per-case JSON (--json), or Google Benchmark's if that is what it became.
  attention_help=$("$attention_bin" --help 2>&1)  # its usage line; the status may be 2
  if [[ $attention_help == *--json* ]]; then
    attention_args=(--json "$raw/entries_attention.json" --csv "$raw/attention.csv")
  else
    attention_args=(--benchmark_out="$raw/kiln_attention.json" --benchmark_out_format=json)
  fi
  KILN_BENCH_TIME=$bench_time run_step 20 timeout 150 "$attention_bin" "${attention_args[@]}" \
    >"$raw/kiln_attention.log" 2>&1 || { say "kiln_bench_attention: status $?"; status=1; }
  tail -n 5 "$raw/kiln_attention.log"
  update_report
fi
# A CLI without the subcommand prints its top-level help, which does not name it.
if [[ -x $build/bin/kiln ]] &&
  "$build/bin/kiln" bench scaling --help >"$raw/scaling_help.txt" 2>&1 &&
  grep -q 'bench scaling' "$raw/scaling_help.txt"; then
  scaling_args=(bench scaling)
  grep -q -- '--device' "$raw/scaling_help.txt" && scaling_args+=(--device cuda)
  grep -q -- '--csv' "$raw/scaling_help.txt" && scaling_args+=(--csv "$raw/scaling.csv")
  grep -q -- '--out' "$raw/scaling_help.txt" && scaling_args+=(--out "$raw/scaling.json")
  say "kiln ${scaling_args[*]} (at most 90 s)"
  run_step 10 timeout 90 "$build/bin/kiln" "${scaling_args[@]}" >"$raw/scaling.log" 2>&1 ||
    { say "kiln bench scaling: status $?"; status=1; }
  tail -n 25 "$raw/scaling.log"
fi

meta+=("total_seconds=$SECONDS")
update_report --summary
say "report: $report (status $status)"
exit "$status"
