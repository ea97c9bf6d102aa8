"""The tabs' Gradio handlers called directly, as the UI calls them."""

import json

import gradio as gr
import numpy as np
import pytest

from sr_demo.imaging import load_image
from sr_demo.models import zoo
from sr_demo.ui.tabs import degrade as dtab
from sr_demo.ui.tabs import superres as stab


def _noop_progress(*args, **kwargs):
    return None


def _degrade(path, preset="blur+noise+jpeg", scale=4, seed=3):
    *controls, spec_json = dtab.apply_preset(preset, scale)
    return dtab.run_degrade(path, seed, spec_json, *controls, progress=_noop_progress), controls, spec_json


def test_preset_fills_every_control_and_the_json(chelsea_path):
    *controls, spec_json = dtab.apply_preset("blur+jpeg", 2)
    spec = json.loads(spec_json)
    assert spec["scale"] == 2 and spec["jpeg_quality"] == 50 and spec["noise"] is None
    assert controls[2] is True and controls[9] is False and controls[13] is True  # blur on, noise off, jpeg on


def test_degrade_handler_is_reproducible_and_records_everything(chelsea_path):
    (zoom, lr, record_json, notes, triple, files), _, _ = _degrade(chelsea_path)
    record = json.loads(record_json)
    assert record["seed"] == 3 and record["lr_size"] == [112, 75] and record["steps"]
    assert zoom.shape == (75 * 4, 112 * 4, 3) and lr.shape == (75, 112, 3)
    assert "448×300" in notes and "cropped" in notes
    assert np.array_equal(triple["lr"], lr) and len(files) == 2
    (_, lr2, *_), _, _ = _degrade(chelsea_path)
    assert np.array_equal(lr, lr2)


def test_pasted_record_restores_controls_and_seed(chelsea_path):
    (_, _, record_json, *_), controls, _ = _degrade(chelsea_path, "noise", 2, seed=11)
    *restored, spec_json, seed = dtab.apply_json(record_json)
    assert restored == controls and seed == 11


@pytest.mark.parametrize("text, match", [("{not json", "not valid JSON"), ("[1, 2]", "object"),
                                         ('{"scale": 5}', "scale")])
def test_bad_spec_json_is_a_clear_error(text, match):
    with pytest.raises(gr.Error, match=match):
        dtab.apply_json(text)


def test_absurd_parameters_are_refused(chelsea_path):
    *controls, spec_json = dtab.apply_preset("blur", 4)
    controls[4] = -3.0  # sigma
    with pytest.raises(gr.Error, match="(?i)sigma"):
        dtab.run_degrade(chelsea_path, 0, spec_json, *controls, progress=_noop_progress)
    with pytest.raises(gr.Error, match="Upload an image"):
        dtab.run_degrade(None, 0, spec_json, *controls, progress=_noop_progress)


def test_send_to_sr_needs_a_degraded_image():
    with pytest.raises(gr.Error, match="Degrade an image first"):
        dtab.send_to_sr(None)


def test_superresolve_handler_scores_and_loupe(chelsea_path, tmp_path):
    from sr_demo.imaging import save_png

    (_, lr, _, _, triple, _), _, _ = _degrade(chelsea_path, "clean", 4)
    lr_path = str(save_png(lr, tmp_path / "lr.png"))
    hr_path = str(save_png(triple["hr"], tmp_path / "hr.png"))
    out = stab.run_sr(lr_path, hr_path, ["lanczos-x4"], 0, {}, triple, progress=_noop_progress)
    (left_img, right_img), left, right, table, overview, strip, bundle, info, state = out
    assert [row[0] for row in table] == ["bicubic-x4", "lanczos-x4"]  # bicubic added as the reference
    assert all(isinstance(row[2], float) and row[2] > 20 for row in table)
    assert left_img.shape == right_img.shape == (300, 448, 3)
    assert strip.shape == (192 + stab.CAPTION_BAND, 4 * (192 + 6) - 6, 3)  # LR, bicubic, lanczos, HR: 48 px ×4
    import zipfile

    with zipfile.ZipFile(bundle) as zf:
        record = json.loads(zf.read("record.json"))
        assert {"lr.png", "hr.png", "sr_lanczos-x4.png"} <= set(zf.namelist())
    assert record["degradation"]["seed"] == 3  # the LR came from this triple, so its record travels

    event = gr.SelectData(None, {"index": [10, 20], "value": None})
    overview2, strip2, centre = stab.move_loupe(state, 16, event)
    assert centre == (10 / 448, 20 / 300)
    assert not np.array_equal(overview, overview2)
    zoom, gap = 12, 6  # 16 px crops enlarged to 192 px, captions below
    side = 16 * zoom
    lanczos_crop = strip2[:side, 2 * (side + gap):2 * (side + gap) + side]
    expected = state["outputs"]["lanczos-x4"].sr[12:28, 2:18]
    np.testing.assert_allclose(lanczos_crop[::zoom, ::zoom], expected, atol=0.5 / 255)


