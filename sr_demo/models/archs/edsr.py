"""EDSR with BasicSR's key names, so published BasicSR checkpoints load as-is.

Also home of the no-BN residual block and BasicSR's scaled Kaiming init,
which SRResNet and RRDBNet reuse.
"""

from __future__ import annotations

import math
import re
from typing import Iterable

import torch
from torch import nn

from sr_demo.models.archs import conv_radius, register_arch, staged_layers


def _radius(m: "EDSR") -> float:
    body, _ = conv_radius(nn.Sequential(m.conv_first, m.body, m.conv_after_body))
    up, res = conv_radius(m.upsample)
    return body + up + 1 / res  # conv_last at output resolution


def _layers(m: "EDSR") -> dict[str, str]:
    return staged_layers(m, "conv_first", "body", "conv_after_body")


def basicsr_body(sd: dict) -> tuple[int, int] | None:
    """(num_feat, num_block) of a BasicSR RGB network with `conv_first`,
    `body.i.conv1` blocks and an RGB `conv_last` (EDSR and MSRResNet share it)."""
    first, last = sd.get("conv_first.weight"), sd.get("conv_last.weight")
    if first is None or last is None or first.ndim != 4 or first.shape[1] != 3 or last.shape[0] != 3:
        return None
    if "body.0.conv1.weight" not in sd:
        return None
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("body.")}
    return first.shape[0], len(blocks)


def _detect(sd: dict, file_name: str) -> dict | None:
    """BasicSR's EDSR layout (`conv_after_body`, `upsample.i`)."""
    found = basicsr_body(sd)
    if found is None or "conv_after_body.weight" not in sd:
        return None
    num_feat, num_block = found
    ups = [v.shape[0] for k, v in sorted(sd.items()) if re.fullmatch(r"upsample\.\d+\.weight", k)]
    if ups == [9 * num_feat]:
        scale = 3
    elif ups and all(c == 4 * num_feat for c in ups):
        scale = 2 ** len(ups)
    else:
        return None
    # BasicSR's EDSR-L (256 wide) uses res_scale 0.1; weights cannot tell us
    return dict(scale=scale, num_feat=num_feat, num_block=num_block, res_scale=0.1 if num_feat >= 256 else 1.0)


DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


@torch.no_grad()
def scaled_kaiming_(modules: Iterable[nn.Module], scale: float = 0.1) -> None:
    """BasicSR's `default_init_weights`: Kaiming-normal convs scaled down, so
    deep residual stacks start close to identity and train stably."""
    for module in modules:
        for m in module.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight)
                m.weight.mul_(scale)
                if m.bias is not None:
                    m.bias.zero_()


class ResidualBlockNoBN(nn.Module):
    """conv-ReLU-conv with identity skip and no batch norm (EDSR, Lim et al. 2017)."""

    def __init__(self, num_feat: int = 64, res_scale: float = 1.0, pytorch_init: bool = False) -> None:
        super().__init__()
        self.res_scale = res_scale
        self.conv1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.relu = nn.ReLU(inplace=True)
        if not pytorch_init:
            scaled_kaiming_([self.conv1, self.conv2], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(self.relu(self.conv1(x))) * self.res_scale


class Upsample(nn.Sequential):
    """Sub-pixel upsampler (Shi et al., ESPCN, CVPR 2016): log2(scale) x
    [conv to 4C, PixelShuffle(2)], or one conv to 9C + PixelShuffle(3)."""

    def __init__(self, scale: int, num_feat: int) -> None:
        layers: list[nn.Module] = []
        if scale == 3:
            layers += [nn.Conv2d(num_feat, 9 * num_feat, 3, 1, 1), nn.PixelShuffle(3)]
        elif scale >= 2 and scale & (scale - 1) == 0:
            for _ in range(int(math.log2(scale))):
                layers += [nn.Conv2d(num_feat, 4 * num_feat, 3, 1, 1), nn.PixelShuffle(2)]
        else:
            raise ValueError(f"scale must be 3 or a power of 2 (>= 2), got {scale}")
        super().__init__(*layers)


@register_arch("edsr", receptive_radius=_radius, feature_layers=_layers, detect=_detect)
class EDSR(nn.Module):
    """Enhanced Deep Residual network (Lim et al., "Enhanced Deep Residual
    Networks for Single Image Super-Resolution", CVPRW 2017), BasicSR layout.

    Args:
        scale: upscaling factor, 2, 3, 4, 8 or 16.
        num_feat: channel width (baseline 64, paper's large model 256).
        num_block: residual blocks (baseline 16, large 32).
        res_scale: residual scaling inside blocks (1.0 baseline, 0.1 large).
        img_range: inputs are scaled to [0, img_range] after mean removal;
            255 as in BasicSR, so its checkpoints reproduce exactly.
        rgb_mean: mean subtracted before and added after (DIV2K mean).
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 16,
        res_scale: float = 1.0,
        img_range: float = 255.0,
        rgb_mean: tuple[float, float, float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        self.scale = scale
        self.img_range = img_range
        self.register_buffer("mean", torch.tensor(rgb_mean).view(1, 3, 1, 1), persistent=False)
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.body = nn.Sequential(
            *(ResidualBlockNoBN(num_feat, res_scale, pytorch_init=True) for _ in range(num_block))
        )
        self.conv_after_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.upsample = Upsample(scale, num_feat)
        self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = self.mean.to(x.dtype)
        x = (x - mean) * self.img_range
        x = self.conv_first(x)
        x = x + self.conv_after_body(self.body(x))
        return self.conv_last(self.upsample(x)) / self.img_range + mean
