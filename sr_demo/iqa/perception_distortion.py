"""The perception–distortion view: several zoo models on one image, scored by distortion and perceptual metrics.

Blau & Michaeli (CVPR 2018) show that low distortion (PSNR, SSIM) and high
perceptual quality cannot both be had; PIPAL (Gu et al., ECCV 2020) finds
that metrics disagree most on GAN outputs. Here every available zoo model at
one scale super-resolves the MATLAB-bicubic LR of one HR image, every output
gets the chosen metrics, and each metric ranks the models: a GAN-trained
model next to PSNR-oriented ones shows both effects on one picture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sr_demo.errors import UserError

DISTORTION = ("psnr_y", "ssim_y")
PERCEPTUAL = ("niqe", "stlpips_alex", "stlpips_vgg", "swdn", "swdn_v2")
#: Ranked for every study, whatever the axes (ST-LPIPS-VGG and SWDN v2 only when picked: they are the slow ones).
RANKED = ("psnr_y", "ssim_y", "niqe", "stlpips_alex", "swdn")
#: The HR is centre-cropped to at most this side so that a CPU run of several models stays in seconds.
MAX_SIDE = 256
#: Groups left out of the default selection (their models target other content or inputs).
OFF_BY_DEFAULT = ("anime", "jpeg-noise")


@dataclass
class Study:
    """One image through several models: outputs, scores (model -> metric -> value) and what could not be scored."""

    hr: np.ndarray
    lr: np.ndarray
    scale: int
    outputs: dict[str, np.ndarray]
    groups: dict[str, str]
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def candidates(scale: int) -> list[str]:
    """Zoo models that run here at this scale (baselines included)."""
    from sr_demo.models import available_entries

    return [e.name for e in available_entries() if e.scale == scale]


def default_models(scale: int) -> list[str]:
    """Every candidate except anime / JPEG-noise models, and one width of each architecture (the first listed)."""
    from sr_demo.models import get_entry

    chosen, archs = [], set()
    for name in candidates(scale):
        entry = get_entry(name)
        if entry.group in OFF_BY_DEFAULT or (entry.arch in archs and entry.group != "baseline"):
            continue
        archs.add(entry.arch)
        chosen.append(name)
    return chosen


def prepare(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(HR centre-cropped to MAX_SIDE and to a multiple of `scale`, its MATLAB-bicubic LR, notes)."""
    from sr_demo.degradations.resize import imresize

    notes = []
    h, w = hr.shape[:2]
    ch, cw = min(h, MAX_SIDE) // scale * scale, min(w, MAX_SIDE) // scale * scale
    if min(ch, cw) < 8 * scale:
        raise UserError(f"The image is {w}×{h}: too small for ×{scale} (at least {8 * scale} px a side).")
    if (ch, cw) != (h, w):
        notes.append(f"centre {cw}×{ch} of the {w}×{h} image (at most {MAX_SIDE} px a side, a multiple of "
                     f"{scale}), so that every model runs in seconds on a CPU")
    top, left = (h - ch) // 2, (w - cw) // 2
    hr = np.ascontiguousarray(hr[top:top + ch, left:left + cw])
    lr = np.clip(imresize(hr, 1 / scale), 0, 1).astype(np.float32)
    return hr, lr, notes


def run_models(hr: np.ndarray, scale: int, names: list[str],
               progress: Callable[[float, str], None] | None = None) -> Study:
    """Super-resolve the bicubic LR of `hr` with every named model (non-blind ones told noise level 0)."""
    from sr_demo.models import get_entry, get_model, upscale

    if not names:
        raise UserError("Pick at least one zoo model.")
    hr, lr, notes = prepare(hr, scale)
    outputs, groups = {}, {}
    for i, name in enumerate(names):
        if progress:
            progress(i / len(names), f"super-resolving with {name}")
        model = get_model(name)
        if model.scale != scale:
            raise UserError(f"{name} is a ×{model.scale} model; this view runs ×{scale}.")
        conditions = {"noise_level": 0.0} if "noise_level" in model.inputs else None
        outputs[name] = upscale(model, lr, conditions=conditions).sr
        groups[name] = get_entry(name).group
    return Study(hr=hr, lr=lr, scale=scale, outputs=outputs, groups=groups, notes=notes)


def add_scores(study: Study, metrics: list[str]) -> Study:
    """Score every output with each metric not yet scored (`scale` border pixels cropped, the SR protocol);
    a metric that cannot score this image is recorded in `skipped` with the reason."""
    from sr_demo.iqa import score

    for m in metrics:
        if m in study.skipped or (study.scores and all(m in s for s in study.scores.values())):
            continue
        try:
            values = {name: score(m, sr, study.hr, study.scale) for name, sr in study.outputs.items()}
        except UserError as exc:
            study.skipped[m] = str(exc)
            continue
        for name, value in values.items():
            study.scores.setdefault(name, {})[m] = value
    return study


def ranking(study: Study, metric: str) -> list[str]:
    """Models best first by `metric` (its own direction); ties keep the order the models were run in."""
    from sr_demo.iqa import METRICS

    sign = 1.0 if METRICS[metric].lower_better else -1.0
    return sorted(study.outputs, key=lambda name: sign * study.scores[name][metric])


def rank_agreement(study: Study, a: str, b: str) -> float:
    """Kendall tau between two metrics' rankings of the models (+1: same order, -1: reversed)."""
    from sr_demo.iqa.agreement import metric_agreement

    return float(metric_agreement({n: study.scores[n] for n in study.outputs}, [a, b])[0, 1])
