"""The small 64x64 generator SR Lab trains on its CPU (training/train_gan.py) and inverts (mGANprior).

ProGAN-lite rather than DCGAN: pixel normalisation instead of batch norm,
so a generated image depends only on its own code. mGANprior composes many
codes' feature maps at one intermediate layer; with batch norm the codes
would interact through the batch statistics and the composition would not
be the paper's. The network is split at named layers (`sr_demo.ganprior.LAYERS`,
the side of each block's output): `head(z, layer)` runs the codes up to that layer,
`tail(features, layer)` the rest, once, on the composed feature map.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from sr_demo.ganprior import LAYERS

Z_DIM = 128
#: Channels of each block's output, by its side in pixels (4 is the stem).
WIDTHS = {4: 256, 8: 128, 16: 64, 32: 32, 64: 16}


class PixelNorm(nn.Module):
    """Each pixel's feature vector scaled to unit RMS (ProGAN): keeps activations bounded without batch statistics."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(1, keepdim=True) + 1e-8)


def _block(cin: int, cout: int) -> nn.Sequential:
    """x2 nearest up-sampling, two 3x3 convs, each with leaky ReLU and pixel norm."""
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(cin, cout, 3, padding=1), nn.LeakyReLU(0.2), PixelNorm(),
        nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.2), PixelNorm(),
    )


class Generator(nn.Module):
    """z (N x 128) -> RGB (N x 3 x 64 x 64) in [0, 1]."""

    def __init__(self):
        super().__init__()
        sides = list(WIDTHS)
        self.stem = nn.Linear(Z_DIM, 16 * WIDTHS[4])
        self.blocks = nn.ModuleDict({str(b): _block(WIDTHS[a], WIDTHS[b]) for a, b in zip(sides, sides[1:])})
        self.to_rgb = nn.Conv2d(WIDTHS[64], 3, 1)
        self.norm = PixelNorm()

    def head(self, z: torch.Tensor, layer: str) -> torch.Tensor:
        """Feature maps of codes `z` at `layer` (N x C x side x side)."""
        x = self.norm(F.leaky_relu(self.stem(self.norm(z)), 0.2).view(-1, WIDTHS[4], 4, 4))
        for side, block in self.blocks.items():
            if int(side) > int(layer):
                break
            x = block(x)
        return x

    def tail(self, x: torch.Tensor, layer: str) -> torch.Tensor:
        """The image from feature maps at `layer`."""
        for side, block in self.blocks.items():
            if int(side) > int(layer):
                x = block(x)
        return torch.sigmoid(self.to_rgb(x))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.tail(self.head(z, "4"), "4")


def layer_channels(layer: str) -> int:
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {LAYERS}, not {layer!r}")
    return WIDTHS[int(layer)]
