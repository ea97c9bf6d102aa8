"""SR Lab's runner against ncnn's own CPU runtime on published models.

    python bench/published.py [--models realesrgan-x4plus,span-x4] [--sizes 64,128,256] [--threads 2]

For each model and LR size, the same input runs through `runner.upscale`
(the app's one inference path) and through the `ncnn` PyPI runtime (the
engine chaiNNer, Upscayl and the ncnn packages use) on the package's own
.param/.bin, each in a fresh subprocess so peak resident memory is its own.
Prints seconds (best of --repeat), the ratio runner/ncnn (< 1: runner
faster), peak RSS, and max |difference| of the outputs; then the runner
tiled vs untiled on a 1024x1024 LR for memory.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

_CHILD = r"""
import json, resource, sys, time
import numpy as np
kind, name, size, threads, repeat, tile = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rng = np.random.default_rng(0)
from sr_demo.imaging import load_image
from sr_demo.resources import repo_file
photo = load_image(repo_file("examples") / "chelsea.png").rgb
reps = -(-size // min(photo.shape[:2])) + 1
lr = np.tile(photo, (reps, reps, 1))[:size, :size].astype(np.float32)
times = []
if kind == "runner":
    import torch
    torch.set_num_threads(threads)
    from sr_demo.models import get_model, upscale
    model = get_model(name)
    for _ in range(repeat):
        res = upscale(model, lr, device="cpu", tile=None if tile == "auto" else int(tile))
        times.append(res.seconds)
    out = res.sr
else:
    import ncnn
    from sr_demo.models.loader import get_entry
    from sr_demo.models.packages import package_root
    entry = get_entry(name)
    root = package_root(entry.source)
    files = {role: root / rel for role, rel, _ in entry.source.files}
    lines = files["param"].read_text().splitlines()
    layers = [l.split() for l in lines[2:] if l.strip()]
    blob_in = next(l for l in layers if l[0] == "Input")[4]
    last = layers[-1]
    blob_out = last[4 + int(last[2]) + int(last[3]) - 1]
    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = threads
    net.load_param(str(files["param"]))
    net.load_model(str(files["bin"]))
    chw = np.ascontiguousarray(lr.transpose(2, 0, 1))
    for _ in range(repeat):
        start = time.perf_counter()
        ex = net.create_extractor()
        ex.input(blob_in, ncnn.Mat(chw))
        _, mat = ex.extract(blob_out)
        out = np.array(mat).transpose(1, 2, 0).clip(0, 1)
        times.append(time.perf_counter() - start)
np.save(sys.argv[7], out.astype(np.float32))
print(json.dumps({"seconds": min(times), "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child(kind: str, name: str, size: int, threads: int, repeat: int, out: str, tile: str = "auto") -> dict:
    done = subprocess.run([sys.executable, "-c", _CHILD, kind, name, str(size), str(threads), str(repeat), tile, out],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} {name} {size}: {done.stderr.strip().splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    import numpy as np

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="realesrgan-x4plus,span-x4")
    ap.add_argument("--sizes", default="64,128,256")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--big", type=int, default=1024, help="LR side for the tiling memory check (0: skip)")
    args = ap.parse_args()
    tmp = "/tmp/sr_demo_bench_published_{}.npy"
    print(f"{'model':<20} {'LR':>6} {'runner s':>9} {'ncnn s':>8} {'ratio':>6} {'runner MiB':>11} {'ncnn MiB':>9} "
          f"{'max |diff|':>10}")
    for name in args.models.split(","):
        for size in map(int, args.sizes.split(",")):
            ours = _child("runner", name, size, args.threads, args.repeat, tmp.format("runner"))
            ref = _child("ncnn", name, size, args.threads, args.repeat, tmp.format("ncnn"))
            diff = float(np.abs(np.load(tmp.format("runner")) - np.load(tmp.format("ncnn"))).max())
            print(f"{name:<20} {size:>5}² {ours['seconds']:>9.2f} {ref['seconds']:>8.2f} "
                  f"{ours['seconds'] / ref['seconds']:>6.2f} {ours['peak_mib']:>11.0f} {ref['peak_mib']:>9.0f} "
                  f"{diff:>10.2e}", flush=True)
        if args.big:
            start = time.perf_counter()
            tiled = _child("runner", name, args.big, args.threads, 1, tmp.format("tiled"))
            print(f"{name:<20} {args.big:>5}² runner auto-tiled: {tiled['seconds']:.1f} s, peak {tiled['peak_mib']:.0f} MiB "
                  f"(wall {time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
