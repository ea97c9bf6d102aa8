"""Image files in, float RGB arrays out, and back: the one hostile-input door.

Everything inside SR Lab works on HxWx3 float32 RGB in [0, 1].  Every file a
user hands us (upload, CLI argument, example) comes through `load_image`,
which refuses decompression bombs from the header before decoding, converts
every mode PIL knows (grey, RGBA, palette, CMYK, 16-bit) and says what it
converted, so the UI can show it.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sr_demo.errors import UserError

#: Largest image (in pixels) we agree to decode; override with SR_DEMO_MAX_PIXELS.
DEFAULT_MAX_PIXELS = 4096 * 4096
#: Smallest side we accept: below this there is nothing to super-resolve.
MIN_SIDE = 8

# PIL's own bomb check would warn or raise with its own wording; ours runs first.
Image.MAX_IMAGE_PIXELS = None


def max_pixels() -> int:
    """The decode cap in pixels, from the environment or the default."""
    value = os.environ.get("SR_DEMO_MAX_PIXELS")
    return int(value) if value else DEFAULT_MAX_PIXELS


@dataclass
class LoadedImage:
    """A decoded image and what was done to make it RGB float."""

    rgb: np.ndarray  # HxWx3 float32 in [0, 1]
    notes: list[str] = field(default_factory=list)
    source_mode: str = "RGB"
    bit_depth: int = 8

    @property
    def size_text(self) -> str:
        h, w = self.rgb.shape[:2]
        return f"{w}×{h}"


def load_image(source: str | Path | bytes | Image.Image | np.ndarray, *, limit: int | None = None) -> LoadedImage:
    """Decode `source` safely into RGB float32 [0, 1], noting every conversion."""
    limit = max_pixels() if limit is None else limit
    if isinstance(source, np.ndarray):
        return _from_array(source, limit)
    if isinstance(source, Image.Image):
        return _from_pil(source, limit, raw=None)
    raw = source if isinstance(source, bytes) else _read_file(Path(source))
    try:
        pil = Image.open(io.BytesIO(raw))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UserError("This file is not an image SR Lab can read (PNG, JPEG, WebP, BMP, TIFF, GIF).") from exc
    return _from_pil(pil, limit, raw=raw)


def _read_file(path: Path) -> bytes:
    if not path.is_file():
        raise UserError(f"No image file at {path}.")
    return path.read_bytes()


def _check_size(width: int, height: int, limit: int) -> None:
    if width * height > limit:
        raise UserError(
            f"Image is {width}×{height} = {width * height / 1e6:.1f} MP, over this server's limit of "
            f"{limit / 1e6:.1f} MP. Crop or shrink it first."
        )
    if min(width, height) < MIN_SIDE:
        raise UserError(f"Image is {width}×{height} pixels; SR Lab needs at least {MIN_SIDE} pixels on each side.")


def _from_pil(pil: Image.Image, limit: int, raw: bytes | None) -> LoadedImage:
    _check_size(*pil.size, limit)
    notes: list[str] = []
    mode = pil.mode
    if getattr(pil, "n_frames", 1) > 1:
        notes.append(f"first of {pil.n_frames} frames used")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if pil.getexif().get(0x0112, 1) != 1:
                pil = ImageOps.exif_transpose(pil)
                notes.append("rotated as its EXIF orientation says")
            pil.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise UserError("The image file is corrupt or truncated and cannot be decoded.") from exc

    deep = _decode_16bit(raw) if raw is not None and mode in ("I;16", "I;16B", "I;16L", "I", "RGB", "RGBA") else None
    if deep is not None:
        rgb, alpha, channels = deep
        notes.append(f"16-bit {channels} converted to float")
        return LoadedImage(_composite(rgb, alpha, notes), notes, source_mode=mode, bit_depth=16)
    return _convert_mode(pil, notes)


def _decode_16bit(raw: bytes) -> tuple[np.ndarray, np.ndarray | None, str] | None:
    """PIL truncates 16-bit colour PNG/TIFF to 8 bit; OpenCV keeps the depth."""
    import cv2

    arr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16:
        return None
    arr = arr.astype(np.float32) / 65535.0
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2), None, "greyscale"
    if arr.shape[2] == 4:
        return arr[..., 2::-1].copy(), arr[..., 3], "RGBA"
    return arr[..., 2::-1].copy(), None, "RGB"


def _convert_mode(pil: Image.Image, notes: list[str]) -> LoadedImage:
    mode = pil.mode
    if mode == "P" and "transparency" in pil.info:
        pil, mode_note = pil.convert("RGBA"), "palette with transparency"
    elif mode == "P":
        pil, mode_note = pil.convert("RGB"), "palette image converted to RGB"
    else:
        mode_note = None
    if mode_note:
        notes.append(mode_note)
    if pil.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(pil, dtype=np.float32)
        scale = 65535.0 if arr.max() > 255 else 255.0
        notes.append(f"{mode} greyscale converted to RGB")
        rgb = np.repeat(np.clip(arr / scale, 0, 1)[..., None], 3, axis=2)
        return LoadedImage(rgb.astype(np.float32), notes, source_mode=mode, bit_depth=16 if scale > 255 else 8)
    if pil.mode in ("L", "1"):
        notes.append("greyscale converted to RGB")
    elif pil.mode == "CMYK":
        notes.append("CMYK converted to RGB")
    elif pil.mode not in ("RGB", "RGBA", "LA", "P"):
        notes.append(f"{pil.mode} converted to RGB")
    if pil.mode in ("RGBA", "LA", "PA"):
        rgba = np.asarray(pil.convert("RGBA"), dtype=np.float32) / 255.0
        return LoadedImage(_composite(rgba[..., :3], rgba[..., 3], notes), notes, source_mode=mode)
    rgb = np.asarray(pil.convert("RGB"), dtype=np.float32) / 255.0
    return LoadedImage(np.ascontiguousarray(rgb), notes, source_mode=mode)


def _composite(rgb: np.ndarray, alpha: np.ndarray | None, notes: list[str]) -> np.ndarray:
    """Flatten transparency onto white, noting it only when some pixel was see-through."""
    if alpha is None or float(alpha.min()) >= 1.0:
        if alpha is not None:
            notes.append("opaque alpha channel dropped")
        return np.ascontiguousarray(rgb, dtype=np.float32)
    notes.append("transparent pixels composited onto white")
    a = alpha[..., None]
    return np.ascontiguousarray(rgb * a + (1.0 - a), dtype=np.float32)


def _from_array(arr: np.ndarray, limit: int) -> LoadedImage:
    """Arrays from code (tests, CLI internals): same rules, no decoding."""
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise UserError(f"Expected an HxW, HxWx3 or HxWx4 image array, got shape {arr.shape}.")
    _check_size(arr.shape[1], arr.shape[0], limit)
    notes: list[str] = []
    if arr.dtype == np.uint8:
        arr = arr.astype(np.float32) / 255.0
    elif arr.dtype == np.uint16:
        arr = arr.astype(np.float32) / 65535.0
    else:
        arr = arr.astype(np.float32)
        if not np.isfinite(arr).all():
            raise UserError("Image array contains NaN or infinite values.")
        if arr.min() < 0 or arr.max() > 1:
            raise UserError("Float image arrays must lie in [0, 1].")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.shape[2] == 4:
        return LoadedImage(_composite(arr[..., :3], arr[..., 3], notes), notes)
    return LoadedImage(np.ascontiguousarray(arr), notes)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """Float [0, 1] -> uint8 with rounding (as every SR codebase saves PNGs)."""
    return np.clip(np.rint(np.asarray(img, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def save_png(img: np.ndarray, path: str | Path) -> Path:
    """Write an RGB float image as an 8-bit PNG (lossless, so scores survive)."""
    path = Path(path)
    Image.fromarray(to_uint8(img)).save(path, format="PNG")
    return path


def png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(to_uint8(img)).save(buf, format="PNG")
    return buf.getvalue()


def rgb_to_y(img: np.ndarray) -> np.ndarray:
    """BT.601 luma in [16/255, 235/255], as MATLAB's rgb2ycbcr and the SR papers use."""
    img = np.asarray(img, dtype=np.float64)
    return (16.0 + img @ np.array([65.481, 128.553, 24.966])) / 255.0


def mod_crop(img: np.ndarray, scale: int) -> np.ndarray:
    """Crop bottom/right so both sides are multiples of `scale` (SR-protocol HR)."""
    h, w = img.shape[:2]
    return img[: h - h % scale, : w - w % scale]


def nearest_upscale(img: np.ndarray, factor: int) -> np.ndarray:
    """Pixel replication, so small LR images show their pixels on screen."""
    return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1)
