#!/usr/bin/env bash
# Installs the dependencies and builds into build/ (or build-sanitize/ with APOT_SANITIZE=1); prints the
# build folder as its last line on stdout, the build's progress on stderr. Arguments are targets to
# build (default: everything). Safe to run again: it only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >&2
if [ "${APOT_SANITIZE:-0}" = 1 ]; then
  build_dir=build-sanitize
  options=(-DAPOT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
else
  build_dir=build
  options=(-DCMAKE_BUILD_TYPE=Release)
fi
cmake -S . -B "$build_dir" -G Ninja "${options[@]}" >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build "$build_dir" -j "$(nproc)" "${targets[@]}" >&2
echo "$build_dir"
