"""Gradio 6.31 writes every image output to a path named by its content hash, in place (`write_bytes`).

Two sessions that produce the same image (the same example, spec and seed) then race: one session's download
reads the file while the other's write has just truncated it, and the download ends with 0 bytes
(bench/load.py saw 9 of 400 requests cut this way). Gradio already writes copied files under a temporary name
and renames them into place (`save_file_to_cache`); `install` makes image outputs do the same.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def save_pil_to_cache(img, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """Gradio's `processing_utils.save_pil_to_cache`, written under a temporary name and renamed into place."""
    from gradio.processing_utils import encode_pil_to_bytes, hash_bytes

    data = encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    target = (folder / f"{name}.{format}").resolve()
    fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(staging, target)  # a reader holds the old inode or the new one, both complete
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return str(target)


def install() -> None:
    """Route Gradio's image caching through `save_pil_to_cache` (every caller looks it up on the module)."""
    from gradio import processing_utils

    processing_utils.save_pil_to_cache = save_pil_to_cache
