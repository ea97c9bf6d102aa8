"""Measure the in-house SWDN and its ablations on held-out photos; ship the weights with their card.

    python -m training.evaluate_swdn [--ship swdn] [--variants swdn maxpool nowarp] [--stride N] [--head] [--cross]

For every held-out photo (`data/heldout`, else `examples/heldout`; never the
training split) and every degradation type of `KINDS`: the four of
`train_swdn.LEVELS` and Real-ESRGAN's second-order pipeline at five strengths
(`realesrgan_levels`), which no SWDN is trained on:

* SRCC and PLCC (plain Pearson, no logistic fit) between degradation level
  (1..5) and each metric's *badness* (SWDN distance, -PSNR-Y, -SSIM-Y),
  pooled over all photos and levels of that type;
* the shift ratio: the score change caused by moving the distorted image by
  1 px (mean of a horizontal and a vertical move; a real content shift cut
  from the photo) over the change caused by JPEG quality 90, both from the
  identical pair. PSNR is infinite for identical images, so its row uses MSE
  (PSNR's own quantity); SSIM uses 1 - SSIM.

The same for both ablations and for the SWDN architecture with its random
initial weights (a random network is shift-tolerant too; the ablations show
which layers do the work). The shipped variant's weights go to
`models/swdn-inhouse.safetensors` (fp16 when that changes no score by more
than 1e-3 relative), its card to `models/swdn-inhouse.json` and `.md`, with
these numbers and the commands that produced them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import torch

from sr_demo.degradations.spec import RealESRGANConfig
from sr_demo.iqa.agreement import pearson, spearman
from sr_demo.iqa.fidelity import psnr, ssim
from sr_demo.iqa.swdn import SWDN, load_swdn, save_swdn
from sr_demo.resources import repo_file
from training.train_swdn import (
    LEVELS,
    MARGIN,
    RUNS,
    VARIANTS,
    distort,
    load_photos,
    run_tag,
    window,
)

ROOT = repo_file(".")
MODELS = repo_file("models")
TARGETS = {"srcc": 0.9, "shift_ratio": 0.25}
#: Degradation types of the evaluation: the four SWDN is trained on, then Real-ESRGAN's second order (held out).
KINDS = (*LEVELS, "realesrgan")
#: Real-ESRGAN level k: every range of its default configuration shrunk toward its mild end by this fraction.
REALESRGAN_STRENGTHS = (0.2, 0.4, 0.6, 0.8, 1.0)


def realesrgan_config(strength: float) -> RealESRGANConfig:
    """Real-ESRGAN's ranges (train_realesrnet_x4plus.yml) pulled toward no blur, no resize, no noise and
    JPEG q95; 1.0 is the default configuration. One seed draws the same choices at every strength, so the
    levels of one photo differ in strength, not in which operations they got."""
    default, fields = RealESRGANConfig(), {}
    for sfx in ("", "2"):
        lo, hi = getattr(default, "blur_sigma" + sfx)
        fields["blur_sigma" + sfx] = (lo, lo + strength * (hi - lo))
        lo, hi = getattr(default, "resize_range" + sfx)
        fields["resize_range" + sfx] = (1 - strength * (1 - lo), 1 + strength * (hi - 1))
        for name in ("noise_range", "poisson_scale_range"):
            lo, hi = getattr(default, name + sfx)
            fields[name + sfx] = (strength * lo, lo + strength * (hi - lo))
        lo, hi = getattr(default, "jpeg_range" + sfx)
        fields["jpeg_range" + sfx] = (round(hi - strength * (hi - lo)), hi)
    return replace(default, **fields)


def realesrgan_levels(photo: np.ndarray, seed: int) -> list[np.ndarray]:
    """`photo` through the app's Real-ESRGAN second-order pipeline at scale 1 (same size), five strengths."""
    from sr_demo.degradations.pipeline import degrade
    from sr_demo.degradations.spec import DegradationSpec

    return [degrade(photo, DegradationSpec(scale=1, pipeline="realesrgan", realesrgan=realesrgan_config(t)), seed)
            for t in REALESRGAN_STRENGTHS]


def _t(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]


def classic(kind: str):
    """Badness of a classic metric on a batch: what grows as the image gets worse."""
    one = {"psnr_y": lambda d, r: -psnr(d, r), "mse_y": lambda d, r: 10 ** (-psnr(d, r) / 10),
           "ssim_y": lambda d, r: 1.0 - ssim(d, r)}[kind]
    return lambda dists, ref: [one(d, ref) for d in dists]


def swdn_badness(model: SWDN):
    """SWDN distances of a batch of distorted images to one reference (its features computed once)."""
    @torch.no_grad()
    def fn(dists: list[np.ndarray], ref: np.ndarray) -> list[float]:
        ref_f = model.features(_t(ref))
        out = []
        for i in range(0, len(dists), 8):
            batch = torch.cat([_t(d) for d in dists[i:i + 8]])
            out += model.distance_from_features([f.expand(len(batch), -1, -1, -1) for f in ref_f],
                                                model.features(batch)).tolist()
        return out

    return fn


