"""MSRResNet (SRResNet without BN) with BasicSR's key names, plus RDSR's
optional dropout before the last conv."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from sr_demo.models.archs import conv_radius, register_arch, staged_layers
from sr_demo.models.archs.edsr import ResidualBlockNoBN, basicsr_body, scaled_kaiming_


def _radius(m: "MSRResNet") -> float:
    body, _ = conv_radius(nn.Sequential(m.conv_first, m.body))
    up = 1.0 + (0.5 if m.upconv2 is not None else 0.0)  # upconv1 at LR, upconv2 at 2x
    return body + up + 2 / m.scale  # conv_hr, conv_last at output resolution


def _layers(m: "MSRResNet") -> dict[str, str]:
    return staged_layers(m, "conv_first", "body", f"body.{len(m.body) - 1}")


def _detect(sd: dict, file_name: str) -> dict | None:
    """BasicSR's MSRResNet layout (`upconv1`, `conv_hr`)."""
    found = basicsr_body(sd)
    if found is None or "upconv1.weight" not in sd or "conv_hr.weight" not in sd:
        return None
    num_feat, num_block = found
    scale = 4 if "upconv2.weight" in sd else {4: 2, 9: 3}.get(sd["upconv1.weight"].shape[0] // num_feat)
    return None if scale is None else dict(scale=scale, num_feat=num_feat, num_block=num_block)


@register_arch("srresnet", receptive_radius=_radius, feature_layers=_layers, detect=_detect)
class MSRResNet(nn.Module):
    """SRResNet (Ledig et al., "Photo-Realistic Single Image Super-Resolution
    Using a GAN", CVPR 2017) without batch norm, as BasicSR's MSRResNet.

    Args:
        scale: upscaling factor, 2, 3 or 4.
        num_feat: channel width.
        num_block: residual blocks (no-BN, ReLU).
        global_residual: add the bilinearly upsampled input to the output;
            one of the two factors DDR (Liu et al., 2021) names for
            degradation-aware features.
        dropout: channel-wise dropout (Dropout2d) probability after
            lrelu(conv_hr(.)) and before conv_last, active only in training
            (Kong et al., "Reflash Dropout in Image Super-Resolution", CVPR
            2022, use p=0.7).
        dropout_position: "end" (before conv_last, as above) or "middle"
            (after the first num_block // 2 body blocks), the paper's check
            that position matters. Dropout has no parameters, so the
            state-dict keys are the same for both.
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 16,
        global_residual: bool = True,
        dropout: float = 0.0,
        dropout_position: Literal["end", "middle"] = "end",
    ) -> None:
        super().__init__()
        if dropout_position not in ("end", "middle"):
            raise ValueError(f"dropout_position must be 'end' or 'middle', got {dropout_position!r}")
        self.dropout_position = dropout_position
        self.split = num_block // 2
        if scale not in (2, 3, 4):
            raise ValueError(f"MSRResNet supports scale 2, 3 or 4, got {scale}")
        self.scale = scale
        self.global_residual = global_residual
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.body = nn.Sequential(*(ResidualBlockNoBN(num_feat) for _ in range(num_block)))
        shuffle = 2 if scale == 4 else scale
        self.upconv1 = nn.Conv2d(num_feat, num_feat * shuffle**2, 3, 1, 1)
        self.upconv2 = nn.Conv2d(num_feat, num_feat * 4, 3, 1, 1) if scale == 4 else None
        self.pixel_shuffle = nn.PixelShuffle(shuffle)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.dropout = nn.Dropout2d(dropout) if dropout > 0 else nn.Identity()
        self.conv_last = nn.Conv2d(num_feat, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)
        scaled_kaiming_([self.conv_first, self.upconv1, self.conv_hr, self.conv_last], 0.1)
        if self.upconv2 is not None:
            scaled_kaiming_([self.upconv2], 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.lrelu(self.conv_first(x))
        if self.dropout_position == "middle":
            out = self.body[self.split :](self.dropout(self.body[: self.split](out)))
        else:
            out = self.body(out)
        out = self.lrelu(self.pixel_shuffle(self.upconv1(out)))
        if self.upconv2 is not None:
            out = self.lrelu(self.pixel_shuffle(self.upconv2(out)))
        out = self.lrelu(self.conv_hr(out))
        if self.dropout_position == "end":
            out = self.dropout(out)
        out = self.conv_last(out)
        if self.global_residual:
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return out
