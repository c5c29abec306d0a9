#!/usr/bin/env bash
# Starts N local ranks of a deepsigns tool for a data-parallel run on this machine, like
# torchrun --standalone: each rank gets WORLD_SIZE, RANK, MASTER_ADDR=127.0.0.1 and
# MASTER_PORT in its environment. If any rank fails, the others are stopped and the exit
# status is the first failure's. Rank 0 writes the outputs; ranks 1.. log to RUN_LOG_DIR
# (default: a temporary folder, printed on failure).
#
# Usage: scripts/launch.sh -n 2 [-p PORT] TOOL ARGS...   (threads per rank: the config's)
#   scripts/launch.sh -n 2 ds-train --config configs/train-mlp-fmnist.json --out mlp.pt
# TOOL is a name in build/bin or a path. On several hosts, start each rank yourself with
# --world-size N --rank R --master HOST0:PORT (docs/METHOD.md, Data-parallel runs).
set -uo pipefail
bin_dir=$(cd "$(dirname "$0")/.." && pwd)/build/bin
n=1 port=${MASTER_PORT:-29500}
while getopts "n:p:" opt; do
  case $opt in
    n) n=$OPTARG ;;
    p) port=$OPTARG ;;
    *) echo "usage: scripts/launch.sh -n N [-p PORT] TOOL ARGS..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ $# -lt 1 ] || ! [[ "$n" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: scripts/launch.sh -n N [-p PORT] TOOL ARGS..." >&2
  exit 2
fi
tool=$1; shift
[ -x "$tool" ] || tool=$bin_dir/$tool
[ -x "$tool" ] || { echo "launch: no such tool: $1" >&2; exit 2; }
logs=${RUN_LOG_DIR:-$(mktemp -d)}
mkdir -p "$logs"

pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; }
trap 'stop_all; exit 130' INT TERM
for ((r = 0; r < n; r++)); do
  if [ "$r" -eq 0 ]; then
    WORLD_SIZE=$n RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$tool" "$@" &
  else
    WORLD_SIZE=$n RANK=$r MASTER_ADDR=127.0.0.1 MASTER_PORT=$port "$tool" "$@" \
      >"$logs/rank$r.log" 2>&1 &
  fi
  pids+=($!)
done

status=0
running=("${pids[@]}")
while [ ${#running[@]} -gt 0 ]; do
  finished=""
  wait -n -p finished "${running[@]}"
  rc=$?
  [ -n "$finished" ] || break
  left=()
  for p in "${running[@]}"; do [ "$p" = "$finished" ] || left+=("$p"); done
  running=("${left[@]}")
  if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then
    status=$rc
    echo "launch: a rank exited with status $rc; stopping the others (logs of ranks 1..: $logs)" >&2
    stop_all
  fi
done
[ -n "${RUN_LOG_DIR:-}" ] || [ "$status" -ne 0 ] || rm -rf "$logs"
exit "$status"
