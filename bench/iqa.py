#!/usr/bin/env python
"""PSNR, SSIM and MS-SSIM on a 1080x800 pair against pyiqa in the same run; ST-LPIPS against its package's
own forward; SWDN and SWDN v2 seconds per megapixel.

    python bench/iqa.py [--repeats 3] [--stlpips-repeats 1] [--only classic stlpips swdn]

Both sides get the same pair (a photo enlarged to 1080x800 and its JPEG q40),
BT.601 Y (pyiqa: `test_y_channel=True, color_space='ycbcr'`, `downsample=False`).
Values are checked equal within the tolerances of tests/unit/test_iqa_metrics.py
before any time is printed; times are the best of `--repeats` runs. pyiqa is a
test-only dependency (non-commercial licence); without it only our times print.
ST-LPIPS (alex, vgg) runs through the Score tab's code (`sr_demo.iqa.score`) and
through `stlpips_pytorch.stlpips.LPIPS` (needs the test-only IPython and
torchsummary), values checked within 1e-5 first. SWDN (in-house) and SWDN v2
(shipped weights, VGG16 trunk) run on the same pair, on the CPU and on CUDA
when there is one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sr_demo.degradations.jpeg import jpeg  # noqa: E402
from sr_demo.imaging import load_image  # noqa: E402
from sr_demo.iqa import ms_ssim, psnr, ssim  # noqa: E402

TOLERANCE = {"PSNR-Y": 0.01, "SSIM-Y": 0.002, "MS-SSIM-Y": 0.002}
PARTS = ("classic", "stlpips", "swdn")


def best_of(fn, repeats: int) -> tuple[float, float]:
    value, times = None, []
    for _ in range(repeats):
        t0 = time.perf_counter()
        value = float(fn())
        times.append(time.perf_counter() - t0)
    return value, min(times)


def pair() -> tuple[np.ndarray, np.ndarray]:
    photo = load_image(ROOT / "examples" / "chelsea.png").rgb
    ref = np.clip(cv2.resize(photo, (1080, 800), interpolation=cv2.INTER_CUBIC), 0, 1)
    ref = np.round(ref * 255) / 255
    return jpeg(ref, 40), ref.astype(np.float32)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stlpips-repeats", type=int, default=1, help="ST-LPIPS takes seconds per run on a CPU")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="which timings to run")
    args = parser.parse_args(argv)
    img, ref = pair()
    print(f"pair 1080x800, CPU threads {torch.get_num_threads()}, torch {torch.__version__}")
    if "classic" in args.only:
        classic(img, ref, args.repeats)
    if "stlpips" in args.only:
        stlpips(img, ref, args.stlpips_repeats)
    if "swdn" in args.only:
        swdn(img, ref, args.repeats)


def classic(img: np.ndarray, ref: np.ndarray, repeats: int) -> None:
    """PSNR/SSIM/MS-SSIM against pyiqa (values checked first) and the agreement over the held-out crops."""
    ours = {"PSNR-Y": lambda: psnr(img, ref), "SSIM-Y": lambda: ssim(img, ref), "MS-SSIM-Y": lambda: ms_ssim(img, ref)}
    try:
        import pyiqa
    except ImportError:
        pyiqa = None
        print("pyiqa not installed: our times only")
    theirs = {}
    if pyiqa is not None:
        kw = dict(test_y_channel=True, color_space="ycbcr", device="cpu")
        metrics = {"PSNR-Y": pyiqa.create_metric("psnr", **kw),
                   "SSIM-Y": pyiqa.create_metric("ssim", downsample=False, **kw),
                   "MS-SSIM-Y": pyiqa.create_metric("ms_ssim", downsample=False, **kw)}
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()  # noqa: E731
        a, b = t(img), t(ref)
        theirs = {k: (lambda m=m: m(a, b)) for k, m in metrics.items()}
    print("| metric | SR Lab value | SR Lab s | pyiqa value | pyiqa s | speed-up |\n|---|---|---|---|---|---|")
    for name, fn in ours.items():
        value, seconds = best_of(fn, repeats)
        if name in theirs:
            ref_value, ref_seconds = best_of(theirs[name], repeats)
            if abs(value - ref_value) > TOLERANCE[name]:
                raise SystemExit(f"{name}: {value} vs pyiqa {ref_value} differ by more than {TOLERANCE[name]}")
            print(f"| {name} | {value:.4f} | {seconds:.4f} | {ref_value:.4f} | {ref_seconds:.4f} | "
                  f"{ref_seconds / seconds:.1f}x |")
        else:
            print(f"| {name} | {value:.4f} | {seconds:.3f} | - | - | - |")
    if theirs:
        agreement(metrics)


def stlpips(img: np.ndarray, ref: np.ndarray, repeats: int) -> None:
    """ST-LPIPS through the Score tab's code against the package's own forward, same pair, same threads."""
    from sr_demo.iqa import score

    try:
        from stlpips_pytorch import stlpips as package
    except ImportError as exc:
        package = None
        print(f"stlpips_pytorch's own forward cannot run here ({exc}): our times only")
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()  # noqa: E731
    a, b = t(img), t(ref)
    print("| metric | SR Lab value | SR Lab s | package value | package s | package s / SR Lab s |\n"
          "|---|---|---|---|---|---|")
    for net in ("alex", "vgg"):
        score(f"stlpips_{net}", img[:64, :64], ref[:64, :64])  # weights loaded outside the timing
        value, seconds = best_of(lambda: score(f"stlpips_{net}", img, ref), repeats)
        if package is None:
            print(f"| ST-LPIPS {net} | {value:.5f} | {seconds:.2f} | - | - | - |")
            continue
        model = package.LPIPS(net=net, variant="shift_tolerant", verbose=False)

        @torch.no_grad()
        def theirs():
            return model(a, b, normalize=True)

        ref_value, ref_seconds = best_of(theirs, repeats)
        if abs(value - ref_value) > 1e-5:
            raise SystemExit(f"ST-LPIPS {net}: {value} vs the package's {ref_value} differ by more than 1e-5")
        print(f"| ST-LPIPS {net} | {value:.5f} | {seconds:.2f} | {ref_value:.5f} | {ref_seconds:.2f} | "
              f"{ref_seconds / seconds:.2f}x |")


def agreement(metrics: dict) -> None:
    """Largest |ours - pyiqa| over the committed held-out crops (JPEG q60 of a noisy copy, 4-px border cropped)."""
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None].float()  # noqa: E731
    ours = {"PSNR-Y": psnr, "SSIM-Y": ssim, "MS-SSIM-Y": ms_ssim}
    worst = {name: 0.0 for name in ours}
    files = sorted((ROOT / "examples" / "heldout").glob("*.png"))
    rng = np.random.default_rng(0)
    for path in files:
        ref = load_image(path).rgb
        img = jpeg(np.clip(ref + rng.normal(0, 0.02, ref.shape), 0, 1), 60)
        for name, fn in ours.items():
            theirs = float(metrics[name](t(img[4:-4, 4:-4]), t(ref[4:-4, 4:-4])))
            worst[name] = max(worst[name], abs(fn(img, ref, 4) - theirs))
    print(f"agreement over {len(files)} held-out crops: " + ", ".join(
        f"max |Δ| {name} {value:.5f} (tolerance {TOLERANCE[name]})" for name, value in worst.items()))


def swdn(img: np.ndarray, ref: np.ndarray, repeats: int) -> None:
    """The shipped SWDN and SWDN v2 models' forward on the pair (weights loaded outside the timing)."""
    from sr_demo.iqa.table import swdn_model, swdn_v2_model

    megapixels = img.shape[0] * img.shape[1] / 1e6
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for label, model in (("SWDN", swdn_model()), ("SWDN v2", swdn_v2_model())):
        for device in devices:
            _time_swdn(label, model, device, img, ref, megapixels, repeats)


def _time_swdn(label: str, model, device: str, img: np.ndarray, ref: np.ndarray, megapixels: float,
               repeats: int) -> None:
    m = model.to(device)
    a = torch.from_numpy(img).permute(2, 0, 1)[None].to(device)
    b = torch.from_numpy(ref).permute(2, 0, 1)[None].to(device)

    @torch.no_grad()
    def run():
        out = m(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        return out

    run()  # warm-up
    value, seconds = best_of(run, repeats)
    print(f"{label} on {device}: {seconds:.3f} s for {megapixels:.2f} MP = {seconds / megapixels:.3f} s/MP "
          f"(distance {value:.4f})")


if __name__ == "__main__":
    main()
