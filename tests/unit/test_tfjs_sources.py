"""TensorFlow.js layers reader and the UpscalerJS conversions, checked against
TensorFlow.js itself (pure-JS CPU backend under node) on a crop of the cat.

The node side lives in tests/tfjs (`npm ci --prefix tests/tfjs` installs
@tensorflow/tfjs 4.22.0 and the three UpscalerJS 1.0.0 packages); those tests
skip only when node or that install is absent.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

from sr_demo.errors import UserError
from sr_demo.models.archs import build_arch, get_spec
from sr_demo.models.sources.tfjs import conv_oihw, depth_to_space_order, read_layers_model
from sr_demo.models.sources.upscalerjs import FROM_TFJS, PACKAGES, SCALES, convert_rdn, rdn_from_tfjs

ROOT = Path(__file__).resolve().parents[2]
TFJS_DIR = ROOT / "tests" / "tfjs"
NODE_MODULES = TFJS_DIR / "node_modules"
CROP = 16
MODELS = [(package, scale) for package in PACKAGES for scale in SCALES]


def _package_dir(package: str) -> Path:
    return NODE_MODULES / package


def _cat_crop() -> np.ndarray:
    """16x16 of fur and eye from examples/chelsea.png, HWC float32 in [0, 1]."""
    rgb = np.asarray(Image.open(ROOT / "examples" / "chelsea.png").convert("RGB"), dtype=np.float32) / 255.0
    return np.ascontiguousarray(rgb[110 : 110 + CROP, 200 : 200 + CROP])


def _ours(module: torch.nn.Module, hwc: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        out = module.eval()(torch.from_numpy(hwc).permute(2, 0, 1)[None])
    return out[0].permute(1, 2, 0).numpy()


def _converted(package: str, scale: int) -> torch.nn.Module:
    arch = PACKAGES[package][1]
    kwargs, sd = FROM_TFJS[arch](read_layers_model(_package_dir(package) / "models" / f"x{scale}" / "model.json"))
    module = build_arch(arch, **kwargs)
    module.load_state_dict(sd, strict=True)
    return module


@pytest.fixture(scope="module")
def npm_installed() -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    missing = [p for p in ("@tensorflow/tfjs", *PACKAGES) if not (NODE_MODULES / p / "package.json").is_file()]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: run `npm ci --prefix tests/tfjs`")


@pytest.fixture(scope="module")
def tfjs_outputs(npm_installed, tmp_path_factory) -> dict[str, np.ndarray]:
    """Every model's output on the cat crop, computed by TensorFlow.js (one node process)."""
    work = tmp_path_factory.mktemp("tfjs")
    _cat_crop().astype("<f4").tofile(work / "input.bin")
    packages = [str(_package_dir(p)) for p in PACKAGES]
    subprocess.run(["node", str(TFJS_DIR / "run_upscalerjs.cjs"), str(work / "input.bin"), str(CROP), str(CROP),
                    str(work), *packages], check=True, capture_output=True, timeout=900)
    return {f"{p}-x{s}": np.fromfile(work / f"{p.split('/')[1]}-x{s}.bin", "<f4").reshape(CROP * s, CROP * s, 3)
            for p, s in MODELS}


@pytest.mark.parametrize(("package", "scale"), MODELS)
def test_conversion_matches_tensorflow_js(tfjs_outputs, package, scale):
    ref = tfjs_outputs[f"{package}-x{scale}"]
    ours = _ours(_converted(package, scale), _cat_crop())
    assert ours.shape == ref.shape
    assert np.abs(ours - ref).max() <= 1e-4
    assert ref.std() > 0.05  # a real picture came out, not a constant that both sides could agree on


@pytest.mark.parametrize(("package", "scale"), [(p, s) for p, s in MODELS if PACKAGES[p][1] == "rdn"])
def test_shipped_fp16_files_are_the_rounded_conversion(tfjs_outputs, package, scale):
    """models/<rdn-slim|rdn-medium>-xS.safetensors hold exactly the fp16 rounding of the
    package's weights, and that rounding stays within 1e-3 of TensorFlow.js."""
    converted = _converted(package, scale)
    shipped = load_file(ROOT / "models" / f"{PACKAGES[package][0]}-x{scale}.safetensors")
    expected = converted.state_dict()
    assert shipped.keys() == expected.keys()
    for key, tensor in expected.items():
        assert shipped[key].dtype == torch.float16
        assert torch.equal(shipped[key], tensor.half()), key
    converted.load_state_dict(shipped, strict=True)
    assert np.abs(_ours(converted, _cat_crop()) - tfjs_outputs[f"{package}-x{scale}"]).max() <= 1e-3


def test_converter_refuses_a_graph_it_does_not_reproduce(npm_installed):
    model = read_layers_model(_package_dir("@upscalerjs/esrgan-slim") / "models" / "x2" / "model.json")
    elu = tuple(dataclasses.replace(layer, config={**layer.config, "activation": "elu"})
                if layer.cls == "Activation" else layer for layer in model.layers)
    with pytest.raises(UserError, match="elu"):
        rdn_from_tfjs(dataclasses.replace(model, layers=elu))
    entry = SimpleNamespace(name="rdn-slim-x2", arch="rdn", scale=4, arch_kwargs={})
    with pytest.raises(UserError, match="zoo expects"):
        convert_rdn({"model_json": _package_dir("@upscalerjs/esrgan-slim") / "models" / "x2" / "model.json"}, entry)


