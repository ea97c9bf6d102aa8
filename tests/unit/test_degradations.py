"""Degradations, each checked against an independent reference.

Tolerances:
- imresize vs a per-pixel loop of MATLAB's algorithm: 1e-5 (float32 path), 1e-12 (float64 torch);
  numpy vs torch imresize: 1e-5.
- kernels vs cv2.getGaussianKernel: 1e-12.
- Gaussian noise std: within 5% of sigma (12k samples: ~0.6% standard error).
- degrade vs degrade_torch (CPU): identical for every preset and seed tested; the stated
  contract is max abs diff <= 1/255 and at most 1% of values differing.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from sr_demo.degradations import (
    PRESET_NAMES,
    BlurSpec,
    DegradationSpec,
    NoiseSpec,
    RealESRGANConfig,
    degrade,
    degrade_torch,
    imresize,
    preset_spec,
    sample_ops,
)
from sr_demo.degradations.jpeg import jpeg
from sr_demo.degradations.kernels import (
    bessel_j1,
    gaussian_kernel,
    generalized_gaussian_kernel,
    make_kernel,
    plateau_kernel,
    sinc_kernel,
)
from sr_demo.degradations.noise import _poisson_by_inversion, poisson_noise
from sr_demo.degradations.ops import Blur
from sr_demo.errors import UserError

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Random but smooth HxWx3 float32 image spanning [0,1]."""
    img = cv2.GaussianBlur(np.random.default_rng(seed).random((h, w, 3)).astype(np.float32), (0, 0), 1.5)
    return (img - img.min()) / (img.max() - img.min())


def to_tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None]


# ---------------------------------------------------------------- imresize
def _ref_kernel(method: str, x: float) -> float:
    a = abs(x)
    if method == "bicubic":
        if a <= 1:
            return 1.5 * a**3 - 2.5 * a**2 + 1
        return -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2 if a <= 2 else 0.0
    if method == "bilinear":
        return max(0.0, 1.0 - a)
    if method == "lanczos3":
        if a >= 3:
            return 0.0
        return 1.0 if x == 0 else 3 * math.sin(math.pi * x) * math.sin(math.pi * x / 3) / (math.pi * x) ** 2
    raise AssertionError(method)


def _ref_taps(in_len: int, out_len: int, scale: float, method: str):
    """MATLAB's contributions written out: 1-based u, widened kernel, symmetric border."""
    width = {"bicubic": 4, "bilinear": 2, "lanczos3": 6}[method]
    widen = scale < 1
    if widen:
        width = width / scale
    taps = []
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        row = []
        for k in range(left, left + math.ceil(width) + 2):
            wgt = scale * _ref_kernel(method, scale * (u - k)) if widen else _ref_kernel(method, u - k)
            m = (k - 1) % (2 * in_len)  # symmetric padding: 1..n, n..1, repeated
            row.append((m if m < in_len else 2 * in_len - 1 - m, wgt))
        total = sum(w for _, w in row)
        taps.append([(i, w / total) for i, w in row])
    return taps


def _ref_imresize(img: np.ndarray, scale: float, method: str) -> np.ndarray:
    h, w = img.shape[:2]
    oh, ow = round(h * scale), round(w * scale)
    rows, cols = _ref_taps(h, oh, scale, method), _ref_taps(w, ow, scale, method)
    out = np.zeros((oh, ow) + img.shape[2:])
    for i in range(oh):
        for j in range(ow):
            for ri, rw in rows[i]:
                for ci, cw in cols[j]:
                    out[i, j] += rw * cw * img[ri, ci]
    return out


@pytest.mark.parametrize("method", ["bicubic", "bilinear", "lanczos3"])
@pytest.mark.parametrize("scale", [2, 3, 4, 1 / 2, 1 / 3, 1 / 4])
def test_imresize_matches_matlab_reference(method, scale):
    shape = (7, 5, 3) if scale > 1 else (24, 36, 3)
    img = smooth_image(*shape[:2], seed=3)
    ref = _ref_imresize(img.astype(np.float64), scale, method)
    out = imresize(img, scale=scale, method=method)
    assert out.dtype == np.float32 and out.shape == ref.shape
    np.testing.assert_allclose(out, ref, atol=1e-5)
    t = imresize(to_tensor(img.astype(np.float64)), scale=scale, method=method)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(t, ref, atol=1e-12)
    t32 = imresize(to_tensor(img), scale=scale, method=method)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(t32, out, atol=1e-5)


