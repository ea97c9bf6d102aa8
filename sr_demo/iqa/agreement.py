"""Rank and linear correlation (SRCC, PLCC, Kendall tau-b) in numpy: the app needs no SciPy.

IQA papers and the NTIRE challenge report SRCC and PLCC; the Score tab shows
Kendall tau between metrics. Ties (equal degradation levels, equal scores)
get average ranks, as SciPy's `spearmanr`/`kendalltau` (tau-b) treat them.
"""

from __future__ import annotations

import numpy as np


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties sharing their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(1, len(x) + 1)
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return sums[inverse] / counts[inverse]


def pearson(x, y) -> float:
    """PLCC; NaN when either side is constant."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    x, y = x - x.mean(), y - y.mean()
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom) if denom > 0 else float("nan")


def spearman(x, y) -> float:
    """SRCC: Pearson correlation of the ranks."""
    return pearson(_ranks(x), _ranks(y))


def kendall_tau(x, y) -> float:
    """Kendall tau-b over all pairs (O(n^2): for the few dozen images a tab scores)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    i, j = np.triu_indices(len(x), k=1)
    dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
    denom = np.sqrt(np.count_nonzero(dx) * np.count_nonzero(dy))
    return float((dx * dy).sum() / denom) if denom > 0 else float("nan")


def metric_agreement(scores: dict[str, dict[str, float]], metrics: list[str]) -> np.ndarray:
    """Kendall tau between metrics over the scored images (`scores[image][metric]`), each metric
    oriented so that higher means better: +1 means two metrics rank the images identically."""
    from sr_demo.iqa.table import METRICS

    oriented = {}
    for m in metrics:
        values = np.array([per_image[m] for per_image in scores.values()], dtype=np.float64)
        values = np.where(np.isinf(values), np.sign(values) * 1e9, values)  # identical images: PSNR inf
        oriented[m] = -values if METRICS[m].lower_better else values
    return np.array([[kendall_tau(oriented[a], oriented[b]) for b in metrics] for a in metrics])
