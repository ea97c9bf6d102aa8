"""UpscalerJS (`@upscalerjs/esrgan-slim|medium|thick`) TensorFlow.js graphs ->
state dicts of our `rdn` (slim, medium) and `rrdn` (thick) modules.

Weights are mapped by Keras layer name, and only a graph built from the
layers we reproduce is accepted: every conv must map onto one of our convs,
every stored weight must be used, and any other layer (or a conv with an
activation, stride or padding we do not model) is refused, so a graph we do
not understand fails here instead of loading into the wrong wiring.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from sr_demo.errors import UserError
from sr_demo.models.sources.tfjs import LayersModel, conv_oihw, depth_to_space_order, read_layers_model

VERSION = "1.0.0"  # the version converted and verified against TensorFlow.js
# npm package -> (zoo name stem, our arch); each holds models/x2, x3, x4, x8
PACKAGES = {
    "@upscalerjs/esrgan-slim": ("rdn-slim", "rdn"),
    "@upscalerjs/esrgan-medium": ("rdn-medium", "rdn"),
    "@upscalerjs/esrgan-thick": ("rrdn-thick", "rrdn"),
}
SCALES = (2, 3, 4, 8)

_COMMON_LAYERS = {"InputLayer", "Conv2D", "Activation", "Concatenate", "Add"}


def rdn_from_tfjs(model: LayersModel) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(build kwargs, state dict) of `archs.rdn.RDN` for an idealo RDN graph."""
    _check_layers(model, _COMMON_LAYERS | {"UpSampling2D"})
    up = _only(model, lambda layer: layer.cls == "UpSampling2D")
    if up.config.get("interpolation", "nearest") != "nearest" or len(set(up.config["size"])) != 1:
        raise UserError(f"RDN graph up-samples by {up.config['size']} {up.config.get('interpolation')}; "
                        "only square nearest-neighbour up-sampling is converted")
    blocks = sorted(int(m[1]) for layer in model.layers if (m := re.fullmatch(r"LFF_(\d+)", layer.name)))
    kwargs = dict(
        scale=int(up.config["size"][0]),
        num_feat=model.layer("F_0").config["filters"],
        num_blocks=len(blocks),
        convs_per_block=sum(bool(re.fullmatch(r"F_1_\d+", layer.name)) for layer in model.layers),
        growth=model.layer("F_1_1").config["filters"],
    )
    fixed = {"F_m1": "sfe1", "F_0": "sfe2", "GFF_1": "gff.0", "GFF_2": "gff.1",
             "UPN1": "upsample.0", "UPN2": "upsample.2", "UPN3": "upsample.4", "SR": "conv_last"}

    def target(name: str) -> str | None:
        if name in fixed:
            return fixed[name]
        if m := re.fullmatch(r"F_(\d+)_(\d+)", name):
            return f"blocks.{int(m[1]) - 1}.convs.{int(m[2]) - 1}"
        if m := re.fullmatch(r"LFF_(\d+)", name):
            return f"blocks.{int(m[1]) - 1}.lff"
        return None

    return kwargs, _convs_to_state_dict(model, target, {})


