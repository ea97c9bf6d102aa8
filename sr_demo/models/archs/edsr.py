"""EDSR with BasicSR's key names, so published BasicSR checkpoints load as-is.

Also home of the no-BN residual block and BasicSR's scaled Kaiming init,
which SRResNet and RRDBNet reuse.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from sr_demo.models.archs import register_arch

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


@register_arch("edsr")
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
