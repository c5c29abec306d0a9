#!/usr/bin/env bash
# ctest cases for the black-box tools on a small Fashion-MNIST subset: embedding, verification
# from the model and from a predictions file, a combined key, and bad inputs.
source "$(dirname "$0")/common.sh"

write_small_watermark_configs

case "$CASE" in
  end_to_end)
    make_marked_blackbox
    [ "$(json_get "$T/embed.report.json" "['key_accuracy']")" = "1.0" ] || fail "marked model misses keys"
    $PY "$SRC/test/python/check_key.py" "$T/owner.key" || fail "Python could not read the key"
    expect_exit 0 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/owner.key" --report "$T/v.json"
    [ "$(json_get "$T/v.json" "['mismatches']")" = "0" ] || fail "mismatches on the marked model"
    expect_exit 1 "$BIN/ds-verify" --model "$T/base.pt" --keys "$T/owner.key" --report "$T/u.json"
    # Query-only mode: export, label with the model in Python (as a remote API would), decide.
    expect_exit 0 "$BIN/ds-verify" --keys "$T/owner.key" --export-queries "$T/q"
    [ -f "$T/q/queries.pt" ] && [ -f "$T/q/query_015.png" ] || fail "queries not exported"
    head -c 8 "$T/q/query_000.png" | od -c | head -1 | grep -q "P   N   G" || fail "not a PNG"
    for m in marked base; do answer_queries "$T/$m.pt" "$T/q/queries.pt" "$T/$m-labels.json" object; done
    expect_exit 0 "$BIN/ds-verify" --keys "$T/owner.key" --predictions "$T/marked-labels.json"
    expect_exit 1 "$BIN/ds-verify" --keys "$T/owner.key" --predictions "$T/base-labels.json"
    ;;
  combined_key)
    # White-box marking first, then black-box keys added to that model and key.
    make_marked
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-bb.json" --model "$T/marked.pt" --keys "$T/owner.key" \
      --out "$T/cand.key"
    expect_exit 0 "$BIN/ds-embed-wm" --config "$T/embed-bb.json" --model "$T/marked.pt" --keys "$T/cand.key" \
      --out "$T/both.pt" --keys-out "$T/both.key"
    expect_exit 0 "$BIN/ds-verify" --model "$T/both.pt" --keys "$T/both.key" --report "$T/v.json"
    [ "$(json_get "$T/v.json" "['whitebox']['verified']")" = "True" ] || fail "white-box lost in the black-box step"
    [ "$(json_get "$T/v.json" "['blackbox']['verified']")" = "True" ] || fail "black-box not verified"
    expect_exit 1 "$BIN/ds-verify" --model "$T/base.pt" --keys "$T/both.key"
    ;;
  bad_inputs)
    make_marked_blackbox
    echo '[1, 2, 3]' >"$T/p.json"
    expect_exit 2 "$BIN/ds-verify" --keys "$T/owner.key" --predictions "$T/p.json"
    expect_error_line "$T/p.json: holds 3 labels, the key has 16 queries"
    $PY -c "import json; json.dump([0]*15 + [10], open('$T/p.json', 'w'))"
    expect_exit 2 "$BIN/ds-verify" --keys "$T/owner.key" --predictions "$T/p.json"
    expect_error_line "label 10 out of range 0..9"
    # A key made for another input shape: a model trained on 14x14 tensor data.
    $PY -c "
import torch; torch.manual_seed(0)
torch.save({'x': torch.rand(200, 1, 14, 14), 'y': torch.randint(0, 10, (200,))}, '$T/small.pt')"
    echo '{"model": {"arch": "mlp", "hidden": [16]}, "data": {"format": "tensor", "path": "'$T/small.pt'"}, "epochs": 1}' >"$T/s.json"
    expect_exit 0 "$BIN/ds-train" --config "$T/s.json" --out "$T/small-model.pt"
    expect_exit 2 "$BIN/ds-verify" --model "$T/small-model.pt" --keys "$T/owner.key"
    expect_error_line "key was made for inputs [1,28,28], the model takes [1,14,14]"
    # Tampered key.
    cp "$T/owner.key" "$T/bad.key"
    $PY -c "import sys; p=sys.argv[1]; b=bytearray(open(p,'rb').read()); b[-300]^=4; open(p,'wb').write(b)" "$T/bad.key"
    expect_exit 2 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/bad.key"
    expect_error_line "$T/bad.key"
    # Candidates are not keys; black-box embedding needs --keys-out.
    expect_exit 2 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/cand.key"
    expect_error_line "holds candidates"
    expect_exit 2 "$BIN/ds-embed-wm" --config "$T/embed-bb.json" --model "$T/base.pt" --keys "$T/cand.key" \
      --out "$T/x.pt"
    expect_error_line "needs --keys-out"
    expect_no_file "$T/x.pt"
    # A schedule the rounds cannot follow is refused, not ignored.
    $PY -c "import json,sys; c=json.load(open(sys.argv[1])); c['optimizer']={'name':'sgd','lr':0.01,'schedule':'cosine'}; json.dump(c,open(sys.argv[2],'w'))" \
      "$T/embed-bb.json" "$T/sched.json"
    expect_exit 2 "$BIN/ds-embed-wm" --config "$T/sched.json" --model "$T/base.pt" --keys "$T/cand.key" \
      --out "$T/x.pt" --keys-out "$T/x.key"
    expect_error_line "sched.json: field 'optimizer.schedule' is not used by the black-box embedding"
    expect_no_file "$T/x.pt"
    ;;
  *) fail "unknown case" ;;
esac
echo "ok [$CASE]"
