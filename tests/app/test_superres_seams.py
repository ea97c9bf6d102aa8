"""Super-resolve tab: the loupe follows its slider and lands on texture; captions fit; images travel on."""

import gradio as gr
import numpy as np
import pytest
from PIL import ImageFont

from sr_demo.ui.tabs import lam as ltab
from sr_demo.ui.tabs import score as sctab
from sr_demo.ui.tabs import superres as stab


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    from sr_demo.imaging import load_image, save_png
    from tests.conftest import EXAMPLES

    lr = save_png(load_image(EXAMPLES / "chelsea.png").rgb[:75, :112], tmp_path_factory.mktemp("sr") / "lr.png")
    out = stab.run_sr(str(lr), None, ["nearest-x2", "lanczos-x2"], 0, {}, None, progress=lambda *a, **k: None)
    return out[-1]


def test_textured_centre_finds_the_only_texture():
    image = np.full((200, 300, 3), 0.5, np.float32)
    rng = np.random.default_rng(0)
    image[120:170, 30:80] = rng.random((50, 50, 3))  # the one textured patch, centre (55, 145)
    fx, fy = stab.textured_centre(image, 48)
    assert abs(fx * 300 - 55) <= 12 and abs(fy * 200 - 145) <= 12


def test_loupe_follows_its_slider_and_keeps_its_place(state):
    overview, strip, centre = stab.move_loupe(state, 16, gr.SelectData(None, {"index": [100, 60], "value": None}))
    _, big, same = stab.resize_loupe(state, 96, centre)
    assert same == centre and big.shape[0] == 96 * 2 + stab.CAPTION_BAND  # 96 px crops enlarged ×2
    _, after_run, textured = stab.resize_loupe(state, 96)  # after a new run: the slider's size, on texture
    assert after_run.shape == big.shape and textured == stab.textured_centre(stab._view(state, state["overview"]), 96)
    assert stab.resize_loupe(None, 96, None) == gr.skip()


def test_captions_fit_their_tile():
    font = ImageFont.load_default(size=stab.CAPTION_PX)
    name = "realesrgan-x4plus-anime (upload: my checkpoint)"
    shown = stab._fit(name, font, 188)
    assert shown.endswith("…") and font.getlength(shown) <= 188 and name.startswith(shown[:-1])
    assert stab._fit("LR input (nearest)", font, 188) == "LR input (nearest)"


def test_send_to_lam_and_score_need_a_run_and_carry_the_lr(state):
    lr, source, tabs = ltab.send_to_lam(state)
    assert lr is state["lr"] and "Super-resolve" in source and tabs.selected == ltab.TAB_ID
    assert sctab.send_to_score(state).selected == sctab.TAB_ID
    for send in (ltab.send_to_lam, sctab.send_to_score):
        with pytest.raises(gr.Error, match="Super-resolve an image first"):
            send(None)


def test_the_apps_own_shipped_safetensors_loads_as_a_community_upload():
    """A file the zoo itself loads must load as an upload (the loader detects its layout from the keys)."""
    from sr_demo.models.zoo import models_dir

    path = models_dir() / "fsrcnn-x4.safetensors"
    models, uploads, note = stab.add_checkpoint(str(path), {}, [])
    (label,) = uploads
    assert label.startswith("upload: fsrcnn-x4 (×4") and "parameters" in note
