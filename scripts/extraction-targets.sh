#!/usr/bin/env bash
# Model extraction against the keyed-region mark, measured: extends the pipeline's doubly marked
# model's key with keyed regions, serves the model behind the guard, then steals it (hard-label
# extraction from half the training data at each attack seed, soft-label distillation) and
# verifies every student; students of the unmarked model and independently trained models must
# not be claimed. Prints one line per model and writes OUT/extraction.md.
# Usage: scripts/extraction-targets.sh RUN ARCH [OUT]   (RUN: a pipeline folder, e.g.
#   runs/full-fmnist, holding ARCH.pt, ARCH-both.pt, ARCH-both.key and integrity/ARCH-s*.pt)
# Settings: SEEDS (attack seeds, default "7 8 9 10 11"), UNMARKED_SEEDS (default "7 8 9 10 11"),
#   EPOCHS (default 10), DISTILL (1: also distil at temperature 4 from all the data), CROSS (an
#   architecture: also extract into a student of that architecture at seed 7).
# Every student is verified twice: with the owner's key (verification inputs from the training
# split) and with the same regions read on held-out test inputs (owner-heldout.key).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$1 ARCH=$2 OUT=${3:-runs/extraction-$2}
SEEDS=${SEEDS:-7 8 9 10 11} UNMARKED_SEEDS=${UNMARKED_SEEDS:-7 8 9 10 11} EPOCHS=${EPOCHS:-10}
B=build/bin
DATA=$(cat "$RUN/data.json")
mkdir -p "$OUT"
for from in train test; do
  cat >"$OUT/keys-regions-$from.json" <<J
{"kind": "regions", "seed": 11, "data": $DATA,
 "regions": {"regions": 12, "fraction": 0.0075, "verify_from": "$from"}}
J
done
echo "{\"kind\": \"regions\", \"data\": $DATA}" >"$OUT/embed-regions.json"
[ -f "$OUT/owner.key" ] || $B/ds-gen-keys --config "$OUT/keys-regions-train.json" \
  --model "$RUN/$ARCH-both.pt" --keys "$RUN/$ARCH-both.key" --out "$OUT/owner.key" -q
[ -f "$OUT/owner-heldout.key" ] || $B/ds-gen-keys --config "$OUT/keys-regions-test.json" \
  --model "$RUN/$ARCH-both.pt" --keys "$RUN/$ARCH-both.key" --out "$OUT/owner-heldout.key" -q
[ -f "$OUT/served.pt" ] || $B/ds-embed-wm --config "$OUT/embed-regions.json" --model "$RUN/$ARCH-both.pt" \
  --keys "$OUT/owner.key" --out "$OUT/served.pt" --report "$OUT/guard.json" -q

attack() {  # NAME SUSPECT SEED JSON-FIELDS: one attack, then ds-verify on its output
  local name=$1 suspect=$2 seed=$3 fields=$4
  echo "{\"data\": $DATA, \"seed\": $seed, \"threads\": 2, \"epochs\": $EPOCHS, $fields}" >"$OUT/$name.json"
  [ -f "$OUT/$name.pt" ] || $B/ds-attack --config "$OUT/$name.json" --model "$suspect" \
    --out "$OUT/$name.pt" --report "$OUT/attack-$name.json" -q
  verify "$name" "$OUT/$name.pt"
}
verify() {  # NAME MODEL
  set +e
  $B/ds-verify --keys "$OUT/owner.key" --model "$2" --report "$OUT/verify-$1.json" -q
  echo "$1 $?" >>"$OUT/verdicts.txt"
  $B/ds-verify --keys "$OUT/owner-heldout.key" --model "$2" --report "$OUT/heldout-$1.json" -q
  set -e
}
: >"$OUT/verdicts.txt"
for s in $SEEDS; do
  attack "extract-s$s" "$OUT/served.pt" "$s" '"attack": "extract", "attacker_fraction": 0.5'
done
if [ "${DISTILL:-0}" = 1 ]; then
  attack distill-t4 "$OUT/served.pt" 7 '"attack": "distill", "attacker_fraction": 1.0, "temperature": 4'
fi
if [ -n "${CROSS:-}" ]; then
  attack "extract-$CROSS-student" "$OUT/served.pt" 7 \
    "\"attack\": \"extract\", \"attacker_fraction\": 0.5, \"student\": {\"arch\": \"$CROSS\"}"
fi
for s in $UNMARKED_SEEDS; do
  attack "unmarked-extract-s$s" "$RUN/$ARCH.pt" "$s" '"attack": "extract", "attacker_fraction": 0.5'
done
for m in "$RUN"/integrity/*-s*.pt; do verify "independent-$(basename "$m" .pt)" "$m"; done
/usr/bin/python3 scripts/extraction_summary.py "$OUT"