@pytest.mark.parametrize(("arch", "kwargs"), [
    ("rdn", dict(num_blocks=2, convs_per_block=2)),
    ("rrdn", dict(num_rrdb=1, dense_blocks=2, convs_per_block=2)),
])
def test_capabilities(arch, kwargs):
    spec = get_spec(arch)
    module = build_arch(arch, scale=3, num_feat=8, growth=4, **kwargs)
    layers = spec.feature_layers(module)
    deepest = module.get_submodule(list(layers.values())[-1])
    seen = []
    deepest.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    module(torch.rand(1, 3, 5, 7))
    assert seen[-1][-2:] == (5, 7)  # LR resolution, before the up-sampler
    # the radius is where an LR impulse stops reaching: perturb one LR pixel and see how far the change spreads
    radius = spec.receptive_radius(module)
    x = torch.rand(1, 3, 41, 41)
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0, 0.1)
        y = x.clone()
        y[..., 20, 20] += 1
        changed = (module(x) - module(y)).abs().amax(dim=(0, 1)) > 0
    rows = changed.any(dim=1).nonzero()
    reach_hr = max(20 * 3 - rows.min().item(), rows.max().item() - (21 * 3 - 1))
    assert reach_hr / 3 == pytest.approx(radius)


# --- reader, on a model.json written here ---------------------------------


def _write_model(tmp_path: Path, kernel: np.ndarray, bias: np.ndarray, dtype: str = "float32") -> Path:
    """A one-conv layers model whose weights are split over two shards."""
    data = np.concatenate([kernel.ravel(), bias.ravel()]).astype("<f4").tobytes()
    (tmp_path / "group1-shard1of2.bin").write_bytes(data[:100])
    (tmp_path / "group1-shard2of2.bin").write_bytes(data[100:])
    spec = {
        "format": "layers-model",
        "modelTopology": {"model_config": {"class_name": "Functional", "config": {"layers": [
            {"class_name": "Conv2D", "name": "c", "config": {"filters": 4}, "inbound_nodes": []}]}}},
        "weightsManifest": [{"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"], "weights": [
            {"name": "c/kernel", "shape": list(kernel.shape), "dtype": dtype},
            {"name": "c/bias", "shape": list(bias.shape), "dtype": "float32"}]}],
    }
    path = tmp_path / "model.json"
    path.write_text(json.dumps(spec))
    return path


@pytest.fixture
def conv_weights():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 3, 2, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)


def test_reader_joins_shards_and_transposes_kernels(tmp_path, conv_weights):
    kernel, bias = conv_weights
    model = read_layers_model(_write_model(tmp_path, kernel, bias))
    assert np.array_equal(model.tensor("c/kernel"), kernel) and np.array_equal(model.tensor("c/bias"), bias)
    oihw = conv_oihw(model.tensor("c/kernel"))
    for o, i, h, w in np.ndindex(oihw.shape):
        assert oihw[o, i, h, w] == kernel[h, w, i, o]


def test_reader_rejects_a_truncated_shard(tmp_path, conv_weights):
    path = _write_model(tmp_path, *conv_weights)
    shard = tmp_path / "group1-shard2of2.bin"
    shard.write_bytes(shard.read_bytes()[:-4])
    with pytest.raises(UserError, match="short"):
        read_layers_model(path)


def test_reader_rejects_extra_bytes_missing_shards_and_unknown_dtypes(tmp_path, conv_weights):
    path = _write_model(tmp_path, *conv_weights)
    shard = tmp_path / "group1-shard2of2.bin"
    shard.write_bytes(shard.read_bytes() + b"\0\0\0\0")
    with pytest.raises(UserError, match="describes"):
        read_layers_model(path)
    shard.unlink()
    with pytest.raises(UserError, match="missing"):
        read_layers_model(path)
    with pytest.raises(UserError, match="float16"):
        read_layers_model(_write_model(tmp_path, *conv_weights, dtype="float16"))


@pytest.mark.parametrize(("channels", "scale"), [(3, 2), (3, 3), (2, 4)])
def test_depth_to_space_order_makes_pixel_shuffle_compute_tf(channels, scale):
    """TF's depth_to_space written out from its definition, against pixel_shuffle
    on channels reordered by `depth_to_space_order`."""
    x = np.random.default_rng(1).standard_normal((2, 3, channels * scale * scale)).astype(np.float32)  # HWC
    tf = np.zeros((2 * scale, 3 * scale, channels), np.float32)
    for h, w, i, j, c in np.ndindex(2, 3, scale, scale, channels):
        tf[h * scale + i, w * scale + j, c] = x[h, w, (i * scale + j) * channels + c]
    chw = torch.from_numpy(x).permute(2, 0, 1)[None]
    ours = F.pixel_shuffle(chw[:, torch.from_numpy(depth_to_space_order(channels, scale))], scale)
    assert np.array_equal(ours[0].permute(1, 2, 0).numpy(), tf)
    if scale > 1 and channels > 1:
        assert not np.array_equal(F.pixel_shuffle(chw, scale)[0].permute(1, 2, 0).numpy(), tf)
