"""DDR speed on this CPU, with scikit-learn's t-SNE alone as the baseline in the same run.

1. From the feature cache: N = 1,000 and 5,000 patches (8 classes, fsrcnn-x4's deepest layer, 56-d) to a
   t-SNE scatter and CHI by class and by photo (`measure` reading the cache from disk + `embed`), against
   `sklearn.manifold.TSNE` alone on the same features; targets 8 s and 30 s.
2. Uncached feature extraction per model (96 patches of 32x32, deepest layer, batch 64, inference_mode),
   and what stopping the forward at the hooked layer saves (Real-ESRGAN x4plus: an early layer vs the deepest).
3. UMAP: numba's first-call compile in a fresh process (what `warm_umap` moves out of the first click), and a
   fresh process after it (numba's on-disk cache), against a warm fit of 1,000 points.

Run: python bench/ddr.py [--skip-heavy]   (SR_DEMO_CACHE is pointed at a temporary folder)

Measured 2026-12-01 on this 2-core CPU while ~6 agents shared it (load average 13 at start, up to 31), so
the seconds are 10-90x an idle machine's and only the ratios speak: cache -> t-SNE + CHI took 127 s against
sklearn's TSNE alone 183 s for 1,000 patches (ratio 0.70), 388 s against 452 s for 5,000 (0.86): reading the
cache, standardising and CHI add nothing measurable to t-SNE itself, so on idle cores (TSNE alone about 2 s
and 14 s, per the issue) the targets of 8 s and 30 s hold with room. UMAP's first call in a fresh process:
179 s (57 s with numba's disk cache) against 7-15 s for a warm 1,000-point fit; the tab starts it in a
background thread when it is first opened.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SR_DEMO_CACHE", tempfile.mkdtemp(prefix="ddr-bench-"))

from sr_demo.ddr import cache
from sr_demo.ddr.analysis import measure, patch_set
from sr_demo.ddr.embed import embed
from sr_demo.ddr.features import layer_features
from sr_demo.ddr.nets import get_net, net_names
from sr_demo.ddr.patches import CLASSES
from sr_demo.errors import UserError

ALL = tuple(CLASSES)


def cached_scatter(n: int) -> None:
    net = get_net("fsrcnn-x4")
    per_class = n // len(ALL)
    t = time.perf_counter()
    measure(net, [net.default_layer], ALL, per_class, seeds=1)  # fills the cache (and makes the patches)
    fill = time.perf_counter() - t
    cache.clear_memory()  # the click after a restart: features from disk
    t = time.perf_counter()
    m = measure(net, [net.default_layer], ALL, per_class, seeds=1)
    emb = embed(m.features[m.layers[0]], "tsne", seed=0)
    ours = time.perf_counter() - t
    from sklearn.manifold import TSNE

    x = m.features[m.layers[0]]
    t = time.perf_counter()
    TSNE(2, perplexity=30.0, init="pca", learning_rate="auto", random_state=0).fit_transform(x)
    alone = time.perf_counter() - t
    assert emb.xy.shape == (len(x), 2) and cache.stats["disk"] >= 1
    print(f"{len(x):>5} patches, {x.shape[1]}-d: cache -> t-SNE + CHI {ours:6.2f} s | sklearn TSNE alone "
          f"{alone:6.2f} s | ratio {ours / alone:4.2f} | (first fill: patches + features {fill:6.1f} s)")


def extraction(names: list[str]) -> None:
    patches = patch_set(("clean", "blur", "noise", "jpeg", "blur+noise", "realesrgan"), 16, 0, 4)
    for name in names:
        try:
            net = get_net(name)
        except UserError as exc:  # e.g. a fetch-on-demand package not fetched here
            print(f"{name:<22} skipped: {exc}")
            continue
        layer = net.layers[net.default_layer]
        t = time.perf_counter()
        layer_features(net.module, patches.lr, [layer], prepare=net.prepare)
        dt = time.perf_counter() - t
        params = sum(p.numel() for p in net.module.parameters()) / 1e6
        print(f"{name:<22} {params:6.2f} M params, {net.default_layer:<10}: {dt:6.2f} s per {len(patches)} patches "
              f"({1000 * dt / len(patches):6.1f} ms/patch)")


def early_stop(name: str = "realesrgan-x4plus") -> None:
    net = get_net(name)
    patches = patch_set(("clean", "noise"), 16, 0, 4)
    labels = list(net.layers)
    times = {}
    for label in (labels[1], labels[-1]):
        t = time.perf_counter()
        layer_features(net.module, patches.lr, [net.layers[label]])
        times[label] = time.perf_counter() - t
    a, b = labels[1], labels[-1]
    print(f"{name}: hooked at {a} {times[a]:.2f} s vs {b} {times[b]:.2f} s per {len(patches)} patches "
          f"(stopping early: {times[b] / times[a]:.1f}x less)")


UMAP_PROBE = """
import time, numpy as np
t = time.perf_counter()
from sr_demo.ddr.embed import warm_umap, embed
first = warm_umap()
x = np.random.default_rng(1).normal(size=(1000, 56)).astype(np.float32)
t2 = time.perf_counter(); embed(x, "umap"); warm_fit = time.perf_counter() - t2
print(f"{first:.2f} {warm_fit:.2f}")
"""


def umap_compile() -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": tempfile.mkdtemp(prefix="numba-")}
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", UMAP_PROBE], env=env, capture_output=True, text=True,
                             cwd=ROOT, check=True).stdout.split()
        runs.append((float(out[0]), float(out[1])))
    print(f"UMAP first call in a fresh process: {runs[0][0]:.1f} s (then a 1,000-point fit {runs[0][1]:.1f} s); "
          f"again with numba's disk cache: {runs[1][0]:.1f} s (fit {runs[1][1]:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-heavy", action="store_true", help="leave out Real-ESRGAN x4plus")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for n in (1000, 5000):
        cached_scatter(n)
    names = [n for n in ("fsrcnn-x4", "span-x4", "srmdnf-x4", "rdn-slim-x4", "realsr-df2k-x4", "realesrgan-x4plus",
                         "alexnet-stlpips", "vgg16-stlpips") if n in net_names()]
    if args.skip_heavy:
        names = [n for n in names if "x4plus" not in n and "realsr" not in n]
    extraction(names)
    if not args.skip_heavy and "realesrgan-x4plus" in names:
        early_stop()
    umap_compile()
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
