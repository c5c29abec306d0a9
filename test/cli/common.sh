# Shared helpers for the command-line tests: run a tool, check exit status and messages.
# Usage from a test script: source common.sh; BIN and SRC come from ctest's arguments.
set -uo pipefail
BIN=$1
SRC=$2
CASE=$3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PY=/usr/bin/python3
FMNIST=/usr/share/datasets/fashion-mnist

fail() { echo "FAIL [$CASE]: $*" >&2; exit 1; }

# expect_exit CODE CMD...: runs CMD, stderr into $T/err, fails unless it exits with CODE.
expect_exit() {
  local want=$1; shift
  "$@" >"$T/out" 2>"$T/err"
  local got=$?
  [ "$got" -eq "$want" ] || { cat "$T/err" >&2; fail "exit $got, expected $want: $*"; }
}

# expect_error_line NEEDLE: the last stderr line is an error mentioning NEEDLE.
expect_error_line() {
  local line
  line=$(tail -n 1 "$T/err")
  [[ "$line" == *"error"* && "$line" == *"$1"* ]] || fail "stderr lacks '$1': $line"
}

expect_no_file() { [ ! -e "$1" ] || fail "unexpected output file $1"; }

json_get() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

# Small-data configs shared by the watermark cases: a 10% Fashion-MNIST subset, an MLP trained
# for 3 epochs, and a 32-bit white-box key and embedding that converge on it in seconds.
write_small_watermark_configs() {
  DATA='{"format": "idx", "path": "'$FMNIST'", "train_fraction": 0.1, "test_fraction": 0.2}'
  cat >"$T/train.json" <<JSON
{"model": {"arch": "mlp", "hidden": [128, 64]}, "data": $DATA,
 "optimizer": {"name": "adam", "lr": 0.002}, "epochs": 3, "batch_size": 64, "seed": 1}
JSON
  cat >"$T/keys-wb.json" <<JSON
{"kind": "whitebox", "seed": 11, "data": $DATA,
 "whitebox": {"carriers": [0], "bits": 32, "message": "ctest owner", "trigger_fraction": 0.05}}
JSON
  cat >"$T/embed-wb.json" <<JSON
{"data": $DATA, "optimizer": {"name": "adam", "lr": 0.001}, "max_epochs": 15, "batch_size": 64,
 "accuracy_budget": 0.02, "measure_overhead": false, "seed": 1}
JSON
}
