#!/usr/bin/env bash
# Measures how both watermarks survive removal attacks on Fashion-MNIST: makes the MLP and CNN
# marked with a 64-bit white-box and a 32-key black-box watermark (one owner key, both parts;
# the same models as scripts/watermark-targets.sh, reused when present), runs the attack sweep
# (configs/sweep-attacks.json) on each, and prints the summary table of docs/RESULTS-measured.md.
# Usage: scripts/robustness.sh [OUT_DIR]   (default runs/robustness; models in $TARGETS,
# default runs/targets). About 10 min for the MLP and 30 min for the CNN on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/robustness}
TARGETS=${TARGETS:-runs/targets}
SWEEP=${SWEEP:-configs/sweep-attacks.json}
ARCHS=${ARCHS:-"mlp cnn"}
B=build/bin
source scripts/marking.sh
py=/usr/bin/python3
mkdir -p "$OUT" "$TARGETS"

for arch in $ARCHS; do
  M=$TARGETS
  [ -f "$M/$arch.pt" ] || $B/ds-train --config configs/train-$arch-fmnist.json --out "$M/$arch.pt" \
    --report "$M/train-$arch.json" -q
  [ -f "$M/keys-$arch-64x1.json" ] || $py -c "import json,sys; c=json.load(open('configs/keys-whitebox.json')); c['whitebox']['carrier_count']=1; c['whitebox']['bits']=64; json.dump(c, open(sys.argv[1],'w'))" "$M/keys-$arch-64x1.json"
  [ -f "$M/$arch-64x1.draft" ] || $B/ds-gen-keys --config "$M/keys-$arch-64x1.json" --model "$M/$arch.pt" \
    --out "$M/$arch-64x1.draft" -q
  [ -f "$M/$arch-64x1.pt" ] || $B/ds-embed-wm --config configs/embed-whitebox.json --model "$M/$arch.pt" \
    --keys "$M/$arch-64x1.draft" --out "$M/$arch-64x1.pt" --keys-out "$M/$arch-64x1.key" \
    --report "$M/embed-$arch-64x1.json" -q
  add_blackbox "$M" "both-$arch" "$M/$arch-64x1.pt" "$M/$arch-64x1.key"
  [ -f "$OUT/$arch/results.json" ] || $B/ds-attack --config "$SWEEP" --model "$M/both-$arch.pt" \
    --keys "$M/both-$arch.key" --out-dir "$OUT/$arch"
done

args=()
for arch in $ARCHS; do args+=("$arch=$OUT/$arch/results.json"); done
$py scripts/sweep_summary.py "${args[@]}" | tee "$OUT/summary.md"
echo "plots: $(for arch in $ARCHS; do printf '%s ' "$OUT/$arch/plot.svg"; done)"
