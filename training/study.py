"""The RDSR dropout study: PSNR-Y of models under the eight RDSR test presets.

Each held-out crop is degraded by each preset at x4 with a fixed seed (the
same LR for every model), super-resolved, and scored with PSNR-Y against the
HR crop; bicubic up-sampling of the same LR is the reference. For each twin
pair (a recipe's `twin_of`) and each training seed the per-photo difference
(model minus twin) gets a paired bootstrap 95% interval over photos, because
gaps of 0.1-0.3 dB are within seed noise and a bare mean would hide that;
with several seeds a last row averages each photo's difference over them.

    python -m training.evaluate --study rdsr        # the shipped models + study seeds
    python -m training.study MODEL ... [--out /tmp/study]

A model is a zoo name with shipped weights (`models/NAME.safetensors`) or a
run folder holding `last.pt` (its EMA weights; `NAME@seedS` folders are
study seeds). Without `--out` the results go to models/rdsr-study.{md,json}
only when every model has shipped weights or is a study seed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from sr_demo.degradations import imresize
from sr_demo.iqa import psnr
from sr_demo.models.zoo import models_dir as default_models_dir
from training.evaluate import RDSR_PRESETS as PRESETS
from training.evaluate import (
    README,
    as_model,
    card_markdown,
    heldout_folder,
    make_pairs,
    preset_pairs,
    quantise,
    replace_section,
    run_model,
)
from training.recipes import RECIPES, SEED_SEP, get_recipe, seed_run_name

SCALE = 4
BOOT_SEED = 0
REFERENCE = "msrresnet-x4"  # the bicubic-trained reference the issue asks for
START, END = "<!-- rdsr-study:start -->", "<!-- rdsr-study:end -->"
COMMAND = "python -m training.evaluate --study rdsr"


def paired_bootstrap(diff: np.ndarray, resamples: int = 10000, seed: int = BOOT_SEED) -> tuple[float, float]:
    """95% percentile interval of the mean of per-photo differences, photos resampled with replacement."""
    diff = np.asarray(diff, dtype=np.float64)
    idx = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    lo, hi = np.percentile(diff[idx].mean(axis=1), [2.5, 97.5])
    return float(lo), float(hi)


def load_model(ref: str, models: Path) -> tuple[str, dict, torch.nn.Module, bool]:
    """(name, recipe dict, the model as the app runs it, shipped?) for a zoo name or a run folder."""
    shipped = models / f"{ref}.safetensors"
    if ref in RECIPES and shipped.is_file():
        from safetensors.torch import load_file

        recipe = RECIPES[ref].to_dict()
        sd = load_file(str(shipped))
        is_shipped = True
        card = models / f"{ref}.json"
        recipe["iterations"] = json.loads(card.read_text())["iterations"] if card.is_file() else None
    else:
        path = Path(ref) / "last.pt" if Path(ref).is_dir() else Path(ref)
        if not path.is_file():
            raise SystemExit(f"{ref}: neither shipped weights {shipped} nor a run folder with last.pt")
        ck = torch.load(path, map_location="cpu", weights_only=False)
        recipe, sd = dict(ck["recipe"], iterations=ck.get("iteration")), ck["ema"]
        is_shipped = SEED_SEP in recipe["name"]  # study seeds are final in their run folders
    if recipe["scale"] != SCALE:
        raise SystemExit(f"{ref}: the study is x{SCALE}, model is x{recipe['scale']}")
    return recipe["name"], recipe, as_model(recipe["name"], recipe["arch"], SCALE, recipe["arch_kwargs"], sd), is_shipped


def seed_of(name: str, recipe: dict) -> tuple[str, int]:
    """(base name, training seed) of a model: `NAME@seedS` or the recipe's own seed."""
    base, sep, seed = name.partition(SEED_SEP)
    return base, int(seed) if sep else int(recipe.get("seed", 0))


