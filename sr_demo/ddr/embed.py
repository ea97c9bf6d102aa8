"""Pooled features -> 2-D points for the scatter: t-SNE, UMAP or PCA.

Features are standardised and, above 50 dimensions, reduced to 50 by PCA
before t-SNE/UMAP (the usual speed-up; neighbours barely change). Placing a
user's patches into an existing scatter uses the fitted map (`transform`) for
PCA and UMAP; t-SNE has no such map, so it is re-run with them included and
the whole scatter moves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from sr_demo.errors import UserError

METHODS = ("tsne", "umap", "pca")
PRE_DIMS = 50


@dataclass
class Embedding:
    """2-D points and what made them (to place new points the same way)."""

    xy: np.ndarray
    method: str
    seed: int
    prep: Any  # fitted scaler (+ PCA) pipeline
    reducer: Any  # fitted PCA/UMAP; None for t-SNE
    prepared: np.ndarray  # the prepared inputs (t-SNE re-runs on them)


def _prep(features: np.ndarray, seed: int):
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    steps = [StandardScaler()]
    if features.shape[1] > PRE_DIMS and features.shape[0] > PRE_DIMS:
        steps.append(PCA(n_components=PRE_DIMS, random_state=seed))
    pipe = make_pipeline(*steps)
    return pipe, pipe.fit_transform(features).astype(np.float32)


def _tsne(x: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE

    perplexity = float(min(30.0, max(2.0, (len(x) - 1) / 3)))
    return TSNE(2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed).fit_transform(x)


def _umap(seed: int, n: int):
    import umap  # lazy: numba compiles on first use (see warm_umap)

    return umap.UMAP(n_components=2, n_neighbors=int(min(15, max(2, n - 1))), random_state=seed, n_jobs=1)


def embed(features: np.ndarray, method: str = "tsne", seed: int = 0) -> Embedding:
    """Fit `method` on (N, D) features; N >= 5."""
    if method not in METHODS:
        raise UserError(f"Method must be one of {', '.join(METHODS)}, got {method!r}.")
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < 5:
        raise UserError(f"An embedding needs at least 5 patches, got {len(features)}.")
    prep, x = _prep(features, seed)
    if method == "tsne":
        return Embedding(_tsne(x, seed).astype(np.float32), method, seed, prep, None, x)
    if method == "pca":
        from sklearn.decomposition import PCA

        reducer = PCA(n_components=2, random_state=seed)
    else:
        reducer = _umap(seed, len(x))
    xy = reducer.fit_transform(x)
    return Embedding(np.asarray(xy, dtype=np.float32), method, seed, prep, reducer, x)


def place(emb: Embedding, new_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(base points, new points): new features mapped into the scatter of `emb`.

    PCA/UMAP keep the base points and `transform` the new ones; t-SNE
    re-runs on both together, so the base points are returned anew.
    """
    new = emb.prep.transform(np.asarray(new_features, dtype=np.float32)).astype(np.float32)
    if emb.reducer is not None:
        return emb.xy, np.asarray(emb.reducer.transform(new), dtype=np.float32)
    both = _tsne(np.concatenate([emb.prepared, new]), emb.seed).astype(np.float32)
    return both[: len(emb.prepared)], both[len(emb.prepared):]


def nearest_labels(emb: Embedding, new_features: np.ndarray, labels, k: int = 10) -> list[tuple[str, float]]:
    """Labels of the `k` nearest base patches of all new patches, in the prepared feature space (not 2-D),
    as (label, share) most common first: "which degradation does my image look like to this network?"."""
    from collections import Counter

    new = emb.prep.transform(np.asarray(new_features, dtype=np.float32))
    k = int(min(k, len(emb.prepared)))
    d = ((new[:, None, :] - emb.prepared[None, :, :]) ** 2).sum(-1)
    nearest = np.argsort(d, axis=1)[:, :k]
    counts = Counter(np.asarray(labels)[nearest].ravel().tolist())
    total = sum(counts.values())
    return [(label, n / total) for label, n in counts.most_common()]

_warm_lock = threading.Lock()
_warm = {"done": False, "seconds": None}


def warm_umap() -> float | None:
    """Fit and transform a tiny UMAP once so numba's compile happens now, not on a user's click.

    Returns the seconds it took (None when umap-learn is missing or it ran before).
    """
    import time

    with _warm_lock:
        if _warm["done"]:
            return None
        _warm["done"] = True
        try:
            import umap  # noqa: F401
        except ImportError:
            return None
        t0 = time.perf_counter()
        x = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
        reducer = _umap(0, len(x))
        reducer.fit(x)
        reducer.transform(x[:4])
        _warm["seconds"] = time.perf_counter() - t0
        return _warm["seconds"]

