"""LPIPS (Zhang et al. 2018, v0.1 AlexNet) and DISTS (Ding et al. 2020) with their published weights.

Neither set of weights can ship with SR Lab (ImageNet backbones are large and
licensed separately), so both are downloaded on first use into the weights
cache (`SR_DEMO_CACHE`, else ~/.cache/sr_demo) and read as plain tensors
(`weights_only=True`). torchvision's files carry the first 8 hex digits of
their sha256 in the name (torch.hub's convention), which is checked; the
small head files (pyiqa's mirror of the authors' releases) publish no hash,
so they are checked by their tensor names and shapes and their sha256 is
reported. Offline, the first use ends in one clear `UserError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sr_demo.errors import UserError
from sr_demo.iqa.swdn import L2Pool2d

_HF = "https://huggingface.co/chaofengc/IQA-PyTorch-Weights/resolve/main/"


@dataclass(frozen=True)
class Download:
    url: str
    sha256_prefix: str | None

    @property
    def file(self) -> str:
        return self.url.rsplit("/", 1)[1]


ALEXNET = Download("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", "7be5be79")
VGG16 = Download("https://download.pytorch.org/models/vgg16-397923af.pth", "397923af")
LPIPS_HEAD = Download(_HF + "LPIPS_v0.1_alex-df73285e.pth", None)
DISTS_HEAD = Download(_HF + "DISTS_weights-f5e65c96.pth", None)


def fetch(item: Download, what: str) -> Path:
    """The cached file, downloading it first if needed; a clear UserError when offline."""
    from sr_demo.models.loader import _download, cache_dir, file_sha256

    target = cache_dir() / "iqa" / item.file
    if not target.is_file():
        try:
            _download(item.url, target, None, what)
        except UserError as exc:
            raise UserError(f"{what} needs its published weights, downloaded once on first use, and this "
                            f"machine could not fetch them ({exc}). Use the offline metrics, or put "
                            f"{item.file} into {target.parent} by hand.") from None
    if item.sha256_prefix and not file_sha256(target).startswith(item.sha256_prefix):
        target.unlink()
        raise UserError(f"{item.file} does not match the sha256 prefix {item.sha256_prefix} in its name; "
                        "it was removed from the cache.")
    return target


def _tensors(path: Path) -> dict[str, torch.Tensor]:
    from sr_demo.models.loader import read_state_dict

    return read_state_dict(path)


def _pick(sd: dict[str, torch.Tensor], key: str, shape: tuple[int, ...], file: str) -> torch.Tensor:
    matches = [v for k, v in sd.items() if k == key or k.endswith("." + key)]
    if len(matches) != 1 or tuple(matches[0].shape) != shape:
        raise UserError(f"{file} has no tensor {key} of shape {shape}; it is not the published file.")
    return matches[0].float()


class LPIPS(nn.Module):
    """LPIPS v0.1 on AlexNet: unit-normalised conv1-5 ReLU features, squared differences weighted by
    learned 1x1 convolutions, averaged over space and summed. Inputs RGB in [0, 1]; lower is better."""

    CHANNELS = (64, 192, 384, 256, 256)
    CUTS = (2, 5, 8, 10, 12)  # torchvision alexnet.features indices after relu1..relu5

    def __init__(self):
        super().__init__()
        from torchvision.models import alexnet

        self.features = alexnet().features
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in self.CHANNELS)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1))

    def _feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        x, out, start = (x * 2 - 1 - self.shift) / self.scale, [], 0
        for cut in self.CUTS:
            x = self.features[start:cut](x)
            out.append(x / (x.pow(2).sum(1, keepdim=True).sqrt() + 1e-10))
            start = cut
        return out

    def forward(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return sum(lin((a - b) ** 2).mean((1, 2, 3)) for lin, a, b in zip(self.lins, self._feats(dist),
                                                                             self._feats(ref)))


class DISTS(nn.Module):
    """DISTS: VGG16 with L2 pooling; per-channel texture (mean) and structure (covariance) similarity
    weighted by learned alpha/beta; 1 - that. Inputs RGB in [0, 1]; lower is better."""

    CHANNELS = (3, 64, 128, 256, 512, 512)
    CUTS = ((0, 4), (4, 9), (9, 16), (16, 23), (23, 30))  # vgg16.features stages ending at relu1_2..relu5_3

    def __init__(self):
        super().__init__()
        from torchvision.models import vgg16

        self.features = vgg16().features
        self.pool = nn.ModuleList(L2Pool2d() for _ in range(4))
        self.alpha = nn.Parameter(torch.zeros(1, sum(self.CHANNELS), 1, 1))
        self.beta = nn.Parameter(torch.zeros(1, sum(self.CHANNELS), 1, 1))
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))

    def _feats(self, x: torch.Tensor) -> list[torch.Tensor]:
        out, h = [x], (x - self.mean) / self.std
        for i, (a, b) in enumerate(self.CUTS):
            layers = self.features[a + (1 if i else 0):b]  # each max pool is replaced by an L2 pool
            h = layers(self.pool[i - 1](h) if i else h)
            out.append(h)
        return out

    def forward(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        w_sum = self.alpha.sum() + self.beta.sum()
        alphas = torch.split(self.alpha / w_sum, self.CHANNELS, dim=1)
        betas = torch.split(self.beta / w_sum, self.CHANNELS, dim=1)
        total = 0.0
        for fx, fy, a, b in zip(self._feats(dist), self._feats(ref), alphas, betas):
            mx, my = fx.mean((2, 3), keepdim=True), fy.mean((2, 3), keepdim=True)
            texture = (2 * mx * my + 1e-6) / (mx**2 + my**2 + 1e-6)
            vx, vy = ((fx - mx) ** 2).mean((2, 3), keepdim=True), ((fy - my) ** 2).mean((2, 3), keepdim=True)
            cov = (fx * fy).mean((2, 3), keepdim=True) - mx * my
            structure = (2 * cov + 1e-6) / (vx + vy + 1e-6)
            total = total + (a * texture).sum(1) + (b * structure).sum(1)
        return 1 - total.flatten()


def _load_backbone(model: nn.Module, weights, what: str) -> None:
    """The torchvision backbone's `features.*` tensors into `model.features`."""
    model.features.load_state_dict(
        {k.removeprefix("features."): v for k, v in _tensors(fetch(weights, what)).items()
         if k.startswith("features.")})


