"""How far a network can see: its theoretical receptive field, and whether a
crop changes what it computes.

The radius is in LR pixels beyond the window's footprint (a 3x3 conv at LR
resolution adds 1, at 2x resolution 1/2, ...), from the architecture's own
layers; None where it is not computable here (spandrel uploads, global
operators). The paper's third finding compares this with the range that
actually contributes (`diffusion.mass_radii`).
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from sr_demo.models.loader import LoadedModel

#: arch name (ours or spandrel's, lower case) -> why a crop changes what the network sees
CROP_SENSITIVE = {
    "a2n": "global average pooling in its attention-dropout modules",
    "rcan": "global average pooling in its channel attention",
    "swinir": "self-attention in windows fixed to the image grid",
    "swin2sr": "self-attention in windows fixed to the image grid",
    "hat": "windowed self-attention and global channel attention",
    "dat": "self-attention in windows fixed to the image grid",
}


def crop_note(model: LoadedModel) -> str:
    """Non-empty when this network sees a different input when cropped."""
    reason = CROP_SENSITIVE.get(model.arch.lower())
    return f"{model.arch}: {reason}, so its map depends on the crop (context) around the window" if reason else ""


def _convs(layers: nn.Module, res: float) -> tuple[float, float]:
    """Radius added by the convs and pixel shuffles of `layers`, entered at
    `res` times LR resolution; returns (radius, resolution after)."""
    radius = 0.0
    for layer in layers.modules():
        if isinstance(layer, nn.Conv2d):
            radius += (layer.kernel_size[0] // 2) * layer.dilation[0] / res
        elif isinstance(layer, nn.PixelShuffle):
            res *= layer.upscale_factor
    return radius, res


def _interp(m: nn.Module) -> float:
    return {"nearest": 0.0, "bicubic": 2.0, "lanczos": 3.0}[m.method]


def _fsrcnn(m: nn.Module) -> float:
    body, _ = _convs(nn.Sequential(m.feature, m.shrink, m.mapping, m.expand), 1.0)
    return body + (m.deconv.kernel_size[0] // 2) / m.scale


def _edsr(m: nn.Module) -> float:
    body, _ = _convs(nn.Sequential(m.conv_first, m.body, m.conv_after_body), 1.0)
    up, res = _convs(m.upsample, 1.0)
    return body + up + 1 / res  # conv_last at output resolution


def _srresnet(m: nn.Module) -> float:
    body, _ = _convs(nn.Sequential(m.conv_first, m.body), 1.0)
    up = 1.0 + (0.5 if m.upconv2 is not None else 0.0)  # upconv1 at LR, upconv2 at 2x
    return body + up + 2 / m.scale  # conv_hr, conv_last at output resolution


def _rrdbnet(m: nn.Module) -> float:
    u = m.unshuffle  # features at LR / u
    body, _ = _convs(nn.Sequential(m.conv_first, m.body, m.conv_body), 1.0 / u)
    return body + u / 2 + u / 4 + 2 * u / 4  # conv_up1 at 2/u, conv_up2, conv_hr, conv_last at 4/u


_RADIUS: dict[str, Callable[[nn.Module], float]] = {
    "Interpolate": _interp,
    "FSRCNN": _fsrcnn,
    "EDSR": _edsr,
    "MSRResNet": _srresnet,
    "RRDBNet": _rrdbnet,
}


def receptive_radius(model: LoadedModel) -> float | None:
    """Theoretical receptive-field radius in LR pixels, None when unknown or global."""
    fn = _RADIUS.get(type(model.module).__name__)
    return None if fn is None or crop_note(model) else float(fn(model.module))
