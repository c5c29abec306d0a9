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

# answer_queries MODEL QUERIES OUT [list|object]: labels MODEL gives the exported QUERIES, as a
# remote API would answer them, written to OUT as a JSON list or as {"labels": [...]}.
answer_queries() {
  $PY - "$1" "$2" "$3" "${4:-list}" <<'PYEOF' || fail "python query"
import json, sys, torch
model = torch.jit.load(sys.argv[1]).eval()
with torch.no_grad():
    labels = model(torch.load(sys.argv[2])["x"]).argmax(1).tolist()
json.dump({"labels": labels} if sys.argv[4] == "object" else labels, open(sys.argv[3], "w"))
PYEOF
}

json_get() { $PY -c "import json,sys; print(json.load(open(sys.argv[1]))$2)" "$1"; }

# fmnist_data [TRAIN_FRACTION [TEST_FRACTION]]: prints the data JSON for Fashion-MNIST, or for
# the given fractions of its training and test sets.
fmnist_data() {
  printf '{"format": "idx", "path": "%s"' "$FMNIST"
  [ $# -ge 1 ] && printf ', "train_fraction": %s' "$1"
  [ $# -ge 2 ] && printf ', "test_fraction": %s' "$2"
  printf '}'
}

# The small data the watermark cases use: 10% of the training set, 20% of the test set.
DATA=$(fmnist_data 0.1 0.2)

# Small-data configs shared by the watermark cases: an MLP trained for 3 epochs, a 32-bit
# white-box key and embedding, and a 16-query black-box key and embedding, all of which
# converge on $DATA in seconds.
write_small_watermark_configs() {
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
  cat >"$T/keys-bb.json" <<JSON
{"kind": "blackbox", "seed": 5, "blackbox": {"keys": 16, "candidate_factor": 20}}
JSON
  cat >"$T/embed-bb.json" <<JSON
{"kind": "blackbox", "data": $DATA, "optimizer": {"name": "sgd", "lr": 0.002, "momentum": 0.9, "nesterov": true},
 "epochs_per_round": 2, "max_rounds": 4, "candidate_repeats": 16, "seed": 1}
JSON
}

# make_marked [SIGNER]: with the configs above, trains the small MLP ($T/base.pt), makes its
# white-box key ($T/draft.key) and embeds it ($T/marked.pt, $T/owner.key), with the reports
# $T/keys.report.json and $T/embed.report.json. With SIGNER (an owner secret from
# ds-gen-keys --init-owner) both keys are signed and committed to in $T/draft.commit.json and
# $T/commit.json.
make_marked() { mark_small_model wb "$T/draft.key" ${1:+"$1" "$T/draft.commit.json"}; }

# make_marked_blackbox [SIGNER]: the same with the black-box configs: the candidates are
# $T/cand.key, signed by SIGNER if given but not committed to.
make_marked_blackbox() { mark_small_model bb "$T/cand.key" "$@"; }

# mark_small_model wb|bb DRAFT [SIGNER [DRAFT_COMMITMENT]]: the steps of the two above.
mark_small_model() {
  local kind=$1 draft=$2 signer=${3:-} draft_commitment=${4:-}
  local key_flags=() embed_flags=()
  if [ -n "$signer" ]; then
    key_flags=(--owner "$signer" ${draft_commitment:+--commitment "$draft_commitment"})
    embed_flags=(--owner "$signer" --commitment "$T/commit.json")
  fi
  expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/base.pt"
  expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-$kind.json" --model "$T/base.pt" --out "$draft" \
    --report "$T/keys.report.json" "${key_flags[@]}"
  expect_exit 0 "$BIN/ds-embed-wm" --config "$T/embed-$kind.json" --model "$T/base.pt" --keys "$draft" \
    --out "$T/marked.pt" --keys-out "$T/owner.key" --report "$T/embed.report.json" "${embed_flags[@]}"
}
