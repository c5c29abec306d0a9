#!/usr/bin/env python3
"""Checks the library's layering: every #include "layer/file.h" in lib/ must name the file's own
layer or one below it (as lib/CMakeLists.txt links them), and no two files of the library may
depend on each other, directly or through others (a file is its .h and .cpp together).
The layers and what they link are read from lib/CMakeLists.txt, the one place they are declared.
Usage: layers_check.py SOURCE_DIR. Prints each violation; exit 1 if any."""
import os
import re
import sys

LAYER_TARGET = re.compile(r"ds_layer\((\w+)([^)]*)\)")
FILE_TARGET = re.compile(r"target_link_libraries\(ds_(\w+) PUBLIC ([^)]*)\)")


def declared_layers(src):
    """What each layer may include, and the files that are targets of their own (with what they
    may include beyond their layer), as lib/CMakeLists.txt links them (transitively)."""
    text = open(os.path.join(src, "lib", "CMakeLists.txt"), encoding="utf-8").read()
    cmake = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith("#"))
    direct = {"core": set()}
    for name, args in LAYER_TARGET.findall(cmake):
        deps = args.split("DEPENDS", 1)[1].split() if "DEPENDS" in args else []
        direct[name] = {d[3:] for d in deps if d.startswith("ds_")}
    files = {}
    for name, deps in FILE_TARGET.findall(cmake):
        if name in direct:
            continue
        folder = next((d[3:] for d in deps.split() if d[3:] in direct), None)
        files[f"{folder}/{name}"] = {d[3:] for d in deps.split() if d.startswith("ds_")}

    def closure(layers):
        out, todo = set(), list(layers)
        while todo:
            layer = todo.pop()
            if layer not in out:
                out.add(layer)
                todo.extend(direct.get(layer, ()))
        return out

    allowed = {layer: closure(deps) for layer, deps in direct.items()}
    extra = {node: closure(deps) for node, deps in files.items()}
    return allowed, extra


INCLUDE = re.compile(r'^#include "([a-z_]+)/([a-z_0-9]+)\.h"', re.M)


def main(src):
    lib = os.path.join(src, "lib")
    ALLOWED, EXTRA = declared_layers(src)
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
        files = {"lib/CMakeLists.txt": "ds_layer(data DEPENDS ds_core)\nds_layer(model DEPENDS ds_data)\n",
                 "lib/core/a.h": '#include "data/b.h"\n',          # core may not use data
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
