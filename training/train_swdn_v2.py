"""Train SWDN v2's per-channel weights and 2AFC head (the VGG16 trunk stays frozen), and its two ablations.

    python -m training.train_swdn_v2 [--items 256] [--patch 64] [--steps 1500] [--threads 2]

Data: random crops of *train* photos (`data/train`, never held-out); each crop
is degraded by one type of `train_swdn.LEVELS` at all five levels. Per crop
the images are: a clean copy shifted by 1-2 px (a real content shift), the
five levels (each shifted 0-2 px half of the time), and the crop's level k
shifted again.

Because the trunk is frozen and the space-warping layer has no parameters,
every (reference, image) pair reduces to one vector of 1,472 numbers (per
channel: the spatial mean of the squared space-warped difference), computed
once and cached in `training/runs/swdn-v2/`; the distance is that vector
weighted by softplus(weights), so training runs over the cache in seconds.

Objective (2AFC with `PairwiseHead` on log-distances, binary cross-entropy):
* within a crop: the shifted clean copy beats level 1, level a beats level b > a;
* across crops of the same type: level a of one crop beats level b > a of
  another (so distances are comparable across contents, as pooled SRCC needs);
* two shifts of the same degraded image are the same quality (target 1/2).

Variants, same data and steps: `swdn-v2` (L2 pooling, radii 2,1,1,1,1),
`maxpool` (VGG's 2x2 max pooling), `nowarp` (radii 0). Weights go to
`training/runs/swdn-v2/VARIANT.safetensors`; the shipped one is copied to
`models/swdn-v2.safetensors` by training/evaluate_iqa.py --ship-v2.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shlex
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from sr_demo.iqa.swdn import PairwiseHead
from sr_demo.iqa.swdn_v2 import SWDNv2, SWDNv2Config, save_swdn_v2
from training.train_swdn import (
    LEVELS,
    MARGIN,
    RUNS,
    _shift,
    distort,
    load_photos,
    window,
)

OUT = RUNS / "swdn-v2"
VARIANTS = {
    "swdn-v2": SWDNv2Config(),
    "maxpool": SWDNv2Config(pool="max"),
    "nowarp": SWDNv2Config(radii=(0, 0, 0, 0, 0)),
}
#: (better, worse) indices into an item's images: 0 shifted clean copy, 1..5 the levels.
WITHIN = list(itertools.combinations(range(6), 2))


def sample_items(photos: list[np.ndarray], n: int, patch: int, seed: int):
    """n crops: reference, 7 images [shifted clean, level 1..5, level k re-shifted], k (1..5) and the type."""
    rng = np.random.default_rng(seed)
    kinds = list(LEVELS)
    side = patch + 2 * MARGIN
    items = []
    for i in range(n):
        photo = photos[rng.integers(len(photos))]
        y, x = rng.integers(0, photo.shape[0] - side + 1), rng.integers(0, photo.shape[1] - side + 1)
        crop = np.ascontiguousarray(photo[y:y + side, x:x + side])
        kind = kinds[i % len(kinds)]
        levels = [distort(crop, kind, k, rng) for k in range(5)]
        k = int(rng.integers(5))
        imgs = [window(crop, patch, *_shift(rng, nonzero=True))]
        imgs += [window(d, patch, *_shift(rng)) for d in levels]
        imgs.append(window(levels[k], patch, *_shift(rng, nonzero=True)))
        items.append((window(crop, patch), np.stack(imgs), k + 1, kind))
    return items


@torch.no_grad()
def channel_vectors(items, pool: str, radii_sets: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    """Per radii set: N x 7 x 1472 vectors, the trunk run once per image for all sets."""
    models = {name: SWDNv2(SWDNv2Config(pool=pool, radii=r)) for name, r in radii_sets.items()}
    first = next(iter(models.values()))
    for m in models.values():
        m.trunk = first.trunk  # one frozen trunk
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).movedim(-1, -3)
    out = {name: [] for name in models}
    for ref, imgs, _, _ in items:
        fr = first.features(t(ref)[None])
        fd = first.features(t(imgs))
        for name, m in models.items():
            out[name].append(m.channel_vector([f.expand(len(imgs), -1, -1, -1) for f in fr], fd))
    return {name: torch.stack(v) for name, v in out.items()}


def loss_fn(w: torch.Tensor, head: PairwiseHead, v: torch.Tensor, ks: torch.Tensor, kinds: list[str]):
    """2AFC loss over within-crop pairs, cross-crop pairs of one type and the same-quality pair; ranking accuracy."""
    d = (v * F.softplus(w)).sum(-1)  # N x 7
    better, worse = zip(*WITHIN)
    p = head(d[:, list(better)], d[:, list(worse)])
    loss = F.binary_cross_entropy(p, torch.ones_like(p))
    same = head(d.gather(1, ks[:, None]), d[:, 6:7])
    loss = loss + F.binary_cross_entropy(same, torch.full_like(same, 0.5))
    a, b = torch.triu_indices(5, 5, 1)
    for kind in dict.fromkeys(kinds):
        idx = torch.tensor([i for i, k in enumerate(kinds) if k == kind])
        lv = d[idx, 1:6]
        off = ~torch.eye(len(idx), dtype=torch.bool)
        pc = head(lv[:, a][:, None, :].expand(-1, len(idx), -1)[off], lv[:, b][None, :, :].expand(len(idx), -1, -1)[off])
        loss = loss + F.binary_cross_entropy(pc, torch.ones_like(pc)) / len(LEVELS)
    return loss, float((p > 0.5).float().mean())


def train(v: torch.Tensor, ks: torch.Tensor, kinds: list[str], steps: int, lr: float, seed: int):
    torch.manual_seed(seed)
    w = torch.zeros(v.shape[-1], requires_grad=True)
    head = PairwiseHead(log_distance=True)
    opt = torch.optim.Adam([w, *head.parameters()], lr=lr)
    for step in range(1, steps + 1):
        loss, acc = loss_fn(w, head, v, ks, kinds)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 250 == 0 or step == steps:
            print(f"  step {step}/{steps} loss {loss.item():.4f} within-crop pair accuracy {acc:.3f}", flush=True)
    return w.detach(), head, loss.item()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=256)
    parser.add_argument("--patch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    OUT.mkdir(parents=True, exist_ok=True)
    photos = load_photos("train")
    items = sample_items(photos, args.items, args.patch, args.seed)
    ks = torch.tensor([k for _, _, k, _ in items])
    kinds = [kind for *_, kind in items]
    command = "python -m training.train_swdn_v2 " + shlex.join(sys.argv[1:])
    cache_key = f"items{args.items}-patch{args.patch}-seed{args.seed}"
    vectors: dict[str, torch.Tensor] = {}
    for pool, names in (("l2", ("swdn-v2", "nowarp")), ("max", ("maxpool",))):
        if not set(names) & set(args.variants):
            continue
        path = OUT / f"vectors-{pool}-{cache_key}.pt"
        if path.is_file():
            cached = torch.load(path, weights_only=True)
        else:
            t0 = time.perf_counter()
            cached = channel_vectors(items, pool, {n: VARIANTS[n].radii for n in names})
            torch.save(cached, path)
            print(f"{pool} pooling: trunk features of {len(items) * 8} images in {time.perf_counter() - t0:.0f} s",
                  flush=True)
        vectors.update(cached)
    for name in args.variants:
        config = VARIANTS[name]
        t0 = time.perf_counter()
        print(f"{name}:", flush=True)
        w, head, loss = train(vectors[name], ks, kinds, args.steps, args.lr, args.seed)
        model = SWDNv2(config)
        model.weights.data.copy_(w)
        card = {"variant": name, "train_photos": len(photos), "items": args.items, "patch": args.patch,
                "steps": args.steps, "lr": args.lr, "final_loss": loss, "head_scale": float(head.log_scale.detach().exp()),
                "train_seconds": round(time.perf_counter() - t0, 1), "command": command}
        save_swdn_v2(model, OUT / f"{name}.safetensors", card)
        (OUT / f"{name}.json").write_text(json.dumps(card, indent=1) + "\n")


if __name__ == "__main__":
    main()
