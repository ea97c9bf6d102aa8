"""Image quality metrics: one declarative table, implementations beside it."""

from sr_demo.iqa.fidelity import psnr, ssim
from sr_demo.iqa.table import METRICS, MetricSpec, score_all

__all__ = ["METRICS", "MetricSpec", "psnr", "score_all", "ssim"]
