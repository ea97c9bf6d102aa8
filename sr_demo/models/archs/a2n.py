"""A2N (attention in attention network) with the official repository's key
names (haoyuc/A2N `code/model/aan.py`), so its published checkpoints load.

Each block's attention-dropout module mixes an attention branch and a
non-attention branch with two input-dependent weights; `branch_weights`
returns them per block, for analysis (LAM tab). The weights come from a
global average pool, so they depend on the whole input canvas: a crop sees
different weights than the full image.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import re

import torch
import torch.nn.functional as F
from torch import nn

from sr_demo.models.archs import register_arch, staged_layers


def _layers(m: "A2N") -> dict[str, str]:
    return staged_layers(m, "conv_first", "AAB_trunk", "trunk_conv")


def _detect(sd: dict, file_name: str) -> dict | None:
    """The official A2N layout (`AAB_trunk.i.*`). A x2 and a x3 A2N have
    identical tensors (one nearest-up stage), so the file name decides ("x3"
    in it, as in the official `aan_x3.pt`); x2 otherwise."""
    if "AAB_trunk.0.conv_first.weight" not in sd or "upconv1.weight" not in sd:
        return None
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("AAB_trunk.")}
    scale = 4 if "upconv2.weight" in sd else (3 if re.search(r"x3(?!\d)", file_name.lower()) else 2)
    return dict(scale=scale, num_feat=sd["conv_first.weight"].shape[0],
                num_up_feat=sd["upconv1.weight"].shape[0], num_block=len(blocks))

_SLOPE = 0.2


class PixelAttention(nn.Module):
    """PAN's pixel attention: x * sigmoid(conv1x1(x)) (Zhao et al., ECCVW 2020)."""

    def __init__(self, num_feat: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(num_feat, num_feat, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.conv(x))


class AttentionBranch(nn.Module):
    """k4(k3(x) * sigmoid(k2(lrelu(k1(x))))): 3x3, lrelu, 1x1, sigmoid gate
    on a 3x3 of x, then 3x3."""

    def __init__(self, num_feat: int) -> None:
        super().__init__()
        self.k1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=False)
        self.k2 = nn.Conv2d(num_feat, num_feat, 1)
        self.k3 = nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=False)
        self.k4 = nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.k2(F.leaky_relu(self.k1(x), _SLOPE)))
        return self.k4(self.k3(x) * gate)


