"""One DDR measurement: patch sets over seeds -> hooked features -> CHI per layer.

The first seed's features also feed the scatter, so the tab and the CLI
compute nothing twice; features come from `ddr.cache` when seen before.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from sr_demo.ddr import cache
from sr_demo.ddr.features import REDUCTIONS, layer_features, reduce_flat
from sr_demo.ddr.nets import FeatureNet, get_net
from sr_demo.ddr.patches import (
    DEFAULT_CLASSES,
    DEFAULT_PER_CLASS,
    PatchSet,
    check_classes,
    make_patches,
)
from sr_demo.ddr.separation import Separation, separation
from sr_demo.errors import UserError

MAX_SEEDS = 20
MAX_PATCHES = 10_000

Progress = Callable[[float, str], None]


@functools.lru_cache(maxsize=32)
def patch_set(classes: tuple[str, ...], per_class: int, seed: int, scale: int) -> PatchSet:
    return make_patches(classes, per_class, seed, scale)


def features(net: FeatureNet, patches: PatchSet, layers: Sequence[str], reduce: str = "gap",
             recipe: dict | None = None, progress: Progress | None = None) -> dict[str, np.ndarray]:
    """{dotted layer: (N, D)} for `patches`; with `recipe` (how the patches were made) cached by it."""
    def compute() -> dict[str, np.ndarray]:
        feats = layer_features(net.module, patches.lr, layers, reduce=reduce, prepare=net.prepare,
                               progress=progress)
        if reduce == "flat":
            feats = {name: reduce_flat(f, seed=patches.seed) for name, f in feats.items()}
        return feats

    if not recipe:
        return compute()
    k = cache.key(net=net.weights_id, layers=list(layers), reduce=reduce, **recipe)
    return cache.once(k, compute, disk=reduce == "gap")


@dataclass
class Measurement:
    """CHI per layer over seeds, and the first seed's patches and features for the scatter."""

    net: FeatureNet
    layers: list[str]  # dotted, shallow to deep
    patches: PatchSet
    features: dict[str, np.ndarray]
    separations: list[Separation]
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"model": self.net.name, "kind": self.net.kind, "patches": len(self.patches),
                "seeds": len(self.separations[0].by_class) if self.separations else 0,
                "classes": list(dict.fromkeys(self.patches.cls)), "note": self.net.note,
                "layers": [{"label": self.net.label(s.layer), **s.to_dict()} for s in self.separations],
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


def _check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise UserError(f"{name} must be a whole number in {lo}..{hi}, got {value!r}.")
    return int(value)


def measure(net: FeatureNet | str, layers: Sequence[str] | None = None, classes: Sequence[str] = DEFAULT_CLASSES,
            per_class: int = DEFAULT_PER_CLASS, seeds: int = 5, reduce: str = "gap",
            progress: Progress | None = None) -> Measurement:
    """CHI by class and by photo for each layer (default: the deepest) over `seeds` patch sets (seeds 0..K-1)."""
    t0 = time.perf_counter()
    net = get_net(net) if isinstance(net, str) else net
    classes = check_classes(classes)
    seeds = _check_int("Seeds", seeds, 1, MAX_SEEDS)
    per_class = _check_int("Patches per class", per_class, 2, MAX_PATCHES)
    if per_class * len(classes) > MAX_PATCHES:
        raise UserError(f"{per_class * len(classes)} patches is too many; at most {MAX_PATCHES}.")
    if reduce not in REDUCTIONS:
        raise UserError(f"Reduction must be one of {', '.join(REDUCTIONS)}, got {reduce!r}.")
    dotted = [net.resolve(layer) for layer in (layers or [net.default_layer])]
    order = list(net.layers.values())
    dotted = sorted(dict.fromkeys(dotted), key=lambda d: order.index(d) if d in order else len(order))
    seconds = {"patches": 0.0, "features": 0.0, "chi": 0.0}
    runs: dict[str, list] = {d: [] for d in dotted}
    first_patches, first_feats = None, None
    for s in range(seeds):
        def step(fraction: float, text: str, s=s) -> None:
            if progress is not None:
                progress((s + fraction) / seeds, f"{net.name}, patch set {s + 1}/{seeds}: {text}")

        step(0.0, "degrading patches")
        t = time.perf_counter()
        patches = patch_set(classes, per_class, s, net.scale)
        seconds["patches"] += time.perf_counter() - t
        t = time.perf_counter()
        recipe = {"classes": list(classes), "per_class": per_class, "seed": s, "scale": net.scale}
        feats = features(net, patches, dotted, reduce, recipe, progress=step)
        seconds["features"] += time.perf_counter() - t
        if s == 0:
            first_patches, first_feats = patches, feats
        for d in dotted:
            runs[d].append((feats[d], patches.cls, patches.photo))
    t = time.perf_counter()
    seps = [separation(d, runs[d]) for d in dotted]
    seconds["chi"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - t0
    if progress is not None:
        progress(1.0, f"{net.name}: done")
    return Measurement(net, dotted, first_patches, first_feats, seps, seconds)


_embeddings: dict[tuple, object] = {}
MAX_EMBEDDINGS = 16


def scatter(m: Measurement, layer: str, method: str):
    """The 2-D embedding of the first patch set's features at `layer` (dotted), kept for identical requests."""
    from sr_demo.ddr.embed import embed

    recipe = (m.net.weights_id, layer, method, tuple(m.patches.cls), m.patches.photo, m.patches.seed,
              m.patches.scale, len(m.patches))
    if recipe not in _embeddings:
        if len(_embeddings) >= MAX_EMBEDDINGS:
            _embeddings.pop(next(iter(_embeddings)))
        _embeddings[recipe] = embed(m.features[layer], method, seed=0)
    return _embeddings[recipe]


def warm(net_name: str | None = None, per_class: int = DEFAULT_PER_CLASS, seeds: int = 5) -> None:
    """What a first visit needs, ahead of it: the default model's features (every layer, as the tab asks
    for them) and UMAP's numba compile."""
    from sr_demo.ddr.embed import warm_umap
    from sr_demo.ddr.nets import default_net

    name = net_name or default_net()
    if name is not None:
        net = get_net(name)
        measure(net, list(net.layers), per_class=per_class, seeds=seeds)
    warm_umap()
