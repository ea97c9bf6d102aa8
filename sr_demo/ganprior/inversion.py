"""Multi-code GAN inversion (mGANprior: Gu, Shen & Zhou, CVPR 2020, arXiv:1912.07116) as an image prior.

One latent code rarely reaches a real image: the generator's range is too
narrow. mGANprior uses N codes z_1..z_N, runs each up to an intermediate
layer, composes those feature maps with a per-code channel importance
alpha_n (one number per channel) as F = sum_n alpha_n * F_n, and runs the
rest of the generator once on F. Codes and importances are fitted with Adam
so that the *observation* of the output matches what was observed: the crop
itself (reconstruction) or, for x4 super-resolution, the output's MATLAB
bicubic down-sampling against the LR input (`observe`, the same down-sampler
that makes the LR here). The loss is pixel MSE plus, when the observation is
big enough, ST-LPIPS (alex) from the offline package weights (the paper uses
a VGG perceptual term); without those weights it is MSE alone.

Start point: code 1 carries the whole composition (alpha_1 = 1, the other
alphas 0), and code n is the n-th draw of one seeded stream; so every N
starts from the single-code solution's starting point and only adds freedom.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch.nn import functional as F

from sr_demo.errors import UserError
from sr_demo.ganprior import (
    DEFAULT_CODES,
    DEFAULT_ITERS,
    DEFAULT_LAYER,
    LAYERS,
    MAX_CODES,
    MAX_ITERS,
    SIDE,
    SR_SCALE,
    TASKS,
)
from sr_demo.ganprior.generator import Z_DIM, Generator, layer_channels

PERCEPTUAL_WEIGHT = 0.02
LR_CODES, LR_IMPORTANCE = 0.1, 0.05


def compose(features: torch.Tensor, importance: torch.Tensor) -> torch.Tensor:
    """sum_n importance[n, c] * features[n, c]: N x C x H x W and N x C -> 1 x C x H x W."""
    return torch.einsum("nchw,nc->chw", features, importance)[None]


def observe(image: torch.Tensor, task: str) -> torch.Tensor:
    """What the task lets one see of an N x 3 x 64 x 64 image: itself, or its x4 MATLAB-bicubic down-sampling."""
    from sr_demo.degradations.resize import imresize

    return image if task == "recon" else imresize(image, 1 / SR_SCALE)


def lr_of(crop: np.ndarray) -> np.ndarray:
    """The LR input the SR task sees for a 64x64 crop (the same down-sampler as `observe`)."""
    return np.clip(observe(_tensor(crop), "sr")[0].permute(1, 2, 0).numpy(), 0, 1)


def check_request(task: str, codes: int, layer: str, iters: int) -> None:
    if task not in TASKS:
        raise UserError(f"Task must be one of {', '.join(TASKS)}, not {task!r}.")
    if not (isinstance(codes, int) and 1 <= codes <= MAX_CODES):
        raise UserError(f"The number of codes must be a whole number from 1 to {MAX_CODES}, got {codes!r}.")
    if layer not in LAYERS:
        raise UserError(f"The composing layer must be one of {', '.join(LAYERS)} (its side in pixels), "
                        f"got {layer!r}.")
    if not (isinstance(iters, int) and 1 <= iters <= MAX_ITERS):
        raise UserError(f"Iterations must be a whole number from 1 to {MAX_ITERS}, got {iters!r}.")


def _tensor(img: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32)).permute(2, 0, 1)[None]


@dataclass
class Inversion:
    """The fitted image and how it got there."""

    image: np.ndarray  # 64 x 64 x 3 in [0, 1]
    task: str
    codes: int
    layer: str
    iters: int  # iterations run (fewer than asked when stopped)
    loss: list[float] = field(repr=False)  # per iteration
    perceptual: str
    seconds: float
    stopped: bool = False


class MultiCode(torch.nn.Module):
    """N codes and their channel importances at one layer of a frozen generator."""

    def __init__(self, generator: Generator, codes: int, layer: str, seed: int):
        super().__init__()
        self.generator, self.layer = generator, layer
        stream = torch.Generator().manual_seed(seed)
        self.z = torch.nn.Parameter(torch.randn(codes, Z_DIM, generator=stream))
        importance = torch.zeros(codes, layer_channels(layer))
        importance[0] = 1.0
        self.importance = torch.nn.Parameter(importance)

    def forward(self) -> torch.Tensor:
        g = self.generator
        return g.tail(compose(g.head(self.z, self.layer), self.importance), self.layer)


def _perceptual(task: str, use: bool):
    """ST-LPIPS alex on the observation when its weights are installed and the observation is big enough."""
    from sr_demo.iqa.stlpips import MIN_SIDE, load_stlpips

    side = SIDE if task == "recon" else SIDE // SR_SCALE
    if not use:
        return None, "none (pixel MSE only, as asked)"
    if side < MIN_SIDE["alex"]:
        return None, f"none (a {side}×{side} observation is too small for ST-LPIPS: pixel MSE only)"
    try:
        return load_stlpips("alex"), "ST-LPIPS alex"
    except UserError:
        return None, "none (ST-LPIPS weights not installed: pixel MSE only)"


def invert(generator: Generator, observation: np.ndarray, task: str = "recon", codes: int = DEFAULT_CODES,
           layer: str = DEFAULT_LAYER,
           iters: int = DEFAULT_ITERS, seed: int = 0, perceptual: bool = True,
           progress: Callable[[float, str], None] | None = None,
           should_stop: Callable[[], bool] | None = None) -> Inversion:
    """Fit `codes` codes composed at `layer` to `observation` (the 64x64 crop for "recon", its 16x16 LR for "sr")."""
    check_request(task, codes, layer, iters)
    want = (SIDE, SIDE) if task == "recon" else (SIDE // SR_SCALE, SIDE // SR_SCALE)
    if observation.shape != (*want, 3):
        raise UserError(f"The {TASKS[task]} task observes a {want[1]}×{want[0]} RGB image, "
                        f"got shape {observation.shape}.")
    generator.requires_grad_(False)
    target = _tensor(observation)
    model = MultiCode(generator, codes, layer, seed)
    opt = torch.optim.Adam([{"params": [model.z], "lr": LR_CODES},
                            {"params": [model.importance], "lr": LR_IMPORTANCE}])
    metric, perceptual_name = _perceptual(task, perceptual)
    losses, t0, stopped = [], time.perf_counter(), False
    for it in range(iters):
        if should_stop is not None and should_stop():
            stopped = True
            break
        seen = observe(model(), task)
        loss = F.mse_loss(seen, target)
        if metric is not None:
            loss = loss + PERCEPTUAL_WEIGHT * metric(seen, target).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if progress is not None and (it % 10 == 0 or it == iters - 1):
            progress((it + 1) / iters, f"{codes} code{'s' * (codes > 1)}: iteration {it + 1}/{iters}, "
                                       f"loss {losses[-1]:.4f}")
    with torch.no_grad():
        image = model()[0].permute(1, 2, 0).numpy().copy()
    return Inversion(image=image, task=task, codes=codes, layer=layer, iters=len(losses), loss=losses,
                     perceptual=perceptual_name, seconds=time.perf_counter() - t0, stopped=stopped)