class AttentionInAttentionBlock(nn.Module):
    """A2N's AAB: 1x1 + lrelu; the attention-dropout module (GAP -> Linear
    C->C/r -> ReLU -> Linear C/r->2 -> softmax(y/t)) weighs the attention
    branch against a non-attention 3x3 conv; lrelu, 1x1, + input.

    With `record_weights` set, the last softmax weights (B, 2), columns
    (attention, non-attention), are kept detached in `last_weights`.
    """

    def __init__(self, num_feat: int, reduction: int = 4, temperature: float = 30.0) -> None:
        super().__init__()
        self.temperature = temperature
        self.record_weights = False
        self.last_weights: torch.Tensor | None = None
        self.conv_first = nn.Conv2d(num_feat, num_feat, 1, bias=False)
        self.ADM = nn.Sequential(
            nn.Linear(num_feat, num_feat // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(num_feat // reduction, 2, bias=False),
        )
        self.attention = AttentionBranch(num_feat)
        self.non_attention = nn.Conv2d(num_feat, num_feat, 3, 1, 1, bias=False)
        self.conv_last = nn.Conv2d(num_feat, num_feat, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.leaky_relu(self.conv_first(x), _SLOPE)
        w = torch.softmax(self.ADM(y.mean(dim=(2, 3))) / self.temperature, dim=1)
        if self.record_weights:
            self.last_weights = w.detach()
        w_att, w_non = w[:, 0, None, None, None], w[:, 1, None, None, None]
        y = self.attention(y) * w_att + self.non_attention(y) * w_non
        return x + self.conv_last(F.leaky_relu(y, _SLOPE))


@register_arch("a2n", tiling_ok=False, crop_sensitive="global average pooling in its attention-dropout modules",
               feature_layers=_layers, detect=_detect)
class A2N(nn.Module):
    """Attention in Attention Network (Chen et al., "Attention in Attention
    Network for Image Super-Resolution", arXiv:2104.09497, 2021), official
    key layout: conv_first, AAB_trunk.i.*, trunk_conv, upconv1/att1/HRconv1
    (+ upconv2/att2/HRconv2 at x4), conv_last.

    Args:
        scale: upscaling factor, 2, 3 (one nearest x3 stage, as the official
            code) or 4 (two nearest x2 stages).
        num_feat: trunk width (40 in the paper).
        num_up_feat: width of the upsampling stages (24).
        num_block: attention-in-attention blocks (16).
        reduction: channel reduction inside the attention-dropout module (4).
        temperature: softmax temperature of the attention-dropout module (30).
    """

    def __init__(
        self,
        scale: int = 4,
        num_feat: int = 40,
        num_up_feat: int = 24,
        num_block: int = 16,
        reduction: int = 4,
        temperature: float = 30.0,
    ) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"A2N supports scale 2, 3 or 4, got {scale}")
        self.scale = scale
        self.conv_first = nn.Conv2d(3, num_feat, 3, 1, 1)
        self.AAB_trunk = nn.Sequential(
            *(AttentionInAttentionBlock(num_feat, reduction, temperature) for _ in range(num_block))
        )
        self.trunk_conv = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.upconv1 = nn.Conv2d(num_feat, num_up_feat, 3, 1, 1)
        self.att1 = PixelAttention(num_up_feat)
        self.HRconv1 = nn.Conv2d(num_up_feat, num_up_feat, 3, 1, 1)
        if scale == 4:
            self.upconv2 = nn.Conv2d(num_up_feat, num_up_feat, 3, 1, 1)
            self.att2 = PixelAttention(num_up_feat)
            self.HRconv2 = nn.Conv2d(num_up_feat, num_up_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_up_feat, 3, 3, 1, 1)

    def _stages(self) -> list[tuple[int, nn.Module, nn.Module, nn.Module]]:
        if self.scale == 4:
            return [(2, self.upconv1, self.att1, self.HRconv1), (2, self.upconv2, self.att2, self.HRconv2)]
        return [(self.scale, self.upconv1, self.att1, self.HRconv1)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.AAB_trunk(fea))
        for factor, upconv, att, hrconv in self._stages():
            fea = upconv(F.interpolate(fea, scale_factor=factor, mode="nearest"))
            fea = F.leaky_relu(att(fea), _SLOPE)
            fea = F.leaky_relu(hrconv(fea), _SLOPE)
        base = F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return self.conv_last(fea) + base

    @contextmanager
    def recording_branch_weights(self) -> Iterator[None]:
        """Within the block, every forward stores each block's softmax
        weights; read them with `recorded_branch_weights()`."""
        blocks = list(self.AAB_trunk)
        for b in blocks:
            b.record_weights, b.last_weights = True, None
        try:
            yield
        finally:
            for b in blocks:
                b.record_weights = False

    def recorded_branch_weights(self) -> torch.Tensor:
        """(num_block, B, 2) weights of the last recorded forward; column 0
        weighs the attention branch, column 1 the non-attention branch."""
        weights = [b.last_weights for b in self.AAB_trunk]
        if any(w is None for w in weights):
            raise RuntimeError("no branch weights recorded: run a forward inside recording_branch_weights()")
        return torch.stack(weights)  # type: ignore[arg-type]

    @torch.no_grad()
    def branch_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Attention-dropout weights for input `x` (B, 3, H, W): a (num_block,
        B, 2) tensor, (attention, non-attention) per block, rows summing to 1.
        They pool over the whole of `x`, so pass the same canvas LAM uses."""
        with self.recording_branch_weights():
            self(x)
            return self.recorded_branch_weights()
