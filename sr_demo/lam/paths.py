"""Attribution paths from a baseline to the input, built lazily a chunk of steps at a time.

LAM's path (Gu & Dong, arXiv:2011.11036) blurs the image less and less:
step i is I * k(sigma_{i+1}) with sigma = linspace(1.2, 0, fold + 1), a
9-tap isotropic Gaussian and a reflect-101 border (OpenCV's filter2D), and
its derivative is I * (k_{i+1} - k_i) * fold. The official code's two
straight lines (from the blurred image, from black) are here too, because
comparing them shows why LAM's path matters. Steps are generated per chunk,
so a long path on a large image never sits in memory at once.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from sr_demo.errors import UserError

#: path name -> what the UI calls it
PATHS = {
    "blur": "progressive blur (LAM)",
    "linear-blur": "straight line from the blurred image",
    "linear-black": "straight line from black",
}
SIGMA = 1.2
TAPS = 9


def gaussian_kernel(taps: int, sigma: float) -> np.ndarray:
    """Normalised isotropic Gaussian (taps x taps); sigma 0 is a delta, as
    the official code gets by adding 1e-5 to sigma."""
    ax = np.arange(taps, dtype=np.float64) - taps // 2
    kernel = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2.0 * (sigma + 1e-5) ** 2))
    return kernel / kernel.sum()


def blur(image: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """(C,H,W) image filtered by each of K (l,l) kernels -> (K,C,H,W), reflect-101 border."""
    pad = kernels.shape[-1] // 2
    if min(image.shape[-2:]) <= pad:
        raise UserError(f"LAM needs an input of at least {pad + 1} pixels a side, got {tuple(image.shape[-2:])}")
    padded = F.pad(image[None], (pad, pad, pad, pad), mode="reflect")[0]  # torch's reflect is reflect-101
    out = F.conv2d(padded[:, None], kernels[:, None].to(image.dtype))  # (C,K,H,W): one conv for all steps
    return out.transpose(0, 1)


class Path:
    """`fold` points x_i on a path to `image` (3,H,W) and the path's
    derivative d_i there; `chunk(a, b)` builds steps a..b-1 as (B,3,H,W) each."""

    def __init__(self, image: torch.Tensor, fold: int, kind: str = "blur") -> None:
        if kind not in PATHS:
            raise UserError(f"path must be one of {', '.join(PATHS)}, got {kind!r}")
        if not 1 <= fold <= 1000:
            raise UserError(f"fold (path steps) must be in 1..1000, got {fold}")
        self.image, self.fold, self.kind = image, fold, kind
        if kind == "blur":
            kernels = np.stack([gaussian_kernel(TAPS, s) for s in np.linspace(SIGMA, 0, fold + 1)])
            self._kernels = torch.from_numpy(kernels[1:]).to(image.device)
            self._dkernels = torch.from_numpy((kernels[1:] - kernels[:-1]) * fold).to(image.device)
        else:
            if kind == "linear-blur":
                kernel = torch.from_numpy(gaussian_kernel(TAPS, SIGMA)[None]).to(image.device)
                self._baseline = blur(image, kernel)[0]
            else:
                self._baseline = torch.zeros_like(image)
            self._alphas = torch.linspace(0, 1, fold, dtype=torch.float64).tolist()

    def __len__(self) -> int:
        return self.fold

    def chunk(self, start: int, stop: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.kind == "blur":
            return blur(self.image, self._kernels[start:stop]), blur(self.image, self._dkernels[start:stop])
        diff = self.image - self._baseline
        alphas = torch.tensor(self._alphas[start:stop], dtype=diff.dtype, device=diff.device)[:, None, None, None]
        return self._baseline + alphas * diff, diff.expand(stop - start, *diff.shape)
