#!/usr/bin/env bash
# ctest cases for ds-train and ds-inspect: real binaries on small data.
source "$(dirname "$0")/common.sh"
TRAIN=(--config "$SRC/configs/train-mlp-fmnist.json" --epochs 1 --train-fraction 0.05)

case "$CASE" in
  train_small)
    expect_exit 0 "$BIN/ds-train" "${TRAIN[@]}" --out "$T/m.pt" --report "$T/r.json"
    acc=$(json_get "$T/r.json" "['test_accuracy']")
    $PY -c "import sys; a=float(sys.argv[1]); sys.exit(0 if 0.6 < a <= 1 else 1)" "$acc" \
      || fail "test_accuracy $acc not in (0.6, 1]"
    [ "$(json_get "$T/r.json" "['outputs']['model']['sha256']")" = "$(sha256sum "$T/m.pt" | cut -c1-64)" ] \
      || fail "report hash differs from the model file"
    expect_exit 0 "$BIN/ds-inspect" "$T/m.pt"
    $PY -c "import json,sys; t=[x['name'] for x in json.load(open(sys.argv[1]))['taps']]; sys.exit(0 if t==['fc1','fc2','logits'] else 1)" "$T/out" \
      || fail "ds-inspect taps: $(cat "$T/out")"
    ;;
  deterministic)
    expect_exit 0 "$BIN/ds-train" "${TRAIN[@]}" --out "$T/a.pt"
    expect_exit 0 "$BIN/ds-train" "${TRAIN[@]}" --out "$T/b.pt"
    cmp -s "$T/a.pt" "$T/b.pt" || fail "same seed gave different model bytes"
    expect_exit 0 "$BIN/ds-train" "${TRAIN[@]}" --out "$T/c.pt" --seed 9
    cmp -s "$T/a.pt" "$T/c.pt" && fail "another seed gave the same model"
    ;;
  python_loads_model)
    expect_exit 0 "$BIN/ds-train" "${TRAIN[@]}" --out "$T/m.pt"
    $PY - "$T/m.pt" <<'PYEOF' || fail "Python could not use the model"
import json, sys, torch
extra = {"deepsigns.json": ""}
m = torch.jit.load(sys.argv[1], _extra_files=extra)
info = json.loads(extra["deepsigns.json"])
x = torch.rand(4, *info["input_shape"])
with torch.no_grad():
    y = m(x)
    taps = m.taps(x)
assert y.shape == (4, info["num_classes"]), y.shape
assert torch.allclose(taps["logits"], y)
assert set(m.state_dict()) >= {"fc1.weight", "fc2.bias", "input_mean"}
PYEOF
    ;;
  user_model)
    # A user's nn.Module (its own parameter names, batch norm between dense layers), prepared in
    # Python, trained by ds-train as the starting architecture: deterministic, keeps its taps
    # and normalisation, and a model the data does not fit is refused naming the file.
    expect_exit 0 "$PY" "$SRC/scripts/prepare-model.py" --model "$SRC/test/python/user_models.py:mlp_bn" \
      --num-classes 10 --input-shape 1 28 28 --mean 0.3 --std 0.35 --taps act2=act2 --out "$T/user.pt"
    cp "$T/user.pt" "$T/user.orig"
    cat >"$T/c.json" <<JSON
{"model": {"arch": "torchscript", "path": "$T/user.pt"}, "data": $(fmnist_data 0.05),
 "optimizer": {"name": "adam", "lr": 0.002}, "epochs": 1, "batch_size": 64, "seed": 4}
JSON
    expect_exit 0 "$BIN/ds-train" --config "$T/c.json" --out "$T/a.pt" --report "$T/r.json"
    expect_exit 0 "$BIN/ds-train" --config "$T/c.json" --out "$T/b.pt"
    cmp -s "$T/a.pt" "$T/b.pt" || fail "same seed gave different model bytes"
    cmp -s "$T/user.pt" "$T/user.orig" || fail "the starting model was modified"
    acc=$(json_get "$T/r.json" "['test_accuracy']")
    $PY -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.6 else 1)" "$acc" || fail "accuracy $acc"
    expect_exit 0 "$BIN/ds-inspect" "$T/a.pt"
    $PY - "$T/out" <<'PYEOF' || fail "trained user model lost its description: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert [t["name"] for t in d["info"]["taps"]] == ["act2", "logits"], d["info"]["taps"]
