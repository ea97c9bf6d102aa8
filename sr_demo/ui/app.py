"""build_demo(): the whole SR Lab UI as one gr.Blocks; nothing heavy runs at import."""

from __future__ import annotations

import gradio as gr

from sr_demo.ui import atomic_cache
from sr_demo.ui.tabs import ddr, degrade, ganprior, lam, score, superres

INTRO = """# SR Lab
Look *inside* image super-resolution networks. **Degrade** an image reproducibly, then **super-resolve** it
with published networks (Real-ESRGAN, SRMD, waifu2x, SPAN, RDN/RRDN: converted from the weights inside their
registry packages and checked against those packages' own runtimes) and in-house controls trained by this
project's scripts, then click into them (**LAM**), map their features (**DDR**), **score** the results, and
try a small GAN trained here as an SR prior (**GAN prior**).
Every model has a card saying what it was trained on and what we measured."""

CSS = """
#sr-loupe img, .pixelated img { image-rendering: pixelated; }
"""


def build_demo() -> gr.Blocks:
    atomic_cache.install()
    with gr.Blocks(title="SR Lab") as demo:
        gr.Markdown(INTRO)
        with gr.Tabs() as tabs:
            with gr.Tab("Degrade", id="degrade"):
                triple, send = degrade.build()
            with gr.Tab("Super-resolve", id=superres.TAB_ID):
                sr_inputs = superres.build(triple)
            with gr.Tab("LAM", id="lam"):
                lam_inputs = lam.build()
            with gr.Tab("Score", id=score.TAB_ID):
                score.build(sr_inputs["results"])
            with gr.Tab("DDR", id=ddr.TAB_ID) as ddr_tab:
                ddr.build(ddr_tab)
            with gr.Tab("GAN prior", id=ganprior.TAB_ID):
                ganprior.build()
        send.click(degrade.send_to_sr, triple, [sr_inputs["lr"], sr_inputs["hr"], tabs])
        sr_inputs["to_lam"].click(lam.send_to_lam, sr_inputs["results"], [lam_inputs["lr"], lam_inputs["source"], tabs])
        sr_inputs["to_score"].click(score.send_to_score, sr_inputs["results"], tabs)
    demo.queue(max_size=32, default_concurrency_limit=2)
    return demo


def launch_kwargs() -> dict:
    """Launch settings shared by app.py and the tests: uploads capped, PNG everywhere, CSS."""
    return {"max_file_size": "64mb", "css": CSS, "theme": gr.themes.Soft(), "ssr_mode": False}
