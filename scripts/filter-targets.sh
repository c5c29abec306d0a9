#!/usr/bin/env bash
# Input filters on the serving path against uniform and smooth black-box keys: adds 32 smooth
# keys (configs/keys-blackbox.json with "source": "smooth") to each pipeline model's white-box
# mark, then serves
# the uniform-key model (ARCH-both) and the smooth-key one behind Gaussian blurs, a 3x3 box mean
# and a 3x3 median, and verifies each with its key. Prints one line per filtered model.
# Usage: scripts/filter-targets.sh RUN [OUT]   (RUN: a pipeline folder holding ARCH-wb.pt,
#   ARCH-wb.key, ARCH-both.pt, ARCH-both.key and data.json; default OUT runs/filters)
# Settings: ARCHS (default "mlp cnn"), SIGMAS (default "0.5 0.7 1.0"), BIN (tools).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$1 OUT=${2:-runs/filters}
B=${BIN:-build/bin}
DATA=$(cat "$RUN/data.json")
mkdir -p "$OUT"
sed 's/"threads": 1/"threads": 2/' configs/embed-blackbox.json >"$OUT/embed-bb.json"
sed 's/"source": "uniform"/"source": "smooth", "cell": 4/' configs/keys-blackbox.json >"$OUT/keys-bb-smooth.json"
for a in ${ARCHS:-mlp cnn}; do
  [ -f "$OUT/$a-smooth.cand" ] || $B/ds-gen-keys --config "$OUT/keys-bb-smooth.json" \
    --model "$RUN/$a-wb.pt" --keys "$RUN/$a-wb.key" --out "$OUT/$a-smooth.cand" -q
  [ -f "$OUT/$a-smooth.pt" ] || $B/ds-embed-wm --config "$OUT/embed-bb.json" --model "$RUN/$a-wb.pt" \
    --keys "$OUT/$a-smooth.cand" --out "$OUT/$a-smooth.pt" --keys-out "$OUT/$a-smooth.key" \
    --report "$OUT/embed-$a-smooth.json" -q
done
one() {  # NAME MODEL KEY FIELDS
  echo "{\"data\": $DATA, \"seed\": 7, \"threads\": 2, \"attack\": \"preprocess\", $4}" >"$OUT/$1.json"
  [ -f "$OUT/$1.pt" ] || $B/ds-attack --config "$OUT/$1.json" --model "$2" --keys "$3" \
    --out "$OUT/$1.pt" --report "$OUT/attack-$1.json" -q
  $B/ds-verify --keys "$3" --model "$OUT/$1.pt" --report "$OUT/verify-$1.json" -q || true
  /usr/bin/python3 scripts/verdicts.py "$OUT" "$1"
}
for a in ${ARCHS:-mlp cnn}; do
  for k in uniform smooth; do
    if [ $k = uniform ]; then M=$RUN/$a-both.pt K=$RUN/$a-both.key; else M=$OUT/$a-smooth.pt K=$OUT/$a-smooth.key; fi
    for s in ${SIGMAS:-0.5 0.7 1.0}; do one "$a-$k-gaussian$s" "$M" "$K" "\"filter\": \"gaussian\", \"sigma\": $s"; done
    one "$a-$k-box3" "$M" "$K" '"filter": "smooth", "size": 3'
    one "$a-$k-median3" "$M" "$K" '"filter": "median", "size": 3'
  done
done
