#!/usr/bin/env bash
# A torchvision ResNet-18 (CIFAR-style stem, normalisation inside, tap `pool` = the pooled
# features after the last residual stage) through the whole toolchain on 3x32x32 images:
# Fashion-MNIST padded to 32x32 and repeated over three channels (scripts/make-rgb32.py; no CIFAR
# package is at hand), N training and M test images. Trains it with ds-train from the prepared
# file, embeds the default white-box and black-box marks (one key), verifies, obfuscates the
# pool tap's producer (permutation, scales in [0.5, 2], 10% dummy channels) and verifies again,
# then runs configs/sweep-quick.json on it. One line per step in OUT/summary.txt.
# Usage: scripts/resnet-targets.sh OUT   (env: N 4000, M 1000, EPOCHS 3, THREADS 2, B build/bin)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/resnet-targets.sh OUT}
N=${N:-4000}
M=${M:-1000}
EPOCHS=${EPOCHS:-3}
THREADS=${THREADS:-2}
B=${B:-build/bin}
PY=/usr/bin/python3
CFG="$PY scripts/derive-config.py"
mkdir -p "$OUT"
say() { echo "$*" | tee -a "$OUT/summary.txt"; }
field() { $PY -c "import json,sys; r=json.load(open(sys.argv[1])); print(eval('r'+sys.argv[2]))" "$@"; }

$PY scripts/make-rgb32.py /usr/share/datasets/fashion-mnist "$OUT/data" "$N" "$M" >/dev/null
DATA="{\"format\": \"tensor\", \"path\": \"$OUT/data/train.pt\", \"test_path\": \"$OUT/data/test.pt\"}"
$PY scripts/prepare-model.py --model torchvision:resnet18 --num-classes 10 --input-shape 3 32 32 \
  --mean 0.22 0.22 0.22 --std 0.33 0.33 0.33 --taps pool=avgpool --small-input-stem \
  --out "$OUT/resnet18-init.pt" >/dev/null
cat >"$OUT/train.json" <<JSON
{"model": {"arch": "torchscript", "path": "$OUT/resnet18-init.pt"}, "data": $DATA,
 "optimizer": {"name": "adam", "lr": 0.001}, "epochs": $EPOCHS, "batch_size": 64, "seed": 1,
 "threads": $THREADS}
JSON
$B/ds-train -q --config "$OUT/train.json" --out "$OUT/resnet18.pt" --report "$OUT/train.report.json"
say "trained: test accuracy $(field "$OUT/train.report.json" "['test_accuracy']") ($N train / $M test images, $EPOCHS epochs)"

$CFG configs/keys-whitebox.json "$OUT/keys-wb.json" "data=$DATA" "threads=$THREADS"
$CFG configs/embed-whitebox.json "$OUT/embed-wb.json" "data=$DATA" "threads=$THREADS" \
  measure_overhead=false max_epochs=4
$CFG configs/embed-blackbox.json "$OUT/embed-bb.json" "data=$DATA" "threads=$THREADS" \
  max_rounds=3 epochs_per_round=1 candidate_repeats=8
$B/ds-gen-keys -q --config "$OUT/keys-wb.json" --model "$OUT/resnet18.pt" --out "$OUT/wb-draft.key"
$B/ds-embed-wm -q --config "$OUT/embed-wb.json" --model "$OUT/resnet18.pt" --keys "$OUT/wb-draft.key" \
  --out "$OUT/wb.pt" --keys-out "$OUT/wb.key" --report "$OUT/embed-wb.report.json"
$B/ds-gen-keys -q --config configs/keys-blackbox.json --model "$OUT/wb.pt" --keys "$OUT/wb.key" \
  --out "$OUT/both-draft.key"
$B/ds-embed-wm -q --config "$OUT/embed-bb.json" --model "$OUT/wb.pt" --keys "$OUT/both-draft.key" \
  --out "$OUT/both.pt" --keys-out "$OUT/both.key" --report "$OUT/embed-bb.report.json"
verify() {  # verify NAME MODEL
  set +e
  $B/ds-verify -q --model "$2" --keys "$OUT/both.key" --report "$OUT/verify-$1.json"
  local code=$?
  set -e
  say "$1: exit $code, $($PY - "$OUT/verify-$1.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
wb, bb = r.get("whitebox", {}), r.get("blackbox", {})
print(f"white-box BER {wb.get('ber')} p {wb.get('p_value')}, black-box "
      f"{bb.get('mismatches')} of {bb.get('keys')} keys mismatched p {bb.get('p_value')}, "
      f"verdict p {r.get('p_value')}")
PY
)"
}
say "marked: test accuracy $(field "$OUT/embed-wb.report.json" "['test_accuracy']") after the white-box embedding, $(field "$OUT/embed-bb.report.json" "['test_accuracy']") after the black-box"
verify marked "$OUT/both.pt"
verify unmarked "$OUT/resnet18.pt"
echo '{"attack": "obfuscate", "layer": "pool", "dummy_fraction": 0.1, "seed": 7}' >"$OUT/obf.json"
$B/ds-attack -q --config "$OUT/obf.json" --model "$OUT/both.pt" --out "$OUT/obf.pt" --report "$OUT/obf.report.json"
say "obfuscated: logits moved by $($PY - "$OUT/both.pt" "$OUT/obf.pt" <<'PY'
import sys, torch
a, b = torch.jit.load(sys.argv[1]).eval(), torch.jit.load(sys.argv[2]).eval()
x = torch.load(sys.argv[1].rsplit("/", 1)[0] + "/data/test.pt")["x"][:256].float() / 255
with torch.no_grad():
    print(f"{(a(x) - b(x)).abs().max().item():.2e} (max over 256 test images); pool width {b.taps(x)['pool'].shape[1]}")
PY
)"
verify obfuscated "$OUT/obf.pt"
$CFG configs/sweep-quick.json "$OUT/sweep.json" "data=$DATA"
$B/ds-attack -q --config "$OUT/sweep.json" --model "$OUT/both.pt" --keys "$OUT/both.key" \
  --out-dir "$OUT/sweep" --report "$OUT/sweep.report.json"
say "sweep-quick:"
$PY scripts/sweep_summary.py "resnet18=$OUT/sweep/results.json" | tee -a "$OUT/summary.txt"
