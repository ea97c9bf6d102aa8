"""idealo's RDN (image-super-resolution, "ISR"), the variant UpscalerJS ships
as `esrgan-slim` and `esrgan-medium`: Zhang et al.'s RDN with idealo's
up-sampler (three convs, nearest-neighbour up-sampling, one conv)."""

from __future__ import annotations

import torch
from torch import nn

from sr_demo.models.archs import conv_radius, register_arch, staged_layers


class ResidualDenseBlock(nn.Module):
    """`convs` densely connected 3x3 conv+ReLU, 1x1 local fusion, local residual."""

    def __init__(self, num_feat: int, growth: int, convs: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(nn.Conv2d(num_feat + i * growth, growth, 3, padding=1) for i in range(convs))
        self.lff = nn.Conv2d(num_feat + convs * growth, num_feat, 1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in self.convs:
            feats.append(self.relu(conv(torch.cat(feats, 1))))
        return self.lff(torch.cat(feats, 1)) + x


def _radius(m: "RDN") -> float:
    lr, _ = conv_radius(nn.Sequential(m.sfe1, m.sfe2, m.blocks, m.gff, m.upsample))
    return lr + (m.conv_last.kernel_size[0] // 2) / m.scale


def _layers(m: "RDN") -> dict[str, str]:
    return staged_layers(m, "sfe2", "blocks", "gff")


def _count(sd: dict, prefix: str) -> int:
    return len({k[len(prefix):].split(".")[0] for k in sd if k.startswith(prefix)})


def _detect(sd: dict, file_name: str) -> dict | None:
    """This module's key layout (`sfe1`, `blocks.i.convs.j`, `gff`, `upsample`): SR Lab's converted files."""
    if not all(k in sd for k in ("sfe1.weight", "blocks.0.convs.0.weight", "gff.0.weight", "upsample.4.weight")):
        return None
    scale = round((sd["upsample.4.weight"].shape[0] / 3) ** 0.5)
    return dict(scale=scale, num_feat=sd["sfe1.weight"].shape[0], num_blocks=_count(sd, "blocks."),
                convs_per_block=_count(sd, "blocks.0.convs."), growth=sd["blocks.0.convs.0.weight"].shape[0])


@register_arch("rdn", receptive_radius=_radius, feature_layers=_layers, detect=_detect)
class RDN(nn.Module):
    """Residual dense network (Zhang et al., "Residual Dense Network for Image
    Super-Resolution", CVPR 2018) as implemented in idealo's ISR
    (github.com/idealo/image-super-resolution, `ISR.models.RDN`, upscaling
    "ups"). Takes and returns RGB in [0, 1]; the trained graph works on 0-255,
    so the scaling happens inside `forward`. The output is not clipped (as in
    the graph).

    Args:
        scale: up-scaling factor (the final nearest-neighbour up-sampling).
        num_feat: feature width G0 (64).
        num_blocks: residual dense blocks D (UpscalerJS slim 2, medium 10).
        convs_per_block: conv layers per block C (1 in UpscalerJS).
        growth: growth channels G of the dense convs (slim 4, medium 64).
    """

    def __init__(self, scale: int = 4, num_feat: int = 64, num_blocks: int = 10, convs_per_block: int = 1,
                 growth: int = 64) -> None:
        super().__init__()
        self.scale = scale
        self.sfe1 = nn.Conv2d(3, num_feat, 3, padding=1)
        self.sfe2 = nn.Conv2d(num_feat, num_feat, 3, padding=1)
        self.blocks = nn.ModuleList(ResidualDenseBlock(num_feat, growth, convs_per_block) for _ in range(num_blocks))
        self.gff = nn.Sequential(nn.Conv2d(num_blocks * num_feat, num_feat, 1), nn.Conv2d(num_feat, num_feat, 3, padding=1))
        self.upsample = nn.Sequential(
            nn.Conv2d(num_feat, 64, 5, padding=2), nn.ReLU(),
            nn.Conv2d(64, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 3 * scale * scale, 3, padding=1),
            nn.Upsample(scale_factor=scale, mode="nearest"),
        )
        self.conv_last = nn.Conv2d(3 * scale * scale, 3, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.sfe1(x * 255.0)
        feat = self.sfe2(shallow)
        local = []
        for block in self.blocks:
            feat = block(feat)
            local.append(feat)
        feat = self.gff(torch.cat(local, 1)) + shallow
        return self.conv_last(self.upsample(feat)) / 255.0
