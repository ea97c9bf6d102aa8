"""All image-size engineering in one place: padding to the model's multiple,
overlapping tiles, per-tile device transfer, half precision with an fp32
escape, and smaller tiles on out-of-memory."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from sr_demo.errors import UserError
from sr_demo.models.loader import LoadedModel

# auto mode tiles when the output would exceed this many pixels: on CPU an
# EDSR-baseline x4 then peaks near 1 GB instead of 8 GB at 1024x1024 LR, and
# runs faster (bench/runner.py); GPUs take bigger tiles (less overlap waste)
AUTO_TILE_HR_PIXELS = {"cpu": 1024 * 1024, "cuda": 2048 * 2048}
MIN_TILE = 32  # out-of-memory retries stop halving here
# overlap grows to the receptive radius up to this: deep nets (RRDB: hundreds of px in theory) use far
# less in practice (LAM's 90% radii), and more context would make every tile mostly overlap
MAX_AUTO_OVERLAP = 32
_DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
_NAMES = {v: k for k, v in _DTYPES.items()}


@dataclass
class RunResult:
    sr: np.ndarray  # (H*scale, W*scale, 3) float32 in [0, 1]
    seconds: float
    device: str
    precision: str  # "fp32" | "fp16" | "bf16"
    tiles: int
    tile_size: int | None  # LR pixels per tile side, None when untiled
    notes: list[str] = field(default_factory=list)  # warnings for the user


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """"auto" -> CUDA when available, else CPU; a missing GPU is a UserError."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise UserError(f"Unknown device {device!r}; use 'auto', 'cpu' or 'cuda'") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' requested but no CUDA GPU is available")
    return dev


def _pick_dtype(model: LoadedModel, dev: torch.device, precision: str, notes: list[str]) -> torch.dtype:
    """"auto" is fp16 on CUDA when the model allows it, else fp32; an explicit
    "fp16"/"bf16" is honoured on any device (CPU autocast) if allowed."""
    if precision != "auto" and precision not in _DTYPES:
        raise UserError(f"precision must be 'auto', 'fp32', 'fp16' or 'bf16', got {precision!r}")
    wanted = "fp16" if precision == "auto" and dev.type == "cuda" else precision
    if wanted in ("auto", "fp32"):
        return torch.float32
    if not model.supports_half:
        if precision != "auto":
            notes.append(f"{model.name} does not support half precision: ran in fp32")
        return torch.float32
    return _DTYPES[wanted]


