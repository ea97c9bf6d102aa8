"""Read ncnn models (`.param` text graph + `.bin` weights) without ncnn.

Only files are read; no native code runs. The `.bin` has no index: its
layout follows from the layer list, so each weight-bearing layer consumes its
blobs in order and the read must end exactly at the end of the file; a
leftover or a shortfall means the `.param` and `.bin` do not belong together
(or a layer holds weights this reader does not know).

Storage (ncnn `ModelBin::load`): a convolution / inner-product weight starts
with a 4-byte tag (0: raw float32; 0x01306B47: float16, payload padded to
4 bytes); biases, PReLU slopes and other per-channel arrays are raw float32
without a tag. Converted fp16 weights are exact copies of the stored values.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sr_demo.errors import UserError

PARAM_MAGIC = 7767517
TAG_FLOAT32 = 0
TAG_FLOAT16 = 0x01306B47
_ARRAY_KEY_BASE = -23300  # key -23300-k holds array param k as "n,v1,..,vn"


@dataclass
class NcnnLayer:
    """One `.param` line plus the weights its layer read from the `.bin`."""

    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, int | float | list]  # raw k=v
    weights: dict[str, np.ndarray]  # "weight" (conv: OIHW float32), "bias", "slope"; MemoryData: "data"
    weight_storage: str = ""  # "float32" or "float16" for a tagged weight, else ""


def read_ncnn(param_path: str | Path, bin_path: str | Path) -> list[NcnnLayer]:
    """Parse `param_path` and fill each layer's weights from `bin_path`."""
    layers = _parse_param(Path(param_path))
    bin_path = Path(bin_path)
    try:
        data = bin_path.read_bytes()
    except OSError as exc:
        raise UserError(f"Cannot read ncnn weights {bin_path}: {exc.strerror}") from exc
    reader = _BinReader(data, bin_path)
    for layer in layers:
        _load_weights(layer, reader)
    if reader.pos != len(data):
        raise UserError(
            f"{bin_path.name}: {len(data) - reader.pos} bytes left over after the last layer "
            f"({reader.pos} of {len(data)} read): the .param does not describe this .bin"
        )
    return layers


def state_dict_from_layers(
    layers: list[NcnnLayer], template: dict[str, torch.Tensor], *, what: str
) -> dict[str, torch.Tensor]:
    """Fill `template`'s tensors, in order, from the layers' weight blobs in file order.

    ONNX-exported ncnn graphs list layers in forward order, as a module's
    state_dict lists its parameters, so the mapping is positional; every shape
    is checked so a wrong pairing cannot pass silently.
    """
    blobs = [
        (layer, key, layer.weights[key])
        for layer in layers
        for key in ("weight", "bias", "slope")
        if key in layer.weights
    ]
    if len(blobs) != len(template):
        raise UserError(
            f"{what}: the ncnn graph holds {len(blobs)} weight blobs but the module expects "
            f"{len(template)} tensors"
        )
    state: dict[str, torch.Tensor] = {}
    for (layer, key, array), (name, expected) in zip(blobs, template.items()):
        if tuple(array.shape) != tuple(expected.shape):
            raise UserError(
                f"{what}: ncnn {layer.type} {layer.name!r} {key} has shape {tuple(array.shape)} "
                f"but {name} expects {tuple(expected.shape)}"
            )
        state[name] = torch.from_numpy(array.copy()).to(expected.dtype)
    return state


def _parse_param(path: Path) -> list[NcnnLayer]:
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"Cannot read ncnn graph {path}: {exc}") from exc
    lines = [line for line in lines if line.strip()]
    if not lines or lines[0].strip() != str(PARAM_MAGIC):
        raise UserError(f"{path.name} is not an ncnn text .param (first line is not {PARAM_MAGIC})")
    try:
        layer_count, _blob_count = (int(v) for v in lines[1].split())
    except (IndexError, ValueError):
        raise UserError(f"{path.name}: line 2 is not 'layer_count blob_count'") from None
    body = lines[2:]
    if len(body) != layer_count:
        raise UserError(f"{path.name}: header says {layer_count} layers, file has {len(body)}")
    return [_parse_layer(line, path, number) for number, line in enumerate(body, start=3)]


def _parse_layer(line: str, path: Path, number: int) -> NcnnLayer:
    tokens = line.split()
    try:
        layer_type, name = tokens[0], tokens[1]
        n_in, n_out = int(tokens[2]), int(tokens[3])
        blobs_end = 4 + n_in + n_out
        if len(tokens) < blobs_end:
            raise ValueError("fewer blob names than counted")
        inputs, outputs = tokens[4 : 4 + n_in], tokens[4 + n_in : blobs_end]
        params = dict(_parse_param_value(token) for token in tokens[blobs_end:])
    except (IndexError, ValueError) as exc:
        raise UserError(f"{path.name} line {number}: unreadable ncnn layer ({exc}): {line[:80]}") from None
    return NcnnLayer(layer_type, name, inputs, outputs, params, {})


def _parse_param_value(token: str) -> tuple[int, int | float | list]:
    key_text, sep, value = token.partition("=")
    if not sep:
        raise ValueError(f"parameter {token!r} is not k=v")
    key = int(key_text)
    if key <= _ARRAY_KEY_BASE:
        count_text, *items = value.split(",")
        if int(count_text) != len(items):
            raise ValueError(f"array parameter {token!r} announces {count_text} items, has {len(items)}")
        return _ARRAY_KEY_BASE - key, [_number(item) for item in items]
    return key, _number(value)


