#!/usr/bin/env bash
# Benchmarks every tool against the equivalent PyTorch eager code (Debian's python3-torch,
# scripts/bench/pt_equivalents.py), in one run on this machine, 1 thread per process, the two
# alternated REPEATS times so that machine noise hits both alike; the best run of each counts
# (medians for ds-verify's wall time). Measures:
#   training samples/s (MLP and CNN), white-box embedding samples/s (MLP), black-box embedding
#   time (MLP, same rounds), ds-verify wall time from process start against the Python
#   equivalent from interpreter start (MLP), 100 suspects verified in one process (suspects/s,
#   one worker against PyTorch's one; and with the default key, one worker and one per core,
#   process start to exit), peak RSS of each, and the white-box embedding overhead per step
#   against plain fine-tuning (MLP and CNN, the median of OVERHEAD_RUNS runs).
# Prints a table; writes JSON with the ratios (>= 1: deepsigns as fast or faster) to $OUT.
# Training rows also give the FLOP/s achieved (3x the forward FLOPs of the convolutions and
# linear layers per sample, times samples/s) against one core's peak: the clock /proc/cpuinfo
# reports times the FP32 FLOP per cycle of two FMA units at the widest vector width the flags
# name (AVX-512: 64, AVX2 with FMA: 32, AVX: 16, else 8); and against the best 1024^3 SGEMM
# PyTorch runs in the same run, a measured ceiling (a core that boosts above the clock it
# reports beats the nominal peak).
# Usage: scripts/bench.sh   (env: REPEATS=3, OVERHEAD_RUNS=5, OUT=runs/bench/bench.json, CNN=1, RESNET=1: a
#   torchvision ResNet-18 prepared as a user model, 512 images of 3x32x32, batch 64)
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${REPEATS:-3}
OUT=${OUT:-runs/bench/bench.json}
CNN=${CNN:-1}
OVERHEAD_RUNS=${OVERHEAD_RUNS:-5}
RESNET=${RESNET:-1}
scripts/install-deps.sh
scripts/build.sh
B=build/bin
PY=/usr/bin/python3
EQ=scripts/bench/pt_equivalents.py
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$(dirname "$OUT")"
export OMP_NUM_THREADS=1
log() { echo "bench: $*" >&2; }

# ---- inputs (not timed): a base MLP, a plain white-box key (no profile, no error correction:
# the Python equivalent reads the bits the same way) and black-box candidates ----
$PY scripts/derive-config.py configs/keys-whitebox.json "$W/keys.json" whitebox.ecc=none whitebox.profile_count=0
$PY scripts/derive-config.py configs/embed-whitebox.json "$W/embed-wb.json" max_epochs=1 accuracy_budget=1 \
  measure_overhead=false
$PY scripts/derive-config.py "$W/embed-wb.json" "$W/embed-overhead.json" measure_overhead=true
log "training the base MLP (3 epochs)"
$B/ds-train -q --config configs/train-mlp-fmnist.json --epochs 3 --out "$W/mlp.pt" --report "$W/base.json"
# Like with like: PyTorch runs on the OpenBLAS kernels the tools chose (lib/core/blas_kernels.cpp).
BLAS=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['timings']['blas_kernels'])" "$W/base.json")
[ -n "${OPENBLAS_CORETYPE:-}" ] || [ -z "$BLAS" ] || export OPENBLAS_CORETYPE=$BLAS
log "OpenBLAS kernels: ${BLAS:-none (not OpenBLAS)}"
$B/ds-gen-keys -q --config "$W/keys.json" --model "$W/mlp.pt" --out "$W/wb.key"
$B/ds-gen-keys -q --config configs/keys-blackbox.json --model "$W/mlp.pt" --out "$W/bb.cand"
$B/ds-embed-wm -q --config "$W/embed-wb.json" --model "$W/mlp.pt" --keys "$W/wb.key" --out "$W/marked.pt"
if [ "$CNN" = 1 ]; then  # for the embedding overhead on the CNN
  $B/ds-train -q --config configs/train-cnn-fmnist.json --epochs 1 --out "$W/cnn.pt"
  $B/ds-gen-keys -q --config "$W/keys.json" --model "$W/cnn.pt" --out "$W/cnn-wb.key"
