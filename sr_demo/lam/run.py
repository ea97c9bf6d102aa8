"""`compute_lam`: one model, one LR image, one window -> a cached LamResult."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from sr_demo.lam import cache
from sr_demo.lam.attribution import path_attribution
from sr_demo.lam.diffusion import diffusion_index, mass_radii, normalise
from sr_demo.lam.paths import TAPS, Path
from sr_demo.lam.receptive import crop_note, receptive_radius
from sr_demo.lam.region import Box, clamp_window, context_box, footprint, receptive_box
from sr_demo.models.loader import LoadedModel
from sr_demo.models.runner import forward_padded, resolve_device, to_tensor

DEFAULT_CONTEXT = 64


@dataclass
class LamResult:
    """A local attribution map and what it says.

    `map`, `attribution` and `lr` cover `box` (LR pixels x0, y0, w, h): the
    fixed context, or the whole image in exact mode. `window` is (x, y, size)
    in output pixels of the whole image; `footprint` the LR pixels under it,
    in `box` coordinates. Radii are in LR pixels around the footprint.
    """

    model: str
    scale: int
    path: str
    fold: int
    window: tuple[int, int, int]
    box: Box
    mode: str  # "context" | "exact"
    footprint: Box
    lr: np.ndarray  # (h, w, 3) the input LAM explains
    attribution: np.ndarray  # (3, h, w) float32, A of the paper
    map: np.ndarray  # (h, w) float32 in [0, 1]
    di: float
    radii: dict[float, int | None]
    receptive_radius: float | None
    seconds: float
    device: str
    notes: list[str] = field(default_factory=list)


def image_key(lr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(lr, dtype=np.float32).tobytes() + str(lr.shape).encode()).hexdigest()


def compute_lam(
    model: LoadedModel,
    lr: np.ndarray,
    x: int,
    y: int,
    *,
    window: int = 16,
    fold: int = 50,
    path: str = "blur",
    context: int | None = DEFAULT_CONTEXT,
    device: str = "auto",
    chunk: int | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> LamResult:
    """LAM of `model` for the window of `window` output pixels whose top-left
    is (x, y) in output pixels of `lr` (HxWx3 float in [0, 1]), moved inside
    the output if needed. `context`: LR side of the fixed context (None: the
    whole image, exact). Cached by image content, weights, window, context,
    fold and path."""
    to_tensor(lr)  # validates shape, dtype and range
    h, w = lr.shape[:2]
    s = model.scale
    win = clamp_window(x, y, window, h * s, w * s)
    key = (image_key(lr), model.sha256 or model.name, win, context, fold, path)
    if (hit := cache.get(key)) is not None:
        return hit
    start = time.perf_counter()
    dev = resolve_device(device)
    foot = footprint(win, s)
    radius, note = receptive_radius(model), crop_note(model)
    if context is not None:
        box, mode = context_box(foot, h, w, context), "context"
    elif radius is not None:
        box, mode = receptive_box(foot, h, w, radius + TAPS // 2, max(model.pad_multiple, 1)), "exact"
    else:
        box, mode = (0, 0, w, h), "exact"
    bx, by, bw, bh = box
    crop = torch.from_numpy(np.ascontiguousarray(lr[by : by + bh, bx : bx + bw], dtype=np.float32))
    module = model.module.to(dev)
    local = (win[0] - bx * s, win[1] - by * s, win[2])
    attribution = path_attribution(
        lambda batch: forward_padded(model, module, batch, torch.float32),
        Path(crop.permute(2, 0, 1).to(dev), fold, path),
        local,
        chunk=chunk,
        progress=progress,
    )
    if context is None and box != (0, 0, w, h):  # outside the receptive field A is exactly 0
        full = np.zeros((3, h, w), np.float32)
        full[:, by : by + bh, bx : bx + bw] = attribution
        attribution, box = full, (0, 0, w, h)
    lam_map = normalise(attribution)
    foot_local = (foot[0] - box[0], foot[1] - box[1], foot[2], foot[3])
    notes = [note] if note else []
    if not lam_map.any():
        notes.append("the attribution is zero everywhere (the window's output is flat or constant)")
    result = LamResult(
        model=model.name, scale=s, path=path, fold=fold, window=win, box=box, mode=mode, footprint=foot_local,
        lr=np.ascontiguousarray(lr[box[1] : box[1] + box[3], box[0] : box[0] + box[2]]),
        attribution=attribution, map=lam_map, di=diffusion_index(lam_map), radii=mass_radii(lam_map, foot_local),
        receptive_radius=radius, seconds=time.perf_counter() - start, device=str(dev), notes=notes,
    )
    cache.put(key, result)
    return result

