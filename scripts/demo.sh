#!/usr/bin/env bash
# The quick start: installs, builds, and trains the paper's MLP on Fashion-MNIST.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
out=${DEMO_OUT:-runs/demo}
mkdir -p "$out"
build/bin/ds-train --config configs/train-mlp-fmnist.json --out "$out/mlp.pt" --report "$out/train-mlp.json"
echo "model:  $out/mlp.pt"
echo "report: $out/train-mlp.json"
