"""Train the GAN-prior tab's 64x64 generator on crops of the training photos (CPU-sized, resumable).

    python -m training.train_gan [--time-limit SECONDS] [--iters N] [--threads 1]
    python -m training.train_gan --export     # fp16 EMA weights + card + sample sheets into models/

Data: random 64x64 crops of `data/train` (145 photos of 300x300 or less),
each from a window of 64-128 px (log-uniform) shrunk to 64 with area
averaging, flipped half of the time: the network sees the photos at a few
scales. The generator is sr_demo.ganprior.generator's (pixel norm, no batch
norm); the discriminator mirrors it with spectral normalisation on every
weight and a minibatch-stddev map (ProGAN), and both real and generated
batches go through DiffAugment's colour and translation changes (145 photos
are few: without them G collapsed to one image by iteration 1,800 here).
Losses: the non-saturating GAN loss on logits (Goodfellow et al.),
Adam (lr 2e-4, betas 0.0/0.99), one D step per G step, and an EMA of G
(decay 0.999) that is what gets exported.

`training/runs/gan-64/last.pt` (G, D, EMA, both optimisers, iteration, wall
time, RNG states, every slice's command) is written every 200 iterations and
when `--time-limit` runs out; a run always resumes from it. A GPU just runs
more iterations (`--iters`).

`--export` writes `models/gan-64.safetensors` (EMA G in fp16), a sample sheet
(`models/gan-64-samples.png`: 8 samples, each above its nearest training crop
by L2 among 20,000 crops, so memorisation shows), and the card
`models/gan-64.json`/`.md`.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from sr_demo.ganprior import GENERATOR as NAME
from sr_demo.ganprior.generator import WIDTHS, Z_DIM, Generator
from sr_demo.ganprior.weights import FORMAT, save_generator
from sr_demo.resources import repo_file
from training.train import ema_update
from training.train_swdn import load_photos

RUN = repo_file(f"training/runs/{NAME}")
SIDE = 64
BATCH = 16
EMA_DECAY = 0.999
CKPT_EVERY = 200


def diff_augment(x: torch.Tensor) -> torch.Tensor:
    """DiffAugment (Zhao et al., NeurIPS 2020), colour and translation: the same differentiable random changes
    on real and generated batches, so that D cannot memorise 145 photos and G still learns the real data."""
    n = len(x)
    x = x + (torch.rand(n, 1, 1, 1) - 0.5)  # brightness
    mean = x.mean(1, keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1) * 2) + mean  # saturation
    mean = x.mean((1, 2, 3), keepdim=True)
    x = (x - mean) * (torch.rand(n, 1, 1, 1) + 0.5) + mean  # contrast
    shift = SIDE // 8
    padded = F.pad(x, (shift, shift, shift, shift))
    dy, dx = torch.randint(0, 2 * shift + 1, (2, n))
    return torch.stack([padded[i, :, dy[i]:dy[i] + SIDE, dx[i]:dx[i] + SIDE] for i in range(n)])


class MinibatchStddev(nn.Module):
    """ProGAN's extra feature map: the batch's standard deviation, so D sees (and punishes) a collapsed G."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        group = min(4, len(x))
        y = x.view(group, -1, *x.shape[1:]).std(0).mean((1, 2, 3))  # one value per sub-group
        y = y.repeat(group)[:, None, None, None].expand(-1, 1, *x.shape[2:])
        return torch.cat([x, y], 1)


