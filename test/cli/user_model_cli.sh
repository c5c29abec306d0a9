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
