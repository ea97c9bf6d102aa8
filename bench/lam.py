"""LAM speed: the batched library against the step-by-step reference, in one run.

1. batched `compute_lam` vs `sr_demo.lam.reference` (one path step at a
   time, as the official code) for FSRCNN, EDSR-baseline (16x64), SRResNet
   (16x64) and RRDB (6 blocks, 64) with random weights at x4, on a 64x64 LR
   input, fold 50, 16 px window: seconds, ratio, max difference of the maps,
   peak memory (CPU: VmHWM above the RSS at start, each run in a fresh
   process; CUDA: max_memory_allocated);
2. default fixed-context mode on a 512x512 LR image vs a 64x64 one (the same
   work, so the ratio should stay within 1.3x), and the exact mode on 512x512
   (cropped to the receptive field) for contrast.

Run: python bench/lam.py [--device cpu|cuda]
(16 minutes on this project's 2 CPU cores while training jobs shared them,
load average 4-6; the sequential loop there was ~7x slower than the issue's
uncontended 17 s for EDSR, so expect about 3 minutes on idle cores.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sr_demo.lam import clear_cache, compute_lam  # noqa: E402
from sr_demo.lam.diffusion import normalise  # noqa: E402
from sr_demo.lam.reference import reference_attribution  # noqa: E402
from sr_demo.models.archs import build_arch  # noqa: E402
from sr_demo.models.loader import LoadedModel  # noqa: E402

NETS = {  # name -> (arch, kwargs, repeats on CPU)
    "fsrcnn": ("fsrcnn", {}, 3),
    "edsr-16x64": ("edsr", dict(num_feat=64, num_block=16), 1),
    "srresnet-16x64": ("srresnet", dict(num_feat=64, num_block=16), 1),
    "rrdb-6x64": ("rrdbnet", dict(num_feat=64, num_block=6), 1),
}
FOLD, WINDOW, X, Y = 50, 16, 120, 120  # a central window of the 256x256 output


def make_model(key: str) -> LoadedModel:
    arch, kwargs, _ = NETS[key]
    torch.manual_seed(0)
    module = build_arch(arch, scale=4, **kwargs).eval().requires_grad_(False)
    return LoadedModel(key, module, 4, arch, 0, None, "builtin", True, True, 1)


def image(size: int) -> np.ndarray:
    return np.random.default_rng(0).random((size, size, 3), dtype=np.float32)


def proc_status_mib(field: str) -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024  # kB


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def child(key: str, method: str, device: str, reps: int) -> None:
    """One measurement in a fresh process, printed as JSON."""
    model, lr = make_model(key), image(64)
    model.module.to(device)
    start_mib = proc_status_mib("VmRSS")
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
    seconds = []
    for _ in range(reps):
        clear_cache()
        sync(device)
        start = time.perf_counter()
        if method == "sequential":
            attribution = reference_attribution(model, lr, X, Y, WINDOW, FOLD, device=device)
        else:
            attribution = compute_lam(model, lr, X, Y, window=WINDOW, fold=FOLD, device=device).attribution
        sync(device)
        seconds.append(time.perf_counter() - start)
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20 if device == "cuda" else \
        proc_status_mib("VmHWM") - start_mib
    np.save(os.environ["LAM_BENCH_OUT"], normalise(attribution))
    print(json.dumps(dict(seconds=min(seconds), peak_mib=peak)))


def run_child(key: str, method: str, device: str, reps: int, out: Path) -> dict:
    env = {**os.environ, "LAM_BENCH_OUT": str(out)}
    done = subprocess.run([sys.executable, __file__, "--child", key, method, device, str(reps)],
                          capture_output=True, text=True, env=env)
    if done.returncode:
        raise RuntimeError(f"{key} {method} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n## {title}", flush=True)
    for i, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def bench_batched_vs_sequential(device: str, tmp: Path) -> None:
    rows = []
    for key, (_, _, reps) in NETS.items():
        reps = reps if device == "cpu" else 3
        seq = run_child(key, "sequential", device, reps, tmp / "seq.npy")
        bat = run_child(key, "batched", device, reps, tmp / "bat.npy")
        diff = float(np.abs(np.load(tmp / "seq.npy") - np.load(tmp / "bat.npy")).max())
        rows.append([key, seq["seconds"], bat["seconds"], seq["seconds"] / bat["seconds"], f"{diff:.1e}",
                     f"{seq['peak_mib']:.0f}", f"{bat['peak_mib']:.0f}"])
    table(f"LAM x4, 64x64 LR, fold {FOLD}, {device}: one step at a time vs batched (min of repeats)",
          ["model", "sequential s", "batched s", "speed-up", "max|map diff|", "seq peak MiB", "batched peak MiB"],
          rows)


def bench_context(device: str) -> None:
    model, rows = make_model("fsrcnn"), []
    small, big = image(64), np.random.default_rng(1).random((512, 512, 3), dtype=np.float32)
    compute_lam(model, small, X, Y, fold=FOLD, device=device)  # warm-up
    cases = [("64x64 LR, context 64", small, 64), ("512x512 LR, context 64", big, 64),
             ("512x512 LR, exact (receptive-field crop)", big, None)]
    seconds = {name: [] for name, *_ in cases}
    for _ in range(3):  # interleaved, so that load changes hit every case alike
        for name, lr, context in cases:
            clear_cache()
            start = time.perf_counter()
            compute_lam(model, lr, 1000 if lr is big else X, 1000 if lr is big else Y, fold=FOLD,
                        context=context, device=device)
            seconds[name].append(time.perf_counter() - start)
    base = min(seconds[cases[0][0]])
    for name, *_ in cases:
        rows.append([name, min(seconds[name]), min(seconds[name]) / base])
    table(f"FSRCNN x4 LAM cost by image size ({device}, fold {FOLD}, best of 3)", ["case", "seconds", "vs 64x64"],
          rows)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"lam_bench_{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    bench_batched_vs_sequential(args.device, tmp)
    bench_context(args.device)
    print(f"\nload average {os.getloadavg()[0]:.1f} at end; total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
