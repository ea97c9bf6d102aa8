"""The one table of user-visible models; the UI's dropdowns and the CLI's
`models` listing are generated from it.

Every training recipe (`training/recipes.py`) has an entry. One whose weights
are not in `models/` yet waits in `_PENDING` (unpinned) and stays hidden by
`available_entries()`; publishing it (`training/evaluate.py`) moves it to
`_LEARNED` with the sha256 of its weights (its card is `models/NAME.json`).
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
    the download cache); `sha256` of that file; `url` for published weights;
    `twin_of` the entry this one differs from in a single factor (dropout,
    global residual), for the RDSR study.
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
    twin_of: str | None = None


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

# Weights trained by training/ on photos from Debian packages: one licence for all of them.
_TRAINED_LICENCE = ("CC-BY-SA-4.0 (trained on PD/CC0/CC-BY/CC-BY-SA photos and GPL-2+/LGPL-3 wallpapers; "
                    "see card)")

# Learned models with shipped weights (sha256 pinned) and a card.
_LEARNED: tuple[ZooEntry, ...] = (
    ZooEntry(
        name="fsrcnn-x4",
        arch="fsrcnn",
        scale=4,
        arch_kwargs={"d": 56, "s": 12, "m": 4},
        training="bicubic",
        weights="fsrcnn-x4.safetensors",
        sha256="272ee5394d0d5b98136813fff8eb6c07f192519cef36e61e738d768b71f22013",
        licence=_TRAINED_LICENCE,
        card="fsrcnn-x4.md",
        description="FSRCNN (Dong et al. 2016) on RGB, 25k parameters, trained on a CPU: "
        "a small gain over bicubic (see its card).",
    ),
)

# Declared from training/recipes.py, waiting for GPU training (`python training/run_pending.py`):
# hidden by available_entries() until models/NAME.safetensors exists. sha256=None on purpose: it is
# pinned (and the entry moved to _LEARNED) when training/evaluate.py publishes the trained weights.
_SRRESNET = {"num_feat": 64, "num_block": 16}
_RRDB_LIGHT = {"num_feat": 64, "num_block": 3, "num_grow_ch": 32}


def _pending(name: str, arch: str, scale: int, arch_kwargs: dict[str, Any], training: str, description: str,
             **extra: Any) -> ZooEntry:
    """A declared model whose weights and card, once published, are `models/NAME.{safetensors,md}`."""
    return ZooEntry(name=name, arch=arch, scale=scale, arch_kwargs=arch_kwargs, training=training,
                    weights=f"{name}.safetensors", sha256=None, licence=_TRAINED_LICENCE, card=f"{name}.md",
                    description=description, **extra)


_PENDING: tuple[ZooEntry, ...] = (
    _pending("edsr-baseline-x2", "edsr", 2, {"num_feat": 64, "num_block": 16}, "bicubic",
             "EDSR baseline (Lim et al. 2017), 16 blocks x 64 channels, x2."),
    _pending("edsr-baseline-x4", "edsr", 4, {"num_feat": 64, "num_block": 16}, "bicubic",
             "EDSR baseline (Lim et al. 2017), 16 blocks x 64 channels, x4."),
    _pending("msrresnet-x4", "srresnet", 4, _SRRESNET, "bicubic",
             "MSRResNet (SRResNet without BN, BasicSR), 16 blocks, x4."),
    _pending("rrdb-light-x4", "rrdbnet", 4, _RRDB_LIGHT, "bicubic",
             "RRDBNet (ESRGAN's generator, Wang et al. 2018) with 3 RRDB blocks, PSNR-trained, x4."),
    _pending("edsr-x16", "edsr", 16, {"num_feat": 64, "num_block": 16}, "bicubic",
             "EDSR baseline body with a x16 sub-pixel tail (4 x2 stages)."),
    _pending("a2n-x2", "a2n", 2, {"num_feat": 40, "num_up_feat": 24, "num_block": 16}, "bicubic",
             "A2N, attention in attention (Chen et al. 2021), 16 blocks, x2."),
    _pending("a2n-x4", "a2n", 4, {"num_feat": 40, "num_up_feat": 24, "num_block": 16}, "bicubic",
             "A2N, attention in attention (Chen et al. 2021), 16 blocks, x4."),
    _pending("swinir-light-x4", "swinir", 4, {"img_size": 16}, "bicubic",
             "SwinIR lightweight (Liang et al. 2021): embed 60, 4 stages of depth 6, window 8, x4.",
             supports_half=False, tiling_ok=False, family="transformer"),
    _pending("srresnet-real-x4", "srresnet", 4, _SRRESNET, "realesrgan",
             "MSRResNet, 16 blocks, trained on the Real-ESRGAN pipeline (RDSR baseline), x4."),
    _pending("srresnet-real-dropout-x4", "srresnet", 4, {**_SRRESNET, "dropout": 0.7}, "realesrgan",
             "As srresnet-real-x4 plus Dropout2d(0.7) before conv_last (RDSR), x4.", twin_of="srresnet-real-x4"),
    _pending("srresnet-real-dropout-mid-x4", "srresnet", 4, {**_SRRESNET, "dropout": 0.7, "dropout_position": "middle"},
             "realesrgan",
             "As srresnet-real-x4 plus Dropout2d(0.7) after body block 8 of 16 (RDSR position check), x4.",
             twin_of="srresnet-real-x4"),
    _pending("rrdb-real-x4", "rrdbnet", 4, _RRDB_LIGHT, "realesrgan",
             "RRDBNet, 3 RRDB blocks, trained on the Real-ESRGAN pipeline (RDSR baseline), x4."),
    _pending("rrdb-real-dropout-x4", "rrdbnet", 4, {**_RRDB_LIGHT, "dropout": 0.5}, "realesrgan",
             "As rrdb-real-x4 plus Dropout2d(0.5) before conv_last (RDSR), x4.", twin_of="rrdb-real-x4"),
    _pending("msrresnet-nogr-x4", "srresnet", 4, {**_SRRESNET, "global_residual": False}, "bicubic",
             "msrresnet-x4 without its global residual (DDR factor 1), x4.", twin_of="msrresnet-x4"),
    _pending("srresnet-gan-x4", "srresnet", 4, _SRRESNET, "bicubic",
             "msrresnet-x4 fine-tuned with L1 + adversarial loss (DDR factor 2; GAN textures), x4."),
)

ZOO: tuple[ZooEntry, ...] = _BASELINES + _LEARNED + _PENDING


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
