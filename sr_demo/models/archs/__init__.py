"""Architectures by name: a decorator registry with lazy imports.

`build_arch("edsr", ...)` imports only `archs/edsr.py`, so one broken or
slow arch module never breaks the others (BasicSR's eager imports did).
Adding an arch is one line in `_MODULES` plus `@register_arch` on its class.
"""

from __future__ import annotations

import importlib
from typing import Callable, TypeVar

from torch import nn

from sr_demo.errors import UserError

_MODULES: dict[str, str] = {
    "interp": "sr_demo.models.archs.interp",
    "fsrcnn": "sr_demo.models.archs.fsrcnn",
    "edsr": "sr_demo.models.archs.edsr",
    "srresnet": "sr_demo.models.archs.srresnet",
    "rrdbnet": "sr_demo.models.archs.rrdbnet",
    "a2n": "sr_demo.models.archs.a2n",
    "swinir": "sr_demo.models.archs.swinir",
}
_REGISTRY: dict[str, type[nn.Module]] = {}

M = TypeVar("M", bound=type[nn.Module])


def register_arch(name: str) -> Callable[[M], M]:
    """Class decorator: make `name` buildable with `build_arch`."""

    def decorate(cls: M) -> M:
        if _REGISTRY.get(name, cls) is not cls:
            raise ValueError(f"arch {name!r} registered twice")
        _REGISTRY[name] = cls
        return cls

    return decorate


def arch_names() -> tuple[str, ...]:
    return tuple(sorted(_MODULES))


def build_arch(name: str, **kwargs) -> nn.Module:
    """Instantiate arch `name` with `kwargs`, importing only its module."""
    if name not in _REGISTRY:
        if name not in _MODULES:
            raise UserError(f"Unknown architecture {name!r}; known: {', '.join(arch_names())}")
        importlib.import_module(_MODULES[name])
    return _REGISTRY[name](**kwargs)
