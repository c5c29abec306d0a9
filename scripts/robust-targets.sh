#!/usr/bin/env bash
# Robust ownership proof, measured: marks the Fashion-MNIST MLP and CNN with the 64-bit white-box
# watermark (BCH payload, reference profile: configs/keys-whitebox.json), runs the attacks of
# configs/sweep-robust.json, and verifies every attacked model twice: with realigned extraction
# (the key's profile, from the unmarked base model) and in fixed unit order as DeepSigns is
# published (the same key without a profile). Then checks 20 unrelated models against both keys (scripts/false-claims.sh).
# Usage: scripts/robust-targets.sh [OUT_DIR]  (default runs/robust; base models in $TARGETS,
# default runs/targets). About 5 min for the MLP and 20 min for the CNN on 2 cores, plus
# about 10 min to train the unrelated models once.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/robust}
TARGETS=${TARGETS:-runs/targets}
ARCHS=${ARCHS:-"mlp cnn"}
EMBED=${EMBED:-configs/embed-whitebox.json}  # or configs/embed-whitebox-robust.json (margin),
# configs/embed-whitebox-noise-aware.json (margin + noise-aware pull), configs/embed-whitebox-hardened.json
B=build/bin
py=/usr/bin/python3
mkdir -p "$OUT" "$TARGETS"
$py -c "import json,sys; c=json.load(open('configs/keys-whitebox.json')); c['whitebox']['profile_count']=0; json.dump(c, open(sys.argv[1],'w'))" "$OUT/keys-fixed.json"
$py -c "import json,sys; c=json.load(open('configs/sweep-robust.json')); c['keep_models']=True; c['workers']=int(sys.argv[2]); json.dump(c, open(sys.argv[1],'w'), indent=1)" "$OUT/sweep.json" "${WORKERS:-2}"

for arch in $ARCHS; do
  [ -f "$TARGETS/$arch.pt" ] || $B/ds-train --config configs/train-$arch-fmnist.json \
    --out "$TARGETS/$arch.pt" --report "$TARGETS/train-$arch.json" -q
  [ -f "$OUT/$arch.draft" ] || $B/ds-gen-keys --config configs/keys-whitebox.json \
    --model "$TARGETS/$arch.pt" --out "$OUT/$arch.draft" -q
  [ -f "$OUT/$arch-wb.pt" ] || $B/ds-embed-wm --config "$EMBED" \
    --model "$TARGETS/$arch.pt" --keys "$OUT/$arch.draft" --out "$OUT/$arch-wb.pt" \
    --keys-out "$OUT/$arch-wb.key" --report "$OUT/embed-$arch.json" -q
  # The same key (same seed: projection, triggers, payload) without a profile.
  [ -f "$OUT/$arch-fixed.key" ] || $B/ds-gen-keys --config "$OUT/keys-fixed.json" \
    --model "$TARGETS/$arch.pt" --out "$OUT/$arch-fixed.key" -q
  [ -f "$OUT/$arch/results.json" ] || $B/ds-attack --config "$OUT/sweep.json" \
    --model "$OUT/$arch-wb.pt" --keys "$OUT/$arch-wb.key" --out-dir "$OUT/$arch"
  # Every attacked model verified by the current ds-verify, both ways (cheap; the sweep's own
  # verdicts are those of the ds-verify that ran it).
  for pt in "$OUT/$arch"/points/*.pt; do
    rm -f "${pt%.pt}.fixed.json" "${pt%.pt}.realigned.json"
    $B/ds-verify --model "$pt" --keys "$OUT/$arch-fixed.key" --report "${pt%.pt}.fixed.json" -q || true
    $B/ds-verify --model "$pt" --keys "$OUT/$arch-wb.key" --report "${pt%.pt}.realigned.json" -q || true
  done
done

$py - "$OUT" $ARCHS <<'PY'
import json, os, sys
out, archs = sys.argv[1], sys.argv[2:]
print("| model | attack | setting | test acc | fixed order only (DeepSigns): BER, p, proven | with realignment (better reading, 4 tests): BER, p, proven |")
print("|---|---|---|---|---|---|")
def load(path):  # exit 2 (for example, the layer's width changed) leaves no report
    return json.load(open(path)).get("whitebox", {}) if os.path.exists(path) else {}
cell = lambda v: (f"{v['ber']:.3f}, {v['p_value']:.1e}, {'**yes**' if v['verified'] else 'no'}"
                  if "ber" in v else "cannot extract")
for arch in archs:
    t = json.load(open(f"{out}/{arch}/results.json"))
    embed = json.load(open(f"{out}/embed-{arch}.json"))
    print(f"| {arch} | none (unmarked) | | {embed['test_accuracy_before']:.4f} | | |")
    for r in t["rows"]:
        stem = f"{out}/{arch}/points/{r['point']:03d}"
        print(f"| {arch} | {r['panel']} | {r['setting']} | {r['test_accuracy']:.4f} | "
              f"{cell(load(stem + '.fixed.json'))} | {cell(load(stem + '.realigned.json'))} |")
PY
for arch in $ARCHS; do
  echo "unrelated models against the $arch key:"
  scripts/false-claims.sh "$OUT/$arch-wb.key" "${UNMARKED:-runs/unmarked}" | tee "$OUT/false-claims-$arch.txt"
done
