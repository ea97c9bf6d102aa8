"""The DDR tab's Gradio handlers called directly, as the UI calls them."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pytest

from sr_demo.imaging import load_image, save_png
from sr_demo.ui.tabs import ddr as dtab


def _noop_progress(*args, **kwargs):
    return None


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_DEMO_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def two_models():
    """fsrcnn-x4 and a classification trunk side by side, on a small patch set."""
    return dtab.run_ddr(["fsrcnn-x4", "alexnet-stlpips"], None, None, "pca", 8, ["clean", "blur", "noise"], 2,
                        "class", progress=_noop_progress)


def test_two_models_side_by_side_with_chi_across_layers(two_models):
    plot_a, plot_b, chi_fig, info, state, gallery = two_models
    assert plot_a["visible"] and plot_b["visible"] and gallery == []
    table = plot_a["value"]
    assert len(table) == 24 and set(table["class"]) == {"clean", "blur", "noise"}
    assert set(table["group"]) <= set(plot_a["color_map"])  # every legend group has its shade
    assert plot_a["color_map"]["blur · σ1"] != plot_a["color_map"]["blur · σ4"]
    assert "fsrcnn-x4" in info and "alexnet-stlpips" in info
    names = {t.name for t in chi_fig.data}
    assert names == {f"{m} by {w}" for m in ("fsrcnn-x4", "alexnet-stlpips") for w in ("class", "photo")}
    assert [v["layer"] for v in state["views"]] == [dtab._layer_props(n)["value"]
                                                   for n in ("fsrcnn-x4", "alexnet-stlpips")]


def test_brushing_an_x_range_shows_exactly_the_patches_inside(two_models):
    state = two_models[4]
    xy = state["views"][0]["xy"]
    lo, hi = np.quantile(xy[:, 0], [0.25, 0.75])
    items, text = dtab._on_select(0)(state, gr.SelectData(None, {"index": [float(lo), float(hi)], "value": None}))
    inside = int(((xy[:, 0] >= lo) & (xy[:, 0] <= hi)).sum())
    assert len(items) == inside and f"{inside} patches" in text
    assert items[0][0].shape == (128, 128, 3) and items[0][0].dtype == np.uint8
    p = state["views"][0]["patches"]
    first = int(np.flatnonzero((xy[:, 0] >= lo) & (xy[:, 0] <= hi))[0])
    assert items[0][1] == f"{p.cls[first]} · {p.level[first]} · {p.photo[first]}"


def test_recolour_by_photo_keeps_points(two_models):
    state = two_models[4]
    a, _ = dtab.recolour(state, "photo")
    assert set(a["value"]["group"]) == set(state["views"][0]["patches"].photo)
    np.testing.assert_array_equal(a["value"]["x"].to_numpy(), state["views"][0]["xy"][:, 0])


def test_place_a_users_image(two_models, chelsea_path, tmp_path):
    path = save_png(load_image(chelsea_path).rgb[:96, :96], tmp_path / "mine.png")
    plot_a, _, info, state = dtab.place_image(two_models[4], str(path), "class", progress=_noop_progress)
    assert (plot_a["value"]["group"] == "your image").sum() == 24 and plot_a["color_map"]["your image"] == "#000000"
    assert info.count("nearest patches") == 2
    np.testing.assert_array_equal(state["views"][0]["xy"], two_models[4]["views"][0]["xy"])  # PCA: base kept


def test_layer_dropdowns_follow_the_models():
    a, b = dtab.update_layers(["fsrcnn-x4"])
    assert a["visible"] and a["value"] == a["choices"][-1] and not b["visible"]


@pytest.mark.parametrize("names, match", [([], "Pick a model"), (["fsrcnn-x4"] * 3, "at most 2"),
                                          (["bicubic-x4"], "interpolation")])
def test_bad_choices_are_one_clear_message(names, match):
    with pytest.raises(gr.Error, match=match):
        dtab.run_ddr(names, None, None, "pca", 8, ["clean", "noise"], 1, "class", progress=_noop_progress)


def test_placing_before_a_run_is_a_clear_message(chelsea_path):
    with pytest.raises(gr.Error, match="Run DDR first"):
        dtab.place_image(None, chelsea_path, "class", progress=_noop_progress)
    with pytest.raises(gr.Error, match="Run DDR first"):
        dtab._on_select(1)(None, gr.SelectData(None, {"index": [0, 1], "value": None}))
