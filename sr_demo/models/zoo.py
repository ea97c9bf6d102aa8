"""The one table of user-visible models; the UI's dropdowns and the CLI's
`models` listing are generated from it.

Adding a trained model is one `ZooEntry(...)` in `_LEARNED` (its weights in
`models/`, its card as `models/NAME.json`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sr_demo.errors import UserError

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ZooEntry:
    """One model: how to build it, where its weights are, what it is.

    `name` is `arch-variant-xS`; `weights` a file name in `models_dir()` (or
    the download cache); `sha256` of that file; `url` for published weights.
    """

    name: str
    arch: str
    scale: int
    arch_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    training: Literal["bicubic", "realesrgan"] | None = None
    weights: str | None = None
    sha256: str | None = None
    url: str | None = None
    licence: str = "MIT"
    card: str | None = None
    description: str = ""
    pad_multiple: int = 1
    supports_half: bool = True
    tiling_ok: bool = True
    family: Literal["baseline", "cnn", "transformer"] = "cnn"


_BASELINE_TEXT = {
    "nearest": "Nearest neighbour: every LR pixel becomes an SxS block.",
    "bicubic": "MATLAB-compatible bicubic interpolation, the reference every SR paper reports.",
    "lanczos": "Lanczos-3 interpolation: sharper than bicubic, with mild ringing.",
}

_BASELINES = tuple(
    ZooEntry(
        name=f"{method}-x{scale}",
        arch="interp",
        scale=scale,
        arch_kwargs={"method": method},
        licence="n/a (no weights)",
        description=text,
        family="baseline",
    )
    for method, text in _BASELINE_TEXT.items()
    for scale in (2, 3, 4, 16)
)

# Learned models join here once training/ has produced their weights and card.
_LEARNED: tuple[ZooEntry, ...] = (
    ZooEntry(
        name="fsrcnn-x4",
        arch="fsrcnn",
        scale=4,
        arch_kwargs={"d": 56, "s": 12, "m": 4},
        training="bicubic",
        weights="fsrcnn-x4.safetensors",
        sha256="2987cd0da9fbcfac6351234c7ae825fb43cee04fd41e6e0b5858bc7f52b16df7",
        licence="CC-BY-SA-4.0 (trained on PD/CC0/CC-BY/CC-BY-SA photos and GPL-2+/LGPL-3 wallpapers; see card)",
        card="fsrcnn-x4.md",
        description="FSRCNN (Dong et al. 2016) on RGB, 25k parameters, trained on a CPU: "
        "a small gain over bicubic (see its card).",
    ),
)

ZOO: tuple[ZooEntry, ...] = _BASELINES + _LEARNED


def zoo_names() -> tuple[str, ...]:
    return tuple(e.name for e in ZOO)


def get_entry(name: str) -> ZooEntry:
    for entry in ZOO:
        if entry.name == name:
            return entry
    raise UserError(f"Unknown model {name!r}; choose one of: {', '.join(zoo_names())}")


def build_entry(entry: ZooEntry) -> nn.Module:
    """The entry's module with freshly initialised weights."""
    from sr_demo.models.archs import build_arch

    return build_arch(entry.arch, scale=entry.scale, **entry.arch_kwargs)


def models_dir() -> Path:
    """The repo's `models/` folder (shipped weights and cards); the
    `SR_DEMO_MODELS_DIR` environment variable overrides it."""
    override = os.environ.get("SR_DEMO_MODELS_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "models"


def available_entries() -> tuple[ZooEntry, ...]:
    """Entries that can run here: baselines, shipped weights, or a download URL."""
    return tuple(
        e for e in ZOO if e.weights is None or e.url or (models_dir() / e.weights).is_file()
    )


def card_summary(entry: ZooEntry) -> dict[str, Any]:
    """The measured facts of `models/NAME.json` (psnr_y, bicubic_psnr_y,
    params, iterations, ...), or {} when the model has no card."""
    path = models_dir() / f"{entry.name}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def describe_entries() -> list[dict[str, Any]]:
    """One JSON-ready row per entry (the CLI's `models` listing): the table's
    facts plus the card's measurements and whether it can run here."""
    available = set(available_entries())
    rows = []
    for entry in ZOO:
        card = card_summary(entry)
        params = card.get("params")
        if params is None:  # no card yet: count (0 for the baselines)
            params = sum(p.numel() for p in build_entry(entry).parameters())
        rows.append(
            dict(
                name=entry.name,
                arch=entry.arch,
                scale=entry.scale,
                family=entry.family,
                training=entry.training,
                params=params,
                psnr_y=card.get("psnr_y"),
                bicubic_psnr_y=card.get("bicubic_psnr_y"),
                available=entry in available,
                licence=entry.licence,
                description=entry.description,
            )
        )
    return rows
