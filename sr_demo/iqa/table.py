"""The metric table the UI and CLI are generated from (after pyiqa's DEFAULT_CONFIGS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from sr_demo.iqa.fidelity import psnr, ssim


@dataclass(frozen=True)
class MetricSpec:
    """What a metric measures and how to read it."""

    name: str
    label: str
    full_reference: bool
    lower_better: bool
    value_range: tuple[float, float]
    convention: str
    citation: str
    fn: Callable[..., float]

    @property
    def arrow(self) -> str:
        return "↓" if self.lower_better else "↑"


_SR = "SR protocol: [0,255] scale, `scale` border pixels cropped"
METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("psnr_y", "PSNR-Y (dB)", True, False, (0.0, float("inf")), f"{_SR}, BT.601 Y (16-235)",
                   "Standard; BasicSR calculate_psnr(test_y_channel=True)", lambda a, b, s: psnr(a, b, s, True)),
        MetricSpec("ssim_y", "SSIM-Y", True, False, (-1.0, 1.0), f"{_SR}, BT.601 Y, 11×11 Gaussian σ=1.5",
                   "Wang et al. 2004", lambda a, b, s: ssim(a, b, s, True)),
        MetricSpec("psnr_rgb", "PSNR-RGB (dB)", True, False, (0.0, float("inf")), f"{_SR}, mean over R, G, B",
                   "Standard", lambda a, b, s: psnr(a, b, s, False)),
        MetricSpec("ssim_rgb", "SSIM-RGB", True, False, (-1.0, 1.0), f"{_SR}, mean of per-channel SSIM",
                   "Wang et al. 2004", lambda a, b, s: ssim(a, b, s, False)),
    )
}


def score_all(img: np.ndarray, ref: np.ndarray, crop_border: int, names: tuple[str, ...] = tuple(METRICS)) -> dict[str, float]:
    """Every named full-reference metric of `img` against `ref`."""
    return {name: METRICS[name].fn(img, ref, crop_border) for name in names}