def test_imresize_shapes_size_and_layouts():
    img = smooth_image(10, 15)
    assert imresize(img, scale=0.5).shape == (5, 8, 3)  # ceil(7.5)
    assert imresize(img[..., 0], size=(4, 9)).shape == (4, 9)
    t = to_tensor(img)
    np.testing.assert_allclose(imresize(t[0], size=(4, 9)).permute(1, 2, 0).numpy(),
                               imresize(img, size=(4, 9)), atol=1e-5)
    assert imresize(t.repeat(2, 1, 1, 1), scale=3).shape == (2, 3, 30, 45)


def test_box_is_block_mean_and_nearest_picks_pixels():
    img = smooth_image(16, 12)
    blocks = img.reshape(4, 4, 3, 4, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(imresize(img, scale=0.25, method="box"), blocks, atol=1e-6)
    # MATLAB nearest at 1/4 takes the 3rd pixel (1-based) of each 4-block.
    np.testing.assert_array_equal(imresize(img, scale=0.25, method="nearest"), img[2::4, 2::4])


@pytest.mark.parametrize("method", ["bicubic", "bilinear", "lanczos2", "lanczos3", "box", "nearest"])
def test_imresize_keeps_constant_images_constant(method):
    img = np.full((24, 18, 3), 0.37, np.float32)
    for scale in (1 / 4, 1 / 3, 0.7, 2, 3):
        np.testing.assert_allclose(imresize(img, scale=scale, method=method), 0.37, atol=1e-6)


def test_imresize_torch_gradient():
    x = torch.rand(1, 2, 6, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: imresize(t, scale=0.5), (x,), fast_mode=True)
    assert torch.autograd.gradcheck(lambda t: imresize(t, scale=2, method="lanczos3"), (x,), fast_mode=True)


@pytest.mark.parametrize("kwargs", [{}, {"scale": 0}, {"scale": -2}, {"size": (0, 3)}, {"scale": 2, "size": (3, 3)},
                                    {"scale": 2, "method": "spline"}])
def test_imresize_rejects_bad_arguments(kwargs):
    with pytest.raises(UserError):
        imresize(np.zeros((4, 4, 3), np.float32), **kwargs)


@CUDA
def test_imresize_cuda_matches_numpy():
    img = smooth_image(20, 28)
    t = imresize(to_tensor(img).cuda(), scale=1 / 3)[0].permute(1, 2, 0).cpu().numpy()
    np.testing.assert_allclose(t, imresize(img, scale=1 / 3), atol=1e-5)


# ---------------------------------------------------------------- kernels and blur
def test_iso_gaussian_matches_opencv():
    g = cv2.getGaussianKernel(21, 2.0)
    np.testing.assert_allclose(gaussian_kernel(21, 2.0), g @ g.T, atol=1e-12)


def test_aniso_gaussian_theta0_is_separable():
    gx, gy = cv2.getGaussianKernel(15, 1.5), cv2.getGaussianKernel(15, 3.0)
    np.testing.assert_allclose(gaussian_kernel(15, 1.5, 3.0, 0.0), gy @ gx.T, atol=1e-12)
    # Rotating by 90 degrees swaps the axes.
    np.testing.assert_allclose(gaussian_kernel(15, 1.5, 3.0, 90.0), gaussian_kernel(15, 3.0, 1.5, 0.0), atol=1e-12)


def test_generalized_kernels():
    np.testing.assert_allclose(generalized_gaussian_kernel(13, 2.0, 1.0, 30.0, 1.0),
                               gaussian_kernel(13, 2.0, 1.0, 30.0), atol=1e-12)
    flat = plateau_kernel(13, 2.0, 2.0, 0.0, 2.0)
    assert flat[6, 6] == flat.max() and flat[6, 7] > 0.9 * flat[6, 6]


def test_bessel_j1_against_series():
    x = np.linspace(0, 12, 49)
    series = sum((-1) ** m * (x / 2) ** (2 * m + 1) / (math.factorial(m) * math.factorial(m + 1)) for m in range(60))
    np.testing.assert_allclose(bessel_j1(x), series, atol=1e-11)
    assert bessel_j1(np.array(1.0)) == pytest.approx(0.44005058574493355, abs=1e-14)


@pytest.mark.parametrize("params", [
    {"type": "iso", "size": 21, "sigma_x": 2.0},
    {"type": "aniso", "size": 9, "sigma_x": 0.3, "sigma_y": 2.5, "theta": -37.0},
    {"type": "generalized_aniso", "size": 11, "sigma_x": 1.0, "sigma_y": 2.0, "theta": 10.0, "beta": 0.6},
    {"type": "plateau_iso", "size": 17, "sigma_x": 2.0, "beta": 1.5},
    {"type": "sinc", "size": 21, "omega_c": math.pi / 4},
])
def test_kernels_sum_to_one_and_are_point_symmetric(params):
    k = make_kernel(params)
    assert k.shape == (params["size"],) * 2
    assert k.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-15)  # so correlation == convolution


