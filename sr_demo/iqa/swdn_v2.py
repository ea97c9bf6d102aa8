"""SWDN v2: PIPAL's space-warping difference network on a real trunk (ST-LPIPS's VGG16 convolutions, frozen).

The first in-house SWDN (sr_demo.iqa.swdn) had a small backbone trained from
scratch on a CPU; whether a *good* perceptual network punished for a pixel of
misalignment fails on GAN outputs cannot be tested with it. Here the
convolutions are the 14.7 M-parameter VGG16 of `stlpips-pytorch` (read through
sr_demo.iqa.stlpips), kept frozen; as PIPAL does (and DISTS), L2 pooling
(Hann 3x3, stride 2) replaces the pooling between stages. Each stage's
unit-normalised features go through a space-warping difference layer
(sr_demo.iqa.swdn.SpaceWarpingDifference: each reference feature against its
best match within `radius` feature pixels), are squared and averaged over
space: one number per channel (1,472 in all). The distance is their sum
weighted by learned non-negative per-channel weights, and `PairwiseHead`
turns two distances into a 2AFC probability. Only those weights and the
head's scale are trained (training/train_swdn_v2.py), on cached per-channel
vectors, so training takes seconds on a CPU.

Ablations on the same trunk: `pool="max"` (VGG's own 2x2 stride-2 max
pooling, aliasing) and radii of 0 (plain differences, no space warping).
The weights file holds only the learned weights; the trunk comes from the
package, pinned by sha256.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from sr_demo.errors import UserError
from sr_demo.iqa.stlpips import BlurPool2d, Trunk, vgg16_trunk
from sr_demo.iqa.swdn import L2Pool2d, SpaceWarpingDifference

FORMAT = "sr_demo.swdn-v2/1"


@dataclass(frozen=True)
class SWDNv2Config:
    """Args:
        pool: "l2" (PIPAL) or "max" (ablation: VGG's 2x2 stride-2 max pooling).
        radii: space-warping radius per VGG stage (relu1_2..relu5_3), in that stage's feature pixels; 0 = plain.
    """

    pool: str = "l2"
    radii: tuple[int, ...] = (2, 1, 1, 1, 1)
    notes: dict = field(default_factory=dict, compare=False)

    def __post_init__(self):
        if self.pool not in ("l2", "max") or len(self.radii) != 5 or min(self.radii) < 0:
            raise UserError(f"Bad SWDN v2 configuration: pool={self.pool!r}, radii={self.radii}.")


def pooled_trunk(pool: str, trunk: Trunk | None = None) -> Trunk:
    """ST-LPIPS's VGG16 with each stage's max+blur pooling replaced by one L2 pool or one plain max pool."""
    trunk = trunk or vgg16_trunk()
    for k, (name, stage) in enumerate(trunk.stages.items()):
        if k == 0:
            continue
        layers = [(n, m) for n, m in stage.named_children() if not isinstance(m, (nn.MaxPool2d, BlurPool2d))]
        new_pool = L2Pool2d() if pool == "l2" else nn.MaxPool2d(2, 2)
        trunk.stages[name] = nn.Sequential(OrderedDict([(f"pool{k}", new_pool), *layers]))
    return trunk.eval().requires_grad_(False)


class SWDNv2(nn.Module):
    """Distance between a reference and a distorted image, lower is better; inputs Nx3xHxW RGB in [0, 1]."""

    def __init__(self, config: SWDNv2Config = SWDNv2Config(), trunk: Trunk | None = None):
        super().__init__()
        self.config = config
        self.trunk = pooled_trunk(config.pool, trunk)
        self.swd = nn.ModuleList(SpaceWarpingDifference(r) for r in config.radii)
        self.weights = nn.Parameter(torch.zeros(sum(self.trunk.channels)))
        # the input scaling the trunk was trained with (LPIPS's)
        self.register_buffer("shift", torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1), persistent=False)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Unit-normalised (over channels) features of every VGG stage."""
        feats = self.trunk((x * 2 - 1 - self.shift) / self.scale).values()
        return [f / (f.pow(2).sum(1, keepdim=True).sqrt() + 1e-10) for f in feats]

    def channel_vector(self, ref_feats: list[torch.Tensor], dist_feats: list[torch.Tensor]) -> torch.Tensor:
        """N x 1472: per channel, the mean over space of the squared space-warped difference."""
        return torch.cat([swd(fr, fd).pow(2).mean((2, 3)) for swd, fr, fd in zip(self.swd, ref_feats, dist_feats)],
                         dim=1)

    def distance_from_vector(self, v: torch.Tensor) -> torch.Tensor:
        return (v * F.softplus(self.weights)).sum(1)

    def forward(self, dist: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return self.distance_from_vector(self.channel_vector(self.features(ref), self.features(dist)))


def save_swdn_v2(model: SWDNv2, path: str | Path, card: dict | None = None) -> Path:
    """The learned weights only (safetensors), configuration and card summary in the metadata."""
    from safetensors.torch import save_file

    cfg = {k: v for k, v in asdict(model.config).items() if k != "notes"}
    save_file({"weights": model.weights.detach().float().contiguous()}, str(path),
              metadata={"format": FORMAT, "config": json.dumps(cfg), "notes": json.dumps(card or {})})
    return Path(path)


def load_swdn_v2(path: str | Path) -> SWDNv2:
    """An SWDNv2 from a file written by `save_swdn_v2` (the trunk from the stlpips-pytorch package)."""
    from sr_demo.iqa.swdn import read_layout

    path = Path(path)
    cfg, notes, tensors = read_layout(path, FORMAT, "SWDN v2")
    model = SWDNv2(SWDNv2Config(pool=cfg["pool"], radii=tuple(cfg["radii"]), notes=notes))
    if set(tensors) != {"weights"} or tensors["weights"].shape != model.weights.shape:
        raise UserError(f"{path.name} does not hold SWDN v2's {model.weights.numel()} channel weights.")
    model.weights.data.copy_(tensors["weights"])
    return model.eval().requires_grad_(False)
