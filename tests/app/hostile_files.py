"""Hostile input files, built on the fly (nothing hostile is stored in the repository)."""

from __future__ import annotations

import io
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims width×height, with one tiny IDAT: the header lies about the size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b"")


class RunsCode:
    """Unpickling this calls `open(marker, "w")`: a .pth that would run code if loaded with plain pickle."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def build(folder: Path, photo: np.ndarray) -> dict[str, Path]:
    """Every hostile file by name; `photo` is an RGB float image (the bundled example)."""
    rgb8 = (np.clip(photo, 0, 1) * 255).round().astype(np.uint8)
    files: dict[str, bytes] = {
        "zero_byte.png": b"",
        "truncated.png": _png(Image.fromarray(rgb8))[:2000],
        "huge_header.png": _png_header_only(100_000, 100_000),
        "one_pixel.png": _png(Image.new("RGB", (1, 1), (200, 10, 10))),
        "strip_20000x4.png": _png(Image.new("RGB", (20_000, 4), (90, 90, 90))),
        "sixteen_bit.png": _png(Image.fromarray((rgb8[..., 1].astype(np.uint16) * 257), mode="I;16")),
        "rgba.png": _png(Image.fromarray(np.dstack([rgb8, np.full(rgb8.shape[:2], 128, np.uint8)]), mode="RGBA")),
        "not_an_image.png": b"#!/bin/sh\necho this is a shell script, not a PNG\n",
    }
    cmyk = io.BytesIO()
    Image.fromarray(rgb8).convert("CMYK").save(cmyk, format="JPEG", quality=90)
    files["cmyk.jpg"] = cmyk.getvalue()
    gif = io.BytesIO()
    frames = [Image.fromarray(np.roll(rgb8, 8 * i, axis=1)).convert("P") for i in range(3)]
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    files["animated.gif"] = gif.getvalue()
    marker = folder / "PWNED_BY_PICKLE"
    files["runs_code.pth"] = pickle.dumps({"params": RunsCode(str(marker))})
    paths = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths[name] = folder / name
    paths["wrong_shapes.safetensors"] = _wrong_shapes(folder / "wrong_shapes.safetensors")
    paths["pickle_marker"] = marker
    return paths


def _wrong_shapes(path: Path) -> Path:
    """SR Lab's own fsrcnn-x4 weights with every conv's output channels halved: a known layout, wrong shapes."""
    from safetensors.numpy import load_file, save_file

    from sr_demo.models.zoo import models_dir

    tensors = load_file(str(models_dir() / "fsrcnn-x4.safetensors"))
    save_file({k: np.ascontiguousarray(v[: max(1, v.shape[0] // 2)]) for k, v in tensors.items()}, str(path))
    return path
