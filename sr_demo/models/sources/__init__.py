"""Foreign weight formats -> PyTorch state dicts (ncnn, TensorFlow.js layers).

`CONVERTERS` maps a zoo source's `converter` name to "module:function"; a
converter is `fn(paths: dict[str, Path], entry) -> dict[str, Tensor]`, the
state dict of `build_entry(entry)` (loaded with strict=True). Modules are
imported only when a conversion runs.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from sr_demo.errors import UserError

if TYPE_CHECKING:
    import torch

    from sr_demo.models.zoo import ZooEntry

CONVERTERS: dict[str, str] = {
    "ncnn-srmd": "sr_demo.models.sources.ncnn_families:convert_srmd",
    "ncnn-upconv7": "sr_demo.models.sources.ncnn_families:convert_upconv7",
    "ncnn-span": "sr_demo.models.sources.ncnn_families:convert_span",
    "ncnn-rrdbnet": "sr_demo.models.sources.ncnn_realesrgan:convert_rrdbnet",
    "ncnn-compact": "sr_demo.models.sources.ncnn_realesrgan:convert_compact",
    "upscalerjs-rdn": "sr_demo.models.sources.upscalerjs:convert_rdn",
    "upscalerjs-rrdn": "sr_demo.models.sources.upscalerjs:convert_rrdn",
}


def convert(converter: str, paths: dict[str, Path], entry: ZooEntry) -> dict[str, torch.Tensor]:
    """Run converter `converter` on the source files `paths` for `entry`."""
    if converter not in CONVERTERS:
        raise UserError(f"{entry.name}: unknown converter {converter!r}; known: {', '.join(sorted(CONVERTERS))}")
    module, _, function = CONVERTERS[converter].partition(":")
    return getattr(importlib.import_module(module), function)(paths, entry)
