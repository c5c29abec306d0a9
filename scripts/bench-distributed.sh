#!/usr/bin/env bash
# Data-parallel throughput on this machine: one epoch of ds-train (MLP and CNN, the shipped
# configs, 1 thread per process) with 1 process and with 2 local ranks (scripts/launch.sh),
# alternated REPEATS times; prints samples/s (best of each), the 2-rank communication share of
# an epoch (time in all-reduces, waiting for the slower rank included) and the largest
# parameter difference between the 1- and 2-rank models of the first repeat.
# Usage: scripts/bench-distributed.sh   (env: REPEATS=2, ARCHS="mlp cnn", OUT=runs/bench/distributed.json)
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-2}
ARCHS=${ARCHS:-"mlp cnn"}
OUT=${OUT:-runs/bench/distributed.json}
scripts/install-deps.sh
scripts/build.sh
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$(dirname "$OUT")"
port=$((29600 + RANDOM % 1000))
for arch in $ARCHS; do
  for r in $(seq "$REPEATS"); do
    echo "bench-distributed: $arch, repeat $r/$REPEATS" >&2
    build/bin/ds-train -q --config configs/train-$arch-fmnist.json --epochs 1 --out "$W/$arch-1-$r.pt" \
      --report "$W/$arch-1-$r.json"
    scripts/launch.sh -n 2 -p $((port++)) ds-train -q --config configs/train-$arch-fmnist.json --epochs 1 \
      --out "$W/$arch-2-$r.pt" --report "$W/$arch-2-$r.json"
  done
done
/usr/bin/python3 - "$W" "$REPEATS" "$OUT" $ARCHS <<'PY'
import json, sys, torch
w, repeats, out, archs = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
res = {"threads_per_process": 1, "rows": []}
print(f"{'model':6}{'1 process':>12}{'2 ranks':>12}{'speed-up':>10}{'comm share':>12}{'max |dW|':>11}")
for arch in archs:
    one = [json.load(open(f"{w}/{arch}-1-{r}.json"))["epochs"][0] for r in range(1, repeats + 1)]
    two = [json.load(open(f"{w}/{arch}-2-{r}.json"))["epochs"][0] for r in range(1, repeats + 1)]
    a = dict(torch.jit.load(f"{w}/{arch}-1-1.pt").named_parameters())
    b = dict(torch.jit.load(f"{w}/{arch}-2-1.pt").named_parameters())
    diff = max((a[k] - b[k]).abs().max().item() for k in a)
    s1 = max(e["samples_per_second"] for e in one)
    best2 = max(two, key=lambda e: e["samples_per_second"])
    row = {"model": arch, "samples_per_second_1": s1, "samples_per_second_2": best2["samples_per_second"],
           "speedup": best2["samples_per_second"] / s1, "communication_share_2": best2["communication_share"],
           "max_abs_parameter_difference": diff}
    res["rows"].append(row)
    print(f"{arch:6}{s1:12.0f}{row['samples_per_second_2']:12.0f}{row['speedup']:10.2f}"
          f"{row['communication_share_2']:12.2f}{diff:11.2e}")
json.dump(res, open(out, "w"), indent=2)
print(f"(dropout and batch norm make the models differ beyond summation order; JSON: {out})")
PY
