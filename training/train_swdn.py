"""Train SR Lab's in-house SWDN and its two ablations, the same way.

    python -m training.train_swdn [--variants swdn maxpool nowarp] [--steps N] [--resume]
                                  [--head log|linear] [--cross] [--device auto|cpu|cuda] [--time-limit SECONDS]

No PIPAL scores or ImageNet weights can be had offline, so the objective is
one we can state honestly (RankIQA-style ranking plus a shift rule):

* a random crop of a *train* photo (`data/train`, never held-out) is the
  reference; it is degraded by one type of `LEVELS` at all five levels;
* every distorted image is cut 0..2 px off the reference window half of the
  time (a real shift of the content);
* a 2AFC head (`PairwiseHead`) must prefer the milder level in every pair,
  prefer a merely shifted clean copy to every degraded one, and give 1/2 to
  two shifts of the same degraded image (same quality). By default it
  compares log-distances, so a shift must cost a *fraction* of a mild
  distortion (with plain distances, a CPU run at step 400 let a 1-px shift
  cost 0.59 of JPEG q90's change); `--cross` also ranks levels across the
  photos of a batch (not yet run: it is meant for the GPU).

Variants: `swdn` (L2 pooling + space-warping difference), `maxpool` (max
pooling instead), `nowarp` (plain difference, no space warping). Same data
stream (same seed), same steps, same optimiser. Checkpoints go to
`training/runs/swdn-VARIANT-TAG/last.pt` every 50 steps and when the time limit
runs out; `--resume` continues from there. Needs torch, numpy, OpenCV and
`sr_demo.degradations`/`sr_demo.iqa.swdn` only, so it runs on the GPU machine.
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import shlex
import sys
import time

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from sr_demo.iqa.swdn import SWDN, PairwiseHead, SWDNConfig
from sr_demo.resources import repo_file

ROOT = repo_file(".")

LEVELS = {
    "blur": (0.6, 1.0, 1.5, 2.2, 3.2),  # Gaussian sigma (px)
    "noise": (3, 6, 10, 16, 25),  # Gaussian sigma on the 0..255 scale
    "jpeg": (90, 70, 50, 30, 15),  # libjpeg quality
    "resize": (1.5, 2.0, 2.5, 3.0, 4.0),  # MATLAB-bicubic down by this factor, then back up
}
MARGIN = 2  # largest shift in pixels
VARIANTS = {
    "swdn": SWDNConfig(),
    "maxpool": SWDNConfig(pool="max"),
    "nowarp": SWDNConfig(radii=(0, 0, 0, 0)),
}
RUNS = ROOT / "training" / "runs"


def run_tag(head: str, cross: bool) -> str:
    """Suffix of a run's folder: training/runs/swdn-VARIANT-TAG."""
    return ("" if head == "linear" else f"-{head}") + ("-cross" if cross else "")


def load_photos(split: str) -> list[np.ndarray]:
    """RGB float32 photos of data/<split> (training/build_dataset.py); held-out falls back to examples/heldout."""
    folders = [ROOT / "data" / split] + ([ROOT / "examples" / "heldout"] if split == "heldout" else [])
    for folder in folders:
        files = sorted(folder.glob("*.png"))
        if files:
            return [cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0 for f in files]
    raise SystemExit(f"No photos in {folders[0]}: run `python -m training.build_dataset --out data` first.")


def quantise(img: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(img, 0.0, 1.0) * 255.0) / 255.0).astype(np.float32)


def distort(img: np.ndarray, kind: str, level: int, rng: np.random.Generator) -> np.ndarray:
    """`img` degraded by `kind` at `level` (0-based index into LEVELS[kind]), rounded to 8 bit."""
    from sr_demo.degradations import imresize
    from sr_demo.degradations.jpeg import jpeg

    value = LEVELS[kind][level]
    if kind == "blur":
        out = cv2.GaussianBlur(img, (0, 0), sigmaX=value, borderType=cv2.BORDER_REFLECT_101)
    elif kind == "noise":
        out = img + rng.normal(0.0, value / 255.0, img.shape).astype(np.float32)
    elif kind == "jpeg":
        out = jpeg(img, int(value))
    else:
        h, w = img.shape[:2]
        out = imresize(imresize(img, 1.0 / value), size=(h, w))
    return quantise(out)


def window(img: np.ndarray, size: int, dy: int = 0, dx: int = 0) -> np.ndarray:
    """The size x size window MARGIN px in from the top-left, moved by (dy, dx): a real content shift."""
    return img[MARGIN + dy:MARGIN + dy + size, MARGIN + dx:MARGIN + dx + size]


def _shift(rng: np.random.Generator, nonzero: bool = False) -> tuple[int, int]:
    if not nonzero and rng.random() < 0.5:
        return 0, 0
    while True:
        dy, dx = (int(v) for v in rng.integers(-MARGIN, MARGIN + 1, 2))
        if dy or dx:
            return dy, dx


