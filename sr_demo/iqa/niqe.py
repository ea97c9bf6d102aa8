"""NIQE (Mittal, Soundararajan & Bovik 2013): no-reference, distance to a "pristine" model.

NIQE is *defined* by a multivariate Gaussian fitted to natural-scene
statistics of pristine photos, so its numbers depend on that corpus.
MATLAB's and pyiqa's NIQE use the authors' 125-photo model; ours is fitted by
`training/fit_niqe.py` from SR Lab's *train* split (never the held-out one),
and `models/niqe-pristine.json` records which photos. Numbers are therefore
comparable within SR Lab, not with published NIQE tables.

Features per 96x96 patch at two scales (full, and half by MATLAB bicubic):
the GGD fit of the MSCN coefficients (shape, variance) and the AGGD fits of
their four neighbour products (shape, mean, left and right variance): 36
values. Input: grey = BT.601 Y on [0, 255]; 2-D or HxWx3 in [0, 1].
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from sr_demo.errors import UserError

PATCH = 96
_GRID = np.arange(0.2, 10.0, 0.001)
_LG = np.vectorize(math.lgamma)
_GGD_R = np.exp(_LG(1 / _GRID) + _LG(3 / _GRID) - 2 * _LG(2 / _GRID))  # E[x^2] / E[|x|]^2
_AGGD_R = np.exp(2 * _LG(2 / _GRID) - _LG(1 / _GRID) - _LG(3 / _GRID))


def _grey(img: np.ndarray) -> np.ndarray:
    from sr_demo.imaging import rgb_to_y

    img = np.asarray(img, dtype=np.float64)
    return (rgb_to_y(img) if img.ndim == 3 else img) * 255.0


def mscn(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean-subtracted contrast-normalised coefficients and the local deviation (7x7 Gaussian, sigma 7/6)."""
    k = cv2.getGaussianKernel(7, 7 / 6)
    blur = lambda x: cv2.sepFilter2D(x, -1, k, k, borderType=cv2.BORDER_REPLICATE)  # noqa: E731
    mu = blur(grey)
    sigma = np.sqrt(np.abs(blur(grey * grey) - mu * mu))
    return (grey - mu) / (sigma + 1.0), sigma


def _ggd(x: np.ndarray) -> tuple[float, float]:
    var = float(np.mean(x * x))
    rho = var / (float(np.mean(np.abs(x))) ** 2 + 1e-12)
    return float(_GRID[np.argmin(np.abs(_GGD_R - rho))]), var


def _aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    left, right = x[x < 0], x[x > 0]
    l_std = math.sqrt(float(np.mean(left * left))) if left.size else 1e-6
    r_std = math.sqrt(float(np.mean(right * right))) if right.size else 1e-6
    gamma = l_std / r_std
    r_hat = float(np.mean(np.abs(x))) ** 2 / (float(np.mean(x * x)) + 1e-12)
    r_norm = r_hat * (gamma**3 + 1) * (gamma + 1) / (gamma**2 + 1) ** 2
    alpha = float(_GRID[np.argmin(np.abs(_AGGD_R - r_norm))])
    mean = (r_std - l_std) * math.exp(math.lgamma(2 / alpha) - 0.5 * (math.lgamma(1 / alpha) + math.lgamma(3 / alpha)))
    return alpha, mean, l_std**2, r_std**2


def _patch_features(m: np.ndarray) -> list[float]:
    feats = list(_ggd(m))
    for shifted in (m[:, 1:] * m[:, :-1], m[1:] * m[:-1], m[1:, 1:] * m[:-1, :-1], m[1:, :-1] * m[:-1, 1:]):
        feats += _aggd(shifted)
    return feats


def patch_features(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """36 features per whole 96x96 patch (rows) and each patch's sharpness (mean local deviation)."""
    from sr_demo.degradations import imresize

    h, w = (s - s % PATCH for s in grey.shape)
    if min(h, w) < PATCH:
        raise UserError(f"NIQE needs at least {PATCH}×{PATCH} pixels (its patch size); "
                        f"this image is {grey.shape[1]}×{grey.shape[0]}.")
    grey = grey[:h, :w]
    scales = [mscn(grey), mscn(imresize(grey.astype(np.float32), 0.5).astype(np.float64))]
    rows, sharp = [], []
    for y in range(0, h, PATCH):
        for x in range(0, w, PATCH):
            row = []
            for s, (m, _) in enumerate(scales):
                p, ys, xs = PATCH >> s, y >> s, x >> s
                row += _patch_features(m[ys:ys + p, xs:xs + p])
            rows.append(row)
            sharp.append(float(scales[0][1][y:y + PATCH, x:x + PATCH].mean()))
    return np.asarray(rows), np.asarray(sharp)


def default_model_path() -> Path:
    from sr_demo.models.zoo import models_dir

    return models_dir() / "niqe-pristine.json"


@lru_cache(maxsize=2)
def load_model(path: str | None = None) -> dict:
    """The pristine model: mean (36), covariance (36x36) and the corpus it came from."""
    path = Path(path) if path else default_model_path()
    if not path.is_file():
        raise UserError(f"No NIQE pristine model at {path}: run `python training/fit_niqe.py`.")
    data = json.loads(path.read_text())
    return {**data, "mu": np.asarray(data["mu"]), "cov": np.asarray(data["cov"])}


def niqe(img: np.ndarray, crop_border: int = 0, model: dict | None = None) -> float:
    """NIQE of one image (lower is more natural); `crop_border` pixels dropped from each side first."""
    img = np.asarray(img)
    if crop_border:
        img = img[crop_border:-crop_border, crop_border:-crop_border]
    model = model or load_model()
    feats, _ = patch_features(_grey(img))
    mu = feats.mean(0)
    cov = np.cov(feats, rowvar=False) if len(feats) > 1 else np.zeros_like(model["cov"])
    diff = model["mu"] - mu
    return float(math.sqrt(max(diff @ np.linalg.pinv((model["cov"] + cov) / 2) @ diff, 0.0)))
