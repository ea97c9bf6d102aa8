"""The GAN prior's evidence table: reconstruction PSNR by codes and layer, x4 SR against bicubic, and the control.

    python -m training.evaluate_ganprior [--crops 8] [--part 0/2] [--threads 1]   # measure (parts in parallel)
    python -m training.evaluate_ganprior --table                                 # assemble README's table

Crops: the centre 64x64 crop of every k-th held-out photo (`data/heldout`,
else `examples/heldout`; never seen in training), `--crops` of them. For
each crop, with the default iterations (sr_demo.ganprior.DEFAULT_ITERS) and
seed 0: reconstruction with 1, 5, 10, 20 codes at the default layer through
the shipped generator *and* through the untrained control (same
architecture, random weights); 20 codes at every other layer; x4 SR with 20
codes through both, and bicubic. PSNR-Y against the crop
(sr_demo.ganprior.prior). One JSON per crop in `training/runs/ganprior-eval/`
(with the generator's sha256: rows of another generator are refused).

The prior means something only where the trained generator beats the
control by at least `MARGIN_DB` on the mean and on most crops.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys

import numpy as np
import torch

from sr_demo import ganprior
from sr_demo.ganprior.prior import (
    CODE_SWEEP,
    crop_at,
    run_prior,
    shipped_generator,
    untrained_generator,
)
from sr_demo.models.zoo import models_dir
from sr_demo.resources import repo_file
from training.train_swdn import load_photos

OUT = repo_file("training/runs/ganprior-eval")
MARGIN_DB = 0.5
SR_CODES = ganprior.DEFAULT_CODES


def generator_digest() -> str:
    return hashlib.sha256((models_dir() / f"{ganprior.GENERATOR}.safetensors").read_bytes()).hexdigest()


def runs() -> list[tuple[str, str, int, str]]:
    """(generator, task, codes, layer) of every inversion per crop."""
    default = ganprior.DEFAULT_LAYER
    out = [(g, "recon", n, default) for g in ("trained", "control") for n in CODE_SWEEP]
    out += [("trained", "recon", max(CODE_SWEEP), layer) for layer in ganprior.LAYERS if layer != default]
    out += [(g, "sr", SR_CODES, default) for g in ("trained", "control")]
    return out


def measure_crop(index: int, crop: np.ndarray, digest: str, command: str) -> dict:
    generators = {"trained": shipped_generator()[0], "control": untrained_generator()}
    rows = []
    for g, task, codes, layer in runs():
        r = run_prior(crop, task, codes, layer, ganprior.DEFAULT_ITERS, generators[g])
        rows.append({"generator": g, "task": task, "codes": codes, "layer": layer, "psnr": r.psnr,
                     "seconds": r.inversion.seconds, "bicubic_psnr": r.bicubic_psnr})
        print(f"crop {index}: {g} {task} {codes} codes layer {layer}: {r.psnr:.2f} dB "
              f"({r.inversion.seconds:.1f} s)", flush=True)
    return {"crop": index, "generator_sha256": digest, "iters": ganprior.DEFAULT_ITERS, "rows": rows,
            "command": command}


def _mean_sd(values: list[float]) -> str:
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}"


def table() -> str:
    digest = generator_digest()
    results = [json.loads(p.read_text()) for p in sorted(OUT.glob("crop-*.json"))]
    results = [r for r in results if r["generator_sha256"] == digest]
    if not results:
        raise SystemExit(f"No rows for the shipped generator in {OUT}: measure first.")

    def psnrs(g, task, codes, layer):
        return [next(x["psnr"] for x in r["rows"] if (x["generator"], x["task"], x["codes"], x["layer"]) ==
                     (g, task, codes, layer)) for r in results]

    default = ganprior.DEFAULT_LAYER
    lines = [f"{len(results)} held-out 64×64 crops, {results[0]['iters']} Adam iterations, seed 0; PSNR-Y in dB, "
             "mean ± sd over crops; 'wins': crops where the trained generator beats the untrained control.", "",
             "| task | codes | layer | trained generator | untrained control | trained − control | wins |",
             "|---|---|---|---|---|---|---|"]
    for task, codes_list in (("recon", CODE_SWEEP), ("sr", (SR_CODES,))):
        for n in codes_list:
            t, c = psnrs("trained", task, n, default), psnrs("control", task, n, default)
            gap = np.subtract(t, c)
            lines.append(f"| {ganprior.TASKS[task]} | {n} | {default} | {_mean_sd(t)} | {_mean_sd(c)} | "
                         f"{gap.mean():+.2f} | {int((gap > 0).sum())}/{len(gap)} |")
    bicubic = [next(x["bicubic_psnr"] for x in r["rows"] if x["task"] == "sr") for r in results]
    sr = psnrs("trained", "sr", SR_CODES, default)
    lines += ["", f"×4 SR: bicubic {_mean_sd(bicubic)} dB; the GAN prior ({SR_CODES} codes) beats bicubic on "
                  f"{int((np.subtract(sr, bicubic) > 0).sum())}/{len(sr)} crops "
                  f"(mean {np.mean(sr) - np.mean(bicubic):+.2f} dB).", "",
              "| composing layer (side, px) | reconstruction, 20 codes, trained |", "|---|---|"]
    for layer in ganprior.LAYERS:
        lines.append(f"| {layer} | {_mean_sd(psnrs('trained', 'recon', max(CODE_SWEEP), layer))} |")
    t20, c20 = psnrs("trained", "recon", max(CODE_SWEEP), default), psnrs("control", "recon", max(CODE_SWEEP), default)
    gap, wins = np.mean(t20) - np.mean(c20), int((np.subtract(t20, c20) > 0).sum())
    verdict = "meets" if gap >= MARGIN_DB and 2 * wins > len(t20) else "does NOT meet"
    lines += ["", f"Reconstruction at {max(CODE_SWEEP)} codes: the trained generator {verdict} the stated bar "
                  f"(at least {MARGIN_DB} dB over the control on the mean and better on most crops): "
                  f"{gap:+.2f} dB, better on {wins}/{len(t20)} crops.", "",
              "Commands: " + "; ".join(sorted({f"`{r['command']}`" for r in results}))]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--crops", type=int, default=8)
    ap.add_argument("--part", default="0/1", help="i/n: measure every n-th crop starting at i")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args(argv)
    if args.table:
        print(table())
        return
    torch.set_num_threads(args.threads)
    photos = load_photos("heldout")
    step = max(1, len(photos) // args.crops)
    picked = list(range(0, len(photos), step))[:args.crops]
    i, n = (int(v) for v in args.part.split("/"))
    digest = generator_digest()
    command = "python -m training.evaluate_ganprior " + shlex.join(sys.argv[1:])
    OUT.mkdir(parents=True, exist_ok=True)
    for index in picked[i::n]:
        path = OUT / f"crop-{index:02d}.json"
        if path.is_file() and json.loads(path.read_text())["generator_sha256"] == digest:
            continue
        result = measure_crop(index, crop_at(photos[index])[0], digest, command)
        path.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
