#!/usr/bin/env bash
# ctest cases for the imagefolder data format: Fashion-MNIST samples written as PNG folders by
# scripts/make-imagefolder.py train the same weights as the same samples read as IDX (in the
# folder's order: by class, then by original index), JPEG colour folders train, and bad files
# fail with one line or are skipped and counted.
source "$(dirname "$0")/common.sh"
MAKE=("$PY" "$SRC/scripts/make-imagefolder.py")

# train_on DATA_JSON OUT_DIR: a one-epoch MLP on DATA into OUT_DIR/model.pt (the archive's
# internal name comes from the file name, so both runs use the same one) and its report.
train_on() {
  mkdir -p "$2"
  cat >"$T/c.json" <<JSON
{"model": {"arch": "mlp", "hidden": [32]}, "data": $1,
 "optimizer": {"name": "adam", "lr": 0.002}, "epochs": 1, "batch_size": 32, "seed": 2}
JSON
  expect_exit 0 "$BIN/ds-train" --config "$T/c.json" --out "$2/model.pt" --report "$2/report.json"
}

case "$CASE" in
  same_model_as_idx_in_class_order)
    expect_exit 0 "${MAKE[@]}" "$FMNIST" "$T/img" --limit 400 --sorted-idx "$T/idx"
    train_on "{\"format\": \"idx\", \"path\": \"$T/idx\"}" "$T/a"
    train_on "{\"format\": \"imagefolder\", \"path\": \"$T/img/train\", \"test_path\": \"$T/img/test\"}" "$T/b"
    # Every archive entry but deepsigns.json (whose provenance names the data) is the same.
    $PY - "$T/a" "$T/b" <<'PYEOF' || fail "the IDX and PNG runs trained different models"
import hashlib, json, sys, zipfile
def entries(d):
    z = zipfile.ZipFile(f"{d}/model.pt")
    return {n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist() if not n.endswith("deepsigns.json")}
a, b = entries(sys.argv[1]), entries(sys.argv[2])
assert a == b, sorted(set(a.items()) ^ set(b.items()))
assert any("/data/" in n for n in a), "no weights compared"
ra, rb = (json.load(open(f"{d}/report.json")) for d in sys.argv[1:3])
assert ra["test_accuracy"] == rb["test_accuracy"], (ra["test_accuracy"], rb["test_accuracy"])
assert ra["train_samples"] == rb["train_samples"] == 400, (ra["train_samples"], rb["train_samples"])
print(f"{len(a)} archive entries equal; test accuracy {ra['test_accuracy']}", file=sys.stderr)
PYEOF
    ;;
  streamed_same_model)
    # Streamed (data.stream: each batch read when needed, on loader threads) gives the weights
    # of the in-memory path, for IDX records and for decoded PNG files alike.
    expect_exit 0 "${MAKE[@]}" "$FMNIST" "$T/img" --limit 400 --sorted-idx "$T/idx"
    idx="\"format\": \"idx\", \"path\": \"$T/idx\""
    img="\"format\": \"imagefolder\", \"path\": \"$T/img/train\", \"test_path\": \"$T/img/test\""
    train_on "{$idx}" "$T/a"
    train_on "{$idx, \"stream\": true}" "$T/b"
    train_on "{$img, \"stream\": true, \"loader_threads\": 3, \"prefetch_batches\": 2}" "$T/c"
    $PY - "$T/a" "$T/b" "$T/c" <<'PYEOF' || fail "streamed runs trained different models"
import hashlib, json, sys, zipfile
def entries(d):
    z = zipfile.ZipFile(f"{d}/model.pt")
    return {n: hashlib.sha256(z.read(n)).hexdigest() for n in z.namelist() if not n.endswith("deepsigns.json")}
a = entries(sys.argv[1])
for d in sys.argv[2:]:
    assert entries(d) == a, d
    epoch = json.load(open(f"{d}/report.json"))["epochs"][0]
    assert epoch["samples_loaded"] == 400 and epoch["data_wait_seconds"] >= 0, epoch
