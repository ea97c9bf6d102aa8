"""The slow reference: LAM one path step at a time, as the official code runs
it (SaliencyModel/BackProp.py), written plainly in numpy + torch.

Kept only so that tests and bench/lam.py can check the batched library
against it; never use it for real work (design.md measured it 5-13x slower
than batching on an H100; bench/lam.py measures it here).
Differences from the official code, shared with the library: 1e-4^2 under
the target's square root (continuous where the output is flat, where the
official code gets NaN), and the network is called through the runner's
padding to its size multiple.
"""

from __future__ import annotations

import numpy as np
import torch

from sr_demo.models.loader import LoadedModel
from sr_demo.models.runner import forward_padded


def kernel(taps: int, sigma: float) -> np.ndarray:
    ax = np.arange(-taps // 2 + 1.0, taps // 2 + 1.0)
    xx, yy = np.meshgrid(ax, ax)
    k = np.exp(-(xx**2 + yy**2) / (2.0 * (sigma + 1e-5) ** 2))
    return k / np.sum(k)


def filter2d(image: np.ndarray, k: np.ndarray) -> np.ndarray:
    """OpenCV's filter2D (correlation, BORDER_REFLECT_101) on an HxWxC image."""
    r = k.shape[0] // 2
    padded = np.pad(image, ((r, r), (r, r), (0, 0)), mode="reflect")  # numpy's reflect is reflect-101
    h, w = image.shape[:2]
    out = np.zeros(image.shape, np.float64)
    for i in range(k.shape[0]):
        for j in range(k.shape[1]):
            out += k[i, j] * padded[i : i + h, j : j + w]
    return out


def path_images(image: np.ndarray, fold: int, path: str, sigma: float = 1.2, taps: int = 9):
    """(fold, H, W, C) path points and derivatives, as the official path functions build them."""
    if path == "blur":
        sigmas = np.linspace(sigma, 0, fold + 1)
        kernels = [kernel(taps, s) for s in sigmas]
        images = [filter2d(image, kernels[i + 1]) for i in range(fold)]
        derivs = [filter2d(image, (kernels[i + 1] - kernels[i]) * fold) for i in range(fold)]
        return np.array(images), np.array(derivs)
    baseline = filter2d(image, kernel(taps, sigma)) if path == "linear-blur" else np.zeros_like(image)
    alphas = np.linspace(0, 1, fold).reshape(fold, 1, 1, 1)
    return alphas * (image - baseline) + baseline, np.repeat((image - baseline)[None], fold, axis=0)


def attr_grad(out: torch.Tensor, x: int, y: int, window: int, flat: float = 1e-4) -> torch.Tensor:
    """The official `attr_grad` (sum reduce), `flat` added under the square root."""
    hx, wx = out.shape[2], out.shape[3]
    h_grad = (out[:, :, : hx - 1, :] - out[:, :, 1:, :]) ** 2
    w_grad = (out[:, :, :, : wx - 1] - out[:, :, :, 1:]) ** 2
    grad = (h_grad[:, :, :, :-1] + w_grad[:, :, :-1, :] + flat**2).sqrt()
    return grad[:, :, y : y + window, x : x + window].sum()


def reference_attribution(model: LoadedModel, lr: np.ndarray, x: int, y: int, window: int = 16,
                          fold: int = 50, path: str = "blur", device: str = "cpu") -> np.ndarray:
    """A (3,H,W) for the window (x, y, window) of `model`'s output on the whole of `lr`
    (the network on `device`, the path in numpy, as the official code)."""
    images, derivs = path_images(np.asarray(lr, np.float64), fold, path)
    total = np.zeros((3,) + lr.shape[:2])
    for i in range(fold):
        img = torch.from_numpy(images[i].astype(np.float32)).permute(2, 0, 1)[None].to(device).requires_grad_(True)
        out = forward_padded(model, model.module.to(device), img, torch.float32)
        attr_grad(out, x, y, window).backward()
        grad = img.grad[0].cpu().numpy().astype(np.float64)
        grad[np.isnan(grad)] = 0.0
        total += grad * derivs[i].transpose(2, 0, 1)
    return (total / fold).astype(np.float32)
