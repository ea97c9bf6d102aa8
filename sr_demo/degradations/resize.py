"""MATLAB-compatible `imresize` for numpy arrays and (differentiable) torch tensors.

The SR literature's "bicubic" LR images come from MATLAB's imresize, which
differs from OpenCV/PIL/torch: cubic kernel with a=-0.5, kernel widened by
1/scale when down-scaling with antialiasing, symmetric (half-sample) border,
output size ceil(in * scale). Both paths use the same per-axis contributions
(indices + weights, computed once per axis geometry and cached): numpy
gathers them, torch multiplies by a dense weight matrix (fast on a GPU, and
autograd flows through it).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch

from sr_demo.errors import UserError


def _cubic(x: np.ndarray) -> np.ndarray:
    a = np.abs(x)
    a2, a3 = a * a, a * a * a
    return (1.5 * a3 - 2.5 * a2 + 1) * (a <= 1) + (-0.5 * a3 + 2.5 * a2 - 4 * a + 2) * ((a > 1) & (a <= 2))


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.clip(1.0 - np.abs(x), 0.0, None)


def _box(x: np.ndarray) -> np.ndarray:
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


def _lanczos(a: int):
    def kernel(x: np.ndarray) -> np.ndarray:
        eps = np.finfo(np.float64).eps  # MATLAB's way around 0/0 at x=0
        f = (np.sin(np.pi * x) * np.sin(np.pi * x / a) + eps) / (np.pi**2 * x * x / a + eps)
        return f * (np.abs(x) < a)

    return kernel


# method -> (kernel, support width in input pixels at scale 1)
_METHODS = {
    "bicubic": (_cubic, 4.0),
    "bilinear": (_triangle, 2.0),
    "lanczos2": (_lanczos(2), 4.0),
    "lanczos3": (_lanczos(3), 6.0),
    "box": (_box, 1.0),
    "nearest": (_box, 1.0),
}
METHODS = tuple(_METHODS)


@lru_cache(maxsize=256)
def contributions(in_len: int, out_len: int, scale: float, method: str, antialias: bool):
    """Per-output-pixel input indices and weights along one axis (MATLAB's `contributions`).

    Returns (indices, weights), both (out_len, P), 0-based indices already
    mirrored into [0, in_len) by MATLAB's symmetric padding.
    """
    kernel, width = _METHODS[method]
    if scale < 1 and antialias:
        h = lambda x: scale * kernel(scale * x)  # noqa: E731 - the widened kernel, as MATLAB
        width = width / scale
    else:
        h = kernel
    x = np.arange(1, out_len + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left[:, None] + np.arange(taps)[None, :]
    weights = h(u[:, None] - idx)
    weights = weights / weights.sum(axis=1, keepdims=True)
    mirror = np.concatenate([np.arange(in_len), np.arange(in_len - 1, -1, -1)])
    idx = mirror[np.mod(idx.astype(np.int64) - 1, 2 * in_len)]
    keep = np.any(weights != 0, axis=0)
    idx, weights = idx[:, keep], weights[:, keep]
    idx.flags.writeable = weights.flags.writeable = False
    return idx, weights


@lru_cache(maxsize=64)
def _matrix(in_len: int, out_len: int, scale: float, method: str, antialias: bool, device: torch.device,
            dtype: torch.dtype) -> torch.Tensor:
    """Dense (out_len, in_len) weight matrix for the torch path.

    Built outside inference mode even when first asked for inside it: the
    cache outlives the call, and a cached inference tensor could never be
    saved for backward (LAM differentiates through the bicubic baseline).
    """
    idx, w = contributions(in_len, out_len, scale, method, antialias)
    m = np.zeros((out_len, in_len))
    np.add.at(m, (np.repeat(np.arange(out_len), idx.shape[1]), idx.ravel()), w.ravel())
    with torch.inference_mode(False):
        return torch.from_numpy(m).to(device=device, dtype=dtype)


def _geometry(in_hw: tuple[int, int], scale: float | None, size: tuple[int, int] | None):
    """Output size and per-axis scale, as MATLAB derives them from scale or size."""
    if (scale is None) == (size is None):
        raise UserError("imresize needs exactly one of scale or size")
    if size is not None:
        ok = isinstance(size, (tuple, list)) and len(size) == 2
        if not ok or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in size):
            raise UserError(f"imresize size must be (height, width) of positive integers, got {size!r}")
        out = (int(size[0]), int(size[1]))
        return out, (out[0] / in_hw[0], out[1] / in_hw[1])
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not 0 < scale < math.inf:
        raise UserError(f"imresize scale must be a positive number, got {scale!r}")
    # MATLAB takes ceil(n * scale); the 1e-9 keeps float error (10 * 0.3 = 3.0000000000000004) from adding a pixel.
    out = tuple(int(math.ceil(n * scale - 1e-9)) for n in in_hw)
    if min(out) < 1:
        raise UserError(f"imresize scale {scale} shrinks a {in_hw[0]}x{in_hw[1]} image to nothing")
    return out, (float(scale), float(scale))


def imresize(img, scale: float | None = None, size: tuple[int, int] | None = None, method: str = "bicubic",
             antialias: bool = True):
    """Resize like MATLAB's imresize.

    Args:
        img: numpy HxW or HxWxC (returns float32), or torch (B,C,H,W)/(C,H,W)
            floating tensor on any device (returns the same dtype, differentiable).
        scale: factor for both axes; output size ceil(in * scale).
        size: (height, width) instead of scale.
        method: bicubic, bilinear, lanczos2, lanczos3, box (area), nearest.
        antialias: widen the kernel when down-scaling (ignored by nearest).

    No clipping: bicubic and lanczos overshoot.
    """
    if method not in _METHODS:
        raise UserError(f"imresize method must be one of {', '.join(METHODS)}, got {method!r}")
    antialias = bool(antialias) and method != "nearest"
    is_torch = isinstance(img, torch.Tensor)
    if is_torch and (img.ndim not in (3, 4) or not img.is_floating_point()):
        raise UserError(f"imresize takes a floating (C,H,W) or (B,C,H,W) tensor, got {tuple(img.shape)} {img.dtype}")
    if not is_torch and np.ndim(img) not in (2, 3):
        raise UserError(f"imresize takes an HxW or HxWxC array, got shape {np.shape(img)}")
    axes = (-2, -1) if is_torch else (0, 1)
    in_hw = (img.shape[axes[0]], img.shape[axes[1]])
    out_hw, scales = _geometry(in_hw, scale, size)
    if is_torch:
        out = img
        for a in sorted(range(2), key=lambda a: scales[a]):  # MATLAB order: smaller scale first
            m = _matrix(in_hw[a], out_hw[a], scales[a], method, antialias, img.device, img.dtype)
            out = torch.matmul(m, out) if a == 0 else torch.matmul(out, m.T)
        return out
    return resize_array(np.asarray(img, dtype=np.float32), out_hw, method, antialias, scales)


def resize_array(img: np.ndarray, out_hw: tuple[int, int], method: str, antialias: bool,
                 scales: tuple[float, float] | None = None) -> np.ndarray:
    """The numpy path of `imresize`, computing in img's float dtype (degrade uses float64)."""
    in_hw = img.shape[:2]
    if scales is None:
        scales = (out_hw[0] / in_hw[0], out_hw[1] / in_hw[1])
    out = img
    for a in sorted(range(2), key=lambda a: scales[a]):  # MATLAB order: smaller scale first
        idx, w = contributions(in_hw[a], out_hw[a], scales[a], method, antialias)
        out = _gather(out, idx, w.astype(img.dtype), axis=a)
    return out


def _gather(x: np.ndarray, idx: np.ndarray, w: np.ndarray, axis: int) -> np.ndarray:
    """sum_p w[:, p] * x[idx[:, p]] along `axis`: only the taps that matter."""
    shape = [1] * x.ndim
    shape[axis] = -1
    out = np.take(x, idx[:, 0], axis=axis) * w[:, 0].reshape(shape)
    for p in range(1, idx.shape[1]):
        out += np.take(x, idx[:, p], axis=axis) * w[:, p].reshape(shape)
    return out
