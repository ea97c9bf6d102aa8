"""ST-LPIPS, shift-tolerant LPIPS (Ghildyal & Liu, ECCV 2022), on SR Lab's own modules.

Why our own modules: the `stlpips-pytorch` package computes it, but imports
IPython and torchsummary without declaring them; its weight files are plain
tensors, so SR Lab builds the blur-pooled AlexNet / VGG16 trunks and the LPIPS
heads itself and only reads the package's files (found through
`importlib.metadata`, sha256-checked, `torch.load(weights_only=True)`).

What makes the trunks shift-tolerant: every stride-2 step is a stride-1 max
pool (where the original had one) followed by a binomial [1, 2, 1]^2 / 16 blur
with stride 2 on a 2-px reflection-padded map (anti-aliased down-sampling,
Zhang 2019; the 2-px padding is ST-LPIPS's "pad more"); AlexNet's first
convolution runs at stride 1 and is blurred before its ReLU.

`alexnet_trunk()` and `vgg16_trunk()` are reusable feature extractors with
named stages (LPIPS's relu1..relu5 / relu1_2..relu5_3 taps). Their weights are
the ones shipped for ST-LPIPS: the package says nothing about the data they
were trained on, and it ships no classifier layers, so nobody can check here
that they still classify ImageNet.
"""

from __future__ import annotations

import importlib.metadata
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from sr_demo.errors import UserError

PACKAGE, VERSION = "stlpips-pytorch", "0.0.2"
#: net -> (path inside the installed distribution, sha256)
WEIGHTS = {
    "alex": ("stlpips_pytorch/weights/vST0.0/alex_shift_tolerant.pth",
             "b356b382f96010f77d085ee8343ecd9fd322d0a56e8de2b2d0549fafcad8b9ee"),
    "vgg": ("stlpips_pytorch/weights/vST0.0/vgg_shift_tolerant.pth",
            "44597da68f49c1837c100ff52299050f274d102eb102e5837178c79be6f0e250"),
}
#: Smallest image side each trunk takes (below it a reflection pad is wider than its map); see the test.
MIN_SIDE = {"alex": 21, "vgg": 18}


def binomial_filter() -> torch.Tensor:
    """[1, 2, 1] x [1, 2, 1] / 16."""
    a = torch.tensor([1.0, 2.0, 1.0])
    return torch.outer(a, a) / 16


class BlurPool2d(nn.Module):
    """Anti-aliased stride-2 down-sampling: reflect-pad 2 px, binomial 3x3 blur per channel, keep every 2nd."""

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.register_buffer("filt", binomial_filter().expand(channels, 1, 3, 3).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), self.filt, stride=2, groups=self.channels)


class Trunk(nn.Module):
    """A feature extractor as named stages run in order; forward gives every stage's output, shallow to deep."""

    def __init__(self, stages: dict[str, nn.Sequential], channels: tuple[int, ...]):
        super().__init__()
        self.stages = nn.ModuleDict(stages)
        self.channels = channels

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = {}
        for name, stage in self.stages.items():
            x = stage(x)
            out[name] = x
        return out

    def stage_layers(self) -> dict[str, str]:
        """Stage name -> dotted submodule name (for forward hooks)."""
        return {name: f"stages.{name}" for name in self.stages}


def _seq(*named: tuple[str, nn.Module]) -> nn.Sequential:
    return nn.Sequential(OrderedDict(named))


def _relu() -> nn.ReLU:
    return nn.ReLU(inplace=True)


