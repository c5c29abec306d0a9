#!/usr/bin/env python3
"""Checks the library's layering: every #include "layer/file.h" in lib/ must name the file's own
layer or one below it (as lib/CMakeLists.txt links them), and no two files of the library may
depend on each other, directly or through others (a file is its .h and .cpp together).
Usage: layers_check.py SOURCE_DIR. Prints each violation; exit 1 if any."""
import os
import re
import sys

# What each layer may include besides itself; mirrors the DEPENDS of lib/CMakeLists.txt.
ALLOWED = {
    "core": set(),
    "data": {"core"},
    "model": {"core", "data"},
    "watermark": {"core", "data", "model"},
    "attack": {"core", "data", "model", "watermark"},
    "jobs": {"core", "data", "model", "watermark", "attack", "report"},
    "report": {"core"},
}
# Files of a layer that may use a layer the rest of it may not (each its own CMake target).
EXTRA = {"jobs/sweep_job": {"report"}}
INCLUDE = re.compile(r'^#include "([a-z_]+)/([a-z_0-9]+)\.h"', re.M)


def main(src):
    lib = os.path.join(src, "lib")
    problems, graph = [], {}
    for layer in sorted(os.listdir(lib)):
        folder = os.path.join(lib, layer)
        if not os.path.isdir(folder):
            continue
        if layer not in ALLOWED:
            problems.append(f"lib/{layer}: a folder that is not a declared layer")
            continue
        for name in sorted(os.listdir(folder)):
            stem, ext = os.path.splitext(name)
            if ext not in (".h", ".cpp"):
                continue
            node = f"{layer}/{stem}"
            text = open(os.path.join(folder, name), encoding="utf-8").read()
            for dep_layer, dep in INCLUDE.findall(text):
                target = f"{dep_layer}/{dep}"
                if target == node:
                    continue
                graph.setdefault(node, set()).add(target)
                allowed = ALLOWED[layer] | EXTRA.get(node, set()) | {layer}
                if dep_layer not in allowed:
                    problems.append(f"lib/{layer}/{name} includes {target}.h: "
                                    f"{layer} may not use {dep_layer}")
    problems += cycles(graph)
    for p in problems:
        print(p)
    print(f"layers: {len(graph)} files checked, {len(problems)} problems")
    return 1 if problems else 0


def cycles(graph):
    """Each dependency cycle among library files, once."""
    found, seen, state = [], set(), {}

    def visit(node, path):
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                loop = path[path.index(nxt):]
                key = frozenset(loop)
                if key not in seen:
                    seen.add(key)
                    found.append("include cycle: " + " -> ".join(loop + [nxt]))
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return found


def self_test():
    """The check must catch an upward include and a cycle in a small tree of its own."""
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        files = {"lib/core/a.h": '#include "data/b.h"\n',          # core may not use data
                 "lib/data/b.h": "",
                 "lib/model/c.h": '#include "model/d.h"\n',
                 "lib/model/d.cpp": '#include "model/c.h"\n#include "core/a.h"\n',
                 "lib/model/c.cpp": '#include "model/d.h"\n'}
        for name, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, name)), exist_ok=True)
            open(os.path.join(root, name), "w").write(text)
        import io
        import contextlib
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(root)
        text = out.getvalue()
        ok = code == 1 and "core may not use data" in text and "include cycle" in text
        print(text + ("self-test passed" if ok else "self-test FAILED"))
        return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--self-test"]:
        sys.exit(self_test())
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
