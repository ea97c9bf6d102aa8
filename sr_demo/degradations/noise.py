"""Additive noise as Real-ESRGAN draws it, from a numpy Generator.

Both functions return the noise array (not the noisy image) so that the
numpy and torch paths add the very same numbers. Poisson samples are drawn
by inverting the CDF with one uniform per pixel: numpy's own Poisson sampler
consumes a value-dependent number of random numbers, so a 1e-7 difference
in one pixel between the two paths would change every later sample.
"""

from __future__ import annotations

import numpy as np

_LUMA = np.array([0.299, 0.587, 0.114])  # RGB -> gray, as torchvision/BasicSR


def gaussian_noise(shape: tuple[int, int, int], sigma: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """N(0, sigma/255) per pixel and channel, or one value per pixel for all channels if gray."""
    h, w, c = shape
    n = rng.standard_normal((h, w, 1) if gray else (h, w, c)) * (sigma / 255.0)
    return np.broadcast_to(n, shape).astype(np.float32)


def poisson_noise(img: np.ndarray, scale: float, gray: bool, rng: np.random.Generator) -> np.ndarray:
    """Real-ESRGAN's `generate_poisson_noise`: counts ~ Poisson(img * vals), noise scaled by `scale`.

    img is HxWx3 RGB in [0,1], rounded to 8-bit levels first; vals is the
    number of distinct levels in the image rounded up to a power of two (so
    fewer levels, more noise).
    """
    base = img.astype(np.float64) @ _LUMA if gray else img.astype(np.float64)
    levels = np.clip(np.round(base * 255.0), 0, 255).astype(np.intp)
    vals = 2.0 ** np.ceil(np.log2(np.count_nonzero(np.bincount(levels.ravel(), minlength=256))))
    lam = np.arange(256) / 255.0 * vals
    counts = _poisson_by_inversion(lam, levels, rng.random(levels.shape))
    noise = (counts / vals - levels / 255.0) * scale
    if gray:
        noise = noise[..., None]
    return np.broadcast_to(noise, img.shape).astype(np.float32)


def _poisson_by_inversion(lam: np.ndarray, which: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Poisson(lam[which]) samples: the smallest k with CDF(k) >= u, one uniform u per sample."""
    kmax = int(np.ceil(lam.max() + 12.0 * np.sqrt(lam.max()) + 12.0))
    k = np.arange(kmax + 1, dtype=np.float64)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(k[1:]))])
    safe = np.where(lam > 0, lam, 1.0)[:, None]
    pmf = np.exp(k * np.log(safe) - safe - log_fact)
    pmf[lam == 0] = k == 0  # Poisson(0) is always 0
    cdf = np.cumsum(pmf, axis=1)
    # One searchsorted over all rows: row j is shifted by 2j so rows never overlap.
    offset = 2.0 * np.arange(len(lam))
    pos = np.searchsorted((cdf + offset[:, None]).ravel(), u + offset[which], side="left") - which * (kmax + 1)
    return np.minimum(pos, kmax).astype(np.float64)
