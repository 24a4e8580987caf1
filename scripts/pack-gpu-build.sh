#!/usr/bin/env bash
# Builds kiln for a GPU on a machine without one and packs what the GPU machine needs to run
# the check, so that no device time goes to compiling:
#
#   scripts/pack-gpu-build.sh [--arch 90] [BUILD_DIR]      (default build/gpu-sm<arch>)
#
# It configures the cuda preset (tests and benchmarks on) for CMAKE_CUDA_ARCHITECTURES=<arch>,
# builds (incrementally), and writes .gpu-carry/kiln-build.tar.xz (ignored by git), holding at
# their absolute paths:
#   - the build tree's binaries and what ctest and the tests read (no objects, no static
#     libraries, no CMakeFiles/),
#   - the project's tracked files (tests read fixtures by the absolute source path compiled in),
#   - BUILD_DIR/runtime-libs: the shared libraries the binaries link that a GPU image may lack
#     (Debian's OpenBLAS, fmt, PCRE2, toml++, gfortran, benchmark, ...; not glibc, libstdc++ or
#     the CUDA libraries, which come with the driver and PyTorch's wheels there);
# and .gpu-carry/manifest beside it (build=, libs=, commit=) for scripts/gpu-check.sh.
# Carry .gpu-carry (the device tool's `carry`); scripts/gpu-check.sh finds the archive, unpacks
# it to / and runs from there. By hand: `tar -xJf .gpu-carry/kiln-build.tar.xz -C /`, then put
# BUILD_DIR/runtime-libs first on LD_LIBRARY_PATH. The archive is about 30 MB.
# Environment: JOBS (default nproc), CMAKE_ARGS (extra configure flags).
set -euo pipefail

arch=90
if [[ ${1:-} == --arch ]]; then
  [[ $# -ge 2 ]] || { echo "usage: scripts/pack-gpu-build.sh [--arch 90] [BUILD_DIR]" >&2; exit 2; }
  arch=$2
  shift 2
fi
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0; }
[[ $# -le 1 ]] || { echo "usage: scripts/pack-gpu-build.sh [--arch 90] [BUILD_DIR]" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/gpu-sm$arch}
mkdir -p "$build"
build=$(cd "$build" && pwd)
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
[[ -x $nvcc ]] || { echo "pack-gpu-build: no nvcc (install the CUDA toolkit)" >&2; exit 1; }

# shellcheck disable=SC2086
cmake --preset cuda -B "$build" -DCMAKE_CUDA_COMPILER="$nvcc" -DCMAKE_CUDA_ARCHITECTURES="$arch" \
  -DKILN_BUILD_TESTS=ON -DKILN_BUILD_BENCH=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}"

# The shared libraries to carry: everything ldd resolves, but what every Linux with an NVIDIA
# driver and PyTorch has.
libs=$build/runtime-libs
rm -rf "$libs"
mkdir -p "$libs"
system='^(linux-vdso|ld-linux|libc|libm|libdl|librt|libpthread|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas|libcublasLt|libcudnn.*|libnccl|libnvrtc.*|libnvJitLink|libcurand|libcusparse|libcufft)\.so'
for binary in "$build"/bin/*; do
  [[ -x $binary && -f $binary ]] || continue
  ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }'
done | sort -u | while read -r name path; do
  [[ $name =~ $system ]] || cp -L "$path" "$libs/$name"
done

commit=$(git -C "$root" rev-parse HEAD)
[[ -z $(git -C "$root" status --porcelain --untracked-files=no) ]] || commit+="+dirty"
mkdir -p "$root/.gpu-carry"
archive=$root/.gpu-carry/kiln-build.tar.xz
printf 'build=%s\nlibs=%s\ncommit=%s\n' "$build" "$libs" "$commit" >"$root/.gpu-carry/manifest"
list=$(mktemp)
trap 'rm -f "$list" "$archive.tmp"' EXIT
# Absolute paths, so that the archive unpacks where the binaries expect their files.
git -C "$root" ls-files -z | xargs -0 -I{} printf '%s\n' "$root/{}" >"$list"
find "$build" \( -name CMakeFiles -prune \) -o -type f ! -name '*.o' ! -name '*.a' -print >>"$list"
tar -cJf "$archive.tmp" --absolute-names -T "$list"
mv "$archive.tmp" "$archive"
echo "packed $(du -h "$archive" | cut -f1) into $archive (commit $commit, sm_$arch)"
