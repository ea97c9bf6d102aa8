"""Seconds from `python app.py` to the UI answering HTTP 200 (a Space's cold start, minus the install).

Usage: python bench/cold_start.py [--runs 2] [--port 7861]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one_run(port: int, timeout: float = 120.0) -> float:
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1"}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as resp:
                    if resp.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"app.py did not answer within {timeout} s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--port", type=int, default=7861)
    args = parser.parse_args()
    times = [one_run(args.port) for _ in range(args.runs)]
    print("cold start to HTTP 200, seconds: " + ", ".join(f"{t:.2f}" for t in times)
          + f" (budget 20 s: {max(times) / 20:.2f}x of it)")


if __name__ == "__main__":
    main()
