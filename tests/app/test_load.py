"""bench/load.py at CI size: concurrent sessions of every kind of request, zero errors, within its time bound."""

import os
import sys

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402  (bench/ holds scripts, imported by name as training/ is)


def test_concurrent_mixed_requests_all_succeed(app_url):
    report = load.run_load(app_url, clients=3, requests=5, max_seconds=600, server_pid=os.getpid())
    assert report.errors == [] and report.unstarted == 0
    assert all(report.latencies[kind] for kind in load.KINDS)  # 15 requests cover all five kinds
    assert report.peak_rss_mb > 0 and len(report.lines()) == 1 + len(load.KINDS)
