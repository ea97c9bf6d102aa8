"""MS-SSIM (Wang, Simoncelli & Bovik 2003) in the SR-protocol conventions of `fidelity`.

Five scales with the paper's weights; contrast-structure at scales 1-4 and
full SSIM at scale 5, each clipped at 0 per pixel (as pyiqa does, so a
negative mean never meets a fractional power). Between scales a 2x2 mean
then every other pixel, with the last row/column repeated for odd sizes as
the reference MATLAB code (`imfilter(..., 'symmetric')`, `(1:2:end)`) does.
Needs at least 11 px at the coarsest scale, i.e. 161 px a side.
"""

from __future__ import annotations

import numpy as np

from sr_demo.errors import UserError
from sr_demo.iqa.fidelity import _prepare, ssim_maps

WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MIN_SIDE = 161  # 161 -> 81 -> 41 -> 21 -> 11 px: the 11x11 window still fits at scale 5


def _halve(x: np.ndarray) -> np.ndarray:
    h, w = x.shape
    x = np.pad(x, ((0, h % 2), (0, w % 2)), mode="edge")
    return 0.25 * (x[0::2, 0::2] + x[1::2, 0::2] + x[0::2, 1::2] + x[1::2, 1::2])


def _msssim_channel(a: np.ndarray, b: np.ndarray) -> float:
    value = 1.0
    for i, weight in enumerate(WEIGHTS):
        ssim_map, cs_map = ssim_maps(a, b)
        last = i == len(WEIGHTS) - 1
        value *= float(np.maximum(ssim_map if last else cs_map, 0).mean(dtype=np.float64)) ** weight
        if not last:
            a, b = _halve(a), _halve(b)
    return value


def ms_ssim(img: np.ndarray, ref: np.ndarray, crop_border: int = 0, y_channel: bool = True) -> float:
    """MS-SSIM of `img` against `ref` (HxWx3 float in [0, 1]), mean over channels; 1 when identical."""
    a, b = _prepare(img, ref, crop_border, y_channel)
    if min(a.shape[:2]) < MIN_SIDE:
        raise UserError(f"MS-SSIM needs at least {MIN_SIDE}×{MIN_SIDE} pixels after the border crop "
                        f"(five scales of an 11×11 window); this pair is {a.shape[1]}×{a.shape[0]}.")
    return float(np.mean([_msssim_channel(a[..., c], b[..., c]) for c in range(a.shape[2])]))
