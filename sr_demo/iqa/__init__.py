"""Image quality metrics: one declarative table, implementations beside it.

Heavy parts (SWDN, NIQE, LPIPS/DISTS) load lazily through the table, so
importing `sr_demo.iqa` stays cheap.
"""

from sr_demo.iqa.fidelity import psnr, ssim
from sr_demo.iqa.msssim import ms_ssim
from sr_demo.iqa.table import DEFAULT_METRICS, METRICS, SR_PROTOCOL, MetricSpec, score, score_all

__all__ = ["DEFAULT_METRICS", "METRICS", "SR_PROTOCOL", "MetricSpec", "ms_ssim", "psnr", "score", "score_all",
           "ssim"]
