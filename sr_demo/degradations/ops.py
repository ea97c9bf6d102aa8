"""Concrete degradation steps: no randomness left, each applies to numpy or torch.

numpy images are HxWx3 float64 and torch batches (N,3,H,W) float64: in
float64 the two paths agree to ~1e-15, so they round to the same 8-bit
values (in float32, ~1e-7 differences flip a few roundings, and JPEG
amplifies each flip). Every op in a torch batch is the same op
(`pipeline.degrade_torch` groups images so). `to_dict()` is the JSON-safe
description the UI shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .jpeg import jpeg
from .kernels import make_kernel
from .noise import gaussian_noise, poisson_noise
from .resize import imresize, resize_array


def _reflect101(n: int, pad: int, device: torch.device) -> torch.Tensor:
    """Source indices of a reflect-101 padded axis (cv2.BORDER_REFLECT_101), any pad size."""
    idx = torch.arange(-pad, n + pad, device=device)
    if n == 1:
        return torch.zeros_like(idx)
    period = 2 * (n - 1)
    idx = torch.remainder(idx, period)
    return torch.where(idx >= n, period - idx, idx)


@dataclass(frozen=True)
class Blur:
    """Correlate with a kernel described by `params` (see `kernels.make_kernel`), reflect-101 border."""

    params: dict
    kernel: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "kernel", make_kernel(self.params))

    def to_dict(self) -> dict:
        return {"op": "blur", "kernel": dict(self.params)}

    def apply_np(self, img: np.ndarray) -> np.ndarray:
        return cv2.filter2D(img, -1, self.kernel, borderType=cv2.BORDER_REFLECT_101)

    def apply_torch(self, x: torch.Tensor) -> torch.Tensor:
        pad, c = self.kernel.shape[0] // 2, x.shape[1]
        x = x.index_select(2, _reflect101(x.shape[2], pad, x.device))
        x = x.index_select(3, _reflect101(x.shape[3], pad, x.device))
        k = torch.from_numpy(self.kernel).to(x)
        return F.conv2d(x, k.expand(c, 1, *k.shape), groups=c)


@dataclass(frozen=True)
class Resize:
    """MATLAB imresize to `size` (height, width)."""

    size: tuple[int, int]
    method: str
    antialias: bool

    def to_dict(self) -> dict:
        return {"op": "resize", "size": list(self.size), "method": self.method, "antialias": self.antialias}

    def apply_np(self, img: np.ndarray) -> np.ndarray:
        return resize_array(img, self.size, self.method, self.antialias)

    def apply_torch(self, x: torch.Tensor) -> torch.Tensor:
        return imresize(x, size=self.size, method=self.method, antialias=self.antialias)


@dataclass(frozen=True)
class Noise:
    """Add Gaussian (level = sigma, 0..255 units) or Poisson (level = scale) noise, then clip to [0,1]."""

    kind: str
    level: float
    gray: bool
    seed: int

    def to_dict(self) -> dict:
        return {"op": "noise", "kind": self.kind, "level": self.level, "gray": self.gray, "seed": self.seed}

    def sample(self, shape: tuple[int, int, int], img: np.ndarray | None = None) -> np.ndarray:
        """The HxWx3 noise; Poisson noise depends on the image, Gaussian only on the shape."""
        rng = np.random.default_rng(self.seed)
        if self.kind == "gaussian":
            return gaussian_noise(shape, self.level, self.gray, rng)
        return poisson_noise(img, self.level, self.gray, rng)

    def apply_np(self, img: np.ndarray) -> np.ndarray:
        return np.clip(img + self.sample(img.shape, img), 0.0, 1.0)

    def apply_torch(self, x: torch.Tensor) -> torch.Tensor:
        """Noise drawn on the CPU by the numpy generator, so both paths add the same numbers."""
        shape = (x.shape[2], x.shape[3], x.shape[1])
        noise = [self.sample(shape, None if self.kind == "gaussian" else _hwc(xi)) for xi in x]
        noise = torch.from_numpy(np.stack(noise)).permute(0, 3, 1, 2).to(x)
        return (x + noise).clamp(0.0, 1.0)


@dataclass(frozen=True)
class Quantise:
    """Clip to [0,1] and round to 8-bit levels, as saving a PNG would."""

    def to_dict(self) -> dict:
        return {"op": "quantise"}

    def apply_np(self, img: np.ndarray) -> np.ndarray:
        return np.clip(np.round(img * 255.0), 0, 255) / 255.0

    def apply_torch(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(torch.round(x * 255.0), 0, 255) / 255.0


@dataclass(frozen=True)
class Jpeg:
    """JPEG encode/decode with OpenCV at `quality` (on the CPU for torch input too)."""

    quality: int

    def to_dict(self) -> dict:
        return {"op": "jpeg", "quality": self.quality}

    def apply_np(self, img: np.ndarray) -> np.ndarray:
        return jpeg(img, self.quality).astype(img.dtype)

    def apply_torch(self, x: torch.Tensor) -> torch.Tensor:
        out = np.stack([jpeg(_hwc(xi), self.quality) for xi in x])
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(x)


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x.detach().permute(1, 2, 0).cpu().numpy()


Op = Blur | Resize | Noise | Quantise | Jpeg
