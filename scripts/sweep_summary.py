#!/usr/bin/env python3
"""Summarises ds-attack sweep tables (results.json) as a Markdown table: for every attack (and
every setting held fixed along it), the strongest setting at which each watermark still proves
ownership, and the weakest at which it no longer does, with the test accuracy at each.

Usage: scripts/sweep_summary.py NAME=DIR/results.json [NAME=...]
"""
import json
import sys

# Along these axes a smaller value is the stronger attack.
SMALLER_IS_STRONGER = {"bits"}


def fmt_point(row):
    if row is None:
        return "-"
    setting = row["x_text"] if row["x_text"] else row["setting"]
    return f"{setting} ({row['test_accuracy']:.3f})"


def summarise(name, table):
    lines = []
    panels = {p["label"]: p for p in table["panels"]}
    groups = {}
    for r in table["rows"]:
        if "test_accuracy" not in r:
            continue
        panel = panels[r["panel"]]
        x = r["x"]
        categorical = isinstance(x, str) or x is None
        key = (r["panel"], r["series"] if not categorical else (r["setting"] or r["series"]))
        r = dict(r)
        r["x_text"] = "" if categorical else f"{panel['x']}={x:g}"
        strength = 0 if categorical else (-x if panel["x"] in SMALLER_IS_STRONGER else x)
        groups.setdefault(key, []).append((strength, r))
    for (panel, series), pts in groups.items():
        pts.sort(key=lambda t: t[0])
        cells = []
        for mark in ("whitebox", "blackbox"):
            proven = [r for _, r in pts if r.get(mark, {}).get("verified")]
            lost = [r for _, r in pts if mark in r and not r[mark]["verified"]
                    or mark == "whitebox" and "verification_error" in r]
            if not any(mark in r or (mark == "whitebox" and "verification_error" in r) for _, r in pts):
                cells += ["n/a", "n/a"]
                continue
            cells += [fmt_point(proven[-1] if proven else None), fmt_point(lost[0] if lost else None)]
        label = panel + (f" [{series}]" if series else "")
        lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return lines


def main(args):
    print("| model | attack [fixed settings] | white-box: strongest proven (acc) | "
          "white-box: first lost (acc) | black-box: strongest proven (acc) | "
          "black-box: first lost (acc) |")
    print("|---|---|---|---|---|---|")
    for arg in args:
        name, path = arg.split("=", 1)
        table = json.load(open(path))
        base = table["baseline"]
        print(f"| {name} | none (marked model) | acc {base['test_accuracy']:.3f} | | | |")
        for line in summarise(name, table):
            print(line)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
