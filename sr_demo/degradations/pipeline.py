"""From (spec, seed) to concrete ops, and applying them to numpy or torch images.

`sample_ops` is the single place where randomness is drawn, so `degrade`
(numpy, one image) and `degrade_torch` (a batch on any device) apply the
same steps. Both compute in float64, so they differ only if a value lands
within ~1e-15 of an 8-bit rounding boundary: then by 1/255 there, or a
little more around it when a JPEG follows.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch

from sr_demo.errors import UserError

from .ops import Blur, Jpeg, Noise, Op, Quantise, Resize
from .realesrgan import sample_realesrgan
from .spec import DegradationSpec

# classic down-sampling choice -> (imresize method, antialias)
_DOWNSAMPLE = {"bicubic": ("bicubic", True), "bilinear": ("bilinear", True), "area": ("box", True),
               "nearest": ("nearest", False)}


def _cropped(hr_shape: tuple[int, int], scale: int) -> tuple[int, int]:
    h, w = int(hr_shape[0]), int(hr_shape[1])
    if h < scale or w < scale:
        raise UserError(f"image {h}x{w} is smaller than the scale {scale}; it needs at least {scale}x{scale} pixels")
    return h - h % scale, w - w % scale


def _classic(spec: DegradationSpec, hw: tuple[int, int], rng: np.random.Generator) -> list[Op]:
    ops: list[Op] = []
    if spec.blur is not None:
        b = spec.blur
        params = {"type": b.kind, "size": b.size, "sigma_x": b.sigma}
        if b.kind == "aniso":
            params.update(sigma_y=b.sigma if b.sigma_y is None else b.sigma_y, theta=b.theta)
        ops.append(Blur(params))
    if spec.scale != 1:
        ops.append(Resize((hw[0] // spec.scale, hw[1] // spec.scale), *_DOWNSAMPLE[spec.downsample]))
    if spec.noise is not None:
        n = spec.noise
        ops.append(Noise(n.kind, n.level, n.gray, int(rng.integers(2**31))))
    ops.append(Quantise())
    if spec.jpeg_quality is not None:
        ops.append(Jpeg(spec.jpeg_quality))
    return ops


def sample_ops(spec: DegradationSpec, seed: int, hr_shape: tuple[int, int]) -> list[Op]:
    """The concrete, deterministic steps for an HR image of shape hr_shape (H, W).

    Rows/columns beyond a multiple of spec.scale are cropped (bottom/right)
    before the first step; the last step leaves (H//scale, W//scale) 8-bit
    values. Each op's `to_dict()` describes it for display.
    """
    spec.validate()
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}")
    hw = _cropped(hr_shape, spec.scale)
    rng = np.random.default_rng(int(seed))
    if spec.pipeline == "classic":
        return _classic(spec, hw, rng)
    ops = sample_realesrgan(spec.realesrgan, spec.scale, hw, rng)
    return ops if isinstance(ops[-1], Jpeg) else ops + [Quantise()]


def degrade(hr: np.ndarray, spec: DegradationSpec, seed: int = 0) -> np.ndarray:
    """HR HxWx3 float in [0,1] -> LR (H//scale)x(W//scale)x3 float32, 8-bit valued."""
    if not isinstance(hr, np.ndarray) or hr.ndim != 3 or hr.shape[2] != 3:
        raise UserError(f"degrade takes an HxWx3 RGB array, got shape {getattr(hr, 'shape', None)}")
    ops = sample_ops(spec, seed, hr.shape[:2])
    h, w = _cropped(hr.shape[:2], spec.scale)
    img = np.ascontiguousarray(hr[:h, :w], dtype=np.float64)
    for op in ops:
        img = op.apply_np(img)
    return img.astype(np.float32)


def _batch_key(ops: list[Op]) -> str:
    """Ops that differ only in noise seeds can share one batched pass."""
    return json.dumps([{k: v for k, v in op.to_dict().items() if k != "seed"} for op in ops], sort_keys=True)


@torch.no_grad()
def degrade_torch(hr: torch.Tensor, spec: DegradationSpec, seeds: Sequence[int]) -> torch.Tensor:
    """Batched `degrade`: image i gets `sample_ops(spec, seeds[i], ...)`.

    hr is (B,3,H,W) in [0,1] on any device; returns (B,3,H//s,W//s) float32 on
    the same device. Computed in float64 like `degrade` (which also keeps
    cuDNN's default TF32 convolutions out); noise comes from the same numpy
    generators and JPEG from the same OpenCV call, both on the CPU. On a CPU,
    `degrade` is faster: torch's float64 convolutions are slow there.
    """
    if not isinstance(hr, torch.Tensor) or hr.ndim != 4 or hr.shape[1] != 3:
        raise UserError(f"degrade_torch takes a (B,3,H,W) tensor, got shape {getattr(hr, 'shape', None)}")
    if len(seeds) != hr.shape[0]:
        raise UserError(f"degrade_torch needs one seed per image: {hr.shape[0]} images, {len(seeds)} seeds")
    h, w = _cropped(hr.shape[2:], spec.scale)
    all_ops = [sample_ops(spec, s, (h, w)) for s in seeds]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, ops in enumerate(all_ops):
        groups[_batch_key(ops)].append(i)
    x = hr[:, :, :h, :w].to(torch.float64)
    out = torch.empty((hr.shape[0], 3, h // spec.scale, w // spec.scale), dtype=torch.float32, device=hr.device)
    for idx in groups.values():
        y = x[idx]
        for step in zip(*(all_ops[i] for i in idx)):
            if all(op == step[0] for op in step):
                y = step[0].apply_torch(y)
            else:  # same op but per-image noise seeds
                y = torch.cat([op.apply_torch(y[j : j + 1]) for j, op in enumerate(step)])
        out[idx] = y.float()
    return out
