#!/usr/bin/env bash
# ctest cases for models written in PyTorch (test/python/user_models.py, torchvision's ResNet-18)
# prepared with scripts/prepare-model.py: the function-preserving transforms find a tap's units
# from the model's graph, keep its function, and refuse a graph they cannot follow.
source "$(dirname "$0")/common.sh"

# prepare OUT MODEL C H W ARGS...: a prepared model; ARGS go to prepare-model.py (--taps ...).
prepare() {
  local out=$1 model=$2 c=$3 h=$4 w=$5; shift 5
  local mean=(0.3) std=(0.35)
  [ "$c" = 3 ] && mean=(0.49 0.48 0.45) std=(0.25 0.24 0.26)
  expect_exit 0 "$PY" "$SRC/scripts/prepare-model.py" --model "$model" --num-classes 10 \
    --input-shape "$c" "$h" "$w" --mean "${mean[@]}" --std "${std[@]}" --out "$out" "$@"
}

# obfuscate MODEL TAP OUT: permutation, scales in [0.2, 5] and 10% dummy units at TAP.
obfuscate() {
  echo "{\"attack\": \"obfuscate\", \"layer\": \"$2\", \"dummy_fraction\": 0.1, \"low\": 0.2, \"high\": 5}" >"$T/obf.json"
  expect_exit 0 "$BIN/ds-attack" --config "$T/obf.json" --model "$1" --out "$3" --report "$3.json"
}

# same_function A B TAP WIDTH: logits within 1e-4 on random inputs, TAP now WIDTH units wide.
same_function() {
  $PY - "$@" <<'PYEOF' || fail "function not kept: $*"
import json, sys, torch
a, b = torch.jit.load(sys.argv[1]).eval(), torch.jit.load(sys.argv[2]).eval()
extra = {"deepsigns.json": ""}
torch.jit.load(sys.argv[1], _extra_files=extra)
torch.manual_seed(0)
x = torch.rand(8, *json.loads(extra["deepsigns.json"])["input_shape"])
with torch.no_grad():
    diff = (a(x) - b(x)).abs().max().item()
    width = b.taps(x)[sys.argv[3]].shape[1]
assert diff < 1e-4, f"logits moved by {diff}"
assert width == int(sys.argv[4]), f"tap {sys.argv[3]} is {width} wide"
PYEOF
}

