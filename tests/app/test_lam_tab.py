"""The LAM tab's Gradio handlers called directly, as the UI calls them."""

import json

import gradio as gr
import numpy as np
import pytest
import torch

from sr_demo.imaging import load_image, save_png
from sr_demo.lam import clear_cache
from sr_demo.ui.tabs import lam as ltab
from sr_demo.ui.tabs import superres as stab


def _noop_progress(*args, **kwargs):
    return None


@pytest.fixture
def lr_path(chelsea_path, tmp_path):
    """A 48x40 crop of the example: fast on CPU, and smaller than the 64 px context."""
    return str(save_png(load_image(chelsea_path).rgb[110:150, 170:218], tmp_path / "lr.png"))


@pytest.fixture(autouse=True)
def fresh_cache():
    clear_cache()
    yield
    clear_cache()


def test_show_click_and_compare_two_models(lr_path):
    sr, state, info = ltab.show_sr(lr_path, ["bicubic-x4", "lanczos-x4"], 16, {}, None)
    assert sr.shape == (160, 192, 3) and state["center"] == (96.0, 80.0) and "×4" in info
    assert np.allclose(sr[71, 90], [1.0, 0.1, 0.1])  # the default window (88, 72)-(104, 88) is outlined outside
    assert not np.allclose(sr[72, 90], [1.0, 0.1, 0.1])  # and its own pixels stay visible

    sr2, state = ltab.place_window(state, 16, gr.SelectData(None, {"index": [20, 155], "value": None}))
    assert state["center"] == (20.0, 155.0) and np.allclose(sr2[159, 20], [1.0, 0.1, 0.1])  # moved inside

    gallery, table, plot, branches, info = ltab.run_lam(state, ["bicubic-x4", "lanczos-x4"], 16, 10, "blur",
                                                        "context", {}, progress=_noop_progress)
    assert [row[0] for row in table] == ["bicubic-x4", "lanczos-x4"]
    assert all(isinstance(row[1], float) and 0 < row[1] < 100 for row in table)
    assert table[0][4] == 2.0 and table[1][4] == 3.0  # receptive fields of the kernels
    pictures = gallery["value"]
    assert len(pictures) == 4 and pictures[0][0].shape == (160, 192, 3) and "DI" in pictures[0][1]
    assert gallery["height"] >= 2 * ltab.GALLERY_ROW_PX  # both models' rows show without an inner scroll
    assert plot.visible and "Window 16×16 at (12, 144)" in info and not branches.visible

    # one model: no bar chart; the same window again comes from the cache
    _, table1, plot1, _, _ = ltab.run_lam(state, ["bicubic-x4"], 16, 10, "blur", "context", {},
                                       progress=_noop_progress)
    assert not plot1.visible and table1[0][1] == table[0][1]


def test_exact_mode_and_other_paths(lr_path):
    _, state, _ = ltab.show_sr(lr_path, ["bicubic-x2"], 16, {}, None)
    for path in ("linear-blur", "linear-black"):
        _, table, _, _, _ = ltab.run_lam(state, ["bicubic-x2"], 12, 5, path, "exact", {},
                                         progress=_noop_progress)
        assert table[0][5] == "48×40 LR (whole image)" and 0 < table[0][1] < 100


def _upload_and_run(lr_path, ckpt, net):
    """Upload `net` as the checkpoint file `ckpt`, show it, run LAM next to bicubic-x2:
    (label, state, run_lam's outputs)."""
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(ckpt))
    _, uploads, _ = stab.add_checkpoint(str(ckpt), {}, [])
    label = next(iter(uploads))
    _, state, _ = ltab.show_sr(lr_path, [label], 16, uploads, None)
    return label, state, ltab.run_lam(state, [label, "bicubic-x2"], 16, 5, "blur", "context", uploads,
                                      progress=_noop_progress)


def test_uploaded_checkpoint_gets_a_map(lr_path, tmp_path):
    from sr_demo.models.archs import build_arch

    net = build_arch("edsr", num_feat=8, num_block=1, scale=2)
    label, _, (_, table, _, _, _) = _upload_and_run(lr_path, tmp_path / "mine.safetensors", net)
    assert table[0][0] == label and table[0][4] == 1 + 2 + 1 + 1 + 0.5  # EDSR-1 at x2: field from its layers


def test_a2n_checkpoint_shows_its_attention_branch_weights(lr_path, tmp_path):
    from sr_demo.models.archs import build_arch

    net = build_arch("a2n", scale=2, num_feat=8, num_up_feat=4, num_block=3)
    label, state, (_, table, _, branches, _) = _upload_and_run(lr_path, tmp_path / "a2n_x2.safetensors", net)
    assert branches.visible and "depends on the crop" in table[0][-1]  # A2N pools globally: flagged
    (bars,) = json.loads(branches.value["plot"])["data"]
    with torch.no_grad():  # the 48x40 image is smaller than the 64 px context: the canvas is all of it
        expected = net.branch_weights(torch.from_numpy(state["lr"]).permute(2, 0, 1)[None])[:, 0, 0]
    assert bars["name"] == label and np.allclose(bars["y"], expected.numpy(), atol=1e-6)


def test_clear_errors(lr_path):
    with pytest.raises(gr.Error, match="Upload an LR image"):
        ltab.run_lam(None, ["bicubic-x4"], 16, 10, "blur", "context", {}, progress=_noop_progress)
    with pytest.raises(gr.Error, match="different scales"):
        ltab.show_sr(lr_path, ["bicubic-x2", "bicubic-x4"], 16, {}, None)
    with pytest.raises(gr.Error, match="at most 4"):
        ltab.show_sr(lr_path, ["bicubic-x4", "lanczos-x4", "nearest-x4", "bicubic-x4", "lanczos-x4"], 16, {}, None)
    _, state, _ = ltab.show_sr(lr_path, ["bicubic-x4"], 16, {}, None)
    with pytest.raises(gr.Error, match="scale changed"):
        ltab.run_lam(state, ["bicubic-x2"], 16, 10, "blur", "context", {}, progress=_noop_progress)
    assert ltab.show_sr(None, ["bicubic-x4"], 16, {}, None) == (None, None, "Upload an LR image.")
