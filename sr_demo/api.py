"""The Python API that the CLI and every UI tab call: one behaviour, two faces."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from sr_demo.errors import UserError
from sr_demo.imaging import MIN_SIDE, mod_crop

#: Largest SR output (pixels) the app produces; override with SR_DEMO_MAX_OUTPUT_PIXELS.
DEFAULT_MAX_OUTPUT_PIXELS = 8192 * 8192
#: Smallest LR side the degradation may produce: the smallest image SR Lab loads, so that every LR it
#: writes can be super-resolved.
MIN_LR_SIDE = MIN_SIDE

Progress = Callable[[float, str], None]


@dataclass
class Degraded:
    """An (HR, LR, spec, seed) triple: everything needed to reproduce the LR bytes."""

    hr: np.ndarray
    lr: np.ndarray
    spec: "object"  # DegradationSpec
    seed: int
    ops: list[dict]

    def record(self) -> dict:
        """JSON-safe description: spec, seed and the concrete steps sampled from them."""
        return {"spec": self.spec.to_dict(), "seed": self.seed, "steps": self.ops,
                "hr_size": list(self.hr.shape[1::-1]), "lr_size": list(self.lr.shape[1::-1])}


def degrade(hr: np.ndarray, spec, seed: int = 0) -> Degraded:
    """Mod-crop `hr` to the spec's scale and degrade it reproducibly."""
    from sr_demo.degradations import degrade as run_degradation
    from sr_demo.degradations import sample_ops

    spec.validate()
    if not 0 <= int(seed) < 2**32:
        raise UserError(f"Seed must be an integer in [0, 2^32), got {seed}.")
    seed = int(seed)
    hr = mod_crop(hr, spec.scale)
    h, w = hr.shape[:2]
    if min(h, w) // spec.scale < MIN_LR_SIDE:
        raise UserError(
            f"A {w}×{h} image at ×{spec.scale} gives an LR under {MIN_LR_SIDE} pixels a side; "
            f"use an image of at least {MIN_LR_SIDE * spec.scale} pixels a side or a smaller scale."
        )
    ops = [op.to_dict() for op in sample_ops(spec, seed, (h, w))]
    return Degraded(hr=hr, lr=run_degradation(hr, spec, seed), spec=spec, seed=seed, ops=ops)


def max_output_pixels() -> int:
    value = os.environ.get("SR_DEMO_MAX_OUTPUT_PIXELS")
    return int(value) if value else DEFAULT_MAX_OUTPUT_PIXELS


@dataclass
class SuperResolved:
    """One model's output on one LR image, with what it cost and how it scores."""

    model: str
    scale: int
    sr: np.ndarray
    seconds: float
    device: str
    precision: str
    tiles: int
    sha256: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    note: str = ""


def check_output_size(lr: np.ndarray, scale: int) -> None:
    """Refuse outputs that would not fit in this server's memory before running anything."""
    h, w = lr.shape[:2]
    if h * w * scale * scale > max_output_pixels():
        raise UserError(
            f"×{scale} of a {w}×{h} image would be {w * scale}×{h * scale} pixels, over this server's "
            f"limit of {max_output_pixels() / 1e6:.0f} MP. Crop the input first."
        )


def super_resolve(lr: np.ndarray, model, *, hr: np.ndarray | None = None, tile: int | None = None,
                  device: str = "auto", progress: Progress | None = None,
                  conditions: dict[str, float] | None = None) -> SuperResolved:
    """Run `model` (a zoo name or a LoadedModel) on `lr`; score against `hr` when it matches.
    `conditions`: per-run inputs of non-blind models (SRMD's noise_level)."""
    from sr_demo.models import get_model, upscale

    loaded = get_model(model) if isinstance(model, str) else model
    check_output_size(lr, loaded.scale)
    result = upscale(loaded, lr, device=device, tile=tile, progress=progress, conditions=conditions)
    out = SuperResolved(model=loaded.name, scale=loaded.scale, sr=result.sr, seconds=result.seconds,
                        device=result.device, precision=result.precision, tiles=result.tiles,
                        sha256=loaded.sha256)
    notes = list(result.notes)
    if hr is not None:
        out.metrics, score_note = score_against(result.sr, hr, loaded.scale)
        notes += [score_note] if score_note else []
    out.note = "; ".join(notes)
    return out


def score_against(sr: np.ndarray, hr: np.ndarray, scale: int) -> tuple[dict[str, float], str]:
    """SR-protocol scores when sizes allow, else an explanation of why there are none.

    An HR that is not a multiple of `scale` is mod-cropped first, as the SR protocol does.
    """
    from sr_demo.iqa import score_all

    note = ""
    (h, w), (rh, rw) = sr.shape[:2], hr.shape[:2]
    if (h, w) != (rh, rw) and 0 <= rh - h < scale and 0 <= rw - w < scale:
        hr, note = hr[:h, :w], f"HR mod-cropped from {rw}×{rh} to {w}×{h}"
    if sr.shape != hr.shape:
        return {}, (f"no scores: output {w}×{h} ≠ reference {rw}×{rh} "
                    "(is the model's scale the degradation's?)")
    return score_all(sr, hr, crop_border=scale), note
