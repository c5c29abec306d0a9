#!/usr/bin/python3
"""Loads a model saved by the C++ zoo with torch.jit.load and checks that it reproduces the
outputs C++ computed (io.pt holds {'x': inputs, 'y': outputs}). Exit 0 when they match."""
import sys

import torch


def main(model_path: str, io_path: str) -> int:
    model = torch.jit.load(model_path).eval()
    io = torch.load(io_path)
    with torch.no_grad():
        y = model(io["x"])
        taps = model.taps(io["x"])
    if "logits" not in taps or not torch.allclose(taps["logits"], y):
        print("taps()['logits'] differs from forward()", file=sys.stderr)
        return 1
    if not torch.allclose(y, io["y"], atol=1e-5, rtol=1e-5):
        print(f"outputs differ: max abs diff {(y - io['y']).abs().max().item()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
