"""The Super-resolve tab's zoo guide: groups, CPU-time warning, noise prefill."""

import json

import gradio as gr
import numpy as np

from sr_demo.api import degrade
from sr_demo.degradations import DegradationSpec, NoiseSpec
from sr_demo.models import zoo
from sr_demo.ui.tabs import model_guide
from sr_demo.ui.tabs.superres import estimate


def test_choices_follow_the_group_order():
    labels = model_guide.choices(zoo.available_entries())
    groups = [zoo.get_entry(name).group for _, name in labels]
    order = list(zoo.GROUP_TITLES)
    assert [order.index(g) for g in groups] == sorted(order.index(g) for g in groups)
    assert all(label.startswith(name) for label, name in labels)


def test_estimate_scales_the_card_with_pixels(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))
    (tmp_path / "fsrcnn-x4.json").write_text(json.dumps({"cpu": {"median_s": 2.0, "lr_side": 128}}))
    assert model_guide.estimated_cpu_seconds("fsrcnn-x4", 256, 256) == 8.0
    assert model_guide.estimated_cpu_seconds("upload: mine (×4, edsr)", 256, 256) is None
    assert model_guide.estimate_note(["fsrcnn-x4"], 256, 256) == ""  # 8 s: not slow
    note = model_guide.estimate_note(["fsrcnn-x4", "bicubic-x4"], 512, 512)  # 32 s
    assert "fsrcnn-x4 ≈ 32 s" in note and "bicubic" not in note


def test_noise_level_prefilled_from_the_degrade_record(tmp_path, chelsea_path):
    from sr_demo.imaging import load_image, save_png

    hr = load_image(chelsea_path).rgb[:64, :64]
    result = degrade(hr, DegradationSpec(scale=4, noise=NoiseSpec(level=15.0)), seed=3)
    triple = {"hr": result.hr, "lr": result.lr, "record": result.record()}
    assert model_guide.noise_from_record(triple["record"]) == 15.0
    lr_path = tmp_path / "lr.png"
    save_png(result.lr, lr_path)
    note, slider = estimate(str(lr_path), ["srmd-x4"], triple)
    assert note == "" and slider == gr.update(value=15.0, visible=True)
    other = tmp_path / "other.png"
    save_png(np.clip(result.lr + 0.1, 0, 1), other)
    assert estimate(str(other), ["srmd-x4"], triple)[1] == gr.update(visible=True)  # not the degraded image
    assert estimate(str(other), ["bicubic-x4"], triple)[1] == gr.update(visible=False)  # nothing reads it


def test_guide_lists_learned_models_with_their_training():
    text = model_guide.guide_markdown()
    assert "`fsrcnn-x4`" in text and "bicubic down-sampling" in text


def test_srmd_runs_with_the_chosen_noise_level(tmp_path, chelsea_path):
    """The slider reaches the non-blind model: two levels, two different outputs, each labelled."""
    from sr_demo.imaging import load_image, save_png
    from sr_demo.ui.tabs.superres import run_sr

    lr_path = tmp_path / "lr.png"
    save_png(load_image(chelsea_path).rgb[:24, :32], lr_path)
    runs = {}
    for sigma in (0, 40):
        *_, info, state = run_sr(str(lr_path), None, ["srmd-x2"], 0, {}, None, sigma)
        runs[sigma] = state["outputs"]["srmd-x2"]
        assert f"noise level σ={sigma}" in runs[sigma].note
    assert np.abs(runs[0].sr - runs[40].sr).max() > 0.01
