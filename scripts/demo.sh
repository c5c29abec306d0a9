#!/usr/bin/env bash
# The quick start: installs, builds, trains the paper's MLP on Fashion-MNIST, makes an owner's
# key, embeds the white-box watermark, adds the black-box watermark on top (one key, both
# parts), and verifies the marked and the unmarked model, a copy whose hidden units a thief
# reordered, rescaled and padded, and the marked model from query answers alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
out=${DEMO_OUT:-runs/demo}
B=build/bin
mkdir -p "$out"
$B/ds-train --config configs/train-mlp-fmnist.json --out "$out/mlp.pt" --report "$out/train.json"
$B/ds-gen-keys --config configs/keys-whitebox.json --model "$out/mlp.pt" --out "$out/draft.key" \
  --report "$out/keys.json"
$B/ds-embed-wm --config configs/embed-whitebox.json --model "$out/mlp.pt" --keys "$out/draft.key" \
  --out "$out/mlp-marked.pt" --keys-out "$out/owner.key" --report "$out/embed.json"
$B/ds-verify --model "$out/mlp-marked.pt" --keys "$out/owner.key" --report "$out/verify-wb.json"
$B/ds-gen-keys --config configs/keys-blackbox.json --model "$out/mlp-marked.pt" --keys "$out/owner.key" \
  --out "$out/candidates.key"
$B/ds-embed-wm --config configs/embed-blackbox.json --model "$out/mlp-marked.pt" \
  --keys "$out/candidates.key" --out "$out/mlp-marked2.pt" --keys-out "$out/owner2.key" \
  --report "$out/embed-bb.json"
$B/ds-verify --model "$out/mlp-marked2.pt" --keys "$out/owner2.key" --report "$out/verify-marked.json"
# The unmarked model must not verify: exit status 1 is the expected answer here.
if $B/ds-verify --model "$out/mlp.pt" --keys "$out/owner2.key" --report "$out/verify-unmarked.json"; then
  echo "demo: the unmarked model verified; this should not happen" >&2
  exit 1
fi
# A thief reorders and rescales the marked layer's units and adds 10% dummy units: the model
# computes exactly the same function, and realigned extraction still proves ownership.
$B/ds-attack --config configs/attack-obfuscate.json --model "$out/mlp-marked2.pt" \
  --out "$out/mlp-stolen.pt" --report "$out/attack.json"
$B/ds-verify --model "$out/mlp-stolen.pt" --keys "$out/owner2.key" --report "$out/verify-stolen.json"
# Query-only: export the black-box queries, answer them as a remote API would, decide.
$B/ds-verify --keys "$out/owner2.key" --export-queries "$out/queries"
/usr/bin/python3 - "$out/mlp-marked2.pt" "$out/queries/queries.pt" "$out/labels.json" <<'PY'
import json, sys, torch
model = torch.jit.load(sys.argv[1]).eval()
with torch.no_grad():
    labels = model(torch.load(sys.argv[2])["x"]).argmax(1).tolist()
json.dump({"labels": labels}, open(sys.argv[3], "w"))
PY
$B/ds-verify --keys "$out/owner2.key" --predictions "$out/labels.json" --report "$out/verify-queries.json"
echo "models:  $out/mlp.pt (unmarked), $out/mlp-marked2.pt (both watermarks)"
echo "key:     $out/owner2.key (white-box and black-box parts)"
echo "reports: $out/verify-marked.json $out/verify-unmarked.json $out/verify-stolen.json"
echo "         $out/verify-queries.json (and train, keys, embed, attack)"
