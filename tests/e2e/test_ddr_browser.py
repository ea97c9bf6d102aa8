"""Debian's Chromium opens the DDR tab, runs the default model, sees the scatter and CHI chart, and brushes an
x-range of the scatter to see the LR patches behind it."""

from __future__ import annotations


def test_run_ddr_and_brush_the_scatter(page, shots):
    page.get_by_role("tab", name="DDR").click()
    page.locator("#ddr-run").click()
    scatter = page.locator("#ddr-scatter-a")
    scatter.locator("svg").first.wait_for(timeout=180_000)  # Vega draws the points as SVG
    page.locator("#ddr-chi .js-plotly-plot").first.wait_for(timeout=60_000)
    page.get_by_text("patches; features").wait_for(timeout=60_000)

    box = scatter.locator("svg").first.bounding_box()
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, y, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.55, y, steps=8)
    page.mouse.up()

    page.locator("#ddr-patches img").first.wait_for(timeout=60_000)
    region = page.locator("#ddr-region").inner_text()
    assert "patches with x in" in region
    page.screenshot(path=str(shots / "ddr.png"), full_page=True)
