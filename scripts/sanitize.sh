#!/usr/bin/env bash
# Builds the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (gcc) in
# build-asan/ and runs them. LibTorch itself is not instrumented; its allocations are still
# checked where our code touches them. Leak checking is off: LibTorch keeps global registries
# alive until exit by design, which LeakSanitizer would report.
# Usage: scripts/sanitize.sh [GTEST_FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
B=build-asan
if [ ! -f "$B/CMakeCache.txt" ]; then
  cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDS_SANITIZE=ON >&2
fi
cmake --build "$B" --parallel "$(nproc)" --target ds_tests >&2
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMP_NUM_THREADS=1
"$B/bin/ds_tests" --gtest_filter="${1:-*}" --gtest_brief=1
echo "sanitize: all unit tests passed under ASan + UBSan" >&2