def prepare(photos: list[np.ndarray]) -> list[dict]:
    """Every distorted image of the evaluation, made once: levels per type, 1-px shifts, JPEG q90.
    Real-ESRGAN's levels are seeded by the photo's index, apart from `rng`: the other types' images stay as
    they were before that type was added."""
    rng = np.random.default_rng(0)
    items = []
    for index, photo in enumerate(photos):
        size = min(photo.shape[:2]) - 2 * MARGIN
        levels = {k: [window(distort(photo, k, i, rng), size) for i in range(5)] for k in LEVELS}
        levels["realesrgan"] = [window(d, size) for d in realesrgan_levels(photo, index)]
        items.append({"ref": window(photo, size),
                      "levels": levels,
                      "shifts": [window(photo, size, 1, 0), window(photo, size, 0, 1)],
                      "jpeg90": window(distort(photo, "jpeg", 0, rng), size)})
    return items


def measure(fn, items: list[dict], shift_fn=None) -> dict:
    """SRCC/PLCC per type and the 1-px-shift / JPEG-q90 ratio for one batch badness function."""
    shift_fn = shift_fn or fn
    levels = {k: [] for k in KINDS}
    scores = {k: [] for k in KINDS}
    per_image = {k: [] for k in KINDS}
    shifts, jpegs = [], []
    for item in items:
        kinds = list(KINDS)
        flat = [img for k in kinds for img in item["levels"][k]]
        values = fn(flat, item["ref"])
        for j, k in enumerate(kinds):
            levels[k] += [1, 2, 3, 4, 5]
            scores[k] += values[5 * j:5 * j + 5]
            per_image[k].append(spearman([1, 2, 3, 4, 5], values[5 * j:5 * j + 5]))
        base, s1, s2, jp = shift_fn([item["ref"], *item["shifts"], item["jpeg90"]], item["ref"])
        shifts.append((s1 + s2) / 2 - base)
        jpegs.append(jp - base)
    out: dict = {"srcc": {k: spearman(levels[k], scores[k]) for k in KINDS},
                 "plcc": {k: pearson(levels[k], scores[k]) for k in KINDS}}
    out["shift_change"], out["jpeg90_change"] = float(np.mean(shifts)), float(np.mean(jpegs))
    out["shift_ratio"] = out["shift_change"] / out["jpeg90_change"]
    out["shift_ratio_median"] = float(np.median(np.array(shifts) / np.array(jpegs)))
    out["min_srcc"] = min(out["srcc"].values())
    out["srcc_per_image"] = {k: float(np.mean(v)) for k, v in per_image.items()}
    return out


def load_run(variant: str, tag: str = "-log") -> tuple[SWDN, dict]:
    path = RUNS / f"swdn-{variant}{tag}" / "last.pt"
    if not path.is_file():
        raise SystemExit(f"No checkpoint {path}: train it with `python -m training.train_swdn` first.")
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = SWDN(VARIANTS[variant])
    model.load_state_dict(state["model"])
    return model.eval().requires_grad_(False), state


