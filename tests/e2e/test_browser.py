"""Debian's Chromium, driven by Playwright, uses the app as a person would: clicks included."""

from __future__ import annotations

import os
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


@pytest.fixture(scope="module")
def page(app_url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        page.get_by_role("button", name="Degrade", exact=True).wait_for(timeout=60_000)
        yield page
        browser.close()


def test_degrade_send_upscale_and_click_the_loupe(page, chelsea_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("input[type=file]").first.set_input_files(chelsea_path)
    page.get_by_role("button", name="Degrade", exact=True).click()
    page.get_by_text("HR 448×300 → LR 112×75").wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "degrade.png"), full_page=True)

    page.get_by_role("button", name="Send HR + LR to Super-resolve →").click()
    page.get_by_role("button", name="Super-resolve", exact=True).click()
    page.locator("#sr-scores").get_by_text("bicubic-x4").first.wait_for(timeout=120_000)
    assert "dB" not in page.locator("#sr-scores").inner_text()  # numbers, not strings with units

    before = page.locator("#sr-loupe").inner_html()
    box = page.locator("#sr-overview img").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    page.wait_for_function("(b) => document.querySelector('#sr-loupe').innerHTML !== b", arg=before,
                           timeout=30_000)
    page.screenshot(path=str(SHOTS / "superresolve.png"), full_page=True)
