#!/usr/bin/env bash
# The quick start: installs, builds, trains the paper's MLP on Fashion-MNIST, makes an owner's
# key, embeds the white-box watermark, and verifies the marked and the unmarked model.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
out=${DEMO_OUT:-runs/demo}
B=build/bin
mkdir -p "$out"
$B/ds-train --config configs/train-mlp-fmnist.json --out "$out/mlp.pt" --report "$out/train.json"
$B/ds-gen-keys --config configs/keys-whitebox.json --model "$out/mlp.pt" --out "$out/owner.key" \
  --report "$out/keys.json"
$B/ds-embed-wm --config configs/embed-whitebox.json --model "$out/mlp.pt" --keys "$out/owner.key" \
  --out "$out/mlp-marked.pt" --report "$out/embed.json"
$B/ds-verify --model "$out/mlp-marked.pt" --keys "$out/owner.key" --report "$out/verify-marked.json"
# The unmarked model must not verify: exit status 1 is the expected answer here.
if $B/ds-verify --model "$out/mlp.pt" --keys "$out/owner.key" --report "$out/verify-unmarked.json"; then
  echo "demo: the unmarked model verified; this should not happen" >&2
  exit 1
fi
echo "models:  $out/mlp.pt (unmarked), $out/mlp-marked.pt (marked)"
echo "key:     $out/owner.key"
echo "reports: $out/train.json $out/keys.json $out/embed.json $out/verify-marked.json $out/verify-unmarked.json"