def ship(model: SWDN, state: dict, results: dict, photos: list[np.ndarray], n_train: int, commands: list[str]) -> None:
    MODELS.mkdir(exist_ok=True)
    weights = MODELS / "swdn-inhouse.safetensors"
    ref_photo = photos[0]
    size = min(ref_photo.shape[:2]) - 2 * MARGIN
    probe = [(window(distort(ref_photo, k, 2, np.random.default_rng(1)), size), window(ref_photo, size))
             for k in LEVELS]
    full = [swdn_badness(model)([d], r)[0] for d, r in probe]
    save_swdn(model, weights, half=True)
    half = [swdn_badness(load_swdn(weights))([d], r)[0] for d, r in probe]
    fp16_change = max(abs(a - b) / max(abs(a), 1e-12) for a, b in zip(full, half))
    if fp16_change > 1e-3:
        save_swdn(model, weights, half=False)
    device = state["slices"][-1]["device"]
    card = {
        "name": "swdn-inhouse",
        "label": "in-house weights, not PIPAL-trained" + ("; CPU-trained (smallest honest version)"
                                                          if device == "cpu" else ""),
        "architecture": {"widths": list(model.config.widths), "pool": model.config.pool,
                         "radii": list(model.config.radii),
                         "params": sum(p.numel() for p in model.parameters())},
        "objective": ("2AFC ranking of 4 degradation types x 5 levels of random crops of train photos; a merely "
                      "shifted clean copy ranks above every degraded one; two 0-2 px shifts of one degraded image "
                      "are the same quality (target 1/2)"
                      + ("; levels also ranked across the photos of a batch (one type per batch)"
                         if state["config"].get("cross") else "") + ". The head compares "
                      + ("log-distances (only ratios matter)" if state["config"].get("head") == "log"
                         else "distances") + ". See training/train_swdn.py."),
        "data": {"train_photos": n_train, "train_split": "data/train (training/build_dataset.py)",
                 "heldout_images": len(photos),
                 "heldout_split": "data/heldout (else examples/heldout), every --stride-th crop"},
        "training": {"steps": state["step"], "seconds": round(state["seconds"], 1),
                     "config": state["config"], "slices": state["slices"]},
        "device": device,
        "precision": "fp16" if fp16_change <= 1e-3 else "fp32",
        "fp16_max_relative_change": fp16_change,
        "weights": weights.name,
        "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "bytes": weights.stat().st_size,
        "evaluation": results,
        "targets": TARGETS,
        "passes": {"srcc": results["swdn"]["min_srcc"] >= TARGETS["srcc"],
                   "shift_ratio": results["swdn"]["shift_ratio"] <= TARGETS["shift_ratio"]},
        "commands": commands,
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    (MODELS / "swdn-inhouse.json").write_text(json.dumps(card, indent=2) + "\n")
    (MODELS / "swdn-inhouse.md").write_text(card_markdown(card))
    print(f"wrote {weights} ({card['bytes']} bytes, {card['precision']}) and its card")


def results_table(results: dict) -> str:
    kinds = list(KINDS)
    head = ("| metric | " + " | ".join(f"SRCC {k}" for k in kinds) + " | " + " | ".join(f"PLCC {k}" for k in kinds)
            + " | per-image SRCC (min) | 1-px shift / JPEG q90 |")
    lines = [head, "|" + "---|" * (2 * len(kinds) + 3)]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{r['srcc'][k]:.3f}" for k in kinds) + " | "
                     + " | ".join(f"{r['plcc'][k]:.3f}" for k in kinds)
                     + f" | {min(r['srcc_per_image'].values()):.3f} | {r['shift_ratio']:.3f} |")
    return "\n".join(lines)


def card_markdown(card: dict) -> str:
    t = card["training"]
    return f"""# swdn-inhouse ({card['label']})

SWDN after PIPAL (arXiv:2011.15002): L2-pooling backbone {card['architecture']['widths']}, space-warping radii
{card['architecture']['radii']}, {card['architecture']['params']:,} parameters, {card['precision']} weights
({card['bytes']:,} bytes, sha256 `{card['sha256']}`). Not trained on PIPAL: no PIPAL scores or ImageNet weights
can be had offline. Trained on {card['device']} for {t['steps']} steps ({t['seconds']:.0f} s).

**Objective.** {card['objective']}

**Held-out evaluation** ({card['data']['heldout_images']} held-out crops, never trained on). SRCC/PLCC with degradation
level per type, pooled over photos (so a metric must also be comparable across contents); per-image SRCC: the
5 levels of one photo ranked, averaged over photos, worst type shown; last column: score change of a 1-px shift
over that of JPEG q90 (PSNR row
uses MSE, SSIM row 1-SSIM; target <= {card['targets']['shift_ratio']}). Ablations trained the same way.

{results_table(card['evaluation'])}

Targets met: {card['passes']}

**Commands**

```
{chr(10).join(card['commands'])}
```
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--ship", default="swdn", help="variant whose weights are shipped ('' for none)")
    parser.add_argument("--stride", type=int, default=1, help="every Nth held-out crop (2: one crop per photo)")
    parser.add_argument("--head", default="log", choices=["linear", "log"], help="which training runs to read")
    parser.add_argument("--cross", action="store_true", help="read the runs trained with --cross")
    args = parser.parse_args(argv)
    torch.set_num_threads(min(2, torch.get_num_threads()))
    photos = load_photos("heldout")[::args.stride]
    items = prepare(photos)
    results, commands = {}, []
    for variant in args.variants:
        model, state = load_run(variant, run_tag(args.head, args.cross))
        results[variant] = measure(swdn_badness(model), items)
        commands += [c if c.startswith("python") else "python " + c for c in (s["command"] for s in state["slices"])]
    torch.manual_seed(0)
    results["swdn (random init)"] = measure(swdn_badness(SWDN(VARIANTS["swdn"]).eval()), items)
    results["PSNR-Y"] = measure(classic("psnr_y"), items, shift_fn=classic("mse_y"))
    results["SSIM-Y"] = measure(classic("ssim_y"), items)
    print(results_table(results))
    if args.ship:
        model, state = load_run(args.ship, run_tag(args.head, args.cross))
        ship(model, state, results, photos, len(load_photos("train")), commands + ["python -m training.evaluate_swdn " + shlex.join(sys.argv[1:])])


if __name__ == "__main__":
    main()
