"""CPU benchmark of `sr_demo.models.runner.upscale` against a plain eager
forward, in one run (2-4 minutes on 2 cores):

1. thread count and channels_last, measured (the runner's choices);
2. eager forward vs upscale() at x4 on a 256x256 LR input for FSRCNN,
   EDSR-baseline (16x64) and RRDB (6 blocks, 64) with random weights:
   time ratio and max abs difference (asserted <= 1e-4);
3. untiled vs tiled time and peak RSS (VmHWM) on a 1024x1024 LR input,
   each run in a fresh subprocess (tracemalloc cannot see torch's memory);
4. cold start of `python -c "import app"` when app.py exists.

Run: python bench/runner.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from sr_demo.models.archs import build_arch  # noqa: E402
from sr_demo.models.loader import LoadedModel  # noqa: E402
from sr_demo.models.runner import upscale  # noqa: E402

NETS = {
    "fsrcnn": ("fsrcnn", {}),
    "edsr-16x64": ("edsr", dict(num_feat=64, num_block=16)),
    "rrdb-6x64": ("rrdbnet", dict(num_feat=64, num_block=6)),
}


def make_model(key: str) -> LoadedModel:
    arch, kwargs = NETS[key]
    torch.manual_seed(0)
    module = build_arch(arch, scale=4, **kwargs).eval().requires_grad_(False)
    params = sum(p.numel() for p in module.parameters())
    return LoadedModel(key, module, 4, arch, params, None, "builtin", True, True, 1)


def image(size: int) -> np.ndarray:
    return np.random.default_rng(0).random((size, size, 3), dtype=np.float32)


def best_of(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def eager(module: torch.nn.Module, lr: np.ndarray) -> torch.Tensor:
    with torch.inference_mode():
        return module(torch.from_numpy(lr).permute(2, 0, 1)[None])


def table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n## {title}")
    for i, row in enumerate(cells):
        print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def bench_settings() -> None:
    module, lr = make_model("edsr-16x64").module, image(96)
    eager(module, lr)
    rows = []
    for threads in sorted({1, torch.get_num_threads()}):
        torch.set_num_threads(threads)
        contiguous = best_of(lambda: eager(module, lr), 5)
        module.to(memory_format=torch.channels_last)
        x = torch.from_numpy(lr).permute(2, 0, 1)[None].contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            last = best_of(lambda: module(x), 5)
        module.to(memory_format=torch.contiguous_format)
        rows.append([threads, contiguous, last, contiguous / last])
    torch.set_num_threads(max(r[0] for r in rows))
    table("EDSR 96x96 x4 forward, seconds", ["threads", "contiguous", "channels_last", "speed-up"], rows)


def bench_eager_vs_runner() -> dict[str, float]:
    lr, rows, seconds = image(256), [], {}
    for key in NETS:
        model = make_model(key)
        reps = 3 if key == "fsrcnn" else 2
        upscale(model, image(32), device="cpu")  # warm-up (also sets channels_last)
        model.module.to(memory_format=torch.contiguous_format)
        eager(model.module, image(32))
        t_eager = best_of(lambda: eager(model.module, lr), reps)
        t_runner = best_of(lambda: upscale(model, lr, device="cpu"), reps)
        result = upscale(model, lr, device="cpu")
        reference = eager(model.module, lr)[0].permute(1, 2, 0).numpy()
        diff = float(np.abs(reference.clip(0, 1) - result.sr).max())
        assert diff <= 1e-4, f"{key}: upscale() differs from eager by {diff}"
        in_range = float(((reference > 0) & (reference < 1)).mean())  # where the clamp leaves a real comparison
        rows.append([key, f"{model.params / 1e6:.2f}M", t_eager, t_runner, t_runner / t_eager,
                     f"{diff:.1e}", f"{in_range:.0%}", result.tiles])
        seconds[key] = t_runner
    table("x4 on 256x256 LR (CPU): eager forward vs upscale()",
          ["model", "params", "eager s", "upscale s", "ratio", "max|diff|", "in (0,1)", "tiles"], rows)
    return seconds


def child(key: str, tile: str, size: int, reps: int) -> None:
    """One measurement in a fresh process: peak RSS (VmHWM; getrusage's
    maxrss would include the parent's RSS at fork) above the RSS at start."""
    model, lr = make_model(key), image(size)
    rss_start = proc_status_mib("VmRSS")
    seconds = []
    for _ in range(reps):  # keep no result alive across runs: the peak is one run's
        result = upscale(model, lr, device="cpu", tile=None if tile == "auto" else int(tile))
        seconds.append(result.seconds)
        sr_shape, tiles, tile_size = result.sr.shape, result.tiles, result.tile_size
        del result
    assert sr_shape == (size * 4, size * 4, 3)
    print(json.dumps(dict(seconds=min(seconds), peak_mb=proc_status_mib("VmHWM") - rss_start,
                          tiles=tiles, tile_size=tile_size)))


def proc_status_mib(field: str) -> float:
    line = next(x for x in Path("/proc/self/status").read_text().splitlines() if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024  # kB


def run_child(key: str, tile: str, size: int, reps: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", key, tile, str(size), str(reps)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_tiling(seconds_256: dict[str, float]) -> None:
    rows = []
    for key in ("fsrcnn", "edsr-16x64"):
        estimate = seconds_256[key] * 16 * 1.3  # 16x the pixels, tiles overlap
        if estimate > 90:  # keeps the whole bench under about 5 minutes
            print(f"\n(skipping {key} at 1024x1024: about {estimate:.0f} s per run)")
            continue
        for tile in ("0", "auto"):
            r = run_child(key, tile, 1024, reps=3 if key == "fsrcnn" else 1)
            rows.append([key, "untiled" if tile == "0" else f"auto ({r['tile_size']}px)", r["tiles"],
                         r["seconds"], f"{r['peak_mb']:.0f}"])
    table("x4 on 1024x1024 LR (CPU): untiled vs tiled, fresh process each",
          ["model", "tiling", "tiles", "seconds", "peak MiB above start"], rows)


def bench_cold_start() -> None:
    if not (ROOT / "app.py").exists():
        print("\n(no app.py: cold start skipped)")
        return
    rows = []
    for run in ("first", "second"):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "import app"], cwd=ROOT, capture_output=True, text=True)
        rows.append([run, time.perf_counter() - start, "ok" if done.returncode == 0 else f"rc={done.returncode}"])
    table('cold start: python -c "import app"', ["run", "seconds", "status"], rows)


def main() -> None:
    start = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    bench_settings()
    seconds = bench_eager_vs_runner()
    bench_tiling(seconds)
    bench_cold_start()
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