fi
# The default key (profile for realignment, error correction): no PyTorch equivalent, measured alone.
$B/ds-gen-keys -q --config configs/keys-whitebox.json --model "$W/mlp.pt" --out "$W/default.key"
if [ "$RESNET" = 1 ]; then
  $PY scripts/make-rgb32.py /usr/share/datasets/fashion-mnist "$W/rgb" 512 128 >/dev/null
  $PY scripts/prepare-model.py --model torchvision:resnet18 --num-classes 10 --input-shape 3 32 32 \
    --mean 0.22 0.22 0.22 --std 0.33 0.33 0.33 --taps pool=avgpool --small-input-stem \
    --out "$W/resnet18.pt" >/dev/null
  cat >"$W/train-resnet18.json" <<JSON
{"model": {"arch": "torchscript", "path": "$W/resnet18.pt"},
 "data": {"format": "tensor", "path": "$W/rgb/train.pt", "test_path": "$W/rgb/test.pt"},
 "optimizer": {"name": "adam", "lr": 0.001}, "epochs": 1, "batch_size": 64, "seed": 1, "threads": 1}
JSON
fi
archs="mlp$([ "$CNN" = 1 ] && echo " cnn")$([ "$RESNET" = 1 ] && echo " resnet18")"
for arch in $archs; do $PY $EQ flops --arch $arch >"$W/flops-$arch.json"; done
$PY $EQ gemm >"$W/gemm.json"
# 100 suspects for the one-process scan (copies, so each is read from its own file).
for i in $(seq -w 1 100); do cp "$W/marked.pt" "$W/suspect-$i.pt"; done
ls "$W"/suspect-*.pt >"$W/suspects.txt"

# wall_rss FILE CMD...: runs CMD, appends "seconds peak_rss_kib" to FILE. Exit 1 is ds-verify's
# "not proven" (the default-key scan reads suspects marked with another key), not a failure.
wall_rss() {
  local file=$1; shift
  local t0 t1 rc=0
  t0=$(date +%s%N)
  /usr/bin/time -q -f "%M" -o "$W/rss" "$@" >/dev/null || rc=$?
  [ "$rc" -le 1 ] || { log "exit $rc: $*"; exit 1; }
  t1=$(date +%s%N)
  echo "$(awk "BEGIN { print ($t1 - $t0) / 1e9 }") $(cat "$W/rss")" >>"$file"
}

for r in $(seq "$REPEATS"); do
  log "round $r/$REPEATS: training"
  $B/ds-train -q --config configs/train-mlp-fmnist.json --epochs 2 --out "$W/t.pt" --report "$W/ds-train-mlp-$r.json"
  $PY $EQ train --arch mlp --epochs 2 >"$W/py-train-mlp-$r.json"
  if [ "$CNN" = 1 ]; then
    $B/ds-train -q --config configs/train-cnn-fmnist.json --epochs 1 --out "$W/t.pt" --report "$W/ds-train-cnn-$r.json"
    $PY $EQ train --arch cnn --epochs 1 >"$W/py-train-cnn-$r.json"
  fi
  if [ "$RESNET" = 1 ]; then
    $B/ds-train -q --config "$W/train-resnet18.json" --out "$W/t.pt" --report "$W/ds-train-resnet18-$r.json"
    $PY $EQ train --arch resnet18 --data "$W/rgb" --epochs 1 >"$W/py-train-resnet18-$r.json"
  fi
  log "round $r/$REPEATS: white-box embedding"
  $B/ds-embed-wm -q --config "$W/embed-wb.json" --model "$W/mlp.pt" --keys "$W/wb.key" --out "$W/e.pt" --report "$W/ds-embed-wb-$r.json"
  $PY $EQ embed-wb --model "$W/mlp.pt" --key "$W/wb.key" --epochs 1 >"$W/py-embed-wb-$r.json"
  log "round $r/$REPEATS: black-box embedding"
  $B/ds-embed-wm -q --config configs/embed-blackbox.json --model "$W/mlp.pt" --keys "$W/bb.cand" --out "$W/b.pt" \
    --keys-out "$W/b.key" --report "$W/ds-embed-bb-$r.json"
  rounds=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['rounds'])" "$W/ds-embed-bb-$r.json")
  $PY $EQ embed-bb --model "$W/mlp.pt" --key "$W/bb.cand" --rounds "$rounds" >"$W/py-embed-bb-$r.json"
  log "round $r/$REPEATS: verification"
  for i in 1 2 3; do
    wall_rss "$W/ds-verify.txt" $B/ds-verify -q --model "$W/marked.pt" --keys "$W/wb.key"
    wall_rss "$W/py-verify.txt" $PY $EQ verify --model "$W/marked.pt" --key "$W/wb.key"
    wall_rss "$W/ds-version.txt" $B/ds-verify --version
    wall_rss "$W/py-import.txt" $PY -c "import torch"
  done
  wall_rss "$W/ds-verify-many.txt" $B/ds-verify -q --models-from "$W/suspects.txt" --keys "$W/wb.key" --jobs 1
  wall_rss "$W/py-verify-many.txt" $PY $EQ verify --models-from "$W/suspects.txt" --key "$W/wb.key"
  for j in 1 0; do
    wall_rss "$W/ds-verify-default-$j.txt" $B/ds-verify -q --models-from "$W/suspects.txt" --keys "$W/default.key" --jobs $j
  done
