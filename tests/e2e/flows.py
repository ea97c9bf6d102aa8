"""Steps several browser tests take the same way."""

from __future__ import annotations


def degrade_chelsea(page, chelsea_path: str) -> None:
    """Degrade tab: upload the cat and degrade it with the default preset."""
    page.locator("input[type=file]").first.set_input_files(chelsea_path)
    page.get_by_role("button", name="Degrade", exact=True).click()
    page.get_by_text("HR 448×300 → LR 112×75").wait_for(timeout=60_000)


def send_and_super_resolve(page, timeout_ms: int) -> None:
    """Send the degraded pair to Super-resolve and run the preselected models (bicubic comes along)."""
    page.get_by_role("button", name="Send HR + LR to Super-resolve →").click()
    page.get_by_role("button", name="Super-resolve", exact=True).click()
    page.wait_for_function(r"() => /bicubic-x4\s+×4\s+[\d.]+/.test(document.querySelector('#sr-scores').innerText)",
                           timeout=timeout_ms)
