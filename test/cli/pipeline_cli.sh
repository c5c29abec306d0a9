#!/usr/bin/env bash
# ctest cases for the experiment pipeline and its results page: a tiny run of
# scripts/experiments.mk produces every report and the page; a second make does nothing; a
# changed config reruns only what depends on it; the page renders in headless Chromium with
# its plots laid out; ds-report refuses bad runs with exit 2 and writes nothing.
source "$(dirname "$0")/common.sh"

# A tiny profile: 10% of Fashion-MNIST, short training, one unmarked model, two payload sizes,
# three attack points.
cat >"$T/sweep.json" <<JSON
{"title": "tiny sweep", "data": {"format": "idx", "path": "$FMNIST"}, "attacker_fraction": 0.1,
 "seed": 7, "workers": 1,
 "grid": [{"label": "pruning", "attack": "prune", "rate": [0, 0.9]},
          {"label": "quantisation", "attack": "quantize", "bits": [8]}]}
JSON
MAKE_ARGS=(-f "$SRC/scripts/experiments.mk" B="$BIN" RUN="$T/run" DATA_FRACTION=0.1
           TRAIN_EPOCHS=2 INTEGRITY_SEEDS=2 INTEGRITY_EPOCHS=1 CAPACITY_BITS="16 32"
           SWEEP="$T/sweep.json")

# Renders PAGE in headless Chromium and prints, as JSON, each plot's laid-out size and marks.
render_check() {
  local page=$T/check.html
  sed 's|</body>|<script>window.addEventListener("load", () => { const figs = [...document.querySelectorAll("figure.plot svg")].map(s => { const r = s.getBoundingClientRect(); return {id: s.parentElement.id, w: r.width, h: r.height, marks: s.querySelectorAll("circle, path").length, drawn: s.getBBox().width}; }); const pre = document.createElement("pre"); pre.id = "render-check"; pre.textContent = JSON.stringify(figs); document.body.appendChild(pre); });</script></body>|' \
    "$1" >"$page"
  HOME=$T chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chromium" \
    --virtual-time-budget=10000 --dump-dom "file://$page" 2>"$T/chromium.err"
}

case "$CASE" in
  run_and_render)
    command -v chromium >/dev/null || fail "chromium is not installed (scripts/install-deps.sh)"
    (cd "$SRC" && make "${MAKE_ARGS[@]}" -j2 all) >"$T/make.log" 2>&1 \
      || { tail -n 30 "$T/make.log" >&2; fail "pipeline failed"; }
    for f in mlp.pt embed-mlp-wb.json embed-mlp-bb.json embed-mlp-both.json \
             verify-mlp-wb.json verify-mlp-bb.json verify-mlp-both.json \
             integrity/mlp-base.json integrity/mlp-s2.json capacity/mlp-b16.json \
             capacity/mlp-b32.json sweeps/mlp/results.json report.html RESULTS.md \
             RESULTS-figures/integrity.svg RESULTS-figures/capacity.svg \
             RESULTS-figures/robustness-mlp.svg; do
      [ -s "$T/run/$f" ] || fail "pipeline did not write $f"
    done
    [ "$(json_get "$T/run/verify-mlp-both.json" "['verified']")" = True ] || fail "marked model not proven"
    [ "$(json_get "$T/run/integrity/mlp-s2.json" "['verified']")" = False ] || fail "unmarked model proven"
    [ "$(json_get "$T/run/capacity/mlp-b32.json" "['watermark']['bits_per_carrier']")" = 32 ] \
      || fail "capacity report lacks its payload size"
    # Incremental: nothing to do now; a changed sweep config reruns the sweep and the page only.
    (cd "$SRC" && make "${MAKE_ARGS[@]}" -q all) || fail "a second make would redo work"
    sleep 1
    touch "$T/sweep.json"
    (cd "$SRC" && make "${MAKE_ARGS[@]}" -n all) >"$T/plan.txt" 2>&1
    grep -q "ds-attack" "$T/plan.txt" || fail "changed sweep config does not rerun the sweep"
    grep -q "ds-report" "$T/plan.txt" || fail "changed sweep config does not rerun the page"
    if grep -qE "ds-train|ds-embed-wm|ds-gen-keys" "$T/plan.txt"; then
      fail "changed sweep config reruns unrelated steps: $(cat "$T/plan.txt")"
    fi
    # The page in a browser: three plots, each laid out at a real size with marks drawn.
    render_check "$T/run/report.html" >"$T/dom.html" || { cat "$T/chromium.err" >&2; fail "chromium failed"; }
    $PY - "$T/dom.html" <<'PYEOF' || fail "the page's plots did not render"
import html, json, re, sys
dom = open(sys.argv[1]).read()
m = re.search(r'<pre id="render-check">(.*?)</pre>', dom, re.S)
assert m, "render check did not run"
figs = json.loads(html.unescape(m.group(1)))
ids = sorted(f["id"] for f in figs)
assert ids == ["fig-capacity.svg", "fig-integrity.svg", "fig-robustness-mlp.svg"], ids
for f in figs:
    assert f["w"] > 300 and f["h"] > 200 and f["drawn"] > 300 and f["marks"] >= 3, f
PYEOF
    grep -q '<img\|src="http' "$T/run/report.html" && fail "the page is not self-contained"
    grep -q "](RESULTS-figures/capacity.svg)" "$T/run/RESULTS.md" || fail "Markdown lacks its figures"
    ;;
  bad_run)
    expect_exit 2 "$BIN/ds-report" --run "$T/missing" --html "$T/out.html"
    expect_error_line "$T/missing"
    expect_no_file "$T/out.html"
    mkdir -p "$T/run/capacity"
    printf '{"tool": "ds-embed-wm", "kind": "whiteb' >"$T/run/capacity/mlp-b16.json"
    expect_exit 2 "$BIN/ds-report" --run "$T/run" --html "$T/out.html" --markdown "$T/out.md"
    expect_error_line "mlp-b16.json"
    expect_error_line "not valid JSON"
    expect_no_file "$T/out.html"
    expect_no_file "$T/out.md"
    expect_exit 2 "$BIN/ds-report" --run "$T/run"
    expect_error_line "--html"
    ;;
  *) fail "unknown case" ;;
esac