done
# The embedding overhead, OVERHEAD_RUNS runs per model (each ds-embed-wm run times plain and
# embedding steps alternately on the same batches, after its epoch).
for r in $(seq "$OVERHEAD_RUNS"); do
  log "overhead run $r/$OVERHEAD_RUNS"
  for arch in mlp $([ "$CNN" = 1 ] && echo cnn); do
    key="$W/wb.key"; [ "$arch" = mlp ] || key="$W/$arch-wb.key"
    $B/ds-embed-wm -q --config "$W/embed-overhead.json" --model "$W/$arch.pt" --keys "$key" \
      --out "$W/e.pt" --report "$W/overhead-$arch-$r.json"
  done
done

$PY - "$W" "$REPEATS" "$OUT" "$CNN" "$RESNET" "$OVERHEAD_RUNS" <<'PY'
import json, os, platform, statistics, sys
w, repeats, out, cnn, resnet = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] == "1", sys.argv[5] == "1"
overhead_runs = int(sys.argv[6])
load = lambda name: [json.load(open(f"{w}/{name}-{r}.json")) for r in range(1, repeats + 1)]
def walls(name):
    rows = [l.split() for l in open(f"{w}/{name}.txt")]
    return statistics.median(float(a) for a, _ in rows), max(int(b) for _, b in rows) / 1024
def ds_rate(reports): return max(e["samples_per_second"] for d in reports for e in d["epochs"])
def py_rate(reports): return max(s for p in reports for s in p["samples_per_second"])
rss = lambda reports: max(d["peak_rss_mib"] for d in reports)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
res = {"machine": f"{cpu}, {len(open('/proc/cpuinfo').read().split('processor')) - 1} cores",
       "blas_kernels": os.environ.get("OPENBLAS_CORETYPE", ""), "threads": 1, "repeats": repeats, "rows": []}
def row(name, unit, ours, theirs, higher_is_better, ours_rss, theirs_rss):
    ratio = ours / theirs if higher_is_better else theirs / ours
    res["rows"].append({"benchmark": name, "unit": unit, "deepsigns": ours, "pytorch": theirs,
                        "ratio": ratio, "deepsigns_peak_rss_mib": ours_rss,
                        "pytorch_peak_rss_mib": theirs_rss})
def core_peak_gflops():
    info = open("/proc/cpuinfo").read()
    flags = set(next(l for l in info.splitlines() if l.startswith("flags")).split(":")[1].split())
    mhz = max(float(l.split(":")[1]) for l in info.splitlines() if l.startswith("cpu MHz"))
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 16 if "avx" in flags else 8
    return mhz / 1000 * per_cycle, mhz, per_cycle
peak, mhz, per_cycle = core_peak_gflops()
gemm = json.load(open(f"{w}/gemm.json"))["gflops"]
res["core_peak"] = {"gflops": peak, "mhz": mhz, "flop_per_cycle": per_cycle, "best_sgemm_gflops": gemm}
res["training_flops"] = {}
for arch in ["mlp"] + (["cnn"] if cnn else []) + (["resnet18"] if resnet else []):
    d, p = load(f"ds-train-{arch}"), load(f"py-train-{arch}")
    row(f"train {arch} (ds-train)", "samples/s", ds_rate(d), py_rate(p), True, rss(d), rss(p))
    per_sample = 3 * json.load(open(f"{w}/flops-{arch}.json"))["forward_flops_per_sample"]
    res["training_flops"][arch] = {
        "flops_per_sample": per_sample,
        "deepsigns_gflops": ds_rate(d) * per_sample / 1e9, "pytorch_gflops": py_rate(p) * per_sample / 1e9}
