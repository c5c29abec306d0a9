#!/usr/bin/env bash
# The quick start: installs, builds, and runs the small profile of the experiment pipeline on
# Fashion-MNIST (scripts/experiments.mk): trains the paper's MLP, makes an owner's key, embeds
# the white-box watermark, the black-box one, and both in one key, verifies the marked models
# and unmarked ones, sweeps payload sizes and removal attacks, and renders the results page.
# Then shows two verifications by hand: a stolen copy whose hidden units a thief reordered,
# rescaled and padded, and the marked model judged from query answers alone.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
run=${DEMO_OUT:-runs/small-fmnist}
B=build/bin
make -f scripts/experiments.mk -j2 PROFILE=small DATASET=fmnist RUN="$run" all

model=$run/mlp-both.pt key=$run/mlp-both.key
# A thief reorders and rescales the marked layer's units and adds 10% dummy units: the model
# computes exactly the same function, and realigned extraction still proves ownership.
$B/ds-attack --config configs/attack-obfuscate.json --model "$model" \
  --out "$run/mlp-stolen.pt" --report "$run/attack-obfuscate.json"
$B/ds-verify --model "$run/mlp-stolen.pt" --keys "$key" --report "$run/verify-stolen.json"
# The unmarked model must not verify: exit status 1 is the expected answer here.
if $B/ds-verify --model "$run/mlp.pt" --keys "$key" -q; then
  echo "demo: the unmarked model verified; this should not happen" >&2
  exit 1
fi
# Query-only: export the black-box queries, answer them as a remote API would, decide.
$B/ds-verify --keys "$key" --export-queries "$run/queries"
/usr/bin/python3 - "$model" "$run/queries/queries.pt" "$run/labels.json" <<'PY'
import json, sys, torch
model = torch.jit.load(sys.argv[1]).eval()
with torch.no_grad():
    labels = model(torch.load(sys.argv[2])["x"]).argmax(1).tolist()
json.dump({"labels": labels}, open(sys.argv[3], "w"))
PY
$B/ds-verify --keys "$key" --predictions "$run/labels.json" --report "$run/verify-queries.json"
echo
echo "models:  $run/mlp.pt (unmarked), $run/mlp-both.pt (both watermarks), $run/mlp-stolen.pt (obfuscated copy)"
echo "key:     $key (white-box and black-box parts)"
echo "report:  $run/report.html (open in a browser; Markdown: $run/RESULTS.md)"