class Discriminator(nn.Module):
    """64x64 RGB -> one logit: stride-2 convs mirroring the generator's widths, spectral norm throughout, a
    minibatch-stddev map before the last layer."""

    def __init__(self):
        super().__init__()
        sides = sorted(WIDTHS, reverse=True)  # 64, 32, 16, 8, 4
        layers = [spectral_norm(nn.Conv2d(3, WIDTHS[64], 3, padding=1)), nn.LeakyReLU(0.2)]
        for a, b in zip(sides, sides[1:]):
            layers += [spectral_norm(nn.Conv2d(WIDTHS[a], WIDTHS[b], 4, stride=2, padding=1)), nn.LeakyReLU(0.2)]
        layers += [MinibatchStddev(), spectral_norm(nn.Conv2d(WIDTHS[4] + 1, WIDTHS[4], 3, padding=1)),
                   nn.LeakyReLU(0.2)]
        self.features = nn.Sequential(*layers)
        self.logit = spectral_norm(nn.Linear(16 * WIDTHS[4], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logit(self.features(x * 2 - 1).flatten(1)).squeeze(1)


def random_crops(photos: list[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """n x 64 x 64 x 3 float32 crops, each from a 64-128 px window shrunk with area averaging, maybe flipped."""
    out = np.empty((n, SIDE, SIDE, 3), np.float32)
    for i in range(n):
        photo = photos[rng.integers(len(photos))]
        window = round(SIDE * 2 ** rng.uniform(0, 1))
        window = min(window, *photo.shape[:2])
        y, x = rng.integers(0, photo.shape[0] - window + 1), rng.integers(0, photo.shape[1] - window + 1)
        crop = photo[y:y + window, x:x + window]
        crop = cv2.resize(crop, (SIDE, SIDE), interpolation=cv2.INTER_AREA) if window != SIDE else crop
        out[i] = crop[:, ::-1] if rng.random() < 0.5 else crop
    return out


def _batch(photos, rng) -> torch.Tensor:
    return torch.from_numpy(random_crops(photos, BATCH, rng)).permute(0, 3, 1, 2).contiguous()


def _new_state(seed: int) -> dict:
    torch.manual_seed(seed)
    g, d = Generator(), Discriminator()
    return {"g": g, "d": d, "ema": copy.deepcopy(g).requires_grad_(False),
            "opt_g": torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.0, 0.99)),
            "opt_d": torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.0, 0.99)),
            "it": 0, "seconds": 0.0, "slices": [], "rng": np.random.default_rng(seed), "history": []}


def save_checkpoint(s: dict, run: Path = RUN) -> None:
    """Everything a resumed run needs, written atomically to run/last.pt."""
    run.mkdir(parents=True, exist_ok=True)
    tmp = run / "last.pt.tmp"
    torch.save({k: (v.state_dict() if hasattr(v, "state_dict") else v) for k, v in s.items() if k != "rng"}
               | {"rng": s["rng"].bit_generator.state, "torch_rng": torch.get_rng_state()}, tmp)
    tmp.replace(run / "last.pt")


def load_state(seed: int, run: Path = RUN) -> dict:
    """A fresh training state, or the one in run/last.pt."""
    s = _new_state(seed)
    path = run / "last.pt"
    if path.is_file():
        ck = torch.load(path, weights_only=True)
        for k in ("g", "d", "ema", "opt_g", "opt_d"):
            s[k].load_state_dict(ck[k])
        s.update(it=ck["it"], seconds=ck["seconds"], slices=ck["slices"], history=ck["history"])
        s["rng"].bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
    return s


def train_step(s: dict, real: torch.Tensor) -> tuple[float, float]:
    g, d = s["g"], s["d"]
    z = torch.randn(len(real), Z_DIM)
    with torch.no_grad():
        fake = g(z)
    loss_d = F.softplus(-d(diff_augment(real))).mean() + F.softplus(d(diff_augment(fake))).mean()
    s["opt_d"].zero_grad(set_to_none=True)
    loss_d.backward()
    s["opt_d"].step()
    loss_g = F.softplus(-d(diff_augment(g(torch.randn(len(real), Z_DIM))))).mean()
    s["opt_g"].zero_grad(set_to_none=True)
    loss_g.backward()
    s["opt_g"].step()
    with torch.no_grad():
        ema_update(s["ema"], g, EMA_DECAY, s["it"])
    return loss_d.item(), loss_g.item()


def train(args) -> None:
    photos = load_photos("train")
    s = load_state(args.seed)
    s["slices"].append({"command": "python -m training.train_gan " + shlex.join(sys.argv[1:]),
                        "start_it": s["it"], "threads": torch.get_num_threads(), "machine": platform.processor()
                        or platform.machine()})
    t0, last = time.time(), time.time()
    print(f"resuming at iteration {s['it']}/{args.iters}" if s["it"] else f"training {args.iters} iterations",
          flush=True)
    while s["it"] < args.iters:
        loss_d, loss_g = train_step(s, _batch(photos, s["rng"]))
        s["it"] += 1
        now = time.time()
        s["seconds"] += now - last
        last = now
        if s["it"] % 50 == 0:
            s["history"].append((s["it"], loss_d, loss_g))
            print(f"it {s['it']} D {loss_d:.3f} G {loss_g:.3f} {s['seconds'] / s['it']:.2f} s/it", flush=True)
        out_of_time = args.time_limit and now - t0 >= args.time_limit
        if s["it"] % CKPT_EVERY == 0 or s["it"] == args.iters or out_of_time:
            s["slices"][-1]["end_it"] = s["it"]
            save_checkpoint(s)
        if out_of_time:
            print(f"time limit reached at iteration {s['it']}: checkpoint saved", flush=True)
            break


