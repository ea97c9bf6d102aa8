"""Features of named layers through forward hooks, pooled per patch.

The forward stops as soon as every hooked layer has fired (a private
exception raised from the last hook), so asking for an early layer of a deep
network costs only the layers before it; that is the slow part of DDR on a
CPU. Each hook reduces its map at once: global average pooling (the paper's
choice) keeps C numbers per patch, "flat" keeps the whole LR-resolution map for
a PCA across patches (`reduce_flat`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import nn

from sr_demo.errors import UserError

REDUCTIONS = ("gap", "flat")
FLAT_LIMIT = 400_000_000  # bytes of flattened maps kept at once (float32)


class _Enough(Exception):
    """Raised by the last hook to fire: nothing after it is needed."""


def check_layers(module: nn.Module, names: Sequence[str]) -> list[str]:
    """`names` (dotted submodule paths) that exist in `module`, or a clear message."""
    if not names:
        raise UserError("Name at least one layer.")
    known = dict(module.named_modules())
    missing = [n for n in names if n not in known or n == ""]
    if missing:
        raise UserError(f"No layer {', '.join(map(repr, missing))} in this network.")
    return list(dict.fromkeys(names))


def _reduce(out: torch.Tensor, how: str) -> torch.Tensor:
    if out.ndim != 4:
        raise UserError(f"A hooked layer gave a {out.ndim}-D output; DDR needs (N, C, H, W) feature maps.")
    if how == "gap":
        return out.float().mean(dim=(2, 3))
    return out.float().flatten(1).clone()  # clone: in-place activations after the hook would change it


@torch.inference_mode()
def layer_features(module: nn.Module, lr: np.ndarray | torch.Tensor, layers: Sequence[str], reduce: str = "gap",
                   batch: int = 64, prepare: Callable[[torch.Tensor], torch.Tensor] | None = None,
                   progress: Callable[[float, str], None] | None = None) -> dict[str, np.ndarray]:
    """{layer: (N, D) float32} for LR patches (N,3,H,W in [0,1]); D = channels ("gap") or C*H*W ("flat").

    A layer called more than once in a forward keeps its first call's output. The hooks act only in
    this thread: a zoo module is shared, and another tab may run it meanwhile.
    `prepare` maps the [0,1] batch to what the network expects (e.g. ImageNet
    normalisation for a classification trunk).
    """
    if reduce not in REDUCTIONS:
        raise UserError(f"Reduction must be one of {', '.join(REDUCTIONS)}, got {reduce!r}.")
    layers = check_layers(module, layers)
    x_all = torch.as_tensor(np.asarray(lr, dtype=np.float32)) if not isinstance(lr, torch.Tensor) else lr.float()
    if x_all.ndim != 4 or x_all.shape[1] != 3:
        raise UserError(f"Patches must be (N, 3, H, W), got {tuple(x_all.shape)}.")
    n = x_all.shape[0]
    device = next(iter(module.parameters()), torch.empty(0)).device
    got: dict[str, torch.Tensor] = {}
    chunks: dict[str, list[torch.Tensor]] = {name: [] for name in layers}

    owner = threading.get_ident()

    def hook_for(name: str):
        def hook(_mod, _inp, out):
            if threading.get_ident() != owner or name in got:  # the module may be shared with other threads
                return
            got[name] = _reduce(out[0] if isinstance(out, (tuple, list)) else out, reduce).cpu()
            if len(got) == len(layers):
                raise _Enough
        return hook

    modules = dict(module.named_modules())
    handles = [modules[name].register_forward_hook(hook_for(name)) for name in layers]
    try:
        for start in range(0, n, batch):
            got.clear()
            x = x_all[start:start + batch].to(device)
            try:
                module(prepare(x) if prepare is not None else x)
            except _Enough:
                pass
            missing = [name for name in layers if name not in got]
            if missing:
                raise UserError(f"Layer(s) {', '.join(missing)} never ran in this network's forward.")
            if start == 0 and n * sum(got[name].shape[1] for name in layers) * 4 > FLAT_LIMIT:
                raise UserError("Too many patches to keep flattened maps in memory: use fewer patches, fewer "
                                "layers or global average pooling.")
            for name in layers:
                chunks[name].append(got[name])
            if progress is not None:
                progress(min(1.0, (start + batch) / n), f"features {min(n, start + batch)}/{n}")
    finally:
        for h in handles:
            h.remove()
    return {name: torch.cat(chunks[name]).numpy() for name in layers}


def reduce_flat(flat: np.ndarray, components: int = 64, seed: int = 0) -> np.ndarray:
    """PCA of flattened LR-resolution maps (N, C*H*W) down to `components` dimensions."""
    from sklearn.decomposition import PCA

    k = int(min(components, flat.shape[0], flat.shape[1]))
    return PCA(n_components=k, svd_solver="randomized", random_state=seed).fit_transform(flat).astype(np.float32)
