"""Interpolation baselines wrapped as modules, so the runner, LAM and the
metrics treat them exactly like learned networks."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sr_demo.models.archs import register_arch


def _radius(m: "Interpolate") -> float:
    return {"nearest": 0.0, "bicubic": 2.0, "lanczos": 3.0}[m.method]

# our method name -> sr_demo.degradations.imresize method (None: pixel replication)
_METHODS: dict[str, str | None] = {"nearest": None, "bicubic": "bicubic", "lanczos": "lanczos3"}


@register_arch("interp", receptive_radius=_radius)
class Interpolate(nn.Module):
    """Parameter-free upscaling.

    Args:
        scale: integer upscaling factor.
        method: "nearest" (exact pixel replication), "bicubic" (MATLAB
            `imresize`, Keys a=-0.5) or "lanczos" (Lanczos-3), the classic
            baselines of every SR paper since SRCNN (Dong et al., ECCV 2014).
    """

    def __init__(self, scale: int, method: str = "bicubic") -> None:
        super().__init__()
        if method not in _METHODS:
            raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}")
        self.scale = scale
        self.method = method

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.method == "nearest":
            return F.interpolate(x, scale_factor=self.scale, mode="nearest")
        from sr_demo.degradations import imresize

        return imresize(x, scale=self.scale, method=_METHODS[self.method], antialias=True)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, method={self.method!r}"
