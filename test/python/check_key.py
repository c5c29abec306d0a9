#!/usr/bin/python3
"""Reads a deepsigns key with nothing but torch.load and json, recomputes its documented
content hash (docs/FORMATS.md), checks its parts' shapes, and (given expect.pt) compares the
white-box tensors with those C++ wrote. Usage: check_key.py KEY [EXPECT]"""
import hashlib
import json
import struct
import sys

import torch

DTYPES = {torch.float32: "float32", torch.int64: "int64", torch.uint8: "uint8"}


def content_hash(key: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(k for k in key if k != "sha256"):
        v = key[name]
        if isinstance(v, torch.Tensor):
            v = v.contiguous()
            shape = "x".join(str(d) for d in v.shape)
            payload = f"tensor:{DTYPES[v.dtype]}:{shape}:".encode() + v.numpy().tobytes()
        elif isinstance(v, str):
            payload = b"str:" + v.encode()
        else:
            payload = f"int:{v}".encode()
        h.update(struct.pack("<Q", len(name)) + name.encode())
        h.update(struct.pack("<Q", len(payload)) + payload)
    return h.hexdigest()


def main(key_path: str, expect_path: str = "") -> int:
    key = torch.load(key_path)
    meta = json.loads(key["meta"])
    ok = key["format"] == "deepsigns-key"
    ok &= content_hash(key) == key["sha256"]
    if "whitebox" in meta:
        ok &= meta["whitebox"]["layer_width"] == key["whitebox.projection"].shape[0]
    if "blackbox" in meta:
        n = key["blackbox.labels"].shape[0]
        ok &= key["blackbox.inputs"].shape == (n, *meta["input_shape"])
        ok &= meta["blackbox"]["stage"] != "final" or n == meta["blackbox"]["keys_wanted"]
    if expect_path:
        expect = torch.load(expect_path)
        ok &= torch.equal(key["whitebox.projection"], expect["projection"])
        ok &= torch.equal(key["whitebox.triggers"], expect["triggers"])
    if not ok:
        print("key check failed", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
