"""The runner's size engineering: tiles, padding, precision, memory."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sr_demo.errors import UserError
from sr_demo.models.archs import build_arch
from sr_demo.models.loader import LoadedModel
from sr_demo.models.runner import resolve_device, upscale

cuda_only = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def _loaded(module: nn.Module, scale: int, **overrides) -> LoadedModel:
    fields = dict(
        name="test-net",
        module=module.eval(),
        scale=scale,
        arch="test",
        params=sum(p.numel() for p in module.parameters()),
        sha256=None,
        source="upload",
        supports_half=True,
        tiling_ok=True,
        pad_multiple=1,
    )
    return LoadedModel(**{**fields, **overrides})


def _edsr(scale=2):
    """Receptive field radius about 6 LR pixels, smaller than the overlaps used."""
    torch.manual_seed(0)
    net = build_arch("edsr", scale=scale, num_feat=8, num_block=1)
    for p in net.parameters():
        p.data.normal_(0, 0.1)
    return _loaded(net, scale)


def _image(h, w, seed=0):
    return np.random.default_rng(seed).random((h, w, 3), dtype=np.float32)


class NearestSR(nn.Module):
    """Pixel replication that fails like a real network would."""

    def __init__(self, scale=2, multiple=1, nan_in_half=False, oom_above=None):
        super().__init__()
        self.scale, self.multiple, self.nan_in_half, self.oom_above = scale, multiple, nan_in_half, oom_above
        self.inputs = []

    def forward(self, x):
        self.inputs.append(tuple(x.shape[-2:]))
        assert x.shape[-2] % self.multiple == 0 and x.shape[-1] % self.multiple == 0
        if self.oom_above is not None and max(x.shape[-2:]) > self.oom_above:
            raise torch.OutOfMemoryError("simulated out of memory")
        y = F.interpolate(x, scale_factor=self.scale, mode="nearest")
        if self.nan_in_half and torch.is_autocast_enabled(x.device.type):
            return y * float("nan")
        return y


def test_tiled_equals_untiled():
    model, lr = _edsr(), _image(40, 50)
    whole = upscale(model, lr, device="cpu", tile=0)
    tiled = upscale(model, lr, device="cpu", tile=16, overlap=8)
    assert (whole.tiles, whole.tile_size) == (1, None)
    assert (tiled.tiles, tiled.tile_size) == (12, 16)
    assert np.abs(whole.sr - tiled.sr).max() <= 1e-4


def test_output_size_range_and_progress():
    calls = []
    result = upscale(_edsr(scale=4), _image(13, 17), device="cpu", tile=8, overlap=4,
                     progress=lambda f, text: calls.append((f, text)))
    assert result.sr.shape == (52, 68, 3) and result.sr.dtype == np.float32
    assert 0.0 <= result.sr.min() and result.sr.max() <= 1.0
    assert (result.device, result.precision, result.tiles) == ("cpu", "fp32", 6)
    assert len(calls) == 6 and calls[-1] == (1.0, "tile 6/6")
    assert [f for f, _ in calls] == sorted(f for f, _ in calls)


@pytest.mark.parametrize("tile", [0, 5])
def test_padding_to_multiple_on_odd_sizes(tile):
    module = NearestSR(scale=3, multiple=8)
    lr = _image(9, 13)
    result = upscale(_loaded(module, 3, pad_multiple=8), lr, device="cpu", tile=tile, overlap=2)
    assert result.sr.shape == (27, 39, 3)
    assert np.array_equal(result.sr, lr.repeat(3, 0).repeat(3, 1))


def test_rrdbnet_x2_runs_on_odd_sizes():
    net = build_arch("rrdbnet", scale=2, num_feat=8, num_block=1, num_grow_ch=4)
    result = upscale(_loaded(net, 2, pad_multiple=2), _image(7, 11), device="cpu")
    assert result.sr.shape == (14, 22, 3)


def test_auto_tiles_only_large_inputs():
    model = _loaded(NearestSR(scale=4), 4)
    assert upscale(model, _image(64, 64), device="cpu").tiles == 1
    lr = _image(300, 260)  # 300*260*16 output pixels > AUTO_TILE_HR_PIXELS['cpu']
    result = upscale(model, lr, device="cpu")
    assert result.tiles > 1 and result.tile_size is not None
    assert np.array_equal(result.sr, lr.repeat(4, 0).repeat(4, 1))


def test_tiling_ok_false_is_respected():
    module = NearestSR()
    result = upscale(_loaded(module, 2, tiling_ok=False), _image(30, 30), device="cpu", tile=8)
    assert (result.tiles, result.tile_size) == (1, None)
    assert module.inputs == [(30, 30)]
    assert "must not be tiled" in result.notes[0]


def test_half_precision_nan_falls_back_to_fp32():
    module = NearestSR(nan_in_half=True)
    lr = _image(10, 12)
    result = upscale(_loaded(module, 2), lr, device="cpu", precision="fp16", tile=6, overlap=2)
    assert result.precision == "fp16" and np.isfinite(result.sr).all()
    assert np.array_equal(result.sr, lr.repeat(2, 0).repeat(2, 1))
    assert "re-run in fp32" in result.notes[0]


def test_no_half_when_unsupported():
    module = NearestSR(nan_in_half=True)
    result = upscale(_loaded(module, 2, supports_half=False), _image(8, 8), device="cpu", precision="fp16")
    assert result.precision == "fp32" and len(module.inputs) == 1
    assert "half precision" in result.notes[0]


def test_out_of_memory_halves_the_tile():
    module = NearestSR(oom_above=64)
    lr = _image(100, 100)
    result = upscale(_loaded(module, 2), lr, device="cpu", overlap=4)
    assert (result.tiles, result.tile_size) == (4, 50)
    assert np.array_equal(result.sr, lr.repeat(2, 0).repeat(2, 1))
    assert "out of memory" in result.notes[0]
    with pytest.raises(UserError, match="Out of CPU memory"):
        upscale(_loaded(NearestSR(oom_above=10), 2), lr, device="cpu", overlap=4)
    with pytest.raises(UserError, match="Out of CPU memory"):  # tile=0: never tile, not even on OOM
        upscale(_loaded(NearestSR(oom_above=64), 2), lr, device="cpu", tile=0)


@pytest.mark.parametrize(
    "lr,kwargs,message",
    [
        (np.zeros((8, 8, 3), np.uint8), {}, "float values"),
        (np.full((8, 8, 3), 255.0, np.float32), {}, r"range \[255, 255\]"),
        (np.zeros((8, 8), np.float32), {}, "HxWx3"),
        (np.zeros((8, 8, 3), np.float32), {"precision": "fp8"}, "precision"),
        (np.zeros((8, 8, 3), np.float32), {"tile": -1}, "tile"),
    ],
)
def test_bad_inputs(lr, kwargs, message):
    with pytest.raises(UserError, match=message):
        upscale(_loaded(NearestSR(), 2), lr, device="cpu", **kwargs)


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="no CUDA"):
            resolve_device("cuda")


@cuda_only
def test_cuda_fp16_close_to_fp32():
    model, lr = _edsr(), _image(64, 64)
    fp32 = upscale(model, lr, device="cuda", precision="fp32")
    auto = upscale(model, lr, device="cuda")
    assert auto.precision == "fp16" and auto.device.startswith("cuda")
    assert np.abs(fp32.sr - auto.sr).max() < 2e-2


@cuda_only
def test_cuda_nan_in_half_falls_back():
    result = upscale(_loaded(NearestSR(nan_in_half=True), 2), _image(16, 16), device="cuda")
    assert np.isfinite(result.sr).all() and "fp32" in result.notes[0]


def test_models_stay_differentiable_after_a_run():
    """LAM differentiates through the same cached models the runner has run (bicubic's matrices too)."""
    from sr_demo.models import get_model
    from sr_demo.models.archs import build_arch
    from sr_demo.models.loader import LoadedModel

    conv = LoadedModel(name="tiny", module=build_arch("edsr", scale=2, num_feat=4, num_block=1).eval(), scale=2,
                       arch="edsr", params=0, sha256=None, source="zoo", supports_half=True, tiling_ok=True,
                       pad_multiple=1)
    for model in (conv, get_model("bicubic-x2")):
        upscale(model, np.full((9, 11, 3), 0.5, np.float32), device="cpu")
        x = torch.rand(1, 3, 9, 11, requires_grad=True)
        model.module(x).sum().backward()
        assert x.grad is not None and torch.isfinite(x.grad).all()
