#!/usr/bin/env bash
# Fixed end-to-end run whose outputs must not change when the code is reorganised: trains an
# MLP, makes and embeds a white-box and a black-box key, attacks the marked model three ways and
# verifies each result, then prints the SHA-256 of every model, key and report (reports without
# their timings, speeds and memory figures, which differ from run to run).
#   scripts/behaviour-digests.sh [BIN_DIR]          print the digests
#   scripts/behaviour-digests.sh --check [BIN_DIR]  compare with scripts/behaviour-digests.txt
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
BIN=$(cd "${1:-$SRC/build/bin}" && pwd)
PY=/usr/bin/python3
# OpenBLAS's kernels change the last bits of every GEMM, and the tools pick them by CPU
# (lib/core/blas_kernels.cpp): the digests are recorded on the SSE3 kernels every x86-64 runs.
export OPENBLAS_CORETYPE=Prescott
W=$(mktemp -d /tmp/ds-digests.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"

DATA='{"format": "idx", "path": "/usr/share/datasets/fashion-mnist", "train_fraction": 0.25}'
cat >train.json <<JSON
{"model": {"arch": "mlp", "hidden": [256, 128]}, "data": $DATA,
 "optimizer": {"name": "adam", "lr": 0.001}, "epochs": 1, "batch_size": 128, "seed": 3, "threads": 1}
JSON
cat >keys-wb.json <<JSON
{"kind": "whitebox", "seed": 21, "data": $DATA,
 "whitebox": {"carrier_count": 1, "bits": 64, "message": "digest owner", "trigger_fraction": 0.01,
              "ecc": "bch", "ecc_t": 7, "profile_count": 256}}
JSON
cat >embed-wb.json <<JSON
{"data": $DATA, "optimizer": {"name": "adam", "lr": 0.0005}, "max_epochs": 1, "batch_size": 128,
 "accuracy_budget": 1.0, "measure_overhead": false, "seed": 1, "threads": 1}
JSON
cat >keys-bb.json <<JSON
{"kind": "blackbox", "seed": 22, "blackbox": {"keys": 16, "candidate_factor": 40}}
JSON
cat >embed-bb.json <<JSON
{"kind": "blackbox", "data": $DATA, "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9},
 "epochs_per_round": 1, "max_rounds": 3, "batch_size": 128, "seed": 1, "threads": 1}
JSON
echo '{"attack": "prune", "rate": 0.5, "global": true, "data": '"$DATA"'}' >prune.json
echo '{"attack": "obfuscate", "dummy_fraction": 0.1, "low": 0.2, "high": 5, "seed": 4}' >obfuscate.json
echo '{"attack": "finetune", "mode": "ftal", "epochs": 1, "lr": 0.001, "optimizer": {"name": "adam"},
 "attacker_fraction": 0.5, "seed": 5, "data": '"$DATA"'}' >ftal.json

run() { "$@" 2>>log.txt || { tail -5 log.txt >&2; echo "failed: $*" >&2; exit 1; }; }
run "$BIN/ds-train" --config train.json --out base.pt --report train.report.json
run "$BIN/ds-gen-keys" --config keys-wb.json --model base.pt --out wb-draft.key --report keys-wb.report.json
run "$BIN/ds-embed-wm" --config embed-wb.json --model base.pt --keys wb-draft.key --out wb.pt \
  --keys-out wb.key --report embed-wb.report.json
run "$BIN/ds-gen-keys" --config keys-bb.json --model base.pt --out bb-draft.key --report keys-bb.report.json
run "$BIN/ds-embed-wm" --config embed-bb.json --model base.pt --keys bb-draft.key --out bb.pt \
  --keys-out bb.key --report embed-bb.report.json
for a in prune obfuscate ftal; do
  run "$BIN/ds-attack" --config $a.json --model wb.pt --keys wb.key --out $a.pt --report attack-$a.report.json
  "$BIN/ds-verify" --model $a.pt --keys wb.key --report verify-$a.report.json 2>>log.txt || true
done
"$BIN/ds-verify" --model wb.pt --keys wb.key --report verify-wb.report.json 2>>log.txt || true
"$BIN/ds-verify" --model bb.pt --keys bb.key --report verify-bb.report.json 2>>log.txt || true

# Reports without run-dependent fields: times, speeds, memory, and the tool version string.
for r in *.report.json; do
  $PY - "$r" <<'PY'
import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items()
                if k not in ("timings", "peak_rss_mib", "version", "seconds", "samples_per_second")
                and not k.endswith("_seconds")}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
p = sys.argv[1]
json.dump(strip(json.load(open(p))), open(p + ".stable", "w"), indent=1, sort_keys=True)
PY
done
digests=$(sha256sum *.pt *.key *.report.json.stable | sort -k2)
if [ $check -eq 0 ]; then
  echo "$digests"
  exit 0
fi
if diff <(echo "$digests") "$SRC/scripts/behaviour-digests.txt"; then
  echo "behaviour digests: all $(echo "$digests" | wc -l) outputs identical"
else
  echo "behaviour digests differ (left: this build, right: recorded)" >&2
  exit 1
fi
