#!/usr/bin/python3
"""Regenerates the malformed-input corpus in this folder: small broken datasets, configs, keys,
models and prediction files, each paired in cases.json with the command that reads it and the
exact one-line error it must produce (test/cli/malformed_cli.sh checks them all).

Usage: data/malformed/make.py BUILD_BIN   (needs the built tools for the valid model and keys the
broken ones are cut from; run after changing an error message, then review cases.json's diff).
Every case runs in this folder (paths are relative to it); {T} is a fresh output folder that
must stay empty.
"""
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

import torch

D = os.path.dirname(os.path.abspath(__file__))


def idx(magic, dims, payload):
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in dims) + payload


def idx_folder(name, n_train=12, n_test=4, mutate=None):
    """A tiny 4x4, 3-class IDX dataset; `mutate(files)` breaks it."""
    path = os.path.join(D, name)
    os.makedirs(path, exist_ok=True)
    files = {}
    for split, n in (("train", n_train), ("t10k", n_test)):
        files[f"{split}-images-idx3-ubyte"] = idx(0x803, [n, 4, 4], bytes((i * 37) % 256 for i in range(16 * n)))
        files[f"{split}-labels-idx1-ubyte"] = idx(0x801, [n], bytes(i % 3 for i in range(n)))
    if mutate:
        mutate(files)
    for f, b in files.items():
        with open(os.path.join(path, f), "wb") as out:
            out.write(b)
    return path


def png_bytes(w, h, channels, rows=None):
    """An 8-bit gray or RGB PNG of a gradient; `rows` writes only that many (a lying header)."""
    raw = b"".join(b"\0" + bytes((x + y) * 9 % 256 for x in range(w) for _ in range(channels))
                   for y in range(h if rows is None else rows))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0 if channels == 1 else 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def jpeg_bytes(w, h):
    import io
    from PIL import Image
    out = io.BytesIO()
    Image.frombytes("L", (w, h), bytes((x * 16 + y) % 256 for y in range(h) for x in range(w))).save(
        out, "JPEG", quality=90)
    return out.getvalue()


