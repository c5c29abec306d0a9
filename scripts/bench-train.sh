#!/usr/bin/env bash
# Benchmark: ds-train against the equivalent PyTorch eager loop (Debian's python3-torch), same
# MLP, data, optimizer, batch size, epochs and threads, measured in one run on this machine.
# Prints samples/s of each, their ratio and peak RSS; writes JSON to $OUT (bench-train.json).
set -euo pipefail
cd "$(dirname "$0")/.."
EPOCHS=${EPOCHS:-2}
THREADS=${THREADS:-1}
REPEATS=${REPEATS:-3}
OUT=${OUT:-runs/bench/bench-train.json}
scripts/install-deps.sh
scripts/build.sh
mkdir -p "$(dirname "$OUT")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Alternate the two so that machine noise hits both alike; keep the best epoch of each.
for r in $(seq "$REPEATS"); do
  build/bin/ds-train --config configs/train-mlp-fmnist.json --epochs "$EPOCHS" --threads "$THREADS" \
    --out "$tmp/m.pt" --report "$tmp/ds-$r.json" -q
  /usr/bin/python3 scripts/bench/train_mlp.py --epochs "$EPOCHS" --threads "$THREADS" >"$tmp/py-$r.json"
done
/usr/bin/python3 - "$tmp" "$REPEATS" "$OUT" "$THREADS" <<'PY'
import json, platform, sys
tmp, repeats, out, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
ds = [json.load(open(f"{tmp}/ds-{r}.json")) for r in range(1, repeats + 1)]
py = [json.load(open(f"{tmp}/py-{r}.json")) for r in range(1, repeats + 1)]
ds_rate = max(e["samples_per_second"] for d in ds for e in d["epochs"])
py_rate = max(s for p in py for s in p["samples_per_second"])
res = {"benchmark": "train-mlp-fmnist", "threads": threads, "machine": platform.processor() or platform.machine(),
       "ds_train_samples_per_second": ds_rate, "pytorch_samples_per_second": py_rate,
       "ratio": ds_rate / py_rate,
       "ds_train_peak_rss_mib": max(d["peak_rss_mib"] for d in ds),
       "pytorch_peak_rss_mib": max(p["peak_rss_mib"] for p in py)}
json.dump(res, open(out, "w"), indent=2)
print(f"{'':24}{'samples/s':>12}{'peak RSS MiB':>14}")
print(f"{'ds-train':24}{ds_rate:12.0f}{res['ds_train_peak_rss_mib']:14.0f}")
print(f"{'PyTorch eager':24}{py_rate:12.0f}{res['pytorch_peak_rss_mib']:14.0f}")
print(f"ratio ds-train / PyTorch: {res['ratio']:.2f}   (written to {out})")
PY
