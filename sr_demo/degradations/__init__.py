"""Seedable, reproducible degradations (classic and Real-ESRGAN second order).

Needs only numpy, torch and OpenCV, so `training/` can import it on the GPU
machine. A `DegradationSpec` plus a seed becomes a list of concrete ops
(`sample_ops`), applied by `degrade` (numpy) or `degrade_torch` (a batch on
any device), which agree.
"""

from .pipeline import degrade, degrade_torch, sample_ops
from .presets import PRESET_NAMES, RDSR_TEST_PRESETS, preset_spec
from .resize import imresize
from .spec import BlurSpec, DegradationSpec, NoiseSpec, RealESRGANConfig

__all__ = [
    "BlurSpec",
    "NoiseSpec",
    "RealESRGANConfig",
    "DegradationSpec",
    "imresize",
    "degrade",
    "degrade_torch",
    "sample_ops",
    "PRESET_NAMES",
    "RDSR_TEST_PRESETS",
    "preset_spec",
]
