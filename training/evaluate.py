"""Measure trained models on the held-out split and publish them with their cards.

    python -m training.evaluate NAME [NAME ...] [--weights-from training/runs]
    python -m training.evaluate --study rdsr

`--study rdsr` runs the dropout study of `training/study.py` on the shipped
real-world models and the study-seed runs, and writes its table into
models/rdsr-study.{md,json}, README.md and the cards of the models in it.

For each NAME: the EMA weights of `training/runs/NAME/last.pt`, the held-out
photos (`data/heldout`, else the committed subset `examples/heldout`, with a
note), LR = MATLAB bicubic down-sampling (`imresize`, 8-bit) of the HR
mod-cropped to the scale; PSNR and SSIM on Y and RGB with `scale` border
pixels cropped (the SR protocol, `sr_demo.iqa`), for the model and for
bicubic up-sampling of the same LR.

The gate: a model is published only when its fp16 weights change held-out
PSNR-Y by less than 0.01 dB against fp32 and it beats bicubic at all; then
`models/NAME.safetensors` (fp16, BasicSR key layout), `models/NAME.json` and
`models/NAME.md` (the card: architecture, data and licences, degradation,
iterations, wall time, hardware, scores next to bicubic's, gain against the
target, commands, sha256) are written and README.md's zoo table (between
`<!-- zoo-table:start -->` and `<!-- zoo-table:end -->`) is regenerated
from the cards. Every number comes from a measurement or a file.

Real-world (Real-ESRGAN-trained) models are judged by their PSNR-Y gain over
bicubic averaged over the eight RDSR test presets (`RDSR_PRESETS`, fixed
seeds), not on clean bicubic LR. GAN fine-tunes (`adv_weight` > 0) are
judged by sharpness next to their L1 parent: the mean Sobel gradient
magnitude of the output's Y over the photo's (1 = as much fine detail as the
photo), with their PSNR drop against the parent and NIQE reported.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import cv2
import numpy as np
import torch

from sr_demo.degradations import RDSR_TEST_PRESETS, degrade, imresize, preset_spec
from sr_demo.imaging import rgb_to_y
from sr_demo.iqa import psnr, ssim
from sr_demo.models import zoo
from sr_demo.models.loader import LoadedModel, file_sha256, from_state_dict
from sr_demo.models.runner import upscale
from sr_demo.models.zoo import models_dir as default_models_dir
from sr_demo.resources import repo_file
from training.recipes import RECIPES, Recipe, get_recipe

ROOT = repo_file(".")
DEFAULT_RUNS = repo_file("training/runs")
DATA_HELDOUT = repo_file("data/heldout")
EXAMPLES_HELDOUT = repo_file("examples/heldout")
MANIFEST = repo_file("training/manifest.json")
README = repo_file("README.md")
START, END = "<!-- zoo-table:start -->", "<!-- zoo-table:end -->"
FP16_TOLERANCE_DB = 0.01
RDSR_PRESETS = RDSR_TEST_PRESETS
PROTOCOL = ("PSNR/SSIM per the SR protocol (sr_demo.iqa): [0,255] scale, `scale` border pixels cropped, "
            "BT.601 Y (16-235) and RGB; SR output clipped and rounded to 8 bit; "
            "LR = MATLAB bicubic imresize (antialiased) of the mod-cropped HR, rounded to 8 bit")


# --- inputs --------------------------------------------------------------------------------


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    return np.ascontiguousarray(bgr[:, :, ::-1]).astype(np.float32) / 255.0


def heldout_folder(folder: Path | None) -> tuple[Path, str]:
    """The held-out folder and a note on which one it is."""
    if folder is not None:
        return Path(folder), ""
    if sorted(DATA_HELDOUT.glob("*.png")):
        return DATA_HELDOUT, ""
    return EXAMPLES_HELDOUT, (
        "data/heldout is missing (build it: python -m training.build_dataset --out data); "
        "measured on the committed subset examples/heldout instead"
    )


def quantise(img: np.ndarray) -> np.ndarray:
    return (np.clip(np.round(img * 255.0), 0, 255) / 255.0).astype(np.float32)


def make_pairs(folder: Path, scale: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, HR mod-cropped, LR) for every PNG in `folder`."""
    pairs = []
    for p in sorted(Path(folder).glob("*.png")):
        hr = read_rgb(p)
        h, w = hr.shape[0] - hr.shape[0] % scale, hr.shape[1] - hr.shape[1] % scale
        hr = hr[:h, :w]
        pairs.append((p.name, hr, quantise(imresize(hr, scale=1 / scale))))
    if not pairs:
        raise SystemExit(f"no held-out images (*.png) in {folder}")
    return pairs


