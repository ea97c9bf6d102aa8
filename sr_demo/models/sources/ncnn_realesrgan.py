"""ncnn graphs of Real-ESRGAN (x4plus, x4plus-anime), RealSR (DF2K, DF2K_JPEG)
and Real-ESRGAN's compact animevideov3 -> state dicts of `archs.rrdbnet` and
`archs.compact`.

The graphs take and give RGB in [0, 1] (the ncnn wrappers scale by 1/255
outside the graph), as our modules do. Each converter first checks that the
graph computes what the module computes: every conv a padded 3x3 with
LeakyReLU(0.2) fused exactly where the module applies it, residuals scaled by
0.2, nearest x2 up-sampling (RRDBNet); conv + PReLU, pixel shuffle and the
nearest-upsampled input added (Compact). A file of another family then fails
with one clear line instead of loading into the wrong wiring.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import nn

from sr_demo.errors import UserError
from sr_demo.models.sources.ncnn import NcnnLayer, read_ncnn, state_dict_from_layers
from sr_demo.models.sources.ncnn_families import _expect_conv, _expect_pixel_shuffle

if TYPE_CHECKING:
    from sr_demo.models.zoo import ZooEntry

_LEAKY = 2  # ncnn Convolution activation_type (param 9); its slope is array param 10
_NEAREST, _BICUBIC = 1, 3  # ncnn Interp resize_type (param 0)


def convert_rrdbnet(paths: dict[str, Path], entry: ZooEntry) -> dict[str, torch.Tensor]:
    """Real-ESRGAN x4plus / x4plus-anime and RealSR x4 (same ONNX export of BasicSR's RRDBNet)."""
    layers, module, what = _read(paths, entry)
    _expect_only(layers, what, {"Input", "Split", "Concat", "Convolution", "Eltwise", "BinaryOp", "Interp"})
    lrelu_after = {"conv1", "conv2", "conv3", "conv4", "conv_up1", "conv_up2", "conv_hr"}
    convs = _conv_names(module)
    _expect_count(layers, "Convolution", len(convs), what)
    for layer, name in zip(_of_type(layers, "Convolution"), convs):
        leaky = name.rsplit(".", 1)[-1] in lrelu_after
        _expect_conv(layer, what, kernel=3, pad=1, activation=_LEAKY if leaky else 0, slope=0.2 if leaky else None)
    # 3 dense-block residuals + 1 RRDB residual per block, each x * 0.2 + skip
    _expect_count(layers, "Eltwise", 4 * len(module.body), what)
    for layer in _of_type(layers, "Eltwise"):
        if layer.params.get(0) != 1 or layer.params.get(1) != [0.2, 1.0]:
            raise UserError(f"{what}: Eltwise {layer.name!r} is {layer.params}, expected a sum 0.2 * x + skip")
    _expect_add(layers, what)  # the trunk residual
    _expect_count(layers, "Interp", 2, what)
    for layer in _of_type(layers, "Interp"):
        _expect_interp(layer, what, _NEAREST, 2.0)
    return state_dict_from_layers(layers, module.state_dict(), what=what)


def convert_compact(paths: dict[str, Path], entry: ZooEntry) -> dict[str, torch.Tensor]:
    """Real-ESRGAN animevideov3 x4 (SRVGGNetCompact, PReLU).

    The package's x2 and x3 files hold the same weights and append a bicubic
    Interp (x0.5, x0.75) after the x4 output: they are the x4 net shrunk, not
    separate x2/x3 models, so they are refused here; use the x4 file.
    """
    layers, module, what = _read(paths, entry)
    interps = _of_type(layers, "Interp")
    if any(layer.params.get(0) == _BICUBIC for layer in interps):
        raise UserError(f"{what}: this graph shrinks the x4 output with a bicubic resize; convert the x4 file")
    _expect_only(layers, what, {"Input", "Split", "Convolution", "PReLU", "PixelShuffle", "Interp", "BinaryOp"})
    _expect_count(layers, "Convolution", len(_conv_names(module)), what)
    for layer in _of_type(layers, "Convolution"):
        _expect_conv(layer, what, kernel=3, pad=1, activation=0)
    prelus = [m for m in module.body if isinstance(m, nn.PReLU)]
    _expect_count(layers, "PReLU", len(prelus), what)
    _expect_count(layers, "PixelShuffle", 1, what)
    _expect_pixel_shuffle(_of_type(layers, "PixelShuffle")[0], entry.scale, what)
    _expect_count(layers, "Interp", 1, what)
    _expect_interp(interps[0], what, _NEAREST, float(entry.scale))
    _expect_add(layers, what)  # shuffled residual + nearest-upsampled input
    return state_dict_from_layers(layers, module.state_dict(), what=what)


# --- helpers -----------------------------------------------------------------


def _read(paths: dict[str, Path], entry: ZooEntry) -> tuple[list[NcnnLayer], nn.Module, str]:
    from sr_demo.models.zoo import build_entry

    what = f"{entry.name} ({Path(paths['param']).name})"
    return read_ncnn(paths["param"], paths["bin"]), build_entry(entry), what


def _conv_names(module: nn.Module) -> list[str]:
    """Conv2d submodules in state_dict (= forward) order."""
    return [name for name, m in module.named_modules() if isinstance(m, nn.Conv2d)]


def _of_type(layers: list[NcnnLayer], layer_type: str) -> list[NcnnLayer]:
    return [layer for layer in layers if layer.type == layer_type]


def _expect_only(layers: list[NcnnLayer], what: str, allowed: set[str]) -> None:
    if odd := sorted({layer.type for layer in layers} - allowed):
        raise UserError(f"{what}: the graph holds {', '.join(odd)} layers, which this architecture does not have")


def _expect_count(layers: list[NcnnLayer], layer_type: str, count: int, what: str) -> None:
    found = len(_of_type(layers, layer_type))
    if found != count:
        raise UserError(f"{what}: the graph has {found} {layer_type} layers, the module {count}")


def _expect_interp(layer: NcnnLayer, what: str, mode: int, factor: float) -> None:
    p = layer.params
    if (p.get(0), p.get(1), p.get(2)) != (mode, factor, factor) or any(k in p for k in (3, 4, 6)):
        raise UserError(f"{what}: Interp {layer.name!r} is {p}, expected mode {mode} by {factor} on both axes")


def _expect_add(layers: list[NcnnLayer], what: str) -> None:
    ops = _of_type(layers, "BinaryOp")
    if len(ops) != 1 or ops[0].params.get(0, 0) != 0 or ops[0].params.get(1, 0) or len(ops[0].inputs) != 2:
        raise UserError(f"{what}: expected one BinaryOp adding two blobs, found {[op.params for op in ops]}")
