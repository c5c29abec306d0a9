#!/usr/bin/env bash
# ctest cases for data-parallel runs: 2 local ranks give the model 1 process gives (same global
# batch, seed and data order) up to float summation order, for training and for white-box
# embedding (which then verifies the same); a killed rank ends the run with no outputs; bad
# flags are refused.
source "$(dirname "$0")/common.sh"

# Training on the shared small subset ($DATA, common.sh) with no dropout, no batch norm: the only
# difference left between 1 and 2 ranks is summation order.
# (SGD: Adam divides by the gradients' running RMS, which turns float noise on near-zero
# gradients into full-size steps; measured 1.1e-5 after this epoch with Adam, 1.8e-7 with SGD.)
write_train_config() {
  cat >"$T/train.json" <<JSON
{"model": {"arch": "mlp", "hidden": [128, 64], "dropout": 0.0}, "data": $DATA,
 "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}, "epochs": 1, "batch_size": 64, "seed": 5}
JSON
}
write_train_config
PORT=$((20000 + RANDOM % 20000))

# two_ranks OUT_PREFIX TOOL ARGS...: rank 0 and rank 1 of TOOL; fails unless both exit 0.
two_ranks() {
  local tool=$1; shift
  "$BIN/$tool" "$@" --world-size 2 --rank 1 --master 127.0.0.1:$PORT >"$T/rank1.log" 2>&1 &
  local r1=$!
  "$BIN/$tool" "$@" --world-size 2 --rank 0 --master 127.0.0.1:$PORT >"$T/rank0.log" 2>&1
  local s0=$?
  wait $r1
  local s1=$?
  [ $s0 -eq 0 ] && [ $s1 -eq 0 ] || { cat "$T/rank0.log" "$T/rank1.log" >&2; fail "$tool ranks exited $s0, $s1"; }
  PORT=$((PORT + 1))
}

max_diff() {
  $PY - "$1" "$2" <<'PYEOF'
import sys, torch
a = dict(torch.jit.load(sys.argv[1]).named_parameters())
b = dict(torch.jit.load(sys.argv[2]).named_parameters())
assert list(a) == list(b)
print(max((a[k] - b[k]).abs().max().item() for k in a))
PYEOF
}

case "$CASE" in
  train_two_ranks_match_one)
    expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/one.pt" --report "$T/one.json"
    two_ranks ds-train --config "$T/train.json" --out "$T/two.pt" --report "$T/two.json"
    d=$(max_diff "$T/one.pt" "$T/two.pt")
    echo "max abs parameter difference, 1 vs 2 ranks: $d" >&2
    $PY -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1e-5 else 1)" "$d" || fail "1 vs 2 ranks differ by $d"
    $PY -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)" "$d" || true  # may be exactly equal
    [ "$(json_get "$T/two.json" "['epochs'][0]['communication_share'] > 0")" = True ] || fail "no communication share"
    [ "$(json_get "$T/one.json" "['test_accuracy']")" = "$(json_get "$T/two.json" "['test_accuracy']")" ] \
      || fail "test accuracy differs"
    ;;
  train_two_ranks_stream_half)
    # Streamed, each rank reads only its half of every global batch (and half the statistics
    # pass), and the model still matches one process reading the data into memory.
    mkdir -p "$T/fm"
    for f in "$FMNIST"/*.gz; do gunzip -c "$f" >"$T/fm/$(basename "${f%.gz}")"; done
    sed "s|\"path\": \"$FMNIST\"|\"path\": \"$T/fm\", \"stream\": true|" "$T/train.json" >"$T/stream.json"
    grep -q '"stream": true' "$T/stream.json" || fail "stream config not written"
    expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/one.pt" --report "$T/one.json"
    two_ranks ds-train --config "$T/stream.json" --out "$T/two.pt" --report "$T/two.json"
    d=$(max_diff "$T/one.pt" "$T/two.pt")
    echo "max abs parameter difference, 1 in memory vs 2 streamed ranks: $d" >&2
    $PY -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1e-5 else 1)" "$d" || fail "differ by $d"
    n=$(json_get "$T/two.json" "['train_samples']")
    [ "$(json_get "$T/two.json" "['epochs'][0]['samples_loaded']")" = "$((n / 2))" ] \
      || fail "rank 0 loaded $(json_get "$T/two.json" "['epochs'][0]['samples_loaded']") of $n samples"
    ;;
  embed_two_ranks_verify)
    write_small_watermark_configs
    write_train_config  # without dropout, unlike the shared small configs
    expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/m.pt"
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/m.pt" --out "$T/k.key"
    $PY "$SRC/scripts/derive-config.py" "$T/embed-wb.json" "$T/e.json" max_epochs=2 accuracy_budget=1
    expect_exit 0 "$BIN/ds-embed-wm" --config "$T/e.json" --model "$T/m.pt" --keys "$T/k.key" --out "$T/one.pt"
    two_ranks ds-embed-wm --config "$T/e.json" --model "$T/m.pt" --keys "$T/k.key" --out "$T/two.pt" --report "$T/two.json"
    d=$(max_diff "$T/one.pt" "$T/two.pt")
    echo "max abs parameter difference, 1 vs 2 ranks: $d" >&2
    $PY -c "import sys; sys.exit(0 if float(sys.argv[1]) < 1e-4 else 1)" "$d" || fail "1 vs 2 ranks differ by $d"
    expect_exit 0 "$BIN/ds-verify" --model "$T/two.pt" --keys "$T/k.key" --report "$T/v2.json"
    expect_exit 0 "$BIN/ds-verify" --model "$T/one.pt" --keys "$T/k.key" --report "$T/v1.json"
    [ "$(json_get "$T/v1.json" "['whitebox']['extracted_bits']")" = "$(json_get "$T/v2.json" "['whitebox']['extracted_bits']")" ] \
      || fail "extracted bits differ"
    ;;
  killed_rank_ends_run)
    sed 's/"epochs": 1/"epochs": 200/' "$T/train.json" >"$T/long.json"
    "$BIN/ds-train" --config "$T/long.json" --out "$T/k.pt" --report "$T/k.json" \
      --world-size 2 --rank 0 --master 127.0.0.1:$PORT >"$T/rank0.log" 2>&1 &
    r0=$!
    "$BIN/ds-train" --config "$T/long.json" --out "$T/k.pt" \
      --world-size 2 --rank 1 --master 127.0.0.1:$PORT >"$T/rank1.log" 2>&1 &
    r1=$!
    for _ in $(seq 600); do grep -q "joined" "$T/rank0.log" && break; sleep 0.1; done
    sleep 2
    kill -9 $r1
    start=$(date +%s%N)
    # A hang guard, not a timing assertion: rank 0 must notice and exit on its own.
    for _ in $(seq 1200); do kill -0 $r0 2>/dev/null || break; sleep 0.1; done
    kill -0 $r0 2>/dev/null && { kill -9 $r0; fail "rank 0 still running 120 s after rank 1 was killed"; }
    wait $r0
    s0=$?
    echo "rank 0 exited $s0, $(( ($(date +%s%N) - start) / 1000000 )) ms after rank 1 was killed" >&2
    [ $s0 -ne 0 ] || fail "rank 0 exited 0 after losing rank 1"
    grep -q "error" "$T/rank0.log" || fail "rank 0 gave no error: $(tail -n 2 "$T/rank0.log")"
    expect_no_file "$T/k.pt"
    expect_no_file "$T/k.json"
    ls "$T" | grep -q "k.pt\|k.json" && fail "partial output left: $(ls "$T")"
    # The launcher stops the others when one rank fails.
    "$SRC/scripts/launch.sh" -n 2 -p $((PORT + 7)) "$BIN/ds-train" --config "$T/long.json" --out "$T/l.pt" >"$T/launch.log" 2>&1 &
    launcher=$!
    for _ in $(seq 600); do pgrep -f "$T/long.json --out $T/l.pt" >/dev/null && break; sleep 0.1; done
    sleep 3
    victim=$(pgrep -f "$T/long.json --out $T/l.pt" | tail -n 1)
    [ -n "$victim" ] && kill -9 "$victim"
    for _ in $(seq 1200); do kill -0 $launcher 2>/dev/null || break; sleep 0.1; done
    kill -0 $launcher 2>/dev/null && fail "launcher still running after a rank was killed"
    wait $launcher
    [ $? -ne 0 ] || fail "launcher exited 0 after a rank was killed"
    pgrep -f "$T/long.json" >/dev/null && fail "ranks left running"
    expect_no_file "$T/l.pt"
    ;;
  bad_flags)
    expect_exit 2 "$BIN/ds-train" --config "$T/train.json" --out "$T/x.pt" --world-size 2 --rank 2
    expect_error_line "rank 2"
    expect_exit 2 "$BIN/ds-train" --config "$T/train.json" --out "$T/x.pt" --device cuda
    expect_error_line "cuda"
    expect_exit 2 env WORLD_SIZE=two "$BIN/ds-train" --config "$T/train.json" --out "$T/x.pt"
    expect_error_line "WORLD_SIZE"
    expect_exit 2 "$BIN/ds-attack" --config "$SRC/configs/sweep-quick.json" --model "$T/x.pt" \
      --out-dir "$T/sw" --world-size 2
    expect_error_line "sweeps"
    expect_no_file "$T/x.pt"
    ;;
  *) fail "unknown case" ;;
esac
