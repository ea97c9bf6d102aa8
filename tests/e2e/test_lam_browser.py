"""Debian's Chromium opens the LAM tab, uploads an image, clicks the SR output and reads back a DI."""

from __future__ import annotations

import re


def test_click_the_sr_output_and_read_the_di(page, chelsea_path, tmp_path, shots):
    from sr_demo.imaging import load_image, save_png

    crop = save_png(load_image(chelsea_path).rgb[96:144, 150:214], tmp_path / "eye.png")  # 64x48: quick on CPU
    page.get_by_role("tab", name="LAM").click()
    page.locator("#lam-input input[type=file]").set_input_files(str(crop))
    info = page.get_by_text(re.compile(r"LR 64×48 → ×4 by \S+\."))
    info.wait_for(timeout=60_000)
    model = re.search(r"by (\S+)\.", info.inner_text()).group(1)  # the tab's default: a learned model
    image = page.locator("#lam-sr img").first
    image.wait_for(timeout=60_000)
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.45)

    table = page.locator("#lam-table")
    page.wait_for_function(  # the row's cells, not the progress text "<model>: path step ..."
        r"(m) => new RegExp(m + '\\s+[\\d.]+').test(document.querySelector('#lam-table').innerText)", arg=model,
        timeout=120_000)
    di = float(re.search(re.escape(model) + r"\s+([\d.]+)", table.inner_text()).group(1))  # the DI column
    assert 0 < di < 100
    page.get_by_text(re.compile(r"Window 16×16 at \(\d+, \d+\) of the ×4 output")).wait_for(timeout=60_000)
    page.locator("#lam-maps img").first.wait_for(timeout=60_000)
    page.screenshot(path=str(shots / "lam.png"), full_page=True)
