#!/usr/bin/env bash
# Every part on one model, against every attack at several seeds: marks an unmarked pipeline
# model with the shipped robust configs (128-bit noise-aware white-box mark, black-box keys,
# keyed regions trained into the weights, and the guard for serving), then attacks the
# file (weight shifting, FTAL with Adam and with SGD, overwriting, obfuscation at each SEED;
# pruning and quantisation, which draw nothing) and the served model (hard-label extraction at
# each SEED, by the same and by the other architecture, distillation, input filters), and
# verifies every result with the owner's key; then
# checks models that never saw the owner's (the pipeline's independently trained integrity
# models, students of each unmarked pipeline model at each SEED) against the same key.
# Prints one line per model; OUT/summary.txt holds them all, and
# `scripts/verdicts.py OUT` tabulates them.
# Usage: scripts/every-part-targets.sh RUN ARCH [OUT]   (RUN: a pipeline folder holding the
#   unmarked ARCH.pt, data.json and integrity/*-s*.pt, e.g. from
#   `make -f scripts/experiments.mk PROFILE=full`; default OUT runs/every-part-ARCH)
# The MLP takes 20 minutes (AVX-512 cores) to 2 hours on 2 cores, the CNN several times that;
# every step is skipped when its output exists.
# Settings: SEEDS (default "7 8 9 10 11"), PARTS (default "build file served claims"), BIN (tools),
#   FAMILIES (only these attack families, e.g. "shift extract"; default all of them),
#   THREADS (default 2; 1 for two runs side by side: the models differ from 2 threads' bytes),
#   SERVE (guard: the thief queries served.pt, behind the guard; file: the trained file owner.pt
#   served as it is, its results named file-*).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=$1 ARCH=$2 OUT=${3:-runs/every-part-$2}
SEEDS=${SEEDS:-7 8 9 10 11} PARTS=${PARTS:-build file served claims} B=${BIN:-build/bin}
SERVE=${SERVE:-guard} THREADS=${THREADS:-2}
DATA=$(cat "$RUN/data.json")
mkdir -p "$OUT"
py=/usr/bin/python3
with_data() {  # CONFIG OUT: the config with the run's data, THREADS and no overhead timing
  $py - "$1" "$2" "$DATA" "$THREADS" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["data"] = json.loads(sys.argv[3])
c["threads"] = int(sys.argv[4])
if "measure_overhead" in c: c["measure_overhead"] = False
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
}

build() {  # the owner's model: white-box, black-box, regions trained in, guard
  for c in keys-whitebox-robust embed-whitebox-noise-aware keys-blackbox embed-blackbox \
           keys-regions embed-regions-trained embed-regions; do
    with_data "configs/$c.json" "$OUT/$c.json"
  done
  local o=$OUT
  [ -f $o/draft.key ] || $B/ds-gen-keys --config $o/keys-whitebox-robust.json --model "$RUN/$ARCH.pt" --out $o/draft.key -q
  [ -f $o/wb.pt ] || $B/ds-embed-wm --config $o/embed-whitebox-noise-aware.json --model "$RUN/$ARCH.pt" \
    --keys $o/draft.key --out $o/wb.pt --keys-out $o/wb.key --report $o/embed-wb.json -q
  [ -f $o/both.cand ] || $B/ds-gen-keys --config $o/keys-blackbox.json --model $o/wb.pt --keys $o/wb.key --out $o/both.cand -q
  [ -f $o/both.pt ] || $B/ds-embed-wm --config $o/embed-blackbox.json --model $o/wb.pt --keys $o/both.cand \
    --out $o/both.pt --keys-out $o/both.key --report $o/embed-bb.json -q
  [ -f $o/owner.key ] || $B/ds-gen-keys --config $o/keys-regions.json --model $o/both.pt --keys $o/both.key --out $o/owner.key -q
  # The same regions, verified on held-out test inputs: what a student generalised beyond the
  # queries it made (a thief whose own data is not the owner's).
  $py -c "import json,sys; c=json.load(open(sys.argv[1])); c['regions']['verify_from']='test'; json.dump(c, open(sys.argv[2],'w'))" \
    $o/keys-regions.json $o/keys-regions-heldout.json
  [ -f $o/owner-heldout.key ] || $B/ds-gen-keys --config $o/keys-regions-heldout.json --model $o/both.pt \
    --keys $o/both.key --out $o/owner-heldout.key -q
  [ -f $o/owner.pt ] || $B/ds-embed-wm --config $o/embed-regions-trained.json --model $o/both.pt \
    --keys $o/owner.key --out $o/owner.pt --report $o/embed-trained.json -q
  [ -f $o/served.pt ] || $B/ds-embed-wm --config $o/embed-regions.json --model $o/owner.pt \
    --keys $o/owner.key --out $o/served.pt --report $o/guard.json -q
  $B/ds-verify --keys $o/owner.key --model $o/owner.pt --report $o/verify-owner.json -q || true
  line owner
  $py -c "import json,sys; a=[json.load(open(p)) for p in sys.argv[1:]]; print('accuracy: unmarked %.4f, file %.4f, served (guard) %.4f' % (a[0]['test_accuracy_before'], a[1]['test_accuracy'], a[2]['test_accuracy']))" \
    $o/embed-wb.json $o/embed-trained.json $o/guard.json | tee -a $o/summary.txt
}

