"""Whether a crop changes what a network computes, in words for the LAM tab.

The facts live beside each architecture (`ArchSpec.crop_sensitive`,
`ArchSpec.receptive_radius`); `LoadedModel` exposes them. The paper's third
finding compares the theoretical radius with the range that actually
contributes (`diffusion.mass_radii`).
"""

from __future__ import annotations

from sr_demo.models.loader import LoadedModel


def crop_note(model: LoadedModel) -> str:
    """Non-empty when this network sees a different input when cropped."""
    reason = model.crop_sensitive
    return f"{model.arch}: {reason}, so its map depends on the crop (context) around the window" if reason else ""


def receptive_radius(model: LoadedModel) -> float | None:
    """Theoretical receptive-field radius in LR pixels, None when unknown or global."""
    return model.receptive_radius