def write(name, data):
    with open(os.path.join(D, name), "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def main(bin_dir):
    for entry in os.listdir(D):
        p = os.path.join(D, entry)
        if entry not in ("make.py", "cases.json", "README.md"):
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    run = lambda *a: subprocess.run([os.path.join(bin_dir, a[0]), "-q", *a[1:]], check=True, cwd=D)
    tmp = ".work"
    os.makedirs(os.path.join(D, tmp))

    # Valid pieces the broken ones are made from.
    idx_folder("idx-ok")
    torch.manual_seed(0)
    torch.save({"x": torch.randint(0, 256, (40, 1, 4, 4), dtype=torch.uint8), "y": torch.arange(40) % 4},
               os.path.join(D, "tensor-ok.pt"))
    data_ok = {"format": "tensor", "path": "tensor-ok.pt"}
    write(".work/train.json", json.dumps({"model": {"arch": "mlp", "hidden": [8]}, "data": data_ok,
                                          "epochs": 1, "batch_size": 8, "seed": 1}))
    run("ds-train", "--config", f"{tmp}/train.json", "--out", "model-4x4-fc1w8.pt")
    write(".work/train16.json", json.dumps({"model": {"arch": "mlp", "hidden": [16]}, "data": data_ok,
                                            "epochs": 1, "batch_size": 8, "seed": 1}))
    run("ds-train", "--config", f"{tmp}/train16.json", "--out", "model-4x4-fc1w16.pt")
    write(".work/keys-wb.json", json.dumps({"kind": "whitebox", "seed": 3, "data": data_ok, "whitebox": {
        "carriers": [1], "bits": 4, "message": "malformed corpus", "trigger_fraction": 0.1, "profile_count": 0}}))
    run("ds-gen-keys", "--config", f"{tmp}/keys-wb.json", "--model", "model-4x4-fc1w8.pt",
        "--out", "key-fc1w8.key")
    write(".work/keys-bb.json", json.dumps({"kind": "blackbox", "seed": 3,
                                            "blackbox": {"keys": 2, "candidate_factor": 2}}))
    run("ds-gen-keys", "--config", f"{tmp}/keys-bb.json", "--model", "model-4x4-fc1w8.pt",
        "--out", "key-candidates.key")
    key = open(f"{D}/key-fc1w8.key", "rb").read()
    model = open(f"{D}/model-4x4-fc1w8.pt", "rb").read()

    # Broken keys and models.
    write("key-empty.key", b"")
    write("key-truncated.key", key[: len(key) // 2])
    write("key-text.key", "this is not a key\n")
    flipped = bytearray(key)
    flipped[len(key) // 2] ^= 0x10
    write("key-bitflip.key", bytes(flipped))
    shutil.copy(os.path.join(D, "tensor-ok.pt"), os.path.join(D, "key-is-a-dataset.key"))
    write("model-truncated.pt", model[: len(model) // 3])
    write("model-text.pt", "def forward(x): return x\n")

    # Broken datasets.
    def truncate_images(f):
        f["train-images-idx3-ubyte"] = f["train-images-idx3-ubyte"][:-5]
    idx_folder("idx-truncated", mutate=truncate_images)

    def bad_magic(f):
        f["train-images-idx3-ubyte"] = b"\x00\x00\x09\x03" + f["train-images-idx3-ubyte"][4:]
    idx_folder("idx-bad-magic", mutate=bad_magic)

    def label_count(f):
        f["train-labels-idx1-ubyte"] = idx(0x801, [11], bytes(i % 3 for i in range(11)))
    idx_folder("idx-label-count", mutate=label_count)

    def absurd(f):
        f["train-images-idx3-ubyte"] = idx(0x803, [0xFFFFFFFF, 0xFFFFFF, 4], b"")
    idx_folder("idx-absurd-header", mutate=absurd)

    def bad_gzip(f):
        f["train-images-idx3-ubyte.gz"] = gzip.compress(f.pop("train-images-idx3-ubyte"), mtime=0)[:-12]
    idx_folder("idx-truncated-gzip", mutate=bad_gzip)

    def label_range(f):
        f["train-labels-idx1-ubyte"] = idx(0x801, [12], bytes([0, 1, 2] * 3 + [0, 1, 200]))
    idx_folder("idx-label-range", mutate=label_range)

    os.makedirs(os.path.join(D, "cifar-partial"))
    rec = lambda l: bytes([l]) + bytes(3072)
    for i in range(1, 6):
        write(f"cifar-partial/data_batch_{i}.bin", rec(1) + rec(2))
    write("cifar-partial/test_batch.bin", rec(1) + rec(2)[:1000])
    torch.save({"x": torch.zeros(3, 4, 4, dtype=torch.uint8)}, os.path.join(D, "tensor-single-entry.pt"))
    torch.save({"x": torch.zeros(3, 4, 4, dtype=torch.uint8), "labels": torch.tensor([0, 1, 2])},
               os.path.join(D, "tensor-no-y.pt"))
    torch.save({"x": torch.zeros(3, 4, dtype=torch.uint8), "y": torch.tensor([0, 1, 2])},
               os.path.join(D, "tensor-x-2d.pt"))
    torch.save({"x": torch.full((3, 4, 4), 2.0), "y": torch.tensor([0, 1, 2])}, os.path.join(D, "tensor-x-range.pt"))
    torch.save({"x": torch.zeros(3, 4, 4, dtype=torch.uint8), "y": torch.tensor([0, 1])},
               os.path.join(D, "tensor-count.pt"))

    # Broken image folders: classes a and b of tiny PNGs, one thing broken in each. Git keeps no
    # empty folder, so the class without images holds a text file.
    def image_folder(name, files):
        for rel, data in files.items():
            os.makedirs(os.path.dirname(os.path.join(D, name, rel)), exist_ok=True)
            write(os.path.join(name, rel), data)
    gray, jpeg = png_bytes(4, 4, 1), jpeg_bytes(8, 8)
    image_folder("imagefolder-ok", {"a/0.png": gray, "b/0.png": gray})
    image_folder("imagefolder-truncated-png", {"a/0.png": gray, "b/0.png": gray[:-20]})
    image_folder("imagefolder-truncated-jpeg", {"a/0.png": gray, "b/0.jpg": jpeg[: len(jpeg) // 2]})
    image_folder("imagefolder-not-an-image", {"a/0.png": gray, "b/0.png": "GIF89a, or any other text\n"})
    image_folder("imagefolder-empty-class", {"a/0.png": gray, "b/notes.txt": "no images here\n"})
    image_folder("imagefolder-no-classes", {"README.txt": "images belong in ROOT/CLASS/\n"})
    image_folder("imagefolder-mixed-channels", {"a/0.png": gray, "b/0.png": png_bytes(4, 4, 3)})
    image_folder("imagefolder-other-classes", {"a/0.png": gray, "c/0.png": gray})
    image_folder("imagefolder-huge-header", {"a/0.png": gray, "b/0.png": png_bytes(100000, 100000, 1, rows=1)})

    # Broken configs.
    train = {"model": {"arch": "mlp", "hidden": [8]}, "data": data_ok, "epochs": 1, "batch_size": 8}
    def cfg(name, obj):
        write(name, obj if isinstance(obj, str) else json.dumps(obj))
    cfg("config-not-json.json", '{"epochs": 1,')
    cfg("config-array.json", [1, 2])
    cfg("config-epochs-string.json", dict(train, epochs="ten"))
    cfg("config-unknown-field.json", dict(train, epoch=3))
    cfg("config-lr-negative.json", dict(train, optimizer={"name": "sgd", "lr": -0.1}))
    cfg("config-arch.json", dict(train, model={"arch": "transformer"}))
    cfg("config-batch-zero.json", dict(train, batch_size=0))
    cfg("config-hidden-strings.json", dict(train, model={"arch": "mlp", "hidden": ["wide"]}))
    for n in ("idx-truncated", "idx-bad-magic", "idx-label-count", "idx-absurd-header", "idx-truncated-gzip",
              "idx-label-range", "cifar-partial"):
        fmt = "cifar10" if n.startswith("cifar") else "idx"
        cfg(f"train-{n}.json", dict(train, data={"format": fmt, "path": n}))
    for n in ("tensor-no-y", "tensor-single-entry", "tensor-x-2d", "tensor-x-range", "tensor-count"):
        cfg(f"train-{n}.json", dict(train, data={"format": "tensor", "path": n + ".pt"}))
    for n in ("truncated-png", "truncated-jpeg", "not-an-image", "empty-class", "no-classes", "mixed-channels",
              "huge-header"):
        cfg(f"train-imagefolder-{n}.json", dict(train, data={"format": "imagefolder", "path": f"imagefolder-{n}",
                                                             "test_path": f"imagefolder-{n}"}))
    cfg("train-imagefolder-other-classes.json", dict(train, data={
        "format": "imagefolder", "path": "imagefolder-ok", "test_path": "imagefolder-other-classes"}))
    cfg("attack-unknown-kind.json", {"attack": "melt"})
    cfg("attack-prune-rate.json", {"attack": "prune", "rate": 1.5})
    cfg("attack-prune-ok.json", {"attack": "prune", "rate": 0.5})
    cfg("sweep-empty-grid.json", {"grid": []})
    cfg("keys-bits-zero.json", {"kind": "whitebox", "seed": 1, "data": data_ok, "whitebox": {"bits": 0}})
    cfg("embed-lambda-string.json", {"data": data_ok, "whitebox": {"lambda1": "high"}})

    # Predictions for the query-only path (the key needs final black-box keys: use the
    # candidates key, which is refused first, and one that checks the file itself).
    write("predictions-not-json.json", "[1, 2,")
    write("predictions-object.json", json.dumps({"answers": [1, 2]}))
    shutil.rmtree(os.path.join(D, tmp))
    record_cases(bin_dir)


# (name, command, expected exit); the expected error line is recorded by running it once.
CASES = [
    ("key missing", ["ds-verify", "--model", "model-4x4-fc1w8.pt", "--keys", "key-missing.key"], 2),
    ("key empty", ["ds-verify", "--model", "model-4x4-fc1w8.pt", "--keys", "key-empty.key"], 2),
    ("key truncated", ["ds-verify", "--model", "model-4x4-fc1w8.pt", "--keys", "key-truncated.key"], 2),
    ("key is text", ["ds-verify", "--model", "model-4x4-fc1w8.pt", "--keys", "key-text.key"], 2),
    ("key with one bit flipped", ["ds-verify", "--model", "model-4x4-fc1w8.pt", "--keys", "key-bitflip.key"], 2),
    ("key is another torch file", ["ds-verify", "--model", "model-4x4-fc1w8.pt", "--keys", "key-is-a-dataset.key"], 2),
    ("key for another layer width", ["ds-verify", "--model", "model-4x4-fc1w16.pt", "--keys", "key-fc1w8.key"], 2),
    ("candidates instead of keys", ["ds-verify", "--model", "model-4x4-fc1w8.pt", "--keys", "key-candidates.key"], 2),
    ("model missing", ["ds-verify", "--model", "model-missing.pt", "--keys", "key-fc1w8.key"], 2),
    ("model truncated", ["ds-verify", "--model", "model-truncated.pt", "--keys", "key-fc1w8.key"], 2),
    ("model is text", ["ds-verify", "--model", "model-text.pt", "--keys", "key-fc1w8.key"], 2),
    ("predictions for a candidates key", ["ds-verify", "--keys", "key-candidates.key", "--predictions", "predictions-not-json.json"], 2),
    ("config not JSON", ["ds-train", "--config", "config-not-json.json", "--out", "{T}/m.pt"], 2),
    ("config is a list", ["ds-train", "--config", "config-array.json", "--out", "{T}/m.pt"], 2),
    ("config field of the wrong type", ["ds-train", "--config", "config-epochs-string.json", "--out", "{T}/m.pt"], 2),
    ("config unknown field", ["ds-train", "--config", "config-unknown-field.json", "--out", "{T}/m.pt"], 2),
    ("config negative learning rate", ["ds-train", "--config", "config-lr-negative.json", "--out", "{T}/m.pt"], 2),
    ("config unknown architecture", ["ds-train", "--config", "config-arch.json", "--out", "{T}/m.pt"], 2),
    ("config zero batch", ["ds-train", "--config", "config-batch-zero.json", "--out", "{T}/m.pt"], 2),
    ("config list of the wrong type", ["ds-train", "--config", "config-hidden-strings.json", "--out", "{T}/m.pt"], 2),
    ("config missing", ["ds-train", "--config", "config-missing.json", "--out", "{T}/m.pt"], 2),
    ("IDX truncated", ["ds-train", "--config", "train-idx-truncated.json", "--out", "{T}/m.pt"], 2),
    ("IDX wrong magic", ["ds-train", "--config", "train-idx-bad-magic.json", "--out", "{T}/m.pt"], 2),
    ("IDX label count", ["ds-train", "--config", "train-idx-label-count.json", "--out", "{T}/m.pt"], 2),
    ("IDX absurd header", ["ds-train", "--config", "train-idx-absurd-header.json", "--out", "{T}/m.pt"], 2),
    ("IDX truncated gzip", ["ds-train", "--config", "train-idx-truncated-gzip.json", "--out", "{T}/m.pt"], 2),
    ("IDX label out of range", ["ds-train", "--config", "train-idx-label-range.json", "--out", "{T}/m.pt"], 2),
    ("CIFAR partial record", ["ds-train", "--config", "train-cifar-partial.json", "--out", "{T}/m.pt"], 2),
    ("tensor file without labels", ["ds-train", "--config", "train-tensor-no-y.json", "--out", "{T}/m.pt"], 2),
    ("tensor file with one entry", ["ds-train", "--config", "train-tensor-single-entry.json", "--out", "{T}/m.pt"], 2),
    ("tensor file 2-D images", ["ds-train", "--config", "train-tensor-x-2d.json", "--out", "{T}/m.pt"], 2),
    ("tensor file pixels out of range", ["ds-train", "--config", "train-tensor-x-range.json", "--out", "{T}/m.pt"], 2),
    ("tensor file count mismatch", ["ds-train", "--config", "train-tensor-count.json", "--out", "{T}/m.pt"], 2),
    ("image folder truncated PNG", ["ds-train", "--config", "train-imagefolder-truncated-png.json", "--out", "{T}/m.pt"], 2),
    ("image folder truncated JPEG", ["ds-train", "--config", "train-imagefolder-truncated-jpeg.json", "--out", "{T}/m.pt"], 2),
    ("image folder text as PNG", ["ds-train", "--config", "train-imagefolder-not-an-image.json", "--out", "{T}/m.pt"], 2),
    ("image folder empty class", ["ds-train", "--config", "train-imagefolder-empty-class.json", "--out", "{T}/m.pt"], 2),
    ("image folder without classes", ["ds-train", "--config", "train-imagefolder-no-classes.json", "--out", "{T}/m.pt"], 2),
    ("image folder mixed channels", ["ds-train", "--config", "train-imagefolder-mixed-channels.json", "--out", "{T}/m.pt"], 2),
    ("image folder huge header", ["ds-train", "--config", "train-imagefolder-huge-header.json", "--out", "{T}/m.pt"], 2),
    ("image folders with other classes", ["ds-train", "--config", "train-imagefolder-other-classes.json", "--out", "{T}/m.pt"], 2),
    ("attack unknown kind", ["ds-attack", "--config", "attack-unknown-kind.json", "--model", "model-4x4-fc1w8.pt", "--out", "{T}/a.pt"], 2),
    ("attack prune rate", ["ds-attack", "--config", "attack-prune-rate.json", "--model", "model-4x4-fc1w8.pt", "--out", "{T}/a.pt"], 2),
    ("sweep empty grid", ["ds-attack", "--config", "sweep-empty-grid.json", "--model", "model-4x4-fc1w8.pt", "--out-dir", "{T}/sweep"], 2),
    ("keys zero bits", ["ds-gen-keys", "--config", "keys-bits-zero.json", "--model", "model-4x4-fc1w8.pt", "--out", "{T}/k.key"], 2),
    ("embed field of the wrong type", ["ds-embed-wm", "--config", "embed-lambda-string.json", "--model", "model-4x4-fc1w8.pt", "--keys", "key-fc1w8.key", "--out", "{T}/m.pt"], 2),
    ("output over its input", ["ds-attack", "--config", "attack-prune-ok.json", "--model", "model-4x4-fc1w8.pt", "--out", "model-4x4-fc1w8.pt"], 2),
    ("alpha out of range", ["ds-verify", "--model", "model-4x4-fc1w8.pt", "--keys", "key-fc1w8.key", "--alpha", "2"], 2),
    ("neither model nor predictions", ["ds-verify", "--keys", "key-fc1w8.key"], 2),
]


def record_cases(bin_dir):
    import tempfile
    out = []
    for name, cmd, want in CASES:
        with tempfile.TemporaryDirectory() as t:
            args = [a.replace("{T}", t) for a in cmd]
            p = subprocess.run([os.path.join(bin_dir, args[0]), *args[1:]], cwd=D, capture_output=True, text=True)
            lines = p.stderr.strip().splitlines()
            line = lines[-1].replace(t, "{T}") if lines else ""
            if p.returncode != want:
                print(f"{name}: exit {p.returncode}, wanted {want}: {line}", file=sys.stderr)
            out.append({"name": name, "command": cmd, "exit": p.returncode, "error": line})
            print(f"{p.returncode}  {name:36} {line}")
    with open(os.path.join(D, "cases.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