assert d["info"]["normalization"]["mean"] == [0.3], d["info"]["normalization"]
assert d["info"]["arch"]["arch"] == "torchscript"
PYEOF
    # Ten classes do not fit a three-class dataset.
    $PY - "$T/three.pt" <<'PYEOF' || fail "could not write the dataset"
import sys, torch
torch.save({"x": torch.zeros(30, 1, 28, 28, dtype=torch.uint8), "y": torch.arange(30) % 3}, sys.argv[1])
PYEOF
    sed "s|\"data\": {[^}]*}|\"data\": {\"format\": \"tensor\", \"path\": \"$T/three.pt\"}|" "$T/c.json" >"$T/three.json"
    expect_exit 2 "$BIN/ds-train" --config "$T/three.json" --out "$T/x.pt"
    expect_error_line "$T/user.pt: outputs shape [2,10], the data has 3 classes"
    expect_no_file "$T/x.pt"
    ;;
  tensor_dataset_from_python)
    $PY - "$T/train.pt" <<'PYEOF' || fail "could not write the dataset"
import sys, torch
torch.manual_seed(0)
y = torch.randint(0, 3, (300,))
x = torch.rand(300, 1, 10, 10) * 0.2
for i in range(300):
    x[i, 0, y[i] * 3:y[i] * 3 + 3, :] += 0.7
torch.save({"x": (x * 255).to(torch.uint8), "y": y}, sys.argv[1])
PYEOF
    cat >"$T/c.json" <<JSON
{"model": {"arch": "mlp", "hidden": [16]}, "data": {"format": "tensor", "path": "$T/train.pt"},
 "optimizer": {"name": "adam", "lr": 0.01}, "epochs": 5, "batch_size": 16}
JSON
    expect_exit 0 "$BIN/ds-train" --config "$T/c.json" --out "$T/m.pt" --report "$T/r.json"
    acc=$(json_get "$T/r.json" "['test_accuracy']")
    $PY -c "import sys; sys.exit(0 if float(sys.argv[1]) > 0.9 else 1)" "$acc" || fail "accuracy $acc"
    ;;
  bad_config_field)
    echo '{"model": {"arch": "mlp"}, "epochs": "ten"}' >"$T/c.json"
    expect_exit 2 "$BIN/ds-train" --config "$T/c.json" --out "$T/m.pt" --report "$T/r.json"
    expect_error_line "$T/c.json: field 'epochs' must be an integer"
    expect_no_file "$T/m.pt"; expect_no_file "$T/r.json"
    echo '{"modle": {}}' >"$T/c.json"
    expect_exit 2 "$BIN/ds-train" --config "$T/c.json" --out "$T/m.pt"
    expect_error_line "unknown field 'modle'"
    echo '{"epochs": 1,' >"$T/c.json"
    expect_exit 2 "$BIN/ds-train" --config "$T/c.json" --out "$T/m.pt"
    expect_error_line "not valid JSON"
    expect_no_file "$T/m.pt"
    ;;
  bad_data)
    expect_exit 2 "$BIN/ds-train" "${TRAIN[@]}" --data-path "$T/nowhere" --out "$T/m.pt"
    expect_error_line "$T/nowhere"
    mkdir "$T/fm"
    cp "$FMNIST"/t10k-* "$T/fm/"
    head -c 1000 "$FMNIST/train-images-idx3-ubyte.gz" >"$T/fm/train-images-idx3-ubyte.gz"
    cp "$FMNIST/train-labels-idx1-ubyte.gz" "$T/fm/"
    expect_exit 2 "$BIN/ds-train" "${TRAIN[@]}" --data-path "$T/fm" --out "$T/m.pt"
    expect_error_line "train-images-idx3-ubyte.gz: truncated"
    expect_no_file "$T/m.pt"
    ;;
  bad_flags)
    expect_exit 2 "$BIN/ds-train" --config "$T/missing.json" --out "$T/m.pt"
    expect_error_line "$T/missing.json: no such file"
    expect_exit 2 "$BIN/ds-train" "${TRAIN[@]}" --out "$T/m.pt" --bogus
    expect_exit 2 "$BIN/ds-train" "${TRAIN[@]}" --out "$T/no/such/dir/m.pt"
    expect_error_line "output folder does not exist"
    expect_exit 2 "$BIN/ds-inspect" "$SRC/configs/train-mlp-fmnist.json"
    expect_error_line "not a torch archive"
    ;;
  *) fail "unknown case" ;;
esac
echo "ok [$CASE]"
