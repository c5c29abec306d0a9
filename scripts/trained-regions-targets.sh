#!/usr/bin/env bash
# Keyed regions trained into the weights, measured against the thief who holds the file: trains
# the regions of an existing region key into the pipeline's doubly marked model (no guard), then
# at each attack seed shifts its weights and fine-tunes on its own answers (the SoK's weight
# shifting) and, separately, fine-tunes on true labels (FTAL, Adam lr 1e-3, 10 epochs); every
# attacked model is verified with the key. Prints one line per model.
# Usage: scripts/trained-regions-targets.sh RUN ARCH KEY [OUT]   (RUN: a pipeline folder holding
#   ARCH-both.pt; KEY: its key with a regions part, e.g. from scripts/extraction-targets.sh)
# Settings: SEEDS (default "7 8 9 10 11"), EMBED (default configs/embed-regions-trained.json).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$1 ARCH=$2 KEY=$3 OUT=${4:-runs/trained-regions-$2}
SEEDS=${SEEDS:-7 8 9 10 11} EMBED=${EMBED:-configs/embed-regions-trained.json}
B=build/bin
DATA=$(cat "$RUN/data.json")
mkdir -p "$OUT"
[ -f "$OUT/trained.pt" ] || $B/ds-embed-wm --config "$EMBED" --model "$RUN/$ARCH-both.pt" \
  --keys "$KEY" --out "$OUT/trained.pt" --report "$OUT/embed.json" -q

attack() {  # NAME SEED JSON-FIELDS
  echo "{\"data\": $DATA, \"seed\": $2, \"threads\": 2, \"attacker_fraction\": 0.5, $3}" >"$OUT/$1.json"
  [ -f "$OUT/$1.pt" ] || $B/ds-attack --config "$OUT/$1.json" --model "$OUT/trained.pt" \
    --out "$OUT/$1.pt" --report "$OUT/attack-$1.json" -q
  $B/ds-verify --keys "$KEY" --model "$OUT/$1.pt" --report "$OUT/verify-$1.json" -q || true
  /usr/bin/python3 scripts/verdicts.py "$OUT" "$1"
}
for s in $SEEDS; do attack "shift-s$s" "$s" '"attack": "weight_shift"'; done
for s in $SEEDS; do
  attack "ftal-s$s" "$s" '"attack": "finetune", "mode": "ftal", "optimizer": {"name": "adam"}, "lr": 0.001, "epochs": 10'
done
