#!/usr/bin/env python3
"""Checks the code's shape: no source file in lib/ or tools/ over 400 lines, and no function over
80 lines except the byte-level parsers named in LONG_PARSERS (a parser that walks a format
byte by byte reads best as one loop). Functions are found as clang-format writes them: a
definition starts at column 0 (or 2 inside a class) and ends at the matching closing brace.
Usage: shape_check.py SOURCE_DIR. Prints each violation; exit 1 if any."""
import os
import re
import sys

MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80
LONG_PARSERS = {"check_pickle"}
START = re.compile(r"^(?:  )?[A-Za-z_][\w:<>,&*\s~]*?\b(~?[A-Za-z_]\w*)\([^;]*$")
SKIP = re.compile(r"^\s*(namespace|struct|class|enum|union|if|for|while|switch|return)\b")


def functions(lines):
    """(name, first line, length) of each top-level or member function definition."""
    i = 0
    while i < len(lines):
        m = START.match(lines[i])
        if not m or SKIP.match(lines[i]):
            i += 1
            continue
        indent = len(lines[i]) - len(lines[i].lstrip())
        j = i
        while j < len(lines) and "{" not in lines[j] and not lines[j].rstrip().endswith(";"):
            j += 1
        if j >= len(lines) or lines[j].rstrip().endswith(";") or lines[j].rstrip().endswith("}"):
            i = j + 1
            continue
        end = j + 1
        closing = " " * indent + "}"
        while end < len(lines) and not lines[end].startswith(closing):
            end += 1
        yield m.group(1), i + 1, end - i + 1
        i = end + 1


def main(src):
    problems = []
    for top in ("lib", "tools"):
        for folder, _, files in os.walk(os.path.join(src, top)):
            for name in sorted(files):
                if not name.endswith((".cpp", ".h")):
                    continue
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, src)
                lines = open(path, encoding="utf-8").read().split("\n")
                if len(lines) - 1 > MAX_FILE_LINES:
                    problems.append(f"{rel}: {len(lines) - 1} lines (at most {MAX_FILE_LINES})")
                for fn, line, length in functions(lines):
                    if length > MAX_FUNCTION_LINES and fn not in LONG_PARSERS:
                        problems.append(f"{rel}:{line}: {fn} is {length} lines "
                                        f"(at most {MAX_FUNCTION_LINES})")
    for p in problems:
        print(p)
    print(f"shape: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
