"""The hostile-input door: every odd file becomes RGB float, or a clear UserError."""

import io

import numpy as np
import pytest
from PIL import Image

from sr_demo.errors import UserError
from sr_demo.imaging import load_image, mod_crop, nearest_upscale, rgb_to_y, save_png, to_uint8


def _png(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


def test_rgb_png_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    path = save_png(arr / 255.0, tmp_path / "a.png")
    loaded = load_image(path)
    assert loaded.rgb.dtype == np.float32 and loaded.rgb.shape == (20, 30, 3)
    np.testing.assert_array_equal(to_uint8(loaded.rgb), arr)
    assert loaded.notes == []


def test_greyscale_is_replicated_and_noted():
    grey = Image.fromarray(np.arange(200, dtype=np.uint8).reshape(10, 20))
    loaded = load_image(_png(grey))
    assert loaded.rgb.shape == (10, 20, 3)
    assert np.array_equal(loaded.rgb[..., 0], loaded.rgb[..., 2])
    assert any("greyscale" in n for n in loaded.notes)


def test_rgba_is_composited_on_white():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255  # red
    rgba[:5, :, 3] = 255  # top half opaque, bottom transparent
    loaded = load_image(_png(Image.fromarray(rgba, "RGBA")))
    np.testing.assert_allclose(loaded.rgb[0, 0], [1, 0, 0])
    np.testing.assert_allclose(loaded.rgb[9, 0], [1, 1, 1])
    assert any("composited" in n for n in loaded.notes)


def test_palette_and_cmyk_are_converted():
    pal = Image.fromarray(np.full((12, 12, 3), 90, np.uint8)).convert("P")
    assert any("palette" in n for n in load_image(_png(pal)).notes)
    cmyk = Image.new("CMYK", (12, 12), (0, 255, 255, 0))  # red in CMYK
    loaded = load_image(_png(cmyk, format="JPEG"))
    assert loaded.rgb[6, 6, 0] > 0.9 and loaded.rgb[6, 6, 1] < 0.1
    assert any("CMYK" in n for n in loaded.notes)


def test_16bit_colour_keeps_its_depth():
    import cv2

    arr = np.zeros((16, 16, 3), np.uint16)
    arr[..., 2] = 65535  # red channel in OpenCV's BGR order
    arr[..., 1] = 257 * 100 + 3  # a value that 8 bit cannot hold exactly
    ok, buf = cv2.imencode(".png", arr)
    loaded = load_image(buf.tobytes())
    assert loaded.bit_depth == 16
    np.testing.assert_allclose(loaded.rgb[0, 0], [1.0, (257 * 100 + 3) / 65535, 0.0], atol=1e-6)
    assert any("16-bit" in n for n in loaded.notes)


def test_16bit_grey():
    grey = Image.fromarray(np.full((10, 10), 40000, np.uint16))
    loaded = load_image(_png(grey))
    np.testing.assert_allclose(loaded.rgb[0, 0], [40000 / 65535] * 3, atol=1e-6)


def test_exif_rotation_is_applied():
    img = Image.fromarray(np.zeros((10, 20, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    loaded = load_image(_png(img, format="JPEG", exif=exif.tobytes()))
    assert loaded.rgb.shape[:2] == (20, 10)
    assert any("EXIF" in n for n in loaded.notes)


def test_decompression_bomb_refused_before_decoding():
    big = Image.new("L", (3000, 3000))  # 9 MP, highly compressible
    with pytest.raises(UserError, match="over this server's limit"):
        load_image(_png(big), limit=1_000_000)


def test_corrupt_truncated_and_non_image_files():
    with pytest.raises(UserError, match="not an image"):
        load_image(b"this is not an image at all")
    good = _png(Image.fromarray(np.zeros((64, 64, 3), np.uint8) + 7, "RGB"), format="JPEG")
    with pytest.raises(UserError, match="corrupt|not an image"):
        load_image(good[: len(good) // 3])


def test_tiny_and_missing():
    with pytest.raises(UserError, match="at least"):
        load_image(_png(Image.new("RGB", (4, 40))))
    with pytest.raises(UserError, match="No image file"):
        load_image("/nonexistent/file.png")


def test_array_validation():
    with pytest.raises(UserError, match="NaN"):
        load_image(np.full((10, 10, 3), np.nan, np.float32))
    with pytest.raises(UserError, match=r"\[0, 1\]"):
        load_image(np.full((10, 10, 3), 2.0, np.float32))
    assert load_image(np.zeros((10, 10), np.uint8)).rgb.shape == (10, 10, 3)


def test_y_channel_matches_bt601_reference_values():
    # MATLAB rgb2ycbcr: black -> 16, white -> 235, pure red -> 81.481 (on 0..255)
    img = np.array([[[0, 0, 0], [1, 1, 1], [1, 0, 0]]], np.float64)
    np.testing.assert_allclose(rgb_to_y(img)[0] * 255, [16, 235, 81.481], atol=1e-9)


def test_mod_crop_and_nearest_upscale():
    img = np.zeros((10, 13, 3))
    assert mod_crop(img, 4).shape == (8, 12, 3)
    small = np.arange(4, dtype=np.float32).reshape(2, 2, 1)
    big = nearest_upscale(small, 3)
    assert big.shape == (6, 6, 1) and big[2, 2, 0] == 0 and big[3, 3, 0] == 3
