# Shell steps the measurement scripts share; source it after setting B (the tools' folder).
# Each step is skipped when its output exists, so an interrupted script resumes.

# add_blackbox DIR NAME MODEL [KEY]: black-box candidates for MODEL (added to the owner's KEY
# when given, so that one key holds both parts), embedded into DIR/NAME.pt; the owner's final
# key is DIR/NAME.key and the embedding report DIR/embed-NAME.json.
add_blackbox() {
  local dir=$1 name=$2 model=$3 key=${4:-}
  local extend=()
  [ -z "$key" ] || extend=(--keys "$key")
  [ -f "$dir/$name.cand" ] || $B/ds-gen-keys --config configs/keys-blackbox.json \
    --model "$model" "${extend[@]}" --out "$dir/$name.cand" -q
  [ -f "$dir/$name.pt" ] || $B/ds-embed-wm --config configs/embed-blackbox.json --model "$model" \
    --keys "$dir/$name.cand" --out "$dir/$name.pt" --keys-out "$dir/$name.key" \
    --report "$dir/embed-$name.json" -q
}

# verify_marked_and_base DIR NAME BASE: ds-verify of DIR/NAME.pt (verify-NAME.json) and of the
# unmarked BASE model (verify-NAME-unmarked.json) with DIR/NAME.key; exit codes to DIR/exits.txt.
verify_marked_and_base() {
  local dir=$1 name=$2 base=$3
  $B/ds-verify --model "$dir/$name.pt" --keys "$dir/$name.key" --report "$dir/verify-$name.json" -q
  echo "$name marked: exit $?" >>"$dir/exits.txt"
  $B/ds-verify --model "$base" --keys "$dir/$name.key" --report "$dir/verify-$name-unmarked.json" -q
  echo "$name unmarked base: exit $?" >>"$dir/exits.txt"
}
