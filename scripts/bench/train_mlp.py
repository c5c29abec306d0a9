#!/usr/bin/python3
"""PyTorch eager equivalent of `ds-train --config configs/train-mlp-fmnist.json`: the same MLP,
optimizer, batch size, per-batch indexing and thread count. Prints a JSON line with the
training samples/s (evaluation and data loading excluded) and the peak RSS."""
import argparse
import gzip
import json
import resource
import time

import numpy as np
import torch
from torch import nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    x = torch.from_numpy(read_idx(f"{a.data}/train-images-idx3-ubyte.gz").copy()).float().div_(255).unsqueeze(1)
    y = torch.from_numpy(read_idx(f"{a.data}/train-labels-idx1-ubyte.gz").astype(np.int64))
    mean, std = x.mean(), x.std()
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.2),
                          nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.2), nn.Linear(512, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    rates = []
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(x.shape[0])
        start = time.perf_counter()
        for b in range(0, x.shape[0], a.batch_size):
            idx = perm[b:b + a.batch_size]
            xb = (x.index_select(0, idx) - mean) / std
            yb = y.index_select(0, idx)
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            loss.item()
            (logits.argmax(1) == yb).sum().item()
        rates.append(x.shape[0] / (time.perf_counter() - start))
    print(json.dumps({"samples_per_second": rates, "peak_rss_mib":
                      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