@lru_cache(maxsize=1)
def load_lpips() -> LPIPS:
    model = LPIPS()
    _load_backbone(model, ALEXNET, "LPIPS")
    head = fetch(LPIPS_HEAD, "LPIPS")
    sd = _tensors(head)
    for i, (lin, c) in enumerate(zip(model.lins, LPIPS.CHANNELS)):
        lin.weight.data.copy_(_pick(sd, f"lin{i}.model.1.weight", (1, c, 1, 1), head.name))
    return model.eval().requires_grad_(False)


@lru_cache(maxsize=1)
def load_dists() -> DISTS:
    model = DISTS()
    _load_backbone(model, VGG16, "DISTS")
    head = fetch(DISTS_HEAD, "DISTS")
    sd, n = _tensors(head), sum(DISTS.CHANNELS)
    model.alpha.data.copy_(_pick(sd, "alpha", (1, n, 1, 1), head.name))
    model.beta.data.copy_(_pick(sd, "beta", (1, n, 1, 1), head.name))
    return model.eval().requires_grad_(False)


@torch.no_grad()
def run(model: nn.Module, img: np.ndarray, ref: np.ndarray) -> float:
    """Score one HxWx3 [0, 1] pair with a learned metric on the CPU."""
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None]  # noqa: E731
    return float(model(t(img), t(ref)))
