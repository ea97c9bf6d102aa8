"""How widely the attribution spreads: the paper's Diffusion Index and, beyond
the paper, the radii around the window that hold 50% and 90% of the mass.

DI = (1 - Gini) * 100 of the normalised map (the official code's `gini`:
shifted non-negative, +1e-7, sorted). A DI near 0 means a few pixels carry
everything; 100 means every pixel of the canvas counts equally.
"""

from __future__ import annotations

import numpy as np

from sr_demo.lam.region import Box

FRACTIONS = (0.5, 0.9)


def normalise(attribution: np.ndarray) -> np.ndarray:
    """The map: |sum over channels of A| / its max (all zeros when A is zero)."""
    m = np.abs(attribution.sum(axis=0, dtype=np.float64))
    top = m.max()
    return (m / top if top > 0 else m).astype(np.float32)


def gini(values: np.ndarray) -> float:
    """G = sum_i (2i - n - 1) x_(i) / (n sum x), i = 1..n over the sorted values."""
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x[0] < 0:
        x = x - x[0]
    x = x + 1e-7
    n = x.size
    i = np.arange(1, n + 1)
    return float(np.sum((2 * i - n - 1) * x) / (n * np.sum(x)))


def diffusion_index(lam_map: np.ndarray) -> float:
    return (1.0 - gini(lam_map)) * 100.0


def ring_distance(shape: tuple[int, int], foot: Box) -> np.ndarray:
    """Chebyshev distance of every pixel from the footprint box (0 inside), in pixels."""
    x0, y0, w, h = foot
    ys, xs = np.arange(shape[0]), np.arange(shape[1])
    dy = np.maximum(np.maximum(y0 - ys, ys - (y0 + h - 1)), 0)
    dx = np.maximum(np.maximum(x0 - xs, xs - (x0 + w - 1)), 0)
    return np.maximum(dy[:, None], dx[None, :])


def mass_radii(lam_map: np.ndarray, foot: Box, fractions: tuple[float, ...] = FRACTIONS) -> dict[float, int | None]:
    """Smallest ring radius around the footprint (LR pixels) that holds each
    fraction of the map's total; None for an all-zero map."""
    dist = ring_distance(lam_map.shape, foot)
    mass = np.bincount(dist.ravel(), weights=lam_map.astype(np.float64).ravel())
    total = mass.sum()
    if total <= 0:
        return {f: None for f in fractions}
    cumulative = np.cumsum(mass) / total
    return {f: int(np.searchsorted(cumulative, f - 1e-12)) for f in fractions}
