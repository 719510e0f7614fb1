#!/usr/bin/env bash
# The main job: install, build, then a short end-to-end demo.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=$(bash scripts/build.sh | tail -n 1)
apot="$build_dir/cli/apot"
echo "== APoT, 4 bits, k = 2 (the paper's worked example, section 2.2)"
"$apot" levels --scheme apot --bits 4 --k 2
echo
echo "== 4-bit signed weights (sign + 3 magnitude bits): APoT beside uniform and PoT"
for scheme in apot uniform pot; do
  echo
  "$apot" levels --scheme "$scheme" --bits 4 --signed
done
