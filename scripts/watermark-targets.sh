#!/usr/bin/env bash
# Measures both watermarks against their targets on Fashion-MNIST: trains the MLP and the CNN;
# white-box: embeds 64 bits on one and two carrier classes (and 256 bits on the MLP); black-box:
# 32 keys on each model, and on top of the white-box mark (one key, both parts); verifies the
# marked models, and checks integrity on unmarked MLPs trained with other seeds.
# Usage: scripts/watermark-targets.sh [OUT_DIR]   (default runs/targets); prints tables.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/targets}
INTEGRITY_SEEDS=${INTEGRITY_SEEDS:-"2 3 4 5 6"}
INTEGRITY_EPOCHS=${INTEGRITY_EPOCHS:-5}
B=build/bin
source scripts/marking.sh
mkdir -p "$OUT"
py=/usr/bin/python3

for arch in mlp cnn; do
  [ -f "$OUT/$arch.pt" ] || $B/ds-train --config configs/train-$arch-fmnist.json --out "$OUT/$arch.pt" \
    --report "$OUT/train-$arch.json" -q
done

# name arch carrier-classes bits (carriers chosen by ds-gen-keys: the most accurate classes)
variants=("mlp-64x1 mlp 1 64" "mlp-64x2 mlp 2 64" "mlp-256x1 mlp 1 256"
          "cnn-64x1 cnn 1 64" "cnn-64x2 cnn 2 64")
for v in "${variants[@]}"; do
  set -- $v
  name=$1 arch=$2 carriers=$3 bits=$4
  $py -c "import json,sys; c=json.load(open('configs/keys-whitebox.json')); c['whitebox']['carrier_count']=$carriers; c['whitebox']['bits']=$bits; json.dump(c, open(sys.argv[1],'w'))" "$OUT/keys-$name.json"
  [ -f "$OUT/$name.draft" ] || $B/ds-gen-keys --config "$OUT/keys-$name.json" --model "$OUT/$arch.pt" \
    --out "$OUT/$name.draft" --report "$OUT/keys-$name.report.json" -q
  [ -f "$OUT/$name.pt" ] || $B/ds-embed-wm --config configs/embed-whitebox.json --model "$OUT/$arch.pt" \
    --keys "$OUT/$name.draft" --out "$OUT/$name.pt" --keys-out "$OUT/$name.key" \
    --report "$OUT/embed-$name.json" -q
  set +e
  verify_marked_and_base "$OUT" "$name" "$OUT/$arch.pt"
  set -e
done

# Black-box alone (bb-ARCH) and on top of the 64-bit white-box mark (both-ARCH).
for arch in mlp cnn; do
  add_blackbox "$OUT" "bb-$arch" "$OUT/$arch.pt"
  add_blackbox "$OUT" "both-$arch" "$OUT/$arch-64x1.pt" "$OUT/$arch-64x1.key"
  set +e
  for m in bb both; do verify_marked_and_base "$OUT" "$m-$arch" "$OUT/$arch.pt"; done
  set -e
done

for s in $INTEGRITY_SEEDS; do
  [ -f "$OUT/mlp-seed$s.pt" ] || $B/ds-train --config configs/train-mlp-fmnist.json --seed "$s" \
    --epochs "$INTEGRITY_EPOCHS" --out "$OUT/mlp-seed$s.pt" --report "$OUT/train-mlp-seed$s.json" -q
  set +e
  $B/ds-verify --model "$OUT/mlp-seed$s.pt" --keys "$OUT/mlp-64x1.key" --report "$OUT/integrity-seed$s.json" -q
  echo "integrity seed $s: exit $?" >>"$OUT/exits.txt"
  $B/ds-verify --model "$OUT/mlp-seed$s.pt" --keys "$OUT/bb-mlp.key" --report "$OUT/integrity-bb-seed$s.json" -q
  echo "integrity bb seed $s: exit $?" >>"$OUT/exits.txt"
  set -e
done

$py - "$OUT" "$INTEGRITY_SEEDS" <<'PY'
import json, sys
out, seeds = sys.argv[1], sys.argv[2].split()
load = lambda n: json.load(open(f"{out}/{n}"))
print(f"{'variant':10} {'bits':>5} {'acc base':>9} {'acc marked':>10} {'drop pts':>8} {'epochs':>6} "
      f"{'BER':>6} {'p-value':>9} {'epoch s':>8} {'plain s':>8} {'overhead':>8}")
for name in ["mlp-64x1", "mlp-64x2", "mlp-256x1", "cnn-64x1", "cnn-64x2"]:
    e, v = load(f"embed-{name}.json"), load(f"verify-{name}.json")
    t = e["timings"]
    print(f"{name:10} {v['whitebox']['bits']:5d} {e['test_accuracy_before']:9.4f} {e['test_accuracy']:10.4f} "
          f"{100*e['accuracy_drop']:8.2f} {e['epochs_run']:6d} {v['ber']:6.3f} {v['p_value']:9.2e} "
          f"{t['embed_epoch_seconds']:8.2f} {t.get('plain_epoch_seconds', float('nan')):8.2f} "
          f"{100*t.get('embed_overhead', float('nan')):7.1f}%")
print()
# Unmarked models against the owner's keys: (row label, report) pairs, printed by `row`.
def unmarked(head, reports, row):
    print(head)
    for label, name in reports:
        print(f"{label:22} {row(load(name))}")
wb_row = lambda v: f"{v['ber']:6.3f} {v['p_value']:9.3g} {str(v['verified']):>8}"
unmarked(f"{'unmarked model':22} {'BER':>6} {'p-value':>9} {'verified':>8}",
         [("base for " + n, f"verify-{n}-unmarked.json") for n in ["mlp-64x1", "cnn-64x1"]] +
         [("mlp seed " + s, f"integrity-seed{s}.json") for s in seeds], wb_row)
print()
print(f"{'black-box':10} {'acc base':>9} {'acc marked':>10} {'drop pts':>8} {'key acc':>7} {'rounds':>6} "
      f"{'cands':>6} {'mism':>5} {'theta':>5} {'FCP@theta':>9} {'seconds':>7} {'wb BER after':>12}")
for arch in ["mlp", "cnn"]:
    for m in ["bb", "both"]:
        e, v = load(f"embed-{m}-{arch}.json"), load(f"verify-{m}-{arch}.json")
        wb = f"{v['whitebox']['ber']:.3f}" if "whitebox" in v else "-"
        print(f"{m + '-' + arch:10} {e['test_accuracy_before']:9.4f} {e['test_accuracy']:10.4f} "
              f"{100*e['accuracy_drop']:8.2f} {e['key_accuracy']:7.3f} {e['rounds']:6d} {e['candidates_drawn']:6d} "
              f"{v['mismatches']:5d} {v['threshold']:5d} {v['blackbox']['threshold_false_claim']:9.2e} "
              f"{e['timings']['embed_seconds']:7.1f} {wb:>12}")
print()
bb_row = lambda v: (f"{v['mismatches']:10d} {v['blackbox']['keys'] - v['mismatches']:8d} "
                    f"{str(v['verified']):>8}")
unmarked(f"{'black-box, unmarked':22} {'mismatches':>10} {'key hits':>8} {'verified':>8}",
         [("base " + a, f"verify-bb-{a}-unmarked.json") for a in ["mlp", "cnn"]] +
         [("mlp seed " + s, f"integrity-bb-seed{s}.json") for s in seeds], bb_row)
PY