def sample_batch(photos: list[np.ndarray], batch: int, patch: int, rng: np.random.Generator,
                 one_kind: bool = False):
    """refs B x 3 x P x P and dists B x 7 x 3 x P x P: [shifted clean, levels 1..5, level k re-shifted]; k per item.
    `one_kind`: every item of the batch gets the same degradation type (for cross-photo pairs)."""
    refs, dists, ks = [], [], []
    side = patch + 2 * MARGIN
    batch_kind = list(LEVELS)[rng.integers(len(LEVELS))]
    for _ in range(batch):
        photo = photos[rng.integers(len(photos))]
        y, x = rng.integers(0, photo.shape[0] - side + 1), rng.integers(0, photo.shape[1] - side + 1)
        crop = photo[y:y + side, x:x + side]
        crop = np.ascontiguousarray(crop[:, ::-1] if rng.random() < 0.5 else crop)
        kind = batch_kind if one_kind else list(LEVELS)[rng.integers(len(LEVELS))]
        levels = [distort(crop, kind, k, rng) for k in range(5)]
        k = int(rng.integers(5))
        imgs = [window(crop, patch, *_shift(rng, nonzero=True))]
        imgs += [window(d, patch, *_shift(rng)) for d in levels]
        imgs.append(window(levels[k], patch, *_shift(rng, nonzero=True)))
        refs.append(window(crop, patch))
        dists.append(np.stack(imgs))
        ks.append(k + 1)
    to_t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).movedim(-1, -3)  # noqa: E731
    return to_t(np.stack(refs)), to_t(np.stack(dists)), torch.tensor(ks)


_PAIRS = list(itertools.combinations(range(6), 2))  # (better, worse): clean-shift < level 1 < ... < level 5


def pair_loss(model: SWDN, head: PairwiseHead, refs, dists, ks, cross: bool = False):
    """Mean BCE of the 2AFC head over all ranked pairs plus the same-quality pair; and ranking accuracy.
    `cross`: also rank levels across the batch's photos (level a of one photo beats level b > a of another)."""
    b, n = dists.shape[:2]
    ref_f = model.features(refs)
    dist_f = model.features(dists.flatten(0, 1))
    d = model.distance_from_features([f.repeat_interleave(n, 0) for f in ref_f], dist_f).view(b, n)
    better, worse = zip(*_PAIRS)
    p = head(d[:, list(better)], d[:, list(worse)])
    ranked = F.binary_cross_entropy(p, torch.ones_like(p))
    same = head(d.gather(1, ks[:, None]), d[:, 6:7])
    tie = F.binary_cross_entropy(same, torch.full_like(same, 0.5))
    if cross:
        lv = d[:, 1:6]
        a, b = torch.triu_indices(5, 5, 1)
        off = ~torch.eye(len(lv), dtype=torch.bool)
        pc = head(lv[:, a][:, None, :].expand(-1, len(lv), -1)[off], lv[:, b][None, :, :].expand(len(lv), -1, -1)[off])
        tie = tie + F.binary_cross_entropy(pc, torch.ones_like(pc))
    return ranked + tie, float((p > 0.5).float().mean())


def train_variant(name: str, args, photos: list[np.ndarray], device: torch.device) -> None:
    run_dir = RUNS / f"swdn-{name}{run_tag(args.head, args.cross)}"
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path = run_dir / "last.pt", run_dir / "log.txt"
    torch.manual_seed(args.seed)
    model, head = SWDN(VARIANTS[name]).to(device), PairwiseHead(args.head == "log").to(device)
    opt = torch.optim.Adam([*model.parameters(), *head.parameters()], lr=args.lr)
    rng = np.random.default_rng(args.seed)
    step, seconds, slices = 0, 0.0, []
    if args.resume and ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        head.load_state_dict(state["head"])
        opt.load_state_dict(state["opt"])
        rng.bit_generator.state = state["rng"]
        step, seconds, slices = state["step"], state["seconds"], state["slices"]
    slices.append({"command": "python -m training.train_swdn " + shlex.join(sys.argv[1:]), "device": str(device), "host": platform.node(),
                   "threads": torch.get_num_threads(), "from_step": step})

    def save() -> None:
        torch.save({"model": model.state_dict(), "head": head.state_dict(), "opt": opt.state_dict(),
                    "rng": rng.bit_generator.state, "step": step, "seconds": seconds, "slices": slices,
                    "config": {k: v for k, v in vars(args).items()}, "variant": name}, ckpt_path)

    start = time.perf_counter()
    with log_path.open("a") as log:
        while step < args.steps:
            if args.time_limit and time.perf_counter() - start > args.time_limit:
                break
            lr = args.lr * (0.1 if step >= 0.8 * args.steps else 1.0)
            for group in opt.param_groups:
                group["lr"] = lr
            t0 = time.perf_counter()
            refs, dists, ks = sample_batch(photos, args.batch, args.patch, rng, one_kind=args.cross)
            loss, acc = pair_loss(model, head, refs.to(device), dists.to(device), ks.to(device), cross=args.cross)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seconds += time.perf_counter() - t0
            if step % 25 == 0 or step == args.steps:
                line = (f"{name} step {step}/{args.steps} loss {loss.item():.4f} pair-acc {acc:.3f} "
                        f"lr {lr:g} {seconds / step:.2f} s/step")
                print(line, flush=True)
                log.write(line + "\n")
            if step % 50 == 0:
                save()
    save()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--patch", type=int, default=48)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--head", default="log", choices=["linear", "log"],
                        help="2AFC on distances, or on their logarithms (only ratios matter)")
    parser.add_argument("--cross", action="store_true",
                        help="one degradation type per batch and levels ranked across its photos too")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--time-limit", type=float, default=0, help="seconds per variant in this slice (0: none)")
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    photos = load_photos("train")
    print(json.dumps({"photos": len(photos), "device": str(device), "variants": args.variants}), flush=True)
    for name in args.variants:
        train_variant(name, args, photos, device)


if __name__ == "__main__":
    main()
