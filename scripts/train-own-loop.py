#!/usr/bin/python3
"""A user's own PyTorch training loop with the deepsigns white-box loss added: the pattern to
copy into any loop (any device; under DDP, make the loss a submodule of the wrapped model so its
centres' gradients are averaged too). Trains a model that has a `taps` method (ds-train's zoo or
scripts/prepare-model.py) on IDX data (MNIST, Fashion-MNIST) and saves it for ds-verify.

    scripts/train-own-loop.py --model base.pt --data /usr/share/datasets/fashion-mnist \\
        --wm-loss wm_loss.pt --epochs 2 --out marked.pt

Prints one JSON line: epochs, test accuracy, seconds."""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

from idx_data import load_split


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        right = sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
                    for i in range(0, len(x), 1000))
    model.train()
    return right / len(x)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="TorchScript model with a taps method")
    p.add_argument("--data", required=True, help="folder of IDX files")
    p.add_argument("--wm-loss", help="exported white-box loss (ds-gen-keys --export-loss)")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--train-fraction", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    extra = {"deepsigns.json": ""}
    model = torch.jit.load(a.model, _extra_files=extra)
    model.train()
    x, y = load_split(a.data, "train")
    if a.train_fraction < 1:
        keep = torch.randperm(len(x), generator=torch.Generator().manual_seed(a.seed))
        keep = keep[:int(len(x) * a.train_fraction)]
        x, y = x[keep], y[keep]
    tx, ty = load_split(a.data, "t10k")

    # The two lines that add the watermark: load the loss, and train its centres beside the model.
    wm = torch.jit.load(a.wm_loss) if a.wm_loss else None
    groups = [{"params": list(model.parameters())}]
    if wm is not None:
        groups.append({"params": list(wm.parameters()), "lr": wm.centre_lr})
    opt = torch.optim.Adam(groups, lr=a.lr)

    start = time.time()
    for _ in range(a.epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x), a.batch_size):
            idx = order[i:i + a.batch_size]
            bx, by = x[idx], y[idx]
            taps = model.taps(bx)
            loss = F.cross_entropy(taps["logits"], by)
            if wm is not None:
                loss = loss + wm(taps, by)
            opt.zero_grad()
            loss.backward()
            opt.step()
    seconds = time.time() - start
    acc = accuracy(model, tx, ty)
    info = json.loads(extra["deepsigns.json"] or "{}")
    info.setdefault("provenance", []).append(
        {"tool": "train-own-loop.py", "epochs": a.epochs, "watermark_loss": bool(wm),
         "test_accuracy": acc})
    torch.jit.save(model, a.out, _extra_files={"deepsigns.json": json.dumps(info, indent=2)})
    print(json.dumps({"epochs": a.epochs, "test_accuracy": acc, "seconds": round(seconds, 1),
                      "watermark_loss": bool(wm)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