line() {  # NAME: the model's accuracy and each part's evidence, on stdout and in OUT/summary.txt
  $py scripts/verdicts.py "$OUT" "$1" | tee -a "$OUT/summary.txt"
}

attack_config() {  # SEED JSON-FIELDS: an attack config on the run's data, half of it the thief's
  echo "{\"data\": $DATA, \"seed\": $1, \"threads\": $THREADS, \"attacker_fraction\": 0.5, $2}"
}

run_attack() {  # NAME MODEL SEED JSON-FIELDS: the attack, then ds-verify on its output
  attack_config "$3" "$4" >"$OUT/$1.json"
  [ -f "$OUT/$1.pt" ] || $B/ds-attack --config "$OUT/$1.json" --model "$2" --keys "$OUT/owner.key" \
    --out "$OUT/$1.pt" --report "$OUT/attack-$1.json" -q
  $B/ds-verify --keys "$OUT/owner.key" --model "$OUT/$1.pt" --report "$OUT/verify-$1.json" -q || true
}
attack() { run_attack "$@"; line "$1"; }

want() { [ -z "${FAMILIES:-}" ] || [[ " $FAMILIES " == *" $1 "* ]]; }  # FAMILY: is it to run?

heldout() {  # NAME: the regions part read on held-out test inputs
  $B/ds-verify --keys "$OUT/owner-heldout.key" --model "$OUT/$1.pt" --report "$OUT/heldout-$1.json" -q || true
}

file_attacks() {  # a thief who holds the file
  local m=$OUT/owner.pt s
  # One family at every seed before the next, so that a run cut short leaves whole families.
  want shift && for s in $SEEDS; do attack shift-s$s $m $s '"attack": "weight_shift"'; done
  want ftal-adam && for s in $SEEDS; do
    attack ftal-adam-s$s $m $s '"attack": "finetune", "mode": "ftal", "optimizer": {"name": "adam"}, "lr": 0.001, "epochs": 10'
  done
  want ftal-sgd && for s in $SEEDS; do
    attack ftal-sgd-s$s $m $s '"attack": "finetune", "mode": "ftal", "lr": 0.01, "epochs": 10'
  done
  want overwrite && for s in $SEEDS; do
    attack overwrite-s$s $m $s '"attack": "overwrite", "marks": "whitebox", "epochs": 5'
  done
  want obfuscate && for s in $SEEDS; do
    attack obfuscate-s$s $m $s '"attack": "obfuscate", "dummy_fraction": 0.5, "low": 0.2, "high": 5.0'
  done
  want prune && for r in 0.5 0.6 0.7 0.8 0.9; do attack prune-$r $m 7 "\"attack\": \"prune\", \"rate\": $r"; done
  want quant && for b in 8 4; do attack quant-$b $m 7 "\"attack\": \"quantize\", \"bits\": $b"; done
  return 0
}

