"""The GAN-prior tab's handlers called directly: photo, click, invert (with bicubic and a zoo model), the
PSNR-against-codes sweep with its control, stop, and bad input. Few iterations: this is about the wiring."""

from __future__ import annotations

import threading
import time

import gradio as gr
import numpy as np
import pytest

from sr_demo.ui.tabs import ganprior as tab

PHOTO = "examples/heldout/gcompris-monuments-colosseum_0.png"


class _Click:
    def __init__(self, x: int, y: int):
        self.index = (x, y)


@pytest.fixture(scope="module")
def state() -> dict:
    view, state, info = tab.load_photo(PHOTO)
    assert view.shape == (240, 240, 3) and state["xy"] == (88, 88) and "centre 64×64 crop" in info
    return state


def test_click_centres_the_crop_and_keeps_it_inside(state):
    _, moved, info = tab.place_crop(state, _Click(100, 120))
    assert moved["xy"] == (68, 88) and "(68, 88)" in info
    _, corner, _ = tab.place_crop(state, _Click(2, 239))
    assert corner["xy"] == (0, 176)


def test_sr_run_shows_crop_lr_bicubic_zoo_model_and_prior(state):
    zoo = tab.zoo_choices()[1]
    pictures, rows, fig, info = tab.run(state, "sr", 3, "8", 5, zoo)
    captions = [c for _, c in pictures]
    assert captions[0].startswith("the crop") and captions[1].startswith("LR input")
    assert captions[2].startswith("bicubic") and captions[3].startswith(zoo) and captions[4].startswith("GAN prior")
    assert all(p.shape == (256, 256, 3) for p, _ in pictures)
    assert [r[0] for r in rows] == ["GAN prior", "bicubic ×4", zoo]
    assert all(np.isfinite(r[1]) for r in rows)
    assert len(fig.data[0].y) == 5 and "in " in info


def test_reconstruction_run_has_no_bicubic(state):
    pictures, rows, _, _ = tab.run(state, "recon", 2, "16", 3, tab.NO_MODEL)
    assert len(pictures) == 2 and [r[0] for r in rows] == ["GAN prior"]


def test_sweep_plots_trained_and_control_for_every_code_count(state):
    fig = tab.sweep(state, "sr", "8", 3, True)
    names = [t.name for t in fig.data]
    assert names == ["trained generator", "untrained control"]
    assert all(len(t.y) == 4 and list(t.x) == [1, 5, 10, 20] for t in fig.data)


def test_stop_returns_the_partial_result():
    _, state, _ = tab.load_photo(PHOTO)
    out = {}
    worker = threading.Thread(target=lambda: out.update(result=tab.run(state, "sr", 2, "8", 2000, tab.NO_MODEL)))
    worker.start()
    time.sleep(3)
    tab.stop(None)
    worker.join(timeout=120)
    assert not worker.is_alive()
    assert "Stopped at iteration" in out["result"][3]


@pytest.mark.parametrize("args, message", [
    ((None, "sr", 20, "8", 10, tab.NO_MODEL), "Upload a photo first"),
    (("STATE", "sr", 0, "8", 10, tab.NO_MODEL), "codes"),
    (("STATE", "sr", 20, "8", "lots", tab.NO_MODEL), "Iterations must be a whole number"),
    (("STATE", "sr", 2.5, "8", 10, tab.NO_MODEL), "whole number"),
    (("STATE", "inpaint", 20, "8", 10, tab.NO_MODEL), "Task"),
    (("STATE", "sr", 20, "64", 10, tab.NO_MODEL), "composing layer"),
])
def test_bad_requests_get_one_clear_message(state, args, message):
    args = tuple(state if a == "STATE" else a for a in args)
    with pytest.raises(gr.Error, match=message):
        tab.run(*args)


def test_a_photo_smaller_than_the_crop_is_refused(tmp_path):
    from sr_demo.imaging import save_png

    small = save_png(np.zeros((40, 90, 3), np.float32), tmp_path / "small.png")
    with pytest.raises(gr.Error, match="64×64 crop; this image is only 90×40"):
        tab.load_photo(str(small))


def test_the_generator_card_shows_samples_and_how_narrow_the_prior_is():
    import json

    from sr_demo.models.zoo import models_dir

    sheet, text = tab.generator_card()
    card = json.loads((models_dir() / "gan-64.json").read_text())
    assert sheet.endswith("gan-64-samples.png")
    assert f"trained {card['iterations']} iterations" in text and "nearest" in text.lower()
