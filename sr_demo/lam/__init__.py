"""LAM, local attribution maps (Gu & Dong, arXiv:2011.11036): which input
pixels an SR network used for one output window.

`compute_lam(model, lr, x, y)` (in `run`, results kept by `cache`) is the
entry point; `paths` builds the integration paths, `attribution` the batched
path gradients, `region` the window and context geometry, `receptive` the
receptive field, `diffusion` DI and the mass radii, `render` the pictures,
`branches` A2N's attention-dropout weights on the canvas,
`reference` the slow step-by-step implementation the tests and bench
compare against.
Names resolve lazily (PEP 562), so importing the package stays cheap.
"""

from __future__ import annotations

from sr_demo._lazy import lazy_exports

_EXPORTS = {
    "compute_lam": "run",
    "LamResult": "run",
    "DEFAULT_CONTEXT": "run",
    "PATHS": "paths",
    "diffusion_index": "diffusion",
    "gini": "diffusion",
    "mass_radii": "diffusion",
    "receptive_radius": "receptive",
    "crop_note": "receptive",
    "heatmap": "render",
    "overlay": "render",
    "draw_box": "render",
    "clear_cache": "cache",
    "branch_weights": "branches",
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
