"""DDR, deep degradation representations (Liu et al., arXiv:2108.00406): do a
network's features group LR patches by how they were degraded or by what they
show?

`patches` makes seeded patch sets (class, level, photo per patch), `nets`
resolves zoo models and classification trunks (`contrasts`) with their
feature layers, `features` hooks layers and pools, `cache` keeps features,
`separation` gives the Calinski-Harabasz index per layer over seeds,
`analysis.measure` ties them together, `embed` maps features to 2-D (t-SNE,
UMAP, PCA; places new patches), `figure` draws. Names resolve lazily.
"""

from __future__ import annotations

from sr_demo._lazy import lazy_exports

_EXPORTS = {
    "CLASSES": "patches",
    "DEFAULT_CLASSES": "patches",
    "PatchSet": "patches",
    "make_patches": "patches",
    "image_patches": "patches",
    "layer_features": "features",
    "FeatureNet": "nets",
    "get_net": "nets",
    "net_names": "nets",
    "chi": "separation",
    "Separation": "separation",
    "measure": "analysis",
    "Measurement": "analysis",
    "METHODS": "embed",
    "embed": "embed",
    "place": "embed",
    "scatter_figure": "figure",
    "chi_figure": "figure",
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
