"""Architectures by name: a decorator registry with lazy imports, and each
architecture's capabilities beside it (like spandrel's `Architecture`).

`build_arch("edsr", ...)` imports only `archs/edsr.py`, so one broken or
slow arch module never breaks the others (BasicSR's eager imports did).
Adding an arch is one line in `_MODULES` plus `@register_arch(name, ...)`
on its class, with what the loader, runner, LAM and DDR need to know about
it: nothing else keys on class names.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from torch import Tensor, nn

from sr_demo.errors import UserError

_MODULES: dict[str, str] = {
    "interp": "sr_demo.models.archs.interp",
    "fsrcnn": "sr_demo.models.archs.fsrcnn",
    "edsr": "sr_demo.models.archs.edsr",
    "srresnet": "sr_demo.models.archs.srresnet",
    "rrdbnet": "sr_demo.models.archs.rrdbnet",
    "a2n": "sr_demo.models.archs.a2n",
    "swinir": "sr_demo.models.archs.swinir",
    "srmd": "sr_demo.models.archs.srmd",
    "srmdnf": "sr_demo.models.archs.srmd",
    "upconv7": "sr_demo.models.archs.upconv7",
    "span": "sr_demo.models.archs.span",
    "compact": "sr_demo.models.archs.compact",
    "rdn": "sr_demo.models.archs.rdn",
    "rrdn": "sr_demo.models.archs.rrdn",
}


@dataclass(frozen=True)
class ArchSpec:
    """What the rest of SR Lab may know about an architecture.

    Args:
        name: registry name.
        cls: the nn.Module class; built as `cls(scale=..., **kwargs)`.
        supports_half: safe to run in fp16/bf16.
        tiling_ok: tiles give the same result as the whole image (no global context).
        pad_multiple: input sides must be a multiple of this (int, or a function of the scale).
        receptive_radius: module -> theoretical receptive radius in LR pixels beyond a
            pixel's footprint (LAM compares it with the range actually used); None = unknown.
        crop_sensitive: why a crop changes what the network computes (global pooling,
            windows fixed to the image grid); "" when it does not.
        feature_layers: module -> ordered {label: dotted submodule name} of feature maps at
            LR resolution, shallow to deep; the last is the deepest before the up-sampler
            (DDR's default layer).
        detect: (state dict, file name) -> build kwargs (including `scale`) when the tensors have this
            architecture's key layout, else None (community uploads).
        inputs: per-run conditions the module reads as attributes (e.g. "noise_level").
        for_inference: module with its weights loaded -> the module to run, where training-time
            structure has a cheaper equivalent (SPAN's re-parameterised convs fused once).
    """

    name: str
    cls: type[nn.Module]
    supports_half: bool = True
    tiling_ok: bool = True
    pad_multiple: int | Callable[[int], int] = 1
    receptive_radius: Callable[[nn.Module], float] | None = None
    crop_sensitive: str = ""
    feature_layers: Callable[[nn.Module], dict[str, str]] | None = None
    detect: Callable[[dict[str, Tensor], str], dict[str, Any] | None] | None = None
    inputs: tuple[str, ...] = ()
    for_inference: Callable[[nn.Module], nn.Module] | None = None

    def pad_multiple_for(self, scale: int) -> int:
        return self.pad_multiple(scale) if callable(self.pad_multiple) else self.pad_multiple


_REGISTRY: dict[str, ArchSpec] = {}

M = TypeVar("M", bound=type[nn.Module])


def register_arch(name: str, **capabilities: Any) -> Callable[[M], M]:
    """Class decorator: make `name` buildable with `build_arch`, with the
    `ArchSpec` capabilities given as keywords."""

    def decorate(cls: M) -> M:
        known = _REGISTRY.get(name)
        if known is not None and known.cls is not cls:
            raise ValueError(f"arch {name!r} registered twice")
        _REGISTRY[name] = ArchSpec(name=name, cls=cls, **capabilities)
        return cls

    return decorate


def arch_names() -> tuple[str, ...]:
    return tuple(sorted(_MODULES))


def get_spec(name: str) -> ArchSpec:
    """The spec of arch `name`, importing only its module."""
    if name not in _REGISTRY:
        if name not in _MODULES:
            raise UserError(f"Unknown architecture {name!r}; known: {', '.join(arch_names())}")
        importlib.import_module(_MODULES[name])
    return _REGISTRY[name]


def build_arch(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate arch `name` with `kwargs`, importing only its module."""
    return get_spec(name).cls(**kwargs)


def detect_arch(sd: dict[str, Tensor], file_name: str = "") -> tuple[str, dict[str, Any]] | None:
    """(arch, build kwargs) of the first registered layout that `sd` matches."""
    for name in arch_names():
        spec = get_spec(name)
        if spec.detect is not None and (kwargs := spec.detect(sd, file_name)) is not None:
            return name, kwargs
    return None


# --- helpers the arch modules use to state their capabilities ---------------


def conv_radius(layers: nn.Module, res: float = 1.0) -> tuple[float, float]:
    """Receptive radius (LR pixels) added by the convs and pixel shuffles of
    `layers` entered at `res` times LR resolution; (radius, resolution after)."""
    radius = 0.0
    for layer in layers.modules():
        if isinstance(layer, nn.Conv2d):
            radius += (layer.kernel_size[0] // 2) * layer.dilation[0] / res
        elif isinstance(layer, nn.PixelShuffle):
            res *= layer.upscale_factor
    return radius, res


def staged_layers(module: nn.Module, first: str, body: str, last: str, stages: int = 4) -> dict[str, str]:
    """`first`, `stages` evenly spaced blocks of the Sequential `body`, then
    `last`: a DDR layer list from shallow to deep, named by module path."""
    n = len(module.get_submodule(body))
    picks = sorted({max(0, round(n * (k + 1) / stages) - 1) for k in range(stages)})
    return {first: first, **{f"{body}.{i}": f"{body}.{i}" for i in picks}, last: last}
