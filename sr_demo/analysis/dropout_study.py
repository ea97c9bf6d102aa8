"""The RDSR dropout study as a service: twin models side by side (the UI view stays thin).

Twins are zoo entries that differ from their `twin_of` in one factor (dropout
before conv_last, dropout in the middle, no global residual). `compare_twins`
degrades an HR image with one of the eight RDSR test presets, super-resolves
the LR with both twins (PSNR/SSIM against the HR), and explains how each one
shares the work between the channels of its last feature layer: channel
saliency maps (`sr_demo.analysis.saliency`), their shares, spread (Gini,
entropy) and one picture per twin on a shared colour scale. `study_table`
reads the held-out study that `training/study.py` writes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sr_demo.degradations import RDSR_TEST_PRESETS
from sr_demo.errors import UserError

SCALE = 4
PRESETS = RDSR_TEST_PRESETS
DEFAULT_PRESET = "blur+noise+jpeg"
#: Side (LR px) of the centre crop whose channel saliency is computed: quick on a 2-core CPU.
SALIENCY_CROP = 48
#: Largest HR side compared; larger images are centre-cropped (SR of both twins stays quick on a CPU).
MAX_HR_SIDE = 512
#: Largest side (px) of one channel's map in the rendered grid.
TILE = 64
#: The colour scale is clipped at this percentile of |value| over both twins (one hot pixel would wash it out).
CLIP_PERCENTILE = 99.5
STUDY_FILE = "rdsr-study.json"
TRAIN_COMMAND = "python training/run_pending.py"
STUDY_COMMAND = "python training/evaluate.py --study rdsr"
NO_TWINS = ("No trained twin pair is available yet: the RDSR twins (e.g. srresnet-real-x4 and "
            f"srresnet-real-dropout-x4) are pending GPU training (`{TRAIN_COMMAND}`).")

Progress = Callable[[float, str], None]


# --- the pairs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TwinPair:
    """`model` differs from `twin` (its `twin_of`) in `factor` only."""

    model: str
    twin: str
    factor: str

    @property
    def label(self) -> str:
        return f"{self.model} vs {self.twin} ({self.factor})"


def factor_label(entry, twin) -> str:
    """What `entry` changes relative to `twin`, in words (both ZooEntries)."""
    a, b = dict(entry.arch_kwargs), dict(twin.arch_kwargs)
    diff = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
    parts = []
    if diff & {"dropout", "dropout_position"}:
        where = "in the middle" if a.get("dropout_position", "end") == "middle" else "before conv_last"
        parts.append(f"dropout {a.get('dropout', 0.0):g} {where}")
    if "global_residual" in diff:
        parts.append("no global residual" if not a.get("global_residual", True) else "global residual")
    parts += [f"{k}={a.get(k)!r}" for k in sorted(diff - {"dropout", "dropout_position", "global_residual"})]
    if entry.group != twin.group:
        parts.append(f"trained for {entry.group}")
    return ", ".join(parts) or "same settings"


def twin_pairs() -> list[TwinPair]:
    """Every pair whose two models can run here (weights shipped or downloadable), in zoo order."""
    from sr_demo.models.zoo import available_entries

    available = {e.name: e for e in available_entries()}
    return [TwinPair(e.name, e.twin_of, factor_label(e, available[e.twin_of]))
            for e in available.values() if e.twin_of and e.twin_of in available]


def find_pair(model: str | None) -> TwinPair:
    """The available pair whose variant is `model`; a UserError says why there is none."""
    pairs = twin_pairs()
    if not pairs:
        raise UserError(NO_TWINS)
    for pair in pairs:
        if pair.model == model:
            return pair
    raise UserError(f"{model!r} is not a trained twin here; choose one of: {', '.join(p.model for p in pairs)}")


# --- one comparison ----------------------------------------------------------------------------


@dataclass
class TwinResult:
    """One twin on the degraded LR: its output, scores and channel saliency."""

    name: str
    sr: np.ndarray  # (H, W, 3) float32 in [0, 1]
    metrics: dict[str, float]  # psnr_y, ssim_y, psnr_rgb, ssim_rgb against the HR
    seconds: float
    device: str
    contributions: np.ndarray  # (C,) signed contribution of each channel to the summed output of the crop
    shares: np.ndarray  # (C,) |contribution| normalised to sum 1
    gini: float
    entropy: float
    grid: np.ndarray  # (h, w, 3) float32: every channel's map, ordered by |contribution|, shared scale

    @property
    def order(self) -> np.ndarray:
        """Channel indices from the largest |contribution| down."""
        return np.argsort(-np.abs(self.contributions), kind="stable")

    @property
    def ranked_shares(self) -> np.ndarray:
        """Shares sorted from the largest down (the rank curve)."""
        return np.sort(self.shares)[::-1]

    @property
    def lorenz(self) -> tuple[np.ndarray, np.ndarray]:
        """(fraction of channels, fraction of the work they do), smallest shares first, from (0, 0)."""
        s = np.sort(self.shares)
        n = len(s)
        return np.arange(n + 1) / n, np.concatenate([[0.0], np.cumsum(s) / max(s.sum(), 1e-300)])


@dataclass
class TwinComparison:
    """Both twins on one degraded image. `crop` is the saliency crop (x, y, w, h) in LR pixels."""

    hr: np.ndarray
    lr: np.ndarray
    preset: str
    seed: int
    degradation: dict[str, Any]
    crop: tuple[int, int, int, int]
    color_limit: float  # |value| at the ends of the shared colour scale
    model: TwinResult
    twin: TwinResult
    notes: list[str] = field(default_factory=list)

    @property
    def results(self) -> tuple[TwinResult, TwinResult]:
        """The twin (baseline) first, then the model that adds the factor."""
        return self.twin, self.model


def centre_box(h: int, w: int, side: int, multiple: int = 1) -> tuple[int, int, int, int]:
    """(x, y, w, h) of a centred crop of at most `side` px a side, sides multiples of `multiple` when possible."""
    ch, cw = min(h, side), min(w, side)
    if multiple > 1:
        ch, cw = max(ch - ch % multiple, min(h, multiple)), max(cw - cw % multiple, min(w, multiple))
    return (w - cw) // 2, (h - ch) // 2, cw, ch


def _saliency(model, lr_crop: np.ndarray) -> np.ndarray:
    from sr_demo.analysis.saliency import channel_maps
    from sr_demo.models.runner import to_tensor

    if not hasattr(model.module, "conv_last"):
        raise UserError(f"{model.name} ({model.arch}) has no conv_last layer: channel saliency needs one.")
    return channel_maps(model.module, to_tensor(lr_crop))


def compare_twins(hr: np.ndarray, model: str, twin: str, preset: str = DEFAULT_PRESET, seed: int = 0,
                  progress: Progress | None = None) -> TwinComparison:
    """Degrade `hr` with `preset` at ×4 (seeded), super-resolve with both zoo models, score
    against the HR, and compute both channel saliency maps on the centre crop of the LR."""
    from sr_demo.analysis.saliency import shares, spread
    from sr_demo.api import degrade, super_resolve
    from sr_demo.degradations import preset_spec
    from sr_demo.models import get_model

    step = progress or (lambda fraction, text: None)
    if preset not in PRESETS:
        raise UserError(f"Unknown RDSR preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    if model == twin:
        raise UserError(f"Pick two different models (got {model} twice).")
    loaded = {name: get_model(name) for name in (model, twin)}
    for m in loaded.values():
        if m.scale != SCALE:
            raise UserError(f"{m.name} is a ×{m.scale} model; the dropout study compares ×{SCALE} models.")
    notes = []
    h, w = hr.shape[:2]
    if max(h, w) > MAX_HR_SIDE:
        x0, y0, cw, ch = centre_box(h, w, MAX_HR_SIDE)
        hr = hr[y0:y0 + ch, x0:x0 + cw]
        notes.append(f"HR centre-cropped from {w}×{h} to {cw}×{ch} px to stay quick.")
    step(0.02, f"degrading ({preset}, seed {seed})")
    deg = degrade(hr, preset_spec(preset, SCALE), seed)
    lr = deg.lr
    outputs = {}
    for i, name in enumerate((model, twin)):
        def sub(fraction, text, i=i, name=name):
            step(0.05 + 0.3 * (i + fraction), f"{name}: {text}")

        sub(0.0, "super-resolving")
        outputs[name] = super_resolve(lr, loaded[name], hr=deg.hr, progress=sub)
    multiple = max(max(m.pad_multiple, 1) for m in loaded.values())
    box = centre_box(*lr.shape[:2], SALIENCY_CROP, multiple)
    bx, by, bw, bh = box
    crop = np.ascontiguousarray(lr[by:by + bh, bx:bx + bw])
    maps = {}
    for i, name in enumerate((model, twin)):
        step(0.65 + 0.15 * i, f"{name}: channel saliency")
        maps[name] = _saliency(loaded[name], crop)
    step(0.95, "rendering the saliency maps")
    pooled = {name: pool(m, TILE) for name, m in maps.items()}
    limit = color_limit(list(pooled.values()))
    results = {}
    for name in (model, twin):
        contrib = maps[name].sum(axis=(1, 2))
        channel_shares = shares(contrib)
        stats = spread(channel_shares)
        out = outputs[name]
        results[name] = TwinResult(
            name=name, sr=out.sr, metrics=dict(out.metrics), seconds=out.seconds, device=out.device,
            contributions=contrib, shares=channel_shares, gini=stats["gini"], entropy=stats["entropy"],
            grid=render_grid(pooled[name], contrib, channel_shares, limit, title=name))
        if out.note:
            notes.append(f"{name}: {out.note}")
    s = SCALE
    notes.append(f"Channel saliency on the centre {bw}×{bh} LR px ({bw * s}×{bh * s} output px) to stay quick "
                 "on a CPU; PSNR/SSIM on the whole image.")
    step(1.0, "done")
    return TwinComparison(hr=deg.hr, lr=lr, preset=preset, seed=deg.seed, degradation=deg.record(), crop=box,
                          color_limit=limit, model=results[model], twin=results[twin], notes=notes)


# --- pictures ----------------------------------------------------------------------------------


def pool(maps: np.ndarray, tile: int = TILE) -> np.ndarray:
    """(C, H, W) -> (C, H/f, W/f) block means, f the smallest integer that fits `tile` (f = 1: unchanged)."""
    c, h, w = maps.shape
    f = max(1, math.ceil(max(h, w) / tile))
    if f == 1:
        return maps
    h2, w2 = h // f, w // f
    return maps[:, : h2 * f, : w2 * f].reshape(c, h2, f, w2, f).mean(axis=(2, 4))


def color_limit(maps: list[np.ndarray], percentile: float = CLIP_PERCENTILE) -> float:
    """One |value| for both ends of the diverging scale, shared by every map given."""
    values = np.concatenate([np.abs(m).ravel() for m in maps])
    limit = float(np.percentile(values, percentile)) if values.size else 0.0
    return limit if limit > 0 else (float(values.max()) if values.size and values.max() > 0 else 1.0)


def render_grid(maps: np.ndarray, contributions: np.ndarray, shares: np.ndarray, limit: float,
                title: str = "", cols: int | None = None) -> np.ndarray:
    """Every channel's map as a small tile (seismic: blue < 0 < red, white = 0, clipped at ±limit),
    ordered by |contribution|, captioned with channel index and share, with a colour bar below."""
    from PIL import Image, ImageDraw

    from sr_demo.lam.render import seismic

    c, h, w = maps.shape
    cols = cols or math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    # the top strip stays blank: Gradio draws the image's label over it
    gap, caption, head, bar, foot = 3, 12, 24, 24, 14 if title else 0
    width = max(cols * (w + gap) - gap, 160)
    canvas = Image.new("RGB", (width, head + rows * (h + caption + gap) + bar + foot), "white")
    draw = ImageDraw.Draw(canvas)
    colours = seismic(np.clip(maps / limit, -1.0, 1.0) * 0.5 + 0.5)
    order = np.argsort(-np.abs(contributions), kind="stable")
    for k, ch in enumerate(order):
        x, y = (k % cols) * (w + gap), head + (k // cols) * (h + caption + gap)
        canvas.paste(Image.fromarray(np.rint(colours[ch] * 255).astype(np.uint8)), (x, y))
        draw.text((x + 1, y + h), f"#{ch}: {100 * shares[ch]:.1f}%", fill="black")
    y = head + rows * (h + caption + gap)
    ramp = seismic(np.linspace(0.0, 1.0, width))
    strip = np.rint(np.broadcast_to(ramp, (8, width, 3)) * 255).astype(np.uint8)
    canvas.paste(Image.fromarray(np.ascontiguousarray(strip)), (0, y + 2))
    hi = f"+{limit:.2g}"
    draw.text((0, y + 11), f"-{limit:.2g}", fill="black")
    draw.text((width // 2 - 3, y + 11), "0", fill="black")
    draw.text((width - int(draw.textlength(hi)) - 1, y + 11), hi, fill="black")
    if title:
        draw.text((0, y + bar), f"{title}: colour scale shared with its twin",
                  fill="black")
    return np.asarray(canvas, dtype=np.float32) / 255.0


# --- the held-out study ------------------------------------------------------------------------


@dataclass
class StudyTable:
    """`training/study.py`'s result as strings ready for a table."""

    headers: list[str]
    rows: list[list[str]]
    caption: str


