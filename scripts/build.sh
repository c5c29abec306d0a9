#!/usr/bin/env bash
# Configures and builds deepsigns (Release) into build/; tools land in build/bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build "$BUILD_DIR" --parallel "$(nproc)" "$@" >&2
