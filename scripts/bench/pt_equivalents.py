#!/usr/bin/python3
"""PyTorch eager equivalents of the deepsigns tools, for scripts/bench.sh: the same models
(eager nn.Modules with the zoo's parameter names, weights loaded from the tool's .pt), data,
losses, optimizers, batch sizes and thread counts. Each subcommand prints one JSON line.

  train     --arch mlp|cnn --epochs E            training samples/s per epoch
  train     --arch resnet18 --data DIR --epochs E   the same for a torchvision ResNet-18 (32x32
            stem, as scripts/prepare-model.py --small-input-stem makes it) on DIR/train.pt
            (scripts/make-rgb32.py), batch 64
  flops     --arch mlp|cnn|resnet18              forward FLOPs per sample of the convolutions and
            linear layers (2 per multiply-add; batch norm, activations and pooling not counted)
  embed-wb  --model M.pt --key K --epochs E      white-box embedding samples/s per epoch
            (DeepSigns loss: CE + l1 (pull + separation + unit norm) + l2 BCE, trainable centres)
  embed-bb  --model M.pt --key C --rounds R      black-box embedding: R rounds of fine-tuning on
            the training set plus the key candidates, then the candidates' check; total seconds
  verify    --model M.pt --key K                 white-box extraction and p-value; the caller
            times the process from start to exit
"""
import argparse
import json
import math
import os
import resource
import sys
import time

T0 = time.perf_counter()
import torch  # noqa: E402
from torch import nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import idx_data  # noqa: E402

FMNIST = "/usr/share/datasets/fashion-mnist"


def load_split(prefix):
    return idx_data.load_split(FMNIST, prefix)


class MLP(nn.Module):
    """The zoo MLP (784-512-512-10, dropout 0.2); taps as in the TorchScript model."""

    def __init__(self):
        super().__init__()
        self.register_buffer("input_mean", torch.zeros(1, 1, 1, 1))
        self.register_buffer("input_std", torch.ones(1, 1, 1, 1))
        self.fc1, self.fc2, self.fc3 = nn.Linear(784, 512), nn.Linear(512, 512), nn.Linear(512, 10)

    def taps(self, x):
        h = ((x - self.input_mean) / self.input_std).flatten(1)
        h1 = F.relu(self.fc1(h))
        h2 = F.relu(self.fc2(F.dropout(h1, 0.2, self.training)))
        return {"fc1": h1, "fc2": h2, "logits": self.fc3(F.dropout(h2, 0.2, self.training))}

    def forward(self, x):
        return self.taps(x)["logits"]