def _number(text: str) -> int | float:
    """ncnn's own rule: a value with '.', 'e' or 'E' is a float, else an int."""
    return float(text) if any(c in text for c in ".eE") else int(text)


class _BinReader:
    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def take(self, nbytes: int, layer: NcnnLayer) -> bytes:
        if self.pos + nbytes > len(self.data):
            raise UserError(
                f"{self.path.name} is truncated: layer {layer.type} {layer.name!r} needs "
                f"{nbytes} bytes at offset {self.pos}, the file has {len(self.data)}"
            )
        chunk = self.data[self.pos : self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def raw(self, count: int, layer: NcnnLayer) -> np.ndarray:
        """`count` untagged float32 values (biases, slopes)."""
        return np.frombuffer(self.take(4 * count, layer), dtype="<f4").astype(np.float32)

    def tagged(self, count: int, layer: NcnnLayer) -> tuple[np.ndarray, str]:
        """`count` values behind a storage tag (convolution / inner-product weights)."""
        offset = self.pos
        tag = int(np.frombuffer(self.take(4, layer), dtype="<u4")[0])
        if tag == TAG_FLOAT32:
            return self.raw(count, layer), "float32"
        if tag == TAG_FLOAT16:
            payload = self.take((2 * count + 3) // 4 * 4, layer)
            return np.frombuffer(payload[: 2 * count], dtype="<f2").astype(np.float32), "float16"
        raise UserError(
            f"{self.path.name}: layer {layer.type} {layer.name!r} has storage tag 0x{tag:08X} at offset "
            f"{offset}; only raw float32 (0) and float16 (0x{TAG_FLOAT16:08X}) are supported"
        )


# Param keys (ncnn layer docs): Convolution-like: 0 num_output, 1 kernel_w,
# 11 kernel_h, 5 bias_term, 6 weight_data_size, 7 group, 8 int8_scale_term,
# 19 dynamic_weight; InnerProduct: 0 num_output, 1 bias_term,
# 2 weight_data_size, 8 int8_scale_term; PReLU: 0 num_slope; MemoryData
# (a constant): 0 w, 1 h, 11 d, 2 c, stored raw.
_CONV_TYPES = ("Convolution", "ConvolutionDepthWise", "Deconvolution", "DeconvolutionDepthWise")


def _load_weights(layer: NcnnLayer, reader: _BinReader) -> None:
    p = layer.params
    if layer.type in _CONV_TYPES:
        if layer.type.startswith("Convolution") and p.get(19, 0):
            return  # dynamic weight: given as a second input blob, nothing in the .bin
        _refuse_int8(layer)
        out_ch, size = int(p.get(0, 0)), int(p.get(6, 0))
        kw = int(p.get(1, 0))
        kh = int(p.get(11, kw))
        group = int(p.get(7, 1)) if layer.type.endswith("DepthWise") else 1
        flat, layer.weight_storage = reader.tagged(size, layer)
        per_out = out_ch * kh * kw
        if per_out == 0 or size % per_out:
            raise UserError(
                f"ncnn {layer.type} {layer.name!r}: weight_data_size {size} does not split into "
                f"{out_ch} outputs of {kh}x{kw}"
            )
        if layer.type.startswith("Deconvolution"):
            layer.weights["weight"] = _deconv_weight(flat, out_ch, size // per_out, group, kh, kw)
        else:
            layer.weights["weight"] = flat.reshape(out_ch, size // per_out, kh, kw)
        if p.get(5, 0):
            layer.weights["bias"] = reader.raw(out_ch, layer)
    elif layer.type == "InnerProduct":
        _refuse_int8(layer)
        out_ch, size = int(p.get(0, 0)), int(p.get(2, 0))
        if out_ch == 0 or size % out_ch:
            raise UserError(f"ncnn InnerProduct {layer.name!r}: {size} weights for {out_ch} outputs")
        flat, layer.weight_storage = reader.tagged(size, layer)
        layer.weights["weight"] = flat.reshape(out_ch, size // out_ch)
        if p.get(1, 0):
            layer.weights["bias"] = reader.raw(out_ch, layer)
    elif layer.type == "PReLU":
        layer.weights["slope"] = reader.raw(int(p.get(0, 0)), layer)
    elif layer.type == "MemoryData":
        dims = [int(p.get(k, 0)) for k in (0, 1, 11, 2)]
        count = int(np.prod([d for d in dims if d])) if any(dims) else 0
        layer.weights["data"] = reader.raw(count, layer)


def _deconv_weight(flat: np.ndarray, out_ch: int, in_per_group: int, group: int, kh: int, kw: int) -> np.ndarray:
    """ncnn stores deconvolution weights per group as (out/g, in/g, kh, kw);
    PyTorch's ConvTranspose2d wants (in, out/g, kh, kw)."""
    per_group = flat.reshape(group, out_ch // group, in_per_group, kh, kw)
    return np.ascontiguousarray(per_group.transpose(0, 2, 1, 3, 4)).reshape(group * in_per_group, out_ch // group, kh, kw)


def _refuse_int8(layer: NcnnLayer) -> None:
    if layer.params.get(8, 0):  # int8_scale_term
        raise UserError(f"ncnn {layer.type} {layer.name!r} is int8-quantised; only float models are supported")
