"""ncnn graphs of SRMD/SRMDNF, waifu2x UpConv7 and SPAN -> state dicts of
`archs.srmd`, `archs.upconv7` and spandrel's SPAN (`archs.span`).

Each converter first checks that the graph is the one its module
reproduces (layer types, activations, kernel, stride, padding, constants), so
a file from another family fails with a clear message instead of loading
into the wrong wiring; weights are then mapped in forward order with every
shape checked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from sr_demo.errors import UserError
from sr_demo.models.sources.ncnn import NcnnLayer, read_ncnn, state_dict_from_layers

if TYPE_CHECKING:
    from sr_demo.models.zoo import ZooEntry

# ncnn Convolution/Deconvolution keys: 1 kernel, 2 dilation, 3 stride, 4 pad
# (11-16: the same per side), 9 activation type (0 none, 1 ReLU, 2 LeakyReLU
# with its slope in array param 10); Deconvolution 18-21: output padding/size.
_RELU, _LEAKY = 1, 2


def convert_srmd(paths: dict[str, Path], entry: ZooEntry) -> dict[str, torch.Tensor]:
    """srmd-ncnn-vulkan's `srmd_xS` / `srmdnf_xS`: 3x3 conv + ReLU stack, last conv plain, pixel shuffle."""
    layers, module, what = _read(paths, entry)
    convs = _expect_types(layers, what, ["Input"] + ["Convolution"] * (len(layers) - 2) + ["PixelShuffle"])
    for i, conv in enumerate(convs):
        _expect_conv(conv, what, kernel=3, pad=1, activation=_RELU if i < len(convs) - 1 else 0)
    _expect_pixel_shuffle(layers[-1], entry.scale, what)
    return state_dict_from_layers(layers, module.state_dict(), what=what)


def convert_upconv7(paths: dict[str, Path], entry: ZooEntry) -> dict[str, torch.Tensor]:
    """waifu2x `upconv_7`: six unpadded 3x3 conv + LeakyReLU(0.1), one 4x4 stride-2 deconvolution."""
    layers, module, what = _read(paths, entry)
    convs = _expect_types(layers, what, ["Input"] + ["Convolution"] * 6 + ["Deconvolution"])
    for conv in convs:
        _expect_conv(conv, what, kernel=3, pad=0, activation=_LEAKY, slope=0.1)
    _expect_conv(layers[-1], what, kernel=4, pad=3, stride=2, activation=0)
    return state_dict_from_layers(layers, module.state_dict(), what=what)


def convert_span(paths: dict[str, Path], entry: ZooEntry) -> dict[str, torch.Tensor]:
    """SPAN as exported from its eval graph: each Conv3XC is one fused 3x3 conv.

    spandrel's Conv3XC rebuilds its `eval_conv` from the training branches
    (1x1 expand, 3x3, 1x1 project, 1x1 skip) on every eval forward, so the
    branches are set to rebuild the stored conv exactly: identity expand and
    project, the stored 3x3 (and bias) in the first block of the widened
    3x3, zero skip. Every product in that rebuild is with 1 or 0, so it is
    exact in float32.
    """
    layers, module, what = _read(paths, entry)
    template = module.state_dict()
    allowed = {"Input", "MemoryData", "BinaryOp", "Convolution", "Split", "Swish", "Sigmoid", "Concat", "PixelShuffle"}
    if odd := sorted({layer.type for layer in layers} - allowed):
        raise UserError(f"{what}: the graph holds {', '.join(odd)} layers, which SPAN does not have")
    _expect_span_input_scaling(layers, module, what)
    _expect_pixel_shuffle(layers[-1], entry.scale, what)
    convs = [layer for layer in layers if layer.type == "Convolution"]
    fused = ["conv_1"] + [f"block_{b}.c{c}_r" for b in range(1, 7) for c in (1, 2, 3)] + ["conv_2"]
    order = [f"{path}.eval_conv" for path in fused] + ["conv_cat", "upsampler.0"]  # ncnn (forward) order
    if len(convs) != len(order):
        raise UserError(f"{what}: {len(convs)} convolutions, SPAN has {len(order)}")
    for conv, path in zip(convs, order):
        _expect_conv(conv, what, kernel=1 if path == "conv_cat" else 3, pad=0 if path == "conv_cat" else 1, activation=0)
    stored = state_dict_from_layers(
        convs, {f"{path}.{k}": template[f"{path}.{k}"] for path in order for k in ("weight", "bias")}, what=what
    )
    state = {"conv_cat.weight": stored["conv_cat.weight"], "conv_cat.bias": stored["conv_cat.bias"],
             "upsampler.0.weight": stored["upsampler.0.weight"], "upsampler.0.bias": stored["upsampler.0.bias"]}
    for path in fused:
        state.update(conv3xc_branches(path, stored[f"{path}.eval_conv.weight"], stored[f"{path}.eval_conv.bias"],
                                      template))
    missing, extra = set(template) - set(state), set(state) - set(template)
    if missing or extra:
        raise UserError(f"{what}: SPAN tensors missing {sorted(missing)}, unexpected {sorted(extra)}")
    return {key: state[key] for key in template}


