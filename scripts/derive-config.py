#!/usr/bin/python3
"""Writes a copy of a JSON config with some fields set: the pipeline's way of making one
experiment's config from a shipped one without editing it.

Usage: derive-config.py BASE OUT FIELD=VALUE ...
  FIELD is a dotted path (whitebox.bits); VALUE is JSON (64, "bch", [1, 2], {"a": 1}) or, when
  it does not parse as JSON, a string; @FILE reads the value from a JSON file. Writes OUT
  atomically (temporary file, then rename), so an interrupted make never leaves half a config.
"""
import json
import os
import sys


def parse_value(text: str):
    if text.startswith("@"):
        with open(text[1:]) as f:
            return json.load(f)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main(argv) -> int:
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    base, out = argv[1], argv[2]
    try:
        with open(base) as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"derive-config: {base}: {e}", file=sys.stderr)
        return 2
    for assignment in argv[3:]:
        field, sep, text = assignment.partition("=")
        if not sep or not field:
            print(f"derive-config: '{assignment}' is not FIELD=VALUE", file=sys.stderr)
            return 2
        node = config
        *parents, leaf = field.split(".")
        for name in parents:
            node = node.setdefault(name, {})
        node[leaf] = parse_value(text)
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
