"""Summarises scripts/extraction-targets.sh: one row per model, then the counts per group."""
import json
import os
import sys

out = sys.argv[1]
guard = json.load(open(f"{out}/guard.json"))
lines = [f"guard: test accuracy {guard['test_accuracy_before']:.4f} -> {guard['test_accuracy']:.4f} "
         f"({100 * guard['test_share_in_regions']:.2f}% of test inputs in the regions)", "",
         "| model | test acc | region matches | regions led | p (regions) | p (white-box) | p (black-box) | verdict p | proven | held-out matches | held-out p |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
groups = {}
for line in open(f"{out}/verdicts.txt"):
    name, code = line.split()
    v = json.load(open(f"{out}/verify-{name}.json"))
    attack = f"{out}/attack-{name}.json"
    acc = f"{json.load(open(attack))['test_accuracy']:.4f}" if os.path.exists(attack) else "-"
    r, w, b = v.get("regions", {}), v.get("whitebox", {}), v.get("blackbox", {})
    held = f"{out}/heldout-{name}.json"
    h = json.load(open(held)).get("regions", {}) if os.path.exists(held) else {}
    lines.append(f"| {name} | {acc} | {r.get('matches')}/{r.get('queries')} | {r.get('regions_hit')} | "
                 f"{r.get('p_value', 1):.3g} | {w.get('p_value', 1):.3g} | {b.get('p_value', 1):.3g} | "
                 f"{v['p_value']:.3g} | {'yes' if v['verified'] else 'no'} | "
                 f"{h.get('matches')}/{h.get('queries')} | {h.get('p_value', 1):.3g} |")
    group = name.rsplit("-s", 1)[0] if "-s" in name else name
    g = groups.setdefault(group, [0, 0, 1.0, 0, 1.0])
    g[0] += v["verified"]
    g[1] += 1
    g[2] = min(g[2], v["p_value"])
    g[3] += h.get("p_value", 1) <= 1e-6
    g[4] = min(g[4], h.get("p_value", 1))
lines.append("")
for group, (proven, n, smallest, held, held_smallest) in groups.items():
    lines.append(f"- {group}: proven {proven} of {n} (smallest verdict p {smallest:.3g}); "
                 f"held-out regions p <= 1e-6 at {held} of {n} (smallest {held_smallest:.3g})")
text = "\n".join(lines) + "\n"
open(f"{out}/extraction.md", "w").write(text)
print(text)
