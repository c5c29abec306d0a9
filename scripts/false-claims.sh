#!/usr/bin/env bash
# Integrity check for an owner's key: trains 20 independent unmarked Fashion-MNIST models
# (12 MLPs with other seeds, 4 MLPs of another shape, 4 CNNs; short schedules, since only
# independence matters) and verifies each against KEY. None may be proven; prints every
# BER and p-value and the smallest p-value.
# Usage: scripts/false-claims.sh KEY [OUT_DIR]   (default runs/unmarked; models are reused)
set -euo pipefail
cd "$(dirname "$0")/.."
KEY=$1
OUT=${2:-runs/unmarked}
B=build/bin
py=/usr/bin/python3
mkdir -p "$OUT"
$py -c "import json,sys; c=json.load(open('configs/train-mlp-fmnist.json')); c['model']['hidden']=[512, 1024]; json.dump(c, open(sys.argv[1],'w'))" "$OUT/train-mlp-wide.json"
models=()
for s in 2 3 4 5 6 7 8 9 10 11 12 13; do models+=("mlp-seed$s configs/train-mlp-fmnist.json $s 3"); done
for s in 2 3 4 5; do models+=("mlpwide-seed$s $OUT/train-mlp-wide.json $s 3"); done
for s in 2 3 4 5; do models+=("cnn-seed$s configs/train-cnn-fmnist.json $s 1"); done
: >"$OUT/verdicts.txt"
for m in "${models[@]}"; do
  set -- $m
  name=$1 config=$2 seed=$3 epochs=$4
  [ -f "$OUT/$name.pt" ] || $B/ds-train --config "$config" --seed "$seed" --epochs "$epochs" \
    --out "$OUT/$name.pt" --report "$OUT/train-$name.json" -q
  set +e
  $B/ds-verify --model "$OUT/$name.pt" --keys "$KEY" --report "$OUT/verify-$name.json" -q 2>"$OUT/verify-$name.err"
  echo "$name $?" >>"$OUT/verdicts.txt"
  set -e
done
$py - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
rows, smallest, proven = [], None, 0
for line in open(f"{out}/verdicts.txt"):
    name, code = line.split()
    acc = json.load(open(f"{out}/train-{name}.json"))["test_accuracy"]
    path = f"{out}/verify-{name}.json"
    if code == "2" or not os.path.exists(path):
        err = open(f"{out}/verify-{name}.err").read().strip().splitlines()[-1:]
        print(f"{name:16} acc {acc:.4f}  exit {code}  {err[0] if err else ''}")
        continue
    v = json.load(open(path))
    w = v["whitebox"]
    a = w.get("alignment", {})
    proven += v["verified"]
    smallest = w["p_value"] if smallest is None else min(smallest, w["p_value"])
    print(f"{name:16} acc {acc:.4f}  exit {code}  BER {w['ber']:.3f}  p {w['p_value']:.3g}  "
          f"layer {a.get('layer', w['layer'])}  corr {a.get('mean_correlation', float('nan')):.3f}")
print(f"proven: {proven} of {len(open(f'{out}/verdicts.txt').readlines())}; smallest p-value {smallest:.3g}")
PY
