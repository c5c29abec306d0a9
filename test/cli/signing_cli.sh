#!/usr/bin/env bash
# ctest cases for signed, committed keys: an owner signs a white-box key and commits to it,
# ds-verify checks signature, commitment and owner before scoring; a black-box final key is
# signed by ds-embed-wm; tampered, forged and uncommitted keys exit 2 and are never scored.
source "$(dirname "$0")/common.sh"
write_small_watermark_configs

# A new owner identity; its white-box draft and final keys, signed and committed to.
setup_marked() {
  expect_exit 0 "$BIN/ds-gen-keys" --init-owner "$T/owner"
  [ "$(stat -c %a "$T/owner")" = 600 ] || fail "owner secret is not 0600"
  make_marked "$T/owner"
}

case "$CASE" in
  signed_whitebox)
    setup_marked
    expect_exit 0 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/owner.key" \
      --commitment "$T/commit.json" --owner-public "$T/owner.pub" --report "$T/v.json"
    [ "$(json_get "$T/v.json" "['key_checks']['signature']")" = valid ] || fail "signature not checked"
    [ "$(json_get "$T/v.json" "['key_checks']['commitment']")" = matches ] || fail "commitment not checked"
    [ "$(json_get "$T/v.json" "['key_checks']['owner']")" = matches ] || fail "owner not checked"
    # The draft's commitment is for other bytes (signed at another time): refused, not scored.
    expect_exit 2 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/owner.key" \
      --commitment "$T/draft.commit.json" --report "$T/bad.json"
    expect_error_line "commit"
    expect_no_file "$T/bad.json"
    # Another owner's public key.
    expect_exit 0 "$BIN/ds-gen-keys" --init-owner "$T/thief"
    expect_exit 2 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/owner.key" --owner-public "$T/thief.pub"
    expect_error_line "another owner"
    # The thief makes a key for the marked model after the fact and signs it: its signature is
    # valid, but it is not the owner's committed key.
    expect_exit 0 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/marked.pt" --out "$T/forged.key" \
      --owner "$T/thief"
    expect_exit 2 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/forged.key" --commitment "$T/commit.json"
    expect_error_line "commit"
    ;;
  tampered_keys)
    setup_marked
    # One bit flipped at spread positions of the key file: always refused with exit 2.
    size=$(stat -c %s "$T/owner.key")
    for pos in 0 7 100 $((size / 3)) $((size / 2)) $((size - 200)) $((size - 1)); do
      $PY - "$T/owner.key" "$T/t.key" "$pos" <<'PYEOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[int(sys.argv[3])] ^= 1 << (int(sys.argv[3]) % 8)
open(sys.argv[2], "wb").write(bytes(b))
PYEOF
      expect_exit 2 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/t.key" --report "$T/t.json"
      expect_no_file "$T/t.json"
    done
    # Secret readable by others: refused.
    chmod 644 "$T/owner"
    expect_exit 2 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/base.pt" --out "$T/x.key" --owner "$T/owner"
    expect_error_line "readable by others"
    expect_no_file "$T/x.key"
    chmod 600 "$T/owner"
    # An identity is never overwritten; a commitment needs a signature.
    expect_exit 2 "$BIN/ds-gen-keys" --init-owner "$T/owner"
    expect_error_line "exists already"
    expect_exit 2 "$BIN/ds-gen-keys" --config "$T/keys-wb.json" --model "$T/base.pt" --out "$T/y.key" --commitment "$T/y.json"
    expect_error_line "--owner"
    expect_no_file "$T/y.key"
    ;;
  signed_blackbox)
    expect_exit 0 "$BIN/ds-gen-keys" --init-owner "$T/owner"
    make_marked_blackbox "$T/owner"
    expect_exit 0 "$BIN/ds-verify" --model "$T/marked.pt" --keys "$T/owner.key" --commitment "$T/commit.json" \
      --owner-public "$T/owner.pub" --report "$T/v.json"
    [ "$(json_get "$T/v.json" "['key_checks']['commitment']")" = matches ] || fail "commitment not checked"
    # Without --owner the final key (other content than the signed candidates) is unsigned.
    expect_exit 0 "$BIN/ds-embed-wm" --config "$T/embed-bb.json" --model "$T/base.pt" --keys "$T/cand.key" \
      --out "$T/bb2.pt" --keys-out "$T/bb2.key"
    expect_exit 0 "$BIN/ds-verify" --model "$T/bb2.pt" --keys "$T/bb2.key" --report "$T/v2.json"
    [ "$(json_get "$T/v2.json" "['key_checks']['signature']")" = unsigned ] || fail "stale signature kept"
    ;;
  *) fail "unknown case" ;;
esac