def rrdn_from_tfjs(model: LayersModel) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(build kwargs, state dict) of `archs.rrdn.RRDN` for an idealo RRDN graph."""
    shuffle = _only(model, lambda layer: bool(re.fullmatch(r"PixelShuffle\d+x", layer.cls)))
    _check_layers(model, _COMMON_LAYERS | {"MultiplyBeta", shuffle.cls})
    betas = {layer.config.get("beta") for layer in model.layers if layer.cls == "MultiplyBeta"}
    if betas != {0.2}:
        raise UserError(f"RRDN graph scales its residuals by {sorted(betas)}; only 0.2 is converted")
    scale = int(shuffle.config.get("scale", shuffle.cls[len("PixelShuffle"):-1]))
    dense = [tuple(map(int, m.groups())) for layer in model.layers
             if (m := re.fullmatch(r"F_(\d+)_(\d+)_(\d+)", layer.name))]
    kwargs = dict(
        scale=scale,
        num_feat=model.layer("Pre_blocks_conv").config["filters"],
        num_rrdb=max(t for t, _, _ in dense),
        dense_blocks=max(d for _, d, _ in dense),
        convs_per_block=max(c for _, _, c in dense),
        growth=model.layer("F_1_1_1").config["filters"],
    )
    fixed = {"Pre_blocks_conv": "conv_first", "post_blocks_conv": "conv_body", "PreShuffle": "conv_up",
             "SR": "conv_last"}

    def target(name: str) -> str | None:
        if name in fixed:
            return fixed[name]
        if m := re.fullmatch(r"F_(\d+)_(\d+)_(\d+)", name):
            return f"body.{int(m[1]) - 1}.blocks.{int(m[2]) - 1}.convs.{int(m[3]) - 1}"
        if m := re.fullmatch(r"LFF_(\d+)_(\d+)", name):
            return f"body.{int(m[1]) - 1}.blocks.{int(m[2]) - 1}.lff"
        return None

    return kwargs, _convs_to_state_dict(model, target, {"PreShuffle": depth_to_space_order(3, scale)})


FROM_TFJS: dict[str, Callable[[LayersModel], tuple[dict[str, Any], dict[str, torch.Tensor]]]] = {
    "rdn": rdn_from_tfjs,
    "rrdn": rrdn_from_tfjs,
}


def convert_rdn(paths: dict[str, Path], entry: Any) -> dict[str, torch.Tensor]:
    """Zoo converter: `paths["model_json"]` (shards beside it) -> RDN state dict."""
    return _for_entry(rdn_from_tfjs, paths, entry)


def convert_rrdn(paths: dict[str, Path], entry: Any) -> dict[str, torch.Tensor]:
    """Zoo converter: `paths["model_json"]` (shards beside it) -> RRDN state dict."""
    return _for_entry(rrdn_from_tfjs, paths, entry)


def _for_entry(convert: Callable, paths: dict[str, Path], entry: Any) -> dict[str, torch.Tensor]:
    kwargs, sd = convert(read_layers_model(paths["model_json"]))
    wanted = {"scale": entry.scale, **entry.arch_kwargs}
    if kwargs != wanted:
        raise UserError(f"{entry.name}: {paths['model_json']} holds {entry.arch} {kwargs}, the zoo expects {wanted}")
    return sd


def _check_layers(model: LayersModel, known: set[str]) -> None:
    for layer in model.layers:
        if layer.cls not in known:
            raise UserError(f"layer {layer.name} is a {layer.cls}, which this converter does not reproduce")
        if layer.cls == "Activation" and layer.config["activation"] != "relu":
            raise UserError(f"layer {layer.name}: activation {layer.config['activation']!r} is not converted")
        if layer.cls == "Conv2D":
            c = layer.config
            k = c["kernel_size"]
            plain = (c["activation"] == "linear" and c["use_bias"] and list(c["strides"]) == [1, 1]
                     and list(c.get("dilation_rate", [1, 1])) == [1, 1] and c.get("groups", 1) == 1
                     and k[0] == k[1] and k[0] % 2 == 1 and (c["padding"] == "same" or k[0] == 1))
            if not plain:
                raise UserError(f"conv {layer.name} ({k}, {c['padding']}, stride {c['strides']}, "
                                f"{c['activation']}) is not a plain odd 'same' conv with bias")


def _only(model: LayersModel, match: Callable) -> Any:
    found = [layer for layer in model.layers if match(layer)]
    if len(found) != 1:
        raise UserError(f"expected one up-sampling layer, found {[layer.name for layer in found]}")
    return found[0]


def _convs_to_state_dict(model: LayersModel, target: Callable[[str], str | None],
                         out_order: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Every Conv2D's kernel (HWIO -> OIHW) and bias under our key; output
    channels reordered for the layers in `out_order`."""
    sd: dict[str, torch.Tensor] = {}
    used = set()
    for layer in model.layers:
        if layer.cls != "Conv2D":
            continue
        key = target(layer.name)
        if key is None:
            raise UserError(f"conv {layer.name} has no place in the converted network")
        weight, bias = model.tensor(f"{layer.name}/kernel"), model.tensor(f"{layer.name}/bias")
        order = out_order.get(layer.name, slice(None))
        sd[f"{key}.weight"] = torch.from_numpy(conv_oihw(weight)[order].copy())
        sd[f"{key}.bias"] = torch.from_numpy(bias[order].copy())
        used |= {f"{layer.name}/kernel", f"{layer.name}/bias"}
    if unused := sorted(set(model.weights) - used):
        raise UserError(f"weights not used by any conv: {', '.join(unused[:5])}")
    return sd
