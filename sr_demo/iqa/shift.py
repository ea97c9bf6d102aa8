"""How much each metric punishes a misalignment of a few pixels (the Score tab's shift demo).

PIPAL's point (SWDN): GAN outputs are often shifted by a pixel or two, which
PSNR/SSIM punish as if the image were worse; a space-warping metric should not.
"""

from __future__ import annotations

import math

import numpy as np

from sr_demo.errors import UserError
from sr_demo.iqa.table import METRICS, score


def shift_curves(img: np.ndarray, ref: np.ndarray, metrics: tuple[str, ...], max_shift: int, crop: int,
                 optional: tuple[str, ...] = ("swdn",)) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Each metric of `img` moved 0..`max_shift` px against the whole reference, so only the misalignment
    changes and no shift scores exactly what the score table does (`shifted`). Returns (curves,
    {metric: why it was left out}) for `optional` metrics that cannot run (e.g. too small for SWDN); any
    other failure raises."""
    if ref.shape[1] - max_shift < 1:
        raise UserError(f"The reference is too narrow to shift by {max_shift} px.")
    curves, skipped = {}, {}
    for m in metrics:
        try:
            curves[m] = [score(m, shifted(img, s), ref, crop) for s in range(max_shift + 1)]
        except UserError as exc:
            if m not in optional:
                raise
            skipped[m] = str(exc)
    return curves, skipped


def shifted(img: np.ndarray, s: int) -> np.ndarray:
    """`img` moved `s` px left, its last column repeated to keep its size: the repeated columns lie inside
    the SR border crop whenever the crop is at least the shift, so they are never scored there."""
    if s == 0:
        return img
    return np.concatenate([img[:, s:], np.repeat(img[:, -1:], s, axis=1)], axis=1)


def quality_lost(value: float, base: float, lower_better: bool) -> float:
    """Percent of quality lost relative to no shift: PSNR/SSIM fall, a distance such as SWDN rises."""
    if not math.isfinite(base):
        base = 100.0  # PSNR of identical images: show the drop from a nominal 100 dB
    if lower_better:
        return 100.0 * (value - base) / max(abs(value), abs(base), 1e-9) if value != base else 0.0
    return 100.0 * (base - value) / max(abs(base), 1e-9)


def quality_lost_curve(metric: str, values: list[float]) -> list[float]:
    """`quality_lost` of every shift against the unshifted score."""
    return [quality_lost(v, values[0], METRICS[metric].lower_better) for v in values]
