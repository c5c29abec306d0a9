#!/usr/bin/env bash
# ctest cases for the keyed-region mark on a small Fashion-MNIST subset: key, guard, verification
# from the model and from a predictions file, a student extracted from the guarded model, the
# regions trained into the weights and surviving weight shifting, and bad inputs.
source "$(dirname "$0")/common.sh"

write_small_watermark_configs
cat >"$T/keys-rg.json" <<JSON
{"kind": "regions", "seed": 5, "data": $DATA,
 "regions": {"regions": 10, "fraction": 0.05, "per_region": 8}}
JSON
echo "{\"kind\": \"regions\", \"data\": $DATA}" >"$T/embed-rg.json"

# guard_base: the small base model, a keyed-region key for it, and the guarded model.
guard_base() {
  expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/base.pt"
  expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-rg.json" --model "$T/base.pt" --out "$T/owner.key"
  expect_exit 0 "$BIN/ds-embed-wm" --config "$T/embed-rg.json" --model "$T/base.pt" --keys "$T/owner.key" \
    --out "$T/served.pt" --report "$T/guard.json"
}

# expect_regions_evidence WHAT MARKED PLAIN: the regions prove MARKED (log10 p < -4) and not
# PLAIN (> -2), the same attack having made both.
expect_regions_evidence() {
  local m
  for m in "$2" "$3"; do
    "$BIN/ds-verify" --model "$T/$m.pt" --keys "$T/owner.key" --report "$T/v-$m.json" >/dev/null 2>&1
  done
  local marked plain
  marked=$(json_get "$T/v-$2.json" "['regions']['log10_p_value']")
  plain=$(json_get "$T/v-$3.json" "['regions']['log10_p_value']")
  echo "regions log10 p after $1: $2 $marked, $3 $plain"
  $PY -c "import sys; m, p = map(float, sys.argv[1:]); sys.exit(not (m < -4 and p > -2))" "$marked" "$plain" ||
    fail "$1: $2 log10 p $marked, $3 $plain"
}

