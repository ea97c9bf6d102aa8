"""Channel saliency of the last feature layer (RDSR, Kong et al. CVPR 2022).

The hooked features A are the input of `conv_last` (after lrelu(conv_hr(.))
and the dropout, which is off in eval mode). Attribution is gradient x
activation of the summed output S: per channel c, sum over pixels of
A_c * dS/dA_c. Everything after the hook (conv_last, plus a global residual
that does not depend on A) is affine in A, so this equals exactly the
additive contribution of channel c to S (what zeroing it removes), and it
equals integrated gradients from a zero baseline: no path integral needed.
"""

from __future__ import annotations

import numpy as np
import torch


def channel_maps(net: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Gradient x activation at conv_last's input, summed over the batch only: (C, H, W) float64.

    Entry [c, y, x] is the additive contribution of feature pixel (c, y, x) to the summed output
    (conv_last is linear in it), so `maps.sum((1, 2))` is `channel_contributions`. H x W is the
    resolution conv_last sees (the output's for SRResNet and RRDBNet). `x` is moved to the net's
    device and dtype.
    """
    conv_last = getattr(net, "conv_last", None)
    if not isinstance(conv_last, torch.nn.Module):
        raise ValueError(f"{type(net).__name__} has no conv_last layer to attribute to")
    ref = next(net.parameters(), None)
    if ref is not None:
        x = x.to(device=ref.device, dtype=ref.dtype)
    held = {}

    def pre_hook(_module, inputs):
        held["a"] = inputs[0].detach().requires_grad_(True)
        return (held["a"],)

    handle = conv_last.register_forward_pre_hook(pre_hook)
    try:
        with torch.enable_grad():
            out = net(x)
            (grad,) = torch.autograd.grad(out.sum(), held["a"])
    finally:
        handle.remove()
    return (held["a"] * grad).sum(dim=0).detach().cpu().double().numpy()


def channel_contributions(net: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """Signed contribution of each channel of conv_last's input to the summed output."""
    return channel_maps(net, x).sum(axis=(1, 2))


def channel_saliency(net: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """|contribution| per channel, normalised to sum 1 (how the work is shared)."""
    return shares(channel_contributions(net, x))


def shares(contributions: np.ndarray) -> np.ndarray:
    """|contribution| normalised to sum 1; equal shares when every channel contributes nothing."""
    mag = np.abs(contributions)
    total = mag.sum()
    return mag / total if total > 0 else np.full_like(mag, 1.0 / len(mag))


def spread(saliency: np.ndarray) -> dict[str, float]:
    """Gini (0 = every channel equal, 1 - 1/C = one channel does all) and entropy / log C (1 = even).

    RDSR's claim is that dropout lowers the Gini and raises the entropy."""
    s = np.sort(np.asarray(saliency, dtype=np.float64))
    n = len(s)
    gini = float(np.sum((2 * np.arange(1, n + 1) - n - 1) * s) / (n * s.sum()))
    p = s[s > 0] / s.sum()
    entropy = float(-(p * np.log(p)).sum() / np.log(n)) if n > 1 else 1.0
    return dict(gini=gini, entropy=entropy)
