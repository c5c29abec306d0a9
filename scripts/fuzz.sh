#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer + UndefinedBehaviorSanitizer) and runs
# each on its seed corpus in test/fuzz/corpus/TARGET for SECONDS (default 600), JOBS at a time
# (default: the cores). New inputs go to build-fuzz/corpus/TARGET; crashes, hangs (-timeout=10 s)
# and single allocations beyond 256 MB (-malloc_limit_mb, far above what any input here
# justifies) stop a target and are saved as build-fuzz/artifacts/TARGET-*. Prints a summary:
# executions, coverage and findings per target.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
#        scripts/fuzz.sh --ci [TARGET...]   replays every seed and fixed crasher (no mutation:
#                                          the same inputs on every run, a regression check)
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=(-max_total_time="${1:-600}")
if [ "${1:-}" = "--ci" ]; then
  LIMIT=(-seed=1 -runs=0)
fi
shift || true
TARGETS=${*:-"idx cifar tensor_file config key predictions png jpeg imagefolder"}
JOBS=${JOBS:-$(nproc)}
scripts/install-deps.sh
command -v clang++ >/dev/null || { apt-get install -y -q --no-install-recommends clang libclang-rt-14-dev >&2; }
B=build-fuzz
if [ ! -f "$B/CMakeCache.txt" ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DDS_FUZZ=ON >&2
fi
cmake --build "$B" --parallel "$(nproc)" >&2
mkdir -p "$B/artifacts" "$B/logs"
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
run_target() {
  local t=$1
  mkdir -p "$B/corpus/$t"
  if [ "${LIMIT[0]}" = "-seed=1" ]; then rm -rf "$B/corpus/$t"; mkdir -p "$B/corpus/$t"; fi
  "$B/bin/fuzz_$t" "$B/corpus/$t" "test/fuzz/corpus/$t" "${LIMIT[@]}" \
    -timeout=10 -malloc_limit_mb=256 -rss_limit_mb=4096 -max_len=262144 -print_final_stats=1 \
    -artifact_prefix="$B/artifacts/$t-" >"$B/logs/$t.log" 2>&1
}
status=0
pids=() names=()
for t in $TARGETS; do
  run_target "$t" & pids+=($!) names+=("$t")
  if [ ${#pids[@]} -ge "$JOBS" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
printf '%-12s %12s %8s %8s %s\n' target executions cov ft result
for t in $TARGETS; do
  log=$B/logs/$t.log
  execs=$(grep -o "stat::number_of_executed_units: *[0-9]*" "$log" | grep -o "[0-9]*$" || echo "?")
  cov=$(grep -o "cov: [0-9]*" "$log" | tail -n 1 | grep -o "[0-9]*" || echo "?")
  ft=$(grep -o "ft: [0-9]*" "$log" | tail -n 1 | grep -o "[0-9]*" || echo "?")
  if grep -q "ERROR: libFuzzer\|ERROR: AddressSanitizer\|runtime error\|SUMMARY: \|threw something other" "$log"; then
    result="FINDING (see $log)"
  else
    result="clean"
  fi
  printf '%-12s %12s %8s %8s %s\n' "$t" "$execs" "$cov" "$ft" "$result"
done
exit $status
