"""RRDBNet (ESRGAN / Real-ESRGAN generator) with BasicSR's key names, which
spandrel's ESRGAN loader also reads, plus RDSR's optional dropout."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sr_demo.models.archs import conv_radius, register_arch, staged_layers


def _radius(m: "RRDBNet") -> float:
    u = m.unshuffle  # features at LR / u
    body, _ = conv_radius(nn.Sequential(m.conv_first, m.body, m.conv_body), 1.0 / u)
    return body + u / 2 + u / 4 + 2 * u / 4  # conv_up1 at 2/u, conv_up2, conv_hr, conv_last at 4/u


def _layers(m: "RRDBNet") -> dict[str, str]:
    return staged_layers(m, "conv_first", "body", "conv_body")


def _detect(sd: dict, file_name: str) -> dict | None:
    """BasicSR's RRDBNet layout (ESRGAN, Real-ESRGAN, RealSR as converted by BasicSR)."""
    first = sd.get("conv_first.weight")
    if first is None or "body.0.rdb1.conv1.weight" not in sd or "conv_body.weight" not in sd:
        return None
    scale = {3: 4, 12: 2}.get(first.shape[1])
    if scale is None or sd.get("conv_last.weight", first).shape[0] != 3:
        return None
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("body.")}
    return dict(scale=scale, num_feat=first.shape[0], num_block=len(blocks),
                num_grow_ch=sd["body.0.rdb1.conv1.weight"].shape[0])
from sr_demo.models.archs.edsr import scaled_kaiming_


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs, residual scaled by 0.2."""

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        for i in range(1, 6):
            c_out = num_feat if i == 5 else num_grow_ch
            setattr(self, f"conv{i}", nn.Conv2d(num_feat + (i - 1) * num_grow_ch, c_out, 3, 1, 1))
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)
        scaled_kaiming_([self.conv1, self.conv2, self.conv3, self.conv4, self.conv5], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            feats.append(self.lrelu(conv(torch.cat(feats, 1))))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-residual dense block: three RDBs, residual scaled by 0.2."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


@register_arch("rrdbnet", pad_multiple=lambda scale: 4 // scale, receptive_radius=_radius,
               feature_layers=_layers, detect=_detect)
class RRDBNet(nn.Module):
    """RRDB generator (Wang et al., "ESRGAN", ECCVW 2018; "Real-ESRGAN",
    ICCVW 2021), BasicSR layout.

    Args:
        scale: 4, or 2 (input pixel-unshuffled by 2 first, as Real-ESRGAN x2
            does; the input size must then be even).
        num_feat: trunk width (ESRGAN 64).
        num_block: RRDB blocks (ESRGAN 23; light variants 6).
        num_grow_ch: growth channels of the dense blocks (32).
        dropout: channel-wise dropout (Dropout2d) after lrelu(conv_hr(.)),
            training only (RDSR, Kong et al., CVPR 2022, use p=0.5).
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if scale not in (2, 4):
            raise ValueError(f"RRDBNet supports scale 2 or 4, got {scale}")
        self.scale = scale
        self.unshuffle = 4 // scale  # 1 (none) at x4, 2 at x2
        self.conv_first = nn.Conv2d(3 * self.unshuffle**2, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.dropout(self.lrelu(self.conv_hr(feat))))
