"""Debian's Chromium opens the Dropout study (RDSR) in the Super-resolve tab, compares two random-init
twins on a held-out crop and reads back their scores. Its own server: the twins live in a temporary
models dir (SR_DEMO_MODELS_DIR), so the shared app of the other browser tests stays as shipped."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL, TWIN = "srresnet-real-dropout-x4", "srresnet-real-x4"
LAUNCH = """
import sys
from sr_demo.ui.app import build_demo, launch_kwargs
build_demo().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]), quiet=True, **launch_kwargs())
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """This module's SR Lab (the e2e `page` fixture opens it): a subprocess whose models dir holds the
    shipped files plus two random-init twins."""
    import torch
    from safetensors.torch import save_file

    from sr_demo.models import zoo
    from sr_demo.models.archs import build_arch

    models = tmp_path_factory.mktemp("models")
    for f in (ROOT / "models").iterdir():
        if f.is_file():
            shutil.copy(f, models / f.name)
    for seed, name in enumerate((TWIN, MODEL), start=1):
        entry = zoo.get_entry(name)
        torch.manual_seed(seed)
        net = build_arch(entry.arch, scale=entry.scale, **entry.arch_kwargs)
        save_file({k: v.half().contiguous() for k, v in net.state_dict().items()}, str(models / entry.weights))
    port = _free_port()
    env = {**os.environ, "SR_DEMO_MODELS_DIR": str(models), "GRADIO_ANALYTICS_ENABLED": "False"}
    url = f"http://127.0.0.1:{port}/"
    with open(tmp_path_factory.mktemp("log") / "server.log", "w+") as log:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCH, str(port)], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    pytest.fail(f"the demo did not start:\n{log.read()[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_compare_two_twins_on_a_heldout_crop(page, shots):
    page.get_by_role("tab", name="Super-resolve").click()
    toggle = page.locator("#dropout-study").get_by_text("Dropout study (RDSR)").first
    toggle.scroll_into_view_if_needed()
    toggle.click()
    study = page.locator("#dropout-study")
    study.get_by_text("has not been run on trained weights yet").wait_for(timeout=60_000)

    example = study.locator(".gallery-item, [data-testid='gallery-item'], table.gallery td, button.gallery-item").first
    example.scroll_into_view_if_needed()
    example.click()
    page.locator("#dropout-hr img").first.wait_for(timeout=60_000)

    preset = page.locator("#dropout-preset input")
    preset.scroll_into_view_if_needed()
    preset.click()
    page.get_by_role("option", name="blur+jpeg", exact=True).click()

    go = page.locator("#dropout-go")
    go.scroll_into_view_if_needed()
    go.click()
    pattern = re.escape(MODEL) + r"\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+"
    page.wait_for_function(f"() => /{pattern}/.test(document.querySelector('#dropout-scores').innerText)",
                           timeout=60_000)
    scores = page.locator("#dropout-scores").inner_text()
    assert TWIN in scores and "Gini" in scores
    for name in (MODEL, TWIN):  # the outputs' labels
        page.get_by_text(re.compile(re.escape(name) + r": PSNR-Y [\d.]+ dB")).wait_for(timeout=60_000)
    page.get_by_text(f"Channel saliency of {MODEL}", exact=True).wait_for(timeout=60_000)
    page.get_by_text("preset blur+jpeg", exact=False).first.wait_for(timeout=60_000)
    for elem in ("#dropout-grid-twin img", "#dropout-grid-model img", "#dropout-lr img", "#dropout-plot .js-plotly-plot"):
        page.locator(elem).first.wait_for(timeout=60_000)
    page.wait_for_timeout(500)  # let the plot finish drawing
    page.screenshot(path=str(shots / "dropout_study.png"), full_page=True)
