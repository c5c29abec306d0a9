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
