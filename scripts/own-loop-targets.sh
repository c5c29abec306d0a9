#!/usr/bin/env bash
# The exported white-box loss in a plain PyTorch loop (scripts/train-own-loop.py), against the
# same loop without it: for each architecture, a user model (test/python/user_models.py) made
# with scripts/prepare-model.py, a key and its loss from ds-gen-keys, then per training seed one
# model with the loss and one without, each verified. One line per model, then the mean cost.
# Usage: scripts/own-loop-targets.sh OUT [mlp|cnn ...]
#   env: SEEDS (default "1 2 3"), EPOCHS (5), B (build/bin), EMBED (configs/embed-whitebox-own-loop.json),
#        KEYS (configs/keys-whitebox.json), DATA (/usr/share/datasets/fashion-mnist),
#        RUNS ("with without": which loops to train)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/own-loop-targets.sh OUT [mlp|cnn ...]}
shift
ARCHS=${*:-mlp cnn}
SEEDS=${SEEDS:-1 2 3}
EPOCHS=${EPOCHS:-5}
EMBED=${EMBED:-configs/embed-whitebox-own-loop.json}
KEYS=${KEYS:-configs/keys-whitebox.json}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
B=${B:-build/bin}
PY=/usr/bin/python3
mkdir -p "$OUT"
tap_of() { case $1 in mlp) echo fc2=5 ;; cnn) echo fc1=10 ;; esac; }
for arch in $ARCHS; do
  base=$OUT/$arch-base.pt
  $PY scripts/prepare-model.py --model test/python/user_models.py:$arch --num-classes 10 \
    --input-shape 1 28 28 --mean 0.286 --std 0.353 --taps "$(tap_of "$arch")" --out "$base" >/dev/null
  $B/ds-gen-keys -q --config "$KEYS" --model "$base" --out "$OUT/$arch.key" \
    --export-loss "$OUT/$arch-loss.pt" --embed-config "$EMBED"
  for seed in $SEEDS; do
    for loss in ${RUNS:-with without}; do
      model=$OUT/$arch-s$seed-$loss.pt
      flag=(); [ "$loss" = with ] && flag=(--wm-loss "$OUT/$arch-loss.pt")
      acc=$($PY scripts/train-own-loop.py --model "$base" --data "$DATA" "${flag[@]}" \
              --epochs "$EPOCHS" --seed "$seed" --out "$model" |
            $PY -c "import json,sys; print(json.load(sys.stdin)['test_accuracy'])")
      set +e
      $B/ds-verify -q --model "$model" --keys "$OUT/$arch.key" --report "${model%.pt}.json"
      code=$?
      set -e
      ber=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['whitebox']['ber'])" "${model%.pt}.json")
      echo "$arch seed $seed $loss loss: accuracy $acc BER $ber ds-verify exit $code"
    done
  done
done | tee "$OUT/summary.txt"
$PY - "$OUT/summary.txt" <<'PY'
import collections, sys
acc = collections.defaultdict(list)
for line in open(sys.argv[1]):
    w = line.split()
    acc[(w[0], w[3])].append(float(w[6]))
for arch in sorted({k[0] for k in acc}):
    a, b = acc[(arch, "with")], acc[(arch, "without")]
    if not a or not b:  # RUNS named one loop only: no cost to compare
        continue
    print(f"{arch}: mean accuracy with loss {sum(a)/len(a):.4f}, without {sum(b)/len(b):.4f}, "
          f"cost {100 * (sum(b)/len(b) - sum(a)/len(a)):.2f} points over {len(a)} seeds")
PY
