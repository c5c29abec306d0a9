#!/usr/bin/env bash
# ctest case for atomic outputs: ds-train killed (SIGKILL) at spread moments of its run, the
# model and report write included, leaves either complete outputs or none, never a partial or
# temporary file, and never touches its inputs.
source "$(dirname "$0")/common.sh"

case "$CASE" in
  killed_mid_run)
    cat >"$T/train.json" <<JSON
{"model": {"arch": "mlp", "hidden": [256, 256]}, "data": $(fmnist_data 0.02 0.02), "epochs": 1, "seed": 1}
JSON
    cp "$T/train.json" "$T/train.orig"
    # How long a whole run takes here, to spread the kills over it.
    t0=$(date +%s%N)
    expect_exit 0 "$BIN/ds-train" -q --config "$T/train.json" --out "$T/ref.pt" --report "$T/ref.json"
    run_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    complete=0 none=0
    for i in $(seq 0 19); do
      mkdir -p "$T/out$i"
      "$BIN/ds-train" -q --config "$T/train.json" --out "$T/out$i/m.pt" --report "$T/out$i/r.json" &
      pid=$!
      sleep "$(awk "BEGIN { print $run_ms * (0.5 + 0.03 * $i) / 1000 }")"
      kill -9 $pid 2>/dev/null
      wait $pid 2>/dev/null
      left=$(ls -A "$T/out$i")
      case "$left" in
        "") none=$((none + 1)) ;;
        "m.pt"|$'m.pt\nr.json')
          $PY -c "import sys, torch; torch.jit.load(sys.argv[1])" "$T/out$i/m.pt" \
            || fail "kill $i left an unreadable model"
          complete=$((complete + 1)) ;;
        *) fail "kill $i left partial or temporary files: $left" ;;
      esac
    done
    echo "20 kills: $none left nothing, $complete left a complete model" >&2
    cmp -s "$T/train.json" "$T/train.orig" || fail "input config modified"
    ;;
  *) fail "unknown case" ;;
esac
