#!/usr/bin/env python3
"""Verdicts of attacked models, from a folder of reports named attack-NAME.json (the attack's,
optional) and verify-NAME.json (ds-verify's), with heldout-NAME.json (the regions read on
held-out inputs) where there is one.
  scripts/verdicts.py OUT NAME...   one line per model: accuracy and each part's evidence
  scripts/verdicts.py OUT           a Markdown table of every model, then per attack family
                                    (NAME without its -sSEED) how many were proven and the
                                    largest verdict p-value (for models that never saw the
                                    owner's, unmarked-* and independent-*: the smallest)"""
import glob
import json
import os
import re
import sys


def load(path):
    return json.load(open(path)) if os.path.exists(path) else None


def evidence(out, name):
    """The model's reports: (accuracy or None, verify report, held-out report or None)."""
    attack = load(f"{out}/attack-{name}.json") or {}
    return (attack.get("test_accuracy"), load(f"{out}/verify-{name}.json"),
            load(f"{out}/heldout-{name}.json"))


def line(out, name):
    acc, v, held = evidence(out, name)
    parts = [f"{name}: acc " + ("-" if acc is None else f"{acc:.4f}")]
    if "whitebox" in v:
        parts.append(f"wb BER {v['whitebox']['ber']:.3f} p {v['whitebox']['p_value']:.2g}")
    if "blackbox" in v:
        b = v["blackbox"]
        parts.append(f"bb {b['mismatches']}/{b['keys']} wrong p {b['p_value']:.2g}")
    if "regions" in v:
        r = v["regions"]
        parts.append(f"regions {r['matches']}/{r['queries']} p {r['p_value']:.2g}")
    if held:
        r = held["regions"]
        parts.append(f"held-out regions {r['matches']}/{r['queries']} p {r['p_value']:.2g}")
    t = tests(v)
    if t:
        parts.append(f"strongest {t[0]:.2g} together {t[1]:.2g}")
    parts.append(f"verdict p {v['p_value']:.2g} {'proven' if v['verified'] else 'NOT proven'}")
    return "  ".join(parts)


def row(out, name):
    acc, v, held = evidence(out, name)
    w, b, r = v.get("whitebox"), v.get("blackbox"), v.get("regions")
    hr = held["regions"] if held else None
    return [name, "-" if acc is None else f"{acc:.4f}",
            f"{w['ber']:.3f}, {w['p_value']:.1e}" if w else "-",
            f"{b['mismatches']}/{b['keys']}, {b['p_value']:.1e}" if b else "-",
            f"{r['matches']}/{r['queries']}, {r['p_value']:.1e}" if r else "-",
            f"{hr['matches']}/{hr['queries']}, {hr['p_value']:.1e}" if hr else "",
            "{:.1e}, {:.1e}".format(*t) if (t := tests(v)) else "-",
            f"{v['p_value']:.1e}", "**yes**" if v["verified"] else "no"]


def tests(v):
    """The verdict's two tests' p-values (the strongest part alone, all parts together), or
    None where one part was checked and there was one test."""
    c = v.get("combination")
    if not c or c["tests"] < 2:
        return None
    return 10 ** c["strongest_part"]["log10_p_value"], 10 ** c["all_parts"]["log10_p_value"]


def natural(name):  # extract-s7 before extract-s10
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def table(out):
    names = sorted((os.path.basename(p)[len("verify-"):-len(".json")]
                    for p in glob.glob(f"{out}/verify-*.json")), key=natural)
    print("| model | test acc | white-box BER, p | black-box wrong, p | regions matches, p |"
          " held-out regions, p | strongest part, all parts | verdict p | proven |")
    print("|---|---|---|---|---|---|---|---|---|")
    families = {}
    for n in names:
        print("| " + " | ".join(row(out, n)) + " |")
        v = load(f"{out}/verify-{n}.json")
        f = families.setdefault(re.sub(r"-s\d+$", "", n), [0, 0, 0.0, 1.0])
        f[0] += v["verified"]
        f[1] += 1
        f[2] = max(f[2], v["p_value"])
        f[3] = min(f[3], v["p_value"])
    print()
    for fam, (k, n, largest, smallest) in families.items():
        if fam.startswith(("unmarked-", "independent-")):
            print(f"- {fam}: proven {k} of {n} (smallest verdict p {smallest:.1e})")
        else:
            print(f"- {fam}: proven {k} of {n} (largest verdict p {largest:.1e})")


if __name__ == "__main__":
    if len(sys.argv) > 2:
        for name in sys.argv[2:]:
            print(line(sys.argv[1], name))
    else:
        table(sys.argv[1])
