"""Debian's Chromium opens the GAN-prior tab, uploads a photo, clicks to place the crop, inverts, and measures
PSNR against codes with the control."""

from __future__ import annotations

import re

PHOTO = "examples/heldout/gcompris-monuments-colosseum_0.png"


def test_place_a_crop_invert_and_measure(page, shots):
    page.get_by_role("tab", name="GAN prior").click()
    page.locator("#ganprior-input input[type=file]").set_input_files(PHOTO)
    page.get_by_text("the centre 64×64 crop is selected").wait_for(timeout=60_000)
    for slider, value in (("#ganprior-iters", "20"), ("#ganprior-ncodes", "5")):
        box = page.locator(f"{slider} input[type=number]")
        box.fill(value)
        box.press("Enter")
    image = page.locator("#ganprior-view img").first
    image.wait_for(timeout=60_000)
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    page.get_by_text(re.compile(r"64×64 crop at \(\d+, \d+\)\.")).wait_for(timeout=60_000)

    page.locator("#ganprior-run").click()
    page.wait_for_function(r"() => /GAN prior\s+[\d.]+/.test(document.querySelector('#ganprior-table').innerText)",
                           timeout=180_000)
    table = page.locator("#ganprior-table").inner_text()
    assert re.search(r"bicubic ×4\s+[\d.]+", table)
    info = page.locator("#ganprior-info").inner_text()
    assert "×4 super-resolution of the crop at" in info
    assert page.locator("#ganprior-results img").count() >= 4

    page.locator("#ganprior-sweep").click()
    page.locator("#ganprior-codes .js-plotly-plot").wait_for(timeout=240_000)
    legend = page.locator("#ganprior-codes").inner_text()
    assert "untrained control" in legend and "trained generator" in legend
    page.screenshot(path=str(shots / "ganprior.png"), full_page=True)