case "$CASE" in
  end_to_end)
    guard_base
    before=$(json_get "$T/guard.json" "['test_accuracy_before']")
    after=$(json_get "$T/guard.json" "['test_accuracy']")
    $PY -c "import sys; b, a = map(float, sys.argv[1:]); sys.exit(not (0 < b - a < 0.08))" "$before" "$after" ||
      fail "guard cost $before -> $after"
    expect_exit 0 "$BIN/ds-verify" --model "$T/served.pt" --keys "$T/owner.key" --report "$T/v.json"
    [ "$(json_get "$T/v.json" "['regions']['matches'] == $(json_get "$T/v.json" "['regions']['queries']")")" = True ] ||
      fail "the guard misses region targets"
    expect_exit 1 "$BIN/ds-verify" --model "$T/base.pt" --keys "$T/owner.key" --report "$T/u.json"
    # Query-only: the region inputs are exported and answered as through an API.
    expect_exit 0 "$BIN/ds-verify" --keys "$T/owner.key" --export-queries "$T/q"
    for m in served base; do answer_queries "$T/$m.pt" "$T/q/queries.pt" "$T/$m-labels.json"; done
    expect_exit 0 "$BIN/ds-verify" --keys "$T/owner.key" --predictions "$T/served-labels.json"
    expect_exit 1 "$BIN/ds-verify" --keys "$T/owner.key" --predictions "$T/base-labels.json"
    ;;
  extraction)
    # A student trained only on the guarded model's top-1 answers carries the regions' targets;
    # a student of the unguarded model does not.
    guard_base
    echo "{\"attack\": \"extract\", \"data\": $DATA, \"attacker_fraction\": 1.0, \"epochs\": 15, \"seed\": 3}" >"$T/x.json"
    expect_exit 0 "$BIN/ds-attack" --config "$T/x.json" --model "$T/served.pt" --out "$T/stolen.pt" \
      --keys "$T/owner.key" --report "$T/x.report.json"
    [ "$(json_get "$T/x.report.json" "['details']['queries']")" = "6000" ] || fail "queries not reported"
    expect_exit 0 "$BIN/ds-attack" --config "$T/x.json" --model "$T/base.pt" --out "$T/innocent.pt"
    expect_regions_evidence extraction stolen innocent
    ;;
  trained_in)
    # The regions trained into the weights prove ownership of the file without the guard, and
    # survive weight shifting, whose fine-tuning on the model's own answers teaches them again.
    guard_base
    cat >"$T/embed-train.json" <<JSON
{"kind": "regions", "data": $DATA, "guard": false,
 "train": {"labels": "hard", "epochs": 10, "region_repeats": 10, "near_misses": 3,
           "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9, "nesterov": true}}}
JSON
    expect_exit 0 "$BIN/ds-embed-wm" --config "$T/embed-train.json" --model "$T/base.pt" \
      --keys "$T/owner.key" --out "$T/trained.pt" --report "$T/train.json"
    agreement=$(json_get "$T/train.json" "['train']['region_agreement']")
    $PY -c "import sys; sys.exit(not float(sys.argv[1]) >= 0.8)" "$agreement" ||
      fail "regions trained in: agreement $agreement"
    [ "$(json_get "$T/train.json" "['guard']")" = False ] || fail "guard reported"
    expect_exit 0 "$BIN/ds-verify" --model "$T/trained.pt" --keys "$T/owner.key"
    echo "{\"attack\": \"weight_shift\", \"data\": $DATA, \"attacker_fraction\": 1.0, \"epochs\": 5, \"seed\": 3}" >"$T/ws.json"
    for m in trained base; do
      expect_exit 0 "$BIN/ds-attack" --config "$T/ws.json" --model "$T/$m.pt" --out "$T/ws-$m.pt"
    done
    expect_regions_evidence "weight shifting" ws-trained ws-base
    ;;
  bad_inputs)
    guard_base
    echo "{\"kind\": \"regions\", \"data\": $DATA, \"guard\": false}" >"$T/nothing.json"
    expect_exit 2 "$BIN/ds-embed-wm" --config "$T/nothing.json" --model "$T/base.pt" --keys "$T/owner.key" \
      --out "$T/x.pt"
    expect_error_line "nothing.json: field 'guard' can be false only with a 'train' object"
    expect_no_file "$T/x.pt"
    expect_exit 2 "$BIN/ds-embed-wm" --config "$T/embed-rg.json" --model "$T/served.pt" --keys "$T/owner.key" \
      --out "$T/twice.pt"
    expect_error_line "served.pt: model is already guarded"
    expect_no_file "$T/twice.pt"
    expect_exit 2 "$BIN/ds-gen-keys" --config "$T/keys-rg.json" --model "$T/base.pt" --keys "$T/owner.key" \
      --out "$T/again.key"
    expect_error_line "owner.key: key already has a regions part"
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/base.pt" --out "$T/wb.key"
    expect_exit 2 "$BIN/ds-embed-wm" --config "$T/embed-rg.json" --model "$T/base.pt" --keys "$T/wb.key" \
      --out "$T/x.pt"
    expect_error_line "wb.key: key has no keyed-region part"
    sed 's/"fraction": 0.05/"fraction": "many"/' "$T/keys-rg.json" >"$T/bad.json"
    expect_exit 2 "$BIN/ds-gen-keys" --config "$T/bad.json" --model "$T/base.pt" --out "$T/bad.key"
    expect_error_line "regions.fraction"
    expect_no_file "$T/bad.key"
    expect_exit 2 "$BIN/ds-embed-wm" --config "$T/embed-rg.json" --model "$T/base.pt" --keys "$T/owner.key" \
      --out "$T/x.pt" --keys-out "$T/k2.key"
    expect_error_line "keyed regions change no key: drop --keys-out"
    ;;
  parts)
    # --parts checks only the named parts, and the verdict combines theirs alone: one part's
    # p-value is its own; two parts give twice the smaller of the strongest part times 2 and
    # Fisher's combination (e^-x (1 + x), x = -ln(p1 p2)).
    guard_base
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/base.pt" --out "$T/wb.key"
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-rg.json" --model "$T/base.pt" --keys "$T/wb.key" \
      --out "$T/both.key"
    expect_exit 0 "$BIN/ds-verify" --model "$T/served.pt" --keys "$T/both.key" --report "$T/all.json"
    expect_exit 0 "$BIN/ds-verify" --model "$T/served.pt" --keys "$T/both.key" --parts regions \
      --report "$T/rg.json"
    [ "$(json_get "$T/all.json" "['parts_checked']")" = 2 ] || fail "every part: $(json_get "$T/all.json" "['parts_checked']")"
    $PY -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r['parts_checked'] == 1 and
      'whitebox' not in r and r['inputs']['parts'] == ['regions']))" "$T/rg.json" ||
      fail "--parts regions checked $(json_get "$T/rg.json" "['parts_checked']") parts"
    $PY - "$T/all.json" "$T/rg.json" <<'PY' || fail "the verdict does not follow the combination rule"
import json, math, sys
a, r = (json.load(open(p)) for p in sys.argv[1:])
l = [a["whitebox"]["log10_p_value"], a["regions"]["log10_p_value"]]
x = -sum(l) * math.log(10)
fisher = min(0.0, (-x + math.log1p(x)) / math.log(10))
strongest = min(0.0, min(l) + math.log10(2))
expected = min(0.0, min(strongest, fisher) + math.log10(2))
ok = abs(a["log10_p_value"] - expected) < 1e-9 and a["combination"]["tests"] == 2
ok &= abs(r["log10_p_value"] - r["regions"]["log10_p_value"]) < 1e-12
sys.exit(not ok)
PY
    expect_exit 0 "$BIN/ds-verify" --keys "$T/both.key" --parts regions --export-queries "$T/q"
    answer_queries "$T/served.pt" "$T/q/queries.pt" "$T/served-labels.json"
    expect_exit 0 "$BIN/ds-verify" --keys "$T/both.key" --parts regions --predictions "$T/served-labels.json"
    expect_exit 2 "$BIN/ds-verify" --model "$T/served.pt" --keys "$T/owner.key" --parts blackbox
    expect_error_line "owner.key: key has no blackbox part (--parts)"
    expect_exit 2 "$BIN/ds-verify" --model "$T/served.pt" --keys "$T/owner.key" --parts everything
    expect_error_line "--parts"
    ;;
  *) fail "unknown case $CASE" ;;
esac
