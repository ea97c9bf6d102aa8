"""What every metric accepts, checked once: the [0, 1]-vs-[0, 255] and size pains of IQA users.

An image is HxWx3 (numpy, channels last), 3xHxW or 1x3xHxW (torch or
numpy, channels first), RGB, float in [0, 1] or uint8. Sizes that differ are
an error with the largest common size named; `crop_to_common` is the explicit
offer, never a silent resize.
"""

from __future__ import annotations

import numpy as np

from sr_demo.errors import UserError


def as_image(x, what: str = "image") -> np.ndarray:
    """HxWx3 float32 in [0, 1] from any accepted layout, or a UserError saying what is wrong."""
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    if x.ndim == 4:
        if x.shape[0] != 1:
            raise UserError(f"{what}: a batch of {x.shape[0]} images; score one image at a time.")
        x = x[0]
    if x.ndim != 3:
        raise UserError(f"{what}: expected a 3-D (HxWx3 or 3xHxW) or 4-D (1x3xHxW) array, got shape {x.shape}.")
    if x.shape[-1] != 3 and x.shape[0] == 3:
        x = np.moveaxis(x, 0, -1)
    if x.shape[-1] != 3:
        raise UserError(f"{what}: expected 3 RGB channels, got shape {x.shape}.")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / 255.0
    x = x.astype(np.float32)
    if not np.isfinite(x).all():
        raise UserError(f"{what}: contains NaN or infinite values.")
    if x.min() < 0 or x.max() > 1:
        hint = " It looks like 0..255: divide by 255 first." if x.max() > 1.5 and x.min() >= 0 else ""
        raise UserError(f"{what}: values span [{x.min():.3g}, {x.max():.3g}]; metrics take RGB in [0, 1].{hint}")
    return x


def check_pair(img: np.ndarray, ref: np.ndarray) -> None:
    if img.shape != ref.shape:
        h, w = min(img.shape[0], ref.shape[0]), min(img.shape[1], ref.shape[1])
        raise UserError(f"Image sizes differ: {img.shape[1]}×{img.shape[0]} vs reference "
                        f"{ref.shape[1]}×{ref.shape[0]}. "
                        f"Full-reference scores compare pixel by pixel and SR Lab never resizes silently: crop "
                        f"both to {w}×{h} first (the Score tab offers 'crop to common size'), or fix the scale.")


def crop_to_common(img: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both images cropped to their common top-left region (what the UI offers when sizes differ)."""
    h, w = min(img.shape[0], ref.shape[0]), min(img.shape[1], ref.shape[1])
    return img[:h, :w], ref[:h, :w]
