#!/usr/bin/env bash
# Checks that the Debian packages kiln builds against are installed. As root, installs the
# missing ones; otherwise prints the apt-get line that would and fails, so a build never starts
# half-equipped. `make demo`, `make test` and `make bench` run it first.
set -euo pipefail

packages=(cmake g++ libspdlog-dev libfmt-dev nlohmann-json3-dev libcli11-dev libopenblas-openmp-dev
          libgtest-dev libgmock-dev libbenchmark-dev libpcre2-dev libicu-dev libtomlplusplus-dev
          python3-matplotlib)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == *" installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
  echo "kiln: installing ${missing[*]}"
  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
else
  echo "kiln: missing packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