class CNN(nn.Module):
    """The zoo CNN (conv 16, conv 32, each BN + ReLU + 2x2 pool; fc 512, dropout 0.3, fc 10)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("input_mean", torch.zeros(1, 1, 1, 1))
        self.register_buffer("input_std", torch.ones(1, 1, 1, 1))
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1, self.fc2 = nn.Linear(32 * 7 * 7, 512), nn.Linear(512, 10)

    def taps(self, x):
        h = (x - self.input_mean) / self.input_std
        c1 = F.relu(self.bn1(self.conv1(h)))
        c2 = F.relu(self.bn2(self.conv2(F.max_pool2d(c1, 2))))
        f1 = F.relu(self.fc1(F.max_pool2d(c2, 2).flatten(1)))
        return {"conv1": c1, "conv2": c2, "fc1": f1,
                "logits": self.fc2(F.dropout(f1, 0.3, self.training))}

    def forward(self, x):
        return self.taps(x)["logits"]


def load_eager(path):
    """An eager module with the weights of a zoo TorchScript model."""
    scripted = torch.jit.load(path)
    state = scripted.state_dict()
    model = CNN() if "conv1.weight" in state else MLP()
    model.load_state_dict(state)
    return model


def epochs_loop(model, params, x, y, batch, epochs, step):
    """Shuffled mini-batches as run_epoch does; returns samples/s of each epoch."""
    rates = []
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(x.shape[0])
        start = time.perf_counter()
        for b in range(0, x.shape[0], batch):
            idx = perm[b:b + batch]
            loss, logits = step(x.index_select(0, idx), y.index_select(0, idx))
            for p in params:
                p.zero_grad()
            loss.backward()
            for p in params:
                p.step()
            loss.item()
            (logits.argmax(1) == y.index_select(0, idx)).sum().item()
        rates.append(x.shape[0] / (time.perf_counter() - start))
    return rates


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item()
                   for i in range(0, x.shape[0], 1000)) / x.shape[0]


class ResNet18(nn.Module):
    """torchvision's ResNet-18 with the 32x32 stem, pixels normalised inside as in the
    prepared model (scripts/prepare-model.py)."""

    def __init__(self):
        super().__init__()
        prepare_model = __import__("prepare-model")  # scripts/ is on the path, as for idx_data
        self.net = prepare_model.build("torchvision:resnet18", 10, True)

    def forward(self, x):
        return self.net((x - 0.22) / 0.33)


def make_model(arch):
    return {"mlp": MLP, "cnn": CNN, "resnet18": ResNet18}[arch]()


def rgb32_split(folder):
    d = torch.load(os.path.join(folder, "train.pt"))
    return d["x"].float().div(255), d["y"]


def cmd_train(a):
    x, y = rgb32_split(a.data) if a.arch == "resnet18" else load_split("train")
    model = make_model(a.arch)
    if a.arch != "resnet18":
        model.input_mean.fill_(x.mean().item())
        model.input_std.fill_(x.std().item())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(xb, yb):
        logits = model(xb)
        return F.cross_entropy(logits, yb), logits

    batch = 64 if a.arch == "resnet18" else 128
    return {"samples_per_second": epochs_loop(model, [opt], x, y, batch, a.epochs, step)}


def cmd_flops(a):
    model = make_model(a.arch).eval()
    total = [0]

    def count(m, inputs, out):
        if isinstance(m, nn.Conv2d):
            per_output = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            total[0] += 2 * out[0].numel() * per_output
        elif isinstance(m, nn.Linear):
            total[0] += 2 * m.in_features * m.out_features
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(count)
    shape = (1, 3, 32, 32) if a.arch == "resnet18" else (1, 1, 28, 28)
    with torch.no_grad():
        model(torch.zeros(shape))
    return {"forward_flops_per_sample": total[0]}


def cmd_gemm(a):
    """The best FP32 GEMM rate of this core (1024^3, the BLAS LibTorch runs): a measured ceiling
    beside the nominal peak, which assumes the reported clock."""
    x, y = torch.randn(1024, 1024), torch.randn(1024, 1024)
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        x @ y
        best = min(best, time.perf_counter() - start)
    return {"gflops": 2 * 1024 ** 3 / best / 1e9}


def cmd_embed_wb(a):
    x, y = load_split("train")
    key = torch.load(a.key)
    meta = json.loads(key["meta"])["whitebox"]
    layer = meta["layer"]
    A = key["whitebox.projection"]
    bits = key["whitebox.bits"].float()
    carriers = torch.tensor(meta["carriers"])
    model = load_eager(a.model)
    # Centres from class means over 10,000 training samples, scaled to unit norm on average.
    model.eval()
    with torch.no_grad():
        idx = torch.randperm(x.shape[0])[:10000]
        acts = torch.cat([model.taps(x[idx[i:i + 1000]])[layer].flatten(1) for i in range(0, 10000, 1000)])
        means = torch.zeros(10, acts.shape[1]).index_add_(0, y[idx], acts)
        means /= torch.bincount(y[idx], minlength=10).clamp_min(1).unsqueeze(1)
    scale = means.norm(dim=1).mean().item()
    centres = (means / scale).requires_grad_(True)
    opt = torch.optim.Adam(model.parameters(), lr=5e-5)
    centre_opt = torch.optim.Adam([centres], lr=0.01)
    is_carrier = torch.zeros(10)
    is_carrier[carriers] = 1
    self_mask = 3 * torch.eye(10)

    def step(xb, yb):
        with torch.no_grad():
            centres.clamp_min_(0)
        taps = model.taps(xb)
        logits, f = taps["logits"], taps[layer].flatten(1) / scale
        loss0 = F.cross_entropy(logits, yb)
        pull = 0.5 * ((f - centres[yb]).pow(2).sum(1) * is_carrier[yb]).sum()
        unit = F.normalize(centres, dim=1)
        separation = ((unit @ unit.t()) - self_mask).max(1).values.clamp_min(0)[yb].mean()
        norm = (1 - centres.pow(2).sum(1)).abs().sum()
        present = (torch.bincount(yb, minlength=10)[carriers] > 0).float()
        loss2 = F.binary_cross_entropy_with_logits(centres[carriers] @ A, bits,
                                                   present.unsqueeze(1).expand_as(bits), reduction="sum")
        return loss0 + 0.05 * (pull + separation + norm) + 0.3 * loss2, logits

    rates = epochs_loop(model, [opt, centre_opt], x, y, 128, a.epochs, step)
    model.eval()
    with torch.no_grad():  # the tool's check: the triggers' BER after embedding
        acts = model.taps(key["whitebox.triggers"])[layer].flatten(1)
        labels = key["whitebox.trigger_labels"]
        means = torch.stack([acts[labels == c].mean(0) for c in meta["carriers"]])
        ber = ((means @ A > 0).float() != bits).float().mean().item()
    return {"samples_per_second": rates, "ber": ber}


def cmd_embed_bb(a):
    x, y = load_split("train")
    xt, yt = load_split("t10k")
    key = torch.load(a.key)
    inputs, labels = key["blackbox.inputs"], key["blackbox.labels"]
    base_pred = key["blackbox.base_predictions"]
    model = load_eager(a.model)
    start = time.perf_counter()  # as ds-embed-wm's embed_seconds: data, key and model loaded
    accuracy(model, xt, yt)
    opt = torch.optim.SGD(model.parameters(), lr=8e-4, momentum=0.9, nesterov=True)

    def step(xb, yb):
        logits = model(xb)
        return F.cross_entropy(logits, yb), logits

    mx, my = torch.cat([x, inputs]), torch.cat([y, labels])
    for _ in range(a.rounds):
        epochs_loop(model, [opt], mx, my, 128, 2, step)
        model.eval()
        with torch.no_grad():
            good = (model(inputs).argmax(1) == labels) & (base_pred != labels)
        good.sum().item()
    accuracy(model, xt, yt)
    return {"seconds": time.perf_counter() - start}


def log10_binomial_upper_tail(n, k):
    """log10 P[Binomial(n, 1/2) >= k]."""
    total = sum(math.comb(n, i) for i in range(k, n + 1))
    return math.log10(total) - n * math.log10(2)


def cmd_verify(a):
    key = torch.load(a.key)
    if not a.models_from:
        return verify_one(torch.jit.load(a.model).eval(), key)
    # Many suspects in one process: the key read once, each model loaded and read in turn.
    paths = [l.strip() for l in open(a.models_from) if l.strip() and not l.startswith("#")]
    start = time.time()
    proven = sum(verify_one(torch.jit.load(p).eval(), key)["verified"] for p in paths)
    return {"suspects": len(paths), "proven": proven, "seconds": time.time() - start}


def verify_one(model, key):
    meta = json.loads(key["meta"])["whitebox"]
    with torch.no_grad():
        acts = model.taps(key["whitebox.triggers"])[meta["layer"]].flatten(1)
    labels = key["whitebox.trigger_labels"]
    means = torch.stack([acts[labels == c].mean(0) for c in meta["carriers"]])
    extracted = (means @ key["whitebox.projection"] > 0).long()
    n = extracted.numel()
    matches = int((extracted == key["whitebox.bits"]).sum())
    log10_p = log10_binomial_upper_tail(n, matches)
    return {"ber": 1 - matches / n, "log10_p_value": log10_p, "verified": log10_p <= -6}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["train", "embed-wb", "embed-bb", "verify", "flops", "gemm"])
    p.add_argument("--arch", default="mlp")
    p.add_argument("--model")
    p.add_argument("--key")
    p.add_argument("--data", help="train --arch resnet18: the folder of scripts/make-rgb32.py")
    p.add_argument("--models-from", help="verify: a file listing suspect models, one per line")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    out = {"train": cmd_train, "embed-wb": cmd_embed_wb, "embed-bb": cmd_embed_bb,
           "verify": cmd_verify, "flops": cmd_flops, "gemm": cmd_gemm}[a.command](a)
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
