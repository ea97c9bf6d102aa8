"""How well features separate groups: the Calinski-Harabasz index per layer.

CHI = [tr(B)/(k-1)] / [tr(W)/(n-k)], between-group over within-group
dispersion; higher = tighter, farther apart groups. It is computed on the
pooled features themselves, never on a 2-D embedding (t-SNE distances mean
little), by degradation class and, as the paper's contrast, by source photo.
One patch set is one sample, so the spread over patch-set seeds is reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sr_demo.errors import UserError


def chi(features: np.ndarray, labels: Sequence) -> float:
    """Calinski-Harabasz index (scikit-learn) of `features` (N, D) grouped by `labels`."""
    from sklearn.metrics import calinski_harabasz_score

    labels = np.asarray(labels)
    k = len(np.unique(labels))
    if k < 2 or k >= len(labels):
        raise UserError(f"CHI needs at least 2 groups and more patches than groups; got {k} group(s) "
                        f"for {len(labels)} patches.")
    return float(calinski_harabasz_score(np.asarray(features, dtype=np.float64), labels))


@dataclass(frozen=True)
class Separation:
    """CHI of one layer over several patch-set seeds, by class and by photo."""

    layer: str
    by_class: tuple[float, ...]
    by_photo: tuple[float, ...]

    @staticmethod
    def _ms(values: tuple[float, ...]) -> tuple[float, float]:
        a = np.asarray(values)
        return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0

    @property
    def class_mean_sd(self) -> tuple[float, float]:
        return self._ms(self.by_class)

    @property
    def photo_mean_sd(self) -> tuple[float, float]:
        return self._ms(self.by_photo)

    @property
    def ratio(self) -> float:
        """Mean CHI by class over mean CHI by photo (>1: degradation dominates content)."""
        return self.class_mean_sd[0] / self.photo_mean_sd[0]

    def to_dict(self) -> dict:
        (cm, cs), (pm, ps) = self.class_mean_sd, self.photo_mean_sd
        return {"layer": self.layer, "chi_class_mean": cm, "chi_class_sd": cs, "chi_photo_mean": pm,
                "chi_photo_sd": ps, "ratio": cm / pm, "seeds": len(self.by_class),
                "chi_class": list(self.by_class), "chi_photo": list(self.by_photo)}


def separation(layer: str, runs: Sequence[tuple[np.ndarray, Sequence, Sequence]]) -> Separation:
    """`runs`: one (features, class labels, photo labels) per patch-set seed."""
    return Separation(layer, tuple(chi(f, c) for f, c, _ in runs), tuple(chi(f, p) for f, _, p in runs))
