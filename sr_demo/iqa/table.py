"""The metric table the UI and CLI are generated from (after pyiqa's DEFAULT_CONFIGS).

Each row says what a metric compares (full- or no-reference), which way is
better, its range, the input convention its numbers assume, where it comes
from and whether it needs weights downloaded on first use. `score` validates
inputs (see `inputs`) before any implementation runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from sr_demo.iqa.fidelity import psnr, ssim
from sr_demo.iqa.inputs import as_image, check_pair


@dataclass(frozen=True)
class MetricSpec:
    """What a metric measures and how to read it."""

    name: str
    label: str
    full_reference: bool
    lower_better: bool
    value_range: tuple[float, float]
    convention: str
    citation: str
    fn: Callable[..., float]  # fn(img, ref_or_None, crop_border) -> float
    needs_download: bool = False
    in_default: bool = True  # False: offered, but not run unless picked (slow on a CPU)

    @property
    def arrow(self) -> str:
        return "↓" if self.lower_better else "↑"

    @property
    def range_text(self) -> str:
        lo, hi = self.value_range
        return f"[{lo:g}, {'∞' if hi == float('inf') else f'{hi:g}'}]"


def _msssim(a, b, s, y_channel=True):
    from sr_demo.iqa.msssim import ms_ssim

    return ms_ssim(a, b, s, y_channel)


def _niqe(a, _b, s):
    from sr_demo.iqa.niqe import niqe

    return niqe(a, s)


def _imported(target: str):
    """The function `module:function`, imported on first call (torch-heavy modules stay out of start-up)."""

    def call(*args):
        import importlib

        module, function = target.split(":")
        return getattr(importlib.import_module(module), function)(*args)

    return call


def _shipped_network(label: str, file: str, load: str, how: str):
    """A cached loader of an in-house IQA network shipped as models/FILE (`load`: "module:function" taking the
    path), with the commands that make the file when it is absent."""

    @lru_cache(maxsize=1)
    def model():
        from sr_demo.errors import UserError
        from sr_demo.models.zoo import models_dir

        path = models_dir() / file
        if not path.is_file():
            raise UserError(f"No {label} weights at {path}: {how}.")
        return _imported(load)(path)

    model.__doc__ = f"The shipped {label} (models/{file})."
    return model


swdn_model = _shipped_network("SWDN", "swdn-inhouse.safetensors", "sr_demo.iqa.swdn:load_swdn",
                              "run training/train_swdn.py, then training/evaluate_swdn.py")
swdn_v2_model = _shipped_network("SWDN v2", "swdn-v2.safetensors", "sr_demo.iqa.swdn_v2:load_swdn_v2",
                                 "run training/train_swdn_v2.py, then training/evaluate_iqa.py --ship-v2")


def _stlpips(net: str):
    def fn(a, b, s):
        from sr_demo.iqa.stlpips import stlpips

        if s:
            a, b = a[s:-s, s:-s], b[s:-s, s:-s]
        return stlpips(a, b, net)

    return fn


def _learned(load):
    """fn(img, ref, crop_border) of a learned distance network (`load()` gives it), through `learned.run`'s checks."""

    def fn(a, b, s):
        from sr_demo.iqa.learned import run

        if s:
            a, b = a[s:-s, s:-s], b[s:-s, s:-s]
        return run(load(), a, b)

    return fn


