"""FSRCNN: the smallest learned baseline (about 25k parameters on RGB)."""

from __future__ import annotations

import torch
from torch import nn

from sr_demo.models.archs import conv_radius, register_arch


def _radius(m: "FSRCNN") -> float:
    body, _ = conv_radius(nn.Sequential(m.feature, m.shrink, m.mapping, m.expand))
    return body + (m.deconv.kernel_size[0] // 2) / m.scale


def _layers(m: "FSRCNN") -> dict[str, str]:
    return {"feature": "feature", **{f"mapping.{i}": f"mapping.{i}" for i in range(len(m.mapping))}, "expand": "expand"}


def _conv_prelu(c_in: int, c_out: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.PReLU(c_out))


@register_arch("fsrcnn", receptive_radius=_radius, feature_layers=_layers)
class FSRCNN(nn.Module):
    """Fast SR CNN (Dong, Loy & Tang, "Accelerating the Super-Resolution
    Convolutional Neural Network", ECCV 2016), on RGB instead of Y.

    Args:
        scale: upscaling factor (any integer >= 1; the 9x9 deconv strides by it).
        d: feature width of extraction/expansion (paper: 56).
        s: shrunk width of the mapping layers (paper: 12).
        m: number of 3x3 mapping layers (paper: 4).
    """

    def __init__(self, scale: int = 4, d: int = 56, s: int = 12, m: int = 4) -> None:
        super().__init__()
        self.scale = scale
        self.feature = _conv_prelu(3, d, 5)
        self.shrink = _conv_prelu(d, s, 1)
        self.mapping = nn.Sequential(*(_conv_prelu(s, s, 3) for _ in range(m)))
        self.expand = _conv_prelu(s, d, 1)
        # output = H*scale exactly: (H-1)*scale - 2*4 + 9 + (scale-1)
        self.deconv = nn.ConvTranspose2d(d, 3, 9, stride=scale, padding=4, output_padding=scale - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.expand(self.mapping(self.shrink(self.feature(x)))))
