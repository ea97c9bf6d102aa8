"""The RDSR dropout study: PSNR-Y of models under the eight RDSR test presets.

Each held-out crop is degraded by each preset at x4 with a fixed seed (the
same LR for every model), super-resolved, and scored with PSNR-Y against the
HR crop; bicubic up-sampling of the same LR is the reference. For each twin
pair (a recipe's `twin_of`) the per-photo difference (model minus twin) gets
a paired bootstrap 95% interval over photos, because gaps of 0.1-0.3 dB are
within seed noise and a bare mean would hide that.

    python training/study.py srresnet-real-x4 srresnet-real-dropout-x4 ...
    python training/study.py training/runs/NAME ... --out /tmp/study

A model is a zoo name with shipped weights (`models/NAME.safetensors`) or a
run folder holding `last.pt` (its EMA weights). Without `--out` the results go
to models/rdsr-study.{md,json} only when every model has shipped weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate import heldout_folder, quantise, read_rgb, run_model  # noqa: E402
from recipes import RECIPES  # noqa: E402

from sr_demo.degradations import degrade, imresize, preset_spec  # noqa: E402
from sr_demo.iqa import psnr  # noqa: E402
from sr_demo.models.archs import build_arch  # noqa: E402
from sr_demo.models.zoo import models_dir as default_models_dir  # noqa: E402

PRESETS = ("clean", "blur", "noise", "jpeg", "blur+noise", "blur+jpeg", "noise+jpeg", "blur+noise+jpeg")
SCALE = 4
BOOT_SEED = 0


def paired_bootstrap(diff: np.ndarray, resamples: int = 10000, seed: int = BOOT_SEED) -> tuple[float, float]:
    """95% percentile interval of the mean of per-photo differences, photos resampled with replacement."""
    diff = np.asarray(diff, dtype=np.float64)
    idx = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    lo, hi = np.percentile(diff[idx].mean(axis=1), [2.5, 97.5])
    return float(lo), float(hi)


def load_model(ref: str, models: Path) -> tuple[str, dict, torch.nn.Module, bool]:
    """(name, recipe dict, eval-mode fp32 net, shipped?) for a zoo name or a run folder."""
    shipped = models / f"{ref}.safetensors"
    if ref in RECIPES and shipped.is_file():
        from safetensors.torch import load_file

        recipe = RECIPES[ref].to_dict()
        sd = load_file(str(shipped))
        is_shipped = True
    else:
        path = Path(ref) / "last.pt" if Path(ref).is_dir() else Path(ref)
        if not path.is_file():
            raise SystemExit(f"{ref}: neither shipped weights {shipped} nor a run folder with last.pt")
        ck = torch.load(path, map_location="cpu", weights_only=False)
        recipe, sd, is_shipped = ck["recipe"], ck["ema"], False
    if recipe["scale"] != SCALE:
        raise SystemExit(f"{ref}: the study is x{SCALE}, model is x{recipe['scale']}")
    net = build_arch(recipe["arch"], scale=SCALE, **recipe["arch_kwargs"])
    net.load_state_dict({k: v.float() for k, v in sd.items()})
    return recipe["name"], recipe, net.eval(), is_shipped


def make_lr(folder: Path) -> tuple[list[str], list[np.ndarray], dict[str, list[np.ndarray]]]:
    """Photo names, mod-cropped HR, and per preset the LR of every photo (seed = photo index)."""
    paths = sorted(Path(folder).glob("*.png"))
    if not paths:
        raise SystemExit(f"no held-out images (*.png) in {folder}")
    hrs = []
    for p in paths:
        hr = read_rgb(p)
        hrs.append(hr[: hr.shape[0] - hr.shape[0] % SCALE, : hr.shape[1] - hr.shape[1] % SCALE])
    lrs = {pr: [quantise(degrade(hr, preset_spec(pr, SCALE), seed=i)) for i, hr in enumerate(hrs)] for pr in PRESETS}
    return [p.name for p in paths], hrs, lrs


def study(refs: list[str], heldout: Path | None = None, models: Path | None = None, device: str = "cpu",
          resamples: int = 10000) -> dict:
    """PSNR-Y per model, preset and photo; bicubic; twin differences with intervals."""
    models = Path(models) if models is not None else default_models_dir()
    folder, note = heldout_folder(heldout)
    names, hrs, lrs = make_lr(folder)
    dev = torch.device(device)

    def table(upscale) -> dict[str, list[float]]:
        return {pr: [psnr(upscale(lr), hr, SCALE, True) for lr, hr in zip(lrs[pr], hrs)] for pr in PRESETS}

    per_photo = {"bicubic": table(lambda lr: quantise(imresize(lr, scale=SCALE)))}
    recipes, shipped = {}, []
    for ref in refs:
        name, recipe, net, is_shipped = load_model(ref, models)
        per_photo[name] = table(lambda lr: run_model(net.to(dev), lr, dev))
        recipes[name], shipped = recipe, shipped + [is_shipped]

    def avg(rows: dict[str, list[float]]) -> np.ndarray:
        return np.mean([rows[pr] for pr in PRESETS], axis=0)

    means = {m: {**{pr: float(np.mean(v[pr])) for pr in PRESETS}, "mean": float(avg(v).mean())}
             for m, v in per_photo.items()}
    pairs = []
    for name, recipe in recipes.items():
        twin = recipe.get("twin_of")
        if twin in per_photo:
            diffs = {pr: np.subtract(per_photo[name][pr], per_photo[twin][pr]) for pr in PRESETS}
            diffs["mean"] = avg(per_photo[name]) - avg(per_photo[twin])
            pairs.append(dict(model=name, twin=twin, diff={
                k: dict(diff=float(d.mean()), ci95=paired_bootstrap(d, resamples)) for k, d in diffs.items()}))
    return dict(scale=SCALE, presets=list(PRESETS), heldout=str(folder), note=note, photos=names,
                resamples=resamples, bootstrap_seed=BOOT_SEED, psnr_y=means,
                gain_over_bicubic={m: means[m]["mean"] - means["bicubic"]["mean"] for m in recipes},
                pairs=pairs, all_shipped=all(shipped))


def markdown(res: dict) -> str:
    cols = [*res["presets"], "mean"]
    lines = [f"PSNR-Y (dB) on {len(res['photos'])} held-out crops, x{res['scale']}, fixed degradation seeds.", "",
             "| model | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    lines += [f"| {m} | " + " | ".join(f"{v[c]:.2f}" for c in cols) + " |" for m, v in res["psnr_y"].items()]
    if res["pairs"]:
        lines += ["", f"Difference model minus twin, paired bootstrap 95% interval over photos "
                      f"({res['resamples']} resamples):", "",
                  "| model - twin | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
        for p in res["pairs"]:
            cells = [f"{p['diff'][c]['diff']:+.2f} [{p['diff'][c]['ci95'][0]:+.2f}, {p['diff'][c]['ci95'][1]:+.2f}]"
                     for c in cols]
            lines.append(f"| {p['model']} - {p['twin']} | " + " | ".join(cells) + " |")
    if res["note"]:
        lines += ["", f"Note: {res['note']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="zoo names with shipped weights, or run folders")
    ap.add_argument("--out", type=Path, help="write OUT.md and OUT.json (default: models/rdsr-study if all shipped)")
    ap.add_argument("--heldout", type=Path, help="default data/heldout, else examples/heldout")
    ap.add_argument("--models-dir", type=Path)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--resamples", type=int, default=10000)
    args = ap.parse_args(argv)
    res = study(args.models, args.heldout, args.models_dir, args.device, args.resamples)
    md = markdown(res)
    print(md)
    out = args.out
    if out is None and res["all_shipped"]:
        out = (args.models_dir or default_models_dir()) / "rdsr-study"
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.with_suffix(".md").write_text(md)
        out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
        print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    else:
        print("not written: some models are unshipped run folders; pass --out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