def test_sinc_kernel_centre():
    k = sinc_kernel(7, math.pi / 2)
    assert np.argmax(k) == 24 and k.min() < 0  # peak in the middle, ringing lobes


@pytest.mark.parametrize("hw", [(5, 4), (1, 3), (30, 23)])
def test_blur_reflect101_numpy_and_torch(hw):
    img = np.random.default_rng(1).random(hw + (3,))
    op = Blur({"type": "aniso", "size": 21, "sigma_x": 3.0, "sigma_y": 1.0, "theta": 20.0})
    padded = np.pad(img, ((10, 10), (10, 10), (0, 0)), mode="reflect")  # numpy "reflect" = reflect-101
    ref = np.zeros_like(img)
    for i in range(hw[0]):
        for j in range(hw[1]):
            ref[i, j] = np.tensordot(op.kernel, padded[i:i + 21, j:j + 21], axes=2)
    np.testing.assert_allclose(op.apply_np(img), ref, atol=1e-12)
    np.testing.assert_allclose(op.apply_torch(to_tensor(img))[0].permute(1, 2, 0).numpy(), ref, atol=1e-12)


# ---------------------------------------------------------------- noise
def _spec(**kw) -> DegradationSpec:
    return DegradationSpec(scale=1, **kw)


def test_gaussian_noise_level():
    flat = np.full((64, 64, 3), 0.5, np.float32)
    out = degrade(flat, _spec(noise=NoiseSpec("gaussian", 20.0)), seed=3)
    assert np.std(out - 0.5) == pytest.approx(20 / 255, rel=0.05)
    assert abs(np.mean(out - 0.5)) < 0.01


@pytest.mark.parametrize("kind,level", [("gaussian", 30.0), ("poisson", 2.0)])
def test_gray_noise_is_identical_across_channels(kind, level):
    grey = np.repeat(smooth_image(32, 32)[..., :1], 3, axis=2)  # equal channels, many levels
    out = degrade(grey, _spec(noise=NoiseSpec(kind, level, gray=True)), seed=5)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 0], out[..., 2])
    assert not np.array_equal(out, grey)
    colour = degrade(grey, _spec(noise=NoiseSpec(kind, level, gray=False)), seed=5)
    assert not np.array_equal(colour[..., 0], colour[..., 1])


def test_poisson_sampler_moments():
    u = np.random.default_rng(0).random(200_000)
    which = np.arange(u.size) % 2  # half Poisson(0), half Poisson(3.7)
    k = _poisson_by_inversion(np.array([0.0, 3.7]), which, u)
    assert np.all(k[which == 0] == 0)
    k = k[which == 1]
    assert k.mean() == pytest.approx(3.7, rel=0.01) and k.var() == pytest.approx(3.7, rel=0.02)
    assert np.mean(k == 0) == pytest.approx(math.exp(-3.7), rel=0.05)
    assert np.mean(k == 6) == pytest.approx(math.exp(-3.7) * 3.7**6 / math.factorial(6), rel=0.05)


def test_poisson_noise_preserves_mean():
    ramp = np.broadcast_to(np.linspace(0, 1, 256)[None, :, None], (256, 256, 3)).astype(np.float32)
    noise = poisson_noise(ramp, 1.0, False, np.random.default_rng(1))
    assert abs(noise.mean()) < 3 * math.sqrt(ramp.mean() / 256 / noise.size)  # 256 levels -> vals 256
    assert noise.var() == pytest.approx(ramp.mean() / 256, rel=0.03)


