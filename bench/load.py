"""Load test: concurrent gradio_client sessions against a launched SR Lab on 127.0.0.1.

Each client runs a fixed mix, round robin: degrade, upscale with a light model, LAM on a small window, score,
and a CPU-only ping (a preset lookup) that must keep answering while model work waits for its one "gpu" slot.
Bounded in count (clients x requests) and time (--max-seconds: past it, no new request starts and the run
fails). Prints errors, peak resident memory of the server, and p50/p95 latency per kind.

Usage: python bench/load.py [--clients 8] [--requests 50] [--max-seconds 1800]   (launches `python app.py`)
       python bench/load.py --url http://127.0.0.1:7860/ ...                       (an app already running)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
LAM_LR = ROOT / "examples" / "lam" / "chelsea_lr64.png"
PHOTO = ROOT / "examples" / "chelsea.png"
KINDS = ("degrade", "upscale", "lam", "score", "ping")
LIGHT_MODEL = "fsrcnn-x4"
HTTP_TIMEOUT_S = 300  # one request may wait behind every other client's model work


@dataclass
class Report:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: list[str] = field(default_factory=list)
    unstarted: int = 0
    peak_rss_mb: float | None = None
    seconds: float = 0.0

    def lines(self) -> list[str]:
        done = sum(len(v) for v in self.latencies.values())
        out = [f"{done} requests in {self.seconds:.1f} s, {len(self.errors)} errors, {self.unstarted} not started "
               f"(time bound), server peak RSS "
               + (f"{self.peak_rss_mb:.0f} MB" if self.peak_rss_mb is not None else "unknown")]
        for kind, values in self.latencies.items():
            if values:
                p50, p95 = np.percentile(values, [50, 95])
                out.append(f"  {kind:<8} n={len(values):<4} p50 {p50:6.2f} s  p95 {p95:6.2f} s")
        out += [f"  error: {e}" for e in self.errors[:10]]
        return out


def _client_inputs(folder: Path) -> dict[str, Path]:
    """Small inputs every client uses: a 112×75 LR and its HR (degraded once here with the API)."""
    from sr_demo.api import degrade
    from sr_demo.degradations import preset_spec
    from sr_demo.imaging import load_image, save_png

    result = degrade(load_image(PHOTO).rgb[:300, :448], preset_spec("clean", 4), 0)
    return {"hr": save_png(result.hr, folder / "hr.png"), "lr": save_png(result.lr, folder / "lr.png")}


def _request(client, kind: str, files: dict[str, Path], spec: tuple):
    from gradio_client import handle_file

    if kind == "ping":
        return client.predict("clean", 2, api_name="/apply_preset")
    if kind == "degrade":
        controls, spec_json = spec
        return client.predict(handle_file(str(files["hr"])), 1, spec_json, *controls, api_name="/run_degrade")
    if kind == "upscale":
        return client.predict(handle_file(str(files["lr"])), handle_file(str(files["hr"])), [LIGHT_MODEL], 0,
                              api_name="/run_sr")
    if kind == "lam":
        client.predict(handle_file(str(LAM_LR)), [LIGHT_MODEL], 16, api_name="/show_sr")
        return client.predict([LIGHT_MODEL], 16, 5, "blur", "context", api_name="/run_lam")
    if kind == "score":
        return client.predict(handle_file(str(files["hr"])), [handle_file(str(files["hr"]))],
                              ["psnr_y", "ssim_y"], 4, False, api_name="/run_scores")
    raise ValueError(kind)


def run_load(url: str, clients: int, requests: int, max_seconds: float, server_pid: int | None = None) -> Report:
    """`clients` sessions x `requests` each, round robin over KINDS; stops starting requests at `max_seconds`."""
    from gradio_client import Client

    report, lock = Report(), threading.Lock()
    folder = Path(tempfile.mkdtemp(prefix="srlab_load_"))
    files = _client_inputs(folder)
    deadline = time.perf_counter() + max_seconds
    peak = _PeakRss(server_pid)

    # sessions open one after another (each fetches the app's config) before the load starts
    sessions = [Client(url, verbose=False, httpx_kwargs={"timeout": HTTP_TIMEOUT_S}) for _ in range(clients)]
    *controls, spec_json = sessions[0].predict("clean", 4, api_name="/apply_preset")

    def session(index: int) -> None:
        client = sessions[index]
        for i in range(requests):
            kind = KINDS[(index + i) % len(KINDS)]
            if time.perf_counter() > deadline:
                with lock:
                    report.unstarted += requests - i
                return
            start = time.perf_counter()
            try:
                _request(client, kind, files, (controls, spec_json))
            except Exception as exc:  # noqa: BLE001 - every failure is counted and shown, none stops the run
                with lock:
                    report.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
                continue
            with lock:
                report.latencies[kind].append(time.perf_counter() - start)

    start = time.perf_counter()
    with peak, ThreadPoolExecutor(clients) as pool:
        list(pool.map(session, range(clients)))
    report.seconds = time.perf_counter() - start
    report.peak_rss_mb = peak.mb
    return report


class _PeakRss:
    """The server's peak resident memory (Linux VmHWM of `pid`); None without a pid (a server run elsewhere)."""

    def __init__(self, pid: int | None):
        self.pid, self.mb = pid, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        status = Path(f"/proc/{self.pid}/status")
        if self.pid and status.is_file():
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.mb = int(line.split()[1]) / 1024
        return False


def _launch(port: int, timeout: float = 180.0) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"the app did not answer on port {port} within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=50, help="per client")
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    parser.add_argument("--url", help="an SR Lab already running (default: launch `python app.py`)")
    parser.add_argument("--port", type=int, default=7871)
    args = parser.parse_args()
    proc = None if args.url else _launch(args.port)
    try:
        url = args.url or f"http://127.0.0.1:{args.port}/"
        report = run_load(url, args.clients, args.requests, args.max_seconds, proc.pid if proc else None)
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"bench/load.py --clients {args.clients} --requests {args.requests}")
    print("\n".join(report.lines()))
    return 0 if not report.errors and not report.unstarted else 1


if __name__ == "__main__":
    sys.exit(main())
