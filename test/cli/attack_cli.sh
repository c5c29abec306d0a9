#!/usr/bin/env bash
# ctest cases for ds-attack: function-preserving attacks keep the outputs, a report with
# verification before and after, and bad configs exit 2 without output.
source "$(dirname "$0")/common.sh"

DATA='{"format": "idx", "path": "'$FMNIST'", "train_fraction": 0.05, "test_fraction": 0.1}'
cat >"$T/train.json" <<JSON
{"model": {"arch": "mlp", "hidden": [64, 32]}, "data": $DATA, "epochs": 1, "seed": 1}
JSON

case "$CASE" in
  function_preserving)
    expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/m.pt"
    for a in permute scale; do
      echo '{"attack": "'$a'", "data": '"$DATA"'}' >"$T/a.json"
      expect_exit 0 "$BIN/ds-attack" --config "$T/a.json" --model "$T/m.pt" --out "$T/$a.pt" --report "$T/$a.json"
      $PY - "$T/m.pt" "$T/$a.pt" <<'PYEOF' || fail "$a changed the model's function"
import sys, torch
a, b = torch.jit.load(sys.argv[1]).eval(), torch.jit.load(sys.argv[2]).eval()
x = torch.rand(256, 1, 28, 28)
with torch.no_grad():
    assert torch.allclose(a(x), b(x), atol=1e-4), (a(x) - b(x)).abs().max()
    assert not torch.equal(a.fc2.weight, b.fc2.weight)
PYEOF
      [ "$(json_get "$T/$a.json" "['test_accuracy']")" = "$(json_get "$T/$a.json" "['test_accuracy_before']")" ] \
        || fail "$a changed the test accuracy"
    done
    ;;
  bad_configs)
    expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/m.pt"
    echo '{"attack": "melt"}' >"$T/a.json"
    expect_exit 2 "$BIN/ds-attack" --config "$T/a.json" --model "$T/m.pt" --out "$T/x.pt"
    expect_error_line "field 'attack' must be one of prune, quantize, noise, permute, scale"
    echo '{"attack": "prune", "rate": 1.5}' >"$T/a.json"
    expect_exit 2 "$BIN/ds-attack" --config "$T/a.json" --model "$T/m.pt" --out "$T/x.pt"
    expect_error_line "field 'rate' must be in [0, 1]"
    echo '{"attack": "prune", "data": {"format": "idx", "path": "'$FMNIST'", "train_fraction": 0}}' >"$T/a.json"
    expect_exit 2 "$BIN/ds-attack" --config "$T/a.json" --model "$T/m.pt" --out "$T/x.pt"
    expect_error_line "field 'data.train_fraction' must be in (0, 1]"
    echo '{"attack": "permute", "layer": "fc3"}' >"$T/a.json"
    expect_exit 2 "$BIN/ds-attack" --config "$T/a.json" --model "$T/m.pt" --out "$T/x.pt"
    expect_error_line "no dense pair fc3 -> fc4"
    expect_no_file "$T/x.pt"
    ;;
  *) fail "unknown case" ;;
esac
echo "ok [$CASE]"