U="$SRC/test/python/user_models.py"
case "$CASE" in
  function_preserving)
    # A user MLP with its own names and batch norm between its layers: the batch norm's scale
    # and shift carry the scaling, the linear layer before it and the statistics are permuted.
    prepare "$T/bn.pt" "$U:mlp_bn" 1 28 28 --taps act1=act1 act2=act2
    obfuscate "$T/bn.pt" act1 "$T/bn1.pt"
    same_function "$T/bn.pt" "$T/bn1.pt" act1 282
    obfuscate "$T/bn.pt" "" "$T/bn2.pt"  # default: the last tap another layer reads
    [ "$(json_get "$T/bn2.pt.json" "['details']['layer']")" = "act2" ] || fail "default tap"
    same_function "$T/bn.pt" "$T/bn2.pt" act2 141
    # A conv feature map read by a dense layer after pooling and flattening (49 columns each).
    prepare "$T/cnn.pt" "$U:cnn" 1 28 28 --taps conv1=2 conv2=6 fc1=10
    obfuscate "$T/cnn.pt" conv2 "$T/cnn2.pt"
    same_function "$T/cnn.pt" "$T/cnn2.pt" conv2 35
    # torchvision's ResNet-18 (CIFAR-style stem): the pooled features after the last residual
    # stage; every block of the stage adds into them.
    prepare "$T/r18.pt" torchvision:resnet18 3 32 32 --taps pool=avgpool --small-input-stem
    obfuscate "$T/r18.pt" pool "$T/r18o.pt"
    same_function "$T/r18.pt" "$T/r18o.pt" pool 563
    ;;
  scale_transforms)
    # Hardening, the noise-aware pull and the thief's rebalancing on a user CNN: the marked tap
    # (its first dense layer), the batch-normed conv map feeding it and the layer reading it are
    # all found from the graph.
    write_small_watermark_configs
    prepare "$T/raw.pt" "$U:cnn" 1 28 28 --taps conv2=6 fc1=10
    echo "{\"model\": {\"arch\": \"torchscript\", \"path\": \"$T/raw.pt\"}, \"data\": $DATA, \"epochs\": 2, \"seed\": 1}" >"$T/t.json"
    expect_exit 0 "$BIN/ds-train" --config "$T/t.json" --out "$T/cnn.pt"
    with_fields() {  # with_fields IN OUT PY-STATEMENTS: a copy of a JSON config, edited as c
      $PY -c "import json,sys; c=json.load(open(sys.argv[1])); $3; json.dump(c, open(sys.argv[2], 'w'))" "$1" "$2"
    }
    with_fields "$T/keys-wb.json" "$T/keys-fc1.json" "c['whitebox']['layer'] = 'fc1'"
    with_fields "$T/keys-wb.json" "$T/keys-conv2.json" "c['whitebox']['layer'] = 'conv2'"
    with_fields "$T/embed-wb.json" "$T/hard.json" \
      "c['max_epochs'] = 4; c['whitebox'] = {'pull_noise': 0.1, 'harden': {'weight_gain': 16, 'input_gain': 0.25}}"
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-fc1.json" --model "$T/cnn.pt" --out "$T/fc1.key"
    expect_exit 0 "$BIN/ds-embed-wm" --config "$T/hard.json" --model "$T/cnn.pt" --keys "$T/fc1.key" \
      --out "$T/hard.pt" --keys-out "$T/owner.key" --report "$T/hard.report.json"
    json_get "$T/hard.report.json" "['test_accuracy_before_hardening']" >/dev/null || fail "not hardened"
    expect_exit 0 "$BIN/ds-verify" --model "$T/hard.pt" --keys "$T/owner.key"
    # The thief's rebalancing finds both layers and undoes the gains (weights x16, input x0.25).
    echo "{\"attack\": \"finetune\", \"rebalance\": true, \"data\": $DATA, \"epochs\": 1}" >"$T/ft.json"
    expect_exit 0 "$BIN/ds-attack" --config "$T/ft.json" --model "$T/hard.pt" --out "$T/ft.pt" --report "$T/ft.json.out"
    $PY - "$T/ft.json.out" <<'PYEOF' || fail "rebalancing did not undo the hardening"
import json, sys
layers = json.load(open(sys.argv[1]))["details"]["rebalanced_layers"]
# net.5: the batch norm making conv2, grown by 1/input_gain = 4; net.9: the marked dense layer.
assert sorted(layers) == ["net.5", "net.9"], layers
assert 3.0 < layers["net.5"] < 5.5 and layers["net.9"] < 0.35, layers
PYEOF
    # A conv tap made by a batch norm takes no input gain: refused before any training.
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-conv2.json" --model "$T/cnn.pt" --out "$T/conv2.key"
    expect_exit 2 "$BIN/ds-embed-wm" --config "$T/hard.json" --model "$T/cnn.pt" --keys "$T/conv2.key" \
      --out "$T/x.pt"
    expect_error_line "set harden.input_gain to 1"
    expect_no_file "$T/x.pt"
    ;;
  unsupported_graph)
    prepare "$T/cat.pt" "$U:mlp_cat" 1 28 28 --taps left=left
    echo '{"attack": "permute", "layer": "left"}' >"$T/p.json"
    expect_exit 2 "$BIN/ds-attack" --config "$T/p.json" --model "$T/cat.pt" --out "$T/x.pt"
    expect_error_line "$T/cat.pt: cannot follow the units of tap 'left': they are read by aten::cat"
    expect_no_file "$T/x.pt"
    echo '{"attack": "scale", "layer": "nope"}' >"$T/s.json"
    expect_exit 2 "$BIN/ds-attack" --config "$T/s.json" --model "$T/cat.pt" --out "$T/x.pt"
    expect_error_line "$T/cat.pt: model has no tap 'nope'"
    ;;
  *) fail "unknown case" ;;
esac
