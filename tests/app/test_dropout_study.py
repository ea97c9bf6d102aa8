"""The dropout study (RDSR): its service and the Super-resolve tab's handlers, on random-init twins
written to a temporary models dir (full-size nets from the zoo entries, fp16 safetensors)."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
import torch

from sr_demo.analysis import dropout_study as ds
from sr_demo.imaging import load_image, mod_crop, save_png
from sr_demo.models import cache, zoo
from sr_demo.ui.tabs import dropout_study as dtab

HELDOUT = Path(__file__).resolve().parents[2] / "examples" / "heldout"
MODEL, TWIN = "srresnet-real-dropout-x4", "srresnet-real-x4"


def _noop_progress(*args, **kwargs):
    return None


def write_random_weights(folder: Path, name: str, seed: int) -> Path:
    """Full-size random-init weights of zoo entry `name`, as training/evaluate.py publishes them."""
    from safetensors.torch import save_file

    from sr_demo.models.archs import build_arch

    entry = zoo.get_entry(name)
    torch.manual_seed(seed)
    net = build_arch(entry.arch, scale=entry.scale, **entry.arch_kwargs)
    path = folder / entry.weights
    save_file({k: v.detach().half().contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def load_direct(folder: Path, name: str) -> torch.nn.Module:
    """The same weights loaded by hand, without the zoo loader or the runner."""
    from safetensors.torch import load_file

    from sr_demo.models.archs import build_arch

    entry = zoo.get_entry(name)
    net = build_arch(entry.arch, scale=entry.scale, **entry.arch_kwargs)
    net.load_state_dict({k: v.float() for k, v in load_file(str(folder / entry.weights)).items()})
    return net.eval()


@pytest.fixture(scope="module")
def twins_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("twins")
    write_random_weights(folder, TWIN, seed=1)
    write_random_weights(folder, MODEL, seed=2)
    return folder


@pytest.fixture(autouse=True)
def fresh_models():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def with_twins(twins_dir, monkeypatch) -> Path:
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(twins_dir))
    return twins_dir


@pytest.fixture
def hr() -> np.ndarray:
    return load_image(HELDOUT / "gcompris-erase-kingfisher_0.png").rgb  # 240x240 -> LR 60x60


# --- pairs -------------------------------------------------------------------------------------


def test_pairs_appear_when_both_weights_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))
    assert ds.twin_pairs() == []
    (tmp_path / f"{TWIN}.safetensors").write_bytes(b"")
    assert ds.twin_pairs() == []  # the variant is still missing
    for name in (MODEL, "srresnet-real-dropout-mid-x4", "msrresnet-x4", "msrresnet-nogr-x4", "rrdb-real-dropout-x4"):
        (tmp_path / f"{name}.safetensors").write_bytes(b"")
    pairs = {p.model: p for p in ds.twin_pairs()}
    assert set(pairs) == {MODEL, "srresnet-real-dropout-mid-x4", "msrresnet-nogr-x4"}  # rrdb-real-x4 missing
    assert pairs[MODEL].twin == TWIN and pairs[MODEL].factor == "dropout 0.7 before conv_last"
    assert pairs["srresnet-real-dropout-mid-x4"].factor == "dropout 0.7 in the middle"
    assert pairs["msrresnet-nogr-x4"].twin == "msrresnet-x4"
    assert pairs["msrresnet-nogr-x4"].factor == "no global residual"
    assert ds.find_pair(MODEL) == pairs[MODEL]
    with pytest.raises(ds.UserError, match="not a trained twin"):
        ds.find_pair(TWIN)


def test_no_twins_gives_the_pending_message(tmp_path, monkeypatch, chelsea_path):
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))
    with pytest.raises(gr.Error, match=r"pending GPU training \(`python training/run_pending\.py`\)"):
        dtab.compare(chelsea_path, None, None, "clean", 0, progress=_noop_progress)
    with gr.Blocks() as demo:
        comps = dtab.build(None)
    texts = [b.value or "" for b in demo.blocks.values() if isinstance(b, gr.Markdown)]
    assert any("pending GPU training" in t and "run_pending.py" in t for t in texts)
    assert comps["pair"].choices == [] and comps["pair"].value is None
    assert comps["workspace"].visible is False  # nothing to compare: no button that can only fail


# --- one comparison ----------------------------------------------------------------------------


def test_compare_twins_scores_shares_and_grids(with_twins, hr):
    from sr_demo.analysis.saliency import channel_maps, spread
    from sr_demo.api import degrade
    from sr_demo.degradations import preset_spec
    from sr_demo.iqa import psnr, ssim
    from sr_demo.lam.render import seismic

    res = ds.compare_twins(hr, MODEL, TWIN, "blur+noise+jpeg", 5)
    expected_lr = degrade(hr, preset_spec("blur+noise+jpeg", 4), 5).lr
    assert np.array_equal(res.lr, expected_lr) and res.lr.shape == (60, 60, 3)
    assert np.array_equal(res.hr, mod_crop(hr, 4))
    assert res.crop == (6, 6, 48, 48) and any("48×48 LR px" in n for n in res.notes)
    assert [r.name for r in res.results] == [TWIN, MODEL]

    x = torch.from_numpy(np.ascontiguousarray(res.lr)).permute(2, 0, 1)[None]
    crop = x[..., 6:54, 6:54]
    pooled = {}
    for r in res.results:
        net = load_direct(with_twins, r.name)
        with torch.no_grad():
            sr = net(x).clamp(0, 1)[0].permute(1, 2, 0).numpy()
        assert r.sr.shape == (240, 240, 3) and np.abs(r.sr - sr).max() < 1e-4
        assert r.metrics["psnr_y"] == pytest.approx(psnr(sr, res.hr, 4, True), abs=1e-3)
        assert r.metrics["psnr_y"] == psnr(r.sr, res.hr, 4, True)
        assert r.metrics["ssim_y"] == pytest.approx(ssim(sr, res.hr, 4, True), abs=1e-4)
        maps = channel_maps(net, crop)
        assert np.allclose(r.contributions, maps.sum((1, 2)), rtol=1e-3, atol=1e-3 * np.abs(maps.sum((1, 2))).max())
        assert r.shares.shape == (64,) and (r.shares >= 0).all() and r.shares.sum() == pytest.approx(1.0)
        assert np.allclose(r.shares, np.abs(r.contributions) / np.abs(r.contributions).sum())
        assert (r.gini, r.entropy) == pytest.approx(tuple(spread(r.shares).values()))
        assert r.ranked_shares[0] == r.shares.max() and r.lorenz[1][-1] == pytest.approx(1.0)
        pooled[r.name] = maps.reshape(64, 64, 3, 64, 3).mean(axis=(2, 4))  # 192x192 output px -> 64x64 tiles
    assert res.model.gini != res.twin.gini  # different weights, different spread

    # the shared colour scale: one limit from both twins' maps
    limit = np.percentile(np.abs(np.concatenate([m.ravel() for m in pooled.values()])), ds.CLIP_PERCENTILE)
    assert res.color_limit == pytest.approx(limit, rel=1e-3)
    # 64 channels: 8x8 tiles of 64 px, 3 px gaps, 12 px captions, a blank 24 px top strip (under Gradio's
    # label), a 24 px colour bar and a 14 px title
    for r in res.results:
        assert r.grid.shape == (24 + 8 * (64 + 12 + 3) + 24 + 14, 8 * 67 - 3, 3) and r.grid.dtype == np.float32
        first = r.order[0]  # the top-left tile is the channel with the largest |contribution|
        assert np.abs(r.contributions[first]) == np.abs(r.contributions).max()
        want = seismic(np.clip(pooled[r.name][first] / res.color_limit, -1, 1) * 0.5 + 0.5)
        assert np.abs(r.grid[24:88, 0:64] - want).max() <= 1 / 255 + 2e-3


def test_compare_twins_refuses_bad_requests(with_twins, hr):
    with pytest.raises(ds.UserError, match="Unknown RDSR preset"):
        ds.compare_twins(hr, MODEL, TWIN, "realesrgan", 0)
    with pytest.raises(ds.UserError, match="two different models"):
        ds.compare_twins(hr, MODEL, MODEL, "clean", 0)
    with pytest.raises(ds.UserError, match="dropout study compares ×4"):
        ds.compare_twins(hr, MODEL, "bicubic-x2", "clean", 0)


def test_large_images_are_centre_cropped(with_twins, chelsea_path, monkeypatch):
    monkeypatch.setattr(ds, "MAX_HR_SIDE", 96)
    res = ds.compare_twins(load_image(chelsea_path).rgb, MODEL, TWIN, "clean", 0)
    assert res.hr.shape == (96, 96, 3) and res.lr.shape == (24, 24, 3) and res.crop == (0, 0, 24, 24)
    assert any("centre-cropped from 451×300 to 96×96" in n for n in res.notes)


# --- the handler -------------------------------------------------------------------------------


def test_handler_uses_the_upload_else_the_tab_hr(with_twins, hr, tmp_path, chelsea_path):
    from sr_demo.iqa import psnr

    hr_path = str(save_png(hr, tmp_path / "hr.png"))
    out = dtab.compare(None, hr_path, MODEL, "noise", 3, progress=_noop_progress)
    lr, sr_twin, sr_model, rows, grid_twin, grid_model, fig, info = out
    assert lr.shape == (240, 240, 3)  # the LR, each pixel enlarged x4
    assert [row[0] for row in rows] == [TWIN, MODEL]
    for image, row in ((sr_twin, rows[0]), (sr_model, rows[1])):
        value = psnr(image["value"], mod_crop(hr, 4), 4, True)
        assert f"PSNR-Y {value:.2f} dB" in image["label"] and row[1] == round(value, 3)
        assert 0 <= row[3] < 1 and 0 < row[4] <= 1
    assert sr_model["label"].startswith(MODEL) and sr_twin["label"].startswith(TWIN)
    assert grid_model["label"].endswith(MODEL) and grid_twin["label"].endswith(TWIN)
    assert f"**{MODEL}** (dropout 0.7 before conv_last)" in info
    assert grid_twin["value"].shape == grid_model["value"].shape and grid_twin["value"].shape[2] == 3
    assert len(fig.data) == 5 and "Gini" in fig.data[0].name
    assert "the tab's HR reference" in info and "preset **noise**, seed 3" in info

    out2 = dtab.compare(chelsea_path, hr_path, MODEL, "noise", 3, progress=_noop_progress)
    assert out2[0].shape != lr.shape and "the uploaded/example image" in out2[-1]


def test_handler_errors_are_clear(with_twins):
    with pytest.raises(gr.Error, match="Choose an HR image"):
        dtab.compare(None, None, MODEL, "clean", 0, progress=_noop_progress)
    with pytest.raises(gr.Error, match="not a trained twin"):
        dtab.compare(None, None, "bicubic-x4", "clean", 0, progress=_noop_progress)


def test_build_offers_the_pairs_and_the_heldout_examples(with_twins):
    with gr.Blocks():
        hr_component = gr.Image(type="filepath")
        comps = dtab.build(hr_component)
    assert comps["pair"].value == MODEL and comps["preset"].value == "blur+noise+jpeg"
    assert comps["workspace"].visible is True
    assert len(dtab.heldout_examples()) >= 8
    assert not comps["study"].visible  # no study file in this models dir


# --- the held-out study table ------------------------------------------------------------------

STUDY = {
    "scale": 4,
    "presets": list(ds.PRESETS),
    "photos": ["a.png", "b.png", "c.png"],
    "resamples": 10000,
    "note": "examples/heldout used",
    "psnr_y": {
        "bicubic": {**{p: 22.0 + i / 10 for i, p in enumerate(ds.PRESETS)}, "mean": 22.35},
        TWIN: {**{p: 24.0 for p in ds.PRESETS}, "mean": 24.0},
        MODEL: {**{p: 24.5 for p in ds.PRESETS[:-1]}, "mean": 24.5},  # one preset missing: rendered as "–"
    },
    "pairs": [
        {"model": MODEL, "twin": TWIN,
         "diff": {**{p: {"diff": 0.5, "ci95": [0.1, 0.9]} for p in ds.PRESETS}, "mean": {"diff": 0.123,
                                                                                          "ci95": [-0.05, 0.3]}}},
        {"model": MODEL, "twin": TWIN, "seed": 1235,
         "diff": {"mean": {"diff": -0.2, "ci95": [-0.4, 0.01]}}},
    ],
}


def test_study_table_absent_present_and_malformed(tmp_path, monkeypatch):
    assert ds.study_table(tmp_path) is None
    (tmp_path / "rdsr-study.json").write_text(json.dumps(STUDY))
    table = ds.study_table(tmp_path)
    assert table.headers == ["model", "row", *ds.PRESETS, "mean"]
    rows = {(r[0], r[1]): r[2:] for r in table.rows}
    assert rows[("bicubic", "PSNR-Y (dB)")][0] == "22.00" and rows[("bicubic", "PSNR-Y (dB)")][-1] == "22.35"
    assert rows[(MODEL, "PSNR-Y (dB)")][-2] == "–" and rows[(MODEL, "PSNR-Y (dB)")][-1] == "24.50"
    first = rows[(f"{MODEL} − {TWIN}", "Δ PSNR-Y [95% CI]")]
    assert first[0] == "+0.50 [+0.10, +0.90]" and first[-1] == "+0.12 [-0.05, +0.30]"
    seeded = rows[(f"{MODEL} − {TWIN} (seed 1235)", "Δ PSNR-Y [95% CI]")]
    assert seeded[-1] == "-0.20 [-0.40, +0.01]" and seeded[0] == "–"
    assert "3 held-out crops" in table.caption and "10000 resamples" in table.caption
    assert "examples/heldout used" in table.caption

    # the view shows it: the tab reads the zoo's models dir
    monkeypatch.setenv("SR_DEMO_MODELS_DIR", str(tmp_path))
    with gr.Blocks() as demo:
        comps = dtab.build(None)
    assert comps["study"].visible and comps["study"].headers == table.headers
    assert f"{MODEL} − {TWIN} (seed 1235)" in json.dumps(comps["study"].value, ensure_ascii=False)
    texts = [b.value or "" for b in demo.blocks.values() if isinstance(b, gr.Markdown)]
    assert any("Held-out study" in t and "paired bootstrap" in t for t in texts)

    (tmp_path / "rdsr-study.json").write_text("{not json")
    broken = ds.study_table(tmp_path)
    assert broken.rows == [] and "could not be read" in broken.caption


def test_study_text_without_a_study_gives_the_command():
    text = dtab.study_text(None)
    assert "has not been run on trained weights yet" in text and "python training/evaluate.py --study rdsr" in text


@pytest.mark.parametrize("seed, match", [(None, "whole number"), ("abc", "whole number"), (1.5, "whole number"),
                                         (-5, r"\[0, 2\^32\)")])
def test_bad_seeds_get_a_clear_message(with_twins, seed, match):
    with pytest.raises(gr.Error, match=match):
        dtab.compare(str(HELDOUT / "gcompris-erase-kingfisher_0.png"), None, MODEL, "clean", seed,
                     progress=_noop_progress)


def test_hostile_images_get_a_clear_message(with_twins, tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(tmp_path / "tiny.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnonsense")
    for name, match in (("tiny.png", "at least 8 pixels"), ("corrupt.png", "not an image")):
        with pytest.raises(gr.Error, match=match):
            dtab.compare(str(tmp_path / name), None, MODEL, "blur", 0, progress=_noop_progress)
    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 65535).astype(np.uint16)).save(tmp_path / "g16.png")
    lr = dtab.compare(str(tmp_path / "g16.png"), None, MODEL, "blur", 0, progress=_noop_progress)[0]
    assert lr.shape[2] == 3  # 16-bit grey becomes RGB: it runs
