#!/usr/bin/env bash
# The main job: install, build, then a short end-to-end demo on real data (Fashion-MNIST from Debian's
# dataset-fashion-mnist): train a full-precision ResNet-20 briefly, quantise it to 4-bit APoT by
# quantisation-aware training initialised from it (progressive initialisation), evaluate both, and show
# the levels and the paper's cost model of what was trained; then export it as a packed integer model, run
# it on the integer engine, check it against the fake-quant network, and count its own shift-adds.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== building the apot command (the first time takes several minutes; the tests are built by scripts/test.sh)"
build_dir=$(bash scripts/build.sh apot | tail -n 1)
apot="$build_dir/cli/apot"
out=${APOT_DEMO_DIR:-demo-run}
subset=(--train-limit 10000 --test-limit 2000)
echo "== 4-bit APoT levels, k = 2 (the paper's worked example, section 2.2)"
"$apot" levels --scheme apot --bits 4 --k 2
echo
echo "== full-precision ResNet-20 on Fashion-MNIST (10000 training images, 1 epoch)"
"$apot" train --arch resnet20 --bits 32 --epochs 1 --lr 0.1 "${subset[@]}" --out "$out/fp32" --overwrite
echo
echo "== 4-bit APoT (RCF + weight normalisation), initialised from it"
"$apot" train --arch resnet20 --bits 4 --epochs 1 --lr 0.02 "${subset[@]}" --init "$out/fp32/model.pt" --out "$out/apot4" --overwrite
echo
echo "== the 4-bit checkpoint, evaluated from its file (which records its network: no model flags needed)"
"$apot" eval --checkpoint "$out/apot4/model.pt" --test-limit 2000
echo
echo "== its cost by the paper's model (section 4.1): 4-bit APoT against uniform"
"$apot" cost --arch resnet20 --bits 4 --scheme apot --input-shape 1x28x28 | tail -n 3
"$apot" cost --arch resnet20 --bits 4 --scheme uniform --input-shape 1x28x28 | tail -n 3
echo
echo "== export: packed 4-bit codes, batch norm folded into fixed-point requantisation"
"$apot" export --checkpoint "$out/apot4/model.pt" --out "$out/apot4.apot"
echo
echo "== the integer engine on the test images (shift-adds on the exact integer form, no float inside)"
"$apot" run --model "$out/apot4.apot" --test-limit 2000
echo
echo "== the integer engine against the fake-quant network, image by image"
"$apot" verify --checkpoint "$out/apot4/model.pt" --model "$out/apot4.apot" --test-limit 2000
echo
echo "== shift-adds its own weights need, against the worst case the paper prices"
"$apot" cost --model "$out/apot4.apot" | tail -n 1
echo
echo "learned thresholds and accuracy: $out/apot4/summary.json; per-epoch metrics: $out/*/metrics.csv"