_SR = "SR protocol: [0,255] scale, `scale` border pixels cropped"
_RGB01 = "RGB in [0,1], `scale` border pixels cropped"
SWDN_LABEL = "in-house weights, not PIPAL-trained"
SWDN_V2_LABEL = "SWDN v2 (VGG16 trunk; channel weights trained in-house on synthetic 2AFC + 0-2 px shifts)"
_STLPIPS_PKG = "stlpips-pytorch 0.0.2 (offline)"
METRICS: dict[str, MetricSpec] = {
    m.name: m
    for m in (
        MetricSpec("psnr_y", "PSNR-Y (dB)", True, False, (0.0, float("inf")), f"{_SR}, BT.601 Y (16-235), no rounding",
                   "Standard; BasicSR calculate_psnr(test_y_channel=True)", lambda a, b, s: psnr(a, b, s, True)),
        MetricSpec("ssim_y", "SSIM-Y", True, False, (-1.0, 1.0),
                   f"{_SR}, BT.601 Y not rounded to 8 bit (pyiqa/MATLAB round it), 11×11 Gaussian σ=1.5",
                   "Wang et al. 2004", lambda a, b, s: ssim(a, b, s, True)),
        MetricSpec("psnr_rgb", "PSNR-RGB (dB)", True, False, (0.0, float("inf")), f"{_SR}, mean over R, G, B",
                   "Standard", lambda a, b, s: psnr(a, b, s, False)),
        MetricSpec("ssim_rgb", "SSIM-RGB", True, False, (-1.0, 1.0), f"{_SR}, mean of per-channel SSIM",
                   "Wang et al. 2004", lambda a, b, s: ssim(a, b, s, False)),
        MetricSpec("ms_ssim_y", "MS-SSIM-Y", True, False, (0.0, 1.0),
                   f"{_SR}, BT.601 Y, 5 scales (needs ≥161 px a side)",
                   "Wang, Simoncelli & Bovik 2003", _msssim),
        MetricSpec("ms_ssim_rgb", "MS-SSIM-RGB", True, False, (0.0, 1.0),
                   f"{_SR}, mean of per-channel MS-SSIM (needs ≥161 px a side)",
                   "Wang, Simoncelli & Bovik 2003", lambda a, b, s: _msssim(a, b, s, False)),
        MetricSpec("swdn", "SWDN distance", True, True, (0.0, float("inf")),
                   f"{_RGB01}; {SWDN_LABEL}", "Gu et al., PIPAL (arXiv:2011.15002); weights: this repo",
                   _learned(swdn_model)),
        MetricSpec("swdn_v2", SWDN_V2_LABEL, True, True, (0.0, float("inf")),
                   f"{_RGB01}; ST-LPIPS's VGG16 convolutions (frozen, from {_STLPIPS_PKG}), L2 pooling between them, "
                   "per-channel weights trained in-house on CPU (not PIPAL-trained); a VGG16 pass per image, "
                   "so not run unless picked",
                   "Gu et al., PIPAL (arXiv:2011.15002); weights: this repo", _learned(swdn_v2_model),
                   in_default=False),
        MetricSpec("stlpips_alex", "ST-LPIPS (Alex)", True, True, (0.0, float("inf")),
                   f"{_RGB01} (scaled to [-1,1] inside); blur-pooled AlexNet, weights from {_STLPIPS_PKG}",
                   "Ghildyal & Liu, ECCV 2022 (arXiv:2207.13686)", _stlpips("alex")),
        MetricSpec("stlpips_vgg", "ST-LPIPS (VGG)", True, True, (0.0, float("inf")),
                   f"{_RGB01} (scaled to [-1,1] inside); blur-pooled VGG16, weights from {_STLPIPS_PKG}; "
                   "about 2x the time of the AlexNet one, so not run unless picked",
                   "Ghildyal & Liu, ECCV 2022 (arXiv:2207.13686)", _stlpips("vgg"), in_default=False),
        MetricSpec("niqe", "NIQE", False, True, (0.0, float("inf")),
                   "BT.601 Y on [0,255], 96×96 patches; pristine model fitted on SR Lab's train split, so values "
                   "differ from MATLAB's/pyiqa's NIQE", "Mittal et al. 2013", _niqe),
        MetricSpec("lpips", "LPIPS (Alex)", True, True, (0.0, 1.0), f"{_RGB01} (scaled to [-1,1] inside)",
                   "Zhang et al. 2018, v0.1", _learned(_imported("sr_demo.iqa.learned:load_lpips")),
                   needs_download=True),
        MetricSpec("dists", "DISTS", True, True, (0.0, 1.0), f"{_RGB01}, ImageNet normalisation inside, no resize",
                   "Ding et al. 2020", _learned(_imported("sr_demo.iqa.learned:load_dists")), needs_download=True),
    )
}
#: The four scores every super-resolved output gets (cheap, no weights).
SR_PROTOCOL = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")
#: What the Score tab and `sr-demo score` compute unless asked otherwise: everything that needs no download
#: and is quick enough to run by default.
DEFAULT_METRICS = tuple(name for name, m in METRICS.items() if not m.needs_download and m.in_default)


def resolve_names(text: str | None, y_channel: bool) -> list[str]:
    """Metric names from a comma list; `psnr`, `ssim`, `ms_ssim` mean their Y or RGB row as `y_channel` says.
    No list: every metric that needs no download, in that one colour convention."""
    from sr_demo.errors import UserError

    suffix = "_y" if y_channel else "_rgb"
    if not text:
        return [n for n in DEFAULT_METRICS if not n.endswith("_rgb" if y_channel else "_y")]
    names = []
    for raw in (t.strip().lower() for t in text.split(",") if t.strip()):
        name = raw + suffix if raw in ("psnr", "ssim", "ms_ssim") else raw
        if name not in METRICS:
            raise UserError(f"Unknown metric {raw!r}; known: psnr, ssim, ms_ssim, {', '.join(METRICS)}.")
        names.append(name)
    return names


def score(name: str, img, ref, crop_border: int = 0) -> float:
    """One metric of `img` (against `ref` when full-reference), inputs validated first."""
    from sr_demo.errors import UserError

    if name not in METRICS:
        raise UserError(f"Unknown metric {name!r}; known: {', '.join(METRICS)}.")
    spec = METRICS[name]
    img = as_image(img, "image")
    if spec.full_reference:
        if ref is None:
            raise UserError(f"{spec.label} is full-reference: give a reference image.")
        ref = as_image(ref, "reference")
        check_pair(img, ref)
    return float(spec.fn(img, ref, int(crop_border)))


def score_all(img: np.ndarray, ref: np.ndarray, crop_border: int,
              names: tuple[str, ...] = SR_PROTOCOL) -> dict[str, float]:
    """Every named metric of `img` against `ref`."""
    return {name: score(name, img, ref, crop_border) for name in names}
