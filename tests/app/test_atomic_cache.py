"""Image outputs reach Gradio's cache whole, even while another session writes the same image."""

from pathlib import Path

import numpy as np
from gradio import processing_utils
from PIL import Image

from sr_demo.ui import atomic_cache


def test_same_path_and_bytes_as_gradio(tmp_path):
    img = Image.fromarray(np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3))
    data = processing_utils.encode_pil_to_bytes(img, "png")
    path = atomic_cache.save_pil_to_cache(img, str(tmp_path), format="png")
    assert Path(path) == tmp_path / processing_utils.hash_bytes(data) / "image.png"
    assert Path(path).read_bytes() == data and len(list(Path(path).parent.iterdir())) == 1  # no staging left


def test_a_rewrite_never_touches_the_file_a_reader_holds(tmp_path):
    """Gradio's own writer truncates and refills the same inode, so a download that started before a second
    session's identical output was written can read a cut file; a rename leaves the reader's inode alone."""
    img = Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    path = Path(atomic_cache.save_pil_to_cache(img, str(tmp_path), format="png"))
    with path.open("rb") as held:
        inode = path.stat().st_ino
        atomic_cache.save_pil_to_cache(img, str(tmp_path), format="png")
        assert path.stat().st_ino != inode and len(held.read()) == path.stat().st_size


def test_the_app_installs_it():
    from sr_demo.ui.app import build_demo

    build_demo()
    assert processing_utils.save_pil_to_cache is atomic_cache.save_pil_to_cache
