"""SRVGGNetCompact (Real-ESRGAN's "Compact", e.g. animevideov3) from
spandrel, with SR Lab's constructor convention and capabilities.

A plain conv + PReLU stack at LR resolution, one pixel shuffle, plus the
nearest-upsampled input: no global operator, so tiles and crops are exact
apart from the receptive radius.
"""

from __future__ import annotations

import re

from spandrel.architectures.Compact import Compact as SRVGGNetCompact
from torch import Tensor

from sr_demo.models.archs import conv_radius, register_arch


def _radius(m: SRVGGNetCompact) -> float:
    return conv_radius(m.body)[0]  # every conv is at LR resolution; the shuffle comes after


def _layers(m: SRVGGNetCompact) -> dict[str, str]:
    """Activation outputs (LR feature maps): the first, three spaced through the
    body, and the last (the deepest before the up-sampling conv)."""
    acts = list(range(1, len(m.body) - 1, 2))  # body = conv, act, conv, act, ..., conv
    picks = sorted({acts[round(k * (len(acts) - 1) / 4)] for k in range(5)})
    return {f"body.{i}": f"body.{i}" for i in picks}


def _detect(sd: dict[str, Tensor], file_name: str) -> dict | None:
    """Compact layout with PReLU (`body.N.weight` 1-D); ReLU and LeakyReLU
    variants have no activation weights, so their kind cannot be read off."""
    convs = sorted(int(m.group(1)) for k in sd if (m := re.fullmatch(r"body\.(\d+)\.weight", k)) and sd[k].ndim == 4)
    if not convs or convs[0] != 0 or set(sd) - {f"body.{i}.{p}" for i in range(convs[-1] + 1) for p in ("weight", "bias")}:
        return None
    first, last = sd["body.0.weight"], sd[f"body.{convs[-1]}.weight"]
    prelu = sd.get("body.1.weight")
    if prelu is None or prelu.ndim != 1 or first.shape[1] != 3 or last.shape[0] % 3:
        return None
    scale = round((last.shape[0] // 3) ** 0.5)
    if scale * scale * 3 != last.shape[0]:
        return None
    return {"scale": scale, "num_feat": first.shape[0], "num_conv": len(convs) - 2}


@register_arch("compact", receptive_radius=_radius, feature_layers=_layers, detect=_detect)
class Compact(SRVGGNetCompact):
    """SRVGGNetCompact (Wang et al., "Real-ESRGAN", ICCVW 2021; the compact
    net of its anime-video models), spandrel's module and key names.

    Args:
        scale: up-scaling factor (spandrel's `upscale`).
        num_feat: channels of every body conv (64).
        num_conv: body convs between the first and the last (16 for animevideov3).
        act_type: "prelu" (published models), "relu" or "leakyrelu".
    """

    def __init__(self, scale: int = 4, num_feat: int = 64, num_conv: int = 16, act_type: str = "prelu") -> None:
        super().__init__(num_feat=num_feat, num_conv=num_conv, upscale=scale, act_type=act_type)
        self.scale = scale