def _plan_tile(
    model: LoadedModel, h: int, w: int, tile: int | None, dev: torch.device, notes: list[str]
) -> int | None:
    if tile is not None and tile < 0:
        raise UserError(f"tile must be None (auto), 0 (never) or a positive size, got {tile}")
    if tile == 0:
        return None
    if tile is None:
        budget = AUTO_TILE_HR_PIXELS.get(dev.type, AUTO_TILE_HR_PIXELS["cpu"])
        if h * w * model.scale**2 <= budget:
            return None
        tile = max(64, math.isqrt(budget) // model.scale)
    if tile >= h and tile >= w:
        return None
    if not model.tiling_ok:
        notes.append(f"{model.name} must not be tiled (it uses whole-image context): ran untiled")
        return None
    return tile


def _splits(n: int, tile: int | None) -> list[tuple[int, int]]:
    """Near-equal core intervals covering [0, n), each at most `tile` long."""
    k = 1 if tile is None else math.ceil(n / tile)
    cuts = [round(i * n / k) for i in range(k + 1)]
    return list(zip(cuts[:-1], cuts[1:]))


def _padded_size(n: int, multiple: int, minimum: int) -> int:
    n = max(n, minimum)
    return -(-n // multiple) * multiple


def forward_padded(model: LoadedModel, module: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Pad (reflect) to the model's size rules, run, crop the output back."""
    h, w = x.shape[-2:]
    ph = _padded_size(h, model.pad_multiple, model.min_size) - h
    pw = _padded_size(w, model.pad_multiple, model.min_size) - w
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="reflect" if ph < h and pw < w else "replicate")
    with torch.autocast(x.device.type, dtype=dtype, enabled=dtype != torch.float32):
        out = module(x)
    return out[..., : h * model.scale, : w * model.scale].float()


def prepare_module(model: LoadedModel, dev: torch.device) -> tuple[torch.nn.Module, bool]:
    """Move the model to `dev`, channels_last for conv nets; (module, channels_last).

    Must run outside `torch.inference_mode`: weights converted inside it
    become inference tensors, and LAM could never differentiate through them.
    """
    module = model.module.to(dev)
    channels_last = any(isinstance(m, torch.nn.Conv2d) for m in module.modules())
    if channels_last:  # faster convs: about 1.2x for EDSR on CPU (bench/runner.py), more in fp16 on GPU
        module = module.to(memory_format=torch.channels_last)
    return module, channels_last


def _run_tiles(
    model: LoadedModel,
    module: torch.nn.Module,
    channels_last: bool,
    x: torch.Tensor,
    dev: torch.device,
    dtype: torch.dtype,
    tile: int | None,
    overlap: int,
    progress: Callable[[float, str], None] | None,
    notes: list[str],
) -> tuple[torch.Tensor, int]:
    """Run each tile with `overlap` LR pixels of context on every side and
    keep only its centre, so for receptive fields <= overlap the result equals
    the untiled one exactly."""
    h, w, s = x.shape[-2], x.shape[-1], model.scale
    sr = torch.empty(h * s, w * s, 3)  # HWC: returned as numpy without a copy
    boxes = [(y, xx) for y in _splits(h, tile) for xx in _splits(w, tile)]
    fp32_reruns = 0
    for i, ((y0, y1), (x0, x1)) in enumerate(boxes):
        cy0, cy1, cx0, cx1 = max(0, y0 - overlap), min(h, y1 + overlap), max(0, x0 - overlap), min(w, x1 + overlap)
        patch = x[..., cy0:cy1, cx0:cx1].to(dev)
        if channels_last:
            patch = patch.contiguous(memory_format=torch.channels_last)
        out = forward_padded(model, module, patch, dtype)
        if dtype != torch.float32 and not torch.isfinite(out).all():
            out = forward_padded(model, module, patch, torch.float32)
            fp32_reruns += 1
        core = out[..., (y0 - cy0) * s : (y1 - cy0) * s, (x0 - cx0) * s : (x1 - cx0) * s]
        sr[y0 * s : y1 * s, x0 * s : x1 * s] = core[0].clamp(0, 1).permute(1, 2, 0).cpu()
        if progress is not None:
            progress((i + 1) / len(boxes), f"tile {i + 1}/{len(boxes)}")
    if fp32_reruns:
        notes.append(f"{fp32_reruns} tile(s) overflowed in {_NAMES[dtype]} and were re-run in fp32")
    return sr, len(boxes)


def _is_oom(e: BaseException) -> bool:
    return isinstance(e, torch.OutOfMemoryError) or "can't allocate memory" in str(e)


def apply_conditions(model: LoadedModel, conditions: dict[str, float] | None) -> None:
    """Set the model's declared per-run inputs; unknown names are a UserError."""
    for key, value in (conditions or {}).items():
        if key not in model.inputs:
            accepted = ", ".join(model.inputs) or "none"
            raise UserError(f"{model.name} takes no {key!r} input (it accepts: {accepted})")
        setattr(model.module, key, float(value))


def to_tensor(lr: np.ndarray) -> torch.Tensor:
    if not isinstance(lr, np.ndarray) or lr.ndim != 3 or lr.shape[2] != 3 or min(lr.shape[:2]) < 1:
        raise UserError(f"expected an HxWx3 RGB image array, got shape {getattr(lr, 'shape', type(lr))}")
    if not np.issubdtype(lr.dtype, np.floating):
        raise UserError(f"expected float values in [0, 1], got dtype {lr.dtype} (divide 8-bit images by 255)")
    lo, hi = float(lr.min()), float(lr.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -1e-3 or hi > 1 + 1e-3:
        raise UserError(f"expected values in [0, 1], got range [{lo:.3g}, {hi:.3g}]")
    return torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32)).permute(2, 0, 1)[None]


def upscale(
    model: LoadedModel,
    lr: np.ndarray,
    *,
    device: str = "auto",
    tile: int | None = None,
    overlap: int = 16,
    precision: str = "auto",
    progress: Callable[[float, str], None] | None = None,
    conditions: dict[str, float] | None = None,
) -> RunResult:
    """Super-resolve `lr` (HxWx3 float32 in [0, 1]) with `model`.

    `tile`: None = auto (tile only when the output exceeds the device's
    AUTO_TILE_HR_PIXELS), 0 = never, N = cores of N LR pixels; `overlap` LR
    pixels of context around each (raised to the receptive radius when known, up to MAX_AUTO_OVERLAP). On out-of-memory the tile is halved down
    to MIN_TILE (unless tile=0 or the model must not be tiled); beyond that a
    UserError says so. Leaves `model.module` on `device`, channels_last.
    `conditions`: per-run inputs the architecture declares (`ArchSpec.inputs`,
    e.g. SRMD's noise_level), set on the module for this run.
    """
    x = to_tensor(lr)
    apply_conditions(model, conditions)
    if model.receptive_radius is not None:  # small nets: tiles then equal the whole image exactly
        overlap = max(overlap, min(math.ceil(model.receptive_radius), MAX_AUTO_OVERLAP))
    h, w = x.shape[-2:]
    dev = resolve_device(device)
    notes: list[str] = []
    dtype = _pick_dtype(model, dev, precision, notes)
    tile_size = _plan_tile(model, h, w, tile, dev, notes)
    start = time.perf_counter()
    module, channels_last = prepare_module(model, dev)
    while True:
        try:
            with torch.inference_mode():
                sr, n_tiles = _run_tiles(model, module, channels_last, x, dev, dtype, tile_size, overlap, progress,
                                         notes)
            break
        except RuntimeError as e:  # torch.OutOfMemoryError is one
            if not _is_oom(e):
                raise
            if dev.type == "cuda":
                torch.cuda.empty_cache()
            smaller = (tile_size or max(h, w)) // 2
            if smaller < MIN_TILE or not model.tiling_ok or tile == 0:
                raise UserError(
                    f"Out of {dev.type.upper()} memory running {model.name} on {w}x{h}; "
                    "try a smaller image or another device"
                ) from e
            notes.append(f"out of memory with {tile_size or 'no'} tiles: retried with {smaller}px tiles")
            tile_size = smaller
    return RunResult(
        sr=sr.numpy(),
        seconds=time.perf_counter() - start,
        device=str(dev),
        precision=_NAMES[dtype],
        tiles=n_tiles,
        tile_size=tile_size,
        notes=notes,
    )