def _interval(d: np.ndarray, resamples: int) -> dict:
    return dict(diff=float(d.mean()), ci95=paired_bootstrap(d, resamples))


def study(refs: list[str], heldout: Path | None = None, models: Path | None = None, device: str = "cpu",
          resamples: int = 10000) -> dict:
    """PSNR-Y per model, preset and photo; bicubic; twin differences per seed with intervals."""
    models = Path(models) if models is not None else default_models_dir()
    folder, note = heldout_folder(heldout)
    clean = make_pairs(folder, SCALE)  # read once; each preset makes its own LR
    lr_sets = {pr: preset_pairs(clean, SCALE, pr) for pr in PRESETS}
    names = [n for n, _, _ in lr_sets[PRESETS[0]]]
    dev = torch.device(device)

    def table(upscale) -> dict[str, list[float]]:
        return {pr: [psnr(upscale(lr), hr, SCALE, True) for _, hr, lr in lr_sets[pr]] for pr in PRESETS}

    per_photo = {"bicubic": table(lambda lr: quantise(imresize(lr, scale=SCALE)))}
    recipes: dict[str, dict] = {}
    shipped = []
    for ref in refs:
        name, recipe, net, is_shipped = load_model(ref, models)
        per_photo[name] = table(lambda lr, net=net: run_model(net, lr, dev))
        recipes[name], shipped = recipe, shipped + [is_shipped]

    def rows(name: str) -> dict[str, np.ndarray]:
        r = {pr: np.asarray(per_photo[name][pr]) for pr in PRESETS}
        return {**r, "mean": np.mean([r[pr] for pr in PRESETS], axis=0)}

    means = {m: {k: float(v.mean()) for k, v in rows(m).items()} for m in per_photo}
    by_pair: dict[tuple[str, str], list[tuple[int, dict[str, np.ndarray]]]] = {}
    for name, recipe in recipes.items():
        base, seed = seed_of(name, recipe)
        twin_base = recipe.get("twin_of")
        twin = seed_run_name(twin_base, seed) if SEED_SEP in name and twin_base else twin_base
        if twin in per_photo:
            mine, theirs = rows(name), rows(twin)
            by_pair.setdefault((base, twin_base), []).append((seed, {k: mine[k] - theirs[k] for k in mine}))
            its = (recipe.get("iterations"), recipes[twin].get("iterations"))
            if its[0] != its[1]:  # twins must be trained exactly as long (run_pending.py keeps them together)
                note = (note + " " if note else "") + f"{name} has {its[0]} training iterations, {twin} {its[1]}."
    pairs = []
    for (base, twin_base), runs in by_pair.items():
        runs.sort(key=lambda r: r[0])
        for seed, diffs in runs:
            pairs.append(dict(model=base, twin=twin_base, seed=seed,
                              diff={k: _interval(d, resamples) for k, d in diffs.items()}))
        if len(runs) > 1:  # each photo's difference averaged over the seeds
            avg = {k: np.mean([d[k] for _, d in runs], axis=0) for k in runs[0][1]}
            pairs.append(dict(model=base, twin=twin_base, seed=f"mean of {len(runs)} seeds",
                              diff={k: _interval(d, resamples) for k, d in avg.items()}))
    return dict(scale=SCALE, presets=list(PRESETS), heldout=str(folder), note=note, photos=names,
                resamples=resamples, bootstrap_seed=BOOT_SEED, psnr_y=means,
                gain_over_bicubic={m: means[m]["mean"] - means["bicubic"]["mean"] for m in recipes},
                pairs=pairs, all_shipped=all(shipped), command=COMMAND)


