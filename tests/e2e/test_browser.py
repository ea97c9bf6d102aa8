"""Debian's Chromium, driven by Playwright, uses the app as a person would: clicks included."""

from __future__ import annotations

from tests.e2e.flows import degrade_chelsea, send_and_super_resolve


def test_degrade_send_upscale_and_click_the_loupe(page, chelsea_path, shots):
    degrade_chelsea(page, chelsea_path)
    page.screenshot(path=str(shots / "degrade.png"), full_page=True)

    send_and_super_resolve(page, timeout_ms=120_000)
    assert "dB" not in page.locator("#sr-scores").inner_text()  # numbers, not strings with units

    before = page.locator("#sr-loupe").inner_html()
    overview = page.locator("#sr-overview img").first
    overview.scroll_into_view_if_needed()  # a mouse click lands only inside the viewport
    box = overview.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    page.wait_for_function("(b) => document.querySelector('#sr-loupe').innerHTML !== b", arg=before,
                           timeout=60_000)
    page.screenshot(path=str(shots / "superresolve.png"), full_page=True)
