"""Sample Real-ESRGAN's second-order degradation as a list of concrete ops.

Draw order follows Real-ESRGAN: the dataset draws kernel 1, kernel 2 and the
final sinc kernel (`RealESRGANDataset.__getitem__`), then
`RealESRNetModel.feed_data` draws, per stage, resize direction, factor and
mode, noise type and level, gray flag, JPEG quality. All draws come from one
`numpy.random.Generator`; the noise values themselves from a per-op seed.

Deviations, each because OpenCV/our imresize replace torch ops: JPEG quality
is an integer (libjpeg takes no fractions) and the image is rounded to 8 bit
before each JPEG; resizes use MATLAB imresize kernels ("area" = box with
antialias; "bilinear"/"bicubic" without antialias, as `F.interpolate` does).
"""

from __future__ import annotations

import math

import numpy as np

from .ops import Blur, Jpeg, Noise, Op, Quantise, Resize
from .spec import KERNEL_TYPES, RESIZE_MODES, RealESRGANConfig

_RESIZE = {"area": ("box", True), "bilinear": ("bilinear", False), "bicubic": ("bicubic", False)}


def _uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def _kernel_size(rng: np.random.Generator, cfg: RealESRGANConfig) -> int:
    sizes = range(cfg.kernel_range[0], cfg.kernel_range[1] + 1, 2)
    return sizes[int(rng.integers(len(sizes)))]


def _random_kernel(rng: np.random.Generator, cfg: RealESRGANConfig, sfx: str) -> dict:
    """BasicSR's sinc-or-`random_mixed_kernels` draw; `sfx` "" or "2" picks the stage's ranges."""
    size = _kernel_size(rng, cfg)
    if rng.random() < getattr(cfg, "sinc_prob" + sfx):
        lo = math.pi / 3 if size < 13 else math.pi / 5
        return {"type": "sinc", "size": size, "omega_c": _uniform(rng, lo, math.pi)}
    probs = np.asarray(getattr(cfg, "kernel_prob" + sfx), dtype=np.float64)
    kind = KERNEL_TYPES[int(rng.choice(len(KERNEL_TYPES), p=probs / probs.sum()))]
    sigma = getattr(cfg, "blur_sigma" + sfx)
    params = {"type": kind, "size": size, "sigma_x": _uniform(rng, *sigma)}
    if kind.endswith("aniso"):
        params["sigma_y"] = _uniform(rng, *sigma)
        params["theta"] = _uniform(rng, *cfg.rotation_range)
    if kind.startswith(("generalized", "plateau")):
        lo, hi = getattr(cfg, ("betag_range" if kind.startswith("generalized") else "betap_range") + sfx)
        params["beta"] = _uniform(rng, lo, 1.0) if rng.random() < 0.5 else _uniform(rng, 1.0, hi)
    return params


def _resize_factor(rng: np.random.Generator, probs: tuple, bounds: tuple) -> float:
    direction = int(rng.choice(3, p=np.asarray(probs) / sum(probs)))  # up, down, keep
    if direction == 0:
        return _uniform(rng, 1.0, bounds[1])
    if direction == 1:
        return _uniform(rng, bounds[0], 1.0)
    return 1.0


def _resize(rng: np.random.Generator, size: tuple[int, int]) -> Resize:
    method, antialias = _RESIZE[RESIZE_MODES[int(rng.integers(len(RESIZE_MODES)))]]
    return Resize((max(1, size[0]), max(1, size[1])), method, antialias)


def _noise(rng: np.random.Generator, cfg: RealESRGANConfig, sfx: str) -> Noise:
    if rng.random() < getattr(cfg, "gaussian_noise_prob" + sfx):
        kind, level = "gaussian", _uniform(rng, *getattr(cfg, "noise_range" + sfx))
    else:
        kind, level = "poisson", _uniform(rng, *getattr(cfg, "poisson_scale_range" + sfx))
    gray = bool(rng.random() < getattr(cfg, "gray_noise_prob" + sfx))
    return Noise(kind, level, gray, int(rng.integers(2**31)))


def _jpeg(rng: np.random.Generator, bounds: tuple[int, int]) -> list[Op]:
    return [Quantise(), Jpeg(int(rng.integers(bounds[0], bounds[1], endpoint=True)))]


def sample_realesrgan(cfg: RealESRGANConfig, scale: int, hr_hw: tuple[int, int], rng: np.random.Generator) -> list[Op]:
    """Ops taking an HxW HR image (H, W multiples of scale) to (H//scale, W//scale)."""
    h, w = hr_hw
    kernel1, kernel2 = _random_kernel(rng, cfg, ""), _random_kernel(rng, cfg, "2")
    final_sinc = None
    if rng.random() < cfg.final_sinc_prob:
        size = _kernel_size(rng, cfg)
        final_sinc = Blur({"type": "sinc", "size": size, "omega_c": _uniform(rng, math.pi / 3, math.pi)})

    # First order: blur, random resize, noise, JPEG.
    ops: list[Op] = [Blur(kernel1)]
    s = _resize_factor(rng, cfg.resize_prob, cfg.resize_range)
    ops.append(_resize(rng, (int(h * s), int(w * s))))
    ops.append(_noise(rng, cfg, ""))
    ops += _jpeg(rng, cfg.jpeg_range)

    # Second order: blur with a probability, random resize, noise.
    if rng.random() < cfg.second_blur_prob:
        ops.append(Blur(kernel2))
    s = _resize_factor(rng, cfg.resize_prob2, cfg.resize_range2)
    ops.append(_resize(rng, (int(h / scale * s), int(w / scale * s))))
    ops.append(_noise(rng, cfg, "2"))

    # Then [resize to final + sinc, JPEG] or [JPEG, resize to final + sinc], 50/50.
    final = (h // scale, w // scale)
    if rng.random() < 0.5:
        ops.append(_resize(rng, final))
        ops += [final_sinc] if final_sinc else []
        ops += _jpeg(rng, cfg.jpeg_range2)
    else:
        ops += _jpeg(rng, cfg.jpeg_range2)
        ops.append(_resize(rng, final))
        ops += [final_sinc] if final_sinc else []
    return ops