def nearest_crops(samples: np.ndarray, photos: list[np.ndarray], n_crops: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """For each sample, the training crop (of n_crops drawn like training batches) nearest by L2, and that distance."""
    rng = np.random.default_rng(seed)
    crops = torch.from_numpy(random_crops(photos, n_crops, rng)).flatten(1)
    flat = torch.from_numpy(samples).flatten(1)
    dist = torch.cdist(flat, crops)
    best = dist.argmin(1)
    rmse = dist.gather(1, best[:, None]).squeeze(1) / flat.shape[1] ** 0.5
    return crops[best].view(samples.shape).numpy(), rmse.numpy()


def export(args) -> None:
    ck_path = RUN / "last.pt"
    if not ck_path.is_file():
        raise SystemExit(f"No run at {ck_path}: train first.")
    s = load_state(args.seed)
    g = s["ema"].eval()
    models = repo_file("models")
    torch.manual_seed(1234)
    with torch.no_grad():
        samples = g(torch.randn(8, Z_DIM)).permute(0, 2, 3, 1).numpy()
    photos = load_photos("train")
    nearest, rmse = nearest_crops(samples, photos, 20000, seed=99)
    with torch.no_grad():
        many = g(torch.randn(256, Z_DIM)).numpy()
    real = random_crops(photos, 256, np.random.default_rng(7)).transpose(0, 3, 1, 2)
    sheet = np.concatenate([np.concatenate(list(samples), 1), np.concatenate(list(nearest), 1)], 0)
    sheet = cv2.resize(sheet, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    cv2.imwrite(str(models / f"{NAME}-samples.png"), cv2.cvtColor(np.uint8(np.round(sheet * 255)), cv2.COLOR_RGB2BGR))
    card = {
        "name": NAME, "format": FORMAT,
        "data": f"random 64x64 crops (64-128 px windows, area-shrunk, flipped) of the {len(photos)} training photos "
                "in data/train (python -m training.build_dataset --out data); held-out photos never seen",
        "iterations": s["it"], "batch": BATCH, "train_seconds": round(s["seconds"]),
        "seconds_per_iteration": round(s["seconds"] / max(s["it"], 1), 3),
        "slices": s["slices"],
        "losses_last": s["history"][-1] if s["history"] else None,
        "samples": f"{NAME}-samples.png (top: 8 samples of z ~ N(0, I), seed 1234; bottom: each one's nearest of "
                   "20,000 training crops by L2)",
        "nearest_training_crop_rmse": [round(float(r), 4) for r in rmse],
        "diversity": {"generated": round(float(many.std(0).mean()), 4),
                      "training_crops": round(float(real.std(0).mean()), 4),
                      "what": "per-pixel standard deviation across 256 images, averaged (a collapsed generator: ~0)"},
        "parameters": sum(p.numel() for p in g.parameters()),
    }
    card["narrowness"] = (
        f"A {card['parameters'] / 1e6:.2f} M-parameter generator trained {s['it']} iterations of {BATCH} crops "
        f"on a CPU ({card['train_seconds'] / 3600:.1f} h) from {len(photos)} photos: a texture-and-colour prior "
        "of those photos at 64x64, not a model of objects. The nearest training crops (RMSE on [0,1] listed) show "
        "how close samples stay to the data.")
    save_generator(g, models / f"{NAME}.safetensors", card)
    (models / f"{NAME}.json").write_text(json.dumps(card, indent=1) + "\n")
    md = [f"# {NAME}: the GAN-prior tab's generator", "", card["narrowness"], "",
          f"- data: {card['data']}", f"- iterations: {s['it']} x batch {BATCH}, {card['train_seconds']} s "
          f"({card['seconds_per_iteration']} s/it)", "- commands: " + "; ".join(sl["command"] for sl in s["slices"]),
          f"- samples: {card['samples']}", f"- nearest-crop RMSE: {card['nearest_training_crop_rmse']}",
          f"- diversity (per-pixel std across 256 images): generated {card['diversity']['generated']}, training "
          f"crops {card['diversity']['training_crops']}", "",
          f"![samples]({NAME}-samples.png)", ""]
    (models / f"{NAME}.md").write_text("\n".join(md))
    print(json.dumps({k: card[k] for k in ("iterations", "train_seconds", "nearest_training_crop_rmse", "diversity")}))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iters", type=int, default=6000)
    ap.add_argument("--time-limit", type=float, default=0, help="seconds in this slice (0: until --iters)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--export", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    export(args) if args.export else train(args)


if __name__ == "__main__":
    main()
