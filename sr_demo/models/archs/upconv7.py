"""waifu2x UpConv7: six unpadded 3x3 convs and one 4x4 stride-2 deconvolution.

The network itself shrinks its input: six valid convs take 12 pixels off each
side length and the deconvolution (ncnn `pad=3`, PyTorch `padding=3`) maps
n to 2n - 2, so an HxW input gives (2H - 28)x(2W - 28). waifu2x-ncnn-vulkan
therefore "prepads" 7 pixels per side by clamping coordinates to the image
(edge replication) before the net; this module does the same, so any HxW
input gives exactly 2H x 2W with the same border behaviour as waifu2x-ncnn.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F
from torch import nn

from sr_demo.models.archs import register_arch

CONTEXT = 7  # LR pixels per side the net consumes: 6 convs + the deconv's reach


def _radius(m: UpConv7) -> float:
    # an output pixel sees conv6 positions m-1..m+1 around its LR pixel m, each 6 LR pixels deep
    return float(CONTEXT)


def _layers(m: UpConv7) -> dict[str, str]:
    """The LeakyReLU after each conv. They are LR-sized plus a border of
    7 - k pixels per side after conv k (valid convs on the prepadded input)."""
    acts = [i for i, layer in enumerate(m.body) if isinstance(layer, nn.LeakyReLU)]
    return {f"conv{k + 1}": f"body.{i}" for k, i in enumerate(acts)}


@register_arch("upconv7", receptive_radius=_radius, feature_layers=_layers)
class UpConv7(nn.Module):
    """waifu2x UpConv7 (nagadomi, waifu2x, 2015-2018; no paper: the "upconv_7"
    models of waifu2x / waifu2x-ncnn-vulkan): SRCNN-style plain convs
    (Dong et al., "Image Super-Resolution Using Deep Convolutional Networks",
    TPAMI 2016) run at LR resolution and ending in a learned 2x
    deconvolution. One model per JPEG-noise level (separate weights, same
    module). RGB in [0, 1] in and out.

    Args:
        scale: must be 2 (the deconvolution is 2x).
        in_channels: input channels (published: 3, RGB).
        out_channels: output channels (published: 3).
    """

    def __init__(self, scale: int = 2, in_channels: int = 3, out_channels: int = 3) -> None:
        super().__init__()
        if scale != 2:
            raise ValueError(f"UpConv7 upscales by 2 only, got scale={scale}")
        self.scale = scale
        widths = (in_channels, 16, 32, 64, 128, 128, 256)
        layers: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(widths):
            layers += [nn.Conv2d(c_in, c_out, 3), nn.LeakyReLU(0.1)]
        self.body = nn.Sequential(*layers)
        self.upconv = nn.ConvTranspose2d(widths[-1], out_channels, 4, stride=2, padding=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upconv(self.body(F.pad(x, (CONTEXT,) * 4, mode="replicate")))
