"""Pictures of a LAM: the paper's seismic heatmap, its 50/50 blend with the LR
input, and the window drawn on an image. numpy only (no matplotlib)."""

from __future__ import annotations

import numpy as np

from sr_demo.imaging import nearest_upscale

# matplotlib's `seismic`: dark blue, blue, white, red, dark red at 0, .25, .5, .75, 1
_SEISMIC = np.array([[0.0, 0.0, 0.3], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.5, 0.0, 0.0]])
_STOPS = np.linspace(0.0, 1.0, len(_SEISMIC))
WINDOW_RGB = (1.0, 0.1, 0.1)
FOOTPRINT_RGB = (0.0, 0.8, 0.0)


def seismic(values: np.ndarray) -> np.ndarray:
    """Colours (..., 3) float32 for values in [0, 1]."""
    v = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    return np.stack([np.interp(v, _STOPS, _SEISMIC[:, c]) for c in range(3)], axis=-1).astype(np.float32)


def heatmap(lam_map: np.ndarray, zoom: int) -> np.ndarray:
    """The map coloured as the paper does (seismic of m*0.5+0.5: white = none,
    dark red = most), each LR pixel an zoom x zoom block."""
    return nearest_upscale(seismic(lam_map * 0.5 + 0.5), zoom)


def overlay(lam_map: np.ndarray, lr: np.ndarray, zoom: int) -> np.ndarray:
    """Heatmap blended 50/50 with the nearest-upscaled LR it explains."""
    return 0.5 * heatmap(lam_map, zoom) + 0.5 * nearest_upscale(np.asarray(lr, dtype=np.float32), zoom)


def draw_box(image: np.ndarray, x: int, y: int, w: int, h: int, rgb=WINDOW_RGB, outside: bool = False,
             edge: int | None = None) -> np.ndarray:
    """A copy of `image` with a rectangle outline `edge` px thick (default: thicker on big images),
    on the box's border pixels or, with `outside`, just around them."""
    out = np.array(image, dtype=np.float32, copy=True)
    edge = edge or max(1, min(out.shape[:2]) // 200)
    if outside:
        x, y, w, h = x - edge, y - edge, w + 2 * edge, h + 2 * edge
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + w, out.shape[1]), min(y + h, out.shape[0])
    color = np.asarray(rgb, dtype=np.float32)
    out[y0 : min(y0 + edge, y1), x0:x1] = color
    out[max(y1 - edge, y0) : y1, x0:x1] = color
    out[y0:y1, x0 : min(x0 + edge, x1)] = color
    out[y0:y1, max(x1 - edge, x0) : x1] = color
    return out