def test_superresolve_refuses_mixed_scales_and_missing_input(chelsea_path):
    with pytest.raises(gr.Error, match="different scales"):
        stab.run_sr(chelsea_path, None, ["bicubic-x2", "bicubic-x4"], 0, {}, None, progress=_noop_progress)
    with pytest.raises(gr.Error, match="Upload an LR image"):
        stab.run_sr(None, None, ["bicubic-x2"], 0, {}, None, progress=_noop_progress)


def test_checkpoint_upload_offers_the_model(tmp_path):
    from safetensors.torch import save_file

    from sr_demo.models.archs import build_arch

    net = build_arch("edsr", num_feat=8, num_block=1, scale=2)
    path = tmp_path / "mine.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    dropdown, uploads, message = stab.add_checkpoint(str(path), {}, ["bicubic-x2"])
    label = next(iter(uploads))
    assert label.startswith(stab.UPLOAD_PREFIX) and "×2" in label and "parameters" in message
    lr = load_image(np.full((16, 16, 3), 0.5, np.float32)).rgb
    from sr_demo.imaging import save_png

    lr_path = str(save_png(lr, tmp_path / "lr.png"))
    out = stab.run_sr(lr_path, None, [label], 0, uploads, None, progress=_noop_progress)
    assert out[3][-1][0] == label and out[0][1].shape == (32, 32, 3)


def test_garbage_checkpoint_is_refused(tmp_path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"garbage")
    with pytest.raises(gr.Error):
        stab.add_checkpoint(str(bad), {}, [])


def test_default_models_prefer_the_learned_x4_zoo(monkeypatch, tmp_path):
    from sr_demo.models import available_entries

    available = {e.name for e in available_entries()}
    if {"srmdnf-x4", "realesrgan-x4plus"} <= available:  # the published zoo is installed
        first = "span-x4" if "span-x4" in available else "srmdnf-x4"
        assert stab.default_models() == [first, "realesrgan-x4plus"]  # one of each training target
    shipped_only = [e.name for e in zoo.ZOO if isinstance(e.source, zoo.PackageFiles)]
    monkeypatch.setattr(zoo, "ZOO", tuple(e for e in zoo.ZOO if e.name not in shipped_only))
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))  # no shipped weights, no packages
    assert stab.default_models() == ["bicubic-x4"]
    for name in ("srresnet-real-x4", "rrdb-real-x4", "fsrcnn-x4", "msrresnet-x4"):  # a grown in-house zoo
        (tmp_path / f"{name}.safetensors").write_bytes(b"")
    assert stab.default_models() == ["fsrcnn-x4", "srresnet-real-x4"]  # one bicubic-trained, one real-world
    assert stab.default_models(limit=3) == ["fsrcnn-x4", "srresnet-real-x4", "msrresnet-x4"]


@pytest.mark.parametrize("seed", [None, "x", 2.5])
def test_degrade_refuses_a_seed_that_is_not_a_whole_number(chelsea_path, seed):
    with pytest.raises(gr.Error, match="whole number"):
        _degrade(chelsea_path, seed=seed)
    assert _degrade(chelsea_path, seed=4.0)[0][2]  # 4.0 from a number box is the seed 4
