#!/usr/bin/env bash
# ctest cases for ds-attack: function-preserving attacks keep the outputs, fine-tuning changes
# the weights and keeps the architecture, a sweep writes its table and plot, and bad configs
# exit 2 without output.
source "$(dirname "$0")/common.sh"

# A smaller subset and model than the shared watermark configs (the sweep case uses those).
TINY_DATA=$(fmnist_data 0.05 0.1)
cat >"$T/train.json" <<JSON
{"model": {"arch": "mlp", "hidden": [64, 32]}, "data": $TINY_DATA, "epochs": 1, "seed": 1}
JSON

# refuse_attack CONFIG NEEDLE: ds-attack on $T/m.pt with the attack CONFIG exits 2, its last stderr
# line an error mentioning NEEDLE.
refuse_attack() {
  echo "$1" >"$T/a.json"
  expect_exit 2 "$BIN/ds-attack" --config "$T/a.json" --model "$T/m.pt" --out "$T/x.pt"
  expect_error_line "$2"
}

case "$CASE" in
  function_preserving)
    expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/m.pt"
    for a in permute scale dummy; do
      echo '{"attack": "'$a'", "layer": "fc1", "data": '"$TINY_DATA"'}' >"$T/a.json"
      expect_exit 0 "$BIN/ds-attack" --config "$T/a.json" --model "$T/m.pt" --out "$T/$a.pt" --report "$T/$a.json"
      $PY - "$T/m.pt" "$T/$a.pt" <<'PYEOF' || fail "$a changed the model's function"
import sys, torch
a, b = torch.jit.load(sys.argv[1]).eval(), torch.jit.load(sys.argv[2]).eval()
x = torch.rand(256, 1, 28, 28)
with torch.no_grad():
    assert torch.allclose(a(x), b(x), atol=1e-4), (a(x) - b(x)).abs().max()
    assert a.fc2.weight.shape != b.fc2.weight.shape or not torch.equal(a.fc2.weight, b.fc2.weight)
PYEOF
      [ "$(json_get "$T/$a.json" "['test_accuracy']")" = "$(json_get "$T/$a.json" "['test_accuracy_before']")" ] \
        || fail "$a changed the test accuracy"
    done
    ;;
  finetune)
    expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/m.pt"
    cp "$T/m.pt" "$T/m.orig"
    echo '{"attack": "finetune", "mode": "rtal", "lr": 0.01, "epochs": 1, "attacker_fraction": 0.5, "data": '"$TINY_DATA"'}' >"$T/a.json"
    expect_exit 0 "$BIN/ds-attack" --config "$T/a.json" --model "$T/m.pt" --out "$T/f.pt" --report "$T/f.json"
    cmp -s "$T/m.pt" "$T/m.orig" || fail "input model modified"
    $PY - "$T/m.pt" "$T/f.pt" <<'PYEOF' || fail "fine-tuning did not change the weights or changed the architecture"
import sys, torch
a, b = torch.jit.load(sys.argv[1]), torch.jit.load(sys.argv[2])
pa, pb = dict(a.named_parameters()), dict(b.named_parameters())
assert list(pa) == list(pb), (list(pa), list(pb))
assert all(pa[k].shape == pb[k].shape for k in pa)
assert all(not torch.equal(pa[k], pb[k]) for k in pa), "rtal trains every layer"
assert b.taps(torch.rand(2, 1, 28, 28)).keys() == a.taps(torch.rand(2, 1, 28, 28)).keys()
PYEOF
    [ "$(json_get "$T/f.json" "['attacker_samples']")" = "1500" ] || fail "attacker share of the data"
    [ "$(json_get "$T/f.json" "['details']['last_layer']")" = "fc3" ] || fail "last layer"
    ;;
  sweep)
    write_small_watermark_configs
    make_marked
    cat >"$T/sweep.json" <<JSON
{"title": "test sweep", "data": $DATA, "workers": 2, "attacker_fraction": 0.2,
 "grid": [{"attack": "prune", "rate": [0, 0.5, 0.999]},
          {"attack": ["permute", "scale"], "layer": "fc2"},
          {"attack": "finetune", "mode": "ftll", "epochs": [1, 2]}]}
JSON
    expect_exit 0 "$BIN/ds-attack" --config "$T/sweep.json" --model "$T/marked.pt" --keys "$T/owner.key" --out-dir "$T/sw-out"
    grep -q "\[7/7\]" "$T/err" || fail "no progress on stderr"
    $PY - "$T/sw-out" <<'PYEOF' || fail "sweep table or plot"
import csv, json, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
rows = list(csv.DictReader(open(f"{out}/results.csv")))
assert len(rows) == 7, len(rows)
by = {r["setting"]: r for r in rows}
assert by["rate=0"]["whitebox_verified"] == "true", by["rate=0"]
assert by["rate=0"]["whitebox_ber"] == "0"
assert by["rate=0.999"]["whitebox_verified"] == "false", by["rate=0.999"]
assert float(by["rate=0.999"]["test_accuracy"]) < float(by["rate=0"]["test_accuracy"])
assert by["attack=scale"]["test_accuracy"] == by["rate=0"]["test_accuracy"]
t = json.load(open(f"{out}/results.json"))
assert t["points"] == 7 and t["failed_points"] == 0 and len(t["rows"]) == 7
assert "rate=0" in t["panels"][0]["proven_at"]
svg = ET.parse(f"{out}/plot.svg").getroot()
assert svg.tag.endswith("svg")
assert len(svg.findall(".//{http://www.w3.org/2000/svg}circle")) >= 14
PYEOF
    ls "$T/sw-out/points/"*.pt >/dev/null 2>&1 && fail "attacked models kept without keep_models"
    ;;
  bad_configs)
    expect_exit 0 "$BIN/ds-train" --config "$T/train.json" --out "$T/m.pt"
    refuse_attack '{"attack": "melt"}' \
      "field 'attack' must be one of prune, quantize, noise, permute, scale, dummy, obfuscate, finetune, overwrite, distill"
    refuse_attack '{"attack": "finetune", "attacker_fraction": 0, "data": '"$TINY_DATA"'}' \
      "field 'attacker_fraction' must be in (0, 1]"
    echo '{"grid": [{"attack": "prune", "rate": [0.1, 2]}]}' >"$T/s.json"
    expect_exit 2 "$BIN/ds-attack" --config "$T/s.json" --model "$T/m.pt" --out-dir "$T/sw"
    expect_error_line "grid[0] (rate=2): field 'rate' must be in [0, 1]"
    expect_no_file "$T/sw"
    expect_exit 2 "$BIN/ds-attack" --config "$T/s.json" --model "$T/m.pt"
    expect_error_line "--out"
    refuse_attack '{"attack": "prune", "rate": 1.5}' "field 'rate' must be in [0, 1]"
    refuse_attack '{"attack": "prune", "data": '"$(fmnist_data 0)"'}' "field 'data.train_fraction' must be in (0, 1]"
    refuse_attack '{"attack": "permute", "layer": "fc3"}' "m.pt: model has no tap 'fc3'"
    expect_no_file "$T/x.pt"
    ;;
  *) fail "unknown case" ;;
esac
echo "ok [$CASE]"