PYEOF
    ;;
  streamed_bad_file_fails)
    # A file that turns out bad when its batch is read ends the run: one line naming it, exit 2,
    # no model.
    expect_exit 0 "${MAKE[@]}" "$FMNIST" "$T/img" --limit 200
    bad=$(ls "$T/img/train/"*/* | sort | tail -1)
    head -c 40 "$bad" >"$T/cut" && mv "$T/cut" "$bad"
    echo "{\"model\": {\"arch\": \"mlp\", \"hidden\": [16]}, \"epochs\": 1, \"seed\": 1, \"data\": {\"format\": \"imagefolder\", \"path\": \"$T/img/train\", \"test_path\": \"$T/img/test\", \"stream\": true}}" >"$T/c.json"
    expect_exit 2 "$BIN/ds-train" --config "$T/c.json" --out "$T/m.pt"
    expect_error_line "$bad"
    expect_no_file "$T/m.pt"
    # What cannot be streamed, or is not a setting, names the field to change.
    for data in "{\"format\": \"idx\", \"path\": \"$FMNIST\", \"stream\": true}|gunzip it, or set data.stream to false" \
                "{\"format\": \"idx\", \"stream\": \"yes\"}|field 'data.stream' must be true or false" \
                "{\"format\": \"idx\", \"stream\": true, \"loader_threads\": 99}|field 'data.loader_threads' must be 0..64"; do
      echo "{\"model\": {\"arch\": \"mlp\", \"hidden\": [16]}, \"epochs\": 1, \"data\": ${data%%|*}}" >"$T/c.json"
      expect_exit 2 "$BIN/ds-train" --config "$T/c.json" --out "$T/m.pt"
      expect_error_line "${data#*|}"
      expect_no_file "$T/m.pt"
    done
    ;;
  jpeg_colour_with_holdout)
    expect_exit 0 "${MAKE[@]}" "$FMNIST" "$T/jpg" --limit 120 --format jpg --size 20 20 --channels 3
    train_on "{\"format\": \"imagefolder\", \"path\": \"$T/jpg/train\", \"holdout_fraction\": 0.25, \"seed\": 4}" "$T/a"
    [ "$(json_get "$T/a/report.json" "['train_samples']")" = 90 ] || fail "holdout left the wrong count"
    expect_exit 0 "$BIN/ds-inspect" "$T/a/model.pt"
    [ "$(json_get "$T/out" "['input_shape']")" = "[3, 20, 20]" ] || fail "input shape $(cat "$T/out")"
    ;;
  bad_file_fails_or_is_skipped)
    expect_exit 0 "${MAKE[@]}" "$FMNIST" "$T/img" --limit 100
    printf 'not an image' >"$T/img/train/3/zzz.png"
    DATA="{\"format\": \"imagefolder\", \"path\": \"$T/img/train\", \"test_path\": \"$T/img/test\""
    echo "{\"model\": {\"arch\": \"mlp\", \"hidden\": [8]}, \"data\": $DATA}, \"epochs\": 1}" >"$T/bad.json"
    expect_exit 2 "$BIN/ds-train" --config "$T/bad.json" --out "$T/m.pt" --report "$T/r.json"
    expect_error_line "$T/img/train/3/zzz.png: not a PNG or JPEG image"
    [ "$(grep -c . "$T/err")" = 1 ] || { cat "$T/err" >&2; fail "more than one line on stderr"; }
    expect_no_file "$T/m.pt"
    expect_no_file "$T/r.json"
    echo "{\"model\": {\"arch\": \"mlp\", \"hidden\": [8]}, \"data\": $DATA, \"skip_bad\": true}, \"epochs\": 1}" >"$T/skip.json"
    expect_exit 0 "$BIN/ds-train" --config "$T/skip.json" --out "$T/m.pt" --report "$T/r.json"
    grep -q "skipped 1 unreadable image" "$T/err" || fail "no log line counting the skipped file"
    [ "$(json_get "$T/r.json" "['inputs']['data']['skipped_files']")" = 1 ] || fail "report lacks skipped_files"
    [ "$(json_get "$T/r.json" "['train_samples']")" = 100 ] || fail "wrong sample count"
    ;;
  *) fail "unknown case" ;;
esac
