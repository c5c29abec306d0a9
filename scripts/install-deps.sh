#!/usr/bin/env bash
# Installs the Debian packages deepsigns needs, only those missing (idempotent, quiet when done).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libtorch-dev libopenblas0-pthread libgloo-dev libsodium-dev
  libcli11-dev nlohmann-json3-dev libspdlog-dev libgtest-dev zlib1g-dev
  libpng-dev libjpeg62-turbo-dev  # the imagefolder dataset format
  dataset-fashion-mnist python3-torch
  python3-torchvision         # the ResNet-18 user-model tests
  python3-pil                 # scripts/make-imagefolder.py
  chromium fonts-dejavu-core  # the results page's rendering test
  time                        # peak RSS in scripts/bench.sh
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
