"""Gradio components with SR Lab's safety rules built in."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import gradio as gr

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"


class UploadImage(gr.Image):
    """A `gr.Image` whose upload reaches the handler as an undecoded file path.

    Stock `gr.Image` opens every upload with PIL before the handler runs, so a
    corrupt file or a decompression bomb fails inside Gradio with a vague
    message.  Here `sr_demo.imaging.load_image` does all decoding, checks the
    pixel count from the header first and explains every conversion.
    """

    is_template = True  # reuse gr.Image's front end
    # No __init__ override: Gradio reads a component's props from its __init__ signature.

    def preprocess(self, payload):
        if payload is None:
            return None
        if payload.url and payload.url.startswith("data:"):
            raw = base64.b64decode(payload.url.split(",", 1)[1])
            with tempfile.NamedTemporaryFile(delete=False, suffix=".img", dir=self.GRADIO_CACHE) as fh:
                fh.write(raw)
            return fh.name
        return payload.path


def upload_image(**kwargs) -> UploadImage:
    """An UploadImage with SR Lab's defaults: a file path, shown as PNG, any mode."""
    return UploadImage(**{"type": "filepath", "format": "png", "image_mode": None,
                          "sources": ["upload", "clipboard"], **kwargs})


def example_paths(folder: str = "") -> list[str]:
    """The bundled example PNGs of `examples/<folder>` (licences in examples/LICENSES.md)."""
    return sorted(str(p) for p in (EXAMPLES_DIR / folder).glob("*.png"))
