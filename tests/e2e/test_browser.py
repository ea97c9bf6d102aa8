"""Debian's Chromium, driven by Playwright, uses the app as a person would: clicks included."""

from __future__ import annotations


def test_degrade_send_upscale_and_click_the_loupe(page, chelsea_path, shots):
    page.locator("input[type=file]").first.set_input_files(chelsea_path)
    page.get_by_role("button", name="Degrade", exact=True).click()
    page.get_by_text("HR 448×300 → LR 112×75").wait_for(timeout=60_000)
    page.screenshot(path=str(shots / "degrade.png"), full_page=True)

    page.get_by_role("button", name="Send HR + LR to Super-resolve →").click()
    page.get_by_role("button", name="Super-resolve", exact=True).click()
    page.wait_for_function(r"() => /bicubic-x4\s+×4\s+[\d.]+/.test(document.querySelector('#sr-scores').innerText)",
                           timeout=120_000)
    assert "dB" not in page.locator("#sr-scores").inner_text()  # numbers, not strings with units

    before = page.locator("#sr-loupe").inner_html()
    overview = page.locator("#sr-overview img").first
    overview.scroll_into_view_if_needed()  # a mouse click lands only inside the viewport
    box = overview.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    page.wait_for_function("(b) => document.querySelector('#sr-loupe').innerHTML !== b", arg=before,
                           timeout=60_000)
    page.screenshot(path=str(shots / "superresolve.png"), full_page=True)
