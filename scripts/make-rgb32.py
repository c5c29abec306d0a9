#!/usr/bin/python3
"""Writes an IDX image set (MNIST, Fashion-MNIST) as 3x32x32 tensor files, for models built for
CIFAR-sized inputs when no CIFAR data is at hand: each 28x28 image padded by 2 pixels and
repeated over three channels. A seeded sample of N training and M test images.

    scripts/make-rgb32.py /usr/share/datasets/fashion-mnist OUT_DIR N M [SEED]

Writes OUT_DIR/train.pt and OUT_DIR/test.pt ({"x": uint8 N x 3 x 32 x 32, "y": int64 N})."""
import os
import sys

import numpy as np
import torch

from idx_data import read_idx


def split(folder: str, prefix: str, count: int, seed: int) -> dict:
    x = torch.from_numpy(read_idx(folder, f"{prefix}-images-idx3-ubyte").copy())
    y = torch.from_numpy(read_idx(folder, f"{prefix}-labels-idx1-ubyte").astype(np.int64))
    keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))[:count]
    x = torch.nn.functional.pad(x[keep], (2, 2, 2, 2)).unsqueeze(1).repeat(1, 3, 1, 1)
    return {"x": x.contiguous(), "y": y[keep].contiguous()}


def main() -> int:
    if len(sys.argv) not in (5, 6):
        raise SystemExit(__doc__)
    folder, out, n, m = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    seed = int(sys.argv[5]) if len(sys.argv) == 6 else 0
    os.makedirs(out, exist_ok=True)
    torch.save(split(folder, "train", n, seed), os.path.join(out, "train.pt"))
    torch.save(split(folder, "t10k", m, seed + 1), os.path.join(out, "test.pt"))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
