#!/usr/bin/env bash
# ctest case for the malformed-input corpus (data/malformed, cases.json): every broken file or
# config gets exactly its recorded one-line error and exit status, writes nothing, and leaves
# the corpus untouched.
source "$(dirname "$0")/common.sh"

case "$CASE" in
  corpus)
    $PY - "$BIN" "$SRC/data/malformed" <<'PYEOF' || fail "malformed-input corpus"
import hashlib, json, os, subprocess, sys, tempfile
bin_dir, d = sys.argv[1], sys.argv[2]
def digest():
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(d)):
        for f in sorted(files):
            h.update(f.encode()); h.update(open(os.path.join(root, f), "rb").read())
    return h.hexdigest()
before = digest()
cases = json.load(open(os.path.join(d, "cases.json")))
assert len(cases) >= 30, len(cases)
bad = 0
for c in cases:
    with tempfile.TemporaryDirectory() as t:
        args = [a.replace("{T}", t) for a in c["command"]]
        p = subprocess.run([os.path.join(bin_dir, args[0]), *args[1:]], cwd=d, capture_output=True, text=True)
        lines = p.stderr.strip().splitlines()
        line = lines[-1].replace(t, "{T}") if lines else ""
        problems = []
        if p.returncode != c["exit"]: problems.append(f"exit {p.returncode}, expected {c['exit']}")
        if line != c["error"]: problems.append(f"error line {line!r}, expected {c['error']!r}")
        if os.listdir(t): problems.append(f"wrote {os.listdir(t)}")
        if "Traceback" in p.stderr or "terminate called" in p.stderr: problems.append("crashed")
        if problems:
            bad += 1
            print(f"{c['name']}: " + "; ".join(problems), file=sys.stderr)
assert digest() == before, "the corpus was modified"
print(f"{len(cases) - bad} of {len(cases)} malformed inputs refused as recorded", file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
    ;;
  *) fail "unknown case" ;;
esac