d, p = load("ds-embed-wb"), load("py-embed-wb")
row("white-box embedding mlp (ds-embed-wm)", "samples/s", ds_rate(d), py_rate(p), True, rss(d), rss(p))
d, p = load("ds-embed-bb"), load("py-embed-bb")
row("black-box embedding mlp (ds-embed-wm)", "s", min(x["timings"]["embed_seconds"] for x in d),
    min(x["seconds"] for x in p), False, rss(d), rss(p))
(dv, dr), (pv, pr) = walls("ds-verify"), walls("py-verify")
row("verify mlp, process start to exit (ds-verify)", "s", dv, pv, False, dr, pr)
(dm, dmr), (pm, pmr) = walls("ds-verify-many"), walls("py-verify-many")
row("verify 100 mlp suspects, one process", "suspects/s", 100 / dm,
    100 / pm, True, dmr, pmr)
res["verify_100_default_key"] = {}
for j in (1, 0):
    wall, peak_rss = walls(f"ds-verify-default-{j}")
    res["verify_100_default_key"][f"jobs_{j}"] = {"suspects_per_second": 100 / wall, "peak_rss_mib": peak_rss}
(dl, dlr), (pl, plr) = walls("ds-version"), walls("py-import")
row("start-up only: ds-verify --version vs import torch", "s", dl, pl, False, dlr, plr)
# Overhead: each ds-embed-wm run times plain fine-tuning and embedding steps alternately on
# the same batches (median of each); the median over runs counts.
res["whitebox_embed_overhead"] = {}
for arch in ["mlp"] + (["cnn"] if cnn else []):
    over = [json.load(open(f"{w}/overhead-{arch}-{r}.json"))["timings"]["embed_overhead"]
            for r in range(1, overhead_runs + 1)]
    res["whitebox_embed_overhead"][arch] = {"median": sorted(over)[len(over) // 2], "per_run": over}
json.dump(res, open(out, "w"), indent=2)
print(f"{'benchmark':52}{'deepsigns':>11}{'PyTorch':>11}{'ratio':>7}{'RSS MiB':>9}{'(PyTorch)':>10}")
for r in res["rows"]:
    f = "{:11.0f}" if r["unit"] == "samples/s" else "{:11.1f}" if r["unit"] == "suspects/s" else "{:11.3f}"
    print(f"{r['benchmark'] + ' [' + r['unit'] + ']':52}" + f.format(r["deepsigns"]) + f.format(r["pytorch"]) +
          f"{r['ratio']:7.2f}{r['deepsigns_peak_rss_mib']:9.0f}{r['pytorch_peak_rss_mib']:10.0f}")
for arch, o in res["whitebox_embed_overhead"].items():
    print(f"white-box embedding overhead per step vs plain fine-tuning, {arch} (interleaved, median of "
          f"{len(o['per_run'])} runs): {100 * o['median']:+.1f}% (per run: "
          f"{', '.join(f'{100 * x:+.1f}%' for x in o['per_run'])})")
v = res["verify_100_default_key"]
print(f"verify 100 mlp suspects, default key (realigned, error-corrected; no PyTorch equivalent): "
      f"{v['jobs_1']['suspects_per_second']:.1f} suspects/s on one worker, "
      f"{v['jobs_0']['suspects_per_second']:.1f} with one per core (--jobs 0)")
for arch, f in res["training_flops"].items():
    print(f"train {arch}: {f['flops_per_sample'] / 1e6:.1f} MFLOP per sample; {f['deepsigns_gflops']:.1f} GFLOP/s "
          f"({100 * f['deepsigns_gflops'] / peak:.0f}% of the nominal peak, {100 * f['deepsigns_gflops'] / gemm:.0f}% of "
          f"the best SGEMM), PyTorch {f['pytorch_gflops']:.1f} ({100 * f['pytorch_gflops'] / peak:.0f}%, "
          f"{100 * f['pytorch_gflops'] / gemm:.0f}%)")
print(f"one core's nominal peak: {peak:.0f} GFLOP/s ({mhz:.0f} MHz x {per_cycle} FP32 FLOP per cycle); "
      f"best 1024^3 SGEMM in this run: {gemm:.0f} GFLOP/s (a core that boosts above the reported "
      "clock beats the nominal peak)")
print(f"ratio >= 1: deepsigns as fast or faster.  JSON: {out}")
PY