served_attacks() {  # a thief who only queries the served model
  local m=$OUT/served.pt x=
  case $SERVE in
    guard) ;;
    file) m=$OUT/owner.pt x=file- ;;
    *) echo "every-part-targets: SERVE is guard or file, not '$SERVE'" >&2; exit 2 ;;
  esac
  local student='"optimizer": {"name": "adam", "lr": 0.001, "schedule": "cosine"}, "epochs": 20'
  want extract && for s in $SEEDS; do
    run_attack ${x}extract-s$s $m $s "\"attack\": \"extract\", $student"
    heldout ${x}extract-s$s
    line ${x}extract-s$s
  done
  # Students of the other architecture (the pipeline's MLP for a CNN teacher, and back).
  if want extract-cross; then
    local other=mlp spec; [ "$ARCH" = mlp ] && other=cnn
    spec=$($py -c "import json,sys; print(json.dumps(json.load(open(sys.argv[1]))['model']))" \
      "$RUN/cfg/train-$other.json")
    for s in $SEEDS; do
      attack ${x}extract-$other-s$s $m $s "\"attack\": \"extract\", \"student\": $spec, $student"
    done
  fi
  want distill && attack ${x}distill-t4 $m 7 '"attack": "distill", "attacker_fraction": 1.0, "temperature": 4, "epochs": 10'
  want filters || return 0
  attack ${x}gaussian-0.5 $m 7 '"attack": "preprocess", "filter": "gaussian", "sigma": 0.5'
  attack ${x}gaussian-0.7 $m 7 '"attack": "preprocess", "filter": "gaussian", "sigma": 0.7'
  attack ${x}jpeg-50 $m 7 '"attack": "preprocess", "filter": "jpeg", "quality": 50'
  attack ${x}bits-3 $m 7 '"attack": "preprocess", "filter": "bits", "bits": 3'
  attack ${x}noise-0.05 $m 7 '"attack": "preprocess", "filter": "noise", "scale": 0.05'
}

claims() {  # models that never saw the owner's: independent ones, students of unmarked ones
  local student='"optimizer": {"name": "adam", "lr": 0.001, "schedule": "cosine"}, "epochs": 20'
  for m in "$RUN"/integrity/*-s*.pt; do
    local n; n=independent-$(basename "$m" .pt)
    $B/ds-verify --keys "$OUT/owner.key" --model "$m" --report "$OUT/verify-$n.json" -q || true
    line "$n"
  done
  # Students of every unmarked pipeline model, kept in RUN/students: they depend on the teacher
  # and the seed, not on the owner's key, so every key is checked against the same ones.
  mkdir -p "$RUN/students"
  local t s st
  for t in mlp cnn; do
    [ -f "$RUN/$t.pt" ] || continue
    for s in $SEEDS; do
      st=$RUN/students/$t-extract-s$s
      if [ ! -f "$st.pt" ]; then  # a kept student keeps the config it was made with
        attack_config "$s" "\"attack\": \"extract\", $student" >"$st.json"
        $B/ds-attack --config "$st.json" --model "$RUN/$t.pt" --out "$st.pt" --report "$st-attack.json" -q
      fi
      cp "$st-attack.json" "$OUT/attack-unmarked-$t-extract-s$s.json"
      $B/ds-verify --keys "$OUT/owner.key" --model "$st.pt" \
        --report "$OUT/verify-unmarked-$t-extract-s$s.json" -q || true
      line "unmarked-$t-extract-s$s"
    done
  done
}

for p in $PARTS; do
  case $p in
    build) build ;;
    file) file_attacks ;;
    served) served_attacks ;;
    claims) claims ;;
    *) echo "every-part-targets: unknown part '$p' (build, file, served, claims)" >&2; exit 2 ;;
  esac
done
