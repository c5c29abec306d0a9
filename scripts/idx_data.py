"""IDX image sets (MNIST, Fashion-MNIST) for the Python scripts: one reader, raw or gzipped."""
import gzip
import os

import numpy as np
import torch


def read_idx(folder: str, name: str) -> np.ndarray:
    """FOLDER/NAME or FOLDER/NAME.gz as an array of its recorded shape (uint8)."""
    for path in (os.path.join(folder, name), os.path.join(folder, name + ".gz")):
        if os.path.exists(path):
            with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
                raw = f.read()
            dims = raw[3]
            shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise SystemExit(f"{folder}: no {name}[.gz]")


def load_split(folder: str, split: str):
    """Images as floats in [0, 1] (N x 1 x H x W) and int64 labels of split 'train' or 't10k'."""
    x = read_idx(folder, f"{split}-images-idx3-ubyte")
    y = read_idx(folder, f"{split}-labels-idx1-ubyte")
    return (torch.from_numpy(x.copy()).float().div_(255).unsqueeze(1),
            torch.from_numpy(y.astype(np.int64)))
