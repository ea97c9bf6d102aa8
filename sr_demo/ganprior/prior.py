"""The GAN prior as the tab, the CLI and the evidence script use it: a 64x64 crop in, inversions and PSNRs out.

PSNR is the app's PSNR-Y (sr_demo.iqa.fidelity, BT.601 Y, no border cropped:
the crop is only 64 px) of each result against the crop. The control is the
same generator architecture with random weights (`untrained_generator`):
more codes help even a random network fit a target, so only the margin of
the trained generator over it says that the prior carries something.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from sr_demo.errors import UserError
from sr_demo.ganprior import GENERATOR, SIDE, SR_SCALE
from sr_demo.ganprior.generator import Generator
from sr_demo.ganprior.inversion import Inversion, invert, lr_of

CONTROL_SEED = 0
CODE_SWEEP = (1, 5, 10, 20)


@lru_cache(maxsize=1)
def shipped_generator() -> tuple[Generator, dict]:
    """The generator trained by training/train_gan.py (models/GENERATOR.safetensors) and its card."""
    from sr_demo.ganprior.weights import load_generator
    from sr_demo.models.zoo import models_dir

    return load_generator(models_dir() / f"{GENERATOR}.safetensors")


def untrained_generator(seed: int = CONTROL_SEED) -> Generator:
    """The control: the same architecture, randomly initialised (PyTorch's default initialisation)."""
    with torch.random.fork_rng():  # the server's global RNG is left as it was
        torch.manual_seed(seed)
        return Generator().eval().requires_grad_(False)


def crop_at(image: np.ndarray, x: int | None = None, y: int | None = None) -> tuple[np.ndarray, tuple[int, int]]:
    """The 64x64 crop whose top-left corner is (x, y) (default: the centre crop), moved inside the image."""
    h, w = image.shape[:2]
    if h < SIDE or w < SIDE:
        raise UserError(f"The GAN prior works on a {SIDE}×{SIDE} crop; this image is only {w}×{h}.")
    x = (w - SIDE) // 2 if x is None else min(max(int(x), 0), w - SIDE)
    y = (h - SIDE) // 2 if y is None else min(max(int(y), 0), h - SIDE)
    return np.ascontiguousarray(image[y:y + SIDE, x:x + SIDE], dtype=np.float32), (x, y)


def psnr_y(img: np.ndarray, ref: np.ndarray) -> float:
    from sr_demo.iqa.fidelity import psnr

    return psnr(np.clip(img, 0, 1), ref, crop_border=0, y_channel=True)


def bicubic_up(lr: np.ndarray) -> np.ndarray:
    """The bicubic x4 baseline from the SR task's LR (`lr_of`: MATLAB bicubic both ways)."""
    from sr_demo.degradations.resize import imresize

    return np.clip(imresize(lr, float(SR_SCALE)), 0, 1)


@dataclass
class PriorResult:
    crop: np.ndarray  # the 64x64 ground truth
    observation: np.ndarray  # what the inversion saw: the crop, or its 16x16 LR
    inversion: Inversion
    psnr: float  # of the inversion against the crop
    bicubic: np.ndarray | None  # SR only
    bicubic_psnr: float | None


def run_prior(crop: np.ndarray, task: str, codes: int, layer: str, iters: int, generator: Generator | None = None,
              seed: int = 0, progress: Callable[[float, str], None] | None = None,
              should_stop: Callable[[], bool] | None = None) -> PriorResult:
    """Invert `generator` (default: the shipped one) on a 64x64 crop for the task."""
    generator = generator if generator is not None else shipped_generator()[0]
    observation = crop if task == "recon" else lr_of(crop)
    inv = invert(generator, observation, task, codes, layer, iters, seed=seed, progress=progress,
                 should_stop=should_stop)
    bicubic = bicubic_up(observation) if task == "sr" else None
    return PriorResult(crop=crop, observation=observation, inversion=inv, psnr=psnr_y(inv.image, crop),
                       bicubic=bicubic, bicubic_psnr=None if bicubic is None else psnr_y(bicubic, crop))


def psnr_vs_codes(crop: np.ndarray, task: str, layer: str, iters: int, generators: dict[str, Generator],
                  codes: tuple[int, ...] = CODE_SWEEP, progress: Callable[[float, str], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> dict[str, list[float]]:
    """PSNR of the inversion for each number of codes and each generator (e.g. trained and control), measured."""
    out: dict[str, list[float]] = {name: [] for name in generators}
    runs = [(name, n) for name in generators for n in codes]
    for i, (name, n) in enumerate(runs):
        if should_stop is not None and should_stop():
            break

        def step(fraction: float, text: str, i=i, name=name) -> None:
            if progress is not None:
                progress((i + fraction) / len(runs), f"{name}, {text}")

        out[name].append(run_prior(crop, task, n, layer, iters, generators[name], progress=step,
                                   should_stop=should_stop).psnr)
    return out
