#!/usr/bin/env bash
# ctest cases for marking inside a user's own PyTorch loop: a user model made with
# scripts/prepare-model.py, its key and exported loss from ds-gen-keys, trained in Python with
# and without the loss; and the inputs the export must refuse.
source "$(dirname "$0")/common.sh"

write_small_watermark_configs

# prepare_user_mlp OUT: the user MLP of test/python/user_models.py, ready for the tools.
prepare_user_mlp() {
  expect_exit 0 "$PY" "$SRC/scripts/prepare-model.py" --model "$SRC/test/python/user_models.py:mlp" \
    --num-classes 10 --input-shape 1 28 28 --mean 0.286 --std 0.353 --taps fc2=5 --out "$1"
}

# train_own_loop BASE OUT [LOSS]: two epochs on a quarter of Fashion-MNIST.
train_own_loop() {
  local loss=(); [ $# -ge 3 ] && loss=(--wm-loss "$3")
  expect_exit 0 "$PY" "$SRC/scripts/train-own-loop.py" --model "$1" --data "$FMNIST" \
    --train-fraction 0.25 --epochs 2 --seed 3 --out "$2" "${loss[@]}"
}

case "$CASE" in
  marks_in_python_loop)
    prepare_user_mlp "$T/base.pt"
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/base.pt" \
      --out "$T/owner.key" --export-loss "$T/wm.pt" --embed-config "$T/embed-wb.json" --report "$T/k.json"
    [ "$(json_get "$T/k.json" "['outputs']['loss']['path']")" = "$T/wm.pt" ] || fail "report lacks the loss"
    train_own_loop "$T/base.pt" "$T/marked.pt" "$T/wm.pt"
    expect_exit 0 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/owner.key" --report "$T/v.json"
    [ "$(json_get "$T/v.json" "['whitebox']['ber']")" = "0.0" ] || fail "BER not 0"
    train_own_loop "$T/base.pt" "$T/plain.pt"
    expect_exit 1 "$BIN/ds-verify" --model "$T/plain.pt" --keys "$T/owner.key"
    # The loss of an existing key, exported alone, is the same module.
    expect_exit 0 "$BIN/ds-gen-keys" --keys "$T/owner.key" --model "$T/base.pt" \
      --export-loss "$T/wm2.pt" --embed-config "$T/embed-wb.json"
    $PY - "$T/wm.pt" "$T/wm2.pt" <<'PYEOF' || fail "re-exported loss differs"
import sys, torch
a, b = torch.jit.load(sys.argv[1]), torch.jit.load(sys.argv[2])
assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
assert a.layer == b.layer == "fc2" and a.centre_lr == b.centre_lr
PYEOF
    # payload_on centres_and_activations adds a hinge holding each batch's mean carrier
    # activation, divided by its norm (activation_scale batch), on every bit's side by 1
    # (averaged over the bits).
    $PY -c "import json,sys; c=json.load(open(sys.argv[1])); c.setdefault('whitebox', {}).update(activation_scale='batch', payload_on='centres_and_activations'); json.dump(c, open(sys.argv[2],'w'))" \
      "$T/embed-wb.json" "$T/pa.json"
    $PY -c "import json,sys; c=json.load(open(sys.argv[1])); c.setdefault('whitebox', {}).update(activation_scale='batch'); json.dump(c, open(sys.argv[2],'w'))" \
      "$T/embed-wb.json" "$T/batch.json"
    for v in pa batch; do
      expect_exit 0 "$BIN/ds-gen-keys" --keys "$T/owner.key" --model "$T/base.pt" \
        --export-loss "$T/wm-$v.pt" --embed-config "$T/$v.json"
    done
    $PY - "$T/wm-pa.pt" "$T/wm-batch.pt" <<'PYEOF' || fail "activation payload term"
import sys, torch
pa, plain = torch.jit.load(sys.argv[1]), torch.jit.load(sys.argv[2])
torch.manual_seed(0)
labels = torch.arange(64) % 10
taps = {"fc2": torch.rand(64, 512)}
c = int(pa.carriers[0])
mean = taps["fc2"][labels == c].mean(0, keepdim=True)
z = (mean / mean.norm()) @ pa.projection * (2 * pa.bits[0:1] - 1)
expected = pa.lambda2 * torch.relu(1 - z).mean()
diff = (pa(taps, labels) - plain(taps, labels)).item()
assert abs(diff - expected.item()) < 1e-4 * max(1.0, abs(expected.item())), (diff, expected.item())
assert diff > 0
PYEOF
    ;;
  bad_inputs)
    prepare_user_mlp "$T/base.pt"
    # The loss needs the embedding config its weights come from.
    expect_exit 2 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/base.pt" \
      --out "$T/owner.key" --export-loss "$T/wm.pt"
    expect_error_line "--embed-config"
    expect_no_file "$T/owner.key"
    expect_no_file "$T/wm.pt"
    # A noise-aware pull rewrites a zoo layer: it is not a loss the module can hold.
    $PY -c "import json,sys; c=json.load(open(sys.argv[1])); c['whitebox']={'pull_noise': 0.1}; json.dump(c, open(sys.argv[2],'w'))" \
      "$T/embed-wb.json" "$T/noisy.json"
    expect_exit 2 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/base.pt" \
      --out "$T/owner.key" --export-loss "$T/wm.pt" --embed-config "$T/noisy.json"
    expect_error_line "whitebox.pull_noise"
    expect_no_file "$T/owner.key"
    expect_no_file "$T/wm.pt"
    # The batch-wise activation scale exists only in the exported loss.
    $PY -c "import json,sys; c=json.load(open(sys.argv[1])); c['whitebox']={'activation_scale': 'batch'}; json.dump(c, open(sys.argv[2],'w'))" \
      "$T/embed-wb.json" "$T/batch.json"
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/base.pt" --out "$T/owner.key"
    expect_exit 2 "$BIN/ds-embed-wm" --config "$T/batch.json" --model "$T/base.pt" --keys "$T/owner.key" \
      --out "$T/m.pt"
    expect_error_line "whitebox.activation_scale"
    expect_no_file "$T/m.pt"
    $PY -c "import json,sys; c=json.load(open(sys.argv[1])); c['whitebox']={'payload_on': 'centres_and_activations'}; json.dump(c, open(sys.argv[2],'w'))" \
      "$T/embed-wb.json" "$T/pa.json"
    expect_exit 2 "$BIN/ds-embed-wm" --config "$T/pa.json" --model "$T/base.pt" --keys "$T/owner.key" \
      --out "$T/m.pt"
    expect_error_line "whitebox.payload_on"
    expect_no_file "$T/m.pt"
    # A key without a white-box part has no loss.
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-bb.json" --model "$T/base.pt" --out "$T/bb.key"
    expect_exit 2 "$BIN/ds-gen-keys" --keys "$T/bb.key" --model "$T/base.pt" --export-loss "$T/wm.pt" \
      --embed-config "$T/embed-wb.json"
    expect_error_line "$T/bb.key: key has no white-box part"
    expect_no_file "$T/wm.pt"
    # A tap that is not a submodule the forward calls.
    expect_exit 1 "$PY" "$SRC/scripts/prepare-model.py" --model "$SRC/test/python/user_models.py:mlp" \
      --num-classes 10 --input-shape 1 28 28 --mean 0.286 --std 0.353 --taps fc2=hidden9 --out "$T/x.pt"
    grep -q "hidden9' is not a submodule the forward calls" "$T/err" || fail "bad tap not named"
    expect_no_file "$T/x.pt"
    ;;
  *) fail "unknown case" ;;
esac
