#!/usr/bin/env bash
# ctest cases for the keyed-region mark on a small Fashion-MNIST subset: key, guard, verification
# from the model and from a predictions file, a student extracted from the guarded model, and bad
# inputs.
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
    "$BIN/ds-verify" --model "$T/stolen.pt" --keys "$T/owner.key" --report "$T/s.json" >/dev/null 2>&1
    "$BIN/ds-verify" --model "$T/innocent.pt" --keys "$T/owner.key" --report "$T/i.json" >/dev/null 2>&1
    stolen=$(json_get "$T/s.json" "['regions']['log10_p_value']")
    innocent=$(json_get "$T/i.json" "['regions']['log10_p_value']")
    echo "regions log10 p: stolen $stolen, innocent $innocent"
    $PY -c "import sys; s, i = map(float, sys.argv[1:]); sys.exit(not (s < -4 and i > -2))" "$stolen" "$innocent" ||
      fail "extraction: stolen log10 p $stolen, innocent $innocent"
    ;;
  bad_inputs)
    guard_base
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
  *) fail "unknown case $CASE" ;;
esac
