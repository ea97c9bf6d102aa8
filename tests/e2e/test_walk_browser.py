"""A new user's walk through every tab in Debian's Chromium: the seams of issue 13 stay fixed.

One page, in order: Degrade (controls that take no effect are disabled) -> Super-resolve (an error leaves
every earlier output in place; the loupe follows its slider) -> Score (the outputs came over) -> LAM (sent
from Super-resolve; every model's row shows; a typed window size and one click run LAM) -> DDR. A
screenshot per tab goes to the `shots` folder.
"""

from __future__ import annotations

from tests.e2e.flows import degrade_chelsea, send_and_super_resolve

MODEL_RUN_S = 240_000  # ms: model work on a shared CPU


def _pick(page, dropdown_label: str, option: str) -> None:
    box = page.get_by_label(dropdown_label, exact=True)
    box.click()
    box.fill(option)
    page.get_by_role("option").filter(has_text=option).first.click()  # labels may add a group: "name · group"
    page.keyboard.press("Escape")


def test_walk_every_tab(page, chelsea_path, shots):
    # Degrade: unticking blur disables its parameters; an example degrades
    page.get_by_text("All parameters").click()
    sigma = page.get_by_label("number input for σ (σx)")
    assert sigma.is_enabled()
    page.get_by_label("Blur", exact=True).uncheck()
    page.wait_for_function("() => document.querySelector('input[aria-label=\"number input for σ (σx)\"]').disabled")
    page.get_by_label("Blur", exact=True).check()
    degrade_chelsea(page, chelsea_path)
    page.screenshot(path=str(shots / "walk_1_degrade.png"), full_page=True)

    # Super-resolve: a run, then an error that must leave its outputs in place
    send_and_super_resolve(page, timeout_ms=MODEL_RUN_S)
    page.wait_for_function("(h) => document.querySelector('#sr-loupe img')?.naturalHeight === h",
                           arg=48 * 4 + 28, timeout=60_000)  # the default 48 px loupe, enlarged ×4
    table_before = page.locator("#sr-scores").inner_text()
    _pick(page, "Models (bicubic at the same scale is added as reference)", "bicubic-x2")
    page.get_by_role("button", name="Super-resolve", exact=True).click()
    page.get_by_text("different scales").first.wait_for(timeout=60_000)  # the toast says what went wrong
    assert page.locator("#sr-scores").inner_text() == table_before  # ... and the table is still there
    assert page.locator("#sr-scores .error, #sr-loupe .error").count() == 0  # no red badge over the outputs
    page.screenshot(path=str(shots / "walk_2_superresolve_error.png"), full_page=True)

    # the loupe follows its slider (crop 96 px, enlarged ×2, plus the caption band)
    size = page.get_by_label("number input for Loupe size (output px)")
    size.fill("96")
    size.press("Enter")
    page.locator("#sr-overview").click(position={"x": 5, "y": 5})  # blur the box: the slider is released
    page.wait_for_function("(h) => document.querySelector('#sr-loupe img')?.naturalHeight === h",
                           arg=96 * 2 + 28, timeout=60_000)
    page.screenshot(path=str(shots / "walk_3_superresolve_loupe.png"), full_page=True)

    # Score: the outputs came over; one click scores them
    page.get_by_role("button", name="Score these outputs →").click()
    page.get_by_text("Input: ").filter(has_text="Super-resolve tab").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Score", exact=True).click()
    page.wait_for_function("() => /bicubic-x4/.test(document.querySelector('#score-table').innerText)",
                           timeout=MODEL_RUN_S)
    page.screenshot(path=str(shots / "walk_4_score.png"), full_page=True)

    # LAM: the LR comes over from Super-resolve; two models; a typed window size and one click run LAM
    page.get_by_role("tab", name="Super-resolve").click()
    page.get_by_role("button", name="Send the LR to LAM →").click()
    page.locator("#lam-source").get_by_text("Super-resolve").wait_for(timeout=30_000)
    page.locator("#lam-sr img").wait_for(timeout=MODEL_RUN_S)
    _pick(page, "Models (up to 4, one scale)", "bicubic-x4")
    page.wait_for_timeout(2_000)  # the SR view is redrawn for the new first model
    window = page.get_by_label("number input for Window (output pixels)")
    window.fill("24")
    image = page.locator("#lam-sr img")
    image.scroll_into_view_if_needed()
    box = image.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.4, box["y"] + box["height"] * 0.4)
    page.get_by_text("Window 24×24").wait_for(timeout=MODEL_RUN_S)
    page.screenshot(path=str(shots / "walk_5_lam.png"), full_page=True)
    table = page.locator("#lam-table").inner_text()
    assert "bicubic-x4" in table and table.count("64×64 LR") == 2  # both models' rows: the default and bicubic
    gallery = page.locator("#lam-maps")
    assert gallery.locator("img").count() == 4
    hidden = page.evaluate("""() => [...document.querySelectorAll('#lam-maps img')]
        .filter(img => { const r = img.getBoundingClientRect(), g = document.querySelector('#lam-maps')
                         .getBoundingClientRect(); return r.bottom > g.bottom + 1; }).length""")
    assert hidden == 0  # every model's row shows, none hides in an inner scroll

    page.get_by_role("tab", name="DDR").click()
    page.wait_for_timeout(1_000)
    page.screenshot(path=str(shots / "walk_6_ddr.png"), full_page=True)
