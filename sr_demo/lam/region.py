"""Where the window lies and which LR region LAM looks at.

DI depends on the canvas the map is drawn on, so by default LAM is defined on
a fixed LR context around the window (64x64, shifted inside the image at its
borders): DI is comparable between images and the cost does not grow with
image size. The exact mode uses the whole image, but runs the network only on
the window plus its receptive field (aligned to the model's size multiple):
pixels beyond the receptive field get exactly zero attribution anyway.
"""

from __future__ import annotations

import math

from sr_demo.errors import UserError

Box = tuple[int, int, int, int]  # x0, y0, width, height in LR pixels


def clamp_window(x: int, y: int, size: int, sr_h: int, sr_w: int) -> tuple[int, int, int]:
    """The window (x, y, size) moved inside an sr_w x sr_h output."""
    if size < 1:
        raise UserError(f"window size must be at least 1 output pixel, got {size}")
    if size > min(sr_h, sr_w):
        raise UserError(f"a {size}px window does not fit in the {sr_w}×{sr_h} output")
    return min(max(int(x), 0), sr_w - size), min(max(int(y), 0), sr_h - size), int(size)


def footprint(window: tuple[int, int, int], scale: int) -> Box:
    """The LR pixels under the output window."""
    x, y, size = window
    x0, y0 = x // scale, y // scale
    return x0, y0, math.ceil((x + size) / scale) - x0, math.ceil((y + size) / scale) - y0


def _span(start: int, length: int, want: int, limit: int) -> tuple[int, int]:
    """A `want`-long interval centred on [start, start+length), shifted inside [0, limit)."""
    want = min(want, limit)
    lo = round(start + length / 2 - want / 2)
    lo = min(max(lo, 0), limit - want)
    return lo, want


def context_box(foot: Box, lr_h: int, lr_w: int, size: int = 64) -> Box:
    """A size x size LR context centred on the footprint, shifted inside the image."""
    if size < 8:
        raise UserError(f"the LR context must be at least 8 pixels, got {size}")
    x0, w = _span(foot[0], foot[2], size, lr_w)
    y0, h = _span(foot[1], foot[3], size, lr_h)
    return x0, y0, w, h


def receptive_box(foot: Box, lr_h: int, lr_w: int, radius: float, align: int) -> Box:
    """The footprint grown by `radius` (plus slack for sub-pixel layers), its
    origin aligned down to `align` so pixel-unshuffle grids stay the same."""
    margin = math.ceil(radius) + 2 * align + 2
    x0 = max(foot[0] - margin, 0) // align * align
    y0 = max(foot[1] - margin, 0) // align * align
    x1 = min(foot[0] + foot[2] + margin, lr_w)
    y1 = min(foot[1] + foot[3] + margin, lr_h)
    return x0, y0, x1 - x0, y1 - y0
