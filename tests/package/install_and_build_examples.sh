#!/usr/bin/env bash
# apot as an installed package: installs the build into a scratch prefix, builds examples/ against that
# prefix alone, runs examples/own_model briefly, trains and exports a small model with the installed
# `apot`, and checks that examples/run_model's top-1s give the accuracy `apot run` reports on the same
# images.
#
# usage: install_and_build_examples.sh BUILD_DIR SOURCE_DIR WORK_DIR CMAKE GENERATOR CXX_COMPILER
set -euo pipefail

build=$1 source=$2 work=$3 cmake=$4 generator=$5 cxx=$6
images=100

rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
"$cmake" --install "$build" --prefix "$prefix"

# The package must stand on its own: nothing in it may point back at the trees it came from.
if grep -rlF -e "$source" -e "$build" "$prefix/lib/cmake/apot"; then
  echo "FAIL: the installed package config names the source or build tree (files above)" >&2
  exit 1
fi

for example in own_model run_model; do
  "$cmake" -S "$source/examples/$example" -B "$work/$example" -G "$generator" -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
  if ! grep -qxF "apot_DIR:PATH=$prefix/lib/cmake/apot" "$work/$example/CMakeCache.txt"; then
    echo "FAIL: $example found apot elsewhere than in $prefix:" >&2
    grep "^apot_DIR" "$work/$example/CMakeCache.txt" >&2
    exit 1
  fi
  "$cmake" --build "$work/$example"
done

# 20 steps on one thread take seconds: enough to see it train and evaluate, not to check an accuracy.
"$work/own_model/own_model" --steps 20 --threads 1 | tee "$work/own_model.out"
if ! grep -qE '^test accuracy [0-9.]+% \(10000 images, 4-bit APoT, 20 steps\)$' "$work/own_model.out"; then
  echo "FAIL: own_model printed no test accuracy" >&2
  exit 1
fi

apot=$prefix/bin/apot
# A few seconds of training: well above chance (10 %), far from trained.
"$apot" train --arch resnet20 --bits 4 --epochs 1 --train-limit 2048 --batch-size 32 --test-limit 100 --threads 1 \
  --out "$work/train"
"$apot" export --arch resnet20 --bits 4 --threads 1 --calibration-images 256 --checkpoint "$work/train/model.pt" \
  --out "$work/model.apot"

"$work/run_model/run_model" "$work/model.apot" "$images" | tee "$work/run_model.out"
# "image I: class C, label L" -> "C L"
sed -nE 's/^image [0-9]+: class ([0-9]), label ([0-9])$/\1 \2/p' "$work/run_model.out" > "$work/top1_label"
if [ "$(wc -l < "$work/top1_label")" != "$images" ]; then
  echo "FAIL: run_model did not print a top-1 and a label for each of $images images" >&2
  exit 1
fi
correct=$(awk '$1 == $2' "$work/top1_label" | wc -l)
"$apot" run --model "$work/model.apot" --test-limit "$images" --threads 1 | tee "$work/apot_run.out"
expected=$(awk -v c="$correct" -v n="$images" 'BEGIN { printf "%d images  top-1 accuracy %.2f%%", n, 100 * c / n }')
if ! grep -qF "$expected" "$work/apot_run.out"; then
  echo "FAIL: run_model's top-1s are right for $correct of $images images; apot run says otherwise" >&2
  exit 1
fi
if [ "$correct" -lt $((images / 4)) ]; then
  echo "FAIL: run_model's top-1s are right for only $correct of $images images" >&2
  exit 1
fi
echo "run_model: $correct of $images right, as apot run says"
