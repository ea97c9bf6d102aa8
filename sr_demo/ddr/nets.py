"""The networks DDR can look into: zoo SR models and classification trunks.

Each becomes a `FeatureNet`: a module, its ordered feature layers (label ->
dotted submodule name, shallow to deep, the last one DDR's default) and the
input transform it expects. SR models take their layers from the
architecture's descriptor (`feature_layers`); an architecture without one
gets layers discovered by a probe forward (top-level blocks whose output
keeps the LR resolution), labelled as discovered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from sr_demo.errors import UserError

MAX_DISCOVERED = 8
#: The default view's model: a light bicubic-trained network (the paper's first finding), quick on a CPU.
PREFERRED_DEFAULTS = ("span-x4", "fsrcnn-x4")


@dataclass(frozen=True)
class FeatureNet:
    """A network to hook: what DDR needs to know about it."""

    name: str
    module: nn.Module
    layers: dict[str, str]  # label -> dotted submodule name, shallow to deep
    scale: int  # the patch sets it sees are down-scaled by this
    kind: str  # "sr" | "classification"
    weights_id: str  # changes when the weights change (feature-cache key)
    prepare: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, compare=False)
    note: str = ""

    @property
    def default_layer(self) -> str:
        return next(reversed(self.layers))

    def resolve(self, layer: str) -> str:
        """A layer label or dotted name -> dotted name."""
        if layer in self.layers:
            return self.layers[layer]
        if layer in self.layers.values() or layer in dict(self.module.named_modules()):
            return layer
        raise UserError(f"{self.name} has no layer {layer!r}; its layers: {', '.join(self.layers)}.")

    def label(self, dotted: str) -> str:
        return next((k for k, v in self.layers.items() if v == dotted), dotted)


def discover_layers(module: nn.Module, patch: int = 32) -> dict[str, str]:
    """Top-level submodules (and the blocks of top-level Sequentials) whose 4-D output keeps the input's
    height and width, in call order, thinned to at most MAX_DISCOVERED (the deepest always kept)."""
    candidates: list[tuple[str, nn.Module]] = []
    for name, child in module.named_children():
        if isinstance(child, nn.Sequential) and len(child) > 1:
            candidates += [(f"{name}.{i}", c) for i, c in enumerate(child)]
        candidates.append((name, child))
    order: list[str] = []
    calls: dict[str, int] = {}

    def hook_for(name: str):
        def hook(_m, _i, out):
            calls[name] = calls.get(name, 0) + 1
            if isinstance(out, torch.Tensor) and out.ndim == 4 and tuple(out.shape[2:]) == (patch, patch):
                order.append(name)
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in candidates]
    try:
        with torch.inference_mode():
            module(torch.rand(1, 3, patch, patch))
    finally:
        for h in handles:
            h.remove()
    seen = [n for n in dict.fromkeys(order) if calls.get(n) == 1]  # called once: its output is well defined
    seen = [n for i, n in enumerate(seen) if not (i and seen[i - 1].startswith(n + "."))]  # a container = its last block
    if not seen:
        raise UserError("Found no layer that keeps the LR resolution in this network.")
    if len(seen) > MAX_DISCOVERED:
        step = (len(seen) - 1) / (MAX_DISCOVERED - 1)
        seen = [seen[round(i * step)] for i in range(MAX_DISCOVERED)]
    return {n: n for n in seen}


def _sr_net(name: str) -> FeatureNet:
    from sr_demo.models import get_model

    model = get_model(name)
    if model.arch == "interp":
        raise UserError(f"{name} is an interpolation with no features; pick a learned model.")
    layers, note = model.feature_layers, ""
    if not layers:
        layers = discover_layers(model.module)
        note = "layers discovered by a probe forward (the architecture declares none)"
    return FeatureNet(name, model.module, dict(layers), model.scale, "sr", model.sha256 or name, note=note)


def _contrast_net(name: str) -> FeatureNet:
    from sr_demo.ddr import contrasts

    return contrasts.load(name)


def contrast_names() -> tuple[str, ...]:
    from sr_demo.ddr import contrasts

    return contrasts.available()


def net_names() -> tuple[str, ...]:
    """Learned zoo models that can run here, then the classification contrasts."""
    from sr_demo.models import available_entries

    return tuple(e.name for e in available_entries() if e.arch != "interp") + contrast_names()


def default_net() -> str | None:
    names = net_names()
    return next((n for n in PREFERRED_DEFAULTS if n in names), names[0] if names else None)


def layer_labels(name: str) -> list[str]:
    """The layer labels of `name`, shallow to deep, without loading its weights when the architecture
    declares them (the UI lists them at start)."""
    from sr_demo.ddr import contrasts

    if name not in contrasts.CONTRASTS:
        from sr_demo.models.archs import get_spec
        from sr_demo.models.zoo import build_entry, get_entry

        entry = get_entry(name)
        spec = get_spec(entry.arch)
        if spec.feature_layers is not None:
            return list(spec.feature_layers(build_entry(entry)))
    return list(get_net(name).layers)


def get_net(name: str) -> FeatureNet:
    if not name:
        raise UserError("Pick a model.")
    from sr_demo.ddr import contrasts

    if name in contrasts.CONTRASTS:
        return _contrast_net(name)
    return _sr_net(name)
