#!/usr/bin/env bash
# Data-parallel training throughput: one process against `apot train --nproc 2` on this machine, the same
# global batch, the same images, interleaved. Prints samples/s of each and the share of the epoch the
# workers spent in collectives (all-reduce of gradients, synchronised batch norm, metrics).
#   bench/distributed.sh [build/cli/apot] [images] [global batch]
set -euo pipefail
apot=${1:-build/cli/apot}
images=${2:-6400}
batch=${3:-128}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cores=$(nproc)
common="train --arch resnet20 --bits 4 --epochs 1 --train-limit $images --test-limit 256 --seed 1"

# seconds of the epoch line, and the collectives line's seconds when there is one
run() {  # name, extra flags
  "$apot" $common $2 --out "$out/$1" > "$out/$1.log" 2>&1 || { cat "$out/$1.log"; exit 1; }
  local epoch collect
  epoch=$(sed -n 's/^epoch 1\/1 .*  \([0-9.]*\)s$/\1/p' "$out/$1.log")
  collect=$(sed -n 's/^  collectives[^:]*: \([0-9.]*\) s.*/\1/p' "$out/$1.log")
  awk -v n="$1" -v e="$epoch" -v c="$collect" -v i="$images" 'BEGIN {
    printf "%-34s %8.1f s  %8.1f samples/s", n, e, i / e
    if (c != "") printf "  collectives %.1f s (%.1f %%)", c, 100 * c / e
    printf "\n" }'
}

echo "ResNet-20 4-bit APoT, Fashion-MNIST, $images images, global batch $batch, $cores cores"
for round in 1 2; do
  run "1-process-${cores}-threads-r$round" "--batch-size $batch --threads $cores"
  run "2-processes-$((cores / 2))-thread-each-r$round" "--batch-size $((batch / 2)) --nproc 2"
done