def alexnet_trunk(pretrained: bool = True) -> Trunk:
    """ST-LPIPS's blur-pooled AlexNet, stages relu1..relu5 (64, 192, 384, 256, 256 channels)."""
    trunk = Trunk({
        "relu1": _seq(("conv1", nn.Conv2d(3, 64, 11, stride=1, padding=2)), ("blur1", BlurPool2d(64)),
                      ("relu1", _relu())),
        "relu2": _seq(("pool1", nn.MaxPool2d(3, stride=1)), ("blur2", BlurPool2d(64)),
                      ("conv2", nn.Conv2d(64, 192, 5, padding=2)), ("relu2", _relu())),
        "relu3": _seq(("pool2", nn.MaxPool2d(3, stride=1)), ("blur3", BlurPool2d(192)),
                      ("conv3", nn.Conv2d(192, 384, 3, padding=1)), ("relu3", _relu())),
        "relu4": _seq(("conv4", nn.Conv2d(384, 256, 3, padding=1)), ("relu4", _relu())),
        "relu5": _seq(("conv5", nn.Conv2d(256, 256, 3, padding=1)), ("relu5", _relu())),
    }, (64, 192, 384, 256, 256))
    if pretrained:
        _load_trunk(trunk, package_state_dict("alex"))
    return trunk.eval().requires_grad_(False) if pretrained else trunk


#: VGG16 ("D"): convolutions per stage and their width.
_VGG_STAGES = (("relu1_2", 2, 64), ("relu2_2", 2, 128), ("relu3_3", 3, 256), ("relu4_3", 3, 512),
               ("relu5_3", 3, 512))


def vgg16_trunk(pretrained: bool = True) -> Trunk:
    """ST-LPIPS's blur-pooled VGG16, stages relu1_2..relu5_3; each stage after the first starts with a
    2x2 stride-1 max pool and a blur pool in place of VGG's 2x2 stride-2 max pool."""
    stages, c_in = {}, 3
    for k, (name, n_convs, width) in enumerate(_VGG_STAGES, start=1):
        layers = [] if k == 1 else [(f"pool{k - 1}", nn.MaxPool2d(2, stride=1)), (f"blur{k - 1}", BlurPool2d(c_in))]
        for j in range(1, n_convs + 1):
            layers += [(f"conv{k}_{j}", nn.Conv2d(c_in, width, 3, padding=1)), (f"relu{k}_{j}", _relu())]
            c_in = width
        stages[name] = _seq(*layers)
    trunk = Trunk(stages, tuple(w for _, _, w in _VGG_STAGES))
    if pretrained:
        _load_trunk(trunk, package_state_dict("vgg"))
    return trunk.eval().requires_grad_(False) if pretrained else trunk


TRUNKS = {"alex": alexnet_trunk, "vgg": vgg16_trunk}


