#!/usr/bin/env bash
# Builds one libFuzzer target with clang (libFuzzer, ASan, UBSan) straight from the sources it needs,
# seeds a corpus and fuzzes for the given time. Outside the CMake build: CI uses g++.
#
# usage: fuzz/build_and_run.sh TARGET [SECONDS=60] [WORK_DIR=build-fuzz/TARGET] [extra libFuzzer flags...]
#   TARGET: model_file (the .apot loader) | torch_file (the torch.save reader) | idx (MNIST's IDX files)
#           | cifar (CIFAR-10 binary batches) | idx (MNIST's IDX files)
#           | cifar (CIFAR-10 binary batches)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: fuzz/build_and_run.sh model_file|torch_file|idx|cifar [SECONDS] [WORK_DIR] [libFuzzer flags]}
seconds=${2:-60}
work=${3:-$root/build-fuzz/$target}
shift $(( $# < 3 ? $# : 3 ))

flags=(-std=c++17 -g -O1 -Wall -Wextra -I"$root")
mkdir -p "$work/seeds" "$work/corpus"
cd "$root"

case "$target" in
  model_file)
    sources=(core/levels.cpp core/codec.cpp core/atomic_file.cpp
             deploy/format/validate.cpp deploy/format/bit_pack.cpp deploy/format/crc32.cpp deploy/format/byte_io.cpp deploy/format/model_file.cpp)
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
  idx)
    sources=(data/byte_stream.cpp data/idx.cpp)
    libs=(-lfmt -lz)
    # Deflate expands at most about 1000-fold, so a 16 KB input reads as at most some 16 MB, all the reader
    # may then hold.
    options=(-max_len=16384 -malloc_limit_mb=64)
    # Seeds: the first images of the real Fashion-MNIST test set with their headers fixed, raw and gzip
    # (as the download ships it, with a file name in the gzip header), in the target's input layout.
    /usr/bin/python3 - /usr/share/datasets/fashion-mnist "$work/seeds" <<'PY'
import gzip, io, os, struct, sys
src, dst = sys.argv[1], sys.argv[2]
images = gzip.open(os.path.join(src, "t10k-images-idx3-ubyte.gz")).read()
labels = gzip.open(os.path.join(src, "t10k-labels-idx1-ubyte.gz")).read()
def pack(content, name):
    out = io.BytesIO()
    with gzip.GzipFile(filename=name, mode="wb", fileobj=out, mtime=0) as z:
        z.write(content)
    return out.getvalue()
def seed(name, count, gzip_images, gzip_labels):
    i = struct.pack(">IIII", 0x803, count, 28, 28) + images[16:16 + count * 784]
    l = struct.pack(">II", 0x801, count) + labels[8:8 + count]
    if gzip_images: i = pack(i, "t10k-images-idx3-ubyte")
    if gzip_labels: l = pack(l, "t10k-labels-idx1-ubyte")
    open(os.path.join(dst, name), "wb").write(struct.pack(">H", len(l)) + l + i)
seed("raw-3", 3, False, False)
seed("raw-0", 0, False, False)
seed("gzip-3", 3, True, True)
seed("gzip-10", 10, True, True)
seed("mixed-2", 2, False, True)
PY
    ;;
  cifar)
    sources=(data/byte_stream.cpp data/cifar.cpp)
    libs=(-lfmt -lz)
    # As for idx: the reader holds the inflated file, at most some 16 MB.
    options=(-max_len=16384 -malloc_limit_mb=64)
    # Seeds: tiny batches of 3073-byte records (a label, then the red, green and blue 32 x 32 planes), raw,
    # gzip, and gzip as two members.
    /usr/bin/python3 - "$work/seeds" <<'PY'
import gzip, os, sys
dst = sys.argv[1]
def records(labels):
    return b"".join(bytes([l]) + bytes((r * 7 + i * 13 + (i >> 10) * 5) & 255 for i in range(3072))
                    for r, l in enumerate(labels))
def write(name, content):
    open(os.path.join(dst, name), "wb").write(content)
write("raw-1", records([3]))
write("raw-2", records([9, 0]))
write("gzip-2", gzip.compress(records([1, 8]), mtime=0))
two = records([4, 5])
write("gzip-members", gzip.compress(two[:2000], mtime=0) + gzip.compress(two[2000:], mtime=0))
PY
    ;;
  *) echo "unknown target '$target' (model_file, torch_file, idx or cifar)" >&2; exit 2 ;;
esac

clang++ "${flags[@]}" -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  "fuzz/${target}_fuzz.cpp" "${sources[@]}" "${libs[@]}" -o "$work/${target}_fuzz"

# One process (the machine is shared).
"$work/${target}_fuzz" "$work/corpus" "$work/seeds" \
  -dict="$root/fuzz/$target.dict" -max_total_time="$seconds" "${options[@]}" -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$work/" "$@"