def _num(value: Any, fmt: str) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return format(value, fmt)
    return "–"


def _diff_cell(value: Any) -> str:
    if isinstance(value, dict):
        ci = value.get("ci95")
        text = _num(value.get("diff"), "+.2f")
        if isinstance(ci, (list, tuple)) and len(ci) == 2:
            text += f" [{_num(ci[0], '+.2f')}, {_num(ci[1], '+.2f')}]"
        return text
    return _num(value, "+.2f")


def study_table(models_dir: str | Path | None = None) -> StudyTable | None:
    """The RDSR study (`models/rdsr-study.json`) as rows: PSNR-Y per model and preset, then the
    twin differences with their 95% intervals; None when the study has not been written."""
    from sr_demo.models.zoo import models_dir as default_dir

    path = Path(models_dir if models_dir is not None else default_dir()) / STUDY_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return StudyTable(["model"], [], f"{path.name} could not be read ({exc}); run `{STUDY_COMMAND}` again.")
    presets = data.get("presets")
    presets = [str(p) for p in presets] if isinstance(presets, list) and presets else list(PRESETS)
    cols = [*presets, "mean"]
    rows = []
    psnr_y = data.get("psnr_y") if isinstance(data.get("psnr_y"), dict) else {}
    for model, values in psnr_y.items():
        values = values if isinstance(values, dict) else {}
        rows.append([str(model), "PSNR-Y (dB)", *(_num(values.get(c), ".2f") for c in cols)])
    pairs = data.get("pairs") if isinstance(data.get("pairs"), list) else []
    for pair in pairs:
        if not isinstance(pair, dict):
            continue
        label = f"{pair.get('model', '?')} − {pair.get('twin', '?')}"
        seed = pair.get("seed", pair.get("seeds"))
        if isinstance(seed, str):  # e.g. "mean of 2 seeds"
            label += f" ({seed})"
        elif seed is not None:
            label += f" (seed {', '.join(map(str, seed)) if isinstance(seed, (list, tuple)) else seed})"
        diff = pair.get("diff") if isinstance(pair.get("diff"), dict) else {}
        rows.append([label, "Δ PSNR-Y [95% CI]", *(_diff_cell(diff.get(c)) for c in cols)])
    photos = data.get("photos")
    n = len(photos) if isinstance(photos, list) else photos
    caption = (f"PSNR-Y (dB) at ×{data.get('scale', SCALE)} on {n if n is not None else 'the'} held-out crops under "
               "the RDSR presets, the same degradation seeds for every model (`training/study.py`). Δ rows: model "
               "minus twin, paired bootstrap 95% interval over photos"
               + (f" ({data['resamples']} resamples)" if isinstance(data.get("resamples"), int) else "")
               + "; an interval that contains 0 is within noise.")
    if data.get("note"):
        caption += f" Note: {data['note']}"
    return StudyTable(["model", "row", *cols], rows, caption)