class STLPIPS(nn.Module):
    """LPIPS v0.1 on a shift-tolerant trunk: unit-normalised stage features, squared differences weighted
    by non-negative 1x1 convolutions, averaged over space, summed over stages. RGB in [0, 1]; lower is better."""

    def __init__(self, net: str, pretrained: bool = True):
        super().__init__()
        self.net = net
        self.trunk = TRUNKS[net](pretrained=False)
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.trunk.channels)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1), persistent=False)
        if pretrained:
            sd = package_state_dict(net)
            _load_trunk(self.trunk, sd)
            for i, (lin, c) in enumerate(zip(self.lins, self.trunk.channels)):
                lin.weight.data.copy_(_take(sd, f"lin{i}.model.1.weight", (1, c, 1, 1), net))
            _check_scaling(sd, self.shift, self.scale, net)
            self.eval().requires_grad_(False)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised (over channels) stage features of an RGB [0, 1] batch."""
        feats = self.trunk((x * 2 - 1 - self.shift) / self.scale).values()
        return [f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10) for f in feats]

    def forward(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        side = min(dist.shape[-2:])
        if side < MIN_SIDE[self.net]:
            raise UserError(f"ST-LPIPS ({self.net}) needs images at least {MIN_SIDE[self.net]} px a side; "
                            f"this one is {dist.shape[-1]}×{dist.shape[-2]}.")
        return self.distance(self.features(dist), self.features(ref))

    def distance(self, dist_feats: list[torch.Tensor], ref_feats: list[torch.Tensor]) -> torch.Tensor:
        """The LPIPS sum from features already computed (evaluation reuses one reference's features)."""
        return sum(lin((a - b) ** 2).mean((1, 2, 3)) for lin, a, b in zip(self.lins, dist_feats, ref_feats))


# --- the package's files -------------------------------------------------------

def weights_path(net: str) -> Path:
    """The installed package's weight file for `net`, sha256-checked; a UserError saying what to install."""
    from sr_demo.models.loader import file_sha256

    rel, sha = WEIGHTS[net]
    install = f"install it with `pip install {PACKAGE}=={VERSION}` (an SR Lab dependency)"
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        raise UserError(f"ST-LPIPS reads its weights from the {PACKAGE} package, which is not installed: "
                        f"{install}.") from None
    if dist.version != VERSION:
        raise UserError(f"ST-LPIPS needs {PACKAGE} {VERSION}, found {dist.version}: {install}.")
    path = Path(str(dist.locate_file(rel)))
    if not path.is_file():
        raise UserError(f"{PACKAGE} {VERSION} has no {rel}; reinstall it ({install}).")
    if file_sha256(path) != sha:
        raise UserError(f"{path.name} in {PACKAGE} does not match its pinned sha256; reinstall the package.")
    return path


@lru_cache(maxsize=2)
def package_state_dict(net: str) -> dict[str, torch.Tensor]:
    return torch.load(weights_path(net), map_location="cpu", weights_only=True)


def _layer_order(key: str) -> tuple[int, int]:
    """'net.slice3.12.weight' -> (3, 12): the package's layer order."""
    _, s, i, _ = key.split(".")
    return int(s.removeprefix("slice")), int(i)


def _load_trunk(trunk: Trunk, sd: dict[str, torch.Tensor]) -> None:
    """Map the package's `net.sliceK.I.*` tensors onto our layers by order; shapes and blur filters checked."""
    keys = sorted((k for k in sd if k.startswith("net.")), key=_layer_order)
    convs = [m for m in trunk.modules() if isinstance(m, nn.Conv2d)]
    blurs = [m for m in trunk.modules() if isinstance(m, BlurPool2d)]
    weights = [k for k in keys if k.endswith(".weight")]
    filters = [k for k in keys if k.endswith(".filt")]
    if len(weights) != len(convs) or len(filters) != len(blurs):
        raise UserError(f"ST-LPIPS weights: {len(weights)} convolutions and {len(filters)} blurs in the file, "
                        f"{len(convs)} and {len(blurs)} in the trunk; not the published file.")
    for key, conv in zip(weights, convs):
        bias = key.removesuffix("weight") + "bias"
        if sd[key].shape != conv.weight.shape or bias not in sd:
            raise UserError(f"ST-LPIPS weights: {key} has shape {tuple(sd[key].shape)}, the trunk expects "
                            f"{tuple(conv.weight.shape)}.")
        conv.weight.data.copy_(sd[key])
        conv.bias.data.copy_(sd[bias])
    for key, blur in zip(filters, blurs):
        if sd[key].shape != blur.filt.shape or not torch.allclose(sd[key], blur.filt):
            raise UserError(f"ST-LPIPS weights: {key} is not the binomial blur of {blur.channels} channels.")


def _take(sd: dict[str, torch.Tensor], key: str, shape: tuple[int, ...], net: str) -> torch.Tensor:
    if key not in sd or tuple(sd[key].shape) != shape:
        raise UserError(f"ST-LPIPS ({net}) weights have no {key} of shape {shape}.")
    return sd[key]


def _check_scaling(sd: dict[str, torch.Tensor], shift: torch.Tensor, scale: torch.Tensor, net: str) -> None:
    """LPIPS's fixed input scaling is stored in the file too; it must be the constant we use."""
    for key, ours in (("scaling_layer.shift", shift), ("scaling_layer.scale", scale)):
        if key in sd and not torch.allclose(sd[key].view(1, 3, 1, 1), ours):
            raise UserError(f"ST-LPIPS ({net}) weights carry a different input scaling ({key}).")


@lru_cache(maxsize=2)
def load_stlpips(net: str) -> STLPIPS:
    """The ST-LPIPS metric for `net` ("alex" or "vgg") with the package's weights."""
    return STLPIPS(net)


@torch.no_grad()
def stlpips(img: np.ndarray, ref: np.ndarray, net: str = "alex") -> float:
    """ST-LPIPS distance of one HxWx3 [0, 1] pair on the CPU."""
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]
    return float(load_stlpips(net)(t(img), t(ref)))
