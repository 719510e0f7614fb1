#!/usr/bin/env bash
# Builds the .apot loader fuzzer with clang (libFuzzer, ASan, UBSan) straight from the sources it needs,
# seeds a corpus with valid models and fuzzes for the given time. Outside the CMake build: CI uses g++.
#
# usage: fuzz/build_and_run.sh [SECONDS=60] [WORK_DIR=build-fuzz] [extra libFuzzer flags...]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
work=${2:-$root/build-fuzz}
shift $(( $# < 2 ? $# : 2 ))

sources=(core/levels.cpp core/codec.cpp core/atomic_file.cpp
         deploy/validate.cpp deploy/bit_pack.cpp deploy/crc32.cpp deploy/byte_io.cpp deploy/model_file.cpp)
flags=(-std=c++17 -g -O1 -Wall -Wextra -I"$root")
mkdir -p "$work/seeds" "$work/corpus"
cd "$root"

clang++ "${flags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  fuzz/model_file_fuzz.cpp "${sources[@]}" -lfmt -o "$work/model_file_fuzz"
clang++ "${flags[@]}" fuzz/make_seeds.cpp "${sources[@]}" -lfmt -o "$work/make_seeds"
"$work/make_seeds" "$work/seeds"

# One process (the machine is shared); no single allocation over 64 MB: inputs are a few KB, and the
# loader never allocates much more than its input.
"$work/model_file_fuzz" "$work/corpus" "$work/seeds" \
  -dict="$root/fuzz/model_file.dict" -max_total_time="$seconds" -malloc_limit_mb=64 -rss_limit_mb=2048 \
  -timeout=10 -max_len=8192 -print_final_stats=1 -artifact_prefix="$work/" "$@"
