#!/usr/bin/env bash
# Builds one libFuzzer target with clang (libFuzzer, ASan, UBSan) straight from the sources it needs,
# seeds a corpus and fuzzes for the given time. Outside the CMake build: CI uses g++.
#
# usage: fuzz/build_and_run.sh TARGET [SECONDS=60] [WORK_DIR=build-fuzz/TARGET] [extra libFuzzer flags...]
#   TARGET: model_file (the .apot loader) | torch_file (the torch.save reader)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: fuzz/build_and_run.sh model_file|torch_file [SECONDS] [WORK_DIR] [libFuzzer flags]}
seconds=${2:-60}
work=${3:-$root/build-fuzz/$target}
shift $(( $# < 3 ? $# : 3 ))

flags=(-std=c++17 -g -O1 -Wall -Wextra -I"$root")
mkdir -p "$work/seeds" "$work/corpus"
cd "$root"

case "$target" in
  model_file)
    sources=(core/levels.cpp core/codec.cpp core/atomic_file.cpp
             deploy/validate.cpp deploy/bit_pack.cpp deploy/crc32.cpp deploy/byte_io.cpp deploy/model_file.cpp)
    libs=(-lfmt)
    # Inputs are a few KB, and the loader never allocates much more than its input.
    options=(-max_len=8192 -malloc_limit_mb=64)
    clang++ "${flags[@]}" fuzz/make_model_file_seeds.cpp "${sources[@]}" "${libs[@]}" -o "$work/make_seeds"
    "$work/make_seeds" "$work/seeds"
    ;;
  torch_file)
    sources=(core/atomic_file.cpp models/torch_file/zip_archive.cpp models/torch_file/pickle.cpp
             models/torch_file/torch_file.cpp models/torch_file/state_dict_select.cpp)
    libs=(-lfmt -lz)
    # Seeds: PyTorch's own files (tests/models/torch_file) and the pickles inside its zip archives.
    options=(-max_len=65536 -malloc_limit_mb=256)
    /usr/bin/python3 tests/models/torch_file/make_torch_files.py "$work/files" >/dev/null
    /usr/bin/python3 - "$work/files" "$work/seeds" <<'PY'
import os, shutil, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
for name in os.listdir(src):
    path = os.path.join(src, name)
    if os.path.getsize(path) <= 65536:
        shutil.copy(path, os.path.join(dst, name))
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for entry in z.namelist():
                if entry.endswith("data.pkl"):
                    open(os.path.join(dst, name + ".pkl"), "wb").write(z.read(entry))
PY
    ;;
  *) echo "unknown target '$target' (model_file or torch_file)" >&2; exit 2 ;;
esac

clang++ "${flags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  "fuzz/${target}_fuzz.cpp" "${sources[@]}" "${libs[@]}" -o "$work/${target}_fuzz"

# One process (the machine is shared).
"$work/${target}_fuzz" "$work/corpus" "$work/seeds" \
  -dict="$root/fuzz/$target.dict" -max_total_time="$seconds" "${options[@]}" -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$work/" "$@"
