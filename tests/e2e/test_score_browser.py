"""Debian's Chromium, driven by Playwright, scores images in the Score tab and reads a number back."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"),
]
SHOTS = Path(os.environ.get("SR_DEMO_SCREENSHOTS", "/tmp/srlab_screenshots"))
HELDOUT = "examples/heldout/gcompris-monuments-colosseum_0.png"


@pytest.fixture(scope="module")
def page(app_url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.get_by_role("tab", name="Score").wait_for(timeout=60_000)
        yield page
        browser.close()


def test_score_two_images_and_read_psnr(page, tmp_path):
    from sr_demo.degradations.jpeg import jpeg
    from sr_demo.imaging import load_image, save_png

    SHOTS.mkdir(parents=True, exist_ok=True)
    ref = load_image(HELDOUT).rgb
    files = [str(save_png(jpeg(ref, 30), tmp_path / "jpeg30.png")), str(save_png(ref[:, ::-1], tmp_path / "flip.png"))]
    page.get_by_role("tab", name="Score").click()
    page.locator("#score-ref input[type=file]").set_input_files(HELDOUT)
    page.locator("#score-uploads input[type=file]").set_input_files(files)
    page.get_by_text("jpeg30.png").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Score", exact=True).click()
    page.wait_for_function(
        r"() => /jpeg30\.png\s+[\d.]+/.test(document.querySelector('#score-table').innerText)", timeout=120_000)
    psnr = float(re.search(r"jpeg30\.png\s+([\d.]+)", page.locator("#score-table").inner_text()).group(1))
    assert 25 < psnr < 40  # PSNR-Y of JPEG q30, the first column
    page.get_by_text("meaningless").first.wait_for(timeout=10_000)  # 2 images < 8: flagged
    for plot in ("#score-bars", "#score-agreement", "#score-shift-plot"):
        page.locator(f"{plot} .main-svg").first.wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "score.png"), full_page=True)
