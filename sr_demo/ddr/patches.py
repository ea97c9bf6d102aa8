"""Seeded sets of small LR patches, each degraded under one class and level.

The DDR experiment asks whether a network's features group patches by how they
were degraded (class, level) or by what they show (source photo), so every
patch remembers all three. HR crops come from the committed held-out photos
(never seen in training) and go through `sr_demo.degradations`, the same
pipeline the rest of SR Lab uses, so a level here means what it means in the
Degrade tab.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sr_demo.errors import UserError

PHOTO_DIR = Path(__file__).resolve().parents[2] / "examples" / "heldout"
DEFAULT_PATCH = 32  # LR side, as in the DDR paper
DEFAULT_PER_CLASS = 32


@dataclass(frozen=True)
class Level:
    """One concrete setting of a class: a label for the legend and the spec's parts."""

    label: str
    blur: float | None = None  # Gaussian sigma (HR pixels, 21x21 iso kernel)
    noise: float | None = None  # Gaussian sigma in 0..255 units
    jpeg: int | None = None  # quality
    realesrgan: bool = False


def _levels(blur=(), noise=(), jpeg=()) -> tuple[Level, ...]:
    """Every combination of the given parameter lists (an empty list: that part is absent)."""
    out = []
    for b in blur or (None,):
        for n in noise or (None,):
            for q in jpeg or (None,):
                parts = [f"σ{b:g}" if b is not None else "", f"n{n:g}" if n is not None else "",
                         f"q{q}" if q is not None else ""]
                out.append(Level(" ".join(p for p in parts if p), b, n, q))
    return tuple(out)


# class -> levels, mild to strong; the paper's three single degradations, their mixes, and Real-ESRGAN's
CLASSES: dict[str, tuple[Level, ...]] = {
    "clean": (Level("bicubic"),),
    "blur": _levels(blur=(1.0, 2.0, 3.0, 4.0)),
    "noise": _levels(noise=(5.0, 10.0, 20.0, 30.0)),
    "jpeg": _levels(jpeg=(90, 70, 50, 30)),
    "blur+noise": _levels(blur=(1.0, 3.0), noise=(10.0, 30.0)),
    "blur+jpeg": _levels(blur=(1.0, 3.0), jpeg=(70, 30)),
    "noise+jpeg": _levels(noise=(10.0, 30.0), jpeg=(70, 30)),
    "realesrgan": (Level("second order", realesrgan=True),),
}
DEFAULT_CLASSES = ("clean", "blur", "noise", "jpeg", "blur+noise", "realesrgan")


@dataclass(frozen=True)
class PatchSet:
    """N LR patches (N,3,P,P float32 in [0,1], 8-bit valued) and what made each one."""

    lr: np.ndarray
    photo: tuple[str, ...]
    cls: tuple[str, ...]
    level: tuple[str, ...]
    seed: int
    scale: int

    def __len__(self) -> int:
        return len(self.cls)


def spec_for(level: Level, scale: int):
    """The DegradationSpec of one level (bicubic down-sampling by `scale` in every class)."""
    from sr_demo.degradations import BlurSpec, DegradationSpec, NoiseSpec

    if level.realesrgan:
        return DegradationSpec(scale=scale, pipeline="realesrgan")
    return DegradationSpec(
        scale=scale,
        blur=BlurSpec(kind="iso", sigma=level.blur, size=21) if level.blur is not None else None,
        noise=NoiseSpec(kind="gaussian", level=level.noise) if level.noise is not None else None,
        jpeg_quality=level.jpeg,
    )


@functools.lru_cache(maxsize=1)
def photos() -> dict[str, np.ndarray]:
    """The held-out photos by file stem, HxWx3 float32 (read once)."""
    from sr_demo.imaging import load_image

    paths = sorted(PHOTO_DIR.glob("*.png"))
    if not paths:
        raise UserError(f"No held-out photos in {PHOTO_DIR}.")
    return {p.stem: load_image(p).rgb for p in paths}


def check_classes(classes) -> tuple[str, ...]:
    classes = tuple(classes)
    if not classes:
        raise UserError("Pick at least one degradation class.")
    unknown = [c for c in classes if c not in CLASSES]
    if unknown:
        raise UserError(f"Unknown degradation class(es) {', '.join(map(repr, unknown))}; "
                        f"known: {', '.join(CLASSES)}.")
    return tuple(dict.fromkeys(classes))


def make_patches(classes=DEFAULT_CLASSES, per_class: int = DEFAULT_PER_CLASS, seed: int = 0, scale: int = 4,
                 patch: int = DEFAULT_PATCH, extra_photos: dict[str, np.ndarray] | None = None) -> PatchSet:
    """`per_class` patches for each class, levels in turn; photo, crop and degradation seed drawn from `seed`.

    The same arguments give the same patches, bit for bit. `extra_photos`
    (name -> HxWx3 float) replaces the held-out photos, e.g. with a user's image.
    """
    from sr_demo.degradations import degrade

    classes = check_classes(classes)
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) or not 1 <= per_class <= 2000:
        raise UserError(f"Patches per class must be a whole number in 1..2000, got {per_class!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"The seed must be a whole number from 0, got {seed!r}.")
    pool = extra_photos if extra_photos is not None else photos()
    hr_side = patch * scale
    names = [n for n, img in pool.items() if min(img.shape[:2]) >= hr_side]
    if not names:
        raise UserError(f"No photo is at least {hr_side}×{hr_side} pixels (a {patch}×{patch} LR patch at ×{scale}).")
    rng = np.random.default_rng(seed)
    lr, photo, cls, level = [], [], [], []
    for c in classes:
        levels = CLASSES[c]
        for i in range(per_class):
            lv = levels[i % len(levels)]
            name = names[int(rng.integers(len(names)))]
            img = pool[name]
            y = int(rng.integers(img.shape[0] - hr_side + 1))
            x = int(rng.integers(img.shape[1] - hr_side + 1))
            lr.append(degrade(img[y:y + hr_side, x:x + hr_side], spec_for(lv, scale), int(rng.integers(2**31))))
            photo.append(name)
            cls.append(c)
            level.append(lv.label)
    batch = np.stack(lr).transpose(0, 3, 1, 2).astype(np.float32, copy=False)
    return PatchSet(np.ascontiguousarray(batch), tuple(photo), tuple(cls), tuple(level), int(seed), int(scale))


def image_patches(rgb: np.ndarray, n: int = 32, patch: int = DEFAULT_PATCH, seed: int = 0) -> np.ndarray:
    """Up to `n` random LR patches (n,3,P,P) cut from a user's image, used as it is (already LR)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise UserError(f"Expected an RGB image, got shape {rgb.shape}.")
    h, w = rgb.shape[:2]
    if min(h, w) < patch:
        raise UserError(f"The image is {w}×{h}; it needs at least {patch}×{patch} pixels for one patch.")
    rng = np.random.default_rng(seed)
    ys = rng.integers(h - patch + 1, size=n)
    xs = rng.integers(w - patch + 1, size=n)
    crops = [rgb[y:y + patch, x:x + patch] for y, x in zip(ys, xs)]
    return np.ascontiguousarray(np.stack(crops).transpose(0, 3, 1, 2).astype(np.float32))
