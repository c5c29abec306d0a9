#!/usr/bin/env bash
# The streaming targets: peak memory of ds-train on 64x64x3 JPEG image folders of 20,000 and
# 100,000 images (Fashion-MNIST, the larger with 40,000 mirrored repeats), and the loop's data
# wait for the shipped MLP and CNN configs streaming all of Fashion-MNIST as PNG files. One
# epoch each; prints peak RSS, data-wait share and loader throughput per run.
# Usage: scripts/stream-targets.sh OUT   (env: B=build/bin, DATA=/usr/share/datasets/fashion-mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/stream-targets.sh OUT}
B=${B:-build/bin}
DATA=${DATA:-/usr/share/datasets/fashion-mnist}
PY=/usr/bin/python3
mkdir -p "$OUT"
$PY - "$DATA" "$OUT" <<'PY'
import sys, torch
sys.path.insert(0, "scripts")
from idx_data import load_split
x, y = load_split(sys.argv[1], "train")
tx, ty = load_split(sys.argv[1], "t10k")
u8 = lambda t: (t[:, 0] * 255).round().to(torch.uint8)
x, tx = u8(x), u8(tx)
big, bigy = torch.cat([x, x[:40000].flip(-1)]), torch.cat([y, y[:40000]])
for n in (20000, 100000):
    torch.save({"x": big[:n].clone(), "y": bigy[:n].clone()}, f"{sys.argv[2]}/train{n}.pt")
torch.save({"x": tx[:2000].clone(), "y": ty[:2000].clone()}, f"{sys.argv[2]}/test.pt")
PY
for n in 20000 100000; do
  [ -d "$OUT/f$n" ] || $PY scripts/make-imagefolder.py "$OUT/train$n.pt" "$OUT/f$n" \
    --test-file "$OUT/test.pt" --format jpg --size 64 64 --channels 3 >/dev/null
done
[ -d "$OUT/fmnist-png" ] || $PY scripts/make-imagefolder.py "$DATA" "$OUT/fmnist-png" >/dev/null

# run NAME BASE_CONFIG ROOT: one streamed epoch of BASE_CONFIG on the folder ROOT/{train,test}.
run() {
  $PY - "$2" "$3" "$OUT/$1.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["data"] = {"format": "imagefolder", "path": f"{sys.argv[2]}/train",
             "test_path": f"{sys.argv[2]}/test", "stream": True}
c["epochs"] = 1
json.dump(c, open(sys.argv[3], "w"))
PY
  $B/ds-train -q --config "$OUT/$1.json" --out "$OUT/$1.pt" --report "$OUT/$1.report.json"
  $PY - "$1" "$OUT/$1.report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[2])); e = r["epochs"][0]
print(f"{sys.argv[1]}: {r['train_samples']} images, peak RSS {r['peak_rss_mib']:.1f} MiB, "
      f"data wait {100 * e['data_wait_share']:.2f}% of {e['seconds']:.1f} s, "
      f"{e['samples_per_loader_second']:.0f} images/s per loader thread, "
      f"test accuracy {r['test_accuracy']:.4f}")
PY
}
for n in 20000 100000; do run "jpeg64-$n" configs/train-mlp-fmnist.json "$OUT/f$n"; done
for a in mlp cnn; do run "png28-$a" "configs/train-$a-fmnist.json" "$OUT/fmnist-png"; done
