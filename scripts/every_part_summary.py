#!/usr/bin/env python3
"""Tabulates an every-part run (scripts/every-part-targets.sh OUT): one Markdown row per attacked
model with each part's evidence, then per attack family how many were proven and the largest
verdict p-value among them (for models that never saw the owner's: the smallest)."""
import glob
import json
import os
import re
import sys

out = sys.argv[1]


def load(path):
    return json.load(open(path)) if os.path.exists(path) else None


def row(name):
    v = load(f"{out}/verify-{name}.json")
    a = load(f"{out}/attack-{name}.json") or {}
    if v is None:
        return None
    acc = a.get("test_accuracy")
    w, b, r = v.get("whitebox"), v.get("blackbox"), v.get("regions")
    held = load(f"{out}/heldout-{name}.json")
    cells = [name, "-" if acc is None else f"{acc:.4f}",
             f"{w['ber']:.3f}, {w['p_value']:.1e}" if w else "-",
             f"{b['mismatches']}/{b['keys']}, {b['p_value']:.1e}" if b else "-",
             f"{r['matches']}/{r['queries']}, {r['p_value']:.1e}" if r else "-",
             (f"{held['regions']['matches']}/{held['regions']['queries']}, "
              f"{held['regions']['p_value']:.1e}") if held else "",
             f"{v['p_value']:.1e}", "**yes**" if v["verified"] else "no"]
    return cells, v


def natural(name):  # extract-s7 before extract-s10
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


names = sorted((os.path.basename(p)[len("verify-"):-len(".json")]
                for p in glob.glob(f"{out}/verify-*.json")), key=natural)
print("| model | test acc | white-box BER, p | black-box wrong, p | regions matches, p |"
      " held-out regions, p | verdict p | proven |")
print("|---|---|---|---|---|---|---|---|")
families = {}
for n in names:
    got = row(n)
    if got is None:
        continue
    cells, v = got
    print("| " + " | ".join(cells) + " |")
    fam = re.sub(r"-s\d+$", "", n)
    f = families.setdefault(fam, [0, 0, 0.0, 1.0])
    f[0] += v["verified"]
    f[1] += 1
    f[2] = max(f[2], v["p_value"])
    f[3] = min(f[3], v["p_value"])
print()
unrelated = ("unmarked-", "independent-")
for fam, (k, n, largest, smallest) in families.items():
    if fam.startswith(unrelated):
        print(f"- {fam}: proven {k} of {n} (smallest verdict p {smallest:.1e})")
    else:
        print(f"- {fam}: proven {k} of {n} (largest verdict p {largest:.1e})")
