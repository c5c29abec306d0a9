#!/usr/bin/python3
"""Makes a PyTorch model usable by the deepsigns tools: input normalisation inside (the tools
feed pixels in [0, 1]), a `taps(x) -> Dict[str, Tensor]` method returning the outputs of named
submodules and the logits, scripted and saved with its description (deepsigns.json).

    scripts/prepare-model.py --model torchvision:resnet18 --num-classes 10 --input-shape 3 32 32 \\
        --mean 0.49 0.48 0.45 --std 0.25 0.24 0.26 --taps pool=avgpool --out resnet18.pt
    scripts/prepare-model.py --model my_models.py:make_net --taps fc1=hidden.0 ... --out net.pt

Taps are found by tracing the module with torch.fx: each NAME=SUBMODULE records that
submodule's output (a submodule called more than once is refused). From Python, import it with
importlib and call prepare(module, taps, mean, std, input_shape, num_classes, out)."""
import argparse
import importlib
import importlib.util
import json
import sys
from typing import Dict, List

import torch
import torch.fx


class Prepared(torch.nn.Module):
    """Normalises [0, 1] pixels, then runs the traced network, which returns every tap."""

    def __init__(self, traced: torch.nn.Module, mean: List[float], std: List[float]):
        super().__init__()
        self.net = traced
        shape = [1, len(mean), 1, 1]
        self.register_buffer("input_mean", torch.tensor(mean, dtype=torch.float32).view(shape))
        self.register_buffer("input_std", torch.tensor(std, dtype=torch.float32).view(shape))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.input_mean) / self.input_std)["logits"]

    @torch.jit.export
    def taps(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return self.net((x - self.input_mean) / self.input_std)


def trace_with_taps(module: torch.nn.Module, taps: Dict[str, str]) -> torch.fx.GraphModule:
    """The module's graph, returning {tap: output of its submodule, ..., "logits": output}."""
    gm = torch.fx.symbolic_trace(module)
    calls: Dict[str, List[torch.fx.Node]] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls.setdefault(node.target, []).append(node)
    outputs = {}
    for name, target in taps.items():
        if name == "logits":
            raise SystemExit("prepare-model: the tap name 'logits' is reserved for the output")
        found = calls.get(target, [])
        if len(found) != 1:
            known = ", ".join(sorted(calls)) or "none"
            what = "is called more than once" if found else "is not a submodule the forward calls"
            raise SystemExit(f"prepare-model: --taps {name}={target}: '{target}' {what} "
                             f"(submodules called: {known})")
        outputs[name] = found[0]
    output = next(n for n in gm.graph.nodes if n.op == "output")
    outputs["logits"] = output.args[0]
    output.args = (outputs,)
    output.type = Dict[str, torch.Tensor]  # the generated forward's return annotation
    gm.graph.lint()
    gm.recompile()
    return gm


def describe(model: torch.jit.ScriptModule, input_shape: List[int], num_classes: int,
             mean: List[float], std: List[float], source: str) -> dict:
    """The description the tools read (the same fields ds-train writes)."""
    with torch.no_grad():
        taps = model.eval().taps(torch.zeros([1] + input_shape))
    logits = taps["logits"]
    if logits.dim() != 2 or logits.size(1) != num_classes:
        raise SystemExit(f"prepare-model: the model outputs shape {list(logits.shape)}, "
                         f"not [batch, {num_classes}] (--num-classes)")
    return {"format": "deepsigns-model", "format_version": 1,
            "arch": {"arch": "torchscript", "source": source},
            "input_shape": input_shape, "num_classes": num_classes,
            "normalization": {"mean": mean, "std": std},
            "taps": [{"name": k, "shape": list(v.shape[1:]), "width": int(v[0].numel())}
                     for k, v in taps.items()],
            "provenance": [{"tool": "prepare-model.py", "source": source}]}


def prepare(module: torch.nn.Module, taps: Dict[str, str], mean: List[float], std: List[float],
            input_shape: List[int], num_classes: int, out: str, source: str = "python") -> None:
    if len(mean) != input_shape[0] or len(std) != input_shape[0]:
        raise SystemExit("prepare-model: --mean and --std need one value per input channel")
    scripted = torch.jit.script(Prepared(trace_with_taps(module, taps), mean, std))
    info = describe(scripted, input_shape, num_classes, mean, std, source)
    scripted.train()
    torch.jit.save(scripted, out, _extra_files={"deepsigns.json": json.dumps(info, indent=2)})


def small_input_stem(net: torch.nn.Module) -> None:
    """A torchvision ResNet's stem for 32x32 inputs (CIFAR-style): 3x3 stride-1 conv, no pool."""
    net.conv1 = torch.nn.Conv2d(net.conv1.in_channels, net.conv1.out_channels, 3, 1, 1,
                                bias=False)
    net.maxpool = torch.nn.Identity()


def build(spec: str, num_classes: int, stem: bool) -> torch.nn.Module:
    """torchvision:NAME, or FILE.py:FUNCTION (called with num_classes=...)."""
    where, _, name = spec.partition(":")
    if not name:
        raise SystemExit(f"prepare-model: --model {spec}: expected torchvision:NAME or FILE.py:FUNCTION")
    if where == "torchvision":
        import torchvision
        net = getattr(torchvision.models, name)(num_classes=num_classes)
    else:
        loader = importlib.util.spec_from_file_location("user_models", where)
        if loader is None:
            raise SystemExit(f"prepare-model: --model {spec}: cannot load {where}")
        mod = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(mod)
        net = getattr(mod, name)(num_classes=num_classes)
    if stem:
        small_input_stem(net)
    return net


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="torchvision:NAME or FILE.py:FUNCTION")
    p.add_argument("--num-classes", type=int, required=True)
    p.add_argument("--input-shape", type=int, nargs=3, required=True, metavar=("C", "H", "W"))
    p.add_argument("--mean", type=float, nargs="+", required=True)
    p.add_argument("--std", type=float, nargs="+", required=True)
    p.add_argument("--taps", nargs="+", default=[], metavar="NAME=SUBMODULE")
    p.add_argument("--small-input-stem", action="store_true",
                   help="torchvision ResNets: 3x3 stride-1 first conv and no max pooling")
    p.add_argument("--seed", type=int, default=0, help="fixes the initial weights")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    taps = {}
    for t in a.taps:
        name, sep, target = t.partition("=")
        if not sep or not name or not target:
            raise SystemExit(f"prepare-model: --taps {t}: expected NAME=SUBMODULE")
        taps[name] = target
    torch.manual_seed(a.seed)
    net = build(a.model, a.num_classes, a.small_input_stem)
    prepare(net, taps, a.mean, a.std, a.input_shape, a.num_classes, a.out, a.model)
    print(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
