#!/usr/bin/python3
"""Writes a labelled image set as an image folder (OUT/SPLIT/CLASS/IMAGE) for the
"imagefolder" data format: an IDX folder (MNIST, Fashion-MNIST; train and t10k become
OUT/train and OUT/test) or a torch.save'd {'x': images, 'y': labels} file (OUT/train;
--test-file adds OUT/test).

    scripts/make-imagefolder.py SOURCE OUT [--test-file FILE] [--limit N] [--format png|jpg]
        [--quality Q] [--size H W] [--channels 1|3] [--sorted-idx DIR]

Class folders are the labels zero-padded to one width, so that bytewise order is numeric order
and label k stays label k. File names are each sample's index in its split, zero-padded, so
the folder's order (class, then name) is the source order sorted stably by label; IDX order
itself interleaves the classes and cannot be kept. --limit N keeps the first N samples of each
split. --size H W fits every image as the reader does (scaled to cover, bilinear with
antialiasing, centre crop) and --channels 3 repeats gray into RGB, e.g. 64x64x3 images for
memory benchmarks. --format jpg (quality 95 unless --quality) is lossy. --sorted-idx DIR also
writes the same samples as IDX files in the folder's order, so that the IDX reader and the
image folder reader can be compared sample for sample (gray PNG only). Images are written with
PIL (Debian's python3-pil). OUT is written under a temporary name and renamed when complete.
"""
import argparse
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from idx_data import read_idx


def load_tensor_file(path):
    d = torch.load(path)
    x, y = d["x"], d["y"]
    if x.is_floating_point():
        x = x.mul(255).round().clamp(0, 255).to(torch.uint8)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    return x.numpy(), y.numpy().astype(np.int64)


def load_splits(args):
    """[(name, images uint8 N x C x H x W, labels)] for each split the source has."""
    if os.path.isdir(args.source):
        return [(out, read_idx(args.source, f"{split}-images-idx3-ubyte")[:, None],
                 read_idx(args.source, f"{split}-labels-idx1-ubyte").astype(np.int64))
                for out, split in (("train", "train"), ("test", "t10k"))]
    splits = [("train", *load_tensor_file(args.source))]
    if args.test_file:
        splits.append(("test", *load_tensor_file(args.test_file)))
    return splits


def fit(x, size, channels):
    """Resize (cover, bilinear, antialiased, centre crop) and channel repeat, as uint8."""
    if channels == 1 and x.shape[1] == 3:
        raise SystemExit("--channels 1 would need a colour to gray weighting; not done")
    t = torch.from_numpy(np.array(x))  # a writable copy
    if size and tuple(t.shape[2:]) != tuple(size):
        (h, w), (th, tw) = t.shape[2:], size
        nh, nw = (th, max(tw, (w * th + h // 2) // h)) if th * w >= tw * h else \
                 (max(th, (h * tw + w // 2) // w), tw)
        f = F.interpolate(t.float().div(255), size=(nh, nw), mode="bilinear",
                          align_corners=False, antialias=True).clamp(0, 1)
        t = f[:, :, (nh - th) // 2:(nh - th) // 2 + th, (nw - tw) // 2:(nw - tw) // 2 + tw]
        t = t.mul(255).round().to(torch.uint8)
    if channels == 3 and t.shape[1] == 1:
        t = t.repeat(1, 3, 1, 1)
    return t.numpy()


def write_idx(folder, prefix, x, y):
    with open(os.path.join(folder, f"{prefix}-images-idx3-ubyte"), "wb") as f:
        f.write(struct.pack(">IIII", 0x803, *x.shape) + x.tobytes())
    with open(os.path.join(folder, f"{prefix}-labels-idx1-ubyte"), "wb") as f:
        f.write(struct.pack(">II", 0x801, len(y)) + y.astype(np.uint8).tobytes())


def write_split(root, x, y, digits, classes, args):
    width = len(str(classes - 1))
    missing = sorted(set(range(classes)) - set(y.tolist()))
    if missing:
        raise SystemExit(f"{root}: no samples of class(es) {missing}; an empty class folder "
                         "is an error for the reader (raise --limit)")
    ext = "jpg" if args.format == "jpg" else "png"
    for i, (img, label) in enumerate(zip(x, y)):
        folder = os.path.join(root, f"{label:0{width}d}")
        os.makedirs(folder, exist_ok=True)
        pixels = img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0)
        im = Image.fromarray(np.ascontiguousarray(pixels), "L" if img.shape[0] == 1 else "RGB")
        path = os.path.join(folder, f"{i:0{digits}d}.{ext}")
        if ext == "jpg":
            im.save(path, "JPEG", quality=args.quality)
        else:
            im.save(path, "PNG")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("source")
    p.add_argument("out")
    p.add_argument("--test-file")
    p.add_argument("--limit", type=int)
    p.add_argument("--format", choices=("png", "jpg"), default="png")
    p.add_argument("--quality", type=int, default=95)
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"))
    p.add_argument("--channels", type=int, choices=(1, 3))
    p.add_argument("--sorted-idx", metavar="DIR")
    args = p.parse_args()
    if args.sorted_idx and (args.format != "png" or args.channels == 3 or args.size):
        raise SystemExit("--sorted-idx compares exact gray pixels: PNG, no --size or --channels 3")
    if os.path.exists(args.out):
        raise SystemExit(f"{args.out}: exists; refusing to write over it")
    splits = load_splits(args)
    classes = int(max(y.max() for _, _, y in splits)) + 1
    tmp = f"{args.out.rstrip('/')}.tmp-{os.getpid()}"
    try:
        for name, x, y in splits:
            digits = len(str(len(x) - 1))  # from the full split, so names do not depend on --limit
            x, y = x[:args.limit], y[:args.limit]
            x = fit(x, args.size, args.channels)
            write_split(os.path.join(tmp, name), x, y, digits, classes, args)
            if args.sorted_idx:
                order = np.argsort(y, kind="stable")
                os.makedirs(args.sorted_idx, exist_ok=True)
                write_idx(args.sorted_idx, "train" if name == "train" else "t10k",
                          np.ascontiguousarray(x[order, 0]), y[order])
        os.rename(tmp, args.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