# ---------------------------------------------------------------- JPEG
def _psnr(a, b):
    return 10 * np.log10(1 / np.mean((a - b) ** 2))


def test_jpeg_matches_opencv_and_quality_matters():
    img = np.round(smooth_image(48, 40) * 255) / 255
    u8 = np.round(img * 255).astype(np.uint8)
    _, buf = cv2.imencode(".jpg", cv2.cvtColor(u8, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 37])
    direct = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) / 255.0
    np.testing.assert_array_equal(jpeg(img, 37), direct.astype(np.float32))
    grey = np.repeat(img[..., :1], 3, axis=2)  # colour detail is lost to 4:2:0 chroma subsampling at any quality
    assert _psnr(jpeg(grey, 100), grey) > 50
    assert _psnr(jpeg(grey, 10), grey) < 35


def test_classic_order_matches_manual_pipeline():
    hr = smooth_image(64, 48)
    spec = preset_spec("blur+jpeg", 4)
    g = cv2.getGaussianKernel(21, 2.0)
    x = cv2.filter2D(hr.astype(np.float64), -1, g @ g.T, borderType=cv2.BORDER_REFLECT_101)
    x = imresize(x, scale=1 / 4)
    x = np.clip(np.round(x * 255), 0, 255) / 255
    np.testing.assert_allclose(degrade(hr, spec), jpeg(x, 50), atol=1.01 / 255)


# ---------------------------------------------------------------- seeds, specs, validation
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_seed_reproducible(name):
    hr = smooth_image(64, 64)
    spec = preset_spec(name, 4)
    a = degrade(hr, spec, seed=11)
    assert a.dtype == np.float32 and a.shape == (16, 16, 3)
    assert a.tobytes() == degrade(hr, spec, seed=11).tobytes()
    np.testing.assert_allclose(a * 255, np.round(a * 255), atol=1e-4)  # 8-bit values


def test_different_seeds_differ():
    hr = smooth_image(64, 64)
    for name in ("realesrgan", "noise"):
        spec = preset_spec(name, 4)
        assert not np.array_equal(degrade(hr, spec, 1), degrade(hr, spec, 2))
    assert [o.to_dict() for o in sample_ops(preset_spec("realesrgan", 4), 1, (64, 64))] != \
        [o.to_dict() for o in sample_ops(preset_spec("realesrgan", 4), 2, (64, 64))]


def test_degrade_crops_to_multiple_of_scale():
    hr = smooth_image(67, 50)
    spec = preset_spec("blur+noise", 4)
    np.testing.assert_array_equal(degrade(hr, spec, 3), degrade(hr[:64, :48], spec, 3))


def test_realesrgan_ops_follow_the_pipeline():
    spec = preset_spec("realesrgan", 4)
    counts = {"blur2": 0, "gaussian": 0, "sinc_final": 0}
    n = 400
    for seed in range(n):
        ops = [o.to_dict() for o in sample_ops(spec, seed, (128, 96))]
        names = [o["op"] for o in ops]
        assert names[:5] == ["blur", "resize", "noise", "quantise", "jpeg"]
        assert names[-1] in ("jpeg", "quantise") and names.count("jpeg") == 2 and names.count("noise") == 2
        final = [o for o in ops if o["op"] == "resize"][-1]
        assert final["size"] == [32, 24]
        counts["blur2"] += names[5] == "blur"
        counts["gaussian"] += ops[2]["kind"] == "gaussian"
        counts["sinc_final"] += any(o["op"] == "blur" and o["kernel"]["type"] == "sinc" for o in ops[-4:])
        for o in ops:
            if o["op"] == "blur":
                assert 7 <= o["kernel"]["size"] <= 21 and o["kernel"]["size"] % 2 == 1
            if o["op"] == "jpeg":
                assert 30 <= o["quality"] <= 95
    assert counts["blur2"] / n == pytest.approx(0.8, abs=0.06)
    assert counts["gaussian"] / n == pytest.approx(0.5, abs=0.08)
    assert counts["sinc_final"] / n == pytest.approx(0.8, abs=0.07)


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_spec_json_round_trip(name):
    spec = preset_spec(name, 4)
    assert DegradationSpec.from_dict(spec.to_dict()) == spec
    assert DegradationSpec.from_json(spec.to_json()) == spec
    assert DegradationSpec.from_json(spec.to_json()).to_json() == spec.to_json()


