"""GAN-prior speed: one inversion with the default 20 codes against the single-code baseline, in one run.

Both on the same held-out 64x64 crop, default layer and iterations, through
the shipped generator, for each task (reconstruction uses the ST-LPIPS term,
x4 SR observes only 16x16 so it is pixel MSE): seconds (best of --repeats),
and the ratio 20 codes / 1 code. The issue's budget: 20 codes under 30 s on
this 2-core CPU.

Run: python bench/ganprior.py [--repeats 2] [--threads N]
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sr_demo import ganprior  # noqa: E402
from sr_demo.ganprior.prior import crop_at, run_prior, shipped_generator  # noqa: E402
from sr_demo.imaging import load_image  # noqa: E402

PHOTO = ROOT / "examples" / "heldout" / "gcompris-monuments-colosseum_0.png"


def seconds(crop: np.ndarray, task: str, codes: int, repeats: int) -> float:
    g = shipped_generator()[0]
    return min(run_prior(crop, task, codes, ganprior.DEFAULT_LAYER, ganprior.DEFAULT_ITERS, g).inversion.seconds
               for _ in range(repeats))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    crop = crop_at(load_image(PHOTO).rgb)[0]
    print(f"{platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}; "
          f"layer {ganprior.DEFAULT_LAYER}, {ganprior.DEFAULT_ITERS} iterations")
    print("| task | 1 code (s) | 20 codes (s) | ratio | under 30 s |")
    print("|---|---|---|---|---|")
    for task in ganprior.TASKS:
        one, many = seconds(crop, task, 1, args.repeats), seconds(crop, task, 20, args.repeats)
        print(f"| {ganprior.TASKS[task]} | {one:.1f} | {many:.1f} | {many / one:.2f}× | {'yes' if many < 30 else 'no'} |",
              flush=True)


if __name__ == "__main__":
    main()
