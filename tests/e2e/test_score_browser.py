"""Debian's Chromium, driven by Playwright, scores images in the Score tab and reads a number back."""

from __future__ import annotations

import re

HELDOUT = "examples/heldout/gcompris-monuments-colosseum_0.png"


def test_score_two_images_and_read_psnr(page, tmp_path, shots):
    from sr_demo.degradations.jpeg import jpeg
    from sr_demo.imaging import load_image, save_png

    ref = load_image(HELDOUT).rgb
    files = [str(save_png(jpeg(ref, 30), tmp_path / "jpeg30.png")), str(save_png(ref[:, ::-1], tmp_path / "flip.png"))]
    page.get_by_role("tab", name="Score").click()
    page.locator("#score-ref input[type=file]").set_input_files(HELDOUT)
    page.locator("#score-uploads input[type=file]").set_input_files(files)
    page.get_by_text("jpeg30.png").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Score", exact=True).click()
    page.wait_for_function(
        r"() => /jpeg30\.png\s+[\d.]+/.test(document.querySelector('#score-table').innerText)", timeout=120_000)
    psnr = float(re.search(r"jpeg30\.png\s+([\d.]+)", page.locator("#score-table").inner_text()).group(1))
    assert 25 < psnr < 40  # PSNR-Y of JPEG q30, the first column
    page.get_by_text("meaningless").first.wait_for(timeout=60_000)  # 2 images < 8: flagged
    for plot in ("#score-bars", "#score-agreement", "#score-shift-plot"):
        page.locator(f"{plot} .main-svg").first.wait_for(timeout=60_000)
    page.screenshot(path=str(shots / "score.png"), full_page=True)


def test_perception_distortion_plot_renders(page, shots):
    """Two quick models (the others unticked), default axes: the scatter and the rankings appear."""
    keep = {"nearest-x4", "bicubic-x4"}
    page.get_by_role("tab", name="Score").click()
    page.get_by_text("Perception–distortion: zoo models on one image").click()
    boxes = page.locator("#score-pd-models label")
    boxes.first.wait_for(timeout=60_000)
    for label in boxes.all():
        box = label.locator("input[type=checkbox]")
        if (label.inner_text().strip() in keep) != box.is_checked():
            box.click()
    page.locator("#score-pd-run").click()
    page.locator("#score-pd-plot .main-svg").first.wait_for(timeout=180_000)
    page.wait_for_function(
        "() => /bicubic-x4/.test(document.querySelector('#score-pd-ranks').innerText)", timeout=60_000)
    points = page.locator("#score-pd-plot .scatterlayer .point")
    assert points.count() == 2
    page.screenshot(path=str(shots / "score_perception_distortion.png"), full_page=True)