def test_custom_spec_round_trip():
    spec = DegradationSpec(scale=2, blur=BlurSpec("aniso", 1.5, 3.25, -30.0, 15), downsample="area",
                           noise=NoiseSpec("poisson", 1.5, gray=True), jpeg_quality=70,
                           realesrgan=RealESRGANConfig(resize_range=(0.5, 1.25), jpeg_range2=(40, 90)))
    spec.validate()
    again = DegradationSpec.from_json(spec.to_json())
    assert again == spec and isinstance(again.realesrgan.jpeg_range2, tuple)
    assert DegradationSpec.from_dict({"scale": 2, "blur": {"sigma": 3}}).blur == BlurSpec(sigma=3.0)


@pytest.mark.parametrize("bad", [
    {"scale": 5},
    {"blur": {"sigma": -1.0}},
    {"blur": {"size": 20}},
    {"blur": {"size": 43}},
    {"jpeg_quality": 0},
    {"jpeg_quality": 101},
    {"noise": {"level": 300.0}},
    {"noise": {"kind": "poisson", "level": 0.0}},
    {"downsample": "lanczos"},
    {"pipeline": "thirdorder"},
    {"colour": True},
    {"blur": {"sigma": 2.0, "radius": 3}},
    {"scale": "4"},
    {"realesrgan": {"kernel_prob": [0.5, 0.5, 0, 0, 0, 0.5]}},
    {"realesrgan": {"jpeg_range": [95, 30]}},
    {"realesrgan": {"kernel_range": [7, 22]}},
])
def test_validation_rejects_absurd_parameters(bad):
    with pytest.raises(UserError):
        DegradationSpec.from_dict(bad)


def test_validate_and_presets_raise_user_errors():
    with pytest.raises(UserError, match="blur.sigma"):
        DegradationSpec(blur=BlurSpec(sigma=-2.0)).validate()
    with pytest.raises(UserError, match="1..100"):
        DegradationSpec(jpeg_quality=101).validate()
    with pytest.raises(UserError, match="clean"):
        preset_spec("gaussian", 4)
    with pytest.raises(UserError):
        preset_spec("blur", 5)
    with pytest.raises(UserError):
        degrade(np.zeros((8, 8), np.float32), preset_spec("clean", 4))
    with pytest.raises(UserError):
        degrade(np.zeros((8, 8, 3), np.float32), preset_spec("clean", 4), seed=-1)


# ---------------------------------------------------------------- numpy vs torch
def _assert_parity(lr_np: np.ndarray, lr_t: np.ndarray) -> None:
    diff = np.abs(lr_np - lr_t)
    assert diff.max() <= 1 / 255 + 1e-6
    assert np.mean(diff > 0) <= 0.01


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_numpy_torch_parity(name):
    spec = preset_spec(name, 4)
    hrs = [smooth_image(64, 64, seed=s) for s in range(3)]
    seeds = [7, 8, 7]
    out = degrade_torch(torch.cat([to_tensor(h) for h in hrs]), spec, seeds)
    assert out.shape == (3, 3, 16, 16) and out.dtype == torch.float32
    for hr, seed, t in zip(hrs, seeds, out):
        lr = degrade(hr, spec, seed)
        _assert_parity(lr, t.permute(1, 2, 0).numpy())
        if name != "realesrgan" and "jpeg" not in name:
            np.testing.assert_array_equal(lr, t.permute(1, 2, 0).numpy())


def test_degrade_torch_checks_seeds():
    with pytest.raises(UserError):
        degrade_torch(torch.zeros(2, 3, 16, 16), preset_spec("clean", 4), [1])


@CUDA
@pytest.mark.parametrize("name", ["blur+noise+jpeg", "realesrgan"])
def test_numpy_cuda_parity(name):
    spec = preset_spec(name, 4)
    hr = smooth_image(64, 64)
    seeds = [1, 2, 3, 4]
    out = degrade_torch(to_tensor(hr).repeat(4, 1, 1, 1).cuda(), spec, seeds)
    assert out.is_cuda
    for seed, t in zip(seeds, out.cpu()):
        _assert_parity(degrade(hr, spec, seed), t.permute(1, 2, 0).numpy())
