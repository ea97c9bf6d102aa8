"""Named degradations: RDSR's test settings and the Real-ESRGAN training pipeline.

RDSR (Kong et al., "Reflash Dropout in Image Super-Resolution") tests on
blur (iso Gaussian 21x21, sigma 2), noise (Gaussian sigma 20/255, colour),
JPEG (quality 50) and their combinations, always with bicubic down-sampling.
"""

from __future__ import annotations

from sr_demo.errors import UserError

from .spec import BlurSpec, DegradationSpec, NoiseSpec

RDSR_TEST_PRESETS = ("clean", "blur", "noise", "jpeg", "blur+noise", "blur+jpeg", "noise+jpeg", "blur+noise+jpeg")
PRESET_NAMES = (*RDSR_TEST_PRESETS, "realesrgan")


def preset_spec(name: str, scale: int) -> DegradationSpec:
    """The DegradationSpec of a preset at `scale` (1, 2, 3, 4, 8 or 16)."""
    if name not in PRESET_NAMES:
        raise UserError(f"unknown degradation preset {name!r}; valid presets: {', '.join(PRESET_NAMES)}")
    if name == "realesrgan":
        spec = DegradationSpec(scale=scale, pipeline="realesrgan")
    else:
        parts = name.split("+")
        spec = DegradationSpec(
            scale=scale,
            blur=BlurSpec(kind="iso", sigma=2.0, size=21) if "blur" in parts else None,
            noise=NoiseSpec(kind="gaussian", level=20.0, gray=False) if "noise" in parts else None,
            jpeg_quality=50 if "jpeg" in parts else None,
        )
    spec.validate()
    return spec