def conv3xc_branches(path: str, weight: torch.Tensor, bias: torch.Tensor,
                     template: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Branch tensors of the Conv3XC at `path` whose rebuilt 3x3 conv is (`weight`, `bias`)."""
    c_out, c_in = weight.shape[:2]
    t = {k[len(path) + 1:]: v for k, v in template.items() if k.startswith(path + ".")}
    expand, wide, project = (torch.zeros_like(t[f"conv.{i}.weight"]) for i in range(3))
    expand[:c_in, :, 0, 0] = torch.eye(c_in)
    wide[:c_out, :c_in] = weight
    project[:, :c_out, 0, 0] = torch.eye(c_out)
    wide_bias = torch.zeros_like(t["conv.1.bias"])
    wide_bias[:c_out] = bias
    tensors = {
        "sk.weight": torch.zeros_like(t["sk.weight"]), "sk.bias": torch.zeros_like(t["sk.bias"]),
        "conv.0.weight": expand, "conv.0.bias": torch.zeros_like(t["conv.0.bias"]),
        "conv.1.weight": wide, "conv.1.bias": wide_bias,
        "conv.2.weight": project, "conv.2.bias": torch.zeros_like(t["conv.2.bias"]),
        "eval_conv.weight": weight, "eval_conv.bias": bias,
    }
    return {f"{path}.{k}": v for k, v in tensors.items()}


# --- helpers -----------------------------------------------------------------


def _read(paths: dict[str, Path], entry: ZooEntry) -> tuple[list[NcnnLayer], torch.nn.Module, str]:
    from sr_demo.models.zoo import build_entry

    what = f"{entry.name} ({Path(paths['param']).name})"
    return read_ncnn(paths["param"], paths["bin"]), build_entry(entry), what


def _expect_span_input_scaling(layers: list[NcnnLayer], module: torch.nn.Module, what: str) -> None:
    """The graph's first ops are (x - mean) * img_range with spandrel's defaults."""
    mean = [layer for layer in layers if layer.type == "MemoryData"]
    ops = [layer for layer in layers if layer.type == "BinaryOp"][:2]
    want_mean = module.mean.flatten().numpy()
    sub_ok = len(ops) == 2 and ops[0].params.get(0) == 1 and len(mean) == 1 and ops[0].inputs[1] == mean[0].outputs[0]
    mul_ok = sub_ok and ops[1].params.get(0) == 2 and ops[1].params.get(1) == 1 and ops[1].inputs == ops[0].outputs
    if not mul_ok or not np.allclose(mean[0].weights["data"], want_mean, rtol=0, atol=1e-6) \
            or ops[1].params.get(2) != module.img_range:
        raise UserError(f"{what}: the graph does not start with (x - {want_mean.tolist()}) * {module.img_range} "
                        "as SPAN does")


def _expect_types(layers: list[NcnnLayer], what: str, types: list[str]) -> list[NcnnLayer]:
    """Check the layer-type sequence; return the Convolution layers."""
    found = [layer.type for layer in layers]
    if found != types:
        raise UserError(f"{what}: graph layers {found} are not the expected {types}")
    return [layer for layer in layers if layer.type == "Convolution"]


def _expect_pixel_shuffle(layer: NcnnLayer, scale: int, what: str) -> None:
    """PyTorch-order pixel shuffle (ncnn mode 0; mode 1 is TF depth-to-space) by `scale`."""
    found = (layer.type, layer.params.get(0), layer.params.get(1, 0))
    if found != ("PixelShuffle", scale, 0):
        raise UserError(f"{what}: last layer {layer.name!r} is (type, factor, mode) {found}, "
                        f"expected ('PixelShuffle', {scale}, 0)")


def _expect_conv(layer: NcnnLayer, what: str, *, kernel: int, pad: int, activation: int,
                 stride: int = 1, slope: float | None = None) -> None:
    p = layer.params
    found = {"kernel": (p.get(1), p.get(11, p.get(1))), "dilation": p.get(2, 1), "stride": p.get(3, 1),
                 "pad": p.get(4, 0), "activation": p.get(9, 0)}
    want = {"kernel": (kernel, kernel), "dilation": 1, "stride": stride, "pad": pad, "activation": activation}
    per_side = (12, 13, 14, 15, 16) + ((18, 19, 20, 21) if layer.type == "Deconvolution" else ())
    if any(k in p for k in per_side) or found != want:
        raise UserError(f"{what}: {layer.type} {layer.name!r} is {found} (or asymmetric), expected {want}")
    if slope is not None and p.get(10) != [slope]:
        raise UserError(f"{what}: {layer.name!r} LeakyReLU slope is {p.get(10)}, expected {slope}")