def preset_pairs(pairs, scale: int, preset: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """`make_pairs`' photos with the LR made by an RDSR test preset instead; photo i uses seed i,
    so every model sees the same LR."""
    spec = preset_spec(preset, scale)
    return [(name, hr, quantise(degrade(hr, spec, seed=i))) for i, (name, hr, _) in enumerate(pairs)]


# --- measuring ------------------------------------------------------------------------------


def scores(sr: np.ndarray, hr: np.ndarray, scale: int) -> dict[str, float]:
    return dict(
        psnr_y=psnr(sr, hr, scale, True), ssim_y=ssim(sr, hr, scale, True),
        psnr_rgb=psnr(sr, hr, scale, False), ssim_rgb=ssim(sr, hr, scale, False),
    )


def mean_scores(rows: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def as_model(name: str, arch: str, scale: int, arch_kwargs: dict, sd: dict[str, torch.Tensor]) -> LoadedModel:
    """Trained weights as the app's `LoadedModel` (strict load), so they are measured the way the app runs them."""
    return from_state_dict(name, arch, dict(arch_kwargs, scale=scale), sd, None, "run")


def run_model(model: LoadedModel, lr: np.ndarray, device: torch.device) -> np.ndarray:
    """The app's inference path (`runner.upscale`): untiled, fp32, 8-bit output."""
    return quantise(upscale(model, lr, device=str(device), tile=0, precision="fp32").sr)


def measure(model: LoadedModel, pairs, scale: int, device: torch.device) -> tuple[dict, list]:
    rows = [scores(run_model(model, lr, device), hr, scale) for _, hr, lr in pairs]
    return mean_scores(rows), rows


def measure_bicubic(pairs, scale: int) -> tuple[dict, list]:
    rows = [scores(quantise(imresize(lr, scale=scale)), hr, scale) for _, hr, lr in pairs]
    return mean_scores(rows), rows


def sharpness(sr: np.ndarray, hr: np.ndarray, scale: int) -> float:
    """Mean Sobel gradient magnitude of `sr`'s Y over `hr`'s, `scale` border pixels cropped.

    1 means as much fine detail as the photo; bicubic and L1-trained nets stay
    well below 1 (they average plausible textures away); GAN textures raise it."""
    def grad(img: np.ndarray) -> float:
        y = rgb_to_y(img)[scale:-scale, scale:-scale].astype(np.float64)
        gx, gy = cv2.Sobel(y, cv2.CV_64F, 1, 0, ksize=3), cv2.Sobel(y, cv2.CV_64F, 0, 1, ksize=3)
        return float(np.mean(np.hypot(gx, gy)))

    return grad(sr) / max(grad(hr), 1e-12)


def perceptual_rows(net: LoadedModel | None, pairs, scale: int, device: torch.device) -> dict[str, float]:
    """Mean sharpness ratio and NIQE of `net`'s outputs (bicubic when `net` is None)."""
    from sr_demo.iqa.niqe import niqe

    sharp, nat = [], []
    for _, hr, lr in pairs:
        sr = quantise(imresize(lr, scale=scale)) if net is None else run_model(net, lr, device)
        sharp.append(sharpness(sr, hr, scale))
        nat.append(niqe(sr, crop_border=scale))
    return dict(sharpness=float(np.mean(sharp)), niqe=float(np.mean(nat)))


def preset_scores(net: LoadedModel, clean_pairs, scale: int, device: torch.device) -> dict[str, dict]:
    """Mean PSNR-Y of `net` and of bicubic under each RDSR preset (the real-world models' measure)."""
    out = {}
    for preset in RDSR_PRESETS:
        pairs = preset_pairs(clean_pairs, scale, preset)
        out[preset] = dict(psnr_y=round(measure(net, pairs, scale, device)[0]["psnr_y"], 4),
                           bicubic_psnr_y=round(measure_bicubic(pairs, scale)[0]["psnr_y"], 4))
    return out


def load_parent(recipe: Recipe, weights_from: Path, models: Path) -> tuple[LoadedModel, str]:
    """The `init_from` parent, found as train.py finds it when the fine-tune starts (its complete run,
    else its shipped weights), so the card compares with what the fine-tune grew from."""
    from training.train import parent_weights

    sd, init = parent_weights(recipe, weights_from, models)
    parent = get_recipe(recipe.init_from)
    net = as_model(parent.name, parent.arch, parent.scale, parent.arch_kwargs, sd)
    return net, f"{init['path']} ({init['source']}, iteration {init['iteration']}, sha256 {init['sha256']})"


def gan_comparison(net, recipe: Recipe, pairs, model_scores: dict, weights_from: Path, models: Path,
                   device: torch.device) -> dict:
    """A GAN fine-tune next to its L1 parent and bicubic: PSNR/SSIM-Y, sharpness ratio, NIQE."""
    parent, source = load_parent(recipe, weights_from, models)
    parent_scores, _ = measure(parent, pairs, recipe.scale, device)
    rows = {recipe.name: dict(psnr_y=model_scores["psnr_y"], ssim_y=model_scores["ssim_y"],
                              **perceptual_rows(net, pairs, recipe.scale, device)),
            recipe.init_from: dict(psnr_y=parent_scores["psnr_y"], ssim_y=parent_scores["ssim_y"],
                                   **perceptual_rows(parent, pairs, recipe.scale, device)),
            "bicubic": dict(**{k: v for k, v in measure_bicubic(pairs, recipe.scale)[0].items()
                               if k in ("psnr_y", "ssim_y")}, **perceptual_rows(None, pairs, recipe.scale, device))}
    rows = {m: {k: round(v, 4) for k, v in r.items()} for m, r in rows.items()}
    mine, par = rows[recipe.name], rows[recipe.init_from]
    return dict(parent=recipe.init_from, parent_source=source, rows=rows,
                psnr_drop_db=round(par["psnr_y"] - mine["psnr_y"], 4),
                sharpness_gain=round(mine["sharpness"] - par["sharpness"], 4),
                target_sharpness_gain=recipe.target_sharpness_gain)


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda":
        # fp32 measurements: no TF32 shortcuts in convolutions or matmuls
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    return torch.device(device)


# --- provenance --------------------------------------------------------------------------------


def data_summary(train_dir: Path, heldout_dir: Path) -> dict:
    """Counts and licences of the photos behind the PNGs actually in the
    training and held-out folders (matched by name to `dataset.json`)."""
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    by_id = {p["id"]: p for p in manifest["photos"]}
    out: dict = dict(manifest="training/manifest.json", packages=manifest.get("packages", {}),
                     train_folder=_rel(train_dir), heldout_folder=_rel(heldout_dir))
    dataset_json = ROOT / "data" / "dataset.json"
    entries = {}
    if dataset_json.is_file():
        entries = {Path(f["file"]).name: f for f in json.loads(dataset_json.read_text(encoding="utf-8"))["files"]}
    for split, folder in (("train", train_dir), ("heldout", heldout_dir)):
        names = sorted(p.name for p in Path(folder).glob("*.png"))
        known = [entries[n] for n in names if n in entries]
        photos = sorted({f["photo"] for f in known})
        out[split] = dict(
            crops=len(names),
            photos=len(photos),
            kinds=dict(Counter(f["kind"] for f in known)),
            licences=dict(Counter(by_id[p]["licence"] for p in photos if p in by_id).most_common()),
            packages=dict(Counter(by_id[p]["package"] for p in photos if p in by_id).most_common()),
        )
        if len(known) < len(names):
            out[split]["unlisted_crops"] = len(names) - len(known)  # not in data/dataset.json
    return out


def weights_licence(data: dict) -> str:
    """The weights' licence line, naming every licence among the training photos."""
    lic = list((data.get("train") or {}).get("licences", {}))
    named = "/".join(lic) if lic else "see training/manifest.json"
    return f"CC-BY-SA-4.0 (trained on {named} photos; see card)"


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# --- the cards ---------------------------------------------------------------------------------


def _f(x: float, nd: int = 2) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def card_markdown(c: dict) -> str:
    m, b = c["heldout_scores"], c["bicubic_scores"]
    met = "met" if c["target_met"] else "**NOT met**"
    tr, ho = c["data"].get("train", {}), c["data"].get("heldout", {})
    lines = [
        f"# {c['name']}",
        "",
        c.get("description", ""),
        "",
        f"- Architecture: `{c['arch']}` {json.dumps(c['arch_kwargs'])}, x{c['scale']}, {c['params']:,} parameters",
        f"- Weights: `{c['weights']}` ({c['weights_dtype']}, BasicSR key layout), sha256 `{c['sha256']}`",
        f"- Weights licence: {c['licence']}",
        f"- Training degradation: {c['training']} (preset `{c['degradation']['preset']}`): "
        + json.dumps(c["degradation"]["spec"]),
        f"- Training: {c['iterations']:,} iterations of a {c['schedule_iters']:,}-iteration schedule, batch "
        f"{c['recipe']['batch']} of {c['recipe']['lr_patch']}x{c['recipe']['lr_patch']} LR crops, L1, Adam "
        f"lr {c['recipe']['lr']:g} (warm-up {c['recipe']['warmup']}, cosine), EMA {c['recipe']['ema_decay']}",
        *([f"- Fine-tuned from: `{c['init']['parent']}` ({c['init'].get('source')}: {c['init'].get('path')}, "
           f"iteration {c['init'].get('iteration')}, sha256 `{c['init'].get('sha256')}`); adversarial weight "
           f"{c['recipe'].get('adv_weight')} against a U-Net discriminator trained alongside"] if c.get("init") else []),
        f"- Wall time of training: {c['wall_time_s']:.0f} s on {'; '.join(c['hardware'])}",
        f"- Training data: {tr.get('crops', '?')} crops in `{c['data']['train_folder']}` of {tr.get('photos', '?')} photos "
        f"({json.dumps(tr.get('kinds', {}))}) from Debian packages {', '.join(tr.get('packages', {}))}; "
        f"licences {json.dumps(tr.get('licences', {}))}; every photo's licence and credit is in "
        f"`training/manifest.json`",
        f"- Held-out split: {c['heldout']['images']} crops in `{c['heldout']['folder']}`"
        + (f" ({ho.get('photos')} photos, held out by photo; licences {json.dumps(ho.get('licences', {}))})" if ho else "")
        + (f". Note: {c['heldout']['note']}" if c["heldout"]["note"] else ""),
        "",
        f"## Held-out results ({c['heldout']['images']} images)",
        "",
        "| | PSNR-Y (dB) | SSIM-Y | PSNR-RGB (dB) | SSIM-RGB |",
        "|---|---|---|---|---|",
        f"| {c['name']} | {_f(m['psnr_y'])} | {_f(m['ssim_y'], 4)} | {_f(m['psnr_rgb'])} | {_f(m['ssim_rgb'], 4)} |",
        f"| bicubic | {_f(b['psnr_y'])} | {_f(b['ssim_y'], 4)} | {_f(b['psnr_rgb'])} | {_f(b['ssim_rgb'], 4)} |",
        "",
        *_preset_section(c),
        *_gan_section(c),
        *_study_section(c),
        f"Gain over bicubic: {c['gain_db']:+.2f} dB PSNR-Y"
        + (f" ({c['gain_basis']})" if c.get("gain_basis") else "") + f"; target {c['target_gain_db']:+.2f} dB"
        + (f" and a sharpness gain of {c['gan']['target_sharpness_gain']:+.2f} over {c['gan']['parent']}"
           if c.get("gan") else "") + f": {met}."
        + ("" if c["target_met"] else " `python -m training.run_pending` continues training this model."),
        f"fp16 weights vs fp32: PSNR-Y differs by {c['fp16_psnr_y_delta_db']:.4f} dB (gate < {FP16_TOLERANCE_DB} dB).",
        "",
        f"Protocol: {c['protocol']}.",
        "",
        "## Commands",
        "",
        "```",
        *c["commands"],
        "```",
        "",
        f"Evaluated {c['evaluated']} with torch {c['torch']}.",
        "",
    ]
    return "\n".join(lines)


def _preset_section(c: dict) -> list[str]:
    """The real-world models' measure: PSNR-Y under each RDSR preset."""
    rows = c.get("preset_scores")
    if not rows:
        return []
    lines = ["Under the eight RDSR test presets (x4, same held-out crops, photo i degraded with seed i):", "",
             "| preset | " + " | ".join(rows) + " |", "|---|" + "---:|" * len(rows)]
    for key, label in (("psnr_y", c["name"]), ("bicubic_psnr_y", "bicubic")):
        lines.append(f"| {label} | " + " | ".join(_f(v[key]) for v in rows.values()) + " |")
    return lines + [""]


def _gan_section(c: dict) -> list[str]:
    """A GAN fine-tune next to its L1 parent: what it gains in sharpness, what it costs in PSNR."""
    g = c.get("gan")
    if not g:
        return []
    lines = [f"Next to its L1 parent `{g['parent']}` ({g['parent_source']}); sharpness = mean Sobel gradient "
             "magnitude of the output's Y over the photo's (1 = as much detail as the photo); NIQE lower = more "
             "natural (pristine model of training/fit_niqe.py):", "",
             "| | PSNR-Y (dB) | SSIM-Y | sharpness | NIQE |", "|---|---|---|---|---|"]
    for m, r in g["rows"].items():
        lines.append(f"| {m} | {_f(r['psnr_y'])} | {_f(r['ssim_y'], 4)} | {_f(r['sharpness'], 3)} | {_f(r['niqe'])} |")
    return lines + ["", f"PSNR-Y drop against the parent: {g['psnr_drop_db']:.2f} dB; sharpness gain "
                        f"{g['sharpness_gain']:+.3f}.", ""]


def _study_section(c: dict) -> list[str]:
    """The model's rows of the RDSR dropout study (written by study.py's `evaluate.py --study rdsr`)."""
    st = c.get("rdsr_study")
    if not st:
        return []
    cols = [k for k in st["psnr_y"] if k != "mean"] + ["mean"]
    lines = [f"RDSR dropout study (`{st['command']}`; table in README.md and models/rdsr-study.md), PSNR-Y (dB):", "",
             "| | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols),
             f"| {c['name']} | " + " | ".join(_f(st["psnr_y"][k]) for k in cols) + " |",
             "| bicubic | " + " | ".join(_f(st["bicubic"][k]) for k in cols) + " |"]
    for p in st["pairs"]:
        d = p["diff"]["mean"]
        lines.append(f"- {p['model']} minus {p['twin']} (seed {p['seed']}), mean over presets: {d['diff']:+.2f} dB, "
                     f"paired bootstrap 95% interval [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]")
    return lines + [""]


def zoo_table(models: Path) -> str:
    """README's zoo section body, generated from every card in `models`, in-house and published, in zoo order."""
    cards = [json.loads(path.read_text(encoding="utf-8"))
             for path in (Path(models) / f"{e.name}.json" for e in zoo.ZOO) if path.is_file()]
    published = [c for c in cards if c.get("kind") == "published"]
    lines = [
        "The interpolation baselines `nearest-xS`, `bicubic-xS` (MATLAB `imresize`) and `lanczos-xS` (Lanczos-3)",
        "serve S in 2, 3, 4, 16. Every learned weight SR Lab ships is trained by `training/` on photographs",
        "from Debian packages and measured by `python -m training.evaluate` on held-out photos (PSNR/SSIM-Y, `scale`",
        "border pixels cropped, next to bicubic on the same LR); its card is `models/NAME.md`.",
        "",
        *_inhouse_rows([c for c in cards if c.get("kind") != "published"]),
    ]
    if published:
        lines += ["", *_published_rows(published)]
    return "\n".join(lines)


def _inhouse_rows(cards: list[dict]) -> list[str]:
    if not cards:
        return ["No learned model has been trained and evaluated yet."]
    lines = [
        "| model | params | training | iterations | held-out PSNR-Y | bicubic | gain (target) | SSIM-Y | card |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in cards:
        m, b = c["heldout_scores"], c["bicubic_scores"]
        model_psnr, bic_psnr, training = m["psnr_y"], b["psnr_y"], c["training"]
        if c.get("preset_scores"):  # real-world models: means over the eight RDSR presets
            model_psnr = float(np.mean([v["psnr_y"] for v in c["preset_scores"].values()]))
            bic_psnr = float(np.mean([v["bicubic_psnr_y"] for v in c["preset_scores"].values()]))
            training += " (8 presets\\*)"
        flag = "" if c["target_met"] else " not met"
        gan = f", sharpness {c['gan']['sharpness_gain']:+.2f} vs parent" if c.get("gan") else ""
        lines.append(
            f"| `{c['name']}` | {c['params']:,} | {training} | {c['iterations']:,} | {_f(model_psnr)} | "
            f"{_f(bic_psnr)} | {c['gain_db']:+.2f} ({c['target_gain_db']:+.1f}{flag}{gan}) | {_f(m['ssim_y'], 4)} | "
            f"[{c['name']}.md](models/{c['name']}.md) |"
        )
    if any(c.get("preset_scores") for c in cards):
        lines += ["", "\\* PSNR-Y and gain are means over the eight RDSR test presets (see the dropout study below)."]
    return lines


def _published_rows(cards: list[dict]) -> list[str]:
    """Published weights (registry packages, converted by SR Lab's readers), as `training.published_cards` measured them."""
    heldout = cards[0]["heldout"]
    lines = ["Published weights from registry packages, converted by SR Lab's own readers, are measured by",
             "`python -m training.published_cards` through the app's runner on "
             f"{heldout['images']} held-out crops (`{heldout['folder']}`)",
             "under the eight RDSR test presets (fixed seeds), next to bicubic on the same LR; PSNR-Y in dB. CPU s:",
             "the runner on a 128x128 LR input, median of 3 (threads and machine load in each card).", "",
             "| model | params | trained for | package (licence) | stored as | clean PSNR-Y | bicubic | "
             "8-preset PSNR-Y | bicubic | CPU s | card |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cards:
        src, clean, mean, cpu = c["source"], c["presets"]["clean"], c["preset_mean"], c["cpu"]
        package = src.get("package", src.get("file", ""))
        lines.append(
            f"| `{c['name']}` | {c['params']:,} | {c['group']} | `{package}` ({src.get('package_licence', c['licence'])}) "
            f"| {c['storage']['summary']} | {_f(clean['psnr_y'])} | {_f(clean['bicubic_psnr_y'])} | "
            f"{_f(mean['psnr_y'])} | {_f(mean['bicubic_psnr_y'])} | {cpu['median_s']:.2f} | "
            f"[{c['name']}.md](models/{c['name']}.md) |")
    return lines


def replace_section(readme: Path, start: str, end: str, body: str, what: str) -> bool:
    """Replace the text between the `start` and `end` markers with `body` (which ends with a newline);
    False (and a note naming `what`) when the markers are missing."""
    text = readme.read_text(encoding="utf-8")
    if start not in text or end not in text:
        print(f"{readme}: no {start} ... {end} markers; {what} not written", file=sys.stderr)
        return False
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{body}{end}{tail}", encoding="utf-8")
    return True


def update_readme(readme: Path, models: Path) -> bool:
    """README's zoo table regenerated from the cards in `models`."""
    return replace_section(readme, START, END, zoo_table(models) + "\n", "zoo table")


# --- one model -------------------------------------------------------------------------------------


def _spec_dict(recipe: Recipe) -> dict:
    spec = preset_spec(recipe.preset, recipe.scale).to_dict()
    if spec.get("pipeline") == "classic":
        spec.pop("realesrgan", None)  # unused by the classic pipeline
    return spec


def better(prev: dict, card: dict) -> bool:
    """Is the published card `prev` better than the new one? A GAN fine-tune trades PSNR for
    sharpness, so it is ranked by target first, then sharpness gain; the rest by PSNR gain."""
    if card.get("gan") and prev.get("gan"):
        return (prev["target_met"], prev["gan"]["sharpness_gain"]) > (card["target_met"], card["gan"]["sharpness_gain"])
    return prev["gain_db"] > card["gain_db"] + 0.005


def load_run(name: str, weights_from: Path) -> dict:
    path = Path(weights_from) / name / "last.pt"
    if not path.is_file():
        raise SystemExit(f"{name}: no checkpoint {path}; train it first: python -m training.train {name}")
    return torch.load(path, map_location="cpu", weights_only=False)


def evaluate(recipe: Recipe, *, weights_from: Path = DEFAULT_RUNS, models: Path | None = None,
             heldout: Path | None = None, readme: Path | None = README, device: str = "auto",
             command: str = "", require_gain: bool = True) -> dict:
    """Measure `recipe`'s trained EMA weights; publish them when they pass the gate.

    `require_gain=False` drops the better-than-bicubic condition (tests of the
    card writer use untrained toy models). Returns the card (with `published`
    True/False and the `gate` reasons)."""
    models = Path(models) if models is not None else default_models_dir()
    dev = resolve_device(device)
    ck = load_run(recipe.name, weights_from)
    if ck["recipe"]["arch"] != recipe.arch or ck["recipe"]["arch_kwargs"] != dict(recipe.arch_kwargs):
        raise SystemExit(f"{recipe.name}: checkpoint network differs from the recipe")
    folder, note = heldout_folder(heldout)
    if note:
        print(f"{recipe.name}: note: {note}")
    pairs = make_pairs(folder, recipe.scale)

    sd32 = {k: v.float().contiguous() for k, v in ck["ema"].items()}
    sd16 = {k: v.half().contiguous() for k, v in sd32.items()}
    net = as_model(recipe.name, recipe.arch, recipe.scale, recipe.arch_kwargs, sd32)
    fp32, _ = measure(net, pairs, recipe.scale, dev)
    net.module.load_state_dict(sd16, strict=True)  # upcast into the fp32 module: exactly what ships
    model_scores, rows = measure(net, pairs, recipe.scale, dev)
    bic_scores, bic_rows = measure_bicubic(pairs, recipe.scale)
    gain = model_scores["psnr_y"] - bic_scores["psnr_y"]
    extra = {}
    if recipe.training == "realesrgan":
        extra["preset_scores"] = preset_scores(net, pairs, recipe.scale, dev)
        gain = float(np.mean([v["psnr_y"] - v["bicubic_psnr_y"] for v in extra["preset_scores"].values()]))
        extra["gain_basis"] = f"mean PSNR-Y gain over bicubic under the {len(RDSR_PRESETS)} RDSR presets"
    target_met = gain >= recipe.target_gain_db
    if recipe.adv_weight > 0:
        extra["gan"] = gan_comparison(net, recipe, pairs, model_scores, weights_from, models, dev)
        target_met = target_met and extra["gan"]["sharpness_gain"] >= recipe.target_sharpness_gain
    delta = abs(model_scores["psnr_y"] - fp32["psnr_y"])
    params = net.params

    history = ck.get("history", [])
    train_dir = ROOT / history[-1]["data"] if history and history[-1].get("data") else ROOT / "data" / "train"
    data = data_summary(train_dir, folder)
    eval_cmd = command or " ".join(shlex.quote(a) for a in ["python", "-m", "training.evaluate", recipe.name])
    card = dict(
        name=recipe.name, description=recipe.description, arch=recipe.arch, arch_kwargs=dict(recipe.arch_kwargs),
        scale=recipe.scale, params=params, training=recipe.training,
        degradation=dict(preset=recipe.preset, spec=_spec_dict(recipe)),
        recipe={k: v for k, v in recipe.to_dict().items() if k in ("batch", "lr_patch", "lr", "warmup", "min_lr_ratio", "ema_decay", "adv_weight")}
        | {"batch": history[-1]["batch"] if history else recipe.batch, "lr_patch": history[-1]["lr_patch"] if history else recipe.lr_patch},
        iterations=int(ck["iteration"]), schedule_iters=int(ck["total_iters"]), wall_time_s=round(float(ck["elapsed"]), 1),
        hardware=sorted({h["hardware"] for h in history}) or ["unknown"],
        slices=[{k: h[k] for k in ("start_iteration", "end_iteration", "seconds", "hardware", "started")} for h in history],
        data=data, licence=weights_licence(data),
        heldout=dict(folder=_rel(folder), images=len(pairs), note=note),
        heldout_scores={k: round(v, 4) for k, v in model_scores.items()},
        bicubic_scores={k: round(v, 4) for k, v in bic_scores.items()},
        psnr_y=round(model_scores["psnr_y"], 4), ssim_y=round(model_scores["ssim_y"], 4),
        bicubic_psnr_y=round(bic_scores["psnr_y"], 4), bicubic_ssim_y=round(bic_scores["ssim_y"], 4),
        gain_db=round(gain, 4), target_gain_db=recipe.target_gain_db, target_met=bool(target_met), **extra,
        fp16_psnr_y_delta_db=round(delta, 6),
        per_image_psnr_y={n: [round(r["psnr_y"], 3), round(b["psnr_y"], 3)] for (n, _, _), r, b in zip(pairs, rows, bic_rows)},
        protocol=PROTOCOL,
        init=ck.get("init"),
        commands=[h["command"] for h in history if h.get("command")] + [eval_cmd],
        weights=f"{recipe.name}.safetensors", weights_dtype="float16",
        evaluated=datetime.now(timezone.utc).isoformat(timespec="seconds"), torch=torch.__version__,
        eval_device=str(dev),
    )
    gate = []
    if delta >= FP16_TOLERANCE_DB:
        gate.append(f"fp16 weights change PSNR-Y by {delta:.4f} dB (>= {FP16_TOLERANCE_DB})")
    if require_gain and not gain > 0:
        gate.append(f"no better than bicubic ({gain:+.2f} dB)")
    old = models / f"{recipe.name}.json"
    if old.is_file():  # never replace a better published measurement (e.g. mid-way through a warm restart)
        prev = json.loads(old.read_text(encoding="utf-8"))
        same_net = prev.get("arch") == recipe.arch and prev.get("arch_kwargs") == dict(recipe.arch_kwargs)
        if same_net and prev.get("heldout", {}).get("folder") == _rel(folder) and better(prev, card):
            gate.append(f"the published card is better ({prev['gain_db']:+.3f} dB at {prev['iterations']} iterations)")
    card["published"] = not gate
    card["gate"] = gate
    run_card = Path(weights_from) / recipe.name / "eval.json"
    run_card.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    summary = (f"{recipe.name}: held-out PSNR-Y {model_scores['psnr_y']:.3f} dB vs bicubic {bic_scores['psnr_y']:.3f} "
               f"(gain {gain:+.3f}, target {recipe.target_gain_db:+.1f}: {'met' if card['target_met'] else 'NOT met'}); "
               f"SSIM-Y {model_scores['ssim_y']:.4f} vs {bic_scores['ssim_y']:.4f}; fp16 delta {delta:.5f} dB; "
               f"{card['iterations']} iterations, {card['wall_time_s']:.0f} s; {len(pairs)} images in {_rel(folder)}")
    print(summary)
    if gate:
        print(f"{recipe.name}: NOT published: {'; '.join(gate)} (measurements in {run_card})")
        return card

    from safetensors.torch import save_file

    models.mkdir(parents=True, exist_ok=True)
    weights = models / card["weights"]
    save_file(sd16, str(weights), metadata={"name": recipe.name, "arch": recipe.arch,
                                           "arch_kwargs": json.dumps(dict(recipe.arch_kwargs)),
                                           "scale": str(recipe.scale), "format": "pt"})
    weights.chmod(0o644)  # safetensors writes 0600
    card["sha256"] = file_sha256(weights)
    card["weights_bytes"] = weights.stat().st_size
    (models / f"{recipe.name}.json").write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    (models / f"{recipe.name}.md").write_text(card_markdown(card), encoding="utf-8")
    print(f"{recipe.name}: published {weights} ({card['weights_bytes']} bytes, sha256 {card['sha256']}) "
          f"and its card {models / (recipe.name + '.md')}")
    print(f"{recipe.name}: pin it in sr_demo/models/zoo.py (_INHOUSE):\n{zoo_entry_source(recipe, card['sha256'])}")
    if readme is not None:
        update_readme(Path(readme), models)
    return card


def zoo_entry_source(recipe: Recipe, sha256: str) -> str:
    """The `_inhouse(...)` line of `sr_demo/models/zoo.py` that pins the published weights' sha256."""
    e = recipe.entry
    extra = "".join(f", {k}={getattr(e, k)!r}" for k in ("twin_of", "paper") if getattr(e, k))
    return (f"    _inhouse({e.name!r}, {e.arch!r}, {e.scale}, {dict(e.arch_kwargs)!r}, {e.group!r},\n"
            f"             {e.description!r},\n             sha256={sha256!r}{extra}),")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"recipes: {', '.join(RECIPES)}")
    ap.add_argument("--study", choices=("rdsr",), help="run a study on the shipped models instead (see study.py)")
    ap.add_argument("--weights-from", type=Path, default=DEFAULT_RUNS, help="run folders (default training/runs)")
    ap.add_argument("--models-dir", type=Path, help="where weights and cards go (default: sr_demo's models dir)")
    ap.add_argument("--heldout", type=Path, help="held-out PNG folder (default data/heldout, else examples/heldout)")
    ap.add_argument("--readme", type=Path, default=README, help="README whose zoo table is regenerated")
    ap.add_argument("--no-readme", action="store_true", help="leave README alone")
    ap.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    if args.study:
        from training import study

        study.run_rdsr(args.models_dir, args.weights_from, args.heldout, str(resolve_device(args.device)),
                       None if args.no_readme else args.readme)
        return 0
    if not args.names:
        raise SystemExit("name at least one model, or pass --study rdsr")
    rc = 0
    for name in args.names:
        command = " ".join(shlex.quote(a) for a in ["python", "-m", "training.evaluate", name,
                                                      *[a for a in argv if a not in args.names]])
        card = evaluate(get_recipe(name), weights_from=args.weights_from, models=args.models_dir,
                        heldout=args.heldout, readme=None if args.no_readme else args.readme,
                        device=args.device, command=command)
        rc = rc or (0 if card["published"] else 1)
    return rc


if __name__ == "__main__":
    sys.exit(main())
