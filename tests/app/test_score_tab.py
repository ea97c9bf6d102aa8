"""The Score tab's handlers called directly, as the UI calls them."""

from types import SimpleNamespace

import cv2
import gradio as gr
import numpy as np
import pytest

from sr_demo.imaging import save_png
from sr_demo.iqa.agreement import metric_agreement
from sr_demo.ui.tabs import score as tab

HELDOUT = "examples/heldout/gcompris-monuments-colosseum_0.png"
FAST = ["psnr_y", "ssim_y", "ms_ssim_y"]


def _noop(*args, **kwargs):
    return None


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A held-out photo as reference and 8 distorted versions of it, as PNG files."""
    from sr_demo.imaging import load_image

    ref = load_image(HELDOUT).rgb
    rng = np.random.default_rng(0)
    out = tmp_path_factory.mktemp("score")
    paths = []
    for i in range(8):
        noisy = np.clip(ref + rng.normal(0, 0.01 * (i + 1), ref.shape), 0, 1)
        img = cv2.GaussianBlur(ref, (0, 0), 0.5 + i * 0.4) if i % 2 else noisy
        paths.append(str(save_png(img, out / f"d{i}.png")))
    return str(save_png(ref, out / "ref.png")), paths


def _run(ref, paths, metrics=FAST, sr=None, crop_common=False):
    return tab.run_scores(ref, paths, sr, metrics, 0, crop_common, progress=_noop)


def test_scores_table_charts_and_agreement(images):
    ref, paths = images
    table, bars, agree, note, notes, dropdown, state, a, b, prompt, judge = _run(ref, paths)
    assert len(table.value["data"]) == 8 and table.value["headers"][1] == "PSNR-Y (dB) ↑"
    assert len(bars.data) == 3 and agree is not None and "meaningless" not in note
    assert "BT.601" in notes and dropdown.value == "d0.png"
    assert state["scores"]["d0.png"]["psnr_y"] > state["scores"]["d6.png"]["psnr_y"]
    tau = metric_agreement(state["scores"], state["metrics"])
    assert np.allclose(np.diag(tau), 1) and np.allclose(tau, tau.T)
    assert a is not None and b is not None and "Round 1" in prompt


def test_fewer_than_8_images_are_flagged(images):
    ref, paths = images
    out = _run(ref, paths[:3])
    assert "meaningless" in out[3] and "3 image" in out[3]


def test_size_mismatch_is_explained_and_crop_is_an_explicit_choice(images, tmp_path):
    ref, paths = images
    small = str(save_png(np.full((180, 170, 3), 0.5, np.float32), tmp_path / "small.png"))
    with pytest.raises(gr.Error, match="crop to common size"):
        _run(ref, [small])
    state = _run(ref, [small], crop_common=True)[6]
    assert state["ref"].shape == (180, 170, 3)


def test_super_resolve_outputs_come_over(images):
    from sr_demo.imaging import load_image

    hr = load_image(images[0]).rgb
    sr = hr[:-2, :-3]  # the SR output of a mod-cropped HR
    results = {"hr": hr, "scale": 4, "outputs": {"bicubic-x4": SimpleNamespace(sr=sr * 0.98),
                                                  "edsr": SimpleNamespace(sr=sr)}}
    ref_value, sr_outputs, info, border = tab.receive_sr(results)
    assert ref_value.shape == sr.shape and set(sr_outputs["outputs"]) == {"bicubic-x4", "edsr"} and border == 4
    assert "2 output" in info and "mod-cropped" in info
    state = _run(None, [], sr=sr_outputs)[6]  # reference comes from the SR tab's HR
    assert list(state["images"]) == ["bicubic-x4", "edsr"]
    assert state["scores"]["edsr"]["ssim_y"] == pytest.approx(1.0)
    with pytest.raises(gr.Error, match="reference"):
        _run(None, [images[1][0]])


def test_shift_demo_psnr_falls(images):
    ref, paths = images
    state = _run(ref, paths[:2])[6]
    fig, table = tab.shift_demo(state, "d0.png", 2)
    rows = {r[0].split(" ")[0]: r for r in table.value["data"]}
    assert rows["PSNR-Y"][2] < rows["PSNR-Y"][1] and rows["SSIM-Y"][2] < rows["SSIM-Y"][1]
    assert len(fig.data) == 3


def test_you_judge_counts_agreement(images):
    ref, paths = images
    out = _run(ref, paths)
    state, judge = out[6], out[10]
    for _ in range(tab.JUDGE_ROUNDS):
        a, b = judge["pairs"][judge["round"]]
        better = "A" if state["scores"][a]["psnr_y"] > state["scores"][b]["psnr_y"] else "B"
        *_, judge, table = tab.judge_pick(state, judge, better)
    rows = {r[0]: r[1] for r in table.value["data"]}
    assert rows["PSNR-Y (dB)"] == f"{tab.JUDGE_ROUNDS}/{tab.JUDGE_ROUNDS}"
    with pytest.raises(gr.Error, match="done"):
        tab.judge_pick(state, judge, "A")


def test_conventions_cover_every_metric():
    from sr_demo.iqa import METRICS

    text = tab.conventions_markdown()
    assert all(m.label in text for m in METRICS.values())
    assert "not PIPAL-trained" in text and "needs internet on first use" in text


# --- perception–distortion view ---------------------------------------------

PD_MODELS = ["nearest-x4", "bicubic-x4", "fsrcnn-x4"]


def test_perception_distortion_scatter_and_rankings():
    from sr_demo.degradations.resize import imresize
    from sr_demo.iqa import METRICS, psnr

    fig, table, note, study = tab.run_perception_distortion(HELDOUT, 4, PD_MODELS, "psnr_y", "swdn",
                                                            progress=_noop)
    assert np.allclose(study.lr, np.clip(imresize(study.hr, 1 / 4), 0, 1))
    # the nearest "model" is pixel replication of the LR the study made: the models ran on that LR
    assert np.array_equal(study.outputs["nearest-x4"], study.lr.repeat(4, 0).repeat(4, 1))
    points = {name: (x, y) for trace in fig.data for name, x, y in zip(trace.text, trace.x, trace.y)}
    assert set(points) == set(PD_MODELS)
    for name in PD_MODELS:
        assert points[name][0] == pytest.approx(psnr(study.outputs[name], study.hr, 4, True))
        assert points[name][1] == study.scores[name]["swdn"]
    headers, rows = table.value["headers"], table.value["data"]
    assert [r[0] for r in rows] == [1, 2, 3] and "PSNR-Y (dB) ↑" in headers and "ST-LPIPS (Alex) ↓" in headers
    for col, header in enumerate(headers[1:], start=1):
        metric = next(m for m in study.scores[PD_MODELS[0]] if header.startswith(METRICS[m].label + " "))
        values = [study.scores[r[col]][metric] for r in rows]
        assert values == sorted(values, reverse=not METRICS[metric].lower_better), header
    assert "Kendall τ" in note and "bicubic" in note


def test_perception_distortion_new_axes_reuse_the_models_outputs():
    *_, study = tab.run_perception_distortion(HELDOUT, 4, PD_MODELS[:2], "psnr_y", "swdn", progress=_noop)
    outputs = dict(study.outputs)
    fig, table, note, again = tab.replot_perception_distortion(study, "ssim_y", "stlpips_alex")
    assert again.outputs.keys() == outputs.keys() and all(again.outputs[k] is outputs[k] for k in outputs)
    assert fig.layout.xaxis.title.text.startswith("SSIM-Y") and fig.layout.yaxis.title.text.startswith("ST-LPIPS")
    with pytest.raises(gr.Error, match="Run the models first"):
        tab.replot_perception_distortion(None, "psnr_y", "swdn")


def test_perception_distortion_refuses_what_it_cannot_run():
    with pytest.raises(gr.Error, match="at least one zoo model"):
        tab.run_perception_distortion(HELDOUT, 4, [], "psnr_y", "swdn", progress=_noop)
    with pytest.raises(gr.Error, match="×2 model"):
        tab.run_perception_distortion(HELDOUT, 4, ["bicubic-x2"], "psnr_y", "swdn", progress=_noop)
    with pytest.raises(gr.Error, match="HR image"):
        tab.run_perception_distortion(None, 4, PD_MODELS, "psnr_y", "swdn", progress=_noop)
    boxes = tab.pd_models_for_scale(2)
    assert boxes.value and all(name.endswith("-x2") for name in boxes.value)
