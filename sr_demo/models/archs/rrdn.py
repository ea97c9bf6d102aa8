"""idealo's RRDN (image-super-resolution, "ISR"), the network UpscalerJS ships
as `esrgan-thick`: residual-in-residual dense blocks with ReLU and 3x3 local
fusion, then one conv and a pixel shuffle."""

from __future__ import annotations

import torch
from torch import nn

from sr_demo.models.archs import conv_radius, register_arch, staged_layers

BETA = 0.2  # idealo's MultiplyBeta: every residual branch is scaled by this


class DenseBlock(nn.Module):
    """`convs` densely connected 3x3 conv+ReLU, 3x3 local fusion, residual scaled by BETA."""

    def __init__(self, num_feat: int, growth: int, convs: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(num_feat + i * growth, growth, 3, padding=1) for i in range(convs))
        self.lff = nn.Conv2d(num_feat + convs * growth, num_feat, 3, padding=1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in self.convs:
            feats.append(self.relu(conv(torch.cat(feats, 1))))
        return x + BETA * self.lff(torch.cat(feats, 1))


class ResidualInResidualBlock(nn.Module):
    """`blocks` dense blocks in a row, their sum residual scaled by BETA."""

    def __init__(self, num_feat: int, growth: int, convs: int, blocks: int) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(DenseBlock(num_feat, growth, convs) for _ in range(blocks)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + BETA * self.blocks(x)


def _radius(m: "RRDN") -> float:
    return conv_radius(m)[0]  # modules are registered in forward order


def _layers(m: "RRDN") -> dict[str, str]:
    return staged_layers(m, "conv_first", "body", "conv_body")


def _detect(sd: dict, file_name: str) -> dict | None:
    """This module's key layout (`body.i.blocks.j.convs.k`, `conv_up`): SR Lab's converted files."""
    from sr_demo.models.archs.rdn import _count

    if not all(k in sd for k in ("conv_first.weight", "body.0.blocks.0.convs.0.weight", "conv_up.weight")):
        return None
    return dict(scale=round((sd["conv_up.weight"].shape[0] / 3) ** 0.5), num_feat=sd["conv_first.weight"].shape[0],
                num_rrdb=_count(sd, "body."), dense_blocks=_count(sd, "body.0.blocks."),
                convs_per_block=_count(sd, "body.0.blocks.0.convs."),
                growth=sd["body.0.blocks.0.convs.0.weight"].shape[0])


@register_arch("rrdn", receptive_radius=_radius, feature_layers=_layers, detect=_detect)
class RRDN(nn.Module):
    """Residual-in-residual dense network as implemented in idealo's ISR
    (github.com/idealo/image-super-resolution, `ISR.models.RRDN`): ESRGAN's
    RRDB trunk (Wang et al., ECCVW 2018) built from RDN's dense blocks (Zhang et
    al., "Residual Dense Network for Image Super-Resolution", CVPR 2018), ReLU
    activations, every residual branch multiplied by 0.2 (idealo's custom
    MultiplyBeta layer) and a pixel-shuffle up-sampler. RGB in [0, 1] in and
    out, as trained; the output is not clipped (as in the graph).

    Args:
        scale: up-scaling factor (one pixel shuffle).
        num_feat: feature width G0 (64).
        num_rrdb: residual-in-residual blocks T (UpscalerJS thick 10).
        dense_blocks: dense blocks per RRDB D (3).
        convs_per_block: conv layers per dense block C (4).
        growth: growth channels G of the dense convs (32).
    """

    def __init__(self, scale: int = 4, num_feat: int = 64, num_rrdb: int = 10, dense_blocks: int = 3,
                 convs_per_block: int = 4, growth: int = 32) -> None:
        super().__init__()
        self.scale = scale
        self.conv_first = nn.Conv2d(3, num_feat, 3, padding=1)
        self.body = nn.Sequential(
            *(ResidualInResidualBlock(num_feat, growth, convs_per_block, dense_blocks) for _ in range(num_rrdb))
        )
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.conv_up = nn.Conv2d(num_feat, 3 * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        self.conv_last = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.conv_first(x)
        feat = self.conv_body(self.body(shallow)) + shallow
        return self.conv_last(self.shuffle(self.conv_up(feat)))