def markdown(res: dict) -> str:
    cols = [*res["presets"], "mean"]
    lines = [f"PSNR-Y (dB) on {len(res['photos'])} held-out crops, x{res['scale']}, fixed degradation seeds.", "",
             "| model | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    lines += [f"| {m} | " + " | ".join(f"{v[c]:.2f}" for c in cols) + " |" for m, v in res["psnr_y"].items()]
    if res["pairs"]:
        lines += ["", f"Difference model minus twin (same training seed), mean over photos with a paired bootstrap "
                      f"95% interval ({res['resamples']} resamples):", "",
                  "| model - twin | seed | " + " | ".join(cols) + " |", "|---|---|" + "---:|" * len(cols)]
        for p in res["pairs"]:
            cells = [f"{p['diff'][c]['diff']:+.2f} [{p['diff'][c]['ci95'][0]:+.2f}, {p['diff'][c]['ci95'][1]:+.2f}]"
                     for c in cols]
            lines.append(f"| {p['model']} - {p['twin']} | {p.get('seed', '')} | " + " | ".join(cells) + " |")
    if res["note"]:
        lines += ["", f"Note: {res['note']}"]
    return "\n".join(lines) + "\n"


# --- the shipped study (`evaluate.py --study rdsr`) --------------------------------------------


def rdsr_models() -> list[str]:
    """The study's models: every real-world recipe, then the bicubic-trained reference."""
    return [n for n, r in RECIPES.items() if r.training == "realesrgan"] + [REFERENCE]


def rdsr_refs(models: Path, runs: Path) -> list[str]:
    """Shipped weights of every study model plus the complete study-seed runs; SystemExit names what is missing."""
    refs, missing = [], []
    for name in rdsr_models():
        if (models / f"{name}.safetensors").is_file():
            refs.append(name)
        else:
            missing.append(f"{name} (no {models / name}.safetensors)")
        for seed in get_recipe(name).study_seeds:
            run = runs / seed_run_name(name, seed)
            ck = run / "last.pt"
            if not ck.is_file():
                missing.append(f"{run.name} (no {ck})")
                continue
            state = torch.load(ck, map_location="cpu", weights_only=False)
            if state["iteration"] < state["total_iters"]:
                missing.append(f"{run.name} (at iteration {state['iteration']} of {state['total_iters']})")
            else:
                refs.append(str(run))
    if missing:
        raise SystemExit("the RDSR study needs trained weights for: " + "; ".join(missing)
                         + ". Train them: python -m training.run_pending")
    return refs


def write_readme(readme: Path, md: str) -> bool:
    return replace_section(readme, START, END, f"Measured by `{COMMAND}`:\n\n{md}", "study table")


def write_cards(res: dict, models: Path) -> None:
    """Each study model's card gets its row and the pairs it is in."""
    for name in res["psnr_y"]:
        path = models / f"{name}.json"
        if not path.is_file():
            continue
        card = json.loads(path.read_text(encoding="utf-8"))
        card["rdsr_study"] = dict(psnr_y=res["psnr_y"][name], bicubic=res["psnr_y"]["bicubic"], command=COMMAND,
                                  pairs=[p for p in res["pairs"] if name in (p["model"], p["twin"])])
        path.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
        (models / f"{name}.md").write_text(card_markdown(card), encoding="utf-8")


def run_rdsr(models: Path | None = None, runs: Path | None = None, heldout: Path | None = None,
             device: str = "cpu", readme: Path | None = README, resamples: int = 10000) -> dict:
    """The study on the shipped models; writes models/rdsr-study.{md,json}, README's table and the cards."""
    from training.evaluate import DEFAULT_RUNS

    models = Path(models) if models is not None else default_models_dir()
    res = study(rdsr_refs(models, Path(runs) if runs is not None else DEFAULT_RUNS), heldout, models, device, resamples)
    md = markdown(res)
    print(md)
    (models / "rdsr-study.md").write_text(md, encoding="utf-8")
    (models / "rdsr-study.json").write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    write_cards(res, models)
    if readme is not None:
        write_readme(Path(readme), md)
    print(f"wrote {models / 'rdsr-study.md'}, {models / 'rdsr-study.json'} and the cards")
    return res


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
